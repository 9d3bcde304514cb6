//! The kms-wasm browser suite (`kms-wasm/tests/browser.rs`): wasm-bindgen tests against
//! real IndexedDB and WebCrypto in each engine — headless Chromium, headless Firefox and
//! WebKitGTK's MiniBrowser (under Xvfb) — with the engine × test summary at the end.
//!
//! `wasm-bindgen-test-runner` is used directly as cargo's runner for the wasm target (set
//! here, so native `cargo test` is unaffected); it drives each browser through its
//! WebDriver with the capabilities in `kms-wasm/webdriver/<engine>.json` (WebKitWebDriver
//! takes none: it starts MiniBrowser). Nothing is downloaded while the tests run.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use anyhow::{Context as _, Result, ensure};

use crate::cmd::{command, root};
use crate::engines::{self, Display, Engine, Summary};
use crate::setup;

/// Whole-suite budget for the runner (its default, 20 s, is tight for a cold browser start
/// plus 600 000-iteration PBKDF2 in WebAssembly on a slow machine).
const TIMEOUT_SECONDS: &str = "300";

/// `cargo xtask browser-unit`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct Args {
    /// Only these engines (default: all three).
    #[arg(long = "engine", value_enum)]
    engine: Vec<Engine>,
}

impl Args {
    /// The engines asked for, or all three.
    pub(crate) fn engines(&self) -> Vec<Engine> {
        if self.engine.is_empty() {
            Engine::ALL.to_vec()
        } else {
            self.engine.clone()
        }
    }
}

/// The suite in every engine (part of `cargo xtask test`).
pub(crate) fn run() -> Result<()> {
    run_in(&Engine::ALL)
}

/// The suite in `engines`, one after the other; fails after the summary if any test failed
/// in any of them.
pub(crate) fn run_in(engines: &[Engine]) -> Result<()> {
    setup::wasm_toolchain()?;
    let mut summary = Summary::default();
    let mut failed = Vec::new();
    for &engine in engines {
        engine.install()?;
        let (ok, output) = suite(engine)?;
        engines::read_libtest(&mut summary, engine, &output);
        if !ok {
            failed.push(engine.name());
        }
    }
    summary.publish("kms-wasm browser suite", engines, "browser-unit.md")?;
    ensure!(
        failed.is_empty() && summary.all_passed(engines),
        "the kms-wasm browser suite failed in {}",
        if failed.is_empty() {
            "some engine (see the table)".to_owned()
        } else {
            failed.join(", ")
        }
    );
    Ok(())
}

/// Runs the suite in `engine`, echoing its output; returns whether it passed and what it
/// printed.
fn suite(engine: Engine) -> Result<(bool, String)> {
    println!("xtask: kms-wasm browser suite in {}", engine.name());
    let mut c = command(
        "cargo",
        &[
            "test",
            "-p",
            "kms-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--locked",
            "--test",
            "browser",
            "--",
            "--nocapture",
        ],
    );
    c.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("WASM_BINDGEN_TEST_TIMEOUT", TIMEOUT_SECONDS);
    let capabilities = root().join(format!("kms-wasm/webdriver/{}.json", engine.name()));
    let _display;
    match engine {
        Engine::Chromium => {
            c.env("CHROMEDRIVER", setup::CHROMEDRIVER)
                .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", capabilities);
        }
        Engine::Firefox => {
            c.env("GECKODRIVER", engines::geckodriver()?)
                .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", capabilities);
        }
        Engine::WebKit => {
            // The runner knows WebKit's driver as Safari's; it sends no capabilities, and
            // WebKitWebDriver then starts MiniBrowser on the display.
            let display = Display::start()?;
            c.env("SAFARIDRIVER", engines::WEBKITWEBDRIVER)
                .env("DISPLAY", display.name());
            _display = display;
        }
    }
    c.stdout(Stdio::piped());
    let mut child = c.spawn().context("starting cargo test for kms-wasm")?;
    let mut output = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            output.push_str(&line);
            output.push('\n');
        }
    }
    let status = child.wait()?;
    Ok((status.success(), output))
}
