//! Checking a deployment of the enclave against its release manifest and the release
//! transparency log.
//!
//! The chain checked, in order (each step prints one line through the caller's reporter):
//!
//! 1. the manifest is canonical and of a known format;
//! 2. the served page and every served artifact have the size, SHA-384 and SHA-256 the
//!    manifest lists, and the page pins every artifact with its SRI string;
//! 3. the log's checkpoint is signed by the log key, and the log's entries hash to its root;
//!    when witnesses are configured, at least a quorum of them cosigned it;
//! 4. an entry of the log is the release statement of exactly this manifest;
//! 5. that release's `.tlog-proof` proves the entry's inclusion under a checkpoint signed by
//!    the log key, consistent with the log's current checkpoint;
//! 6. the current checkpoint is consistent with the last one this verifier trusted (a smaller
//!    tree is a rollback, a different history a fork), and then becomes the trusted one.

use std::fs;
use std::path::{Path, PathBuf};

use kms_tlog::checkpoint::{Checkpoint, CheckpointError};
use kms_tlog::cosignature::{CosignatureError, CosignatureVerifier};
use kms_tlog::hash::leaf_hash;
use kms_tlog::log::{CHECKPOINT_FILE, TILE_WIDTH, tile_path};
use kms_tlog::note::{NoteError, VerifierKey};
use kms_tlog::proof::prove_consistency;
use kms_tlog::proof_file::{PROOF_EXTENSION, ProofFileError, TlogProof};
use kms_tlog::statement::ReleaseStatement;
use kms_tlog::tree::Tree;

use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError, PAGE_FILE, sha256_hex};

/// Directory of the log (relative to its root) holding one `.tlog-proof` per release.
pub const RELEASES_DIR: &str = "releases";
/// Largest file fetched (the wasm is about 1 MiB).
pub const MAX_FETCH: u64 = 64 << 20;

/// Why a deployment failed verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file could not be read or fetched.
    #[error("cannot read {what}: {reason}")]
    Fetch {
        /// The file or URL.
        what: String,
        /// Why.
        reason: String,
    },
    /// The manifest does not parse.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A served file is not the one in the manifest.
    #[error("MODIFIED FILE {name}: expected {expected}, got {got}")]
    Modified {
        /// The file.
        name: String,
        /// What the manifest lists.
        expected: String,
        /// What was served.
        got: String,
    },
    /// The page does not load an artifact with its integrity string.
    #[error("the page does not pin {name} with integrity {sri}")]
    NotPinned {
        /// The artifact.
        name: String,
        /// Its SRI string.
        sri: String,
    },
    /// The log key does not parse.
    #[error("log key")]
    Key(#[from] NoteError),
    /// A checkpoint is not signed by the log key or does not parse.
    #[error("checkpoint")]
    Checkpoint(#[from] CheckpointError),
    /// The log's files do not match its signed checkpoint.
    #[error("the log is corrupt: {0}")]
    LogCorrupt(String),
    /// No entry of the log names this manifest.
    #[error("MANIFEST NOT IN THE LOG: no release statement names sri-manifest sha256 {0}")]
    NotInLog(String),
    /// The release's proof file does not verify.
    #[error("release proof")]
    Proof(#[from] ProofFileError),
    /// The log is smaller than a checkpoint trusted before.
    #[error(
        "ROLLBACK: the log has {got} entries, but a checkpoint of {trusted} entries was trusted before"
    )]
    Rollback {
        /// The size trusted before.
        trusted: u64,
        /// The size served now.
        got: u64,
    },
    /// The log's history differs from the one trusted before.
    #[error("FORK: the log is not an extension of the checkpoint trusted before")]
    Fork(#[source] CheckpointError),
    /// A log entry is not a release statement.
    #[error("log entry {index} is not a release statement")]
    NotAStatement {
        /// The entry's index.
        index: u64,
    },
    /// A cosignature by a configured witness does not verify.
    #[error("witness cosignature")]
    Cosignature(#[from] CosignatureError),
    /// Fewer configured witnesses cosigned the checkpoint than the quorum.
    #[error(
        "QUORUM NOT MET: expected cosignatures by at least {needed} of the configured witnesses, got {got}"
    )]
    QuorumNotMet {
        /// The quorum.
        needed: usize,
        /// The witnesses whose cosignature verified.
        got: usize,
    },
    /// The trusted-checkpoint file cannot be written.
    #[error("cannot save the trusted checkpoint to {path}: {reason}")]
    State {
        /// The state file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Where files come from: a directory or an `http(s)://` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Dir(PathBuf),
    /// A URL; files are resolved against its directory (up to the last `/`).
    Url(String),
}

impl Location {
    /// A URL when `text` starts with `http://` or `https://`, else a directory.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("http://") || text.starts_with("https://") {
            Self::Url(text.to_owned())
        } else {
            Self::Dir(PathBuf::from(text))
        }
    }

    /// The bytes of `rel` (a `/`-separated path relative to the location).
    ///
    /// # Errors
    /// [`VerifyError::Fetch`].
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, VerifyError> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(rel);
                let fail = |reason: String| VerifyError::Fetch {
                    what: path.display().to_string(),
                    reason,
                };
                let len = fs::metadata(&path).map_err(|e| fail(e.to_string()))?.len();
                if len > MAX_FETCH {
                    return Err(fail(format!("{len} bytes, more than {MAX_FETCH}")));
                }
                fs::read(&path).map_err(|e| fail(e.to_string()))
            }
            Self::Url(url) => http_get(&format!("{}{rel}", url_dir(url))),
        }
    }

    /// The enclave page: the URL itself (what a browser loads), or `index.html`.
    ///
    /// # Errors
    /// [`VerifyError::Fetch`].
    pub fn read_page(&self) -> Result<Vec<u8>, VerifyError> {
        match self {
            Self::Dir(_) => self.read(PAGE_FILE),
            Self::Url(url) => http_get(url),
        }
    }
}

