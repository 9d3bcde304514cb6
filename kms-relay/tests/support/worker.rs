//! The local Worker for the integration tests: its directory when it is built, or a skip.
//!
//! `cargo xtask test` builds it and sets `KMS_RELAY_REQUIRE_WORKER=1`, under which a Worker
//! that is not built fails the tests instead of skipping them.

use std::path::{Path, PathBuf};

use kms_relay::workerd;

/// `kms-relay/worker`, or `None` (with a note) when it is not built and tests may skip it.
pub(crate) fn dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("worker");
    match workerd::check_ready(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            assert!(
                std::env::var("KMS_RELAY_REQUIRE_WORKER").is_err(),
                "KMS_RELAY_REQUIRE_WORKER is set but the Worker is not ready: {e}"
            );
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: skipping the Worker tests ({e}; `cargo xtask worker build`)"
            );
            None
        }
    }
}
