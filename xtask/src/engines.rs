//! The three browser engines the suites run in — Chromium, Firefox (Gecko) and WebKit — each
//! a Debian package driven over W3C WebDriver: ChromeDriver, geckodriver (built from
//! crates.io) and WebKitGTK's WebKitWebDriver with its `MiniBrowser`, under an Xvfb display
//! of its own. And the summary the test command prints: engine × test, pass /
//! typed-unsupported / fail.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::cmd::{command, exec, target_dir};
use crate::setup;

/// Debian's Firefox ESR.
pub(crate) const FIREFOX: &str = "/usr/bin/firefox-esr";
/// WebKitGTK's WebDriver (Debian `webkit2gtk-driver`); it starts `MiniBrowser`.
pub(crate) const WEBKITWEBDRIVER: &str = "/usr/bin/WebKitWebDriver";
/// The X server WebKitGTK's MiniBrowser draws into (it has no headless mode).
const XVFB: &str = "/usr/bin/Xvfb";
/// geckodriver, pinned: built from crates.io into cargo's bin directory.
const GECKODRIVER_VERSION: &str = "0.37.1";

/// A browser engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Engine {
    /// Debian's Chromium, headless, through ChromeDriver.
    Chromium,
    /// Debian's Firefox ESR, headless, through geckodriver.
    Firefox,
    /// WebKitGTK's MiniBrowser under Xvfb, through WebKitWebDriver.
    #[value(name = "webkit")]
    WebKit,
}

impl Engine {
    /// Every engine, in the order the suites run them.
    pub(crate) const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

    /// Its name in output and in `KMS_ENGINE`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::WebKit => "webkit",
        }
    }

    /// Installs the engine and its driver unless present.
    pub(crate) fn install(self) -> Result<()> {
        match self {
            Engine::Chromium => setup::chromium(),
            Engine::Firefox => {
                if !Path::new(FIREFOX).exists() {
                    setup::apt_install(&["firefox-esr"], true)?;
                }
                geckodriver().map(|_| ())
            }
            Engine::WebKit => {
                if !(Path::new(WEBKITWEBDRIVER).exists() && Path::new(XVFB).exists()) {
                    setup::apt_install(&["webkit2gtk-driver", "xvfb"], true)?;
                }
                Ok(())
            }
        }
    }
}

/// The geckodriver binary, installed with `cargo install` at the pinned version unless
/// that version is already in cargo's bin directory.
pub(crate) fn geckodriver() -> Result<PathBuf> {
    let bin = cargo_bin_dir().join("geckodriver");
    let current = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .is_some_and(|l| l.trim() == format!("geckodriver {GECKODRIVER_VERSION}"))
        })
        .unwrap_or(false);
    if !current {
        exec(&mut command(
            "cargo",
            &[
                "install",
                "geckodriver",
                "--locked",
                "--version",
                &format!("={GECKODRIVER_VERSION}"),
            ],
        ))?;
    }
    Ok(bin)
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// An Xvfb display for the lifetime of the value (killed on drop).
pub(crate) struct Display {
    child: Child,
    name: String,
}

impl Display {
    /// Starts Xvfb on a display number it picks itself (`-displayfd`: the server takes the
    /// first free one and writes its number once it accepts clients), so that a stale lock
    /// or socket from a killed server is never guessed at. What Xvfb says on stderr goes to
    /// `target/xvfb.log` and into the error when it does not come up.
    pub(crate) fn start() -> Result<Display> {
        let log_path = target_dir().join("xvfb.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut child = Command::new(XVFB)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x1024x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {XVFB}"))?;
        let stdout = child.stdout.take().context("Xvfb's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            let _ = tx.send(read.map(|_| line));
        });
        let said = rx.recv_timeout(Duration::from_secs(60));
        let number = match said {
            Ok(Ok(line)) => line.trim().parse::<u32>().ok(),
            _ => None,
        };
        match number {
            Some(n) => Ok(Display {
                child,
                name: format!(":{n}"),
            }),
            None => {
                let _ = child.kill();
                let status = child.wait().ok();
                let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = said.lines().rev().take(20).collect();
                bail!(
                    "Xvfb did not report a display within 60 s (exit: {}); it said:\n{}",
                    status.map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            }
        }
    }

    /// `DISPLAY` for the browser.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How one test ended in one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It passed.
    Pass,
    /// The engine lacks what the test needs; the enclave gave its typed answer and the test
    /// asserted that answer.
    TypedUnsupported,
    /// It failed.
    Fail,
}

