//! `cargo xtask`: the project's automation, in Rust rather than shell scripts.
//!
//! - `cargo xtask test`: every check and test suite (what CI runs).
//! - `cargo xtask setup`: detects or installs the tools the other tasks need, and nothing else.
//! - `cargo xtask demo`: builds and serves the enclave and the demo PWA (`--headless`: drives it).
//! - `cargo xtask e2e`: the real-browser suite.
//! - `cargo xtask bench`: browser benchmarks beside WebCrypto (`--native`: Criterion).
//! - `cargo xtask loadtest`: the prekey vending load test (SQLite and PostgreSQL).
//! - `cargo xtask dist [--check]`: the reproducible, content-addressed release build.
//! - `cargo xtask release`: appends the release to the transparency log.
//! - `cargo xtask verify`: checks a deployment against its manifest and the log.

mod cmd;
mod serve;
mod setup;
mod site;
mod tasks;
mod tls;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, rest)) => (t.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "test" => tasks::test::run(rest),
        "setup" => tasks::test::preflight(rest),
        "demo" => tasks::demo::run(rest),
        "e2e" => tasks::e2e::run(rest),
        "types" => tasks::types::run(rest),
        "bench" => tasks::bench::run(rest),
        "loadtest" => tasks::relay::loadtest(rest),
        "dist" => tasks::dist::run(rest),
        "release" => tasks::release::run(rest),
        "verify" => tasks::verify::run(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown task {other:?}; see `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <task>\n\n\
         tasks:\n  \
         test    run every check and test (formatting, lints, unit, interop, wasm build)\n  \
         setup   detect or install every tool the tasks need (wasm target, wasm-bindgen, Chromium, npm, PostgreSQL, Python)\n  \
         demo    build and serve the enclave and the demo PWA (--headless: drive it in Chromium)\n  \
         e2e     the real-browser suite (headless Chromium, two origins) [test files...]\n  \
         types   regenerate the SDK's TypeScript RPC types from Rust (--check: verify)\n  \
         bench   browser benchmarks beside WebCrypto (--native: kms-core Criterion)\n  \
         loadtest  drain 10 000 prekeys with 64 clients (SQLite, PostgreSQL)\n  \
         dist    reproducible release build into dist/ and sri-manifest.json (--check: build twice, compare)\n  \
         release append sri-manifest.json to the transparency log (--key-file FILE | KMS_LOG_SIGNER_KEY)\n  \
         verify  check a deployment <url | dir> against its manifest and the log (--rebuild)"
    );
}
