//! The shared test vectors of the client SDK's release-log verifier
//! (`enclave-html/sdk/src/tlog.ts`), made with kms-tlog's own signer, log writer and
//! cosigner. Each case states the verdict the SDK must give (`"ok"` or its `KmsError` code);
//! the generator checks every verdict against kms-tlog before writing it, so a change on
//! either side shows up as a difference from the committed `sdk-verifier.json`.
//!
//! Used by `tests/sdk_vectors.rs` (which compares with the committed file) and by the
//! `tlog-vectors` tool of kms-tools (which writes it).

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;

use base64ct::{Base64, Encoding};
use kms_tlog::checkpoint::Checkpoint;
use kms_tlog::cosignature::{self, CosignatureVerifier, CosignerKey};
use kms_tlog::hash::{self, leaf_hash};
use kms_tlog::log::{self, Log};
use kms_tlog::note::{self, Note, NoteSignature, SignerKey, VerifierKey};
use kms_tlog::release::{self, LogTrust};
use kms_tlog::statement::ReleaseStatement;
use serde_json::{Value, json};

/// Result of the generator; an error is a verdict kms-tlog does not agree with.
pub(crate) type Res<T> = Result<T, Box<dyn Error>>;

/// Format id of the vector file.
pub(crate) const FORMAT: &str = "kms-tlog-sdk-vectors-v1";
/// The SDK's bound on the entries it reads (`MAX_LOG_SIZE` in tlog.ts).
pub(crate) const MAX_LOG_SIZE: u64 = release::MAX_LOG_SIZE;
/// The log's origin in the vectors.
pub(crate) const ORIGIN: &str = "example.org/kms-releases";
/// Witness timestamps (fixed, so the file is reproducible).
const TIME: u64 = 1_767_225_600;

fn b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

fn ensure(ok: bool, what: &str) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("kms-tlog disagrees with the vector: {what}").into())
    }
}

/// The keys of the vectors: the log, another key of the same name, and three witnesses.
pub(crate) struct Keys {
    pub(crate) log: SignerKey,
    pub(crate) other: SignerKey,
    pub(crate) w1: CosignerKey,
    pub(crate) w2: CosignerKey,
    pub(crate) w3: CosignerKey,
}

impl Keys {
    /// Keys from fixed seeds (test keys, public).
    pub(crate) fn new() -> Res<Self> {
        Ok(Self {
            log: SignerKey::from_seed(ORIGIN, &[0x11; 32])?,
            other: SignerKey::from_seed(ORIGIN, &[0x12; 32])?,
            w1: CosignerKey::from_seed("witness.example/w1", &[0x21; 32])?,
            w2: CosignerKey::from_seed("witness.example/w2", &[0x22; 32])?,
            w3: CosignerKey::from_seed("witness.example/w3", &[0x23; 32])?,
        })
    }
}

/// `signed` with a cosignature by each witness at `TIME`.
pub(crate) fn cosign(signed: &str, witnesses: &[&CosignerKey]) -> Res<String> {
    let note = Note::parse(signed.as_bytes())?;
    let lines = witnesses
        .iter()
        .map(|w| w.cosign(note.text(), TIME))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(cosignature::add_cosignatures(signed.as_bytes(), &lines)?)
}

/// The entry of release `version` with manifest bytes `manifest`.
pub(crate) fn statement(version: &str, manifest: &[u8]) -> Res<Vec<u8>> {
    Ok(ReleaseStatement::for_manifest(version, manifest).encode()?)
}

/// A log in a temporary directory, removed when dropped.
pub(crate) struct TempLog {
    pub(crate) dir: PathBuf,
    pub(crate) log: Option<Log>,
}

