//! `kms-witness`: a C2SP tlog-witness for the release transparency log.
//!
//! ```text
//! kms-witness serve --state DIR --key FILE --log ORIGIN=VKEY [--log …] [--listen ADDR]
//! kms-witness keygen NAME
//! ```
//!
//! `serve` answers `POST /add-checkpoint`. `--key` is a file holding the witness's signer
//! key (`PRIVATE+KEY+…`, type `0x04`); each `--log` names a log and its verifier key (the
//! key's name must be the origin). `keygen` prints a new signer key and its verifier key,
//! one per line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use kms_tlog::cosignature::CosignerKey;
use kms_tlog::note::VerifierKey;
use kms_witness::state::StateDir;
use kms_witness::witness::Witness;

/// A C2SP tlog-witness for the release transparency log.
#[derive(Parser)]
#[command(name = "kms-witness", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves `POST /add-checkpoint`.
    Serve {
        /// The state directory (one file per log).
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// The file holding the witness's signer key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// A log to witness: its origin and verifier key.
        #[arg(long = "log", value_name = "ORIGIN=VKEY", required = true)]
        logs: Vec<String>,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
    },
    /// Prints a new signer key and its verifier key.
    Keygen {
        /// The witness's name, for example `witness.example/w1`.
        name: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms-witness: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen { name } => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).context("randomness")?;
            let key = CosignerKey::from_seed(&name, &seed)?;
            println!("{}", key.dangerous_encode());
            println!("{}", key.verifier());
            Ok(())
        }
        Command::Serve {
            state,
            key,
            logs,
            listen,
        } => {
            let logs = logs
                .iter()
                .map(|l| parse_log(l))
                .collect::<Result<Vec<_>>>()?;
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let key = CosignerKey::parse(text.trim())
                .with_context(|| format!("{}: not a witness signer key", key.display()))?;
            let state = StateDir::open(&state)?;
            let witness = Witness::new(key, logs, state)?;
            let name = witness.name().to_owned();
            let running = kms_witness::server::start(witness, listen)?;
            println!("kms-witness {name} listening on {}", running.url());
            running.join();
            Ok(())
        }
    }
}

/// `ORIGIN=VKEY`; the key's name must be the origin.
fn parse_log(arg: &str) -> Result<VerifierKey> {
    let (origin, vkey) = arg
        .split_once('=')
        .with_context(|| format!("--log {arg:?}: expected ORIGIN=VKEY"))?;
    let key = VerifierKey::parse(vkey).with_context(|| format!("--log {origin}: verifier key"))?;
    if key.name() != origin {
        bail!(
            "--log {origin}: the key is named {:?}, but a log's key is named like its origin",
            key.name()
        );
    }
    Ok(key)
}
