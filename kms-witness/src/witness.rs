//! The witness's decision: whether an `add-checkpoint` request may be cosigned
//! (c2sp.org/tlog-witness, "add-checkpoint"), in the order the specification gives its
//! checks, with the stored state read and replaced under one lock.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use kms_tlog::checkpoint::{Checkpoint, CheckpointError};
use kms_tlog::cosignature::{CosignatureError, CosignerKey};
use kms_tlog::note::{Note, NoteError, NoteSignature, VerifierKey};
use kms_tlog::proof::{ProofError, verify_consistency};
use kms_tlog::witness::{AddCheckpoint, WitnessFormatError};

use crate::state::{StateDir, StateError};

/// Why a checkpoint was not cosigned. [`Refusal::status`] is the HTTP status the
/// specification gives each case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The request body is malformed (400).
    #[error(transparent)]
    Malformed(#[from] WitnessFormatError),
    /// The checkpoint is not a signed checkpoint note (400).
    #[error("malformed checkpoint")]
    MalformedCheckpoint(#[source] CheckpointError),
    /// The checkpoint's origin is not a log this witness knows (404).
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// No signature by the log's key verifies (403).
    #[error("the checkpoint is not signed by the key of log {origin:?}")]
    NotSigned {
        /// The origin.
        origin: String,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// The old size is larger than the checkpoint's size (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size of the latest cosigned checkpoint (409).
    #[error("old size {old} does not match the witness's size {size}")]
    OldSizeMismatch {
        /// The request's old size.
        old: u64,
        /// The size the witness holds.
        size: u64,
    },
    /// A checkpoint of the witness's size with another root: a fork (409).
    #[error("a checkpoint of size {size} with another root than the one cosigned: a fork")]
    RootMismatch {
        /// The size the witness holds.
        size: u64,
    },
    /// The consistency proof does not verify from the witness's checkpoint (422).
    #[error("the consistency proof from size {old} does not verify")]
    Inconsistent {
        /// The old size.
        old: u64,
        /// Why.
        #[source]
        source: ProofError,
    },
    /// The state could not be read or written (500): nothing was cosigned.
    #[error("witness state")]
    State(#[from] StateError),
    /// Cosigning failed (500).
    #[error("cosigning")]
    Cosign(#[from] CosignatureError),
    /// The state lock is poisoned by a panic in another request (500).
    #[error("witness state lock poisoned")]
    Poisoned,
}

impl Refusal {
    /// The HTTP status code of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::MalformedCheckpoint(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::NotSigned { .. } => 403,
            Self::UnknownLog(_) => 404,
            Self::OldSizeMismatch { .. } | Self::RootMismatch { .. } => 409,
            Self::Inconsistent { .. } => 422,
            Self::State(_) | Self::Cosign(_) | Self::Poisoned => 500,
        }
    }

    /// For a 409, the witness's size, which the answer carries as `text/x.tlog.size`.
    pub fn conflict_size(&self) -> Option<u64> {
        match self {
            Self::OldSizeMismatch { size, .. } | Self::RootMismatch { size } => Some(*size),
            _ => None,
        }
    }
}

/// The configuration of a witness is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two log keys for one origin.
    #[error("log {0:?} is configured twice")]
    DuplicateLog(String),
}

/// The source of cosignature timestamps, in POSIX seconds.
pub type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// The system clock (0 before 1970).
pub fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A witness: its key, the logs it knows and its state.
pub struct Witness {
    key: CosignerKey,
    logs: Vec<VerifierKey>,
    state: Mutex<StateDir>,
    clock: Clock,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("key", &self.key)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness that cosigns with `key` the checkpoints of `logs` (each log's origin is its
    /// key's name), keeping its state in `state`, with the system clock.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateLog`].
    pub fn new(
        key: CosignerKey,
        logs: Vec<VerifierKey>,
        state: StateDir,
    ) -> Result<Self, ConfigError> {
        Self::with_clock(key, logs, state, Box::new(system_clock))
    }

    /// [`Witness::new`] with another clock.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateLog`].
    pub fn with_clock(
        key: CosignerKey,
        logs: Vec<VerifierKey>,
        state: StateDir,
        clock: Clock,
    ) -> Result<Self, ConfigError> {
        for (i, a) in logs.iter().enumerate() {
            if logs[i + 1..].iter().any(|b| a.name() == b.name()) {
                return Err(ConfigError::DuplicateLog(a.name().to_owned()));
            }
        }
        Ok(Self {
            key,
            logs,
            state: Mutex::new(state),
            clock,
        })
    }

    /// The witness's key name.
    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// Handles an `add-checkpoint` request body; returns the cosignature lines.
    ///
    /// The checks, in order: the body parses (400); the checkpoint's origin is a known log
    /// (404); the log's key signed it (403); the old size is at most its size (400); the old
    /// size is the size last cosigned (409); equal sizes have equal roots (409), otherwise
    /// the proof leads from the stored root to the new one (422). Only then is the
    /// checkpoint stored, durably, and cosigned. Check and store happen under one lock, so
    /// two requests cannot interleave and roll the state back.
    ///
    /// # Errors
    /// [`Refusal`]; the stored state is then unchanged.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Vec<NoteSignature>, Refusal> {
        let request = AddCheckpoint::parse(body)?;
        let note = Note::parse(&request.checkpoint)
            .map_err(|e| Refusal::MalformedCheckpoint(CheckpointError::Note(e)))?;
        let origin = Checkpoint::parse_text(note.text())
            .map_err(Refusal::MalformedCheckpoint)?
            .origin;
        let log_key = self
            .logs
            .iter()
            .find(|k| k.name() == origin)
            .ok_or_else(|| Refusal::UnknownLog(origin.clone()))?;
        let checkpoint =
            Checkpoint::open(&request.checkpoint, log_key).map_err(|source| match source {
                CheckpointError::Note(NoteError::Unverified | NoteError::BadSignature { .. }) => {
                    Refusal::NotSigned {
                        origin: origin.clone(),
                        source,
                    }
                }
                other => Refusal::MalformedCheckpoint(other),
            })?;
        if request.old_size > checkpoint.size {
            return Err(Refusal::OldSizeTooLarge {
                old: request.old_size,
                size: checkpoint.size,
            });
        }
        let state = self.state.lock().map_err(|_| Refusal::Poisoned)?;
        let held = state.load(log_key)?;
        if request.old_size != held.size {
            return Err(Refusal::OldSizeMismatch {
                old: request.old_size,
                size: held.size,
            });
        }
        if checkpoint.size == held.size {
            if checkpoint.root != held.root {
                return Err(Refusal::RootMismatch { size: held.size });
            }
        } else {
            verify_consistency(
                held.size,
                checkpoint.size,
                &held.root,
                &checkpoint.root,
                &request.proof,
            )
            .map_err(|source| Refusal::Inconsistent {
                old: held.size,
                source,
            })?;
        }
        state.store(&origin, &request.checkpoint)?;
        let line = self.key.cosign(note.text(), (self.clock)())?;
        drop(state);
        Ok(vec![line])
    }
}
