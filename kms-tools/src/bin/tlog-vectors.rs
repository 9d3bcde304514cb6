//! Release-log fixtures for the client SDK's verifier, made with kms-tlog.
//!
//! ```text
//! tlog-vectors vectors [FILE]
//!     writes the verifier vectors (kms-tlog/tests/vectors/sdk-verifier.json) to FILE or stdout
//! tlog-vectors e2e-log --manifest FILE --out DIR
//!     writes the browser suite's logs for that manifest into DIR (which must not exist) and
//!     prints their keys and checkpoints as JSON
//! ```
//!
//! The e2e logs, all signed by one test log key and cosigned by one test witness:
//! `release/` logs an earlier release, the manifest's release `0.1.0` and a later one, with a
//! checkpoint after each; `fork/` has the same key and the manifest's release, but another
//! first entry and one more entry. The checkpoints are written beside them under
//! `checkpoints/`: `release-2`, `release-3`, `release-3-uncosigned` and `fork-4`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};

#[path = "../../../kms-tlog/tests/vectors/sdk_verifier.rs"]
#[allow(dead_code)]
mod sdk_verifier;

use sdk_verifier::{Keys, TempLog, cosign, statement};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["vectors"] => {
            print!("{}", vectors()?);
            Ok(())
        }
        ["vectors", file] => {
            std::fs::write(file, vectors()?).with_context(|| format!("writing {file}"))
        }
        ["e2e-log", "--manifest", manifest, "--out", out] => {
            let json = e2e_log(Path::new(manifest), Path::new(out))?;
            println!("{json}");
            Ok(())
        }
        _ => bail!(
            "usage: tlog-vectors vectors [FILE] | tlog-vectors e2e-log --manifest FILE --out DIR"
        ),
    }
}

fn vectors() -> Result<String> {
    sdk_verifier::generate().map_err(|e| anyhow!("{e}"))
}

fn e2e_log(manifest: &Path, out: &Path) -> Result<String> {
    let manifest =
        std::fs::read(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let k = Keys::new().map_err(|e| anyhow!("{e}"))?;
    if out.exists() {
        bail!("{} exists", out.display());
    }
    let checkpoints = out.join("checkpoints");
    std::fs::create_dir_all(&checkpoints)?;
    let write = |name: &str, text: &str| -> Result<()> {
        std::fs::write(checkpoints.join(name), text).with_context(|| format!("writing {name}"))
    };
    let logged = |what: &str, entries: &[Vec<u8>]| -> Result<(PathBuf, Vec<String>)> {
        let mut log = TempLog::new(what).map_err(|e| anyhow!("{e}"))?;
        let signed = log
            .append_each(&k.log, entries)
            .map_err(|e| anyhow!("{e}"))?;
        let dir = out.join(what);
        copy_dir(&log.dir.join("tile"), &dir.join("tile"))?;
        Ok((dir, signed))
    };
    let s = |version: &str, m: &[u8]| statement(version, m).map_err(|e| anyhow!("{e}"));
    let (_, release) = logged(
        "release",
        &[
            s("0.0.1", b"an earlier release")?,
            s("0.1.0", &manifest)?,
            s("0.2.0", b"a later release")?,
        ],
    )?;
    let (_, fork) = logged(
        "fork",
        &[
            s("0.0.1", b"another earlier release")?,
            s("0.1.0", &manifest)?,
            s("0.2.0", b"a later release")?,
            s("0.3.0", b"yet another release")?,
        ],
    )?;
    let cosigned = |signed: &String| cosign(signed, &[&k.w1]).map_err(|e| anyhow!("{e}"));
    write("release-2", &cosigned(&release[1])?)?;
    write("release-3", &cosigned(&release[2])?)?;
    write("release-3-uncosigned", &release[2])?;
    write("fork-4", &cosigned(&fork[3])?)?;
    Ok(serde_json::json!({
        "key": k.log.verifier().to_string(),
        "witnesses": [k.w1.verifier().to_string()],
        "version": "0.1.0",
    })
    .to_string())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(name))?;
        } else {
            std::fs::copy(entry.path(), to.join(name))?;
        }
    }
    Ok(())
}
