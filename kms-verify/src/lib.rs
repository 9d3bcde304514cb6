//! Release verification: the `kms-verify` binary, and the library `cargo xtask` shares.
//!
//! - [`manifest`]: the `sri-manifest.json` format (content hashes, SRI strings, canonical
//!   JSON) that `cargo xtask dist` writes.
//! - [`release`]: appending a release to the transparency log (`cargo xtask release`).
//! - [`verify`]: checking a deployment (a URL or a directory) against its manifest and the
//!   release transparency log.
//! - [`rebuild`]: rebuilding the release from its source and comparing it with the
//!   deployment.
//! - [`witness`]: collecting witness cosignatures for a new checkpoint, and the quorum check.
//! - [`monitor`]: following the log (`kms-verify monitor`).

pub mod manifest;
pub mod monitor;
pub mod rebuild;
pub mod release;
pub mod verify;
pub mod witness;

use std::path::{Path, PathBuf};

use kms_tlog::cosignature::{CosignatureError, CosignatureVerifier};
use kms_tlog::note::{NoteError, VerifierKey};

/// The verifier's command line, shared by `kms-verify` and `cargo xtask verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The enclave's URL, or a release directory (`dist/`).
    pub target: String,
    /// The release transparency log: a directory or a URL.
    #[arg(long, value_name = "DIR|URL")]
    pub log: Option<String>,
    /// The log's verifier key (a C2SP signed-note verifier key, one line).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Verify against this manifest instead of the one served beside the page.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Where the last trusted checkpoint is kept
    /// (default: `~/.local/state/kms-verify/<log>.checkpoint`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_state")]
    pub state: Option<PathBuf>,
    /// Keep no trusted checkpoint (no rollback or fork detection across runs).
    #[arg(long)]
    pub no_state: bool,
    /// Also rebuild the release in a source checkout (default: the current directory)
    /// with its own `cargo xtask dist`, and compare every hash.
    #[arg(long, value_name = "CHECKOUT", num_args = 0..=1, default_missing_value = ".")]
    pub rebuild: Option<PathBuf>,
    /// The witnesses whose cosignatures the log's checkpoint must carry.
    #[command(flatten)]
    pub witnesses: WitnessArgs,
}

/// The witnesses whose cosignatures the log's checkpoint must carry.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WitnessArgs {
    /// A witness's verifier key (C2SP cosignature/v1 vkey, type 0x04); repeat for each.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// How many of the witnesses must have cosigned (default: all of them).
    #[arg(long, value_name = "N", requires = "witnesses")]
    pub quorum: Option<usize>,
}

