//! Following the release log: `kms-verify monitor`.
//!
//! A monitor keeps the last checkpoint it verified in a state file (the signed note,
//! verbatim). Each pass reads the log's checkpoint and checks, loudly failing otherwise:
//!
//! 1. it is signed by the configured log key (another key is an unexpected key);
//! 2. when witnesses are configured, a quorum of them cosigned it;
//! 3. it is not smaller than the stored one (a rollback);
//! 4. the log's entries hash to its root, and their first entries to the stored
//!    checkpoint's root (otherwise the log forked);
//! 5. every new entry is a release statement, which is reported (version and manifest hash).
//!
//! Only then does the new checkpoint replace the stored one.

use std::fs;
use std::path::PathBuf;

use base64ct::{Base64, Encoding};
use kms_tlog::checkpoint::Checkpoint;
use kms_tlog::cosignature::CosignatureVerifier;
use kms_tlog::hash::leaf_hash;
use kms_tlog::log::CHECKPOINT_FILE;
use kms_tlog::note::VerifierKey;
use kms_tlog::statement::ReleaseStatement;
use kms_tlog::tree::Tree;

use crate::verify::{Location, VerifyError, extends, read_entries, save_state};

/// What to follow.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// The log: a directory or a URL.
    pub log: Location,
    /// The log's verifier key.
    pub log_key: VerifierKey,
    /// The file holding the last checkpoint this monitor verified.
    pub state: PathBuf,
    /// The witnesses whose cosignatures count; empty checks none.
    pub witnesses: Vec<CosignatureVerifier>,
    /// How many of `witnesses` must have cosigned (0: no check).
    pub quorum: usize,
}

/// A new release found in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its entry index.
    pub index: u64,
    /// Its statement.
    pub statement: ReleaseStatement,
}

/// What one pass established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The size of the checkpoint stored before (0 on the first pass).
    pub previous_size: u64,
    /// The log's checkpoint, now stored.
    pub checkpoint: Checkpoint,
    /// The releases appended since the stored checkpoint.
    pub releases: Vec<Release>,
}

