//! Interop suites run against independent implementations (installed from package registries).

use anyhow::Result;

use crate::cmd::{command, exec};

/// The libsignal suite: kms-core's Signal keys, signatures, bundles and PQXDH against
/// `@signalapp/libsignal-client` from npm.
const LIBSIGNAL_DIR: &str = "interop/libsignal";

pub(crate) fn run_all() -> Result<()> {
    libsignal()
}

fn libsignal() -> Result<()> {
    // `npm ci` installs exactly the committed lock file (from the npm registry only; the
    // package ships its native prebuilds, nothing else is downloaded).
    let dir = crate::setup::npm(LIBSIGNAL_DIR)?;
    // Build the fixture once; the tests run the binary instead of `cargo run` per call.
    let fixture = crate::site::build_tools(&["signal-fixture"])?;
    let mut tests = command("node", &["--test"]);
    tests
        .current_dir(&dir)
        .env("SIGNAL_FIXTURE_BIN", &fixture[0]);
    exec(&mut tests)
}
