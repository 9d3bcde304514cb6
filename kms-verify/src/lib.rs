//! Release verification: the `kms-verify` binary, and the library `cargo xtask` shares.
//!
//! - [`manifest`]: the `sri-manifest.json` format (content hashes, SRI strings, canonical
//!   JSON) that `cargo xtask dist` writes.
//! - [`release`]: appending a release to the transparency log (`cargo xtask release`).
//! - [`verify`]: checking a deployment (a URL or a directory) against its manifest and the
//!   release transparency log.
//! - [`rebuild`]: rebuilding the release from its source and comparing it with the
//!   deployment.

pub mod manifest;
pub mod rebuild;
pub mod release;
pub mod verify;

use std::path::PathBuf;

use kms_tlog::note::VerifierKey;

/// A parsed `kms-verify` command line.
#[derive(Debug)]
pub struct Cli {
    /// What to verify, against which log.
    pub options: verify::Options,
    /// `--rebuild DIR`: also rebuild the release from the source checkout `DIR`.
    pub rebuild: Option<PathBuf>,
}

/// The command line shared by `kms-verify` and `cargo xtask verify`:
/// `<enclave-url | dist-dir> [--log DIR|URL] [--key FILE] [--manifest FILE]
/// [--state FILE | --no-state] [--rebuild DIR]`.
///
/// # Errors
/// A message for an unknown flag, a missing value, a missing target, or an unreadable key
/// or manifest.
pub fn parse_verify_args(
    args: &[String],
    default_log: Option<&str>,
    default_key: Option<&str>,
) -> Result<Cli, String> {
    let mut target = None;
    let (mut log, mut key) = (
        default_log.map(str::to_owned),
        default_key.map(str::to_owned),
    );
    let (mut manifest, mut state, mut no_state) = (None, None, false);
    let mut rebuild = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--log" => log = Some(value("--log")?),
            "--key" => key = Some(value("--key")?),
            "--manifest" => manifest = Some(value("--manifest")?),
            "--state" => state = Some(PathBuf::from(value("--state")?)),
            "--no-state" => no_state = true,
            "--rebuild" => rebuild = Some(PathBuf::from(value("--rebuild")?)),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            t if target.is_none() => target = Some(t.to_owned()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let target = target.ok_or("expected the enclave URL or a release directory")?;
    let log = log.ok_or("expected --log <dir|url>")?;
    let key_file = key.ok_or("expected --key <verifier key file>")?;
    let key_text =
        std::fs::read_to_string(&key_file).map_err(|e| format!("reading {key_file}: {e}"))?;
    let log_key = VerifierKey::parse(key_text.trim()).map_err(|e| format!("{key_file}: {e}"))?;
    let manifest = match manifest {
        Some(m) => Some(std::fs::read(&m).map_err(|e| format!("reading {m}: {e}"))?),
        None => None,
    };
    let state = if no_state {
        None
    } else {
        state.or_else(|| default_state(&log_key))
    };
    Ok(Cli {
        options: verify::Options {
            target: verify::Location::parse(&target),
            manifest,
            log: verify::Location::parse(&log),
            log_key,
            state,
        },
        rebuild,
    })
}

/// `$XDG_STATE_HOME` (or `~/.local/state`) `/kms-verify/<log name>.checkpoint`.
fn default_state(key: &VerifierKey) -> Option<PathBuf> {
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
    Some(base.join("kms-verify").join(format!("{name}.checkpoint")))
}

/// Runs the verification (and the rebuild, when asked), printing each check; the error is
/// the loud failure message.
///
/// # Errors
/// The failed check, prefixed with `FAILED:`.
pub fn run_verify(cli: &Cli) -> Result<verify::Verified, String> {
    if let Some(state) = &cli.options.state {
        println!("trusted checkpoint: {}", state.display());
    }
    let verified = verify::verify(&cli.options, &mut |line| println!("{line}"))
        .map_err(|e| format!("FAILED: {e}"))?;
    if let Some(checkout) = &cli.rebuild {
        rebuild::rebuild(checkout, &verified.manifest).map_err(|e| format!("FAILED: {e}"))?;
        println!("ok  rebuilt from source: identical page and artifacts");
    }
    Ok(verified)
}
