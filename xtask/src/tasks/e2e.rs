//! `cargo xtask e2e`: the real-browser suite. Builds the enclave and the app, serves them on
//! the https layout's origins (`*.kms.test`, a certificate made at start-up) and runs
//! `e2e/tests` with Node's test runner in headless Chromium.

use anyhow::Result;

use crate::cmd::{command, exec};
use crate::{setup, site};

/// `cargo xtask e2e`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct Args {
    /// Test files to run, relative to `e2e/` (default: every file in `tests/`).
    pub(crate) files: Vec<String>,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    setup::chromium()?;
    let layout = site::Layout::Https;
    site::build(layout)?;
    // The release build too, served as its own enclave origin (tests/sri.test.mjs).
    super::dist::build_into_dist()?;
    // The secret scan's oracle: `unwrap-records` recovers the stored private keys with
    // the passphrase. `tlog-vectors` writes the release logs of tests/verified.test.mjs.
    let tools = site::build_tools(&["unwrap-records", "tlog-vectors"])?;
    let served = site::serve(layout)?;
    let e2e = setup::npm("e2e")?;
    let mut c = command(
        "node",
        &[
            "--test",
            "--test-concurrency=1",
            "--test-timeout=180000",
            "--test-reporter=spec",
        ],
    );
    if args.files.is_empty() {
        c.arg("tests/");
    } else {
        c.args(&args.files);
    }
    served.apply(&mut c);
    c.current_dir(e2e)
        .env("CHROMIUM", setup::CHROMIUM)
        .env("UNWRAP_BIN", &tools[0])
        .env("TLOG_VECTORS_BIN", &tools[1]);
    exec(&mut c)
}
