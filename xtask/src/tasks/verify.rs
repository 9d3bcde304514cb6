//! `cargo xtask verify <enclave-url | dist-dir> [--rebuild] [...]`: the release verifier
//! (the `kms-verify` crate) with the repository's log and key as defaults; `--rebuild`
//! also rebuilds the release from this checkout and compares every hash.

use crate::cmd::root;
use crate::tasks::release::{LOG_DIR, LOG_KEY};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let log = root().join(LOG_DIR).to_string_lossy().into_owned();
    let key = root().join(LOG_KEY).to_string_lossy().into_owned();
    // `--rebuild` alone names this checkout.
    let mut args = args.to_vec();
    if let Some(i) = args.iter().position(|a| a == "--rebuild") {
        args.insert(i + 1, root().to_string_lossy().into_owned());
    }
    let cli = kms_verify::parse_verify_args(&args, Some(&log), Some(&key))?;
    let verified = kms_verify::run_verify(&cli)?;
    println!(
        "verified: release {} (log entry {}, tree size {})",
        verified.version, verified.index, verified.checkpoint.size
    );
    Ok(())
}
