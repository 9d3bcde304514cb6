//! The boundary: what a compromised page can do with only the RPC any allow-listed page can
//! send, and what it keeps afterwards. Each test is one attack; each must fail for the
//! attacker. (The walk over every method's policy is in `src/rpc/policy.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use kms_core::Error;
use kms_core::ManualClock;
use kms_core::MemoryStore;
use kms_core::Origin;
use kms_core::Secret32;
use kms_core::envelope::{self, SignedPrekey};
use kms_core::rpc::Request;
use kms_core::rpc::policy::{Caller, FRESH_UNLOCK_MS};
use kms_core::service::{
    AuditExportResponse, Config, Kms, MethodAddedResponse, PrfInputResponse, Response,
    SignalBundleResponse, SignalSignatureResponse, StatusResponse,
};
use kms_core::signal::identity::{KeyPair, PublicKey};
use kms_core::signal::kem::{KemAlgorithm, KemKeyPair};
use kms_core::signal::page_signature;
use kms_core::{KdfError, Pbkdf2Provider, RustPbkdf2};
use rand::SeedableRng;
use rand::rngs::StdRng;

const APP: &str = "https://app.example";
const OTHER: &str = "https://other.example";
const PASS: &str = "correct horse battery staple";
const T0: u64 = 1_800_000_000_000;

type TestKms = Kms<MemoryStore, ManualClock, StdRng>;

fn page(o: &str) -> Caller {
    Caller::Page(Origin::parse(o).unwrap())
}

fn ui(o: &str) -> Caller {
    Caller::EnclaveUi(Origin::parse(o).unwrap())
}

