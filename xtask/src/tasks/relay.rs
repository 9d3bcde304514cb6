//! The relay's checks that need servers: a throwaway PostgreSQL server on loopback and the
//! Worker on local workerd for the vending conformance tests (`cargo xtask test`) and the
//! load test (`cargo xtask loadtest`).
//!
//! Finds `initdb`/`pg_ctl` on `PATH` or under `/usr/lib/postgresql/<version>/bin`, installing
//! Debian's `postgresql` package when neither has them. PostgreSQL refuses to run as root, so
//! as root the server runs as the `postgres` user (`runuser`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result, ensure};

use crate::cmd::{command, exec};
use crate::setup;

/// A running PostgreSQL cluster in a temporary directory; stopped and removed on drop.
pub(crate) struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`.
fn find_bin() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() {
                return Some(d);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn install() -> Result<()> {
    setup::apt_install(&["postgresql"], false).context("PostgreSQL (initdb, pg_ctl)")
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .context("no free loopback port")
}

/// The directory of `initdb` and `pg_ctl`, installing PostgreSQL when they are missing.
pub(crate) fn postgres_bin() -> Result<PathBuf> {
    match find_bin() {
        Some(b) => Ok(b),
        None => {
            install()?;
            find_bin().context("PostgreSQL installed but initdb not found")
        }
    }
}

impl Postgres {
    /// Initializes and starts a cluster on a free loopback port.
    pub(crate) fn start() -> Result<Self> {
        let bin = postgres_bin()?;
        let as_postgres = setup::is_root();
        let dir = std::env::temp_dir().join(format!("kms-relay-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if as_postgres {
            exec(Command::new("chown").args(["postgres", &dir.to_string_lossy()]))?;
        }
        let pg = Self {
            dir,
            bin,
            port: free_port()?,
            as_postgres,
        };
        let data = pg.dir.join("data");
        exec(&mut pg.tool(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
            ],
        ))?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            pg.port,
            pg.dir.display()
        );
        exec(&mut pg.tool(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &pg.dir.join("server.log").to_string_lossy(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        ))?;
        Ok(pg)
    }

    /// The connection string for the `postgres` database.
    pub(crate) fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    fn tool(&self, name: &str, args: &[&str]) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program).args(args);
            c.current_dir(&self.dir);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args).current_dir(&self.dir);
            c
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .tool(
                "pg_ctl",
                &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
            )
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `tests` (a `cargo test` command that includes kms-relay's suites) with PostgreSQL
/// and the Worker on local workerd required: a missing server or an unbuilt Worker fails
/// them instead of skipping them.
pub(crate) fn with_servers(mut tests: Command) -> Result<()> {
    super::worker::build()?;
    let pg = Postgres::start()?;
    tests
        .env("KMS_RELAY_PG_URL", pg.url())
        .env("KMS_RELAY_REQUIRE_PG", "1")
        .env("KMS_RELAY_REQUIRE_WORKER", "1");
    exec(&mut tests)
}

/// A Python with pyca/cryptography: the one on `PATH`, or Debian's (installed if needed).
pub(crate) fn python_with_cryptography() -> Result<String> {
    let works = |py: &str| {
        Command::new(py)
            .args(["-c", "import cryptography"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    for py in ["python3", "/usr/bin/python3"] {
        if works(py) {
            return Ok(py.to_owned());
        }
    }
    setup::apt_install(&["python3-cryptography"], false).context(
        "the envelope vector check needs Python 3 with pyca/cryptography \
         (or `pip install cryptography`)",
    )?;
    ensure!(
        works("/usr/bin/python3"),
        "python3-cryptography installed but not importable"
    );
    Ok("/usr/bin/python3".into())
}

/// `docs/formats/envelope.md`'s test vector, recomputed with pyca/cryptography (an
/// independent implementation).
pub(crate) fn envelope_vector() -> Result<()> {
    let py = python_with_cryptography()?;
    exec(&mut command(
        &py,
        &[
            "interop/envelope/check_vector.py",
            "kms-core/tests/envelope_vector.json",
        ],
    ))
}

/// `cargo xtask loadtest`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadtestArgs {
    /// Arguments for `kms-relay loadtest` (see `kms-relay loadtest --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// `cargo xtask loadtest`: 10 000 keys, 64 clients, SQLite, PostgreSQL and the Worker on
/// local workerd; prints takes/s.
pub(crate) fn loadtest(args: &LoadtestArgs) -> Result<()> {
    let worker = super::worker::build()?;
    let worker = worker.to_string_lossy();
    let pg = Postgres::start()?;
    let mut forwarded = vec![
        "run",
        "--profile",
        "loadtest",
        "--locked",
        "-p",
        "kms-relay",
        "--bin",
        "kms-relay",
        "--",
        "loadtest",
        "--worker-dir",
        &worker,
    ];
    // Every backend unless `--backend` says otherwise.
    if !args.args.iter().any(|a| a.starts_with("--backend")) {
        forwarded.extend(["--backend", "all"]);
    }
    forwarded.extend(args.args.iter().map(String::as_str));
    let mut c = command("cargo", &forwarded);
    c.env("KMS_RELAY_PG_URL", pg.url());
    exec(&mut c)
}
