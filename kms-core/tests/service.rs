//! End-to-end tests of the key service over the in-memory store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod routing;
use routing::{routed, routed_by};

use kms_core::Error;
use kms_core::ManualClock;
use kms_core::rpc::{
    DeleteKeyParams, Method, Request, SetupParams, UnlockPassphraseParams, methods,
};
use kms_core::service::{
    AuditVerifiedResponse, Config, Kms, MethodAddedResponse, MethodsResponse, PrfInputResponse,
    Response, UnlockedResponse,
};
use kms_core::store::{MemoryStore, Store};
use rand::SeedableRng;
use rand::rngs::StdRng;

const APP: &str = "https://app.example";
const OTHER: &str = "https://other.example";
const PASS: &str = "correct horse battery staple";
const T0: u64 = 1_800_000_000_000;

type TestKms = Kms<MemoryStore, ManualClock, StdRng>;

fn kms_on(store: &MemoryStore, clock: &ManualClock, seed: u64) -> TestKms {
    Kms::new(store.clone(), clock.clone(), StdRng::seed_from_u64(seed)).with_config(Config {
        one_time_prekey_high_water: 10,
        one_time_prekey_low_water: 3,
        ..Config::default()
    })
}

fn req(json: &str) -> Request {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn call(kms: &mut TestKms, origin: &str, json: &str) -> Result<Response, Error> {
    let r = req(json);
    pollster::block_on(kms.handle(&routed(origin, &r), r))
}

/// Calls method `M` with typed params and result, routed like [`call`].
fn typed<M: Method>(
    kms: &mut TestKms,
    origin: &str,
    params: M::Params,
) -> Result<M::Output, Error> {
    pollster::block_on(kms.call::<M>(&routed_by(origin, M::POLICY), params))
}

fn ok(kms: &mut TestKms, origin: &str, json: &str) -> Response {
    call(kms, origin, json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn setup() -> (MemoryStore, ManualClock, TestKms) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(T0);
    let mut kms = kms_on(&store, &clock, 1);
    ok(
        &mut kms,
        APP,
        &format!(r#"{{"method":"setup","params":{{"passphrase":"{PASS}"}}}}"#),
    );
    (store, clock, kms)
}

fn unlock_json(pass: &str) -> String {
    format!(r#"{{"method":"unlock.passphrase","params":{{"passphrase":"{pass}"}}}}"#)
}

fn audit_len(store: &MemoryStore, origin: &str) -> u64 {
    pollster::block_on(store.audit_len(origin)).unwrap()
}

#[test]
fn setup_lock_unlock() {
    let (_store, _clock, mut kms) = setup();
    assert!(kms.is_unlocked());
    let status = typed::<methods::Status>(&mut kms, APP, ()).unwrap();
    assert!(status.initialized && status.unlocked);
    assert_eq!(status.methods.len(), 1);
    assert_eq!(status.methods[0].kind, kms_core::MethodKind::Passphrase);
    typed::<methods::Lock>(&mut kms, APP, ()).unwrap();
    assert!(!kms.is_unlocked());
    assert_eq!(
        typed::<methods::VapidPublicKey>(&mut kms, APP, ()),
        Err(Error::Locked)
    );
    let unlock = |pass: &str| UnlockPassphraseParams {
        passphrase: pass.into(),
    };
    assert_eq!(
        typed::<methods::UnlockPassphrase>(&mut kms, APP, unlock("not the passphrase")),
        Err(Error::BadCredential)
    );
    assert!(!kms.is_unlocked());
    let unlocked = typed::<methods::UnlockPassphrase>(&mut kms, APP, unlock(PASS)).unwrap();
    assert_eq!(unlocked.method_id, status.methods[0].id);
    assert!(kms.is_unlocked());
    let again = SetupParams {
        passphrase: PASS.into(),
    };
    assert_eq!(
        typed::<methods::Setup>(&mut kms, APP, again),
        Err(Error::AlreadyInitialized)
    );
}

#[test]
fn short_passphrase_refused_at_setup() {
    let store = MemoryStore::new();
    let mut kms = kms_on(&store, &ManualClock::new(T0), 1);
    let r = call(
        &mut kms,
        APP,
        r#"{"method":"setup","params":{"passphrase":"short"}}"#,
    );
    assert!(matches!(r, Err(Error::BadRequest { .. })), "{r:?}");
    assert!(store.snapshot().is_empty());
}

#[test]
fn failed_unlocks_back_off_persistently() {
    let (store, clock, mut kms) = setup();
    ok(&mut kms, APP, r#"{"method":"lock"}"#);
    for _ in 0..3 {
        assert_eq!(
            call(&mut kms, APP, &unlock_json("wrong passphrase!")),
            Err(Error::BadCredential)
        );
    }
    // The 3rd failure started a 1 s back-off: even the right passphrase is refused now,
    // by a fresh instance too (the counter is stored, not kept in memory).
    let mut other_tab = kms_on(&store, &clock, 2);
    match call(&mut other_tab, APP, &unlock_json(PASS)) {
        Err(Error::RateLimited { retry_after_ms }) => assert_eq!(retry_after_ms, 1000),
        r => panic!("{r:?}"),
    }
    clock.advance_ms(1000);
    assert_eq!(
        call(&mut kms, APP, &unlock_json("wrong passphrase!")),
        Err(Error::BadCredential)
    );
    clock.advance_ms(1000);
    assert!(matches!(
        call(&mut kms, APP, &unlock_json(PASS)),
        Err(Error::RateLimited {
            retry_after_ms: 1000
        })
    ));
    clock.advance_ms(1000);
    ok(&mut kms, APP, &unlock_json(PASS));
    assert!(
        store.get_sync("g/backoff").is_none(),
        "success resets the counter"
    );
}

trait GetSync {
    fn get_sync(&self, key: &str) -> Option<Vec<u8>>;
}
impl GetSync for MemoryStore {
    fn get_sync(&self, key: &str) -> Option<Vec<u8>> {
        pollster::block_on(self.get(key)).unwrap()
    }
}

#[test]
fn origins_cannot_see_each_others_keys() {
    let (_store, _clock, mut kms) = setup();
    let vapid = typed::<methods::VapidPublicKey>(&mut kms, APP, ()).unwrap();
    let other = typed::<methods::VapidPublicKey>(&mut kms, OTHER, ()).unwrap();
    assert_ne!(vapid.application_server_key, other.application_server_key);
    let keys = typed::<methods::ListKeys>(&mut kms, OTHER, ())
        .unwrap()
        .keys;
    assert!(
        keys.iter()
            .all(|k| k.public_key != vapid.application_server_key)
    );
    // The same key id does not exist in the other shard: nothing there to use or delete.
    let before = typed::<methods::ListKeys>(&mut kms, APP, ()).unwrap().keys;
    let del = DeleteKeyParams {
        key_id: vapid.key_id.clone(),
    };
    assert!(matches!(
        typed::<methods::DeleteKey>(&mut kms, OTHER, del),
        Err(Error::KeyNotFound { .. })
    ));
    let after = typed::<methods::ListKeys>(&mut kms, APP, ()).unwrap().keys;
    assert_eq!(before, after);
    assert!(before.iter().any(|k| k.id == vapid.key_id));
    // Audit logs are per shard too.
    let jsonl = typed::<methods::AuditExport>(&mut kms, OTHER, ())
        .unwrap()
        .jsonl;
    assert!(!jsonl.contains(APP), "{jsonl}");
}

#[test]
fn invalid_origins_are_denied() {
    // A caller holds a parsed origin, so no request can run for one of these; the shell
    // answers the parse failure as `OriginDenied`.
    for o in [
        "null",
        "https://app.example/",
        "file://x",
        "https://APP.example",
    ] {
        let e = kms_core::Origin::parse(o).unwrap_err();
        assert_eq!(Error::from(e), Error::OriginDenied, "{o}");
    }
}

#[test]
fn storage_failure_changes_nothing() {
    let (store, _clock, mut kms) = setup();
    let before = store.snapshot();
    let log_before = audit_len(&store, APP);
    store.fail_next_commits(1);
    let r = call(&mut kms, APP, r#"{"method":"vapid.publicKey"}"#);
    assert!(matches!(r, Err(Error::Storage { .. })), "{r:?}");
    assert_eq!(store.snapshot(), before);
    assert_eq!(audit_len(&store, APP), log_before);
    ok(&mut kms, APP, r#"{"method":"vapid.publicKey"}"#);
}

#[test]
fn malformed_requests_are_refused_by_the_decoder() {
    for bad in [
        r#"{"method":"nope"}"#,
        r#"{"method":"setup","params":{}}"#,
        r#"{"method":"setup","params":{"passphrase":"x","extra":1}}"#,
        r#"{"method":"vapid.authorization","params":{"aud":5}}"#,
        r#"{"params":{}}"#,
    ] {
        assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
    }
}

#[test]
fn prf_method_unlocks() {
    let (_store, _clock, mut kms) = setup();
    let Response::PrfInput(PrfInputResponse { prf_input }) =
        ok(&mut kms, APP, r#"{"method":"methods.prfInput"}"#)
    else {
        panic!()
    };
    let output = kms_core::hazmat::b64::encode([0x42u8; 32]);
    let add = format!(
        r#"{{"method":"methods.addPrf","params":{{"credentialId":"AQID","prfInput":"{prf_input}","prfOutput":{},"label":"key"}}}}"#,
        serde_json::to_string(&[0x42u8; 32].to_vec()).unwrap()
    );
    let Response::MethodAdded(MethodAddedResponse { method }) = ok(&mut kms, APP, &add) else {
        panic!()
    };
    assert_eq!(method.kind, kms_core::MethodKind::PasskeyPrf);
    ok(&mut kms, APP, r#"{"method":"lock"}"#);
    let wrong = r#"{"method":"unlock.prf","params":{"credentialId":"AQID","prfOutput":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}}"#;
    assert_eq!(call(&mut kms, APP, wrong), Err(Error::BadCredential));
    let short = r#"{"method":"unlock.prf","params":{"credentialId":"AQID","prfOutput":[1,2,3]}}"#;
    assert!(matches!(
        call(&mut kms, APP, short),
        Err(Error::BadRequest { .. })
    ));
    let _ = output;
    let right = format!(
        r#"{{"method":"unlock.prf","params":{{"credentialId":"AQID","prfOutput":{}}}}}"#,
        serde_json::to_string(&[0x42u8; 32].to_vec()).unwrap()
    );
    let Response::Unlocked(UnlockedResponse { method_id, .. }) = ok(&mut kms, APP, &right) else {
        panic!()
    };
    assert_eq!(method_id, method.id);
}

#[test]
fn methods_can_be_added_changed_and_removed_without_rewrapping_keys() {
    let (store, _clock, mut kms) = setup();
    ok(&mut kms, APP, r#"{"method":"vapid.publicKey"}"#);
    let keys_before: Vec<_> = store
        .snapshot()
        .into_iter()
        .filter(|(k, _)| k.starts_with("k/"))
        .collect();
    let Response::MethodAdded(MethodAddedResponse { method }) = ok(
        &mut kms,
        APP,
        r#"{"method":"methods.addPassphrase","params":{"passphrase":"second passphrase"}}"#,
    ) else {
        panic!()
    };
    let Response::Methods(MethodsResponse { methods }) =
        ok(&mut kms, APP, r#"{"method":"methods.list"}"#)
    else {
        panic!()
    };
    assert_eq!(methods.len(), 2);
    let first = methods
        .iter()
        .find(|m| m.id != method.id)
        .unwrap()
        .id
        .clone();
    ok(
        &mut kms,
        APP,
        &format!(r#"{{"method":"methods.remove","params":{{"methodId":"{first}"}}}}"#),
    );
    let r = call(
        &mut kms,
        APP,
        &format!(
            r#"{{"method":"methods.remove","params":{{"methodId":"{}"}}}}"#,
            method.id
        ),
    );
    assert!(
        matches!(r, Err(Error::BadRequest { .. })),
        "last method must stay: {r:?}"
    );
    ok(
        &mut kms,
        APP,
        &format!(
            r#"{{"method":"methods.changePassphrase","params":{{"methodId":"{}","passphrase":"third passphrase"}}}}"#,
            method.id
        ),
    );
    ok(&mut kms, APP, r#"{"method":"lock"}"#);
    assert_eq!(
        call(&mut kms, APP, &unlock_json(PASS)),
        Err(Error::BadCredential)
    );
    assert_eq!(
        call(&mut kms, APP, &unlock_json("second passphrase")),
        Err(Error::BadCredential)
    );
    ok(&mut kms, APP, &unlock_json("third passphrase"));
    let keys_after: Vec<_> = store
        .snapshot()
        .into_iter()
        .filter(|(k, _)| k.starts_with("k/"))
        .collect();
    assert_eq!(keys_before, keys_after, "key records untouched");
}

/// Two tabs over one store take turns writing to the same shard: each one's remembered
/// audit head goes stale after the other's write, its commit conflicts and is retried from
/// fresh reads, and the log stays one unbroken chain.
#[test]
fn two_tabs_interleaving_keep_one_audit_chain() {
    let (store, clock, mut tab1) = setup();
    let mut tab2 = kms_on(&store, &clock, 2);
    ok(&mut tab2, APP, &unlock_json(PASS));
    let before = audit_len(&store, APP);
    for _ in 0..5 {
        ok(
            &mut tab1,
            APP,
            r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net"}}"#,
        );
        ok(
            &mut tab2,
            APP,
            r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net"}}"#,
        );
    }
    assert!(audit_len(&store, APP) >= before + 10);
    for tab in [&mut tab1, &mut tab2] {
        let Response::AuditVerified(AuditVerifiedResponse {
            size,
            checkpoint_size,
            ..
        }) = ok(tab, APP, r#"{"method":"audit.verify"}"#)
        else {
            panic!("expected auditVerified")
        };
        assert_eq!(size, audit_len(&store, APP));
        assert_eq!(checkpoint_size, size);
    }
}
