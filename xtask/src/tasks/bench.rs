//! `cargo xtask bench`: the browser benchmarks in headless Chromium — each figure beside the
//! browser's native WebCrypto measured in the same run — plus the shipped sizes. Writes
//! `target/bench/browser.json` and prints a Markdown table. `--native` runs kms-core's
//! Criterion benchmarks instead.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::cmd::{command, exec, root};
use crate::{setup, site};

/// `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Run kms-core's Criterion benchmarks instead of the browser ones.
    #[arg(long)]
    native: bool,
    /// With `--native`: arguments for Criterion (a filter, `--quick`, ...).
    #[arg(
        requires = "native",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    criterion: Vec<String>,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    if args.native {
        let mut c = command("cargo", &["bench", "--locked", "-p", "kms-core"]);
        if !args.criterion.is_empty() {
            c.arg("--").args(&args.criterion);
        }
        return exec(&mut c);
    }
    setup::chromium()?;
    // The shipped sizes are the release build's, without the benchmark exports; the
    // benchmarks then run on a build with them.
    site::build(site::Layout::Localhost)?;
    let shipped = sizes()?;
    let session = session_code(&site::release_wasm())?;
    site::build_with(site::Layout::Localhost, &["bench"])?;
    let enclave = site::out_dir().join("enclave");
    // The unlock benchmark times the core's passphrase unlock without a person typing:
    // only this build's page allows a page-held passphrase (never a release's).
    let page = enclave.join("index.html");
    let html =
        std::fs::read_to_string(&page).with_context(|| format!("reading {}", page.display()))?;
    let html = html.replacen(
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\">\n<meta name=\"kms-policy\" content='{\"pagePassphraseUnlock\": true}'>",
        1,
    );
    std::fs::write(&page, html).with_context(|| format!("writing {}", page.display()))?;
    for f in ["enclave-bench.html", "enclave-bench.js"] {
        std::fs::copy(root().join("e2e/bench").join(f), enclave.join(f))
            .with_context(|| format!("copying {f}"))?;
    }
    let served = site::serve(site::Layout::Localhost)?;
    let e2e = setup::npm("e2e")?;
    println!("$ node bench.mjs");
    let mut node = Command::new("node");
    served.apply(&mut node);
    let out = node
        .arg("bench.mjs")
        .current_dir(e2e)
        .env("CHROMIUM", setup::CHROMIUM)
        .stderr(Stdio::inherit())
        .output()
        .context("could not start `node bench.mjs`")?;
    if !out.status.success() {
        bail!("node bench.mjs failed ({})", out.status);
    }
    let mut results: Value =
        serde_json::from_slice(&out.stdout).context("benchmark output is not JSON")?;
    results["sizes"] = shipped;
    results["sizes"]["sessionCode"] = session;
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let text = serde_json::to_string_pretty(&results).context("encoding the results")?;
    std::fs::write(dir.join("browser.json"), text + "\n")
        .context("writing target/bench/browser.json")?;
    println!("{}", table(&results));
    println!("(written to target/bench/browser.json)");
    let targets = targets(&results);
    println!("{}", targets_table(&targets));
    let missed: Vec<&str> = targets
        .iter()
        .filter(|t| !t.met())
        .map(|t| t.name)
        .collect();
    if !missed.is_empty() {
        bail!(
            "{} of {} targets missed: {}",
            missed.len(),
            targets.len(),
            missed.join("; ")
        );
    }
    Ok(())
}

/// One target of the benchmarks: a measured figure and the most it may be.
struct Target {
    name: &'static str,
    measured: f64,
    limit: f64,
    unit: &'static str,
}

impl Target {
    /// Met when measured, and at most its limit (a figure that is missing misses).
    fn met(&self) -> bool {
        self.measured.is_finite() && self.measured <= self.limit
    }
}

