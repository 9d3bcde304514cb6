//! Finding a release in its log: the check a client makes of the whole log before it trusts a
//! release, as the client SDK (`enclave-html/sdk/src/tlog.ts`) and the enclave itself make it.
//!
//! A release log holds one entry per release, so the whole log is small: the client reads the
//! signed checkpoint, every entry bundle up to its size, recomputes the tree, and looks for the
//! release statement of the manifest it was served. That one pass proves the manifest's
//! inclusion and, against the checkpoint the client trusted before, that the log only grew.
//! The steps and their refusals are in `docs/formats/tlog.md`; [`ReleaseError::code`] gives the
//! names the SDK's `KmsError` uses.

use crate::checkpoint::Checkpoint;
use crate::cosignature::{self, CosignatureVerifier};
use crate::hash::leaf_hash;
use crate::log::{TILE_WIDTH, parse_bundle, tile_path};
use crate::note::{Note, VerifierKey};
use crate::statement::ReleaseStatement;
use crate::tree::Tree;

/// Most entries a client reads from a log; a larger checkpoint is [`ReleaseError::LogTooLarge`].
pub const MAX_LOG_SIZE: u64 = 1 << 16;

/// Why a release is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// The log key, a witness key or the quorum cannot be used.
    #[error("invalid log configuration: {0}")]
    InvalidLogConfig(String),
    /// The checkpoint or an entry bundle is missing, malformed, or does not match.
    #[error("the log is unavailable or inconsistent: {0}")]
    LogUnavailable(String),
    /// The checkpoint is larger than [`MAX_LOG_SIZE`].
    #[error("the log has {0} entries, more than a client reads")]
    LogTooLarge(u64),
    /// Fewer valid witness cosignatures than the quorum.
    #[error("{got} of the {quorum} witness cosignatures required")]
    QuorumNotMet {
        /// Valid cosignatures from distinct configured witnesses.
        got: usize,
        /// The quorum.
        quorum: usize,
    },
    /// No entry of the log is this manifest's release statement.
    #[error("the manifest is not in the log")]
    NotInLog,
    /// The log is smaller than the checkpoint trusted before.
    #[error("the log shrank from {old} to {new} entries")]
    Rollback {
        /// Size of the checkpoint trusted before.
        old: u64,
        /// Size of the checkpoint served now.
        new: u64,
    },
    /// The log's first entries are not those of the checkpoint trusted before.
    #[error("the log does not extend the checkpoint of size {0} trusted before")]
    Fork(u64),
}

impl ReleaseError {
    /// The error's name, as the client SDK's `KmsError.code` spells it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidLogConfig(_) => "InvalidLogConfig",
            Self::LogUnavailable(_) => "LogUnavailable",
            Self::LogTooLarge(_) => "LogTooLarge",
            Self::QuorumNotMet { .. } => "QuorumNotMet",
            Self::NotInLog => "NotInLog",
            Self::Rollback { .. } => "Rollback",
            Self::Fork(_) => "Fork",
        }
    }
}

/// What a client trusts a log by: its key, its witnesses and how many of them must cosign.
#[derive(Debug, Clone)]
pub struct LogTrust {
    key: VerifierKey,
    witnesses: Vec<CosignatureVerifier>,
    quorum: usize,
}

/// A checkpoint signed by the log, with the witnesses that cosigned it.
#[derive(Debug, Clone)]
pub struct TrustedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// How many configured witnesses cosigned it.
    pub cosigned: usize,
}

/// A release found in its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRelease {
    /// The release statement's index in the log.
    pub index: u64,
    /// The release version.
    pub version: String,
    /// The size of the checkpoint it was found under.
    pub size: u64,
    /// How many configured witnesses cosigned that checkpoint.
    pub cosigned: usize,
}

impl LogTrust {
    /// Parses the log's verifier key and the witnesses' `cosignature/v1` keys (C2SP vkey
    /// strings); `quorum` defaults to every witness.
    ///
    /// # Errors
    /// [`ReleaseError::InvalidLogConfig`] for a malformed key, two witnesses with one name and
    /// key id, or a quorum larger than the witnesses.
    pub fn new<S: AsRef<str>>(
        key: &str,
        witnesses: &[S],
        quorum: Option<usize>,
    ) -> Result<Self, ReleaseError> {
        let config = |what: &str, e: &dyn std::fmt::Display| {
            ReleaseError::InvalidLogConfig(format!("{what}: {e}"))
        };
        let key = VerifierKey::parse(key).map_err(|e| config("log key", &e))?;
        let witnesses = witnesses
            .iter()
            .map(|w| CosignatureVerifier::parse(w.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| config("witness key", &e))?;
        for (i, a) in witnesses.iter().enumerate() {
            if witnesses[i + 1..]
                .iter()
                .any(|b| a.name() == b.name() && a.key_id() == b.key_id())
            {
                return Err(config("witness key", &"named twice"));
            }
        }
        let quorum = quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(ReleaseError::InvalidLogConfig(format!(
                "a quorum of {quorum} from {} witnesses",
                witnesses.len()
            )));
        }
        Ok(Self {
            key,
            witnesses,
            quorum,
        })
    }

