//! Running commands with echo and error context.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, ensure};

/// The workspace root (the parent of this crate's manifest directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory, where `cargo build` puts what it builds: `CARGO_TARGET_DIR`
/// when set (relative to the workspace, where the commands run), else the workspace's
/// `target`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| root().join(d))
        .unwrap_or_else(|| root().join("target"))
}

/// A command rooted at the workspace, ready to be extended.
pub(crate) fn command(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args).current_dir(root());
    c
}

/// Runs `c`, echoing it first; fails if it exits non-zero.
pub(crate) fn exec(c: &mut Command) -> Result<()> {
    let shown = describe(c);
    println!("$ {shown}");
    let status = c
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    ensure!(status.success(), "`{shown}` failed ({status})");
    Ok(())
}

/// True when `program --version` runs.
pub(crate) fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
