//! `cargo xtask engine-e2e`: the engine suite (`e2e/engines`) in Chromium, Firefox and
//! WebKit over W3C WebDriver, on the localhost layout (`http://*.kms.localhost`, which every
//! engine resolves to loopback and treats as a secure context without set-up), with the
//! engine × test summary table at the end.
//!
//! The Chromium-only Playwright suite (`cargo xtask e2e`) serves the https layout on the
//! same ports; `cargo xtask test` runs this task in a process of its own afterwards.

use std::path::PathBuf;

use anyhow::{Context as _, Result, ensure};

use crate::cmd::{command, exec, target_dir};
use crate::engines::{self, Display, Engine, Summary};
use crate::{setup, site};

/// `cargo xtask engine-e2e`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct Args {
    /// Only these engines (default: all three).
    #[arg(long = "engine", value_enum)]
    engine: Vec<Engine>,
    /// Test files to run, relative to `e2e/` (default: every file in `engines/`).
    files: Vec<String>,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let engines = if args.engine.is_empty() {
        Engine::ALL.to_vec()
    } else {
        args.engine.clone()
    };
    let layout = site::Layout::Localhost;
    site::build(layout)?;
    let tools = site::build_tools(&["unwrap-records"])?;
    // The push tests' sender and push service.
    exec(&mut command(
        "cargo",
        &[
            "build",
            "--quiet",
            "--locked",
            "-p",
            "kms-relay",
            "-p",
            "kms-pushd",
            "--bins",
        ],
    ))?;
    let debug = target_dir().join("debug");
    let served = site::serve(layout)?;
    let e2e = setup::npm("e2e")?;
    let reports = target_dir().join("engines");
    std::fs::create_dir_all(&reports)?;
    let mut summary = Summary::default();
    let mut failed = Vec::new();
    for &engine in &engines {
        engine.install()?;
        println!("xtask: engine suite in {}", engine.name());
        let tap = reports.join(format!("e2e-{}.tap", engine.name()));
        let _ = std::fs::remove_file(&tap);
        let mut c = command(
            "node",
            &[
                "--test",
                "--test-concurrency=1",
                "--test-timeout=180000",
                "--test-reporter=spec",
                "--test-reporter-destination=stdout",
                "--test-reporter=tap",
            ],
        );
        c.arg(format!("--test-reporter-destination={}", tap.display()));
        if args.files.is_empty() {
            c.arg("engines/");
        } else {
            c.args(&args.files);
        }
        served.apply(&mut c);
        c.current_dir(&e2e)
            .env("KMS_ENGINE", engine.name())
            .env("UNWRAP_BIN", &tools[0])
            .env("KMS_RELAY_BIN", debug.join("kms-relay"))
            .env("PUSHD_BIN", debug.join("kms-pushd"));
        let _display;
        match engine {
            Engine::Chromium => {
                c.env("CHROMIUM", setup::CHROMIUM)
                    .env("CHROMEDRIVER", setup::CHROMEDRIVER);
            }
            Engine::Firefox => {
                c.env("FIREFOX", engines::FIREFOX)
                    .env("GECKODRIVER", engines::geckodriver()?);
            }
            Engine::WebKit => {
                let display = Display::start()?;
                c.env("WEBKITWEBDRIVER", engines::WEBKITWEBDRIVER)
                    .env("DISPLAY", display.name());
                _display = display;
            }
        }
        let status = c
            .status()
            .with_context(|| format!("running the engine suite in {}", engine.name()))?;
        let output = read(&tap)?;
        engines::read_tap(&mut summary, engine, &output);
        if !status.success() {
            failed.push(engine.name());
        }
    }
    summary.publish("engine suite (e2e/engines)", &engines, "e2e.md")?;
    ensure!(
        failed.is_empty() && summary.all_passed(&engines),
        "the engine suite failed in {}",
        if failed.is_empty() {
            "some engine (see the table)".to_owned()
        } else {
            failed.join(", ")
        }
    );
    Ok(())
}

fn read(tap: &PathBuf) -> Result<String> {
    std::fs::read_to_string(tap).with_context(|| format!("reading {}", tap.display()))
}
