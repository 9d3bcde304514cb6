//! The file-backed log: layout, reopening, proofs against its checkpoints, and refusal of
//! changed files and rewritten history.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use kms_tlog::checkpoint::Checkpoint;
use kms_tlog::hash::{Hash, leaf_hash};
use kms_tlog::log::{CHECKPOINT_FILE, Log, LogError, STATE_FILE, TILE_HEIGHT};
use kms_tlog::note::SignerKey;
use kms_tlog::proof::verify_inclusion;
use kms_tlog::proof_file::TlogProof;

const ORIGIN: &str = "releases.example/kms";

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("kms-tlog-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[42; 32]).unwrap()
}

fn entry(i: u64) -> Vec<u8> {
    format!("release {i}\n").into_bytes()
}

fn filled(dir: &Path, n: u64) -> Log {
    let mut log = Log::create(dir, ORIGIN).unwrap();
    if n > 0 {
        assert_eq!(log.append(&entry(0)).unwrap(), 0);
        let rest: Vec<Vec<u8>> = (1..n).map(entry).collect();
        assert_eq!(log.append_all(&rest).unwrap(), 1);
    }
    assert_eq!(log.size(), n);
    log
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes.chunks(32).map(|c| c.try_into().unwrap()).collect()
}

#[test]
fn layout_follows_tlog_tiles() {
    let dir = TempDir::new();
    let log = filled(&dir.0, 600);
    let d = &dir.0;
    for full in [
        "tile/0/000",
        "tile/0/001",
        "tile/entries/000",
        "tile/entries/001",
    ] {
        assert!(d.join(full).is_file(), "{full}");
    }
    let level0 = fs::read(d.join("tile/0/002.p/88")).unwrap();
    assert_eq!(hashes(&level0).len(), 88);
    assert_eq!(hashes(&level0)[0], leaf_hash(&entry(512)));
    let level1 = hashes(&fs::read(d.join("tile/1/000.p/2")).unwrap());
    assert_eq!(level1.len(), 2);
    assert_eq!(level1[0], log.tree().node(TILE_HEIGHT, 0).unwrap());
    assert_eq!(level1[1], log.tree().node(TILE_HEIGHT, 1).unwrap());
    // Partial tiles of earlier committed sizes stay available; sizes inside a batch were
    // never committed and have none.
    assert!(d.join("tile/0/000.p/1").is_file());
    assert!(d.join("tile/entries/000.p/1").is_file());
    assert!(!d.join("tile/0/000.p/2").exists());
    assert!(!d.join("tile/1/000.p/1").exists());
    assert!(!d.join("tile/2").exists());
    let bundle = fs::read(d.join("tile/entries/002.p/88")).unwrap();
    let first = entry(512);
    assert_eq!(&bundle[..2], &(first.len() as u16).to_be_bytes());
    assert_eq!(&bundle[2..2 + first.len()], &first[..]);
}

#[test]
fn reopen_gives_the_same_log() {
    let dir = TempDir::new();
    let root = {
        let log = filled(&dir.0, 300);
        log.root()
    };
    let mut log = Log::open(&dir.0).unwrap();
    assert_eq!(log.size(), 300);
    assert_eq!(log.root(), root);
    assert_eq!(log.origin(), ORIGIN);
    assert_eq!(log.entry(299).unwrap(), entry(299));
    assert_eq!(log.entry(7).unwrap(), entry(7));
    assert!(log.entry(300).is_err());
    log.append(&entry(300)).unwrap();
    drop(log);
    assert_eq!(Log::open(&dir.0).unwrap().size(), 301);
}

#[test]
fn batches_and_single_appends_agree() {
    let (a, b) = (TempDir::new(), TempDir::new());
    let batched = filled(&a.0, 700);
    // Batches of uneven sizes, starting and ending inside and across tiles.
    let mut single = Log::create(&b.0, ORIGIN).unwrap();
    let mut i = 0;
    for chunk in [1, 3, 250, 2, 1, 257, 1, 185].into_iter().cycle() {
        let end = (i + chunk).min(700);
        if chunk == 1 {
            single.append(&entry(i)).unwrap();
        } else {
            let batch: Vec<Vec<u8>> = (i..end).map(entry).collect();
            assert_eq!(single.append_all(&batch).unwrap(), i);
        }
        i = end;
        if i == 700 {
            break;
        }
    }
    assert_eq!(single.root(), batched.root());
    single.append_all::<Vec<u8>>(&[]).unwrap();
    drop((batched, single));
    assert_eq!(
        Log::open(&b.0).unwrap().root(),
        Log::open(&a.0).unwrap().root()
    );
}