/// The directory of a URL: up to its last `/`, or the origin and `/` when it has no path.
fn url_dir(url: &str) -> String {
    let path_start = url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j));
    match (path_start, url.rfind('/')) {
        (Some(_), Some(last)) => url[..=last].to_owned(),
        _ => format!("{url}/"),
    }
}

fn http_get(url: &str) -> Result<Vec<u8>, VerifyError> {
    let fail = |reason: String| VerifyError::Fetch {
        what: url.to_owned(),
        reason,
    };
    let mut response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_FETCH)
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The deployment: the enclave page's URL or a release directory.
    pub target: Location,
    /// The manifest to check against; `None` reads `sri-manifest.json` from the target.
    pub manifest: Option<Vec<u8>>,
    /// The log directory (checkpoint, tiles, `releases/`).
    pub log: Location,
    /// The log's verifier key.
    pub log_key: VerifierKey,
    /// The file holding the last trusted checkpoint; `None` checks no history.
    pub state: Option<PathBuf>,
    /// The witnesses whose cosignatures count; empty checks none.
    pub witnesses: Vec<CosignatureVerifier>,
    /// How many of `witnesses` must have cosigned the log's checkpoint (0: no check).
    pub quorum: usize,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The manifest.
    pub manifest: Manifest,
    /// The release version of its log entry.
    pub version: String,
    /// The index of that entry.
    pub index: u64,
    /// The log's verified checkpoint.
    pub checkpoint: Checkpoint,
}

