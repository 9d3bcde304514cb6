//! Installing what the tasks need on a fresh machine: the wasm target of the toolchain in
//! use, Chromium and ChromeDriver (Debian packages), the wasm-bindgen CLI pinned to the
//! library version in `Cargo.lock`, and npm packages from lock files. Each step is skipped
//! when its tool is already there, and says exactly what to install when it cannot install
//! it itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail, ensure};

use crate::cmd::{available, command, exec, root};

/// The Chromium binary the browser tests drive.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
/// The ChromeDriver binary matching [`CHROMIUM`].
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The target every browser build compiles to.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// What a wasm build needs: the wasm target for the toolchain in use and the pinned
/// wasm-bindgen CLI.
pub(crate) fn wasm_toolchain() -> Result<()> {
    wasm_target()?;
    wasm_bindgen()
}

/// Makes sure the toolchain in use has the standard library for [`WASM_TARGET`].
///
/// rustup installs `rust-toolchain.toml`'s `targets` only when it installs the toolchain
/// itself: a toolchain that was already present (an image, a cache, a linked toolchain)
/// keeps the targets it had. So the target is checked where rustc looks for it, and added
/// with `rustup target add … --toolchain <in use>` when it is missing.
pub(crate) fn wasm_target() -> Result<()> {
    ensure_target(&Rust::from_env(), WASM_TARGET)
}

/// The Rust tools the target check runs: `rustc` (the rustup proxy, or a plain rustc) and
/// `rustup`, and the toolchain rustup selected for this process (`RUSTUP_TOOLCHAIN`, which
/// rustup sets for everything cargo runs).
#[derive(Debug, Clone)]
pub(crate) struct Rust {
    pub(crate) rustc: PathBuf,
    pub(crate) rustup: PathBuf,
    pub(crate) toolchain: Option<String>,
}

impl Rust {
    fn from_env() -> Self {
        Self {
            rustc: std::env::var_os("RUSTC").map_or_else(|| "rustc".into(), PathBuf::from),
            rustup: "rustup".into(),
            toolchain: std::env::var("RUSTUP_TOOLCHAIN")
                .ok()
                .or_else(pinned_toolchain),
        }
    }

    fn rustc(&self) -> Command {
        let mut c = Command::new(&self.rustc);
        if let Some(t) = &self.toolchain {
            c.env("RUSTUP_TOOLCHAIN", t);
        }
        c.current_dir(root());
        c
    }

    /// Where rustc looks for `target`'s standard library, if it has one.
    fn target_installed(&self, target: &str) -> Result<bool> {
        let out = self
            .rustc()
            .args(["--print", "target-libdir", "--target", target])
            .output()
            .with_context(|| format!("could not run `{}`", self.rustc.display()))?;
        if !out.status.success() {
            bail!(
                "`rustc --print target-libdir --target {target}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        // The directory exists once the target's `rust-std` is installed; `core` is in it.
        Ok(std::fs::read_dir(&dir).is_ok_and(|mut entries| {
            entries
                .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
        }))
    }
}

/// The `channel` of `rust-toolchain.toml`.
fn pinned_toolchain() -> Option<String> {
    let text = std::fs::read_to_string(root().join("rust-toolchain.toml")).ok()?;
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("channel")?.trim().strip_prefix('=')?;
        Some(v.trim().trim_matches('"').to_owned())
    })
}

/// Checks `target` for `rust`'s toolchain and adds it with rustup when missing.
pub(crate) fn ensure_target(rust: &Rust, target: &str) -> Result<()> {
    if rust.target_installed(target)? {
        return Ok(());
    }
    let toolchain = rust.toolchain.as_deref().unwrap_or("the toolchain in use");
    let by_hand = format!(
        "install the `{target}` target for {toolchain}: `rustup target add {target} --toolchain {toolchain}`"
    );
    let Ok(probe) = Command::new(&rust.rustup).arg("--version").output() else {
        bail!(
            "the Rust toolchain lacks the `{target}` target and rustup is not on PATH; {by_hand}, \
             or install the target's standard library (rust-std) by your distribution's means"
        );
    };
    if !probe.status.success() {
        bail!("`rustup --version` failed; {by_hand}");
    }
    let mut add = Command::new(&rust.rustup);
    add.args(["target", "add", target]).current_dir(root());
    if let Some(t) = &rust.toolchain {
        add.args(["--toolchain", t]);
    }
    exec(&mut add).with_context(|| format!("rustup could not add `{target}`; {by_hand}"))?;
    ensure!(
        rust.target_installed(target)?,
        "rustup added `{target}` but rustc still does not find it; {by_hand}"
    );
    Ok(())
}

/// Installs Debian's `chromium` and `chromium-driver` unless both are present.
pub(crate) fn chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"], true)
}