/// The targets `cargo xtask bench` holds the enclave to, from one run's results.
fn targets(r: &Value) -> Vec<Target> {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let (rpc, p, s) = (&r["rpc"], &r["primitives"], &r["sizes"]);
    let ratio = |a: &Value, b: &Value| f(a) / f(b);
    // The measure of the engine the enclave chose for `alg` (`link`'s `engines`): its signer
    // over WebCrypto, or its WebAssembly.
    let as_the_enclave_signs = |alg: &str, measure: &str| match rpc["engines"][alg].as_str() {
        Some("webCrypto") => format!("{measure}Signer"),
        _ => format!("{measure}Sign"),
    };
    vec![
        Target {
            name: "shipped enclave (page, bootstrap, glue, wasm), gzip",
            measured: f(&s["enclave"]["gzip"]) / 1000.0,
            limit: 150.0,
            unit: " KB",
        },
        Target {
            name: "VAPID `Authorization` through the RPC, p50",
            measured: f(&rpc["vapidAuthorizationRpcMs"]["p50"]),
            limit: 0.5,
            unit: " ms",
        },
        Target {
            name: "every signed operation through the RPC (VAPID, relay tokens), worst p99",
            measured: [
                &rpc["vapidAuthorizationRpcMs"]["p99"],
                &rpc["relayTokenRpcMs"]["EdDSA"]["p99"],
                &rpc["relayTokenRpcMs"]["ES256"]["p99"],
            ]
            .into_iter()
            .map(f)
            .fold(f64::NEG_INFINITY, f64::max),
            limit: 2.0,
            unit: " ms",
        },
        Target {
            name: "passphrase unlock vs WebCrypto PBKDF2-600k",
            measured: ratio(&rpc["unlockPassphraseMs"], &rpc["webcryptoPbkdf2Ms"]),
            limit: 1.1,
            unit: "×",
        },
        Target {
            name: "ES256 sign, where the enclave signs it, vs WebCrypto",
            measured: f(&p[as_the_enclave_signs("es256", "es256")]["ratio"]),
            limit: 1.1,
            unit: "×",
        },
        Target {
            name: "Ed25519 sign, where the enclave signs it, vs WebCrypto",
            measured: f(&p[as_the_enclave_signs("eddsa", "ed25519")]["ratio"]),
            limit: 1.1,
            unit: "×",
        },
        Target {
            name: "X25519 vs WebCrypto",
            measured: f(&p["x25519"]["ratio"]),
            limit: 1.1,
            unit: "×",
        },
    ]
}

fn targets_table(targets: &[Target]) -> String {
    let mut t = String::from("Targets\n\n| Target | Measured | At most | |\n|---|---|---|---|\n");
    for x in targets {
        t.push_str(&format!(
            "| {} | {:.2}{} | {}{} | {} |\n",
            x.name,
            x.measured,
            x.unit,
            x.limit,
            x.unit,
            if x.met() { "met" } else { "**missed**" }
        ));
    }
    t
}

/// Raw and gzip sizes of what the browser downloads: the enclave (page, bootstrap, glue,
/// wasm) and the client SDK.
fn sizes() -> Result<Value> {
    let out = site::out_dir();
    let groups: [(&str, Vec<std::path::PathBuf>); 2] = [
        (
            "enclave",
            [
                "index.html",
                "bootstrap.js",
                "kms_wasm.js",
                "kms_wasm_bg.wasm",
            ]
            .iter()
            .map(|f| out.join("enclave").join(f))
            .collect(),
        ),
        (
            "sdk",
            ["index.js", "generated/rpc.js"]
                .iter()
                .map(|f| out.join("app/sdk").join(f))
                .collect(),
        ),
    ];
    let mut result = serde_json::Map::new();
    let mut total = (0u64, 0u64);
    for (name, files) in groups {
        let mut raw = 0u64;
        let mut gz = 0u64;
        for f in &files {
            raw += std::fs::metadata(f)
                .with_context(|| format!("reading {}", f.display()))?
                .len();
            gz += gzip_len(f)?;
        }
        total.0 += raw;
        total.1 += gz;
        result.insert(name.into(), json!({ "raw": raw, "gzip": gz }));
    }
    let wasm = out.join("enclave/kms_wasm_bg.wasm");
    let wasm_len = std::fs::metadata(&wasm)
        .with_context(|| format!("reading {}", wasm.display()))?
        .len();
    result.insert(
        "wasm".into(),
        json!({ "raw": wasm_len, "gzip": gzip_len(&wasm)? }),
    );
    result.insert("total".into(), json!({ "raw": total.0, "gzip": total.1 }));
    Ok(Value::Object(result))
}