impl TempLog {
    /// An empty log of origin [`ORIGIN`].
    pub(crate) fn new(what: &str) -> Res<Self> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kms-tlog-vectors-{}-{what}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let log = Log::create(&dir, ORIGIN)?;
        Ok(Self {
            dir,
            log: Some(log),
        })
    }

    fn log(&mut self) -> Res<&mut Log> {
        self.log.as_mut().ok_or_else(|| "log closed".into())
    }

    /// Appends each entry and signs a checkpoint after each; returns the signed checkpoints.
    pub(crate) fn append_each(&mut self, key: &SignerKey, entries: &[Vec<u8>]) -> Res<Vec<String>> {
        let mut out = Vec::new();
        for e in entries {
            self.log()?.append(e)?;
            out.push(self.log()?.checkpoint(key)?);
        }
        Ok(out)
    }

    /// The entry bundles as files, path to bytes.
    pub(crate) fn bundles(&self) -> Res<BTreeMap<String, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.dir.join("tile/entries")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d)? {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    let rel = p
                        .strip_prefix(&self.dir)?
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.insert(rel, std::fs::read(&p)?);
                }
            }
        }
        Ok(out)
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        self.log = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the SDK must conclude about a release: `Ok((index, version))` or its error code.
type Verdict = Result<(u64, String), &'static str>;

/// kms-tlog's reading of the SDK's check (`verifyRelease`): the oracle every release case is
/// compared with.
fn release_verdict(
    key: &str,
    witnesses: &[String],
    quorum: Option<usize>,
    files: &BTreeMap<String, Vec<u8>>,
    manifest: &[u8],
    stored: Option<&str>,
) -> Verdict {
    let trust = LogTrust::new(key, witnesses, quorum).map_err(|e| e.code())?;
    let signed = files.get("checkpoint").ok_or("LogUnavailable")?;
    let trusted = trust.open(signed).map_err(|e| e.code())?;
    let bundles = release::bundle_paths(trusted.checkpoint.size)
        .iter()
        .map(|path| files.get(path).ok_or("LogUnavailable"))
        .collect::<Result<Vec<_>, _>>()?;
    let found = trust
        .find(&trusted, &bundles, manifest, stored.map(str::as_bytes))
        .map_err(|e| e.code())?;
    Ok((found.index, found.version))
}

fn split_bundle(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = bytes {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        out.push(rest.get(..len)?.to_vec());
        bytes = rest.get(len..)?;
    }
    bytes.is_empty().then_some(out)
}

