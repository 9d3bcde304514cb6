//! `cargo xtask types`: regenerates the client SDK's TypeScript declarations of the RPC from
//! the Rust types; `--check` fails when the committed copy is out of date.

use std::process::Command;

use crate::cmd::root;

/// Where the SDK keeps the generated declarations.
const GENERATED: &str = "enclave-html/sdk/src/generated/rpc.ts";

/// `cargo xtask types`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Fail when the committed declarations are out of date, instead of writing them.
    #[arg(long)]
    pub(crate) check: bool,
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let check = args.check;
    println!("$ cargo run -p kms-tools --features ts --bin ts-bindings");
    let out = Command::new("cargo")
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "kms-tools",
            "--features",
            "ts",
            "--bin",
            "ts-bindings",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("running ts-bindings: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ts-bindings failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let path = root().join(GENERATED);
    if check {
        let committed = std::fs::read(&path).unwrap_or_default();
        if committed != out.stdout {
            return Err(format!(
                "{GENERATED} is out of date with the Rust RPC types: run `cargo xtask types`"
            ));
        }
        println!("{GENERATED} is up to date");
        Ok(())
    } else {
        std::fs::write(&path, &out.stdout).map_err(|e| format!("writing {GENERATED}: {e}"))?;
        println!("wrote {GENERATED}");
        Ok(())
    }
}
