//! The vending Worker (`kms-relay/worker`) running on this machine: workerd from npm, driven
//! by Miniflare with a local D1 database, no account and no network. The tests and the load
//! test start it to run the same suites against it as against `kms-relay serve`.
//!
//! [`LocalWorker::start`] runs `node harness.mjs` in the Worker's directory (which needs its
//! `npm ci` and its wasm module built: `cargo xtask worker build`), reads the URL it prints,
//! and stops it when dropped. See `harness.mjs` for its line protocol.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use kms_core::jwk::Jwks;
use kms_core::signal::identity::PublicKey;

use crate::ratelimit::RateLimit;

/// What the harness prefixes its protocol lines with.
const PREFIX: &str = "kms-worker: ";

/// How long the Worker may take to start (workerd and the wasm module's compilation).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The Worker could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerdError {
    /// A file the harness needs is missing.
    #[error("{path} is missing: {hint}")]
    NotReady {
        /// The file.
        path: PathBuf,
        /// What makes it.
        hint: &'static str,
    },
    /// `node` could not be started or spoken to.
    #[error("running node: {0}")]
    Io(#[from] std::io::Error),
    /// The harness stopped before answering.
    #[error("the Worker harness exited while {0}")]
    Exited(&'static str),
    /// The harness did not answer in time.
    #[error("the Worker harness did not answer in time while {0}")]
    Timeout(&'static str),
    /// The settings could not be written for the harness.
    #[error("encoding the Worker's settings: {0}")]
    Settings(String),
}

/// The Worker's settings (its `[vars]` in `wrangler.toml`).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `OWNER_IDENTITY`.
    pub owner_identity: PublicKey,
    /// `ISSUER`.
    pub issuer: String,
    /// `AUDIENCE`.
    pub audience: String,
    /// `JWKS`.
    pub jwks: Jwks,
    /// `RATE` (`None`: `off`).
    pub rate_limit: Option<RateLimit>,
    /// `RETRY_AFTER`.
    pub retry_after_secs: u64,
    /// D1's directory on disk, as `wrangler d1 … --local --persist-to DIR` writes it
    /// (`DIR/v3/d1`); `None` keeps the database in memory.
    pub persist: Option<PathBuf>,
}

/// A running local Worker; stopped when dropped.
pub struct LocalWorker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    url: String,
}

impl core::fmt::Debug for LocalWorker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LocalWorker({})", self.url)
    }
}

/// Checks that `dir` has what the harness needs: its npm packages and the wasm module.
///
/// # Errors
/// [`WorkerdError::NotReady`] naming the first missing file.
pub fn check_ready(dir: &Path) -> Result<(), WorkerdError> {
    for (rel, hint) in [
        (
            "node_modules/miniflare/package.json",
            "run `npm ci` in the Worker's directory",
        ),
        (
            "build/kms_relay_worker_bg.wasm",
            "run `cargo xtask worker build`",
        ),
    ] {
        let path = dir.join(rel);
        if !path.is_file() {
            return Err(WorkerdError::NotReady { path, hint });
        }
    }
    Ok(())
}

impl LocalWorker {
    /// Starts the Worker in `dir` (the `kms-relay/worker` directory) on a free loopback port.
    ///
    /// # Errors
    /// [`WorkerdError`] if it is not built or does not start.
    pub fn start(dir: &Path, settings: &WorkerSettings) -> Result<Self, WorkerdError> {
        check_ready(dir)?;
        let rate = match settings.rate_limit {
            None => "off".to_owned(),
            Some(l) => format!("{}/{}", l.burst, l.per_sec),
        };
        let jwks = serde_json::to_string(&settings.jwks)
            .map_err(|e| WorkerdError::Settings(e.to_string()))?;
        let vars = serde_json::json!({
            "OWNER_IDENTITY": kms_core::hazmat::b64::encode(settings.owner_identity.serialize()),
            "ISSUER": settings.issuer,
            "AUDIENCE": settings.audience,
            "JWKS": jwks,
            "RATE": rate,
            "RETRY_AFTER": settings.retry_after_secs.to_string(),
        });
        let mut command = Command::new("node");
        command
            .arg("harness.mjs")
            .current_dir(dir)
            .env("KMS_WORKER_VARS", vars.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(p) = &settings.persist {
            command.env("KMS_WORKER_PERSIST", p.join("v3").join("d1"));
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or(WorkerdError::Exited("starting"))?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.strip_prefix(PREFIX) {
                    Some(msg) => {
                        if tx.send(msg.to_owned()).is_err() {
                            break;
                        }
                    }
                    // The Worker's own log lines.
                    None => eprintln!("worker: {line}"),
                }
            }
        });
        let mut worker = Self {
            child,
            stdin,
            lines,
            url: String::new(),
        };
        let ready = worker.expect("starting", START_TIMEOUT, |m| m.starts_with("ready "))?;
        worker.url = ready.trim_start_matches("ready ").trim().to_owned();
        Ok(worker)
    }

    /// The Worker's base URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Empties the Worker's tables (a fresh store for the next check).
    ///
    /// # Errors
    /// [`WorkerdError`] if the harness does not confirm.
    pub fn reset(&mut self) -> Result<(), WorkerdError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or(WorkerdError::Exited("resetting"))?;
        stdin.write_all(b"reset\n")?;
        stdin.flush()?;
        self.expect("resetting", Duration::from_secs(30), |m| m == "reset")
            .map(|_| ())
    }

    fn expect(
        &mut self,
        what: &'static str,
        timeout: Duration,
        want: impl Fn(&str) -> bool,
    ) -> Result<String, WorkerdError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(m) if want(&m) => return Ok(m),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(WorkerdError::Timeout(what)),
                Err(RecvTimeoutError::Disconnected) => return Err(WorkerdError::Exited(what)),
            }
        }
    }
}

impl Drop for LocalWorker {
    fn drop(&mut self) {
        // Closing stdin asks the harness to stop workerd and exit.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