fn req(json: &str) -> Request {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn call(kms: &mut TestKms, caller: &Caller, json: &str) -> Result<Response, Error> {
    pollster::block_on(kms.handle(caller, req(json)))
}

fn ok(kms: &mut TestKms, caller: &Caller, json: &str) -> Response {
    call(kms, caller, json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn new_kms(store: &MemoryStore, clock: &ManualClock, seed: u64) -> TestKms {
    Kms::new(store.clone(), clock.clone(), StdRng::seed_from_u64(seed))
}

/// An enclave the user set up (through the UI) and left unlocked.
fn unlocked() -> (MemoryStore, ManualClock, TestKms) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(T0);
    let mut kms = new_kms(&store, &clock, 1);
    ok(
        &mut kms,
        &ui(APP),
        &format!(r#"{{"method":"setup","params":{{"passphrase":"{PASS}"}}}}"#),
    );
    (store, clock, kms)
}

fn unlock_json(pass: &str) -> String {
    format!(r#"{{"method":"unlock.passphrase","params":{{"passphrase":"{pass}"}}}}"#)
}

fn identity(kms: &mut TestKms, o: &str) -> PublicKey {
    let Response::SignalBundle(SignalBundleResponse { bundle }) = ok(
        kms,
        &page(o),
        r#"{"method":"signal.bundle","params":{"oneTime":false}}"#,
    ) else {
        panic!("bundle")
    };
    bundle.identity_key
}

fn page_sign(kms: &mut TestKms, o: &str, message: &[u8]) -> Vec<u8> {
    let json = format!(
        r#"{{"method":"signal.sign","params":{{"message":"{}"}}}}"#,
        kms_core::hazmat::b64::encode(message)
    );
    let Response::SignalSignature(SignalSignatureResponse { signature }) = ok(kms, &page(o), &json)
    else {
        panic!("sign")
    };
    kms_core::hazmat::b64::decode(&signature).unwrap()
}

// Attack 1: the identity key as a signing oracle.

/// The attacker asks the enclave to sign, for a key pair the attacker made, each format the
/// identity key certifies. No returned signature certifies it; each is only a page
/// signature, bound to the calling origin.
#[test]
fn signal_sign_certifies_no_prekey_format() {
    let (_store, _clock, mut kms) = unlocked();
    let id = identity(&mut kms, APP);
    let mut rng = StdRng::seed_from_u64(7);
    let attacker = KeyPair::generate(&mut rng);
    let kem = KemKeyPair::generate(KemAlgorithm::Kyber1024, &mut rng);
    let prekey = |use_, kid: &str, pqc| SignedPrekey {
        kid: kid.into(),
        use_,
        pub_key: attacker.public_key(),
        pqc_pub_key: pqc,
        sig: Vec::new(),
    };
    let hybrid = KemKeyPair::generate(KemAlgorithm::MlKem768, &mut rng);
    let env = prekey(
        envelope::PrekeyUse::OneTime,
        "attacker-kid",
        Some(hybrid.public_key().clone()),
    )
    .signed_message();
    let epoch = prekey(envelope::PrekeyUse::Epoch, "attacker-epoch", None).signed_message();
    let formats: [(&str, Vec<u8>); 4] = [
        (
            "signed prekey (0x05 ‖ u)",
            attacker.public_key().serialize().to_vec(),
        ),
        ("Kyber prekey (type ‖ ek)", kem.public_key().serialize()),
        ("envelope prekey", env),
        ("epoch prekey", epoch),
    ];
    for (name, bytes) in &formats {
        let sig = page_sign(&mut kms, APP, bytes);
        assert!(
            id.verify(bytes, &sig).is_err(),
            "signal.sign produced a valid {name} certification"
        );
        page_signature::verify(&id, APP, bytes, &sig).unwrap();
        assert!(
            page_signature::verify(&id, OTHER, bytes, &sig).is_err(),
            "a page signature must not verify for another origin"
        );
        // Structurally: what the enclave signs for a page cannot be any certified format.
        let signed = page_signature::message(APP, bytes);
        assert_ne!(signed.first(), Some(&0x05), "{name}");
        assert_ne!(signed.len(), 33, "{name}");
        assert!(!signed.starts_with(&kms_core::hazmat::format::canonical(
            envelope::PREKEY_SIGNATURE_LABEL,
            &[]
        )));
    }
}

// Attack 2: unlock methods managed by the page.

#[test]
fn a_page_cannot_set_up_the_enclave() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(T0);
    let mut kms = new_kms(&store, &clock, 1);
    let r = call(
        &mut kms,
        &page(APP),
        &format!(r#"{{"method":"setup","params":{{"passphrase":"{PASS}"}}}}"#),
    );
    assert!(matches!(r, Err(Error::NotPermitted { .. })), "{r:?}");
    let Response::Status(StatusResponse { initialized, .. }) =
        ok(&mut kms, &page(APP), r#"{"method":"status"}"#)
    else {
        panic!()
    };
    assert!(!initialized, "the page's setup must not take effect");
}

/// With the enclave unlocked, the page tries to plant a credential it knows and remove
/// the user's: every method-changing call is refused, nothing but the audit log changes,
/// and the refusals are in the page's audit log.
#[test]
fn a_page_cannot_plant_or_remove_unlock_methods() {
    let (store, _clock, mut kms) = unlocked();
    let Response::Status(StatusResponse { methods, .. }) =
        ok(&mut kms, &page(APP), r#"{"method":"status"}"#)
    else {
        panic!()
    };
    let user_method = methods[0].id.clone();
    let before = store.snapshot();
    let prf = format!("[{}]", ["7"; 32].join(","));
    for (o, json) in [
        (APP, r#"{"method":"methods.prfInput"}"#.to_owned()),
        (
            APP,
            format!(
                r#"{{"method":"methods.addPrf","params":{{"credentialId":"AQID","prfInput":"{}","prfOutput":{prf}}}}}"#,
                kms_core::hazmat::b64::encode([9u8; 32])
            ),
        ),
        (
            APP,
            r#"{"method":"methods.addPassphrase","params":{"passphrase":"attacker passphrase"}}"#
                .to_owned(),
        ),
        (
            APP,
            format!(
                r#"{{"method":"methods.changePassphrase","params":{{"methodId":"{user_method}","passphrase":"attacker passphrase"}}}}"#
            ),
        ),
        (
            APP,
            format!(r#"{{"method":"methods.remove","params":{{"methodId":"{user_method}"}}}}"#),
        ),
        (APP, r#"{"method":"unlock.gateChallenge"}"#.to_owned()),
        (
            APP,
            r#"{"method":"methods.addGate","params":{"attestationObject":"AA","clientDataJson":"AA"}}"#
                .to_owned(),
        ),
        // A second allow-listed origin is a page too.
        (
            OTHER,
            r#"{"method":"methods.addPassphrase","params":{"passphrase":"attacker passphrase"}}"#
                .to_owned(),
        ),
    ] {
        let r = call(&mut kms, &page(o), &json);
        assert!(matches!(r, Err(Error::NotPermitted { .. })), "{json}: {r:?}");
    }
    let after = store.snapshot();
    for (k, v) in &before {
        if !k.starts_with("c/") {
            assert_eq!(after.get(k), Some(v), "{k} changed");
        }
    }
    assert_eq!(
        after.keys().filter(|k| !k.starts_with("c/")).count(),
        before.keys().filter(|k| !k.starts_with("c/")).count(),
        "a record was added"
    );
    let Response::AuditExport(AuditExportResponse { jsonl, .. }) =
        ok(&mut kms, &page(APP), r#"{"method":"audit.export"}"#)
    else {
        panic!()
    };
    assert!(
        jsonl.contains(r#""op":"methods.add-prf""#) && jsonl.contains(r#""outcome":"denied""#),
        "refusals are audited: {jsonl}"
    );
}

/// Even the enclave's UI changes methods only right after an unlock with a current one.
#[test]
fn method_changes_need_a_fresh_unlock() {
    let (_store, clock, mut kms) = unlocked();
    let add = r#"{"method":"methods.addPassphrase","params":{"passphrase":"second passphrase"}}"#;
    clock.advance_ms(FRESH_UNLOCK_MS + 1);
    assert_eq!(call(&mut kms, &ui(APP), add), Err(Error::ReauthRequired));
    ok(&mut kms, &ui(APP), &unlock_json(PASS));
    assert!(matches!(
        ok(&mut kms, &ui(APP), add),
        Response::MethodAdded(MethodAddedResponse { .. })
    ));
}

/// The weaker deployment option lets a page unlock with a passphrase it sends; it still
/// gives the page no freshness for method changes.
#[test]
fn page_passphrase_unlock_is_opt_in_and_grants_no_authority() {
    let (store, clock, _kms) = unlocked();
    let mut kms = new_kms(&store, &clock, 2);
    assert!(matches!(
        call(&mut kms, &page(APP), &unlock_json(PASS)),
        Err(Error::NotPermitted { .. })
    ));
    let mut kms = new_kms(&store, &clock, 3).with_config(Config {
        page_passphrase_unlock: true,
        ..Config::default()
    });
    ok(&mut kms, &page(APP), &unlock_json(PASS));
    let add = r#"{"method":"methods.addPassphrase","params":{"passphrase":"second passphrase"}}"#;
    assert_eq!(call(&mut kms, &ui(APP), add), Err(Error::ReauthRequired));
}

// Attack 3: passphrases and PRF inputs reach the page.

#[test]
fn the_page_never_gets_a_prf_input() {
    let (_store, _clock, mut kms) = unlocked();
    let Response::PrfInput(PrfInputResponse { prf_input }) =
        ok(&mut kms, &ui(APP), r#"{"method":"methods.prfInput"}"#)
    else {
        panic!()
    };
    let output = format!("[{}]", ["3"; 32].join(","));
    ok(
        &mut kms,
        &ui(APP),
        &format!(
            r#"{{"method":"methods.addPrf","params":{{"credentialId":"AQID","prfInput":"{prf_input}","prfOutput":{output}}}}}"#
        ),
    );
    for json in [r#"{"method":"status"}"#, r#"{"method":"methods.list"}"#] {
        let reply = serde_json::to_string(&ok(&mut kms, &page(APP), json)).unwrap();
        assert!(
            !reply.contains(&prf_input),
            "{json} gave the page the PRF input"
        );
        assert!(reply.contains("authenticator-secret"), "{reply}");
    }
    let ui_status =
        serde_json::to_string(&ok(&mut kms, &ui(APP), r#"{"method":"status"}"#)).unwrap();
    assert!(ui_status.contains(&prf_input), "the enclave's UI needs it");
}

#[test]
fn an_allowed_origin_that_could_claim_the_rp_id_is_refused() {
    let config = |rp: &str, origins: &[&str]| Config {
        rp_id: rp.into(),
        allowed_top_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        ..Config::default()
    };
    for (rp, origin) in [
        ("localhost", "http://localhost:8080"),
        ("example.com", "https://app.example.com"),
        ("kms.example.com", "https://kms.example.com"),
        ("kms.example.com", "https://a.b.kms.example.com"),
    ] {
        let e = config(rp, &[origin]).validate().unwrap_err();
        assert!(matches!(e, Error::Misconfigured { .. }), "{rp} / {origin}");
    }
    for (rp, origin) in [
        ("enclave.example.com", "https://app.example.com"),
        ("enclave.kms.localhost", "http://app.kms.localhost:8080"),
        ("kms.example.com", "https://example.com"),
        ("kms.example.com", "https://xkms.example.com"),
    ] {
        config(rp, &[origin]).validate().unwrap();
    }
}

// Attack 4: key-equivalent material in replies.

#[test]
fn signal_respond_is_off_the_rpc() {
    let e = serde_json::from_str::<Request>(
        r#"{"method":"signal.respond","params":{"theirIdentity":"AA"}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown variant"), "{e}");
}

// Attack 5: the audit log launders tampering.

/// Entries deleted while locked: the next unlock does not re-sign the cut log, nothing is
/// appended, verification fails, and the export still shows the evidence.
#[test]
fn a_truncated_audit_log_is_tampered_not_re_signed() {
    let (store, clock, mut kms) = unlocked();
    for _ in 0..3 {
        ok(&mut kms, &page(APP), r#"{"method":"vapid.publicKey"}"#);
    }
    ok(&mut kms, &page(APP), r#"{"method":"lock"}"#);
    let log = store.audit_snapshot()[APP].clone();
    let cut = log[..log.len() - 2].to_vec();
    store.raw_set_log(APP, cut.clone());
    let checkpoint = store.snapshot()[&format!("c/{APP}")].clone();

    let mut fresh = new_kms(&store, &clock, 9);
    let r = call(&mut fresh, &ui(APP), &unlock_json(PASS));
    assert!(matches!(r, Err(Error::Tampered { .. })), "{r:?}");
    assert!(!fresh.is_unlocked());
    assert_eq!(store.audit_snapshot()[APP], cut, "nothing appended");
    assert_eq!(
        store.snapshot()[&format!("c/{APP}")],
        checkpoint,
        "not re-signed"
    );
    let r = call(&mut fresh, &page(APP), r#"{"method":"audit.verify"}"#);
    assert!(matches!(r, Err(Error::Tampered { .. })), "{r:?}");
    let Response::AuditExport(AuditExportResponse { tampered, size, .. }) =
        ok(&mut fresh, &page(APP), r#"{"method":"audit.export"}"#)
    else {
        panic!()
    };
    assert_eq!(size, cut.len() as u64);
    assert!(tampered.is_some_and(|t| t.contains("truncated") || t.contains("entries")));
    // Another shard's log is untouched and keeps working.
    ok(&mut fresh, &ui(OTHER), &unlock_json(PASS));
    ok(&mut fresh, &page(OTHER), r#"{"method":"audit.verify"}"#);
}

/// A log rewritten (same length, one entry replaced by another valid one) is caught too.
#[test]
fn a_rewritten_audit_entry_is_tampered() {
    let (store, clock, mut kms) = unlocked();
    ok(&mut kms, &page(APP), r#"{"method":"vapid.publicKey"}"#);
    ok(&mut kms, &page(APP), r#"{"method":"lock"}"#);
    let mut log = store.audit_snapshot()[APP].clone();
    let last = log.len() - 1;
    // Drop the last entry and re-append a different, well-formed one in its place: a
    // valid chain that does not match the signed checkpoint.
    log.truncate(last);
    let mut other = kms_core::audit::Head::genesis();
    for bytes in &log {
        other = kms_core::audit::Head::after(&kms_core::audit::Entry::decode(bytes).unwrap());
    }
    let (entry, _) = other
        .append(T0, APP, "keys.list", None, kms_core::audit::Outcome::Ok)
        .unwrap();
    log.push(entry.encode().unwrap());
    store.raw_set_log(APP, log);
    let mut fresh = new_kms(&store, &clock, 9);
    let r = call(&mut fresh, &ui(APP), &unlock_json(PASS));
    assert!(matches!(r, Err(Error::Tampered { .. })), "{r:?}");
}

// Attack 6: back-off races.

/// A PBKDF2 provider that yields once before deriving (so concurrent attempts interleave)
/// and counts the derivations.
#[derive(Clone)]
struct CountingPbkdf2(Rc<Cell<u32>>);

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Pbkdf2Provider for CountingPbkdf2 {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Secret32, KdfError> {
        YieldOnce(false).await;
        self.0.set(self.0.get() + 1);
        RustPbkdf2.pbkdf2_sha256(password, salt, iterations).await
    }
}

/// Runs every future to completion, polling them in turns (a single-threaded executor
/// where each `Pending` lets the others run).
fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    while out.iter().any(Option::is_none) {
        for (i, f) in futures.iter_mut().enumerate() {
            if out[i].is_none()
                && let Poll::Ready(v) = f.as_mut().poll(&mut cx)
            {
                out[i] = Some(v);
            }
        }
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// Eight enclave frames guess at once over one store: the attempts are paid for before
/// the KDF runs, so no more guesses run than the free ones.
#[test]
fn concurrent_guesses_cannot_outrun_the_back_off() {
    let (store, clock, _kms) = unlocked();
    let derivations = Rc::new(Cell::new(0));
    let free = Config::default().free_unlock_attempts;
    let mut frames: Vec<_> = (0..8)
        .map(|i| new_kms(&store, &clock, 100 + i).with_pbkdf2(CountingPbkdf2(derivations.clone())))
        .collect();
    let caller = ui(APP);
    let results = join_all(
        frames
            .iter_mut()
            .map(|k| k.handle(&caller, req(&unlock_json("wrong passphrase"))))
            .collect(),
    );
    assert!(
        derivations.get() <= free,
        "{} guesses ran in one back-off window (at most {free} allowed)",
        derivations.get()
    );
    assert!(derivations.get() >= 1);
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::RateLimited { .. } | Error::Conflict)))
        .count();
    assert_eq!(refused as u32 + derivations.get(), 8, "{results:?}");
    assert!(results.iter().all(|r| r.is_err()));
}

/// Inputs that are wrong before any KDF runs do not raise the shared back-off, so they
/// cannot lock the user out; the right passphrase still unlocks at once.
#[test]
fn rejected_inputs_do_not_raise_the_back_off() {
    let (store, clock, _kms) = unlocked();
    let mut kms = new_kms(&store, &clock, 5);
    for _ in 0..20 {
        assert_eq!(
            call(&mut kms, &ui(APP), &unlock_json("short")),
            Err(Error::BadCredential)
        );
    }
    assert!(!store.snapshot().contains_key("g/backoff"));
    ok(&mut kms, &ui(APP), &unlock_json(PASS));
}

/// A wrong guess pays before its KDF; the right passphrase resets the back-off.
#[test]
fn success_resets_the_back_off() {
    let (store, clock, _kms) = unlocked();
    let mut kms = new_kms(&store, &clock, 5);
    for _ in 0..3 {
        assert_eq!(
            call(&mut kms, &ui(APP), &unlock_json("wrong passphrase")),
            Err(Error::BadCredential)
        );
    }
    assert!(matches!(
        call(&mut kms, &ui(APP), &unlock_json(PASS)),
        Err(Error::RateLimited { .. })
    ));
    clock.advance_ms(1001);
    ok(&mut kms, &ui(APP), &unlock_json(PASS));
    assert!(!store.snapshot().contains_key("g/backoff"));
}

/// A store that lets other tasks run before each of its calls, `.1` times (as IndexedDB
/// does: each call is its own transaction, and another tab may commit in between).
#[derive(Clone)]
struct Interleaving(MemoryStore, usize);

impl Interleaving {
    async fn pause(&self) {
        for _ in 0..self.1 {
            YieldOnce(false).await;
        }
    }
}

impl kms_core::store::Store for Interleaving {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, kms_core::StoreError> {
        self.pause().await;
        self.0.get(key).await
    }
    async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<kms_core::store::Record>, kms_core::StoreError> {
        self.pause().await;
        self.0.list(prefix).await
    }
    async fn audit_len(&self, log: &str) -> Result<u64, kms_core::StoreError> {
        self.pause().await;
        self.0.audit_len(log).await
    }
    async fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<Vec<u8>>, kms_core::StoreError> {
        self.pause().await;
        self.0.audit_read(log, from, limit).await
    }
    async fn commit(&self, tx: kms_core::store::Transaction) -> Result<(), kms_core::StoreError> {
        self.pause().await;
        self.0.commit(tx).await
    }
}

/// Two tabs signing at once over one store, their reads and commits interleaved in many
/// alignments: the continuity check never mistakes the other tab's fresh commit for a cut
/// log (it reads the checkpoint before the log; the other way round, this fails).
#[test]
fn another_tabs_commit_is_not_mistaken_for_tampering() {
    let (store, clock, _kms) = unlocked();
    let caller = page(APP);
    for round in 0..24u64 {
        // Fresh instances each round: neither remembers a head, so both read it back.
        let tab = |seed, pauses| {
            let shared = Interleaving(store.clone(), pauses);
            let mut k = Kms::new(shared, clock.clone(), StdRng::seed_from_u64(seed));
            pollster::block_on(k.handle(&ui(APP), req(&unlock_json(PASS)))).unwrap();
            k
        };
        let mut a = tab(100 + round, 1);
        let mut b = tab(200 + round, 1 + (round as usize % 6));
        let results = join_all(vec![
            a.handle(&caller, req(r#"{"method":"vapid.publicKey"}"#)),
            b.handle(&caller, req(r#"{"method":"keys.list"}"#)),
        ]);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let results = join_all(vec![
            a.handle(&caller, req(r#"{"method":"signal.sign","params":{"message":"aGk"}}"#)),
            b.handle(&caller, req(r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net"}}"#)),
        ]);
        assert!(
            results.iter().all(Result::is_ok),
            "round {round}: {results:?}"
        );
    }
}