fn note_cases(k: &Keys) -> Res<Vec<Value>> {
    let log_vkey = k.log.verifier().to_string();
    let b = SignerKey::from_seed("example.org/b", &[0x31; 32])?;
    let good = note::sign("hello\nworld\n", &[&k.log])?;
    let sig_line = good.lines().last().unwrap_or_default().to_owned();
    let blob = sig_line.rsplit(' ').next().unwrap_or_default().to_owned();
    let other_text = note::sign("other\n", &[&k.log])?;
    let other_line = other_text.lines().last().unwrap_or_default().to_owned();
    // The last base64 character before the padding with its unused low bits set: the same
    // bytes to a lenient decoder, not canonical base64.
    let mut noncanonical = blob.clone();
    let pad = blob.len() - blob.trim_end_matches('=').len();
    if let Some(i) = blob.len().checked_sub(pad + 1).filter(|_| pad > 0) {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let pos = alphabet.find(&blob[i..=i]).unwrap_or(0);
        let unused = if pad == 1 { 0x03 } else { 0x0f };
        let bumped = alphabet.chars().nth(pos | unused).unwrap_or('A');
        noncanonical.replace_range(i..=i, &bumped.to_string());
    }
    ensure(noncanonical != blob, "the signature has padding")?;
    let many = |n: usize| format!("hello\nworld\n\n{}", format!("{sig_line}\n").repeat(n));
    let cases: Vec<(&str, String, Vec<String>, &str)> = vec![
        (
            "signed by the key",
            good.clone(),
            vec![log_vkey.clone()],
            "ok",
        ),
        (
            "a blank line in the text",
            note::sign("one\n\ntwo\n", &[&k.log])?,
            vec![log_vkey.clone()],
            "ok",
        ),
        (
            "an unknown key's signature is ignored",
            note::sign("hello\nworld\n", &[&b, &k.log])?,
            vec![log_vkey.clone()],
            "ok",
        ),
        (
            "signed by another key of the same name only",
            note::sign("hello\nworld\n", &[&k.other])?,
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "the text was changed",
            good.replacen("hello", "hellO", 1),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "a known key's signature over another text",
            format!("{good}{other_line}\n"),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "no signature lines",
            "hello\nworld\n\n".into(),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "no blank line",
            format!("hello\nworld\n{sig_line}\n"),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "no final newline",
            format!("hello\nworld\n\n{sig_line}"),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "a control character",
            format!("hello\r\nworld\n\n{sig_line}\n"),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "a hyphen for the em dash",
            format!(
                "hello\nworld\n\n{}\n",
                sig_line.replacen('\u{2014}', "-", 1)
            ),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "a signature of 4 bytes",
            "hello\nworld\n\n\u{2014} a AAAAAA==\n".into(),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "base64 without padding",
            format!(
                "hello\nworld\n\n\u{2014} {ORIGIN} {}\n",
                blob.trim_end_matches('=')
            ),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "non-canonical base64",
            format!("hello\nworld\n\n\u{2014} {ORIGIN} {noncanonical}\n"),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "a '+' in the key name",
            format!("hello\nworld\n\n\u{2014} a+b {blob}\n"),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        ("100 signatures", many(100), vec![log_vkey.clone()], "ok"),
        (
            "101 signatures",
            many(101),
            vec![log_vkey.clone()],
            "LogUnavailable",
        ),
        (
            "two verifier keys of the same name and id",
            good.clone(),
            vec![log_vkey.clone(), log_vkey.clone()],
            "InvalidLogConfig",
        ),
    ];
    let mut out = Vec::new();
    for (case, text, keys, verdict) in cases {
        let parsed = keys
            .iter()
            .map(|v| VerifierKey::parse(v))
            .collect::<Result<Vec<_>, _>>()?;
        let rust = note::open(text.as_bytes(), &parsed);
        let expected_rust = match &rust {
            Ok(_) => "ok",
            Err(note::NoteError::AmbiguousKey { .. }) => "InvalidLogConfig",
            Err(_) => "LogUnavailable",
        };
        ensure(expected_rust == verdict, case)?;
        let mut v = json!({ "case": case, "note": text, "keys": keys, "verdict": verdict });
        if let (Ok(t), Some(o)) = (rust, v.as_object_mut()) {
            o.insert("text".into(), t.into());
        }
        out.push(v);
    }
    Ok(out)
}

fn key_cases(k: &Keys) -> Res<Vec<Value>> {
    let vkey = k.log.verifier().to_string();
    let wkey = k.w1.verifier().to_string();
    let (name, rest) = vkey.split_once('+').ok_or("vkey")?;
    let (id, key) = rest.split_once('+').ok_or("vkey")?;
    let (_, wrest) = wkey.split_once('+').ok_or("vkey")?;
    let (_, wraw) = wrest.split_once('+').ok_or("vkey")?;
    let wrong_id = format!("{:08x}", u32::from_str_radix(id, 16)? ^ 1);
    let cases: Vec<(&str, String, u8)> = vec![
        ("log key", vkey.clone(), 1),
        ("witness key", wkey.clone(), 4),
        (
            "Go sumdb/note example",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".into(),
            1,
        ),
        ("wrong key id", format!("{name}+{wrong_id}+{key}"), 1),
        (
            "upper-case key id",
            format!("{name}+{}+{key}", id.to_uppercase()),
            1,
        ),
        ("no key", format!("{name}+{id}"), 1),
        ("another name", format!("other+{id}+{key}"), 1),
        ("a witness key as a log key", wkey.clone(), 1),
        ("a log key as a witness key", vkey.clone(), 4),
        (
            "a witness key's bytes under the log's name",
            format!("{name}+{id}+{wraw}"),
            1,
        ),
    ];
    let mut out = Vec::new();
    for (case, text, alg) in cases {
        let parsed = if alg == 1 {
            VerifierKey::parse(&text)
                .map(|v| (v.name().to_owned(), v.key_id()))
                .ok()
        } else {
            CosignatureVerifier::parse(&text)
                .map(|v| (v.name().to_owned(), v.key_id()))
                .ok()
        };
        out.push(match parsed {
            Some((name, key_id)) => json!({
                "case": case, "text": text, "alg": alg, "verdict": "ok",
                "name": name, "key_id": format!("{key_id:08x}")
            }),
            None => {
                json!({ "case": case, "text": text, "alg": alg, "verdict": "InvalidLogConfig" })
            }
        });
    }
    Ok(out)
}

fn checkpoint_cases(k: &Keys) -> Res<Vec<Value>> {
    let root = hash::root(&[leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]);
    let root64 = b64(&root);
    let text = |body: &str| format!("{ORIGIN}\n{body}");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "size 3",
            note::sign(&text(&format!("3\n{root64}\n")), &[&k.log])?,
            "ok",
        ),
        (
            "size 0",
            note::sign(
                &text(&format!("0\n{}\n", b64(&hash::EMPTY_ROOT))),
                &[&k.log],
            )?,
            "ok",
        ),
        (
            "an extension line",
            note::sign(&text(&format!("3\n{root64}\nextension line\n")), &[&k.log])?,
            "ok",
        ),
        (
            "the largest size read",
            note::sign(&text(&format!("65536\n{root64}\n")), &[&k.log])?,
            "ok",
        ),
        (
            "one entry too many",
            note::sign(&text(&format!("65537\n{root64}\n")), &[&k.log])?,
            "LogTooLarge",
        ),
        (
            "another origin",
            note::sign(&format!("example.org/other\n3\n{root64}\n"), &[&k.log])?,
            "LogUnavailable",
        ),
        (
            "a leading zero",
            note::sign(&text(&format!("03\n{root64}\n")), &[&k.log])?,
            "LogUnavailable",
        ),
        (
            "2^64 entries",
            note::sign(
                &text(&format!("18446744073709551616\n{root64}\n")),
                &[&k.log],
            )?,
            "LogUnavailable",
        ),
        (
            "a 31-byte root",
            note::sign(&text(&format!("3\n{}\n", b64(&root[..31]))), &[&k.log])?,
            "LogUnavailable",
        ),
        (
            "no root line",
            note::sign(&text("3\n"), &[&k.log])?,
            "LogUnavailable",
        ),
        (
            "an empty extension line",
            note::sign(&text(&format!("3\n{root64}\n\n")), &[&k.log])?,
            "LogUnavailable",
        ),
        (
            "signed by another key",
            Checkpoint::new(ORIGIN, 3, root).sign(&k.other)?,
            "LogUnavailable",
        ),
    ];
    let key = k.log.verifier();
    let mut out = Vec::new();
    for (case, signed, verdict) in cases {
        let rust = Checkpoint::open(signed.as_bytes(), &key);
        let got = match &rust {
            Ok(c) if c.size > MAX_LOG_SIZE => "LogTooLarge",
            Ok(_) => "ok",
            Err(_) => "LogUnavailable",
        };
        ensure(got == verdict, case)?;
        let mut v =
            json!({ "case": case, "note": signed, "key": key.to_string(), "verdict": verdict });
        if let (Ok(c), "ok", Some(o)) = (rust, verdict, v.as_object_mut()) {
            o.insert("origin".into(), c.origin.into());
            o.insert("size".into(), c.size.into());
            o.insert("root".into(), b64(&c.root).into());
            o.insert("extensions".into(), c.extensions.into());
        }
        out.push(v);
    }
    Ok(out)
}

