//! A file-backed, append-only transparency log laid out as C2SP `tlog-tiles`
//! (c2sp.org/tlog-tiles), so its directory can be served as static files.
//!
//! ```text
//! checkpoint                      latest signed checkpoint (C2SP tlog-checkpoint)
//! tile/<L>/<N>[.p/<W>]            Merkle hash tiles, 256 hashes of 32 bytes when full
//! tile/entries/<N>[.p/<W>]        entry bundles: 256 entries, each u16be(len) ‖ bytes
//! log-state                       writer state: format id, origin and committed size
//! lock                            held by the one writer that has the log open
//! ```
//!
//! `<N>` is the tile index in groups of three digits, all but the last prefixed with `x`
//! (1234067 → `x001/x234/067`); `.p/<W>` marks a partial tile of `W` (1–255) hashes or entries.
//! A level-0 tile holds leaf hashes; a level-`L` tile holds the roots of the full tiles of level
//! `L − 1`.
//!
//! Every file is written to a temporary name, flushed and renamed, and `log-state` is renamed
//! last: it is the commit point of an append. After a crash, files for positions beyond the
//! committed size may exist; they are ignored and overwritten by the next append. Files for
//! committed positions are never rewritten, and a new checkpoint is signed only if the tree at
//! the previous checkpoint's size still has that checkpoint's root.
//!
//! Opening a log reads every entry and checks every tile against the recomputed tree, so a
//! log whose files were changed is refused. This costs one pass over the log, which is small
//! for a release log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::hash::{HASH_LEN, Hash, leaf_hash};
use crate::note::{self, Note, NoteError, NoteSignature, SignerKey};
use crate::proof::{self, ProofError};
use crate::proof_file::TlogProof;
use crate::tree::Tree;

/// Format id on the first line of `log-state`.
pub const STATE_FORMAT: &str = "kms-tlog-state-v1";
/// Name of the writer state file.
pub const STATE_FILE: &str = "log-state";
/// Name of the signed checkpoint file.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Name of the writer lock file.
pub const LOCK_FILE: &str = "lock";
/// Hashes in a full tile and entries in a full bundle (tile height 8).
pub const TILE_WIDTH: u64 = 256;
/// Tree levels covered by one tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Longest entry an entry bundle can hold (its length is a big-endian u16).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// A log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A file could not be read or written.
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Another writer has the log open.
    #[error("log is locked by another writer")]
    Locked,
    /// A new log was asked for in a directory that already has files.
    #[error("directory is not empty: {0}")]
    NotEmpty(PathBuf),
    /// The state file has another format id.
    #[error("unknown log state format: expected {expected}, got {got:?}")]
    Format {
        /// The supported format.
        expected: &'static str,
        /// The id found.
        got: String,
    },
    /// A file does not match the log's contents.
    #[error("corrupt log file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry longer than [`MAX_ENTRY_LEN`].
    #[error("entry too large: expected at most {max} bytes, got {got}")]
    EntryTooLarge {
        /// The limit.
        max: usize,
        /// The entry's length.
        got: usize,
    },
    /// The signer's name is not the log's origin.
    #[error("origin mismatch: expected {expected:?}, got {got:?}")]
    OriginMismatch {
        /// The log's origin.
        expected: String,
        /// The name given.
        got: String,
    },
    /// The saved checkpoint is not a checkpoint of this log's history: the log was rewritten
    /// or truncated since it was signed.
    #[error("log history does not match the checkpoint of size {size}")]
    HistoryMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// No checkpoint has been signed yet.
    #[error("the log has no checkpoint")]
    NoCheckpoint,
    /// An invalid origin.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The saved checkpoint does not parse or verify.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A proof was asked for an index or size outside the log.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The path element of tile index `n`: three-digit groups, all but the last prefixed by `x`.
