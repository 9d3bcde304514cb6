//! `cargo xtask release`: appends the committed `sri-manifest.json` to the release
//! transparency log in `transparency/log`, signs a new checkpoint and writes
//! `transparency/log/releases/<version>.tlog-proof`.
//!
//! The log's signing key is never in the repository: it comes from `--key-file FILE` or the
//! `KMS_LOG_SIGNER_KEY` environment variable. Its public half is `transparency/log.pub`.
//! `cargo xtask release keygen <name> <file>` makes a new key (for a new log or for tests).
//! The release runs `cargo xtask dist --check` first (`--no-check` skips it), so only a
//! manifest this checkout reproduces is logged. Other flags: `--version V` (default: the
//! workspace version), `--log DIR`, `--pub FILE`.
//!
//! With `--witness '<vkey> <url>'` (repeated) the new checkpoint is sent to those witnesses
//! (C2SP tlog-witness) and saved with their cosignatures; fewer than `--quorum N` (default:
//! all) fails the release after the entry is logged, and `cargo xtask release cosign
//! --witness …` asks again for the log's current checkpoint. Without `--witness` nothing is
//! sent.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use kms_tlog::note::SignerKey;
use kms_verify::manifest::MANIFEST_FILE;
use kms_verify::release::append_release;
use kms_verify::witness::{WitnessEndpoint, cosign_log};

use crate::cmd::root;

/// The log directory, relative to the workspace.
pub(crate) const LOG_DIR: &str = "transparency/log";
/// The log's verifier key, relative to the workspace.
pub(crate) const LOG_KEY: &str = "transparency/log.pub";
/// Environment variable holding the signer key string, when no `--key-file` is given.
const KEY_ENV: &str = "KMS_LOG_SIGNER_KEY";

/// `cargo xtask release`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    keygen: Option<Command>,
    /// The log's signer key file (else `KMS_LOG_SIGNER_KEY`).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// The release version (default: the workspace version).
    #[arg(long)]
    version: Option<String>,
    /// The log directory (default: `transparency/log`).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// The log's verifier key file (default: `transparency/log.pub`).
    #[arg(long = "pub", value_name = "FILE")]
    pub_file: Option<PathBuf>,
    /// Skip `cargo xtask dist --check` before logging.
    #[arg(long)]
    no_check: bool,
    #[command(flatten)]
    witnesses: WitnessArgs,
}

/// The witnesses asked to cosign the new checkpoint.
#[derive(Debug, Clone, clap::Args)]
struct WitnessArgs {
    /// A witness: its verifier key and submission URL, `'<vkey> <url>'`; repeat for each.
    #[arg(long = "witness", value_name = "VKEY URL")]
    witnesses: Vec<String>,
    /// How many witnesses must cosign (default: all of them).
    #[arg(long, value_name = "N", requires = "witnesses")]
    quorum: Option<usize>,
}

/// `cargo xtask release <command>`.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a new signer key to FILE (owner-only) and print its verifier key.
    Keygen {
        /// The log's name (the checkpoint origin line).
        name: String,
        /// Where to write the signer key.
        file: PathBuf,
    },
    /// Ask witnesses to cosign the log's current checkpoint and save their cosignatures.
    Cosign {
        /// The log directory (default: `transparency/log`).
        #[arg(long, value_name = "DIR")]
        log: Option<PathBuf>,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
}

