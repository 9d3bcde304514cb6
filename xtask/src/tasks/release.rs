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

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use kms_tlog::note::SignerKey;
use kms_verify::manifest::MANIFEST_FILE;
use kms_verify::release::append_release;

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
}

pub(crate) fn run(args: &Args) -> Result<()> {
    if let Some(Command::Keygen { name, file }) = &args.keygen {
        return keygen(name, file);
    }
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
    Ok(())
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
