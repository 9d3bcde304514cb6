//! `cargo xtask e2e`: the real-browser suite. Builds the enclave and the app, serves them on
//! their loopback origins and runs `e2e/tests` with Node's test runner in headless Chromium.

use crate::cmd::{command, exec, root};
use crate::{setup, site};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    setup::chromium()?;
    site::build()?;
    // A native PQXDH initiator plays the remote peer in the cross-tab test.
    exec(&mut command(
        "cargo",
        &[
            "build",
            "--quiet",
            "--locked",
            "-p",
            "kms-core",
            "--example",
            "pqxdh_initiate",
        ],
    ))?;
    site::serve()?;
    let e2e = setup::npm("e2e")?;
    let mut c = command(
        "node",
        &["--test", "--test-concurrency=1", "--test-reporter=spec"],
    );
    if args.is_empty() {
        c.arg("tests/");
    } else {
        c.args(args);
    }
    c.current_dir(e2e).env("CHROMIUM", setup::CHROMIUM).env(
        "PQXDH_INITIATE_BIN",
        root().join("target/debug/examples/pqxdh_initiate"),
    );
    exec(&mut c)
}