    /// The log's verifier key.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }

    /// How many witnesses must cosign.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// How many witnesses are configured.
    pub fn witnesses(&self) -> usize {
        self.witnesses.len()
    }

    /// Opens a signed checkpoint: the log's signature, the size bound and the quorum.
    ///
    /// # Errors
    /// [`ReleaseError::LogUnavailable`], [`ReleaseError::LogTooLarge`],
    /// [`ReleaseError::QuorumNotMet`].
    pub fn open(&self, signed: &[u8]) -> Result<TrustedCheckpoint, ReleaseError> {
        let checkpoint = Checkpoint::open(signed, &self.key)
            .map_err(|e| ReleaseError::LogUnavailable(format!("checkpoint: {e}")))?;
        if checkpoint.size > MAX_LOG_SIZE {
            return Err(ReleaseError::LogTooLarge(checkpoint.size));
        }
        let cosigned = Note::parse(signed)
            .ok()
            .and_then(|note| cosignature::verify_cosignatures(&note, &self.witnesses).ok())
            .map_or(0, |valid| valid.len());
        if cosigned < self.quorum {
            return Err(ReleaseError::QuorumNotMet {
                got: cosigned,
                quorum: self.quorum,
            });
        }
        Ok(TrustedCheckpoint {
            checkpoint,
            cosigned,
        })
    }

    /// Finds `manifest`'s release in the log of `trusted`, given its entry bundles in the order
    /// of [`bundle_paths`], and checks that the log extends `stored`, the signed checkpoint
    /// trusted before (if any).
    ///
    /// # Errors
    /// [`ReleaseError::LogUnavailable`] for a missing or malformed bundle or a tree that is not
    /// the checkpoint's, [`ReleaseError::NotInLog`], [`ReleaseError::Rollback`],
    /// [`ReleaseError::Fork`].
    pub fn find<B: AsRef<[u8]>>(
        &self,
        trusted: &TrustedCheckpoint,
        bundles: &[B],
        manifest: &[u8],
        stored: Option<&[u8]>,
    ) -> Result<LoggedRelease, ReleaseError> {
        let size = trusted.checkpoint.size;
        let unavailable = |what: String| ReleaseError::LogUnavailable(what);
        let paths = bundle_paths(size);
        if bundles.len() != paths.len() {
            return Err(unavailable(format!(
                "{} entry bundles for {} needed",
                bundles.len(),
                paths.len()
            )));
        }
        let mut entries: Vec<&[u8]> = Vec::new();
        for (path, bundle) in paths.iter().zip(bundles) {
            let parsed = parse_bundle(bundle.as_ref())
                .ok_or_else(|| unavailable(format!("{path}: malformed entry bundle")))?;
            let width = (size - entries.len() as u64).min(TILE_WIDTH);
            if parsed.len() as u64 != width {
                return Err(unavailable(format!(
                    "{path}: {} entries, not {width}",
                    parsed.len()
                )));
            }
            entries.extend(parsed);
        }
        let tree = Tree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
        if tree.root() != trusted.checkpoint.root {
            return Err(unavailable(
                "the entries do not hash to the checkpoint".into(),
            ));
        }
        let (index, statement) = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i as u64, ReleaseStatement::parse(e).ok()?)))
            .find(|(_, s)| s.matches_manifest(manifest))
            .ok_or(ReleaseError::NotInLog)?;
        if let Some(stored) = stored {
            let old = Checkpoint::open(stored, &self.key)
                .map_err(|e| unavailable(format!("the stored checkpoint: {e}")))?;
            if old.size > size {
                return Err(ReleaseError::Rollback {
                    old: old.size,
                    new: size,
                });
            }
            if tree.root_at(old.size) != Some(old.root) {
                return Err(ReleaseError::Fork(old.size));
            }
        }
        Ok(LoggedRelease {
            index,
            version: statement.version,
            size,
            cosigned: trusted.cosigned,
        })
    }
}

/// The tlog-tiles paths of the entry bundles of a log of `size` entries, in order.
pub fn bundle_paths(size: u64) -> Vec<String> {
    (0..size.div_ceil(TILE_WIDTH))
        .map(|n| tile_path(None, n, (size - n * TILE_WIDTH).min(TILE_WIDTH)))
        .collect()
}