/// The symbol paths of the Signal session code: sessions, the ratchets, the wire messages,
/// safety numbers and the service's session operations, as a mangled symbol spells a path
/// (`<len><ident>` components) and as a generic argument inside one spells it (`a..b`, so
/// drop glue and containers of session types count too).
const SESSION_MODULES: &[&str] = &[
    "6signal7session",
    "6signal7ratchet",
    "6signal10pq_ratchet",
    "6signal4wire",
    "6signal11fingerprint",
    "10signal_ops8sessions",
    "kms_core..signal..session..",
    "kms_core..signal..ratchet..",
    "kms_core..signal..pq_ratchet..",
    "kms_core..signal..wire..",
    "kms_core..signal..fingerprint..",
    "kms_core..service..signal_ops..sessions..",
];

/// How many bytes of the enclave's wasm code are the Signal session code: the bodies of the
/// functions whose symbols lie in [`SESSION_MODULES`], read from the wasm's code and name
/// sections (the release build keeps its names until wasm-bindgen drops them). A lower
/// bound: link-time optimisation inlines some of that code into its callers.
fn session_code(wasm: &Path) -> Result<Value> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let (bodies, names) =
        wasm_functions(&bytes).with_context(|| format!("reading {}", wasm.display()))?;
    let (mut code, mut functions, mut total) = (0u64, 0u64, 0u64);
    for (index, size) in &bodies {
        total += size;
        if names
            .get(index)
            .is_some_and(|n| SESSION_MODULES.iter().any(|m| n.contains(m)))
        {
            code += size;
            functions += 1;
        }
    }
    if names.is_empty() {
        bail!("{} has no name section", wasm.display());
    }
    Ok(json!({ "raw": code, "functions": functions, "allCode": total }))
}

/// A wasm module's function bodies (function index → body size) and function names.
fn wasm_functions(
    b: &[u8],
) -> Result<(
    std::collections::BTreeMap<u32, u64>,
    std::collections::BTreeMap<u32, String>,
)> {
    struct R<'a> {
        b: &'a [u8],
        i: usize,
    }
    impl R<'_> {
        fn byte(&mut self) -> Result<u8> {
            let v = *self.b.get(self.i).context("truncated wasm")?;
            self.i += 1;
            Ok(v)
        }
        fn leb(&mut self) -> Result<u64> {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let x = self.byte()?;
                v |= u64::from(x & 0x7f) << shift;
                if x < 0x80 {
                    return Ok(v);
                }
                shift += 7;
                if shift > 63 {
                    bail!("overlong LEB128");
                }
            }
        }
        fn u32(&mut self) -> Result<u32> {
            u32::try_from(self.leb()?).context("LEB128 beyond u32")
        }
        fn take(&mut self, n: u64) -> Result<&[u8]> {
            let n = usize::try_from(n)?;
            let s = self.b.get(self.i..self.i + n).context("truncated wasm")?;
            self.i += n;
            Ok(s)
        }
        fn limits(&mut self) -> Result<()> {
            let flags = self.byte()?;
            self.leb()?;
            if flags & 1 != 0 {
                self.leb()?;
            }
            Ok(())
        }
    }
    let mut r = R { b, i: 8 };
    let (mut imported, mut bodies, mut names) = (0u32, Default::default(), Default::default());
    while r.i < b.len() {
        let id = r.byte()?;
        let len = r.leb()?;
        let mut s = R {
            b: r.take(len)?,
            i: 0,
        };
        match id {
            // Imports: count the functions, which come first in the index space.
            2 => {
                for _ in 0..s.u32()? {
                    let module = s.leb()?;
                    s.take(module)?;
                    let field = s.leb()?;
                    s.take(field)?;
                    match s.byte()? {
                        0 => {
                            s.u32()?;
                            imported += 1;
                        }
                        1 => {
                            s.byte()?;
                            s.limits()?;
                        }
                        2 => s.limits()?,
                        3 => {
                            s.byte()?;
                            s.byte()?;
                        }
                        4 => {
                            s.byte()?;
                            s.u32()?;
                        }
                        k => bail!("unknown import kind {k}"),
                    }
                }
            }
            10 => {
                let mut map = std::collections::BTreeMap::new();
                for n in 0..s.u32()? {
                    let size = s.leb()?;
                    s.take(size)?;
                    map.insert(imported + n, size);
                }
                bodies = map;
            }
            0 => {
                let name_len = s.leb()?;
                if s.take(name_len)? != b"name" {
                    continue;
                }
                while s.i < s.b.len() {
                    let sub = s.byte()?;
                    let sub_len = s.leb()?;
                    let mut t = R {
                        b: s.take(sub_len)?,
                        i: 0,
                    };
                    if sub != 1 {
                        continue;
                    }
                    let mut map = std::collections::BTreeMap::new();
                    for _ in 0..t.u32()? {
                        let index = t.u32()?;
                        let n = t.leb()?;
                        map.insert(index, String::from_utf8_lossy(t.take(n)?).into_owned());
                    }
                    names = map;
                }
            }
            _ => {}
        }
    }
    Ok((bodies, names))
}

