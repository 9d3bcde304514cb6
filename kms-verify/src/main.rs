//! `kms-verify`: checks a deployment of the enclave against its release manifest and the
//! release transparency log, without building anything; or follows the log.
//!
//! ```text
//! kms-verify <enclave-url | dist-dir> --log <dir|url> --key <verifier key file>
//!            [--manifest FILE] [--state FILE | --no-state] [--rebuild CHECKOUT]
//!            [--witness VKEY]… [--quorum N]
//! kms-verify monitor <log dir|url> --key <verifier key file> [--state FILE]
//!            [--witness VKEY]… [--quorum N] [--interval SECONDS]
//! ```
//!
//! `--rebuild CHECKOUT` also rebuilds the release in a source checkout (with its own
//! `cargo xtask dist`) and compares every hash with the deployment's. `--witness` keys (with
//! `--quorum`, default all of them) require the log's checkpoint to carry that many valid
//! witness cosignatures. `monitor` checks every new checkpoint against the last one it
//! verified, prints each new release, and fails on a fork, a rollback or an unexpected key;
//! with `--interval` it keeps following the log.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use kms_verify::monitor::{MonitorOptions, monitor_once};
use kms_verify::verify::Location;

/// Checks a deployment of the enclave against its release manifest and the release
/// transparency log.
#[derive(Parser)]
#[command(
    name = "kms-verify",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: Option<kms_verify::VerifyArgs>,
}

#[derive(Subcommand)]
enum Command {
    /// Follows the release log: verifies each new checkpoint against the last one verified
    /// and prints each new release.
    Monitor(MonitorArgs),
}

#[derive(clap::Args)]
struct MonitorArgs {
    /// The release transparency log: a directory or a URL.
    log: String,
    /// The log's verifier key (a C2SP signed-note verifier key, one line).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Where the last verified checkpoint is kept
    /// (default: `~/.local/state/kms-verify/<log>.monitor`).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Check the log again every this many seconds, until a check fails.
    #[arg(long, value_name = "SECONDS")]
    interval: Option<u64>,
    #[command(flatten)]
    witnesses: kms_verify::WitnessArgs,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms-verify: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match (cli.command, cli.args) {
        (Some(Command::Monitor(args)), _) => monitor(args),
        (None, Some(args)) => {
            let cli = args.resolve(None, None)?;
            let v = kms_verify::run_verify(&cli)?;
            println!(
                "verified: release {} (log entry {}, tree size {})",
                v.version, v.index, v.checkpoint.size
            );
            Ok(())
        }
        (None, None) => anyhow::bail!("expected a deployment to verify, or `monitor`"),
    }
}

fn monitor(args: MonitorArgs) -> Result<()> {
    let log_key = kms_verify::read_log_key(&args.key)?;
    let (witnesses, quorum) = args.witnesses.resolve()?;
    let state = args
        .state
        .or_else(|| kms_verify::default_state_file(&log_key, "monitor"))
        .context("expected --state FILE (no home directory for the default)")?;
    let options = MonitorOptions {
        log: Location::parse(&args.log),
        log_key,
        state,
        witnesses,
        quorum,
    };
    loop {
        monitor_once(&options, &mut |line| println!("{line}")).context("FAILED")?;
        match args.interval {
            Some(secs) => std::thread::sleep(Duration::from_secs(secs.max(1))),
            None => return Ok(()),
        }
    }
}
