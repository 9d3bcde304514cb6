//! `cargo xtask`: the project's automation, in Rust rather than shell scripts.
//!
//! - `cargo xtask test`: every check and test suite (what CI runs).
//! - `cargo xtask setup`: detects or installs the tools the other tasks need, and nothing else.
//! - `cargo xtask demo`: builds and serves the enclave and the demo PWA (`--headless`: drives it).
//! - `cargo xtask e2e`: the real-browser suite.
//! - `cargo xtask bench`: browser benchmarks beside WebCrypto (`--native`: Criterion).
//! - `cargo xtask loadtest`: the prekey vending load test (SQLite, PostgreSQL, the Worker).
//! - `cargo xtask worker build`: the vending Worker's wasm module (and its npm packages).
//! - `cargo xtask dist [--check]`: the reproducible, content-addressed release build.
//! - `cargo xtask release`: appends the release to the transparency log.
//! - `cargo xtask verify`: checks a deployment against its manifest and the log.

mod cmd;
mod engines;
mod push;
mod serve;
mod setup;
mod site;
mod tasks;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The project's automation: build, test, demo, benchmark and release the enclave.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Every check and test suite (formatting, lints, unit, wasm, browser, interop): what CI runs.
    Test,
    /// Detect or install every tool the tasks need (wasm target, wasm-bindgen, Chromium,
    /// npm packages, PostgreSQL, Python), and nothing else.
    Setup,
    /// Build and serve the enclave and the demo PWA on two origins.
    Demo(tasks::demo::Args),
    /// The real-browser suite (headless Chromium, the https layout).
    E2e(tasks::e2e::Args),
    /// The engine suite (e2e/engines) in Chromium, Firefox and WebKit over WebDriver, with
    /// the summary table.
    EngineE2e(tasks::engine_e2e::Args),
    /// The kms-wasm browser suite in Chromium, Firefox and WebKit, with the summary table.
    BrowserUnit(tasks::browser_unit::Args),
    /// Regenerate the SDK's TypeScript RPC declarations from the Rust types, and type-check
    /// the enclave's bootstrap against them.
    Types(tasks::types::Args),
    /// Browser benchmarks beside the browser's WebCrypto, and the shipped sizes.
    Bench(tasks::bench::Args),
    /// Drain 10 000 prekeys with 64 clients (SQLite, PostgreSQL and the Worker on workerd).
    Loadtest(tasks::relay::LoadtestArgs),
    /// The prekey vending Worker (Cloudflare Workers + D1): build its wasm module.
    Worker(tasks::worker::Args),
    /// The reproducible, content-addressed release build into dist/ and sri-manifest.json.
    Dist(tasks::dist::Args),
    /// Append sri-manifest.json to the release transparency log.
    Release(tasks::release::Args),
    /// Check a deployment against its manifest and the release transparency log.
    Verify(kms_verify::VerifyArgs),
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::Test => "test",
            Task::Setup => "setup",
            Task::Demo(_) => "demo",
            Task::E2e(_) => "e2e",
            Task::EngineE2e(_) => "engine-e2e",
            Task::BrowserUnit(_) => "browser-unit",
            Task::Types(_) => "types",
            Task::Bench(_) => "bench",
            Task::Loadtest(_) => "loadtest",
            Task::Worker(_) => "worker",
            Task::Dist(_) => "dist",
            Task::Release(_) => "release",
            Task::Verify(_) => "verify",
        }
    }
}

fn main() -> ExitCode {
    let Cli { task } = Cli::parse();
    let result = match &task {
        Task::Test => tasks::test::run(),
        Task::Setup => tasks::test::preflight(),
        Task::Demo(a) => tasks::demo::run(a),
        Task::E2e(a) => tasks::e2e::run(a),
        Task::EngineE2e(a) => tasks::engine_e2e::run(a),
        Task::BrowserUnit(a) => tasks::browser_unit::run_in(&a.engines()),
        Task::Types(a) => tasks::types::run(a),
        Task::Bench(a) => tasks::bench::run(a),
        Task::Loadtest(a) => tasks::relay::loadtest(a),
        Task::Worker(a) => tasks::worker::run(a),
        Task::Dist(a) => tasks::dist::run(a),
        Task::Release(a) => tasks::release::run(a),
        Task::Verify(a) => tasks::verify::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {}: error: {e:#}", task.name());
            ExitCode::FAILURE
        }
    }
}
