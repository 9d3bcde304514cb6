//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use anyhow::Result;

use crate::cmd::{command, exec};
use crate::setup;

/// The npm projects the suites run, each installed from its lock file.
const NPM_PROJECTS: [&str; 4] = [
    "enclave-html/sdk",
    "e2e",
    "interop/libsignal",
    super::worker::DIR,
];

pub(crate) fn run() -> Result<()> {
    preflight()?;
    exec(&mut command("cargo", &["fmt", "--all", "--", "--check"]))?;
    exec(&mut command(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    ))?;
    // One run of every suite, kms-relay's with its servers: a second `cargo test -p
    // kms-relay` would build kms-relay again under other features (time and disk).
    super::relay::with_servers(command("cargo", &["test", "--workspace", "--locked"]))?;
    super::relay::envelope_vector()?;
    wasm_check()?;
    super::browser_unit::run()?;
    super::types::run(&super::types::Args { check: true })?;
    // The SDK's release-log verifier against the vectors kms-tlog checks too.
    exec(command("npm", &["test"]).current_dir(setup::npm("enclave-html/sdk")?))?;
    super::dist::run(&super::dist::Args::check())?;
    super::interop::run_all()?;
    // The engine suite serves the localhost layout on the ports the Playwright suite then
    // serves https on; test servers live until their process exits, so the engine suite
    // runs first, in a process of its own.
    let xtask = std::env::current_exe()?;
    exec(&mut command(&xtask.to_string_lossy(), &["engine-e2e"]))?;
    super::e2e::run(&super::e2e::Args::default())?;
    println!("xtask test: all checks passed");
    Ok(())
}

/// Everything the later steps need, detected or installed first, so that a machine that
/// lacks a tool stops in the first minutes with what to install, not after the native
/// suites. (The pinned toolchain's rustfmt and clippy come with rust-toolchain.toml; its
/// wasm target does not when the toolchain was already there: see [`setup::wasm_target`].)
pub(crate) fn preflight() -> Result<()> {
    println!("xtask test: checking the tools the suites need");
    setup::wasm_toolchain()?;
    for engine in crate::engines::Engine::ALL {
        engine.install()?;
    }
    for project in NPM_PROJECTS {
        setup::npm(project)?;
    }
    let pg = super::relay::postgres_bin()?;
    let py = super::relay::python_with_cryptography()?;
    println!(
        "xtask test: {} target, wasm-bindgen {}, {} and {}, {} and geckodriver, {} and Xvfb, npm projects, PostgreSQL in {}, {py} with cryptography",
        setup::WASM_TARGET,
        setup::wasm_bindgen_version()?,
        setup::CHROMIUM,
        setup::CHROMEDRIVER,
        crate::engines::FIREFOX,
        crate::engines::WEBKITWEBDRIVER,
        pg.display()
    );
    Ok(())
}

/// kms-core must build for the browser without any browser dependency. Randomness comes in
/// through a trait, so the core never needs a working `getrandom` backend: the check builds
/// with the `unsupported` backend to prove it. Then clippy on the enclave's crates for the
/// browser's target.
fn wasm_check() -> Result<()> {
    setup::wasm_target()?;
    let mut c = command(
        "cargo",
        &[
            "build",
            "-p",
            "kms-core",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
        ],
    );
    c.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "--cfg getrandom_backend=\"unsupported\"",
    );
    exec(&mut c)?;
    // The lints again where the enclave runs: 32-bit sizes and the browser's `std` (no
    // files) differ from the native build's.
    exec(&mut command(
        "cargo",
        &[
            "clippy",
            "-p",
            "kms-wasm",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
            "--features",
            "bench",
            "--",
            "-D",
            "warnings",
        ],
    ))
}