impl Outcome {
    fn cell(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::TypedUnsupported => "typed-unsupported",
            Outcome::Fail => "**fail**",
        }
    }
}

/// Engine × test outcomes of one suite.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    rows: BTreeMap<String, BTreeMap<Engine, Outcome>>,
}

impl Summary {
    /// Records `test`'s outcome in `engine` (a later record of the same pair wins).
    pub(crate) fn record(&mut self, engine: Engine, test: &str, outcome: Outcome) {
        self.rows
            .entry(test.to_owned())
            .or_default()
            .insert(engine, outcome);
    }

    /// True when no test failed or is missing in an engine that ran.
    pub(crate) fn all_passed(&self, engines: &[Engine]) -> bool {
        self.rows.values().all(|by_engine| {
            engines
                .iter()
                .all(|e| by_engine.get(e).is_some_and(|o| *o != Outcome::Fail))
        })
    }

    /// The table in Markdown (a missing cell: the test did not run there).
    pub(crate) fn table(&self, title: &str, engines: &[Engine]) -> String {
        let mut out = format!("| {title} |");
        for e in engines {
            let _ = write!(out, " {} |", e.name());
        }
        out.push_str("\n|---|");
        for _ in engines {
            out.push_str("---|");
        }
        for (test, by_engine) in &self.rows {
            let _ = write!(out, "\n| `{test}` |");
            for e in engines {
                let cell = by_engine.get(e).map_or("**not run**", |o| o.cell());
                let _ = write!(out, " {cell} |");
            }
        }
        let mut totals = String::from("\n| **total** |");
        for e in engines {
            let count = |want: Outcome| {
                self.rows
                    .values()
                    .filter(|r| r.get(e) == Some(&want))
                    .count()
            };
            let _ = write!(
                totals,
                " {} pass, {} typed-unsupported, {} fail |",
                count(Outcome::Pass),
                count(Outcome::TypedUnsupported),
                self.rows.len() - count(Outcome::Pass) - count(Outcome::TypedUnsupported)
            );
        }
        out.push_str(&totals);
        out.push('\n');
        out
    }

    /// Prints the table and keeps it in `target/engines/<file>.md` (the README's copy is
    /// made from it).
    pub(crate) fn publish(&self, title: &str, engines: &[Engine], file: &str) -> Result<()> {
        let table = self.table(title, engines);
        println!("\n{table}");
        let dir = target_dir().join("engines");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(file), table)?;
        Ok(())
    }
}

/// Reads libtest-style lines (`test NAME ... ok` / `... FAILED` / `... FAIL`) into
/// `summary` for `engine`; a test that printed `typed-unsupported: NAME` passed by asserting
/// the enclave's typed answer.
pub(crate) fn read_libtest(summary: &mut Summary, engine: Engine, output: &str) {
    let unsupported = typed_unsupported(output);
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest.split_once(" ... ") else {
            continue;
        };
        let outcome = match result.trim() {
            "ok" if unsupported.contains(&name) => Outcome::TypedUnsupported,
            "ok" => Outcome::Pass,
            "ignored" => continue,
            _ => Outcome::Fail,
        };
        summary.record(engine, name, outcome);
    }
}

