//! The kms-wasm browser suite (`kms-wasm/tests/browser.rs`): wasm-bindgen tests in headless
//! Chromium against real IndexedDB and WebCrypto.
//!
//! `wasm-bindgen-test-runner` is used directly as cargo's runner for the wasm target (set
//! here, so native `cargo test` is unaffected); it drives Chromium through ChromeDriver with
//! the capabilities in `kms-wasm/webdriver.json` (read from the package directory, where
//! cargo runs the tests). Nothing is downloaded while the tests run.

use anyhow::Result;

use crate::cmd::{command, exec};
use crate::setup;

/// Whole-suite budget for the runner (its default, 20 s, is tight for a cold browser start
/// plus 600 000-iteration PBKDF2 in WebAssembly on a slow machine).
const TIMEOUT_SECONDS: &str = "300";

pub(crate) fn run() -> Result<()> {
    setup::chromium()?;
    setup::wasm_toolchain()?;
    let mut c = command(
        "cargo",
        &[
            "test",
            "-p",
            "kms-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--locked",
        ],
    );
    c.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("CHROMEDRIVER", setup::CHROMEDRIVER)
    .env("WASM_BINDGEN_TEST_TIMEOUT", TIMEOUT_SECONDS);
    exec(&mut c)
}
