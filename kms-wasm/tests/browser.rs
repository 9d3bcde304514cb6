//! The browser shell in a real browser: the IndexedDB store (conformance suite, atomicity,
//! persistence, concurrent writers), WebCrypto PBKDF2 against the Rust implementation, the
//! non-extractable device key, `Enclave` end to end, and the frame helpers the enclave
//! page's bootstrap calls (routing, `envelope.seal`, the replies it makes itself).
//!
//! Run with `cargo xtask test` (or `cargo test -p kms-wasm --target wasm32-unknown-unknown`
//! with `wasm-bindgen-test-runner` as the target runner and `CHROMEDRIVER` set).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use getrandom::SysRng;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use kms_core::Secret32;
use kms_core::envelope::{
    self, Envelope, EnvelopeFormat, MAX_PLAINTEXT_LEN, PrekeySecret, PrekeyUse,
};
use kms_core::hazmat::kdf::{Pbkdf2Provider, RustPbkdf2, pbkdf2_sha256};
use kms_core::rand_core::UnwrapErr;
use kms_core::signal::identity::IdentityKeyPair;
use kms_core::store::{Check, Store, StoreError, Transaction, conformance};
use kms_core::{DeviceKey, DeviceKeyError};
use kms_wasm::Enclave;
use kms_wasm::dispatch::{Route, check_ceremony, error_reply, ok_reply, route_frame};
use kms_wasm::envelope::seal_frame;
use kms_wasm::idb::{IdbStore, SCHEMA_VERSION};
use kms_wasm::webcrypto::{WebCryptoDeviceKey, WebCryptoPbkdf2, subtle};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{CryptoKey, IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest};

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------------------------------
// helpers

thread_local! {
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// A database name no other test (or earlier run in the same profile) uses.
fn unique_name(what: &str) -> String {
    let n = COUNTER.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let r: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("kms-test-{what}-{n}-{r}")
}

/// Resolves when `req` succeeds (to its result) or fails (to its error).
async fn settle(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let r = req.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap());
        });
        let r = req.clone();
        let err = Closure::once_into_js(move || {
            let e: JsValue = r.error().unwrap().map_or(JsValue::NULL, Into::into);
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(err.unchecked_ref()));
    });
    JsFuture::from(promise).await
}

/// A second, independent connection to an existing database (whatever its version).
async fn raw_open(name: &str) -> IdbDatabase {
    let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())
        .unwrap()
        .unchecked_into();
    let req: IdbOpenDbRequest = factory.open(name).unwrap();
    settle(&req).await.unwrap().unchecked_into()
}

/// Writes `value` at `key` in object store `store`, bypassing `IdbStore` (to corrupt data).
async fn raw_put(db: &IdbDatabase, store: &str, key: &JsValue, value: &JsValue) {
    let t = db
        .transaction_with_str_and_mode(store, web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    let req = t
        .object_store(store)
        .unwrap()
        .put_with_key(value, key)
        .unwrap();
    settle(&req).await.unwrap();
    // The transaction commits once no request is pending; a read in a new transaction on the
    // same store is ordered after it.
}

/// Polls two futures concurrently on this thread until both finish.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

// ---------------------------------------------------------------------------------------
// IndexedDB store

#[wasm_bindgen_test]
async fn idb_store_passes_the_conformance_suite() {
    // The factory is synchronous and `IdbStore::open` is not: open one fresh database per
    // check up front and hand them out in order.
    let mut stores = Vec::new();
    for _ in conformance::CHECKS {
        let s = IdbStore::open(&unique_name("conformance")).await;
        assert!(s.is_available(), "IndexedDB unavailable in the test page");
        stores.push(s);
    }
    stores.reverse();
    let started = now_ms();
    let report = conformance::run(|| stores.pop().expect("one store per check"))
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.checks, conformance::CHECKS.len());
    assert!(stores.is_empty(), "every store was used");
    wasm_bindgen_test::console_log!(
        "conformance: {} checks in {:.0} ms",
        report.checks,
        now_ms() - started
    );
}

async fn put(s: &IdbStore, k: &str, v: &[u8]) {
    let mut tx = Transaction::new();
    tx.put(k, v.to_vec());
    s.commit(tx).await.unwrap();
}

