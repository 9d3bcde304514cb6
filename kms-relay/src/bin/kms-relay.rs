//! `kms-relay`: the prekey vending server and its load test (`kms-relay --help`).
//!
//! ```text
//! kms-relay serve --owner-identity <b64> --issuer <origin> --audience <id>
//!                 (--jwks-file <path> | --jwks-url <url>)
//!                 [--db sqlite:<path> | --db postgres:<url>] [--bind 127.0.0.1:8787]
//!                 [--threads 16] [--rate <burst>/<per-sec>] [--retry-after <secs>]
//! kms-relay loadtest [--backend sqlite|postgres|both|worker|all] [--keys 10000]
//!                    [--clients 64] [--pg-url <url>]     (default: $KMS_RELAY_PG_URL)
//!                    [--worker-dir kms-relay/worker]
//! kms-relay push send --subscription <file> --authorization "vapid t=…, k=…"
//!                     --payload <text> [--ttl 60] [--urgency high] [--topic <t>]
//! ```
//!
//! `push send` prints one JSON line (`{"status":201,"outcome":"delivered",…}`) and exits 0
//! when the push service accepted the message, 2 when it (or the size check) refused it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kms_core::signal::identity::PublicKey;
use kms_core::{Clock, SystemClock};
use kms_relay::jwks::{FileJwks, HttpJwks, JwksSource, KeyStore};
use kms_relay::loadtest::{self, LoadTest};
use kms_relay::server::{self, RateLimit, ServerConfig, UPLOAD_SCOPE};
use kms_relay::vending::postgres::PostgresVending;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::verify::{Policy, Verifier};
use kms_relay::webpush::{self, SendError, SendOptions, Subscription, Urgency};

/// The one-time prekey vending server of the key management enclave, and its load test.
#[derive(Parser)]
#[command(name = "kms-relay", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the vending API (see docs/relay.md) until killed.
    Serve(Serve),
    /// Drain prekeys with many concurrent clients and print takes per second.
    Loadtest(Load),
    /// Web Push: send a message to a browser's push subscription.
    #[command(subcommand)]
    Push(Push),
}

#[derive(Subcommand)]
enum Push {
    /// Encrypt a payload to a subscription (RFC 8291) and POST it to its push service.
    Send(PushSend),
}

#[derive(clap::Args)]
struct PushSend {
    /// The subscription: a file holding `PushSubscription.toJSON()`.
    #[arg(long, value_name = "FILE")]
    subscription: PathBuf,
    /// The `Authorization` value the enclave signed (`vapid t=<jwt>, k=<key>`).
    #[arg(long, value_name = "VALUE")]
    authorization: String,
    /// The message (UTF-8 text).
    #[arg(long, value_name = "TEXT")]
    payload: String,
    /// `TTL` in seconds.
    #[arg(long, default_value_t = 60)]
    ttl: u32,
    /// `Urgency`.
    #[arg(long, value_enum)]
    urgency: Option<UrgencyArg>,
    /// `Topic`.
    #[arg(long)]
    topic: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum UrgencyArg {
    VeryLow,
    Low,
    Normal,
    High,
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("jwks").required(true).args(["jwks_file", "jwks_url"]))]
struct Serve {
    /// The owner's Signal identity key (base64url of `0x05 ‖ u`): uploads must verify under it.
    #[arg(long, value_name = "B64")]
    owner_identity: String,
    /// The relay-token issuer to accept (the owner's origin).
    #[arg(long, value_name = "ORIGIN")]
    issuer: String,
    /// The relay-token audience to accept (this service's identifier).
    #[arg(long, value_name = "ID")]
    audience: String,
    /// The owner's relay-token keys, a JWKS file (re-read on refresh).
    #[arg(long, value_name = "PATH")]
    jwks_file: Option<PathBuf>,
    /// The owner's relay-token keys, fetched from a URL.
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// Storage: `sqlite:<path>` (created on first start) or `postgres:<connection string>`.
    #[arg(long, value_name = "DB", default_value = "sqlite:kms-vending.db")]
    db: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    bind: SocketAddr,
    /// Worker threads.
    #[arg(long, default_value_t = 16)]
    threads: usize,
    /// Per-address token bucket for prekey takes: `<burst>/<per-second>`, or `off`.
    #[arg(long, value_name = "BURST/PER-SEC", default_value = "20/2")]
    rate: String,
    /// `Retry-After` seconds on 503 (no prekey left).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    retry_after: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
    /// SQLite and PostgreSQL.
    Both,
    /// The Cloudflare Worker on local workerd with D1 (needs `--worker-dir`).
    Worker,
    /// SQLite, PostgreSQL and the Worker, in one run.
    All,
}