#[test]
fn only_one_writer() {
    let dir = TempDir::new();
    let _log = filled(&dir.0, 1);
    assert!(matches!(Log::open(&dir.0), Err(LogError::Locked)));
}

#[test]
fn create_refuses_a_used_directory_and_bad_origins() {
    let dir = TempDir::new();
    drop(filled(&dir.0, 1));
    assert!(matches!(
        Log::create(&dir.0, ORIGIN),
        Err(LogError::NotEmpty(_))
    ));
    let other = TempDir::new();
    assert!(Log::create(&other.0, "has space").is_err());
    assert!(Log::create(&other.0, "a+b").is_err());
}

#[test]
fn entries_are_limited_to_u16_length() {
    let dir = TempDir::new();
    let mut log = filled(&dir.0, 0);
    assert!(log.append(&vec![0; 65_535]).is_ok());
    assert!(matches!(
        log.append(&vec![0; 65_536]),
        Err(LogError::EntryTooLarge { .. })
    ));
    assert_eq!(log.size(), 1);
    assert!(log.append(b"").is_ok());
    drop(log);
    assert_eq!(Log::open(&dir.0).unwrap().size(), 2);
}

#[test]
fn checkpoints_and_proofs_verify() {
    let dir = TempDir::new();
    let mut log = filled(&dir.0, 20);
    let k = key();
    let first = log.checkpoint(&k).unwrap();
    let c1 = Checkpoint::open(first.as_bytes(), &k.verifier()).unwrap();
    assert_eq!((c1.size, c1.root), (20, log.root()));
    let more: Vec<Vec<u8>> = (20..45).map(entry).collect();
    log.append_all(&more).unwrap();
    let second = log.checkpoint(&k).unwrap();
    assert_eq!(
        fs::read_to_string(dir.0.join(CHECKPOINT_FILE)).unwrap(),
        second
    );
    let c2 = Checkpoint::open(second.as_bytes(), &k.verifier()).unwrap();
    let proof = log.consistency_proof(20, 45).unwrap();
    c1.verify_extended_by(&c2, &proof).unwrap();
    for i in 0..45 {
        let p = log.inclusion_proof(i, 45).unwrap();
        verify_inclusion(&leaf_hash(&entry(i)), i, 45, &p, &c2.root).unwrap();
        let file = TlogProof::parse(log.tlog_proof(i).unwrap().encode().as_bytes()).unwrap();
        assert_eq!(file.verify(&entry(i), &k.verifier()).unwrap(), c2);
        assert!(file.verify(&entry(i + 1), &k.verifier()).is_err());
    }
    assert!(log.tlog_proof(45).is_err());
}

#[test]
fn checkpoint_needs_the_log_key() {
    let dir = TempDir::new();
    let log = filled(&dir.0, 3);
    let other_name = SignerKey::from_seed("other.example/log", &[1; 32]).unwrap();
    assert!(matches!(
        log.checkpoint(&other_name),
        Err(LogError::OriginMismatch { .. })
    ));
    assert!(matches!(log.tlog_proof(0), Err(LogError::NoCheckpoint)));
    log.checkpoint(&key()).unwrap();
    // Same name, different key: the saved checkpoint does not verify, so nothing is signed.
    let rotated = SignerKey::from_seed(ORIGIN, &[2; 32]).unwrap();
    assert!(matches!(
        log.checkpoint(&rotated),
        Err(LogError::Checkpoint(_))
    ));
}

#[test]
fn rewritten_history_is_refused() {
    let dir = TempDir::new();
    let log = filled(&dir.0, 10);
    let k = key();
    // A checkpoint of a different tree of the same size, as if the log had been rewritten.
    let fork = Checkpoint::new(ORIGIN, 10, leaf_hash(b"fork"))
        .sign(&k)
        .unwrap();
    fs::write(dir.0.join(CHECKPOINT_FILE), &fork).unwrap();
    assert!(matches!(
        log.checkpoint(&k),
        Err(LogError::HistoryMismatch { size: 10 })
    ));
    assert!(matches!(
        log.tlog_proof(0),
        Err(LogError::HistoryMismatch { size: 10 })
    ));
    // A checkpoint larger than the log: the log was truncated.
    let ahead = Checkpoint::new(ORIGIN, 11, log.root()).sign(&k).unwrap();
    fs::write(dir.0.join(CHECKPOINT_FILE), &ahead).unwrap();
    assert!(matches!(
        log.checkpoint(&k),
        Err(LogError::HistoryMismatch { size: 11 })
    ));
}