fn cosignature_cases(k: &Keys) -> Res<Vec<Value>> {
    let root = hash::root(&[leaf_hash(b"a")]);
    let signed = Checkpoint::new(ORIGIN, 1, root).sign(&k.log)?;
    let text = Note::parse(signed.as_bytes())?.text().to_owned();
    let line = |w: &CosignerKey, t: u64| -> Res<NoteSignature> { Ok(w.cosign(&text, t)?) };
    let with = |lines: &[NoteSignature]| -> Res<String> {
        Ok(cosignature::add_cosignatures(signed.as_bytes(), lines)?)
    };
    let w1 = k.w1.verifier().to_string();
    let w2 = k.w2.verifier().to_string();
    let mut tampered = line(&k.w1, TIME)?;
    tampered.signature[7] ^= 1;
    let mut short = line(&k.w1, TIME)?;
    short.signature.pop();
    let mut future = line(&k.w1, TIME)?;
    future.signature[..8].copy_from_slice(&u64::MAX.to_be_bytes());
    let other_text = Note::parse(Checkpoint::new(ORIGIN, 2, root).sign(&k.log)?.as_bytes())?
        .text()
        .to_owned();
    let grafted = k.w1.cosign(&other_text, TIME)?;
    // The log's own key as a witness (type 0x04): a different key id, so the log's
    // signature is not a cosignature.
    let log_as_witness = CosignerKey::from_seed(ORIGIN, &[0x11; 32])?
        .verifier()
        .to_string();
    let cases: Vec<(&str, String, Vec<String>, Value)> = vec![
        (
            "two witnesses",
            with(&[line(&k.w1, TIME)?, line(&k.w2, TIME + 1)?])?,
            vec![w1.clone(), w2.clone()],
            2.into(),
        ),
        (
            "one of two configured",
            with(&[line(&k.w1, TIME)?])?,
            vec![w1.clone(), w2.clone()],
            1.into(),
        ),
        (
            "a witness twice counts once",
            with(&[line(&k.w1, TIME)?, line(&k.w1, TIME + 5)?])?,
            vec![w1.clone()],
            1.into(),
        ),
        (
            "an unconfigured witness",
            with(&[line(&k.w3, TIME)?])?,
            vec![w1.clone(), w2.clone()],
            0.into(),
        ),
        ("none", signed.clone(), vec![w1.clone()], 0.into()),
        (
            "the log key as a witness",
            signed.clone(),
            vec![log_as_witness],
            0.into(),
        ),
        (
            "timestamp 0",
            with(&[line(&k.w1, 0)?])?,
            vec![w1.clone()],
            1.into(),
        ),
        (
            "a changed timestamp",
            with(&[tampered])?,
            vec![w1.clone()],
            "QuorumNotMet".into(),
        ),
        (
            "71 bytes",
            with(&[short])?,
            vec![w1.clone()],
            "QuorumNotMet".into(),
        ),
        (
            "timestamp above 2^63 - 1",
            with(&[future])?,
            vec![w1.clone()],
            "QuorumNotMet".into(),
        ),
        (
            "over another checkpoint",
            with(&[grafted])?,
            vec![w1.clone(), w2.clone()],
            "QuorumNotMet".into(),
        ),
        (
            "a good and a bad line by configured witnesses",
            with(&[line(&k.w2, TIME)?, {
                let mut l = line(&k.w1, TIME)?;
                l.signature[40] ^= 0x80;
                l
            }])?,
            vec![w1.clone(), w2.clone()],
            "QuorumNotMet".into(),
        ),
    ];
    let mut out = Vec::new();
    for (case, note_text, witnesses, verdict) in cases {
        let parsed = witnesses
            .iter()
            .map(|w| CosignatureVerifier::parse(w))
            .collect::<Result<Vec<_>, _>>()?;
        let note = Note::parse(note_text.as_bytes())?;
        let rust: Value = match cosignature::verify_cosignatures(&note, &parsed) {
            Ok(v) => v.len().into(),
            Err(_) => "QuorumNotMet".into(),
        };
        ensure(rust == verdict, case)?;
        out.push(
            json!({ "case": case, "note": note_text, "witnesses": witnesses, "verdict": verdict }),
        );
    }
    Ok(out)
}

