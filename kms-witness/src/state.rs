//! The witness's durable record: for each log, the latest checkpoint it cosigned.
//!
//! One file per log in the state directory, named `<hex SHA-256 of the origin>.checkpoint`:
//!
//! ```text
//! kms-witness-state-v1
//! <the signed checkpoint note, verbatim as the log sent it>
//! ```
//!
//! The file is self-authenticating: it is read back by opening the note with the log's key,
//! so a changed file is refused rather than trusted. A missing file means the witness has
//! never cosigned for that log (size 0, the empty tree). Files are replaced atomically: a
//! temporary file is written, flushed to disk, renamed over the old one, and the directory
//! flushed. The directory is locked while a witness has it open, so one process at a time
//! updates it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kms_tlog::checkpoint::{Checkpoint, CheckpointError};
use kms_tlog::hash::{EMPTY_ROOT, Hash};
use kms_tlog::note::VerifierKey;
use sha2::{Digest, Sha256};

/// Format id on the first line of a state file.
pub const STATE_FORMAT: &str = "kms-witness-state-v1";
/// Extension of a state file.
pub const STATE_EXTENSION: &str = "checkpoint";
/// Name of the lock file in the state directory.
pub const LOCK_FILE: &str = "lock";

/// The state directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file could not be read or written.
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Another witness process has the directory open.
    #[error("state directory {} is locked by another witness", .0.display())]
    Locked(PathBuf),
    /// A state file has another format id.
    #[error("unknown state format in {}: expected {STATE_FORMAT}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// A state file's checkpoint does not open with the log's key.
    #[error("corrupt state file {}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: CheckpointError,
    },
}

/// What the witness holds for one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    /// The size of the latest cosigned checkpoint (0 if none).
    pub size: u64,
    /// Its root hash (the empty tree's if none).
    pub root: Hash,
    /// The signed note, when there is one.
    pub signed: Option<Vec<u8>>,
}

impl LogState {
    /// The state of a log never cosigned.
    pub fn empty() -> Self {
        Self {
            size: 0,
            root: EMPTY_ROOT,
            signed: None,
        }
    }
}

/// An open, locked state directory.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    _lock: File,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

impl StateDir {
    /// Opens (and creates when missing) the state directory, and locks it.
    ///
    /// # Errors
    /// [`StateError::Locked`] if another process holds it, [`StateError::Io`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StateError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match lock.try_lock() {
            Ok(()) => Ok(Self { dir, _lock: lock }),
            Err(fs::TryLockError::WouldBlock) => Err(StateError::Locked(dir)),
            Err(fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }

    /// The state file of the log named `origin`.
    pub fn path(&self, origin: &str) -> PathBuf {
        let digest = Sha256::digest(origin.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.{STATE_EXTENSION}"))
    }

    /// Reads the state of the log whose key is `log_key` (its name is the origin).
    ///
    /// # Errors
    /// [`StateError::Format`], [`StateError::Corrupt`], [`StateError::Io`].
    pub fn load(&self, log_key: &VerifierKey) -> Result<LogState, StateError> {
        let path = self.path(log_key.name());
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LogState::empty()),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let header = format!("{STATE_FORMAT}\n");
        let signed = bytes
            .strip_prefix(header.as_bytes())
            .ok_or_else(|| StateError::Format { path: path.clone() })?;
        let checkpoint =
            Checkpoint::open(signed, log_key).map_err(|source| StateError::Corrupt {
                path: path.clone(),
                source,
            })?;
        Ok(LogState {
            size: checkpoint.size,
            root: checkpoint.root,
            signed: Some(signed.to_vec()),
        })
    }

    /// Replaces the state of the log named `origin` with `signed`, a checkpoint note the
    /// caller verified. Durable when this returns.
    ///
    /// # Errors
    /// [`StateError::Io`]; the old state is then unchanged.
    pub fn store(&self, origin: &str, signed: &[u8]) -> Result<(), StateError> {
        let path = self.path(origin);
        let mut bytes = format!("{STATE_FORMAT}\n").into_bytes();
        bytes.extend_from_slice(signed);
        write_atomic(&self.dir, &path, &bytes)
    }
}

/// Writes `bytes` to `path` in `dir`: temporary file, flush, rename, flush the directory.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StateError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kms_tlog::note::SignerKey;

    fn temp_dir(what: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("kms-witness-state-{}-{what}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn store_load_and_refuse_tampering() {
        let dir = temp_dir("roundtrip");
        let state = StateDir::open(&dir).unwrap();
        let log = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
        assert_eq!(state.load(&log.verifier()).unwrap(), LogState::empty());
        let signed = Checkpoint::new("example.com/log", 3, [9; 32])
            .sign(&log)
            .unwrap();
        state.store("example.com/log", signed.as_bytes()).unwrap();
        let loaded = state.load(&log.verifier()).unwrap();
        assert_eq!((loaded.size, loaded.root), (3, [9; 32]));
        assert_eq!(loaded.signed.as_deref(), Some(signed.as_bytes()));
        // Another process cannot open the directory while this one has it.
        assert!(matches!(StateDir::open(&dir), Err(StateError::Locked(_))));
        // A changed file is refused, not trusted.
        let path = state.path("example.com/log");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replacen("\n3\n", "\n4\n", 1)).unwrap();
        assert!(matches!(
            state.load(&log.verifier()),
            Err(StateError::Corrupt { .. })
        ));
        fs::write(
            &path,
            text.replacen(STATE_FORMAT, "kms-witness-state-v0", 1),
        )
        .unwrap();
        assert!(matches!(
            state.load(&log.verifier()),
            Err(StateError::Format { .. })
        ));
        drop(state);
        assert!(StateDir::open(&dir).is_ok());
    }
}