pub(crate) fn run(args: &Args) -> Result<()> {
    match &args.keygen {
        Some(Command::Keygen { name, file }) => return keygen(name, file),
        Some(Command::Cosign { log, witnesses }) => {
            let log_dir = log.clone().unwrap_or_else(|| root().join(LOG_DIR));
            if witnesses.witnesses.is_empty() {
                bail!("expected at least one --witness '<vkey> <url>'");
            }
            return cosign(&log_dir, witnesses, 0);
        }
        None => {}
    }
    // Parsed before anything is logged, so a mistyped witness stops the release early.
    witness_endpoints(&args.witnesses)?;
    let key_file = args.key_file.clone();
    let version = args
        .version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let log_dir = args.log.clone().unwrap_or_else(|| root().join(LOG_DIR));
    let pub_file = args
        .pub_file
        .clone()
        .unwrap_or_else(|| root().join(LOG_KEY));
    let check = !args.no_check;
    let key_text = match key_file {
        Some(f) => std::fs::read_to_string(&f)
            .with_context(|| format!("reading the log key {}", f.display()))?,
        None => std::env::var(KEY_ENV)
            .with_context(|| format!("give the log key with --key-file FILE or {KEY_ENV}"))?,
    };
    let signer = SignerKey::parse(key_text.trim()).context("log key")?;
    let verifier = signer.verifier().to_string();
    match std::fs::read_to_string(&pub_file) {
        Ok(existing) if existing.trim() != verifier => {
            bail!(
                "the key is not the log's: {} holds {}",
                pub_file.display(),
                existing.trim()
            );
        }
        Ok(_) => {}
        Err(_) => {
            if let Some(parent) = pub_file.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&pub_file, format!("{verifier}\n"))
                .with_context(|| format!("writing {}", pub_file.display()))?;
            println!("release: wrote the verifier key {}", pub_file.display());
        }
    }
    if check {
        // Only a manifest that this checkout reproduces, byte for byte, is logged.
        super::dist::run(&super::dist::Args::check())?;
    }
    let manifest = std::fs::read(root().join(MANIFEST_FILE))
        .with_context(|| format!("reading {MANIFEST_FILE} (run `cargo xtask dist` first)"))?;
    let appended = append_release(&log_dir, &signer, &version, &manifest).with_context(|| {
        format!(
            "appending release {version} to the log in {}",
            log_dir.display()
        )
    })?;
    println!(
        "release: {version} is entry {} of {} in {}; proof {}",
        appended.index,
        appended.size,
        log_dir.display(),
        appended.proof_path.display()
    );
    if !args.witnesses.witnesses.is_empty() {
        cosign(&log_dir, &args.witnesses, appended.size.saturating_sub(1))
            .context("the release is logged; retry with `cargo xtask release cosign`")?;
    }
    Ok(())
}

fn witness_endpoints(args: &WitnessArgs) -> Result<(Vec<WitnessEndpoint>, usize)> {
    let endpoints = args
        .witnesses
        .iter()
        .map(|w| WitnessEndpoint::parse(w))
        .collect::<Result<Vec<_>, _>>()?;
    let quorum = args.quorum.unwrap_or(endpoints.len());
    if quorum > endpoints.len() || (quorum == 0 && !endpoints.is_empty()) {
        bail!(
            "--quorum {quorum}: expected 1 to {} (the number of --witness)",
            endpoints.len()
        );
    }
    Ok((endpoints, quorum))
}

/// Collects cosignatures on the log's checkpoint (first assuming each witness holds
/// `old_size`) and saves them; fails below the quorum.
fn cosign(log_dir: &std::path::Path, args: &WitnessArgs, old_size: u64) -> Result<()> {
    let (endpoints, quorum) = witness_endpoints(args)?;
    let collected = cosign_log(log_dir, &endpoints, old_size)
        .with_context(|| format!("collecting cosignatures for {}", log_dir.display()))?;
    for name in &collected.cosigned {
        println!("release: cosigned by {name}");
    }
    for (name, why) in &collected.failures {
        println!("release: NOT cosigned by {name}: {}", error_chain(why));
    }
    if collected.cosigned.len() < quorum {
        bail!(
            "cosigned by {} of {} witnesses, quorum {quorum}",
            collected.cosigned.len(),
            endpoints.len()
        );
    }
    Ok(())
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `keygen <name> <file>`: writes a new signer key to `file` (owner-only) and prints the
/// verifier key.
fn keygen(name: &str, file: &std::path::Path) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).context("randomness")?;
    let signer = SignerKey::from_seed(name, &seed).context("making the signer key")?;
    seed.fill(0);
    write_private(file, &signer.dangerous_encode())?;
    println!("{}", signer.verifier());
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(format!("{text}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
