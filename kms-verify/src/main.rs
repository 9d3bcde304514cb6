//! `kms-verify`: checks a deployment of the enclave against its release manifest and the
//! release transparency log, without building anything.
//!
//! ```text
//! kms-verify <enclave-url | dist-dir> --log <dir|url> --key <verifier key file>
//!            [--manifest FILE] [--state FILE | --no-state] [--rebuild CHECKOUT]
//! ```
//!
//! `--rebuild CHECKOUT` also rebuilds the release in a source checkout (with its own
//! `cargo xtask dist`) and compares every hash with the deployment's.

use std::process::ExitCode;

use clap::Parser;

/// Checks a deployment of the enclave against its release manifest and the release
/// transparency log.
#[derive(Parser)]
#[command(name = "kms-verify", version)]
struct Cli {
    #[command(flatten)]
    args: kms_verify::VerifyArgs,
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

fn run(cli: Cli) -> anyhow::Result<()> {
    let cli = cli.args.resolve(None, None)?;
    let v = kms_verify::run_verify(&cli)?;
    println!(
        "verified: release {} (log entry {}, tree size {})",
        v.version, v.index, v.checkpoint.size
    );
    Ok(())
}
