//! `kms-verify`: checks a deployment of the enclave against its release manifest and the
//! release transparency log, without building anything.
//!
//! ```text
//! kms-verify <enclave-url | dist-dir> --log <dir|url> --key <verifier key file>
//!            [--manifest FILE] [--state FILE | --no-state]
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = reproducible::parse_verify_args(&args, None, None).and_then(|(options, rest)| {
        if let Some(flag) = rest.first() {
            return Err(format!("unknown flag {flag}"));
        }
        reproducible::run_verify(&options)
    });
    match result {
        Ok(v) => {
            println!(
                "verified: release {} (log entry {}, tree size {})",
                v.version, v.index, v.checkpoint.size
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kms-verify: {e}");
            ExitCode::FAILURE
        }
    }
}
