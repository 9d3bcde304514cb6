//! The prekey vending Worker (`kms-relay/worker`): its wasm module built, its npm packages
//! (Miniflare, workerd, wrangler) installed from the lock file.
//!
//! - `cargo xtask worker build`: `npm ci` (when stale), kms-relay-worker for
//!   `wasm32-unknown-unknown`, wasm-bindgen `--target web` into `kms-relay/worker/build/`
//!   (what `wrangler deploy` bundles and the local harness runs).
//! - `cargo xtask test` builds it before the kms-relay tests, which then run the vending
//!   conformance suite, the story, the API edges, the rate limit, the full-size drain and
//!   the replenish script through `wrangler d1 execute --local` against it on local workerd.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::cmd::{command, exec, root, target_dir};
use crate::setup;

/// The Worker's directory, relative to the workspace.
pub(crate) const DIR: &str = "kms-relay/worker";

/// `cargo xtask worker`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Build the wasm module into kms-relay/worker/build/ (and `npm ci` when stale).
    Build,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    match args.command {
        Command::Build => build().map(|_| ()),
    }
}

/// Installs the npm packages and builds the wasm module; returns the Worker's directory.
pub(crate) fn build() -> Result<PathBuf> {
    setup::wasm_toolchain()?;
    let dir = setup::npm(DIR)?;
    exec(&mut command(
        "cargo",
        &[
            "build",
            "-p",
            "kms-relay-worker",
            "--target",
            setup::WASM_TARGET,
            "--release",
            "--locked",
        ],
    ))?;
    let wasm = target_dir()
        .join(setup::WASM_TARGET)
        .join("release")
        .join("kms_relay_worker.wasm");
    let out = root().join(DIR).join("build");
    exec(
        command("wasm-bindgen", &["--target", "web", "--out-dir"])
            .arg(&out)
            .arg(&wasm),
    )?;
    let bg = out.join("kms_relay_worker_bg.wasm");
    let size = std::fs::metadata(&bg)
        .with_context(|| format!("reading {}", bg.display()))?
        .len();
    println!(
        "xtask worker: {} ({size} bytes)",
        bg.strip_prefix(root()).unwrap_or(&bg).display()
    );
    Ok(dir)
}