/// One pass over the log; `report` receives one line per new release and one summary.
///
/// # Errors
/// [`VerifyError::Checkpoint`] for a checkpoint (or stored state) not signed by the log key,
/// [`VerifyError::QuorumNotMet`], [`VerifyError::Rollback`], [`VerifyError::Fork`],
/// [`VerifyError::LogCorrupt`], [`VerifyError::NotAStatement`], [`VerifyError::Fetch`],
/// [`VerifyError::State`]. The stored checkpoint is then unchanged.
pub fn monitor_once(
    options: &MonitorOptions,
    report: &mut dyn FnMut(&str),
) -> Result<Observed, VerifyError> {
    let signed = options.log.read(CHECKPOINT_FILE)?;
    let checkpoint = Checkpoint::open(&signed, &options.log_key)?;
    if options.quorum > 0 {
        crate::witness::check_quorum(&signed, &options.witnesses, options.quorum)?;
    }
    let trusted = match fs::read(&options.state) {
        Ok(old) => Some(Checkpoint::open(&old, &options.log_key)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(VerifyError::Fetch {
                what: options.state.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let previous_size = trusted.as_ref().map_or(0, |t| t.size);
    if previous_size > checkpoint.size {
        return Err(VerifyError::Rollback {
            trusted: previous_size,
            got: checkpoint.size,
        });
    }
    let entries = read_entries(&options.log, checkpoint.size)?;
    let tree = Tree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
    if tree.root() != checkpoint.root {
        return Err(VerifyError::LogCorrupt(format!(
            "the {} entries do not hash to the signed root",
            checkpoint.size
        )));
    }
    if let Some(trusted) = &trusted {
        extends(&tree, trusted, &checkpoint).map_err(VerifyError::Fork)?;
    }
    let mut releases = Vec::new();
    for (index, entry) in (previous_size..).zip(entries.iter().skip(to_usize(previous_size))) {
        let statement =
            ReleaseStatement::parse(entry).map_err(|_| VerifyError::NotAStatement { index })?;
        report(&format!(
            "release {}: entry {index}, sri-manifest sha256-{}",
            statement.version,
            Base64::encode_string(&statement.manifest_sha256)
        ));
        releases.push(Release { index, statement });
    }
    save_state(&options.state, &signed)?;
    report(&format!(
        "ok  log {}: {} entries, consistent with the {} verified before",
        checkpoint.origin, checkpoint.size, previous_size
    ));
    Ok(Observed {
        previous_size,
        checkpoint,
        releases,
    })
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tests::temp_dir;
    use kms_tlog::log::Log;
    use kms_tlog::note::SignerKey;

    const ORIGIN: &str = "example.org/kms-releases";

    fn key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, &[9; 32]).unwrap()
    }

    fn statement(version: &str) -> Vec<u8> {
        ReleaseStatement::for_manifest(version, version.as_bytes())
            .encode()
            .unwrap()
    }

    /// Appends releases and signs a checkpoint.
    fn release(log: &mut Log, versions: &[&str]) {
        for v in versions {
            log.append(&statement(v)).unwrap();
        }
        log.checkpoint(&key()).unwrap();
    }

    fn options(log: &std::path::Path, state: &std::path::Path) -> MonitorOptions {
        MonitorOptions {
            log: Location::Dir(log.to_owned()),
            log_key: key().verifier(),
            state: state.to_owned(),
            witnesses: vec![],
            quorum: 0,
        }
    }

    fn versions(o: &Observed) -> Vec<&str> {
        o.releases
            .iter()
            .map(|r| r.statement.version.as_str())
            .collect()
    }

    #[test]
    fn follows_a_growing_log_and_reports_each_release_once() {
        let (dir, state) = (temp_dir("log"), temp_dir("state").join("m"));
        let mut log = Log::create(&dir, ORIGIN).unwrap();
        release(&mut log, &["0.1.0", "0.2.0"]);
        let mut lines = Vec::new();
        let first =
            monitor_once(&options(&dir, &state), &mut |l| lines.push(l.to_owned())).unwrap();
        assert_eq!(versions(&first), ["0.1.0", "0.2.0"]);
        assert_eq!((first.previous_size, first.checkpoint.size), (0, 2));
        let sha = Base64::encode_string(
            &ReleaseStatement::for_manifest("0.1.0", b"0.1.0").manifest_sha256,
        );
        assert_eq!(
            lines[0],
            format!("release 0.1.0: entry 0, sri-manifest sha256-{sha}")
        );
        // Nothing new: nothing reported.
        let again = monitor_once(&options(&dir, &state), &mut |_| {}).unwrap();
        assert!(again.releases.is_empty());
        release(&mut log, &["0.3.0"]);
        let third = monitor_once(&options(&dir, &state), &mut |_| {}).unwrap();
        assert_eq!(versions(&third), ["0.3.0"]);
        assert_eq!(third.releases[0].index, 2);
        assert_eq!(third.previous_size, 2);
    }

    #[test]
    fn a_forked_log_fails_and_keeps_the_state() {
        let (honest, fork, state) = (
            temp_dir("honest"),
            temp_dir("fork"),
            temp_dir("state").join("m"),
        );
        let mut h = Log::create(&honest, ORIGIN).unwrap();
        release(&mut h, &["0.1.0", "0.2.0"]);
        monitor_once(&options(&honest, &state), &mut |_| {}).unwrap();
        let stored = fs::read(&state).unwrap();
        // The same key signs another history that is longer.
        let mut f = Log::create(&fork, ORIGIN).unwrap();
        release(&mut f, &["0.1.0", "0.2.0-evil", "0.3.0"]);
        let err = monitor_once(&options(&fork, &state), &mut |_| {});
        assert!(matches!(err, Err(VerifyError::Fork(_))), "{err:?}");
        // And another history of the same size.
        let same = temp_dir("same");
        let mut s = Log::create(&same, ORIGIN).unwrap();
        release(&mut s, &["0.1.0", "0.2.1"]);
        let err = monitor_once(&options(&same, &state), &mut |_| {});
        assert!(matches!(err, Err(VerifyError::Fork(_))), "{err:?}");
        assert_eq!(fs::read(&state).unwrap(), stored);
        // The honest log still passes.
        release(&mut h, &["0.3.0"]);
        assert_eq!(
            versions(&monitor_once(&options(&honest, &state), &mut |_| {}).unwrap()),
            ["0.3.0"]
        );
    }

    #[test]
    fn a_rollback_fails() {
        let (small, big, state) = (
            temp_dir("small"),
            temp_dir("big"),
            temp_dir("state").join("m"),
        );
        let mut b = Log::create(&big, ORIGIN).unwrap();
        release(&mut b, &["0.1.0", "0.2.0"]);
        let mut s = Log::create(&small, ORIGIN).unwrap();
        release(&mut s, &["0.1.0"]);
        monitor_once(&options(&big, &state), &mut |_| {}).unwrap();
        let err = monitor_once(&options(&small, &state), &mut |_| {});
        assert!(
            matches!(err, Err(VerifyError::Rollback { trusted: 2, got: 1 })),
            "{err:?}"
        );
    }

    #[test]
    fn an_unexpected_key_fails() {
        let (dir, state) = (temp_dir("log"), temp_dir("state").join("m"));
        let mut log = Log::create(&dir, ORIGIN).unwrap();
        log.append(&statement("0.1.0")).unwrap();
        let other = SignerKey::from_seed(ORIGIN, &[1; 32]).unwrap();
        log.checkpoint(&other).unwrap();
        let err = monitor_once(&options(&dir, &state), &mut |_| {});
        assert!(matches!(err, Err(VerifyError::Checkpoint(_))), "{err:?}");
        assert!(!state.exists());
    }

    #[test]
    fn an_entry_that_is_not_a_release_statement_fails() {
        let (dir, state) = (temp_dir("log"), temp_dir("state").join("m"));
        let mut log = Log::create(&dir, ORIGIN).unwrap();
        release(&mut log, &["0.1.0"]);
        log.append(b"something else\n").unwrap();
        log.checkpoint(&key()).unwrap();
        let err = monitor_once(&options(&dir, &state), &mut |_| {});
        assert!(
            matches!(err, Err(VerifyError::NotAStatement { index: 1 })),
            "{err:?}"
        );
    }
}