fn tree_cases() -> Vec<Value> {
    // The reference tree of the Certificate Transparency test suites, and a larger one.
    let ct: Vec<Vec<u8>> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| {
        (0..h.len() / 2)
            .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
            .collect()
    })
    .collect();
    let big: Vec<Vec<u8>> = (0..23u32)
        .map(|i| format!("entry {i}\n").into_bytes())
        .collect();
    [ct, big]
        .iter()
        .map(|entries| {
            let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
            let roots: Vec<String> = (0..=leaves.len())
                .map(|n| b64(&hash::root(&leaves[..n])))
                .collect();
            json!({
                "entries": entries.iter().map(|e| b64(e)).collect::<Vec<_>>(),
                "leaf_hashes": leaves.iter().map(|h| b64(h)).collect::<Vec<_>>(),
                "roots": roots,
            })
        })
        .collect()
}

fn tile_cases() -> Vec<Value> {
    [(0, 256), (7, 256), (999, 3), (1000, 256), (1_234_067, 17), (2, 88), (0, 1), (0, 255)]
        .iter()
        .map(|&(index, width)| json!({ "index": index, "width": width, "path": log::tile_path(None, index, width) }))
        .collect()
}

fn bundle_cases() -> Vec<Value> {
    let cases: [&[u8]; 5] = [&[], &[0, 0, 0, 2, 7, 8], &[0, 3, 1, 2], &[0], &[0, 1, 9, 0]];
    cases
        .iter()
        .map(|b| {
            let entries = split_bundle(b).map(|es| es.iter().map(|e| b64(e)).collect::<Vec<_>>());
            json!({ "bundle": b64(b), "entries": entries })
        })
        .collect()
}

