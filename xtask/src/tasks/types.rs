//! `cargo xtask types`: regenerates the client SDK's TypeScript declarations of the RPC from
//! the Rust types, then type-checks the enclave page's bootstrap (plain JavaScript with
//! `// @ts-check`) against them and against the declarations wasm-bindgen writes for the
//! glue it imports; `--check` fails when the committed declarations are out of date, and
//! both fail on a type error in the bootstrap.

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd::{command, exec, root};
use crate::{setup, site};

/// Where the SDK keeps the generated declarations.
const GENERATED: &str = "enclave-html/sdk/src/generated/rpc.ts";
/// The bootstrap's TypeScript project (`allowJs`, `checkJs`, `noEmit`, `strict`).
const ENCLAVE_TSCONFIG: &str = "enclave-html/tsconfig.json";
/// Where the glue and its declarations go for the check: the tsconfig's `rootDirs` merges
/// it with the bootstrap's directory, so that `./kms_wasm.js` resolves to them.
const GLUE_DIR: &str = "target/enclave-glue";

/// `cargo xtask types`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Fail when the committed declarations are out of date, instead of writing them.
    #[arg(long)]
    pub(crate) check: bool,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    rpc_declarations(args.check)?;
    check_bootstrap()
}

/// Writes the RPC declarations, or with `check` compares them with the committed copy.
fn rpc_declarations(check: bool) -> Result<()> {
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
        .context("running ts-bindings")?;
    if !out.status.success() {
        bail!(
            "ts-bindings failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let path = root().join(GENERATED);
    if check {
        let committed = std::fs::read(&path).unwrap_or_default();
        if committed != out.stdout {
            bail!("{GENERATED} is out of date with the Rust RPC types: run `cargo xtask types`");
        }
        println!("{GENERATED} is up to date");
        Ok(())
    } else {
        std::fs::write(&path, &out.stdout).with_context(|| format!("writing {GENERATED}"))?;
        println!("wrote {GENERATED}");
        Ok(())
    }
}

/// Type-checks `enclave-html/enclave/bootstrap.js` with the SDK's TypeScript: builds the
/// enclave's wasm as the site does, writes the glue with its declarations to [`GLUE_DIR`]
/// and runs `tsc -p` [`ENCLAVE_TSCONFIG`] (which emits nothing).
fn check_bootstrap() -> Result<()> {
    setup::wasm_toolchain()?;
    exec(&mut command("cargo", crate::tasks::dist::WASM_BUILD))?;
    let glue = root().join(GLUE_DIR);
    if glue.exists() {
        std::fs::remove_dir_all(&glue).with_context(|| format!("clearing {GLUE_DIR}"))?;
    }
    site::bindgen_declarations(&site::release_wasm(), &glue)?;
    let sdk = setup::npm("enclave-html/sdk")?;
    let tsc = sdk.join("node_modules/typescript/bin/tsc");
    exec(&mut command(
        "node",
        &[&tsc.to_string_lossy(), "-p", ENCLAVE_TSCONFIG],
    ))?;
    println!("enclave-html/enclave/bootstrap.js type-checks");
    Ok(())
}
