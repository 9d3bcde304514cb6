//! `cargo xtask e2e`: the real-browser suite. Builds the enclave and the app, serves them on
//! their loopback origins and runs `e2e/tests` with Node's test runner in headless Chromium.

use crate::cmd::{command, exec, root};
use crate::{setup, site};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    setup::chromium()?;
    site::build()?;
    // The release build too, served as its own enclave origin (tests/sri.test.mjs).
    super::dist::build_into_dist()?;
    // Native helper: `unwrap_records` recovers the stored private keys with the
    // passphrase for the secret scan.
    site::build_examples(&["unwrap_records"])?;
    site::serve()?;
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
    if args.is_empty() {
        c.arg("tests/");
    } else {
        c.args(args);
    }
    let examples = root().join("target/debug/examples");
    c.current_dir(e2e)
        .env("CHROMIUM", setup::CHROMIUM)
        .env("UNWRAP_BIN", examples.join("unwrap_records"));
    exec(&mut c)
}