/// Installs Debian `packages` with apt-get (`--no-install-recommends`), as root or, when
/// `sudo_ok`, through sudo; otherwise says which packages to install.
pub(crate) fn apt_install(packages: &[&str], sudo_ok: bool) -> Result<()> {
    let prefix: &[&str] = if is_root() {
        &[]
    } else if sudo_ok {
        &["sudo"]
    } else {
        bail!(
            "not found; install the Debian package(s) {}",
            packages.join(", ")
        );
    };
    println!("xtask: installing {} (apt-get)", packages.join(", "));
    let apt = |args: &[&str]| {
        let mut all = prefix.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut c = command(all[0], &all[1..]);
        c.env("DEBIAN_FRONTEND", "noninteractive");
        exec(&mut c)
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    apt(&install)
}

/// True when this process runs as root.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The `wasm-bindgen` library version in `Cargo.lock`: the CLI must match it exactly.
pub(crate) fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
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
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// Installs `wasm-bindgen-cli` at the locked version unless that version is on `PATH`.
/// (`--locked` is not used: one of the CLI's own locked dependencies left the registry.)
pub(crate) fn wasm_bindgen() -> Result<()> {
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
pub(crate) fn npm(dir: &str) -> Result<PathBuf> {
    let dir = root().join(dir);
    for tool in ["node", "npm"] {
        if !available(tool) {
            bail!(
                "`{tool}` is not on PATH: the SDK and the browser suites need Node.js 20 or later \
                 with npm (Debian: `apt-get install nodejs npm`)"
            );
        }
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
        exec(&mut c)
            .with_context(|| format!("installing the npm packages of {}", dir.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    //! The target check against stand-in `rustc` and `rustup` scripts: a toolchain that lacks
    //! the target (the fresh-machine case), one that has it, one rustup cannot add it to,
    //! and no rustup at all.

    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use super::{Rust, WASM_TARGET, ensure_target};

    /// A directory with a `rustc` that reports `$DIR/sysroot/<target>/lib` as the target's
    /// libdir, and (unless `rustup` is `None`) a `rustup` with the given body that logs
    /// its arguments to `$DIR/rustup.log`. Both scripts have `$DIR` set to the directory.
    /// Held by every test here that writes a stand-in tool or runs one: a process forked
    /// by a parallel test while a script is open for writing would keep it open, and running
    /// the script then fails with ETXTBSY ("Text file busy").
    static SPAWN: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SPAWN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn tools(rustup: Option<&str>) -> (PathBuf, Rust) {
        let dir = std::env::temp_dir().join(format!(
            "xtask-setup-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let script = |name: &str, body: &str| {
            let p = dir.join(name);
            std::fs::write(&p, format!("#!/bin/sh\nDIR='{}'\n{body}\n", dir.display())).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let rustc = script(
            "rustc",
            r#"[ "$1 $2 $3" = "--print target-libdir --target" ] || exit 9
echo "$DIR/sysroot/$4/lib""#,
        );
        let rustup = match rustup {
            Some(body) => script(
                "rustup",
                &format!("echo \"$@\" >> \"$DIR/rustup.log\"\n{body}"),
            ),
            None => dir.join("no-rustup-here"),
        };
        let rust = Rust {
            rustc,
            rustup,
            toolchain: Some("1.95.0-x86_64-unknown-linux-gnu".into()),
        };
        (dir, rust)
    }

    fn rand_suffix() -> u64 {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn install_std(dir: &Path) {
        let lib = dir.join("sysroot").join(WASM_TARGET).join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("libcore-0123.rlib"), b"").unwrap();
    }

    fn log(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("rustup.log")).unwrap_or_default()
    }

    #[test]
    fn adds_a_missing_target_to_the_toolchain_in_use() {
        let _serial = serial();
        // `rustup target add` installs the std library where rustc looks for it.
        let (dir, rust) = tools(Some(
            r#"[ "$1 $2" = "target add" ] || exit 0
mkdir -p "$DIR/sysroot/$3/lib" && : > "$DIR/sysroot/$3/lib/libcore-1.rlib""#,
        ));
        ensure_target(&rust, WASM_TARGET).unwrap();
        assert_eq!(
            log(&dir),
            "--version\ntarget add wasm32-unknown-unknown --toolchain 1.95.0-x86_64-unknown-linux-gnu\n"
        );
        // Now present: a second call does not touch rustup.
        ensure_target(&rust, WASM_TARGET).unwrap();
        assert_eq!(log(&dir).lines().count(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn leaves_an_installed_target_alone() {
        let _serial = serial();
        let (dir, rust) = tools(Some("exit 1"));
        install_std(&dir);
        ensure_target(&rust, WASM_TARGET).unwrap();
        assert_eq!(
            log(&dir),
            "",
            "rustup must not run when the target is there"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn says_what_to_run_when_rustup_cannot_add_it() {
        let _serial = serial();
        // A linked toolchain: rustup refuses to add components to it.
        let (dir, rust) = tools(Some(
            r#"[ "$1" = "--version" ] && exit 0; echo "toolchain is a custom toolchain" >&2; exit 1"#,
        ));
        let e = format!("{:#}", ensure_target(&rust, WASM_TARGET).unwrap_err());
        assert!(
            e.contains(
                "`rustup target add wasm32-unknown-unknown --toolchain 1.95.0-x86_64-unknown-linux-gnu`"
            ),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn says_what_to_install_without_rustup() {
        let _serial = serial();
        let (dir, rust) = tools(None);
        let e = format!("{:#}", ensure_target(&rust, WASM_TARGET).unwrap_err());
        assert!(e.contains("rustup is not on PATH"), "{e}");
        assert!(e.contains("rust-std"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_real_toolchain_answers_the_check() {
        let _serial = serial();
        // The check runs against this machine's toolchain too (it must not error, whatever
        // the answer): the same call `cargo xtask test` makes before any wasm build.
        Rust::from_env().target_installed(WASM_TARGET).unwrap();
    }
}
