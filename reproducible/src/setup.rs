//! Installing what the tasks need on a fresh machine: Chromium and ChromeDriver (Debian
//! packages), the wasm-bindgen CLI pinned to the library version in `Cargo.lock`, and npm
//! packages from lock files. Each step is skipped when its tool is already there.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{available, command, exec, root};

/// The Chromium binary the browser tests drive.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
/// The ChromeDriver binary matching [`CHROMIUM`].
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Installs Debian's `chromium` and `chromium-driver` unless both are present.
pub(crate) fn chromium() -> Result<(), String> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    let sudo = if is_root() { vec![] } else { vec!["sudo"] };
    let apt = |args: &[&str]| {
        let mut all = sudo.clone();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut c = command(all[0], &all[1..]);
        c.env("DEBIAN_FRONTEND", "noninteractive");
        exec(&mut c)
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "chromium", "chromium-driver"])
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The `wasm-bindgen` library version in `Cargo.lock`: the CLI must match it exactly.
pub(crate) fn wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(v.to_owned());
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// Installs `wasm-bindgen-cli` at the locked version unless that version is on `PATH`.
/// (`--locked` is not used: one of the CLI's own locked dependencies left the registry.)
pub(crate) fn wasm_bindgen() -> Result<(), String> {
    let version = wasm_bindgen_version()?;
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .ends_with(&version)
        })
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    exec(&mut command(
        "cargo",
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={version}"),
        ],
    ))
}

/// `npm ci` in `dir` (relative to the workspace) unless its `node_modules` is current.
#[allow(dead_code, reason = "for the npm-based browser tasks")]
pub(crate) fn npm(dir: &str) -> Result<PathBuf, String> {
    let dir = root().join(dir);
    if !available("npm") {
        return Err("npm is required (Node.js 20 or later)".into());
    }
    let stamp = dir.join("node_modules/.package-lock.json");
    let fresh = match (
        std::fs::metadata(&stamp).and_then(|m| m.modified()),
        std::fs::metadata(dir.join("package-lock.json")).and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(lock)) => installed >= lock,
        _ => false,
    };
    if !fresh {
        let mut c = Command::new("npm");
        c.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir);
        exec(&mut c)?;
    }
    Ok(dir)
}