/// The tests that printed `typed-unsupported: NAME: reason` (possibly as a TAP comment):
/// they passed by asserting the enclave's typed answer.
fn typed_unsupported(output: &str) -> Vec<&str> {
    output
        .lines()
        .map(|l| l.trim().trim_start_matches("# "))
        .filter_map(|l| l.strip_prefix("typed-unsupported: "))
        .filter_map(|rest| rest.split(": ").next())
        .collect()
}

/// Reads the top-level results of Node's TAP reporter (`ok N - NAME`, `not ok N - NAME`)
/// into `summary` for `engine`. A skipped or to-do test counts as failed: a test that does
/// not run where it should is a defect, and an engine that lacks something answers it with
/// `typed-unsupported`.
pub(crate) fn read_tap(summary: &mut Summary, engine: Engine, output: &str) {
    let unsupported = typed_unsupported(output);
    for line in output.lines() {
        let (passed, rest) = if let Some(rest) = line.strip_prefix("ok ") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("not ok ") {
            (false, rest)
        } else {
            continue;
        };
        let Some((_, described)) = rest.split_once(" - ") else {
            continue;
        };
        let (name, directive) = match described.split_once(" # ") {
            Some((name, directive)) => (name, Some(directive)),
            None => (described, None),
        };
        let name = name.replace("\\#", "#");
        let outcome = match (passed, directive) {
            (true, None) if unsupported.contains(&name.as_str()) => Outcome::TypedUnsupported,
            (true, None) => Outcome::Pass,
            _ => Outcome::Fail,
        };
        summary.record(engine, &name, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::{Engine, Outcome, Summary, read_libtest, read_tap};

    #[test]
    fn libtest_lines_become_rows_and_a_failure_fails_the_summary() {
        let mut s = Summary::default();
        read_libtest(
            &mut s,
            Engine::Chromium,
            "test a ... ok\ntest b ... ok\ntypeless\n",
        );
        read_libtest(
            &mut s,
            Engine::WebKit,
            "test a ... ok\ntest b ... FAIL\n  typed-unsupported: a: no PRF\n",
        );
        let both = [Engine::Chromium, Engine::WebKit];
        assert!(!s.all_passed(&both));
        assert!(s.all_passed(&[Engine::Chromium]));
        let table = s.table("suite", &both);
        assert!(
            table.contains("| `a` | pass | typed-unsupported |"),
            "{table}"
        );
        assert!(table.contains("| `b` | pass | **fail** |"), "{table}");
        assert!(
            table.contains(
                "| 2 pass, 0 typed-unsupported, 0 fail | 0 pass, 1 typed-unsupported, 1 fail |"
            ),
            "{table}"
        );
        s.record(Engine::WebKit, "b", Outcome::Pass);
        assert!(s.all_passed(&both));
        // A test missing in one engine is not a pass there.
        s.record(Engine::Chromium, "c", Outcome::Pass);
        assert!(!s.all_passed(&both));
    }

    #[test]
    fn tap_top_level_results_become_rows_and_a_skip_fails() {
        let tap = "TAP version 13\n# Subtest: links\nok 1 - links\n  ---\n  ...\n\
                   # typed-unsupported: passkey unlock: no virtual authenticator\n\
                   ok 2 - passkey unlock\n    not ok 1 - inner\nnot ok 3 - push\n\
                   ok 4 - later # SKIP\n1..4\n";
        let mut s = Summary::default();
        read_tap(&mut s, Engine::Firefox, tap);
        let table = s.table("suite", &[Engine::Firefox]);
        assert!(table.contains("| `links` | pass |"), "{table}");
        assert!(
            table.contains("| `passkey unlock` | typed-unsupported |"),
            "{table}"
        );
        assert!(table.contains("| `push` | **fail** |"), "{table}");
        assert!(table.contains("| `later` | **fail** |"), "{table}");
        assert!(!table.contains("inner"), "{table}");
        assert!(!s.all_passed(&[Engine::Firefox]));
    }
}
