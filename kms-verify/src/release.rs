//! Appending a release to the transparency log: its statement (`kms-release-v1`: version and
//! the SHA-256 of `sri-manifest.json`) becomes a log entry, the log signs a new checkpoint,
//! and the release gets its `.tlog-proof` under `releases/` in the log directory.

use std::fs;
use std::path::{Path, PathBuf};

use kms_tlog::log::{LogError, STATE_FILE};
use kms_tlog::note::SignerKey;
use kms_tlog::proof_file::PROOF_EXTENSION;
use kms_tlog::statement::{ReleaseStatement, StatementError};

use crate::manifest::{Manifest, ManifestError};
use crate::verify::RELEASES_DIR;

/// A release cannot be appended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The manifest does not parse.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The version is not a valid statement version.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// The log refused the append or cannot be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The key is not the log's key.
    #[error("the signing key is {got:?}, but the log's origin is {expected:?}")]
    WrongKey {
        /// The log's origin.
        expected: String,
        /// The key's name.
        got: String,
    },
    /// This version is already in the log: a version is released once.
    #[error("version {0} is already in the log (entry {1})")]
    VersionExists(String, u64),
    /// Writing the proof file failed.
    #[error("writing {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The result of [`append_release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The entry's index.
    pub index: u64,
    /// The log's size after the append.
    pub size: u64,
    /// The release's proof file.
    pub proof_path: PathBuf,
}

/// Appends the release `version` of `manifest` to the log in `log_dir` (created, with the
/// key's name as origin, when it does not exist yet), signs a checkpoint and writes the
/// release's `.tlog-proof`.
///
/// # Errors
/// [`ReleaseError`]; the manifest must be canonical, the version new and the key the log's.
pub fn append_release(
    log_dir: &Path,
    signer: &SignerKey,
    version: &str,
    manifest: &[u8],
) -> Result<Appended, ReleaseError> {
    Manifest::parse(manifest)?;
    let entry = ReleaseStatement::for_manifest(version, manifest).encode()?;
    let mut log = if log_dir.join(STATE_FILE).exists() {
        kms_tlog::log::Log::open(log_dir)?
    } else {
        kms_tlog::log::Log::create(log_dir, signer.name())?
    };
    if log.origin() != signer.name() {
        return Err(ReleaseError::WrongKey {
            expected: log.origin().to_owned(),
            got: signer.name().to_owned(),
        });
    }
    for i in 0..log.size() {
        if ReleaseStatement::parse(&log.entry(i)?).is_ok_and(|s| s.version == version) {
            return Err(ReleaseError::VersionExists(version.to_owned(), i));
        }
    }
    let index = log.append(&entry)?;
    log.checkpoint(signer)?;
    let proof = log.tlog_proof(index)?;
    let dir = log_dir.join(RELEASES_DIR);
    let proof_path = dir.join(format!("{version}.{PROOF_EXTENSION}"));
    let io = |e: std::io::Error| ReleaseError::Io {
        path: proof_path.clone(),
        reason: e.to_string(),
    };
    fs::create_dir_all(&dir).map_err(io)?;
    fs::write(&proof_path, proof.encode()).map_err(io)?;
    Ok(Appended {
        index,
        size: log.size(),
        proof_path,
    })
}