/// Runs every check; `report` receives one line per check passed.
///
/// # Errors
/// The first check that fails, as a [`VerifyError`].
pub fn verify(options: &Options, report: &mut dyn FnMut(&str)) -> Result<Verified, VerifyError> {
    // 1. The manifest.
    let manifest_bytes = match &options.manifest {
        Some(m) => m.clone(),
        None => options.target.read(MANIFEST_FILE)?,
    };
    let manifest = Manifest::parse(&manifest_bytes)?;
    let manifest_sha256 = sha256_hex(&manifest_bytes);
    report(&format!(
        "ok  manifest: canonical {} (sha256 {manifest_sha256}), source commit {}",
        manifest.format, manifest.source.commit
    ));

    // 2. The served files.
    let page = options.target.read_page()?;
    check_file(&manifest.page, &page)?;
    report(&format!(
        "ok  page {}: {}",
        manifest.page.name, manifest.page.sri
    ));
    let page_text = String::from_utf8_lossy(&page);
    for artifact in &manifest.artifacts {
        let bytes = options.target.read(&artifact.name)?;
        check_file(artifact, &bytes)?;
        if !(page_text.contains(&artifact.name) && page_text.contains(&artifact.sri)) {
            return Err(VerifyError::NotPinned {
                name: artifact.name.clone(),
                sri: artifact.sri.clone(),
            });
        }
        report(&format!(
            "ok  {} ({} bytes): {}, pinned by the page",
            artifact.name, artifact.size, artifact.sri
        ));
    }

    // 3. The log: signed checkpoint, entries that hash to its root.
    let signed = options.log.read(CHECKPOINT_FILE)?;
    let checkpoint = Checkpoint::open(&signed, &options.log_key)?;
    let entries = read_entries(&options.log, checkpoint.size)?;
    let tree = Tree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
    if tree.root() != checkpoint.root {
        return Err(VerifyError::LogCorrupt(format!(
            "the {} entries do not hash to the signed root",
            checkpoint.size
        )));
    }
    report(&format!(
        "ok  log {}: checkpoint of {} entries signed by {}, entries match its root",
        checkpoint.origin,
        checkpoint.size,
        options.log_key.name()
    ));
    if options.quorum > 0 {
        let cosigned = crate::witness::check_quorum(&signed, &options.witnesses, options.quorum)?;
        report(&format!(
            "ok  witnessed: cosigned by {} of {} configured witnesses ({}), quorum {}",
            cosigned.len(),
            options.witnesses.len(),
            cosigned.join(", "),
            options.quorum
        ));
    }

    // 4. The release statement of this manifest.
    let (index, statement) = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i as u64, ReleaseStatement::parse(e).ok()?)))
        .find(|(_, s)| s.matches_manifest(&manifest_bytes))
        .ok_or_else(|| VerifyError::NotInLog(manifest_sha256.clone()))?;
    report(&format!(
        "ok  log entry {index}: release {} names this manifest",
        statement.version
    ));

    // 5. The release's proof file, and its checkpoint against the current one.
    let proof_path = format!("{RELEASES_DIR}/{}.{PROOF_EXTENSION}", statement.version);
    let proof = TlogProof::parse(&options.log.read(&proof_path)?)?;
    let entry = entries
        .get(usize::try_from(index).unwrap_or(usize::MAX))
        .ok_or_else(|| VerifyError::LogCorrupt("entry vanished".to_owned()))?;
    if proof.index != index {
        return Err(VerifyError::LogCorrupt(format!(
            "{proof_path} proves entry {}, but the release is entry {index}",
            proof.index
        )));
    }
    let proven = proof.verify(entry, &options.log_key)?;
    extends(&tree, &proven, &checkpoint).map_err(VerifyError::Fork)?;
    report(&format!(
        "ok  {proof_path}: inclusion of entry {index} under a signed checkpoint of {} entries, consistent with the current one",
        proven.size
    ));

    // 6. History: consistency with the last trusted checkpoint, then trust this one.
    if let Some(state) = &options.state {
        match fs::read(state) {
            Ok(old) => {
                let trusted = Checkpoint::open(&old, &options.log_key)?;
                if trusted.size > checkpoint.size {
                    return Err(VerifyError::Rollback {
                        trusted: trusted.size,
                        got: checkpoint.size,
                    });
                }
                extends(&tree, &trusted, &checkpoint).map_err(VerifyError::Fork)?;
                report(&format!(
                    "ok  consistent with the checkpoint of {} entries trusted before",
                    trusted.size
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                report("ok  no checkpoint trusted before: trusting this one from now on");
            }
            Err(e) => {
                return Err(VerifyError::Fetch {
                    what: state.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
        save_state(state, &signed)?;
    }
    Ok(Verified {
        manifest,
        version: statement.version,
        index,
        checkpoint,
    })
}

fn check_file(expected: &crate::manifest::FileEntry, bytes: &[u8]) -> Result<(), VerifyError> {
    if expected.matches(bytes) {
        return Ok(());
    }
    let got = crate::manifest::FileEntry::of(&expected.name, bytes);
    Err(VerifyError::Modified {
        name: expected.name.clone(),
        expected: format!("{} bytes, {}", expected.size, expected.sri),
        got: format!("{} bytes, {}", got.size, got.sri),
    })
}

/// `newer` extends `older`, with the consistency proof taken from the verified tree.
pub(crate) fn extends(
    tree: &Tree,
    older: &Checkpoint,
    newer: &Checkpoint,
) -> Result<(), CheckpointError> {
    let proof = prove_consistency(tree, older.size.min(newer.size), newer.size)
        .map_err(CheckpointError::Inconsistent)?;
    older.verify_extended_by(newer, &proof)
}

/// Every entry of the first `size`, read from the log's entry bundles.
pub(crate) fn read_entries(log: &Location, size: u64) -> Result<Vec<Vec<u8>>, VerifyError> {
    let mut entries = Vec::new();
    let mut start = 0;
    while start < size {
        let width = (size - start).min(TILE_WIDTH);
        let path = tile_path(None, start / TILE_WIDTH, width);
        let bundle = log.read(&path)?;
        let parsed = split_bundle(&bundle)
            .filter(|e| e.len() as u64 == width)
            .ok_or_else(|| VerifyError::LogCorrupt(format!("{path} does not parse")))?;
        entries.extend(parsed);
        start += width;
    }
    Ok(entries)
}

/// An entry bundle (`tlog-tiles`): entries, each prefixed by its big-endian `u16` length.
fn split_bundle(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = bytes {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        out.push(rest.get(..len)?.to_vec());
        bytes = rest.get(len..)?;
    }
    bytes.is_empty().then_some(out)
}

pub(crate) fn save_state(path: &Path, signed: &[u8]) -> Result<(), VerifyError> {
    let fail = |e: std::io::Error| VerifyError::State {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, signed).map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::manifest::{FileEntry, MANIFEST_FORMAT, Source, Toolchain};
    use crate::release::append_release;
    use kms_tlog::note::SignerKey;
    use std::sync::atomic::{AtomicU32, Ordering};

    const ORIGIN: &str = "example.org/kms-releases";

    pub(crate) fn temp_dir(what: &str) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "kms-verify-test-{}-{what}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// A release directory of two artifacts and a page pinning them; returns its manifest.
    pub(crate) fn deployment(dir: &Path, wasm: &[u8]) -> Vec<u8> {
        let artifacts = vec![
            FileEntry::of("kms-1.wasm", wasm),
            FileEntry::of("kms-2.js", b"export {}"),
        ];
        let page = format!(
            "<meta content=\"kms-1.wasm\" data-integrity=\"{}\"><script src=\"kms-2.js\" integrity=\"{}\"></script>",
            artifacts[0].sri, artifacts[1].sri
        );
        fs::write(dir.join("kms-1.wasm"), wasm).unwrap();
        fs::write(dir.join("kms-2.js"), b"export {}").unwrap();
        fs::write(dir.join(PAGE_FILE), &page).unwrap();
        let manifest = Manifest {
            artifacts,
            csp_script_hashes: vec![],
            format: MANIFEST_FORMAT.to_owned(),
            page: FileEntry::of(PAGE_FILE, page.as_bytes()),
            source: Source {
                commit: "c".repeat(40),
                inputs: vec![],
            },
            toolchain: Toolchain {
                rustc: "rustc 1.95.0".to_owned(),
                wasm_bindgen: "0.2.130".to_owned(),
            },
        }
        .to_canonical_json()
        .unwrap();
        fs::write(dir.join(MANIFEST_FILE), &manifest).unwrap();
        manifest
    }

    pub(crate) fn options(site: &Path, log: &Path, key: &SignerKey, state: &Path) -> Options {
        Options {
            target: Location::Dir(site.to_owned()),
            manifest: None,
            log: Location::Dir(log.to_owned()),
            log_key: key.verifier(),
            state: Some(state.to_owned()),
            witnesses: vec![],
            quorum: 0,
        }
    }

    pub(crate) fn key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, &[9; 32]).unwrap()
    }

    #[test]
    fn a_good_deployment_verifies_and_its_checkpoint_is_trusted() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let key = key();
        let old = deployment(&site, b"old wasm");
        append_release(&log, &key, "0.0.9", &old).unwrap();
        let manifest = deployment(&site, b"\0asm");
        let appended = append_release(&log, &key, "0.1.0", &manifest).unwrap();
        assert_eq!((appended.index, appended.size), (1, 2));
        let state = state.join("trusted");
        let mut lines = Vec::new();
        let v = verify(&options(&site, &log, &key, &state), &mut |l| {
            lines.push(l.to_owned())
        })
        .unwrap();
        assert_eq!(
            (v.version.as_str(), v.index, v.checkpoint.size),
            ("0.1.0", 1, 2)
        );
        assert!(lines.iter().all(|l| l.starts_with("ok  ")), "{lines:?}");
        assert!(state.exists());
        // Again, now with history.
        verify(&options(&site, &log, &key, &state), &mut |_| {}).unwrap();
        // The same version twice is refused.
        assert!(append_release(&log, &key, "0.1.0", &manifest).is_err());
    }

    #[test]
    fn a_modified_artifact_fails() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let manifest = deployment(&site, b"\0asm");
        append_release(&log, &key(), "0.1.0", &manifest).unwrap();
        fs::write(site.join("kms-1.wasm"), b"\0asN").unwrap();
        let err = verify(&options(&site, &log, &key(), &state.join("t")), &mut |_| {});
        assert!(
            matches!(&err, Err(VerifyError::Modified { name, .. }) if name == "kms-1.wasm"),
            "{err:?}"
        );
        assert!(err.unwrap_err().to_string().starts_with("MODIFIED FILE"));
    }

    #[test]
    fn a_manifest_not_in_the_log_fails() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let logged = deployment(&site, b"logged");
        append_release(&log, &key(), "0.1.0", &logged).unwrap();
        deployment(&site, b"never released");
        let err = verify(&options(&site, &log, &key(), &state.join("t")), &mut |_| {});
        assert!(matches!(err, Err(VerifyError::NotInLog(_))), "{err:?}");
    }

    #[test]
    fn a_log_signed_by_another_key_fails() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let manifest = deployment(&site, b"\0asm");
        let other = SignerKey::from_seed(ORIGIN, &[1; 32]).unwrap();
        append_release(&log, &other, "0.1.0", &manifest).unwrap();
        let err = verify(&options(&site, &log, &key(), &state.join("t")), &mut |_| {});
        assert!(matches!(err, Err(VerifyError::Checkpoint(_))), "{err:?}");
    }

    #[test]
    fn a_forked_log_fails_loudly() {
        let (site, state) = (temp_dir("site"), temp_dir("state"));
        let (honest, fork) = (temp_dir("honest"), temp_dir("fork"));
        let state = state.join("t");
        let key = key();
        let first = deployment(&site, b"first");
        append_release(&honest, &key, "0.1.0", &first).unwrap();
        verify(&options(&site, &honest, &key, &state), &mut |_| {}).unwrap();
        // The same key signs another history: a different entry 0, then this release.
        let other = deployment(&site, b"other");
        append_release(&fork, &key, "0.0.1", &other).unwrap();
        append_release(&fork, &key, "0.1.0", &first).unwrap();
        deployment(&site, b"first");
        let err = verify(&options(&site, &fork, &key, &state), &mut |_| {});
        assert!(matches!(err, Err(VerifyError::Fork(_))), "{err:?}");
        assert!(err.unwrap_err().to_string().starts_with("FORK"));
    }

    #[test]
    fn a_rolled_back_log_fails_loudly() {
        let (site, state) = (temp_dir("site"), temp_dir("state"));
        let (old, new) = (temp_dir("old"), temp_dir("new"));
        let state = state.join("t");
        let key = key();
        let first = deployment(&site, b"first");
        append_release(&old, &key, "0.1.0", &first).unwrap();
        append_release(&new, &key, "0.1.0", &first).unwrap();
        let second = deployment(&site, b"second");
        append_release(&new, &key, "0.2.0", &second).unwrap();
        verify(&options(&site, &new, &key, &state), &mut |_| {}).unwrap();
        deployment(&site, b"first");
        let err = verify(&options(&site, &old, &key, &state), &mut |_| {});
        assert!(
            matches!(err, Err(VerifyError::Rollback { trusted: 2, got: 1 })),
            "{err:?}"
        );
    }

    /// Serves `dir` over plain HTTP on a loopback port (each request in turn); returns the
    /// base URL.
    fn serve(dir: PathBuf) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = line
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/');
                let path = if path.is_empty() { PAGE_FILE } else { path };
                let (status, body) = match fs::read(dir.join(path)) {
                    Ok(b) => ("200 OK", b),
                    Err(_) => ("404 Not Found", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        format!("http://127.0.0.1:{port}/")
    }

    #[test]
    fn a_deployment_and_log_served_over_http_verify() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let manifest = deployment(&site, b"\0asm");
        append_release(&log, &key(), "0.1.0", &manifest).unwrap();
        let options = Options {
            target: Location::parse(&serve(site.clone())),
            manifest: None,
            log: Location::parse(&serve(log)),
            log_key: key().verifier(),
            state: Some(state.join("t")),
            witnesses: vec![],
            quorum: 0,
        };
        assert!(matches!(options.target, Location::Url(_)));
        verify(&options, &mut |_| {}).unwrap();
        fs::write(site.join(PAGE_FILE), b"<html>").unwrap();
        let err = verify(&options, &mut |_| {});
        assert!(
            matches!(&err, Err(VerifyError::Modified { name, .. }) if name == PAGE_FILE),
            "{err:?}"
        );
    }

    #[test]
    fn files_resolve_against_the_url_directory() {
        assert_eq!(url_dir("http://a:1"), "http://a:1/");
        assert_eq!(url_dir("http://a:1/"), "http://a:1/");
        assert_eq!(url_dir("https://a/x/index.html"), "https://a/x/");
        assert_eq!(url_dir("https://a/x/"), "https://a/x/");
    }

    #[test]
    fn bundles_split_and_refuse_truncation() {
        assert_eq!(
            split_bundle(&[0, 1, b'a', 0, 0]).unwrap(),
            vec![b"a".to_vec(), vec![]]
        );
        assert!(split_bundle(&[0, 2, b'a']).is_none());
    }
}