fn statement_cases() -> Res<Vec<Value>> {
    let mut out = Vec::new();
    for (version, manifest) in [
        ("0.1.0", &b""[..]),
        (
            "1.2.3-rc.1+build_7",
            b"{\"format\":\"kms-sri-manifest-v1\"}\n",
        ),
    ] {
        let entry = statement(version, manifest)?;
        out.push(json!({ "version": version, "manifest": b64(manifest), "entry": String::from_utf8(entry)? }));
    }
    Ok(out)
}

fn statement_parse_cases() -> Res<Vec<Value>> {
    let good = String::from_utf8(statement("0.1.0", b"m")?)?;
    let hash = good
        .rsplit("sha256-")
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_owned();
    let cases = vec![
        good.clone(),
        good.replacen("kms-release-v1", "kms-release-v2", 1),
        good.replacen("0.1.0", "0.1 0", 1),
        good.replacen("0.1.0", &"9".repeat(65), 1),
        good.replacen("0.1.0", &"9".repeat(64), 1),
        good.trim_end().to_owned(),
        format!("{good}extra\n"),
        good.replacen(&hash, &hash[..hash.len() - 4], 1),
        good.replacen("sha256-", "sha384-", 1),
    ];
    Ok(cases
        .into_iter()
        .map(|entry| {
            let parsed = ReleaseStatement::parse(entry.as_bytes()).ok();
            json!({
                "entry": entry,
                "version": parsed.as_ref().map(|s| s.version.clone()),
                "manifest_sha256": parsed.map(|s| b64(&s.manifest_sha256)),
            })
        })
        .collect())
}

fn files_json(files: &BTreeMap<String, Vec<u8>>) -> Value {
    Value::Object(
        files
            .iter()
            .map(|(p, b)| (p.clone(), b64(b).into()))
            .collect(),
    )
}