fn gzip_len(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(path)
        .output()
        .with_context(|| format!("running gzip on {}", path.display()))?;
    Ok(out.stdout.len() as u64)
}

fn table(r: &Value) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let rpc = &r["rpc"];
    let p = &r["primitives"];
    let s = &r["sizes"];
    let ratio = |a: f64, b: f64| format!("{:.2}×", a / b);
    let kb = |v: &Value| format!("{:.1} KB", f(v) / 1000.0);
    // A group of shipped files: its raw and gzip sizes.
    let size = |label: &str, key: &str| {
        (
            label.to_owned(),
            format!("{} raw, {} gzip", kb(&s[key]["raw"]), kb(&s[key]["gzip"])),
            String::new(),
        )
    };
    // An operation timed in the enclave and with native WebCrypto in alternating rounds:
    // both medians and the median of the rounds' ratios.
    let paired = |label: String, key: &str| {
        (
            label,
            format!(
                "{:.1} µs vs {:.1} µs",
                f(&p[key]["oursUs"]),
                f(&p[key]["webcryptoUs"])
            ),
            format!("{:.2}×", f(&p[key]["ratio"])),
        )
    };
    let signer = |alg: &str, key: &str| {
        paired(
            format!(
                "{alg} sign through the enclave's signer ({}) vs WebCrypto",
                p[key]["engine"].as_str().unwrap_or("?")
            ),
            key,
        )
    };
    // A relay token through the RPC, by its key's algorithm.
    let relay = |alg: &str| {
        (
            format!("Relay token ({alg}) through the RPC (p50, p99)"),
            format!(
                "p50 {:.3} ms, p99 {:.3} ms",
                f(&rpc["relayTokenRpcMs"][alg]["p50"]),
                f(&rpc["relayTokenRpcMs"][alg]["p99"])
            ),
            String::new(),
        )
    };
    let rows = [
        (
            "Enclave cold start to `link`".to_owned(),
            format!(
                "{:.0} ms first, {:.0} ms median of 5",
                f(&rpc["coldStartMs"]["first"]),
                f(&rpc["coldStartMs"]["median"])
            ),
            String::new(),
        ),
        (
            "RPC round trip (`ping`)".into(),
            format!(
                "p50 {:.3} ms, p99 {:.3} ms",
                f(&rpc["pingMs"]["p50"]),
                f(&rpc["pingMs"]["p99"])
            ),
            String::new(),
        ),
        (
            "Passphrase unlock (PBKDF2-600k + HKDF + unwrap) vs `crypto.subtle` PBKDF2-600k".into(),
            format!(
                "{:.0} ms vs {:.0} ms",
                f(&rpc["unlockPassphraseMs"]),
                f(&rpc["webcryptoPbkdf2Ms"])
            ),
            ratio(f(&rpc["unlockPassphraseMs"]), f(&rpc["webcryptoPbkdf2Ms"])),
        ),
        (
            "VAPID `Authorization` through the RPC (p50, p99) vs WebCrypto ECDSA P-256 sign".into(),
            format!(
                "p50 {:.3} ms, p99 {:.3} ms vs {:.3} ms",
                f(&rpc["vapidAuthorizationRpcMs"]["p50"]),
                f(&rpc["vapidAuthorizationRpcMs"]["p99"]),
                f(&rpc["webcryptoEcdsaSignMs"])
            ),
            ratio(
                f(&rpc["vapidAuthorizationRpcMs"]["p50"]),
                f(&rpc["webcryptoEcdsaSignMs"]),
            ),
        ),
        relay("EdDSA"),
        relay("ES256"),
        (
            "IndexedDB commit of a signature's writes, `strict` vs `relaxed` (p50, p99)".into(),
            format!(
                "{:.3} / {:.3} ms vs {:.3} / {:.3} ms (default {:.3} / {:.3} ms)",
                f(&p["idbCommit"]["strict"]["p50"]),
                f(&p["idbCommit"]["strict"]["p99"]),
                f(&p["idbCommit"]["relaxed"]["p50"]),
                f(&p["idbCommit"]["relaxed"]["p99"]),
                f(&p["idbCommit"]["default"]["p50"]),
                f(&p["idbCommit"]["default"]["p99"]),
            ),
            ratio(
                f(&p["idbCommit"]["strict"]["p50"]),
                f(&p["idbCommit"]["relaxed"]["p50"]),
            ),
        ),
        signer("ES256 (VAPID, relay tokens)", "es256Signer"),
        signer("Ed25519 (relay tokens)", "ed25519Signer"),
        paired(
            "ES256 sign in wasm (the reference and fallback) vs WebCrypto".into(),
            "es256Sign",
        ),
        paired(
            "Ed25519 sign in wasm (the reference and fallback) vs WebCrypto".into(),
            "ed25519Sign",
        ),
        paired(
            "X25519 in wasm (Signal, envelopes) vs WebCrypto".into(),
            "x25519",
        ),
        (
            "Signal message round trip through the RPC (`signal.encrypt` + `signal.decrypt`)"
                .into(),
            format!(
                "p50 {:.2} ms, p99 {:.2} ms",
                f(&rpc["signalRoundTripMs"]["p50"]),
                f(&rpc["signalRoundTripMs"]["p99"])
            ),
            String::new(),
        ),
        (
            "Signal session code in the wasm (sessions, ratchets, wire, safety numbers)".into(),
            format!(
                "{} of {} code ({} functions; a lower bound, LTO inlines some into callers)",
                kb(&s["sessionCode"]["raw"]),
                kb(&s["sessionCode"]["allCode"]),
                s["sessionCode"]["functions"]
            ),
            String::new(),
        ),
        (
            "Replenish 100 one-time prekeys (RPC)".into(),
            format!("{:.1} ms", f(&rpc["replenish100Ms"])),
            String::new(),
        ),
        (
            "Verify a 10 000-entry audit log (wasm)".into(),
            format!("{:.1} ms", f(&p["auditVerify10000Ms"])),
            String::new(),
        ),
        size(
            "Shipped enclave (page + bootstrap + glue + wasm)",
            "enclave",
        ),
        size("Client SDK", "sdk"),
        size("Total", "total"),
    ];
    let engines = &r["rpc"]["engines"];
    let mut t = format!(
        "\nBrowser benchmarks ({}, headless; the enclave's engines: PBKDF2 {}, ES256 {}, EdDSA {})\n\n| Measure | Result | Ratio |\n|---|---|---|\n",
        r["browser"].as_str().unwrap_or("Chromium"),
        engines["pbkdf2"].as_str().unwrap_or("?"),
        engines["es256"].as_str().unwrap_or("?"),
        engines["eddsa"].as_str().unwrap_or("?"),
    );
    for (m, v, q) in rows {
        t.push_str(&format!("| {m} | {v} | {q} |\n"));
    }
    t
}