impl WitnessArgs {
    /// Parses the keys and checks the quorum: `(keys, quorum)`, `(vec![], 0)` when none are
    /// given.
    ///
    /// # Errors
    /// [`ArgsError::Witness`], [`ArgsError::Quorum`].
    pub fn resolve(&self) -> Result<(Vec<CosignatureVerifier>, usize), ArgsError> {
        let keys = self
            .witnesses
            .iter()
            .map(|w| {
                CosignatureVerifier::parse(w).map_err(|source| ArgsError::Witness {
                    key: w.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quorum = self.quorum.unwrap_or(keys.len());
        if quorum > keys.len() || (quorum == 0 && !keys.is_empty()) {
            return Err(ArgsError::Quorum {
                quorum,
                witnesses: keys.len(),
            });
        }
        Ok((keys, quorum))
    }
}

/// A command line resolved into what to check.
#[derive(Debug)]
pub struct Cli {
    /// What to verify, against which log.
    pub options: verify::Options,
    /// Also rebuild the release from this source checkout.
    pub rebuild: Option<PathBuf>,
}

/// Why a command line could not be resolved into what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// No `--log` was given and there is no default.
    #[error("expected --log <dir|url>")]
    MissingLog,
    /// No `--key` was given and there is no default.
    #[error("expected --key <verifier key file>")]
    MissingKey,
    /// The key or manifest file cannot be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `--witness` is not a cosignature verifier key.
    #[error("--witness {key:?}: not a witness verifier key")]
    Witness {
        /// The argument.
        key: String,
        /// Why it does not parse.
        #[source]
        source: CosignatureError,
    },
    /// The quorum is 0 or larger than the number of witnesses.
    #[error("--quorum {quorum}: expected 1 to {witnesses} (the number of --witness keys)")]
    Quorum {
        /// The quorum given.
        quorum: usize,
        /// The number of witnesses.
        witnesses: usize,
    },
    /// The key file does not hold a verifier key.
    #[error("{}: not a log verifier key", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why it does not parse.
        #[source]
        source: NoteError,
    },
}

/// A check failed: the loud failure of [`run_verify`]. Its cause says which check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failed {
    /// The deployment does not verify against its manifest and the log.
    #[error("FAILED")]
    Verify(#[source] verify::VerifyError),
    /// The rebuild from source does not reproduce the deployment.
    #[error("FAILED")]
    Rebuild(#[source] rebuild::RebuildError),
}

impl VerifyArgs {
    /// Reads the key and manifest files; `default_log` and `default_key` stand in for
    /// `--log` and `--key` when they are not given.
    ///
    /// # Errors
    /// [`ArgsError`]: a missing log or key, or an unreadable key or manifest.
    pub fn resolve(
        self,
        default_log: Option<&str>,
        default_key: Option<&Path>,
    ) -> Result<Cli, ArgsError> {
        let log = self
            .log
            .or_else(|| default_log.map(str::to_owned))
            .ok_or(ArgsError::MissingLog)?;
        let key_file = self
            .key
            .or_else(|| default_key.map(Path::to_path_buf))
            .ok_or(ArgsError::MissingKey)?;
        let log_key = read_log_key(&key_file)?;
        let (witnesses, quorum) = self.witnesses.resolve()?;
        let manifest = match self.manifest {
            Some(m) => Some(std::fs::read(&m).map_err(unreadable(&m))?),
            None => None,
        };
        let state = if self.no_state {
            None
        } else {
            self.state.or_else(|| default_state(&log_key))
        };
        Ok(Cli {
            options: verify::Options {
                target: verify::Location::parse(&self.target),
                manifest,
                log: verify::Location::parse(&log),
                log_key,
                state,
                witnesses,
                quorum,
            },
            rebuild: self.rebuild,
        })
    }
}

/// Reads a log verifier key file.
///
/// # Errors
/// [`ArgsError::Read`], [`ArgsError::Key`].
pub fn read_log_key(path: &Path) -> Result<VerifierKey, ArgsError> {
    let text = std::fs::read_to_string(path).map_err(unreadable(path))?;
    VerifierKey::parse(text.trim()).map_err(|source| ArgsError::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// [`ArgsError::Read`] for `path`.
fn unreadable(path: &Path) -> impl FnOnce(std::io::Error) -> ArgsError + '_ {
    |source| ArgsError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// `$XDG_STATE_HOME` (or `~/.local/state`) `/kms-verify/<log name>.checkpoint`.
fn default_state(key: &VerifierKey) -> Option<PathBuf> {
    default_state_file(key, "checkpoint")
}

/// `$XDG_STATE_HOME` (or `~/.local/state`) `/kms-verify/<log name>.<extension>`.
pub fn default_state_file(key: &VerifierKey, extension: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let name: String = key
        .name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(base.join("kms-verify").join(format!("{name}.{extension}")))
}

/// Runs the verification (and the rebuild, when asked), printing each check.
///
/// # Errors
/// [`Failed`], whose source is the check that failed.
pub fn run_verify(cli: &Cli) -> Result<verify::Verified, Failed> {
    if let Some(state) = &cli.options.state {
        println!("trusted checkpoint: {}", state.display());
    }
    let verified =
        verify::verify(&cli.options, &mut |line| println!("{line}")).map_err(Failed::Verify)?;
    if let Some(checkout) = &cli.rebuild {
        rebuild::rebuild(checkout, &verified.manifest).map_err(Failed::Rebuild)?;
        println!("ok  rebuilt from source: identical page and artifacts");
    }
    Ok(verified)
}