fn release_cases(k: &Keys) -> Res<Vec<Value>> {
    let manifest =
        b"{\"format\":\"kms-sri-manifest-v1\",\"page\":{\"sri\":\"sha384-x\"}}\n".to_vec();
    let mut main = TempLog::new("main")?;
    let cps = main.append_each(
        &k.log,
        &[
            statement("0.0.1", b"an earlier release")?,
            statement("0.1.0", &manifest)?,
            statement("0.2.0", b"a later release")?,
        ],
    )?;
    let bundles = main.bundles()?;
    let mut fork = TempLog::new("fork")?;
    let fork_cps = fork.append_each(
        &k.log,
        &[
            statement("0.0.1", b"another earlier release")?,
            statement("0.1.0", &manifest)?,
            statement("0.2.0", b"a later release")?,
            statement("0.3.0", b"yet another release")?,
        ],
    )?;
    let fork_bundles = fork.bundles()?;
    let mut big = TempLog::new("big")?;
    // Entries that are not release statements are skipped (the monitor refuses them; the
    // SDK only looks for its manifest).
    let mut big_entries: Vec<Vec<u8>> = (0..299u32).map(|i| i.to_be_bytes().to_vec()).collect();
    big_entries.push(statement("1.0.0", &manifest)?);
    big.log()?.append_all(&big_entries)?;
    let big_cp = big.log()?.checkpoint(&k.log)?;
    let big_bundles = big.bundles()?;

    let cp = |i: usize| cps.get(i).cloned().ok_or("checkpoint");
    let both = |s: &str| cosign(s, &[&k.w1, &k.w2]);
    let (w1, w2) = (k.w1.verifier().to_string(), k.w2.verifier().to_string());
    let witnesses = vec![w1.clone(), w2.clone()];
    let key = k.log.verifier().to_string();
    let with_checkpoint = |b: &BTreeMap<String, Vec<u8>>, c: &str| {
        let mut f = b.clone();
        f.insert("checkpoint".into(), c.as_bytes().to_vec());
        f
    };
    // w1's cosignature changed, w2's intact: a configured witness signed something invalid.
    let mut lines = Note::parse(both(&cp(2)?)?.as_bytes())?.signatures()[1..].to_vec();
    if let Some(l) = lines.first_mut() {
        l.signature[20] ^= 1;
    }
    let bad_cosig = cosignature::add_cosignatures(cp(2)?.as_bytes(), &lines)?;
    let mut mixed = bundles.clone();
    if let Some(b) = fork_bundles.get("tile/entries/000.p/3") {
        mixed.insert("tile/entries/000.p/3".into(), b.clone());
    }
    let huge = note::sign(&format!("{ORIGIN}\n65537\n{}\n", b64(&[7; 32])), &[&k.log])?;
    type Case<'a> = (
        &'a str,
        BTreeMap<String, Vec<u8>>,
        Vec<String>,
        Option<usize>,
        Vec<u8>,
        Option<String>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "verified, nothing stored",
            with_checkpoint(&bundles, &both(&cp(2)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "ok",
        ),
        (
            "verified, extends the stored checkpoint",
            with_checkpoint(&bundles, &both(&cp(2)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            Some(cp(1)?),
            "ok",
        ),
        (
            "verified, the stored checkpoint again",
            with_checkpoint(&bundles, &both(&cp(2)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            Some(both(&cp(2)?)?),
            "ok",
        ),
        (
            "verified at the release's own size",
            with_checkpoint(&bundles, &both(&cp(1)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "ok",
        ),
        (
            "no witnesses configured",
            with_checkpoint(&bundles, &cp(2)?),
            vec![],
            None,
            manifest.clone(),
            None,
            "ok",
        ),
        (
            "a manifest not in the log",
            with_checkpoint(&bundles, &both(&cp(2)?)?),
            witnesses.clone(),
            None,
            b"{}\n".to_vec(),
            None,
            "NotInLog",
        ),
        (
            "before the release was logged",
            with_checkpoint(&bundles, &both(&cp(0)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "NotInLog",
        ),
        (
            "no cosignatures",
            with_checkpoint(&bundles, &cp(2)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "QuorumNotMet",
        ),
        (
            "one of two witnesses, quorum 2",
            with_checkpoint(&bundles, &cosign(&cp(2)?, &[&k.w1])?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "QuorumNotMet",
        ),
        (
            "one of two witnesses, quorum 1",
            with_checkpoint(&bundles, &cosign(&cp(2)?, &[&k.w1])?),
            witnesses.clone(),
            Some(1),
            manifest.clone(),
            None,
            "ok",
        ),
        (
            "a bad cosignature by a configured witness",
            with_checkpoint(&bundles, &bad_cosig),
            witnesses.clone(),
            Some(1),
            manifest.clone(),
            None,
            "QuorumNotMet",
        ),
        (
            "quorum above the witnesses",
            with_checkpoint(&bundles, &both(&cp(2)?)?),
            witnesses.clone(),
            Some(3),
            manifest.clone(),
            None,
            "InvalidLogConfig",
        ),
        (
            "rolled back",
            with_checkpoint(&bundles, &both(&cp(1)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            Some(both(&cp(2)?)?),
            "Rollback",
        ),
        (
            "forked, larger",
            with_checkpoint(&fork_bundles, &both(fork_cps.get(3).ok_or("fork")?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            Some(both(&cp(2)?)?),
            "Fork",
        ),
        (
            "forked, same size",
            with_checkpoint(&fork_bundles, &both(fork_cps.get(2).ok_or("fork")?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            Some(both(&cp(2)?)?),
            "Fork",
        ),
        (
            "entries that do not hash to the root",
            with_checkpoint(&mixed, &both(&cp(2)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "LogUnavailable",
        ),
        (
            "a missing entry bundle",
            with_checkpoint(&BTreeMap::new(), &both(&cp(2)?)?),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "LogUnavailable",
        ),
        (
            "no checkpoint",
            bundles.clone(),
            witnesses.clone(),
            None,
            manifest.clone(),
            None,
            "LogUnavailable",
        ),
        (
            "signed by another key",
            with_checkpoint(
                &bundles,
                &Checkpoint::new(ORIGIN, 3, main.log()?.root()).sign(&k.other)?,
            ),
            vec![],
            None,
            manifest.clone(),
            None,
            "LogUnavailable",
        ),
        (
            "stored checkpoint by another key",
            with_checkpoint(&bundles, &cp(2)?),
            vec![],
            None,
            manifest.clone(),
            Some(
                Checkpoint::new(ORIGIN, 2, main.log()?.tree().root_at(2).ok_or("root")?)
                    .sign(&k.other)?,
            ),
            "LogUnavailable",
        ),
        (
            "more entries than the verifier reads",
            with_checkpoint(&bundles, &huge),
            vec![],
            None,
            manifest.clone(),
            None,
            "LogTooLarge",
        ),
        (
            "a full and a partial bundle",
            with_checkpoint(&big_bundles, &big_cp),
            vec![],
            None,
            manifest.clone(),
            None,
            "ok",
        ),
        (
            "a witness key as the log key",
            with_checkpoint(&bundles, &cp(2)?),
            vec![],
            None,
            manifest.clone(),
            None,
            "InvalidLogConfig",
        ),
    ];
    let mut out = Vec::new();
    for (case, files, witnesses, quorum, manifest, stored, verdict) in cases {
        let key = if verdict == "InvalidLogConfig" && witnesses.is_empty() {
            w1.clone()
        } else {
            key.clone()
        };
        let got = release_verdict(
            &key,
            &witnesses,
            quorum,
            &files,
            &manifest,
            stored.as_deref(),
        );
        let mut v = json!({
            "case": case,
            "key": key,
            "witnesses": witnesses,
            "quorum": quorum,
            "files": files_json(&files),
            "manifest": b64(&manifest),
            "stored": stored,
            "verdict": verdict,
        });
        match (got, v.as_object_mut()) {
            (Ok((index, version)), Some(o)) if verdict == "ok" => {
                o.insert("index".into(), index.into());
                o.insert("version".into(), version.into());
            }
            (Err(code), _) if code == verdict => {}
            (got, _) => {
                return Err(format!("kms-tlog disagrees with the vector {case:?}: {got:?}").into());
            }
        }
        out.push(v);
    }
    Ok(out)
}

/// The vector file's text (pretty JSON, one trailing newline).
pub(crate) fn generate() -> Res<String> {
    let k = Keys::new()?;
    let doc = json!({
        "format": FORMAT,
        "about": "Vectors of the SDK's release-log verifier, made with kms-tlog. A verdict is \"ok\" or the KmsError code the SDK gives. Regenerate with the tlog-vectors tool of kms-tools.",
        "max_log_size": MAX_LOG_SIZE,
        "keys": key_cases(&k)?,
        "notes": note_cases(&k)?,
        "checkpoints": checkpoint_cases(&k)?,
        "cosignatures": cosignature_cases(&k)?,
        "trees": tree_cases(),
        "tile_paths": tile_cases(),
        "bundles": bundle_cases(),
        "statements": statement_cases()?,
        "statement_parsing": statement_parse_cases()?,
        "releases": release_cases(&k)?,
    });
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