pub fn tile_index_path(n: u64) -> String {
    let mut groups = Vec::new();
    let mut rest = n;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The path of a tile (relative to the log directory) of the given level (`None` for entry
/// bundles), index and width (1 to 256; 256 is a full tile).
pub fn tile_path(level: Option<u32>, index: u64, width: u64) -> String {
    let level = level.map_or_else(|| "entries".to_owned(), |l| l.to_string());
    let mut path = format!("tile/{level}/{}", tile_index_path(index));
    if width < TILE_WIDTH {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

/// Splits an entry bundle into its entries.
///
/// # Errors
/// `None` if a length prefix runs past the end.
pub(crate) fn parse_bundle(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut entries = Vec::new();
    while let [hi, lo, rest @ ..] = bytes {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let entry = rest.get(..len)?;
        entries.push(entry);
        bytes = rest.get(len..)?;
    }
    bytes.is_empty().then_some(entries)
}

/// Writes `bytes` to `path` through a temporary file, a flush and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp"));
    {
        // Closed at the end of this block, before the rename.
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(parent)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), LogError> {
    Ok(())
}

/// An open, writable log. Only one `Log` can have a directory open at a time.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    origin: String,
    tree: Tree,
    /// The bytes of the last, partial entry bundle (empty when the last bundle is full).
    bundle: Vec<u8>,
    _lock: File,
}

impl Log {
    /// Creates an empty log in `dir` (created if missing, else it must be empty). `origin`
    /// is the log's identity and the name of the key that signs its checkpoints.
    ///
    /// # Errors
    /// [`LogError::Note`] for an invalid origin, [`LogError::NotEmpty`], [`LogError::Io`].
    pub fn create(dir: impl AsRef<Path>, origin: &str) -> Result<Self, LogError> {
        note::check_key_name(origin)?;
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        if fs::read_dir(&dir).map_err(io_err(&dir))?.next().is_some() {
            return Err(LogError::NotEmpty(dir));
        }
        let lock = lock(&dir)?;
        let log = Self {
            dir,
            origin: origin.to_owned(),
            tree: Tree::new(),
            bundle: Vec::new(),
            _lock: lock,
        };
        log.write_state(0)?;
        Ok(log)
    }

    /// Opens an existing log, reading every entry and checking every tile.
    ///
    /// # Errors
    /// [`LogError::Locked`], [`LogError::Format`], [`LogError::Corrupt`], [`LogError::Io`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, LogError> {
        let dir = dir.as_ref().to_owned();
        let lock = lock(&dir)?;
        let (origin, size) = read_state(&dir)?;
        let mut log = Self {
            dir,
            origin,
            tree: Tree::new(),
            bundle: Vec::new(),
            _lock: lock,
        };
        let mut index = 0;
        while index < size {
            let width = (size - index).min(TILE_WIDTH);
            let path = log.dir.join(tile_path(None, index / TILE_WIDTH, width));
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            let entries = parse_bundle(&bytes).ok_or_else(|| LogError::Corrupt {
                path: path.clone(),
                reason: "entry bundle does not parse",
            })?;
            if entries.len() as u64 != width {
                return Err(LogError::Corrupt {
                    path,
                    reason: "entry bundle has the wrong number of entries",
                });
            }
            for entry in entries {
                log.tree.push(leaf_hash(entry));
            }
            if width < TILE_WIDTH {
                log.bundle = bytes;
            }
            index += width;
        }
        log.check_tiles()?;
        Ok(log)
    }

    /// Checks every hash tile against the tree.
    fn check_tiles(&self) -> Result<(), LogError> {
        let size = self.size();
        for level in 0..u64::BITS / TILE_HEIGHT {
            let count = size >> (level * TILE_HEIGHT);
            if count == 0 {
                break;
            }
            let mut index = 0;
            while index < count {
                let width = (count - index).min(TILE_WIDTH);
                let rel = tile_path(Some(level), index / TILE_WIDTH, width);
                let path = self.dir.join(rel);
                let bytes = fs::read(&path).map_err(io_err(&path))?;
                if bytes != self.tile_bytes(level, index, index + width) {
                    return Err(LogError::Corrupt {
                        path,
                        reason: "tile does not match the entries",
                    });
                }
                index += width;
            }
        }
        Ok(())
    }

    /// The hashes of tile `level` at positions `start..end`, concatenated.
    fn tile_bytes(&self, level: u32, start: u64, end: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0) * HASH_LEN);
        for i in start..end {
            if let Some(h) = self.tree.node(level * TILE_HEIGHT, i) {
                out.extend_from_slice(&h);
            }
        }
        out
    }

    fn write_state(&self, size: u64) -> Result<(), LogError> {
        let text = format!("{STATE_FORMAT}\n{}\n{size}\n", self.origin);
        write_atomic(&self.dir.join(STATE_FILE), text.as_bytes())
    }

    /// The log's origin, the name of its key.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The Merkle tree of the entries' hashes.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The root hash of the whole log.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Appends an entry and returns its index. The entry is durable when this returns.
    ///
    /// # Errors
    /// [`LogError::EntryTooLarge`], [`LogError::Io`]; after an error the log is unchanged.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, LogError> {
        self.append_all(&[entry])
    }

    /// Appends entries in order, committing them together, and returns the index of the
    /// first. Partial tiles are written for the final size only.
    ///
    /// # Errors
    /// [`LogError::EntryTooLarge`] (nothing is appended), [`LogError::Io`]; after an error
    /// the log is unchanged.
    pub fn append_all<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<u64, LogError> {
        if let Some(e) = entries.iter().find(|e| e.as_ref().len() > MAX_ENTRY_LEN) {
            return Err(LogError::EntryTooLarge {
                max: MAX_ENTRY_LEN,
                got: e.as_ref().len(),
            });
        }
        let first = self.size();
        for e in entries {
            self.tree.push(leaf_hash(e.as_ref()));
        }
        match self.write_append(first, entries) {
            Ok(bundle) => {
                self.bundle = bundle;
                Ok(first)
            }
            Err(e) => {
                self.tree.truncate(first);
                Err(e)
            }
        }
    }

    /// Writes the files of entries `old_size..` (already in the tree) and commits them by
    /// writing the state; returns the new last partial bundle.
    fn write_append<E: AsRef<[u8]>>(
        &self,
        old_size: u64,
        entries: &[E],
    ) -> Result<Vec<u8>, LogError> {
        let new_size = self.size();
        if new_size == old_size {
            return Ok(self.bundle.clone());
        }
        // Entry bundles from the one holding `old_size` to the one holding the last entry.
        let mut bundle = Vec::new();
        let mut next = entries.iter();
        for tile in old_size / TILE_WIDTH..=(new_size - 1) / TILE_WIDTH {
            let start = tile * TILE_WIDTH;
            let end = new_size.min(start + TILE_WIDTH);
            bundle = if start < old_size {
                self.bundle.clone()
            } else {
                Vec::new()
            };
            for _ in start.max(old_size)..end {
                let e = next.next().map(AsRef::as_ref).unwrap_or_default();
                // Lengths were checked by the caller.
                let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
                bundle.extend_from_slice(&len.to_be_bytes());
                bundle.extend_from_slice(e);
            }
            let path = self.dir.join(tile_path(None, tile, end - start));
            write_atomic(&path, &bundle)?;
        }
        // Hash tiles of every level that gained hashes.
        for level in 0..u64::BITS / TILE_HEIGHT {
            let shift = level * TILE_HEIGHT;
            let (old_count, new_count) = (old_size >> shift, new_size >> shift);
            if new_count == old_count {
                break;
            }
            for tile in old_count / TILE_WIDTH..=(new_count - 1) / TILE_WIDTH {
                let start = tile * TILE_WIDTH;
                let end = new_count.min(start + TILE_WIDTH);
                let path = self.dir.join(tile_path(Some(level), tile, end - start));
                write_atomic(&path, &self.tile_bytes(level, start, end))?;
            }
        }
        self.write_state(new_size)?;
        Ok(if new_size.is_multiple_of(TILE_WIDTH) {
            Vec::new()
        } else {
            bundle
        })
    }

    /// Reads entry `index`.
    ///
    /// # Errors
    /// [`LogError::Proof`] if there is no such entry, [`LogError::Io`], [`LogError::Corrupt`].
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LogError> {
        let size = self.size();
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size }.into());
        }
        let tile = index / TILE_WIDTH;
        let width = (size - tile * TILE_WIDTH).min(TILE_WIDTH);
        let path = self.dir.join(tile_path(None, tile, width));
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let entry = parse_bundle(&bytes)
            .and_then(|e| {
                e.get(usize::try_from(index % TILE_WIDTH).ok()?)
                    .map(|e| e.to_vec())
            })
            .filter(|e| self.tree.leaf(index) == Some(leaf_hash(e)));
        entry.ok_or(LogError::Corrupt {
            path,
            reason: "entry bundle does not match the tree",
        })
    }

    /// The inclusion proof of entry `index` in the tree of the first `size` entries.
    ///
    /// # Errors
    /// [`LogError::Proof`] if `index ≥ size` or `size` exceeds the log.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        Ok(proof::prove_inclusion(&self.tree, index, size)?)
    }

    /// The consistency proof from the tree of the first `old` entries to that of the first
    /// `new`.
    ///
    /// # Errors
    /// [`LogError::Proof`] if `old > new` or `new` exceeds the log.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        Ok(proof::prove_consistency(&self.tree, old, new)?)
    }

    /// The saved signed checkpoint, if any, and its parsed body (not verified: this is the
    /// log's own file).
    ///
    /// # Errors
    /// [`LogError::Io`], [`LogError::Checkpoint`] if the file does not parse.
    pub fn saved_checkpoint(&self) -> Result<Option<(String, Checkpoint)>, LogError> {
        let path = self.dir.join(CHECKPOINT_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let note = Note::parse(text.as_bytes()).map_err(CheckpointError::from)?;
        let body = Checkpoint::parse_text(note.text())?;
        Ok(Some((text, body)))
    }

    /// Signs a checkpoint of the whole log with the log key and saves it as `checkpoint`.
    /// Returns the signed note.
    ///
    /// The previous checkpoint must verify under the same key and match this log's history
    /// (its root is the root of the log's first entries): a log never signs a checkpoint
    /// inconsistent with one it signed before.
    ///
    /// # Errors
    /// [`LogError::OriginMismatch`] if the key is not named like the origin,
    /// [`LogError::Checkpoint`] if the saved checkpoint does not verify,
    /// [`LogError::HistoryMismatch`], [`LogError::Io`].
    pub fn checkpoint(&self, signer: &SignerKey) -> Result<String, LogError> {
        if signer.name() != self.origin {
            return Err(LogError::OriginMismatch {
                expected: self.origin.clone(),
                got: signer.name().to_owned(),
            });
        }
        if let Some((text, _)) = self.saved_checkpoint()? {
            let old = Checkpoint::open(text.as_bytes(), &signer.verifier())?;
            if self.tree.root_at(old.size) != Some(old.root) {
                return Err(LogError::HistoryMismatch { size: old.size });
            }
        }
        let signed = Checkpoint::new(&self.origin, self.size(), self.root()).sign(signer)?;
        write_atomic(&self.dir.join(CHECKPOINT_FILE), signed.as_bytes())?;
        Ok(signed)
    }

    /// Adds witness cosignature lines to the saved checkpoint (after its signatures, lines
    /// already there not repeated) and saves it; returns the cosigned note. The caller
    /// verifies the lines ([`crate::cosignature::verify_cosignatures`]): the log only
    /// stores them.
    ///
    /// # Errors
    /// [`LogError::NoCheckpoint`], [`LogError::Note`] for too many signatures,
    /// [`LogError::Checkpoint`] if the saved checkpoint does not parse, [`LogError::Io`].
    pub fn add_cosignatures(&self, lines: &[NoteSignature]) -> Result<String, LogError> {
        let (text, _) = self.saved_checkpoint()?.ok_or(LogError::NoCheckpoint)?;
        let cosigned = crate::cosignature::add_cosignatures(text.as_bytes(), lines)?;
        write_atomic(&self.dir.join(CHECKPOINT_FILE), cosigned.as_bytes())?;
        Ok(cosigned)
    }

    /// The `.tlog-proof` of entry `index` against the saved checkpoint.
    ///
    /// # Errors
    /// [`LogError::NoCheckpoint`], [`LogError::Proof`] if the checkpoint does not cover the
    /// entry, [`LogError::HistoryMismatch`] if it is not a checkpoint of this log.
    pub fn tlog_proof(&self, index: u64) -> Result<TlogProof, LogError> {
        let (text, body) = self.saved_checkpoint()?.ok_or(LogError::NoCheckpoint)?;
        if body.origin != self.origin {
            return Err(LogError::OriginMismatch {
                expected: self.origin.clone(),
                got: body.origin,
            });
        }
        if self.tree.root_at(body.size) != Some(body.root) {
            return Err(LogError::HistoryMismatch { size: body.size });
        }
        Ok(TlogProof {
            extra: None,
            index,
            proof: self.inclusion_proof(index, body.size)?,
            checkpoint: text,
        })
    }
}

