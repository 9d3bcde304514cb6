//! `cargo xtask verify <enclave-url | dist-dir> [--rebuild] [...]`: the release verifier
//! (the `kms-verify` crate) with the repository's log and key as defaults; `--rebuild`
//! also rebuilds the release from this checkout and compares every hash.

use anyhow::Result;
use kms_verify::VerifyArgs;

use crate::cmd::root;
use crate::tasks::release::{LOG_DIR, LOG_KEY};

pub(crate) fn run(args: &VerifyArgs) -> Result<()> {
    let log = root().join(LOG_DIR).to_string_lossy().into_owned();
    let cli = args
        .clone()
        .resolve(Some(&log), Some(&root().join(LOG_KEY)))?;
    let verified = kms_verify::run_verify(&cli)?;
    println!(
        "verified: release {} (log entry {}, tree size {})",
        verified.version, verified.index, verified.checkpoint.size
    );
    Ok(())
}
