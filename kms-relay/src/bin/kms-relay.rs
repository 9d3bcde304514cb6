//! `kms-relay`: the prekey vending server and its load test.
//!
//! ```text
//! kms-relay serve --owner-identity <b64> --issuer <origin> --audience <id>
//!                 (--jwks-file <path> | --jwks-url <url>)
//!                 [--db sqlite:<path> | --db postgres:<url>] [--bind 127.0.0.1:8787]
//!                 [--threads 16] [--rate <burst>/<per-sec>] [--retry-after <secs>]
//! kms-relay loadtest [--backend sqlite|postgres|both] [--keys 10000] [--clients 64]
//!                    [--pg-url <url>]     (default: $KMS_RELAY_PG_URL)
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kms_core::clock::{Clock, SystemClock};
use kms_core::signal::identity::PublicKey;
use kms_relay::jwks::{FileJwks, HttpJwks, JwksSource, KeyStore};
use kms_relay::loadtest::{self, LoadTest};
use kms_relay::server::{self, RateLimit, ServerConfig, UPLOAD_SCOPE};
use kms_relay::vending::postgres::PostgresVending;
use kms_relay::vending::sqlite::SqliteVending;
use kms_relay::verify::{Policy, Verifier};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((cmd, rest)) if cmd == "serve" => options(rest).and_then(|o| serve(&o)),
        Some((cmd, rest)) if cmd == "loadtest" => options(rest).and_then(|o| load(&o)),
        _ => Err(
            "usage: kms-relay serve ... | kms-relay loadtest ... (see docs/relay.md)".to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs.
fn options(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {a:?}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.insert(name.to_owned(), value.clone());
    }
    Ok(out)
}

fn required<'a>(o: &'a HashMap<String, String>, name: &str) -> Result<&'a str, String> {
    o.get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("--{name} is required"))
}

fn number<T: std::str::FromStr>(
    o: &HashMap<String, String>,
    name: &str,
    default: T,
) -> Result<T, String> {
    match o.get(name) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("--{name}: not a number: {v:?}")),
        None => Ok(default),
    }
}

fn serve(o: &HashMap<String, String>) -> Result<(), String> {
    let identity = kms_core::b64::decode(required(o, "owner-identity")?)
        .map_err(|e| format!("--owner-identity: {e}"))
        .and_then(|b| PublicKey::deserialize(&b).map_err(|e| format!("--owner-identity: {e}")))?;
    let source: Box<dyn JwksSource> = match (o.get("jwks-file"), o.get("jwks-url")) {
        (Some(f), None) => Box::new(FileJwks(PathBuf::from(f))),
        (None, Some(u)) => Box::new(HttpJwks::new(u.clone())),
        _ => return Err("give exactly one of --jwks-file, --jwks-url".into()),
    };
    let keys = KeyStore::new(source, SystemClock.now_secs()).map_err(|e| e.to_string())?;
    let policy =
        Policy::new(required(o, "issuer")?, required(o, "audience")?).with_scope(UPLOAD_SCOPE);
    let verifier = Arc::new(Verifier::new(keys, policy, SystemClock));
    let rate_limit = match o.get("rate") {
        None => Some(RateLimit {
            burst: 20.0,
            per_sec: 2.0,
        }),
        Some(v) if v == "off" => None,
        Some(v) => {
            let (b, r) = v
                .split_once('/')
                .ok_or("--rate: expected <burst>/<per-sec> or off")?;
            Some(RateLimit {
                burst: b.parse().map_err(|_| "--rate: bad burst")?,
                per_sec: r.parse().map_err(|_| "--rate: bad rate")?,
            })
        }
    };
    let config = ServerConfig {
        bind: o
            .get("bind")
            .map_or("127.0.0.1:8787", String::as_str)
            .parse()
            .map_err(|e| format!("--bind: {e}"))?,
        threads: number(o, "threads", 16)?,
        rate_limit,
        owner_identity: identity,
        retry_after_secs: number(o, "retry-after", 60)?,
    };
    let db = o.get("db").map_or("sqlite:kms-vending.db", String::as_str);
    let running = if let Some(path) = db.strip_prefix("sqlite:") {
        let store = SqliteVending::open(&PathBuf::from(path)).map_err(|e| e.to_string())?;
        server::start(Arc::new(store), verifier, config)
    } else if let Some(url) = db.strip_prefix("postgres:") {
        let store = PostgresVending::connect(url, 8).map_err(|e| e.to_string())?;
        server::start(Arc::new(store), verifier, config)
    } else {
        return Err("--db: expected sqlite:<path> or postgres:<url>".into());
    }
    .map_err(|e| e.to_string())?;
    println!("kms-relay: vending service on {}", running.url());
    running.join();
    Ok(())
}

fn load(o: &HashMap<String, String>) -> Result<(), String> {
    let t = LoadTest {
        keys: number(o, "keys", 10_000)?,
        clients: number(o, "clients", 64)?,
        threads: number(o, "threads", 16)?,
    };
    let backend = o.get("backend").map_or("both", String::as_str);
    let mut ran = false;
    if backend == "sqlite" || backend == "both" {
        let dir = std::env::temp_dir().join(format!("kms-relay-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("vending.db");
        let store = SqliteVending::open(&path).map_err(|e| e.to_string())?;
        let r = loadtest::run(store, t);
        let _ = std::fs::remove_dir_all(&dir);
        report("SQLite", &t, &r?);
        ran = true;
    }
    if backend == "postgres" || backend == "both" {
        let url = match o.get("pg-url") {
            Some(u) => u.clone(),
            None => std::env::var("KMS_RELAY_PG_URL")
                .map_err(|_| "PostgreSQL: set --pg-url or KMS_RELAY_PG_URL")?,
        };
        let store = PostgresVending::connect(&url, t.threads).map_err(|e| e.to_string())?;
        store.reset().map_err(|e| e.to_string())?;
        let r = loadtest::run(store, t)?;
        report("PostgreSQL", &t, &r);
        ran = true;
    }
    if !ran {
        return Err("--backend: expected sqlite, postgres or both".into());
    }
    Ok(())
}

fn report(name: &str, t: &LoadTest, r: &loadtest::LoadReport) {
    println!(
        "loadtest {name}: {} keys, {} clients: {} taken, 0 duplicates, 0 lost, then 503; \
         {:.2} s, {:.0} takes/s",
        t.keys, t.clients, r.taken, r.seconds, r.takes_per_sec
    );
}