fn lock(dir: &Path) -> Result<File, LogError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    // A lock held by another writer is refused, after a short wait: a process this one
    // starts holds a copy of the lock file's descriptor between its fork and its exec (the
    // descriptor closes on exec), so a log reopened just then looks locked for a moment.
    for _ in 0..LOCK_ATTEMPTS {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => std::thread::sleep(LOCK_RETRY),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
    }
    Err(LogError::Locked)
}

/// How many times a locked log is tried before [`LogError::Locked`] (about a second in all).
const LOCK_ATTEMPTS: u32 = 50;
/// The wait between two tries.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

fn read_state(dir: &Path) -> Result<(String, u64), LogError> {
    let path = dir.join(STATE_FILE);
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    let mut lines = text.split_terminator('\n');
    let format = lines.next().unwrap_or_default();
    if format != STATE_FORMAT {
        return Err(LogError::Format {
            expected: STATE_FORMAT,
            got: format.to_owned(),
        });
    }
    let corrupt = || LogError::Corrupt {
        path: path.clone(),
        reason: "expected format, origin and size lines",
    };
    let origin = lines.next().ok_or_else(corrupt)?.to_owned();
    note::check_key_name(&origin).map_err(|_| corrupt())?;
    let size = lines
        .next()
        .and_then(crate::checkpoint::parse_decimal)
        .ok_or_else(corrupt)?;
    if lines.next().is_some() || !text.ends_with('\n') {
        return Err(corrupt());
    }
    Ok((origin, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_index_paths() {
        assert_eq!(tile_index_path(0), "000");
        assert_eq!(tile_index_path(7), "007");
        assert_eq!(tile_index_path(999), "999");
        assert_eq!(tile_index_path(1000), "x001/000");
        assert_eq!(tile_index_path(1_234_067), "x001/x234/067");
        assert_eq!(
            tile_index_path(u64::MAX),
            "x018/x446/x744/x073/x709/x551/615"
        );
    }

    #[test]
    fn tile_paths() {
        assert_eq!(tile_path(Some(0), 0, 256), "tile/0/000");
        assert_eq!(tile_path(Some(1), 1234, 17), "tile/1/x001/234.p/17");
        assert_eq!(tile_path(None, 2, 88), "tile/entries/002.p/88");
    }

    #[test]
    fn bundles_parse() {
        assert_eq!(parse_bundle(&[]), Some(vec![]));
        assert_eq!(
            parse_bundle(&[0, 0, 0, 2, 7, 8]),
            Some(vec![&[][..], &[7, 8][..]])
        );
        assert_eq!(parse_bundle(&[0, 3, 1, 2]), None);
        assert_eq!(parse_bundle(&[0]), None);
    }
}
