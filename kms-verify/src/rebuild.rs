//! `--rebuild`: rebuilding a release from its source and comparing it with what is served.
//!
//! The build is the source's own `cargo xtask dist` (the pinned toolchain, `--locked`),
//! run in a checkout the verifier names; the checkout must contain the manifest's
//! `source.commit` with no change to any build input since. The rebuilt page and artifacts
//! must equal the served manifest's, byte for byte (by their hashes).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError};

/// Why a rebuild did not reproduce the deployment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RebuildError {
    /// A tool (git, cargo) could not be run or failed.
    #[error("{command}: {reason}")]
    Tool {
        /// The command line.
        command: String,
        /// Its error or exit status.
        reason: String,
    },
    /// The checkout is not the release's source.
    #[error("the checkout is not the release's source: {0}")]
    WrongSource(String),
    /// The rebuilt manifest could not be read.
    #[error("reading the rebuilt manifest {}", path.display())]
    ReadManifest {
        /// The manifest file in the checkout.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The rebuilt manifest does not parse.
    #[error("the rebuilt manifest")]
    Manifest(#[source] ManifestError),
    /// The rebuild differs from the deployment.
    #[error("a rebuild from source differs from the deployment: page {built} vs {served}")]
    Differs {
        /// The rebuilt page's SRI string.
        built: String,
        /// The served page's SRI string.
        served: String,
    },
}

/// Rebuilds the release in `checkout` and compares it with `served`.
///
/// Writes `dist/` and `sri-manifest.json` in the checkout (its own build does).
///
/// # Errors
/// [`RebuildError`]: the checkout is not the source, the build failed, or it differs.
pub fn rebuild(checkout: &Path, served: &Manifest) -> Result<(), RebuildError> {
    let checkout = &toplevel(checkout)?;
    let commit = &served.source.commit;
    git(
        checkout,
        &["cat-file", "-e", &format!("{commit}^{{commit}}")],
    )
    .map_err(|_| RebuildError::WrongSource(format!("it has no commit {commit}")))?;
    git(checkout, &["merge-base", "--is-ancestor", commit, "HEAD"])
        .map_err(|_| RebuildError::WrongSource(format!("HEAD does not contain {commit}")))?;
    let mut diff = vec!["diff", "--quiet", commit, "--"];
    diff.extend(served.source.inputs.iter().map(String::as_str));
    git(checkout, &diff).map_err(|_| {
        RebuildError::WrongSource(format!(
            "a build input changed since {commit} (git {diff:?})"
        ))
    })?;
    run(Command::new("cargo")
        .args(["xtask", "dist"])
        .current_dir(checkout))?;
    let path = checkout.join(MANIFEST_FILE);
    let bytes =
        std::fs::read(&path).map_err(|source| RebuildError::ReadManifest { path, source })?;
    let built = Manifest::parse(&bytes).map_err(RebuildError::Manifest)?;
    if built.page != served.page || built.artifacts != served.artifacts {
        return Err(RebuildError::Differs {
            built: built.page.sri,
            served: served.page.sri.clone(),
        });
    }
    Ok(())
}

/// The root of the git work tree that holds `dir`.
fn toplevel(dir: &Path) -> Result<PathBuf, RebuildError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .map_err(|e| RebuildError::Tool {
            command: "git rev-parse --show-toplevel".into(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(RebuildError::WrongSource(format!(
            "{} is not in a git checkout",
            dir.display()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

fn git(dir: &Path, args: &[&str]) -> Result<(), RebuildError> {
    run(Command::new("git").arg("-C").arg(dir).args(args))
}

fn run(c: &mut Command) -> Result<(), RebuildError> {
    let command = format!("{c:?}");
    let status = c.status().map_err(|e| RebuildError::Tool {
        command: command.clone(),
        reason: e.to_string(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(RebuildError::Tool {
            command,
            reason: status.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

    use super::*;
    use crate::manifest::{FileEntry, MANIFEST_FORMAT, PAGE_FILE, Source, Toolchain};

    fn manifest(commit: &str) -> Manifest {
        Manifest {
            artifacts: vec![],
            csp_script_hashes: vec![],
            format: MANIFEST_FORMAT.to_owned(),
            page: FileEntry::of(PAGE_FILE, b"<html>"),
            source: Source {
                commit: commit.to_owned(),
                inputs: vec!["input.txt".to_owned()],
            },
            toolchain: Toolchain {
                rustc: "rustc 1.95.0".to_owned(),
                wasm_bindgen: "0.2.130".to_owned(),
            },
        }
    }

    fn sh(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn a_checkout_that_is_not_the_source_is_refused_before_building() {
        let dir = std::env::temp_dir().join(format!("kms-verify-rebuild-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        sh(&dir, &["init", "-q"]);
        std::fs::write(dir.join("input.txt"), "one").unwrap();
        sh(&dir, &["add", "input.txt"]);
        sh(&dir, &["commit", "-qm", "one"]);
        let commit = sh(&dir, &["rev-parse", "HEAD"]);

        let missing = rebuild(&dir, &manifest(&"0".repeat(40)));
        assert!(
            matches!(missing, Err(RebuildError::WrongSource(_))),
            "{missing:?}"
        );

        std::fs::write(dir.join("input.txt"), "two").unwrap();
        sh(&dir, &["commit", "-qam", "two"]);
        let changed = rebuild(&dir, &manifest(&commit));
        match changed {
            Err(RebuildError::WrongSource(why)) => assert!(why.contains("input changed"), "{why}"),
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