#[derive(clap::Args)]
struct Load {
    /// Which storage to test.
    #[arg(long, value_enum, default_value = "both")]
    backend: Backend,
    /// Prekeys uploaded, then drained.
    #[arg(long, default_value_t = 10_000)]
    keys: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Server worker threads (and PostgreSQL connections).
    #[arg(long, default_value_t = 16)]
    threads: usize,
    /// PostgreSQL connection string (default: `$KMS_RELAY_PG_URL`).
    #[arg(long, value_name = "URL")]
    pg_url: Option<String>,
    /// The Worker's directory (`kms-relay/worker`, built with `cargo xtask worker build`).
    #[arg(long, value_name = "DIR")]
    worker_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(s) => serve(&s),
        Command::Loadtest(l) => load(&l),
        Command::Push(Push::Send(p)) => return push_send(&p),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--rate`: `<burst>/<per-sec>` or `off`.
fn rate_limit(text: &str) -> Result<Option<RateLimit>> {
    RateLimit::parse(text).context("--rate")
}

fn serve(o: &Serve) -> Result<()> {
    let identity = kms_core::hazmat::b64::decode(&o.owner_identity)
        .context("--owner-identity")
        .and_then(|b| PublicKey::deserialize(&b).context("--owner-identity"))?;
    let source: Box<dyn JwksSource> = match (&o.jwks_file, &o.jwks_url) {
        (Some(f), None) => Box::new(FileJwks(f.clone())),
        (None, Some(u)) => Box::new(HttpJwks::new(u.clone())),
        _ => bail!("give exactly one of --jwks-file, --jwks-url"),
    };
    let keys =
        KeyStore::new(source, SystemClock.now_secs()).context("loading the relay-token keys")?;
    let policy = Policy::new(&o.issuer, &o.audience).with_scope(UPLOAD_SCOPE);
    let verifier = Arc::new(Verifier::new(keys, policy, SystemClock));
    let config = ServerConfig {
        bind: o.bind,
        threads: o.threads,
        rate_limit: rate_limit(&o.rate)?,
        owner_identity: identity,
        retry_after_secs: o.retry_after,
    };
    let running = if let Some(path) = o.db.strip_prefix("sqlite:") {
        let store = SqliteVending::open(&PathBuf::from(path))
            .with_context(|| format!("opening the SQLite store {path}"))?;
        server::start(Arc::new(store), verifier, config)
    } else if let Some(url) = o.db.strip_prefix("postgres:") {
        let store = PostgresVending::connect(url, 8).context("connecting to PostgreSQL")?;
        server::start(Arc::new(store), verifier, config)
    } else {
        bail!("--db: expected sqlite:<path> or postgres:<url>");
    }?;
    println!("kms-relay: vending service on {}", running.url());
    running.join();
    Ok(())
}

fn load(o: &Load) -> Result<()> {
    let t = LoadTest {
        keys: o.keys,
        clients: o.clients,
        threads: o.threads,
    };
    if matches!(o.backend, Backend::Sqlite | Backend::Both | Backend::All) {
        let dir = std::env::temp_dir().join(format!("kms-relay-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("vending.db");
        let store = SqliteVending::open(&path)
            .with_context(|| format!("opening the SQLite store {}", path.display()))?;
        let r = loadtest::run(store, t);
        let _ = std::fs::remove_dir_all(&dir);
        report("SQLite", &t, &r.context("loadtest SQLite")?);
    }
    if matches!(o.backend, Backend::Postgres | Backend::Both | Backend::All) {
        let url = match &o.pg_url {
            Some(u) => u.clone(),
            None => std::env::var("KMS_RELAY_PG_URL")
                .context("PostgreSQL: set --pg-url or KMS_RELAY_PG_URL")?,
        };
        let store =
            PostgresVending::connect(&url, t.threads).context("connecting to PostgreSQL")?;
        store.reset().context("resetting the PostgreSQL store")?;
        let r = loadtest::run(store, t).context("loadtest PostgreSQL")?;
        report("PostgreSQL", &t, &r);
    }
    if matches!(o.backend, Backend::Worker | Backend::All) {
        let dir = o
            .worker_dir
            .as_deref()
            .context("the Worker: set --worker-dir")?;
        let r = loadtest::run_worker(dir, t).context("loadtest Worker")?;
        report("Worker (workerd + D1)", &t, &r);
    }
    Ok(())
}

fn report(name: &str, t: &LoadTest, r: &loadtest::LoadReport) {
    println!(
        "loadtest {name}: {} keys, {} clients: {} taken, 0 duplicates, 0 lost, then 503; \
         {:.2} s, {:.0} takes/s ({} takes sent again after the server closed a connection)",
        t.keys, t.clients, r.taken, r.seconds, r.takes_per_sec, r.reconnects
    );
}

/// Exit status of `push send` when the message was refused.
const REFUSED: u8 = 2;

fn push_send(o: &PushSend) -> ExitCode {
    let subscription = match std::fs::read_to_string(&o.subscription)
        .with_context(|| format!("reading {}", o.subscription.display()))
        .and_then(|t| {
            Subscription::from_json(&t)
                .with_context(|| format!("{}: not a push subscription", o.subscription.display()))
        }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kms-relay: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let options = SendOptions {
        ttl: o.ttl,
        urgency: o.urgency.map(|u| match u {
            UrgencyArg::VeryLow => Urgency::VeryLow,
            UrgencyArg::Low => Urgency::Low,
            UrgencyArg::Normal => Urgency::Normal,
            UrgencyArg::High => Urgency::High,
        }),
        topic: o.topic.clone(),
    };
    match webpush::send(
        &subscription,
        &o.authorization,
        o.payload.as_bytes(),
        &options,
    ) {
        Ok(d) => {
            println!(
                "{}",
                serde_json::json!({"status": d.status, "outcome": "delivered", "location": d.location})
            );
            ExitCode::SUCCESS
        }
        Err(SendError::Transport(e)) => {
            eprintln!("kms-relay: push service unreachable: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            let mut line = serde_json::json!({"status": e.status(), "outcome": e.outcome()});
            if let Some(body) = e.body() {
                line["body"] = body.into();
            } else {
                line["error"] = e.to_string().into();
            }
            println!("{line}");
            ExitCode::from(REFUSED)
        }
    }
}