#[test]
fn changed_files_are_refused_on_open() {
    for (victim, at) in [
        ("tile/entries/000.p/5", 3),
        ("tile/0/000.p/5", 40),
        ("tile/entries/000", 100),
        ("tile/1/000.p/1", 0),
    ] {
        let dir = TempDir::new();
        let n = if victim.contains(".p/5") { 5 } else { 260 };
        drop(filled(&dir.0, n));
        let path = dir.0.join(victim);
        let mut bytes = fs::read(&path).unwrap();
        bytes[at] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(
            matches!(Log::open(&dir.0), Err(LogError::Corrupt { .. })),
            "{victim}"
        );
    }
}

#[test]
fn missing_files_and_bad_state_are_refused() {
    let dir = TempDir::new();
    drop(filled(&dir.0, 5));
    fs::remove_file(dir.0.join("tile/0/000.p/5")).unwrap();
    assert!(matches!(Log::open(&dir.0), Err(LogError::Io { .. })));

    let dir = TempDir::new();
    drop(filled(&dir.0, 5));
    let state = dir.0.join(STATE_FILE);
    let text = fs::read_to_string(&state).unwrap();
    fs::write(&state, text.replace("-v1", "-v2")).unwrap();
    assert!(matches!(Log::open(&dir.0), Err(LogError::Format { .. })));
    fs::write(&state, text.replace("\n5\n", "\n05\n")).unwrap();
    assert!(matches!(Log::open(&dir.0), Err(LogError::Corrupt { .. })));
    // A larger size than the files hold.
    fs::write(&state, text.replace("\n5\n", "\n6\n")).unwrap();
    assert!(Log::open(&dir.0).is_err());
}

#[test]
fn an_append_interrupted_before_its_commit_is_discarded() {
    let dir = TempDir::new();
    let state = dir.0.join(STATE_FILE);
    let mut log = filled(&dir.0, 255);
    let before = fs::read(&state).unwrap();
    assert!(!dir.0.join("tile/1").exists());
    let root = log.root();
    // The 256th entry writes full tiles and a level-1 tile; then "crash" before the commit.
    log.append(b"lost").unwrap();
    assert!(dir.0.join("tile/1/000.p/1").is_file());
    drop(log);
    fs::write(&state, &before).unwrap();
    let mut log = Log::open(&dir.0).unwrap();
    assert_eq!((log.size(), log.root()), (255, root));
    log.append(&entry(255)).unwrap();
    drop(log);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.size(), 256);
    assert_eq!(log.entry(255).unwrap(), entry(255));
}

#[test]
fn cosignatures_are_added_to_the_saved_checkpoint() {
    use kms_tlog::cosignature::{CosignerKey, verify_cosignatures};
    use kms_tlog::note::Note;
    let dir = TempDir::new();
    let mut log = filled(&dir.0, 3);
    let w = CosignerKey::from_seed("witness.example/w1", &[5; 32]).unwrap();
    assert!(matches!(
        log.add_cosignatures(&[]),
        Err(LogError::NoCheckpoint)
    ));
    let signed = log.checkpoint(&key()).unwrap();
    let text = Note::parse(signed.as_bytes()).unwrap().text().to_owned();
    let line = w.cosign(&text, 100).unwrap();
    let cosigned = log.add_cosignatures(std::slice::from_ref(&line)).unwrap();
    assert_eq!(
        fs::read_to_string(dir.0.join(CHECKPOINT_FILE)).unwrap(),
        cosigned
    );
    assert!(cosigned.starts_with(&signed));
    let note = Note::parse(cosigned.as_bytes()).unwrap();
    assert_eq!(
        verify_cosignatures(&note, &[w.verifier()]).unwrap().len(),
        1
    );
    // The log still opens its checkpoint, proves from it and signs the next one.
    assert_eq!(log.tlog_proof(2).unwrap().checkpoint, cosigned);
    log.append(&entry(3)).unwrap();
    let next = log.checkpoint(&key()).unwrap();
    assert_eq!(
        Checkpoint::open(next.as_bytes(), &key().verifier())
            .unwrap()
            .size,
        4
    );
}