#[wasm_bindgen_test]
async fn aborted_commit_leaves_nothing_then_the_same_transaction_succeeds() {
    let s = IdbStore::open(&unique_name("abort")).await;
    put(&s, "doomed", b"old").await;
    let mut tx = Transaction::new();
    tx.check(Check::Equals("doomed".into(), b"old".to_vec()))
        .put("a", b"1".to_vec())
        .put("b", b"2".to_vec())
        .delete("doomed")
        .append("log", 0, b"e0".to_vec())
        .append("log", 1, b"e1".to_vec())
        .append("other", 0, b"o0".to_vec());

    // The injected failure aborts the real IndexedDB transaction after every write was issued.
    s.fail_next_commits(1);
    let r = s.commit(tx.clone()).await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert_eq!(s.get("a").await.unwrap(), None);
    assert_eq!(s.get("b").await.unwrap(), None);
    assert_eq!(s.get("doomed").await.unwrap(), Some(b"old".to_vec()));
    assert_eq!(s.audit_len("log").await.unwrap(), 0);
    assert_eq!(s.audit_len("other").await.unwrap(), 0);
    assert!(s.audit_read("log", 0, 10).await.unwrap().is_empty());

    // Only one commit was made to fail: the same transaction now goes through.
    s.commit(tx).await.unwrap();
    assert_eq!(s.get("a").await.unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.get("b").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(s.get("doomed").await.unwrap(), None);
    assert_eq!(
        s.audit_read("log", 0, 10).await.unwrap(),
        [b"e0".to_vec(), b"e1".to_vec()]
    );
    assert_eq!(s.audit_len("other").await.unwrap(), 1);
}

#[wasm_bindgen_test]
async fn taken_audit_seq_leaves_nothing_then_the_next_seq_succeeds() {
    let s = IdbStore::open(&unique_name("seq")).await;
    let mut first = Transaction::new();
    first
        .put("state", b"v1".to_vec())
        .append("log", 0, b"e0".to_vec());
    s.commit(first).await.unwrap();

    let racing = |seq| {
        let mut tx = Transaction::new();
        tx.put("state", b"v2".to_vec())
            .put("extra", b"x".to_vec())
            .append("log", seq, b"e-racing".to_vec());
        tx
    };
    assert_eq!(s.commit(racing(0)).await, Err(StoreError::Conflict));
    assert_eq!(s.get("state").await.unwrap(), Some(b"v1".to_vec()));
    assert_eq!(s.get("extra").await.unwrap(), None);
    assert_eq!(s.audit_read("log", 0, 10).await.unwrap(), [b"e0".to_vec()]);

    s.commit(racing(1)).await.unwrap();
    assert_eq!(s.get("state").await.unwrap(), Some(b"v2".to_vec()));
    assert_eq!(s.audit_len("log").await.unwrap(), 2);
}

/// The length check cannot see a taken key when the log has a hole (written here behind
/// the store's back): then the audit `add` itself must fail with `ConstraintError`, abort
/// the whole transaction and surface as `Conflict`.
#[wasm_bindgen_test]
async fn constraint_error_aborts_the_whole_transaction_and_maps_to_conflict() {
    let name = unique_name("constraint");
    let s = IdbStore::open(&name).await;
    let db = raw_open(&name).await;
    let key: JsValue = Array::of2(&"log".into(), &JsValue::from_f64(1.0)).into();
    raw_put(&db, "audit", &key, &Uint8Array::from(&b"planted"[..])).await;
    assert_eq!(s.audit_len("log").await.unwrap(), 1);

    let mut tx = Transaction::new();
    tx.put("state", b"changed".to_vec())
        .append("other", 0, b"o0".to_vec())
        .append("log", 1, b"mine".to_vec());
    assert_eq!(s.commit(tx).await, Err(StoreError::Conflict));
    assert_eq!(s.get("state").await.unwrap(), None);
    assert_eq!(s.audit_len("other").await.unwrap(), 0);
    assert_eq!(
        s.audit_read("log", 0, 10).await.unwrap(),
        [b"planted".to_vec()]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn data_persists_across_connections() {
    let name = unique_name("persist");
    let first = IdbStore::open(&name).await;
    let mut tx = Transaction::new();
    tx.put("k/a", b"alpha".to_vec())
        .put("k/b", vec![0, 255, 7])
        .append("log", 0, b"e0".to_vec());
    first.commit(tx).await.unwrap();

    let second = IdbStore::open(&name).await;
    assert!(second.is_available());
    assert_eq!(second.get("k/a").await.unwrap(), Some(b"alpha".to_vec()));
    assert_eq!(
        second.list("k/").await.unwrap(),
        [
            ("k/a".to_owned(), b"alpha".to_vec()),
            ("k/b".to_owned(), vec![0, 255, 7])
        ]
    );
    assert_eq!(
        second.audit_read("log", 0, 5).await.unwrap(),
        [b"e0".to_vec()]
    );

    // And the other way round, while both connections are open.
    put(&second, "k/c", b"gamma").await;
    assert_eq!(first.get("k/c").await.unwrap(), Some(b"gamma".to_vec()));

    // A different name is a different database.
    let other = IdbStore::open(&unique_name("persist-other")).await;
    assert_eq!(other.get("k/a").await.unwrap(), None);
}

/// Two commits racing for the same one-time record from two connections (two tabs): the
/// check and the writes of each run in one transaction, so exactly one wins.
#[wasm_bindgen_test]
async fn concurrent_consumers_from_two_connections_have_one_winner() {
    let name = unique_name("race");
    let tab1 = IdbStore::open(&name).await;
    let tab2 = IdbStore::open(&name).await;
    for round in 0..5u8 {
        put(&tab1, "otpk", &[round]).await;
        let consume = |who: &str| {
            let mut tx = Transaction::new();
            tx.check(Check::Equals("otpk".into(), vec![round]))
                .delete("otpk")
                .put("winner", who.as_bytes().to_vec());
            tx
        };
        let (r1, r2) = join(tab1.commit(consume("tab1")), tab2.commit(consume("tab2"))).await;
        let winner = tab1.get("winner").await.unwrap();
        match (&r1, &r2) {
            (Ok(()), Err(StoreError::Conflict)) => assert_eq!(winner, Some(b"tab1".to_vec())),
            (Err(StoreError::Conflict), Ok(())) => assert_eq!(winner, Some(b"tab2".to_vec())),
            other => panic!("round {round}: expected one winner, got {other:?}"),
        }
        assert_eq!(tab2.get("otpk").await.unwrap(), None);
    }
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve: Function, _| {
        let set_timeout: Function = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .unwrap()
            .unchecked_into();
        set_timeout
            .call2(&JsValue::NULL, &resolve, &ms.into())
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// `fut`'s output, or `None` if it takes longer than `ms`.
async fn within<F: Future>(ms: i32, fut: F) -> Option<F::Output> {
    let (mut fut, mut timer) = (pin!(fut), pin!(sleep(ms)));
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Opens `name` at `version` (running no migration), as a newer enclave build would.
async fn raw_open_version(name: &str, version: u32) -> Result<IdbDatabase, JsValue> {
    let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())
        .unwrap()
        .unchecked_into();
    let req = factory.open_with_u32(name, version).unwrap();
    settle(&req).await.map(JsCast::unchecked_into)
}

/// A newer build upgrading the schema must not wait forever for this (older) connection:
/// the store closes it on `versionchange`, and its later operations fail instead of hanging.
#[wasm_bindgen_test]
async fn an_open_store_yields_to_a_schema_upgrade() {
    let name = unique_name("upgrade");
    let old = IdbStore::open(&name).await;
    put(&old, "k", b"v").await;
    let upgraded = within(5_000, raw_open_version(&name, SCHEMA_VERSION + 1))
        .await
        .expect("the upgrade was blocked by the open store")
        .unwrap();
    assert_eq!(upgraded.version() as u32, SCHEMA_VERSION + 1);
    let r = within(5_000, old.get("k")).await.expect("old store hangs");
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    upgraded.close();
}

/// A database written by a newer schema is a storage error to report as such, not
/// "storage blocked" (whose remedy, the Storage Access API, would not help).
#[wasm_bindgen_test]
async fn a_newer_schema_is_not_reported_as_blocked_storage() {
    let name = unique_name("newer");
    raw_open_version(&name, SCHEMA_VERSION + 1)
        .await
        .unwrap()
        .close();
    let s = IdbStore::open(&name).await;
    assert!(!s.is_available());
    let r = s.get("k").await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
}

// ---------------------------------------------------------------------------------------
// WebCrypto PBKDF2

async fn webcrypto(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    *WebCryptoPbkdf2::detect()
        .await
        .pbkdf2_sha256(password, salt, iterations)
        .await
        .unwrap()
        .expose()
}

#[wasm_bindgen_test]
async fn webcrypto_pbkdf2_matches_rfc_7914_vector() {
    // RFC 7914 §11: PBKDF2-HMAC-SHA-256 (P="passwd", S="salt", c=1, dkLen=64); the first 32
    // bytes are the 32-byte derivation (PBKDF2 blocks are independent).
    let expected: [u8; 32] = [
        0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6,
        0x05, 0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d,
        0xac, 0xbc,
    ];
    assert_eq!(webcrypto(b"passwd", b"salt", 1).await, expected);
    assert_eq!(*pbkdf2_sha256(b"passwd", b"salt", 1).expose(), expected);
}

#[wasm_bindgen_test]
async fn webcrypto_pbkdf2_is_byte_identical_to_rust() {
    // The empty password and salt are answered by the Rust reference where WebKit's
    // WebCrypto refuses them (`OperationError`): the key is the same in every engine.
    let long = vec![b'p'; 1000];
    let binary: Vec<u8> = (0..=255u8).collect();
    let non_ascii = "pässwörd ключ 🔑 密码".as_bytes();
    let cases: &[(&[u8], &[u8], u32)] = &[
        (b"", b"salt", 1),
        (b"", b"0123456789abcdef", 1000),
        (b"password", b"", 2),
        (b"password", b"salt", 4096),
        (&long, b"salt-for-a-long-password", 1000),
        (&long[..64], b"exactly one HMAC block", 3),
        (&long[..65], b"one byte over one HMAC block", 3),
        (non_ascii, "sël".as_bytes(), 100),
        (&binary, &binary, 10),
    ];
    for &(password, salt, iterations) in cases {
        let web = webcrypto(password, salt, iterations).await;
        let rust = *pbkdf2_sha256(password, salt, iterations).expose();
        assert_eq!(
            web,
            rust,
            "password {} bytes, salt {} bytes, {iterations} iterations",
            password.len(),
            salt.len()
        );
    }
    // Different inputs give different keys (the comparison above is not of constants).
    assert_ne!(
        webcrypto(b"password", b"salt", 2).await,
        webcrypto(b"password", b"salt", 3).await
    );
}

#[wasm_bindgen_test]
async fn webcrypto_pbkdf2_matches_rust_at_600k_iterations() {
    let (pw, salt) = ("correct horse battery staple".as_bytes(), [7u8; 16]);
    let t0 = now_ms();
    let web = webcrypto(pw, &salt, 600_000).await;
    let t1 = now_ms();
    let rust = RustPbkdf2.pbkdf2_sha256(pw, &salt, 600_000).await.unwrap();
    let t2 = now_ms();
    assert_eq!(&web, rust.expose());
    wasm_bindgen_test::console_log!(
        "PBKDF2-SHA256 600k: WebCrypto {:.0} ms, Rust/wasm {:.0} ms",
        t1 - t0,
        t2 - t1
    );
}

// ---------------------------------------------------------------------------------------
// device key

/// The schema-initialised database `name` and a raw connection to it.
async fn device_db(name: &str) -> (IdbStore, IdbDatabase) {
    let store = IdbStore::open(name).await;
    assert!(store.is_available());
    let db = raw_open(name).await;
    (store, db)
}

fn secret(b: u8) -> Secret32 {
    Secret32::from_bytes([b; 32])
}

#[wasm_bindgen_test]
async fn device_key_round_trips_and_rejects_wrong_aad_or_tampering() {
    let (_store, db) = device_db(&unique_name("device")).await;
    let key = WebCryptoDeviceKey::load_or_create(Some(&db)).await;
    assert!(key.is_available());
    let sealed = key.seal(b"aad", &secret(9), [1; 12]).await.unwrap();
    assert_eq!(sealed.ct.len(), 32 + 16);
    assert_eq!(key.open(b"aad", &sealed).await.unwrap(), secret(9));
    assert_eq!(
        key.open(b"other aad", &sealed).await,
        Err(DeviceKeyError::Authentication)
    );
    let mut tampered = sealed.clone();
    tampered.ct[0] ^= 1;
    assert_eq!(
        key.open(b"aad", &tampered).await,
        Err(DeviceKeyError::Authentication)
    );
    let mut renonced = sealed.clone();
    renonced.nonce[0] ^= 1;
    assert_eq!(
        key.open(b"aad", &renonced).await,
        Err(DeviceKeyError::Authentication)
    );
    db.close();
}

#[wasm_bindgen_test]
async fn device_key_persists_in_its_database_only() {
    let name = unique_name("device-persist");
    let (_store, db) = device_db(&name).await;
    let first = WebCryptoDeviceKey::load_or_create(Some(&db)).await;
    let sealed = first.seal(b"kek", &secret(3), [2; 12]).await.unwrap();

    // A new connection (as after a reload) loads the stored key, not a new one.
    let db2 = raw_open(&name).await;
    let reloaded = WebCryptoDeviceKey::load_or_create(Some(&db2)).await;
    assert_eq!(reloaded.open(b"kek", &sealed).await.unwrap(), secret(3));

    // Another database has its own key, which cannot open this one's records.
    let (_other_store, other_db) = device_db(&unique_name("device-other")).await;
    let other = WebCryptoDeviceKey::load_or_create(Some(&other_db)).await;
    assert!(other.is_available());
    assert_eq!(
        other.open(b"kek", &sealed).await,
        Err(DeviceKeyError::Authentication)
    );

    // Without a database there is no device key.
    let none = WebCryptoDeviceKey::load_or_create(None).await;
    assert!(!none.is_available());
    assert_eq!(
        none.seal(b"kek", &secret(3), [2; 12]).await.unwrap_err(),
        DeviceKeyError::Unavailable
    );
    for d in [db, db2, other_db] {
        d.close();
    }
}

async fn export_raw(key: &CryptoKey) -> Result<JsValue, JsValue> {
    JsFuture::from(subtle()?.export_key("raw", key)?).await
}

#[wasm_bindgen_test]
async fn device_key_is_not_extractable() {
    let name = unique_name("device-extract");
    let (_store, db) = device_db(&name).await;
    let key = WebCryptoDeviceKey::load_or_create(Some(&db)).await;
    let crypto_key = key.crypto_key().unwrap();
    assert!(!crypto_key.extractable());
    let err = export_raw(crypto_key).await.unwrap_err();
    assert_eq!(
        Reflect::get(&err, &"name".into()).unwrap().as_string(),
        Some("InvalidAccessError".into())
    );
    // The same holds for the copy structured-cloned out of IndexedDB.
    let db2 = raw_open(&name).await;
    let reloaded = WebCryptoDeviceKey::load_or_create(Some(&db2)).await;
    assert!(export_raw(reloaded.crypto_key().unwrap()).await.is_err());

    // Control: an extractable AES-GCM key does export here, so the rejection above is about
    // extractability, not an unsupported call.
    let alg = Object::new();
    Reflect::set(&alg, &"name".into(), &"AES-GCM".into()).unwrap();
    Reflect::set(&alg, &"length".into(), &256.into()).unwrap();
    let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
    let extractable: CryptoKey = JsFuture::from(
        subtle()
            .unwrap()
            .generate_key_with_object(&alg, true, &usages)
            .unwrap(),
    )
    .await
    .unwrap()
    .unchecked_into();
    let raw = export_raw(&extractable).await.unwrap();
    assert_eq!(js_sys::ArrayBuffer::from(raw).byte_length(), 32);
    db.close();
    db2.close();
}

// ---------------------------------------------------------------------------------------
// Enclave end to end

const PWA: &str = "http://app.kms.localhost:8080";

fn options(db_name: &str, rp_id: &str, pwa: &str) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"dbName".into(), &db_name.into()).unwrap();
    Reflect::set(&o, &"rpId".into(), &rp_id.into()).unwrap();
    Reflect::set(
        &o,
        &"enclaveOrigin".into(),
        &format!("http://{rp_id}:8081").into(),
    )
    .unwrap();
    let allowed = Array::of1(&pwa.into());
    Reflect::set(&o, &"allowedTopOrigins".into(), &allowed).unwrap();
    o.into()
}

async fn open_enclave(db_name: &str) -> Enclave {
    Enclave::open(options(db_name, "enclave.kms.localhost", PWA), None)
        .await
        .unwrap()
}

#[wasm_bindgen_test]
async fn enclave_refuses_a_page_that_could_claim_its_rp_id() {
    for (rp, pwa) in [
        ("localhost", "http://localhost:8080"),
        ("kms.localhost", "http://app.kms.localhost:8080"),
    ] {
        let Err(e) = Enclave::open(options(&unique_name("rp"), rp, pwa), None).await else {
            panic!("{pwa} embedding an enclave with rpId {rp} must be refused");
        };
        let message = js_sys::Error::from(JsValue::from(e)).message();
        assert!(
            String::from(message).starts_with("Misconfigured:"),
            "{rp} / {pwa}"
        );
    }
}

fn frame(id: u32, method: &str, params: Option<&[(&str, JsValue)]>) -> JsValue {
    let f = Object::new();
    Reflect::set(&f, &"v".into(), &1.into()).unwrap();
    Reflect::set(&f, &"id".into(), &id.into()).unwrap();
    Reflect::set(&f, &"method".into(), &method.into()).unwrap();
    if let Some(params) = params {
        let p = Object::new();
        for (k, v) in params {
            Reflect::set(&p, &(*k).into(), v).unwrap();
        }
        Reflect::set(&f, &"params".into(), &p).unwrap();
    }
    f.into()
}

/// `value.a.b.c` (undefined when a step is missing).
fn at(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |v, k| {
        if v.is_object() {
            Reflect::get(&v, &k.into()).unwrap()
        } else {
            JsValue::UNDEFINED
        }
    })
}

fn text(value: &JsValue, path: &str) -> String {
    at(value, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string in {value:?}"))
}

/// Sends a frame as the enclave's own page code would: setup and unlocking through the UI
/// entry point, everything else as the linked page.
async fn call(enclave: &Enclave, message: JsValue) -> JsValue {
    let method = at(&message, "method").as_string().unwrap_or_default();
    let reply = if method == "setup" || method.starts_with("unlock.") {
        enclave.handle_ui(PWA.into(), message).await
    } else {
        enclave.handle(PWA.into(), message).await
    };
    let reply = reply.map_err(JsValue::from).unwrap();
    assert_eq!(at(&reply, "v").as_f64(), Some(1.0), "{reply:?}");
    reply
}

/// Sends a frame that must succeed; returns `ok`.
async fn ok(
    enclave: &Enclave,
    id: u32,
    method: &str,
    params: Option<&[(&str, JsValue)]>,
) -> JsValue {
    let reply = call(enclave, frame(id, method, params)).await;
    assert_eq!(at(&reply, "id").as_f64(), Some(f64::from(id)), "{reply:?}");
    assert!(at(&reply, "err").is_undefined(), "{method}: {reply:?}");
    at(&reply, "ok")
}

/// Sends a frame that must fail; returns the error code.
async fn err_code(enclave: &Enclave, message: JsValue) -> (JsValue, String) {
    let reply = call(enclave, message).await;
    assert!(at(&reply, "ok").is_undefined(), "{reply:?}");
    (at(&reply, "id"), text(&reply, "err.code"))
}

fn passphrase(p: &str) -> [(&'static str, JsValue); 1] {
    [("passphrase", p.into())]
}

#[wasm_bindgen_test]
async fn enclave_end_to_end() {
    let db_name = unique_name("enclave");
    let enclave = open_enclave(&db_name).await;
    let info = enclave.info().map_err(JsValue::from).unwrap();
    assert_eq!(at(&info, "storageAvailable").as_bool(), Some(true));
    assert_eq!(at(&info, "deviceKeyAvailable").as_bool(), Some(true));
    // Every engine here imports P-256 keys: ES256 runs in WebCrypto, and `link` says so;
    // EdDSA stays in WebAssembly.
    assert_eq!(text(&info, "engines.es256"), "webCrypto");
    assert_eq!(text(&info, "engines.eddsa"), "wasm");
    assert_eq!(text(&info, "engines.pbkdf2"), "webCrypto");

    let status = ok(&enclave, 1, "status", None).await;
    assert_eq!(text(&status, "type"), "status");
    assert_eq!(at(&status, "initialized").as_bool(), Some(false));

    let pass = "correct horse battery staple ✓";
    // From the page, setup is refused: it is the enclave UI's.
    let from_page = enclave
        .handle(PWA.into(), frame(2, "setup", Some(&passphrase(pass))))
        .await
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(text(&from_page, "err.code"), "NotPermitted");
    let unlocked = ok(&enclave, 2, "setup", Some(&passphrase(pass))).await;
    assert_eq!(text(&unlocked, "type"), "unlocked");
    let method_id = text(&unlocked, "methodId");

    let vapid = ok(&enclave, 3, "vapid.publicKey", None).await;
    assert_eq!(text(&vapid, "type"), "vapidPublicKey");
    let server_key = text(&vapid, "applicationServerKey");
    let point = kms_core::hazmat::b64::decode(&server_key).unwrap();
    assert_eq!((point.len(), point[0]), (65, 0x04));

    assert_eq!(text(&ok(&enclave, 4, "lock", None).await, "type"), "done");
    let status = ok(&enclave, 5, "status", None).await;
    assert_eq!(at(&status, "initialized").as_bool(), Some(true));
    assert_eq!(at(&status, "unlocked").as_bool(), Some(false));
    let (id, code) = err_code(&enclave, frame(6, "vapid.publicKey", None)).await;
    assert_eq!((id.as_f64(), code.as_str()), (Some(6.0), "Locked"));

    let wrong = frame(
        7,
        "unlock.passphrase",
        Some(&passphrase("not the passphrase")),
    );
    let (id, code) = err_code(&enclave, wrong).await;
    assert_eq!((id.as_f64(), code.as_str()), (Some(7.0), "BadCredential"));

    let unlocked = ok(&enclave, 8, "unlock.passphrase", Some(&passphrase(pass))).await;
    assert_eq!(text(&unlocked, "methodId"), method_id);
    let again = ok(&enclave, 9, "vapid.publicKey", None).await;
    assert_eq!(text(&again, "applicationServerKey"), server_key);

    // Malformed frames are answered, with the id when it can be read.
    let bad_params = frame(10, "setup", Some(&[("passphrase", 7.into())]));
    let (id, code) = err_code(&enclave, bad_params).await;
    assert_eq!((id.as_f64(), code.as_str()), (Some(10.0), "BadRequest"));
    let (id, code) = err_code(&enclave, frame(11, "no.such.method", None)).await;
    assert_eq!((id.as_f64(), code.as_str()), (Some(11.0), "BadRequest"));
    let (id, code) = err_code(&enclave, "hello".into()).await;
    assert_eq!((id.is_null(), code.as_str()), (true, "BadRequest"));
    let v2 = frame(12, "status", None);
    Reflect::set(&v2, &"v".into(), &2.into()).unwrap();
    let (id, code) = err_code(&enclave, v2).await;
    assert_eq!((id.as_f64(), code.as_str()), (Some(12.0), "Unsupported"));

    // The setup survives a reload: a new Enclave over the same database starts locked and
    // unlocks with the same passphrase to the same keys.
    drop(enclave);
    let reopened = open_enclave(&db_name).await;
    let status = ok(&reopened, 1, "status", None).await;
    assert_eq!(at(&status, "initialized").as_bool(), Some(true));
    assert_eq!(at(&status, "unlocked").as_bool(), Some(false));
    ok(&reopened, 2, "unlock.passphrase", Some(&passphrase(pass))).await;
    let vapid = ok(&reopened, 3, "vapid.publicKey", None).await;
    assert_eq!(text(&vapid, "applicationServerKey"), server_key);
}

// ---------------------------------------------------------------------------------------
// The bootstrap's frame helpers: routing, `envelope.seal`, the replies it makes itself

/// An owner's identity key (base64url), one of its prekeys signed by it (as the vending
/// service hands it out) and the prekey's secret, to open what was sealed.
fn vended_prekey() -> (String, JsValue, PrekeySecret) {
    let mut rng = UnwrapErr(SysRng);
    let identity = IdentityKeyPair::generate(&mut rng);
    let secret = PrekeySecret::generate(EnvelopeFormat::X25519AesGcmV1, &mut rng);
    let prekey = secret
        .sign_public(&identity, "otk-1", PrekeyUse::OneTime, &mut rng)
        .unwrap();
    let prekey = prekey
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap();
    let identity_key = kms_core::hazmat::b64::encode(identity.public_key().serialize());
    (identity_key, prekey, secret)
}

fn seal_call(id: u32, identity_key: &str, prekey: &JsValue, plaintext: JsValue) -> JsValue {
    frame(
        id,
        "envelope.seal",
        Some(&[
            ("identityKey", identity_key.into()),
            ("prekey", prekey.clone()),
            ("plaintext", plaintext),
        ]),
    )
}

/// The bytes the envelope in a successful `envelope.seal` reply opens to.
fn opened(reply: &JsValue, secret: &PrekeySecret) -> Vec<u8> {
    assert_eq!(text(reply, "ok.type"), "envelopeSealed", "{reply:?}");
    let sealed: Envelope = serde_wasm_bindgen::from_value(at(reply, "ok.envelope")).unwrap();
    envelope::open(&sealed, "otk-1", secret)
        .unwrap()
        .expose()
        .to_vec()
}

fn seal_err(frame: JsValue) -> (JsValue, String, String) {
    let reply = seal_frame(frame).map_err(JsValue::from).unwrap();
    assert_eq!(at(&reply, "v").as_f64(), Some(1.0), "{reply:?}");
    assert!(at(&reply, "ok").is_undefined(), "{reply:?}");
    (
        at(&reply, "id"),
        text(&reply, "err.code"),
        text(&reply, "err.message"),
    )
}

#[wasm_bindgen_test]
fn frames_are_routed_by_method() {
    let with_method = |m: JsValue| {
        let f = Object::new();
        Reflect::set(&f, &"method".into(), &m).unwrap();
        JsValue::from(f)
    };
    for (method, route) in [
        ("envelope.seal", Route::Seal),
        ("ui.setup", Route::Ceremony),
        ("passkey.addPrf", Route::Ceremony),
        ("storage.requestAccess", Route::Ceremony),
        ("status", Route::Service),
        ("setup", Route::Service),
        ("no.such.method", Route::Service),
    ] {
        assert_eq!(route_frame(frame(1, method, None)), route, "{method}");
    }
    // Without a method string, the service answers (with what is wrong).
    for f in [
        with_method(5.into()),
        with_method(JsValue::NULL),
        Object::new().into(),
        "envelope.seal".into(),
        JsValue::NULL,
        JsValue::UNDEFINED,
    ] {
        assert_eq!(route_frame(f.clone()), Route::Service, "{f:?}");
    }
}

#[wasm_bindgen_test]
fn seal_frame_seals_a_string_as_utf8_and_a_uint8array_as_its_bytes() {
    let (identity_key, prekey, secret) = vended_prekey();
    let message = "héllo, forward secrecy ✓";
    let reply = seal_frame(seal_call(7, &identity_key, &prekey, message.into()))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(at(&reply, "v").as_f64(), Some(1.0));
    assert_eq!(at(&reply, "id").as_f64(), Some(7.0));
    assert!(at(&reply, "err").is_undefined(), "{reply:?}");
    assert_eq!(opened(&reply, &secret), message.as_bytes());

    let bytes = [0u8, 1, 0xfe, 0xff, b'"'];
    let array = Uint8Array::from(&bytes[..]);
    let reply = seal_frame(seal_call(8, &identity_key, &prekey, array.into()))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(opened(&reply, &secret), bytes);
    // A view on part of a buffer: its bytes, not the buffer's.
    let buffer = Uint8Array::from(&[9u8, 1, 2, 3, 9][..]);
    let view = buffer.subarray(1, 4);
    let reply = seal_frame(seal_call(9, &identity_key, &prekey, view.into()))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(opened(&reply, &secret), [1, 2, 3]);
    // The largest plaintext: sealed whole, and the caller's frame is left as it was.
    let large: Vec<u8> = (0..MAX_PLAINTEXT_LEN).map(|i| (i % 251) as u8).collect();
    let call = seal_call(
        10,
        &identity_key,
        &prekey,
        Uint8Array::from(&large[..]).into(),
    );
    let reply = seal_frame(call.clone()).map_err(JsValue::from).unwrap();
    assert_eq!(opened(&reply, &secret), large);
    let kept = at(&call, "params.plaintext");
    assert_eq!(kept.dyn_into::<Uint8Array>().unwrap().to_vec(), large);
}

#[wasm_bindgen_test]
fn seal_frame_refuses_anything_else_as_plaintext() {
    let (identity_key, prekey, _) = vended_prekey();
    let bytes = Uint8Array::from(&[1u8, 2, 3][..]);
    let numbers = Array::of3(&1.into(), &2.into(), &3.into());
    for plaintext in [
        bytes.buffer().into(),
        numbers.into(),
        7.into(),
        JsValue::NULL,
        JsValue::UNDEFINED,
        Object::new().into(),
    ] {
        let (id, code, message) = seal_err(seal_call(3, &identity_key, &prekey, plaintext.clone()));
        assert_eq!(
            (id.as_f64(), code.as_str()),
            (Some(3.0), "BadRequest"),
            "{plaintext:?}"
        );
        assert!(message.contains("envelope.seal: plaintext"), "{message}");
    }
    let no_plaintext = frame(
        4,
        "envelope.seal",
        Some(&[
            ("identityKey", identity_key.as_str().into()),
            ("prekey", prekey),
        ]),
    );
    let (id, code, _) = seal_err(no_plaintext);
    assert_eq!((id.as_f64(), code.as_str()), (Some(4.0), "BadRequest"));
}

#[wasm_bindgen_test]
fn seal_frame_refuses_a_prekey_its_owner_did_not_sign_without_echoing_the_plaintext() {
    let (identity_key, prekey, _) = vended_prekey();
    let (other_owner, _, _) = vended_prekey();
    let secret_text = "a plaintext that must not be echoed";
    let (id, code, message) = seal_err(seal_call(5, &other_owner, &prekey, secret_text.into()));
    assert_eq!((id.as_f64(), code.as_str()), (Some(5.0), "BadRequest"));
    assert!(message.contains("prekey"), "{message}");
    assert!(!message.contains(secret_text), "{message}");

    let forged = Object::assign(&Object::new(), prekey.unchecked_ref());
    Reflect::set(&forged, &"kid".into(), &"otk-2".into()).unwrap();
    let (_, code, message) = seal_err(seal_call(6, &identity_key, &forged.into(), "x".into()));
    assert_eq!(code, "BadRequest", "{message}");

    let (_, code, message) = seal_err(seal_call(6, "not a key", &prekey, "x".into()));
    assert_eq!(code, "BadRequest");
    assert!(message.contains("identityKey"), "{message}");
    let (_, code, _) = seal_err(seal_call(6, &identity_key, &"prekey".into(), "x".into()));
    assert_eq!(code, "BadRequest");
}

#[wasm_bindgen_test]
fn seal_frame_checks_the_header_as_every_frame() {
    let (identity_key, prekey, _) = vended_prekey();
    let v2 = seal_call(3, &identity_key, &prekey, "x".into());
    Reflect::set(&v2, &"v".into(), &2.into()).unwrap();
    let (id, code, message) = seal_err(v2);
    assert_eq!((id.as_f64(), code.as_str()), (Some(3.0), "Unsupported"));
    assert!(message.contains("protocol version 2"), "{message}");

    let no_v = seal_call(3, &identity_key, &prekey, "x".into());
    Reflect::delete_property(no_v.unchecked_ref::<Object>(), &"v".into()).unwrap();
    let (id, code, _) = seal_err(no_v);
    assert_eq!((id.as_f64(), code.as_str()), (Some(3.0), "BadRequest"));

    let no_id = seal_call(3, &identity_key, &prekey, "x".into());
    Reflect::delete_property(no_id.unchecked_ref::<Object>(), &"id".into()).unwrap();
    let (id, code, _) = seal_err(no_id);
    assert_eq!((id.is_null(), code.as_str()), (true, "BadRequest"));

    let no_params = frame(4, "envelope.seal", None);
    let (id, code, _) = seal_err(no_params);
    assert_eq!((id.as_f64(), code.as_str()), (Some(4.0), "BadRequest"));
    let (id, code, _) = seal_err("envelope.seal".into());
    assert_eq!((id.is_null(), code.as_str()), (true, "BadRequest"));
}

fn failure(code: &str, message: &str) -> JsValue {
    let f = Object::new();
    Reflect::set(&f, &"code".into(), &code.into()).unwrap();
    Reflect::set(&f, &"message".into(), &message.into()).unwrap();
    f.into()
}

#[wasm_bindgen_test]
fn error_reply_answers_the_frame_with_the_bootstraps_failure() {
    let reply = error_reply(
        frame(4, "ui.unlock", None),
        failure(
            "BadCredential",
            "passkey: NotAllowedError: the user cancelled",
        ),
    )
    .map_err(JsValue::from)
    .unwrap();
    assert_eq!(at(&reply, "v").as_f64(), Some(1.0));
    assert_eq!(at(&reply, "id").as_f64(), Some(4.0));
    assert_eq!(text(&reply, "err.code"), "BadCredential");
    assert_eq!(
        text(&reply, "err.message"),
        "passkey: NotAllowedError: the user cancelled"
    );
    assert!(at(&reply, "err.retryAfterMs").is_undefined());
    assert!(at(&reply, "ok").is_undefined());

    // A service body passed on keeps its retry hint.
    let limited = failure("RateLimited", "too many failed attempts");
    Reflect::set(&limited, &"retryAfterMs".into(), &1500.into()).unwrap();
    let reply = error_reply(frame(5, "ui.unlock", None), limited)
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(text(&reply, "err.code"), "RateLimited");
    assert_eq!(at(&reply, "err.retryAfterMs").as_f64(), Some(1500.0));

    // The last resort: any frame, the id when it is one.
    for (f, id) in [
        ("hello".into(), None),
        (JsValue::NULL, None),
        (frame(6, "status", None), Some(6.0)),
    ] {
        let reply = error_reply(f, failure("Internal", "boom"))
            .map_err(JsValue::from)
            .unwrap();
        assert_eq!(at(&reply, "id").as_f64(), id);
        assert!(at(&reply, "id").is_null() == id.is_none());
        assert_eq!(text(&reply, "err.code"), "Internal");
    }
    let negative = frame(7, "status", None);
    Reflect::set(&negative, &"id".into(), &(-1).into()).unwrap();
    let reply = error_reply(negative, failure("Internal", "boom"))
        .map_err(JsValue::from)
        .unwrap();
    assert!(at(&reply, "id").is_null());

    // A failure the bootstrap got wrong still answers, as Internal.
    for bad in [
        failure("NoSuchCode", "m"),
        "oops".into(),
        JsValue::UNDEFINED,
    ] {
        let reply = error_reply(frame(8, "ui.setup", None), bad.clone())
            .map_err(JsValue::from)
            .unwrap();
        assert_eq!(at(&reply, "id").as_f64(), Some(8.0));
        assert_eq!(text(&reply, "err.code"), "Internal", "{bad:?}");
        assert!(
            text(&reply, "err.message").contains("malformed failure"),
            "{reply:?}"
        );
    }
}

#[wasm_bindgen_test]
fn ok_reply_carries_the_ceremonys_result_as_is() {
    let result = Object::new();
    Reflect::set(&result, &"type".into(), &"unlocked".into()).unwrap();
    Reflect::set(&result, &"methodId".into(), &"m-1".into()).unwrap();
    let result = JsValue::from(result);
    let reply = ok_reply(frame(9, "ui.unlock", None), result.clone())
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(at(&reply, "v").as_f64(), Some(1.0));
    assert_eq!(at(&reply, "id").as_f64(), Some(9.0));
    assert_eq!(at(&reply, "ok"), result);
    assert!(at(&reply, "err").is_undefined());
}

#[wasm_bindgen_test]
fn check_ceremony_accepts_sound_frames_and_answers_the_others() {
    let hint = |h: &str| [("hint", JsValue::from(h))];
    assert!(
        check_ceremony(frame(1, "ui.unlock", Some(&hint("to sign in"))))
            .map_err(JsValue::from)
            .unwrap()
            .is_null()
    );
    let long = "x".repeat(200);
    let refusal = check_ceremony(frame(2, "ui.unlock", Some(&hint(&long))))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(at(&refusal, "id").as_f64(), Some(2.0));
    assert_eq!(text(&refusal, "err.code"), "BadRequest");
    let refusal = check_ceremony(frame(3, "ui.nothing", None))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(text(&refusal, "err.code"), "BadRequest");
}

/// WebCrypto ES256 and Ed25519 signatures verify under the key's own public key, as the
/// reference's do (ES256 is randomized, and so is WebKit's Ed25519, so neither is compared
/// byte for byte with the reference); every imported key is non-extractable.
#[wasm_bindgen_test]
async fn webcrypto_signatures_verify_as_the_reference_does() {
    use kms_core::jws::{JwsAlg, RustSigner, Signer, SigningKey};
    use kms_wasm::webcrypto::{Engine, SessionKey, WebCryptoSigner};
    let mut rng = UnwrapErr(SysRng);
    let message = b"eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZSJ9";
    assert_eq!(WebCryptoSigner::detect().await.eddsa(), Engine::Wasm);
    let signer = WebCryptoSigner::webcrypto_eddsa().await;
    assert_eq!(
        signer.es256(),
        Engine::WebCrypto,
        "every engine here imports P-256"
    );
    assert_eq!(
        signer.eddsa(),
        Engine::WebCrypto,
        "every engine here imports Ed25519"
    );
    for alg in [JwsAlg::ES256, JwsAlg::EdDSA] {
        for _ in 0..8 {
            let key = loop {
                // WebKit refuses an Ed25519 seed whose first byte is zero (the test below).
                let key = SigningKey::generate(alg, &mut rng);
                if key.secret().expose()[0] != 0 {
                    break key;
                }
            };
            let imported = signer.import(&key).await.unwrap();
            let SessionKey::WebCrypto(crypto_key, imported_alg) = &imported else {
                panic!("{alg:?} key not imported into WebCrypto");
            };
            assert_eq!(*imported_alg, alg);
            assert!(
                !crypto_key.extractable(),
                "the imported key must be non-extractable"
            );
            let sig = signer.sign(&imported, message).await.unwrap();
            key.public_key().verify(message, &sig).unwrap();
            let mut tampered = *message;
            tampered[0] ^= 1;
            assert!(key.public_key().verify(&tampered, &sig).is_err());
            let mut forged = sig;
            forged[10] ^= 1;
            assert!(key.public_key().verify(message, &forged).is_err());
            let reference = RustSigner.sign(&key, message).await.unwrap();
            key.public_key().verify(message, &reference).unwrap();
        }
    }
    // The WebAssembly-only signer (a browser without these imports) keeps the keys in
    // WebAssembly, and its signatures verify too (Ed25519's equal the reference's).
    let wasm = WebCryptoSigner::wasm_only();
    for alg in [JwsAlg::ES256, JwsAlg::EdDSA] {
        let key = SigningKey::generate(alg, &mut rng);
        let imported = wasm.import(&key).await.unwrap();
        assert!(matches!(imported, SessionKey::Wasm(_)));
        let sig = wasm.sign(&imported, message).await.unwrap();
        key.public_key().verify(message, &sig).unwrap();
        if alg == JwsAlg::EdDSA {
            assert_eq!(sig, RustSigner.sign(&key, message).await.unwrap());
        }
    }
}

/// An Ed25519 seed that begins with a zero byte (one key in 256): WebKit's PKCS#8 import
/// refuses it, so the signer keeps that key in WebAssembly; every engine signs with it, and
/// the signature verifies (and equals the reference's wherever the key stayed in wasm).
#[wasm_bindgen_test]
async fn webcrypto_eddsa_takes_a_seed_with_a_leading_zero_or_falls_back() {
    use kms_core::Secret32;
    use kms_core::jws::{JwsAlg, RustSigner, Signer, SigningKey};
    use kms_wasm::webcrypto::{SessionKey, WebCryptoSigner};
    let message = b"eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJtYWlsdG86YUBleGFtcGxlIn0";
    let signer = WebCryptoSigner::webcrypto_eddsa().await;
    let webkit = in_page("return navigator.userAgent.includes('AppleWebKit') && !navigator.userAgent.includes('Chrome');")
        .await
        .is_truthy();
    for (first, fill) in [(0u8, 0u8), (0, 7), (0, 0xff), (1, 0)] {
        let mut seed = [fill; 32];
        seed[0] = first;
        let key = SigningKey::from_secret(JwsAlg::EdDSA, &Secret32::from_bytes(seed)).unwrap();
        let imported = signer.import(&key).await.unwrap();
        let in_wasm = matches!(imported, SessionKey::Wasm(_));
        assert_eq!(
            in_wasm,
            webkit && first == 0,
            "seed {first:02x}{fill:02x}…: kept in wasm only where WebKit refuses it"
        );
        let sig = signer.sign(&imported, message).await.unwrap();
        key.public_key().verify(message, &sig).unwrap();
        if in_wasm {
            assert_eq!(sig, RustSigner.sign(&key, message).await.unwrap());
        }
    }
}

// ---------------------------------------------------------------------------------------
// feature detection

/// Runs `body` (an async function body) in the page and awaits its value.
async fn in_page(body: &str) -> JsValue {
    let f = Function::new_no_args(&format!("return (async () => {{ {body} }})()"));
    let promise: Promise = f.call0(&JsValue::NULL).unwrap().unchecked_into();
    JsFuture::from(promise).await.unwrap()
}

#[wasm_bindgen_test]
async fn link_reports_what_this_browser_does() {
    let enclave = open_enclave(&unique_name("platform")).await;
    let info = enclave.info().map_err(JsValue::from).unwrap();
    let platform = at(&info, "platform");
    // Each answer is checked against the browser itself, by other code than the enclave's.
    let found = in_page(
        r#"
        const gen = (alg, usages) => crypto.subtle.generateKey(alg, false, usages).then(() => true, () => false);
        const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
        const name = "kms-test-roundtrip-" + Math.random();
        const db = await new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onupgradeneeded = () => open.result.createObjectStore("s");
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        const back = await new Promise((resolve) => {
          const tx = db.transaction("s", "readwrite");
          try { tx.objectStore("s").put(key, "k"); } catch (e) { resolve(null); return; }
          tx.oncomplete = () => {
            const get = db.transaction("s").objectStore("s").get("k");
            get.onsuccess = () => resolve(get.result);
            get.onerror = () => resolve(null);
          };
          tx.onerror = () => resolve(null);
        });
        db.close();
        const persisted = navigator.storage && navigator.storage.persisted
          ? ((await navigator.storage.persisted()) ? "persisted" : "bestEffort") : "unsupported";
        return {
          ed25519: await gen({ name: "Ed25519" }, ["sign", "verify"]),
          x25519: await gen({ name: "X25519" }, ["deriveBits"]),
          storedCryptoKeys: back instanceof CryptoKey,
          persistentStorage: persisted,
        };
        "#,
    )
    .await;
    for field in ["ed25519", "x25519"] {
        assert_eq!(
            at(&platform, &format!("webCrypto.{field}")).as_bool(),
            at(&found, field).as_bool(),
            "webCrypto.{field}"
        );
    }
    assert_eq!(
        at(&platform, "storedCryptoKeys").as_bool(),
        at(&found, "storedCryptoKeys").as_bool()
    );
    assert_eq!(
        text(&platform, "persistentStorage"),
        text(&found, "persistentStorage")
    );
    // Every engine here derives PBKDF2 and imports P-256 keys in WebCrypto, and the engines
    // say so; where it could not, the wasm reference takes over and `engines` says that.
    for (algorithm, engine) in [("pbkdf2", "pbkdf2"), ("ecdsaP256", "es256")] {
        let native = at(&platform, &format!("webCrypto.{algorithm}")).as_bool();
        let runs = text(&info, &format!("engines.{engine}"));
        assert_eq!(native, Some(true), "webCrypto.{algorithm}");
        assert_eq!(runs, "webCrypto", "engines.{engine}");
    }
    wasm_bindgen_test::console_log!("platform: {}", js_sys::JSON::stringify(&platform).unwrap());
}
