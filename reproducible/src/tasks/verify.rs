//! `cargo xtask verify <enclave-url | dist-dir> [--rebuild] [...]`: the release verifier
//! (also the standalone `kms-verify` binary) with the repository's log and key as defaults;
//! `--rebuild` also rebuilds the release from this checkout and compares every hash.

use reproducible::manifest::Manifest;

use crate::cmd::root;
use crate::tasks::release::{LOG_DIR, LOG_KEY};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let log = root().join(LOG_DIR).to_string_lossy().into_owned();
    let key = root().join(LOG_KEY).to_string_lossy().into_owned();
    let (options, rest) = reproducible::parse_verify_args(args, Some(&log), Some(&key))?;
    let mut rebuild = false;
    for flag in rest {
        match flag.as_str() {
            "--rebuild" => rebuild = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let verified = reproducible::run_verify(&options)?;
    if rebuild {
        let release = super::dist::build_release()?;
        let built = Manifest::parse(&release.manifest).map_err(|e| e.to_string())?;
        let served = &verified.manifest;
        if built.page != served.page || built.artifacts != served.artifacts {
            return Err(format!(
                "FAILED: a rebuild from this checkout differs from the deployment: page {} vs {}",
                built.page.sri, served.page.sri
            ));
        }
        println!("ok  rebuilt from source: identical page and artifacts");
    }
    println!(
        "verified: release {} (log entry {}, tree size {})",
        verified.version, verified.index, verified.checkpoint.size
    );
    Ok(())
}
