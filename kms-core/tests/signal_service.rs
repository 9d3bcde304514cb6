//! Signal sessions through the service: two enclaves converse; a message that fails changes
//! nothing stored; replays are refused; a session's first message shreds its one-time
//! prekey in the same transaction; two tabs racing on one store decrypt a message once;
//! trust decisions belong to the enclave's UI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod routing;

use std::cell::RefCell;
use std::collections::BTreeMap;

use kms_core::audit::Entry;
use kms_core::hazmat::b64;
use kms_core::rpc::Request;
use kms_core::rpc::policy::Caller;
use kms_core::service::Response;
use kms_core::signal::{PublicKey, SafetyNumber};
use kms_core::store::{Record, StoreError, Transaction};
use kms_core::{Error, Kms, ManualClock, MemoryStore, Origin, Store};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

const ALICE: &str = "https://app.example";
const BOB: &str = "https://app2.example";
const PASS: &str = "correct horse battery staple";
const T0: u64 = 1_800_000_000_000;

type TestKms<S = MemoryStore> = Kms<S, ManualClock, StdRng>;

/// Calls `method` as the page of `origin` (or the enclave's UI for an authority method).
fn call<S: Store>(
    kms: &mut TestKms<S>,
    origin: &str,
    method: &str,
    params: Value,
) -> Result<Value, Error> {
    let frame = if params.is_null() {
        json!({ "method": method })
    } else {
        json!({ "method": method, "params": params })
    };
    let r: Request = serde_json::from_value(frame).unwrap();
    let caller = routing::routed(origin, &r);
    pollster::block_on(kms.handle(&caller, r))
        .map(|resp: Response| serde_json::to_value(resp).unwrap())
}

/// As the page of `origin`, whatever the method's policy.
fn call_as_page(
    kms: &mut TestKms,
    origin: &str,
    method: &str,
    params: Value,
) -> Result<Value, Error> {
    let r: Request = serde_json::from_value(json!({ "method": method, "params": params })).unwrap();
    let caller = Caller::Page(Origin::parse(origin).unwrap());
    pollster::block_on(kms.handle(&caller, r)).map(|resp| serde_json::to_value(resp).unwrap())
}

fn enclave(seed: u64) -> (MemoryStore, ManualClock, TestKms) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(T0);
    let mut kms = Kms::new(store.clone(), clock.clone(), StdRng::seed_from_u64(seed));
    call(&mut kms, ALICE, "setup", json!({ "passphrase": PASS })).unwrap();
    (store, clock, kms)
}

fn unlocked_tab(store: &MemoryStore, clock: &ManualClock, seed: u64) -> TestKms {
    let mut kms = Kms::new(store.clone(), clock.clone(), StdRng::seed_from_u64(seed));
    call(
        &mut kms,
        ALICE,
        "unlock.passphrase",
        json!({ "passphrase": PASS }),
    )
    .unwrap();
    kms
}

fn addr(name: &str) -> Value {
    json!({ "name": name, "deviceId": 1 })
}

fn bundle<S: Store>(kms: &mut TestKms<S>, origin: &str, one_time: bool) -> Value {
    call(kms, origin, "signal.bundle", json!({ "oneTime": one_time })).unwrap()["bundle"].clone()
}

fn encrypt<S: Store>(kms: &mut TestKms<S>, origin: &str, to: &str, text: &str) -> Value {
    call(
        kms,
        origin,
        "signal.encrypt",
        json!({ "address": addr(to), "plaintext": b64::encode(text) }),
    )
    .unwrap()
}

fn decrypt<S: Store>(
    kms: &mut TestKms<S>,
    origin: &str,
    from: &str,
    message: &Value,
) -> Result<Value, Error> {
    call(
        kms,
        origin,
        "signal.decrypt",
        json!({ "address": addr(from), "message": message["message"], "messageType": message["messageType"] }),
    )
}

/// The user confirms, in the enclave's UI, the identity key stored for `peer` (what the
/// `ui.trust` ceremony ends in). Returns the identity as now trusted.
fn confirm<S: Store>(kms: &mut TestKms<S>, origin: &str, peer: &str) -> Value {
    let stored = call(
        kms,
        origin,
        "signal.identity",
        json!({ "address": addr(peer) }),
    )
    .unwrap();
    call(
        kms,
        origin,
        "signal.trust",
        json!({ "address": addr(peer), "identityKey": stored["identityKey"] }),
    )
    .unwrap()
}

fn text(decrypted: &Value) -> String {
    String::from_utf8(b64::decode(decrypted["plaintext"].as_str().unwrap()).unwrap()).unwrap()
}

/// A store's records and audit logs.
type State = (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<Vec<u8>>>);

fn state(store: &MemoryStore) -> State {
    (store.snapshot(), store.audit_snapshot())
}

fn ops(store: &MemoryStore, shard: &str) -> Vec<String> {
    store
        .audit_snapshot()
        .get(shard)
        .map(|log| log.iter().map(|e| Entry::decode(e).unwrap().op).collect())
        .unwrap_or_default()
}

fn has_key(store: &MemoryStore, shard: &str, key_id: &str) -> bool {
    store
        .snapshot()
        .contains_key(&format!("k/{shard}/{key_id}"))
}

/// Alice (one enclave, origin `ALICE`) starts a session with Bob (another enclave, origin
/// `BOB`) from his bundle and sends the first message.
struct Conversation {
    alice_store: MemoryStore,
    alice: TestKms,
    bob_store: MemoryStore,
    bob_clock: ManualClock,
    bob: TestKms,
    first: Value,
}

fn conversation(one_time: bool) -> Conversation {
    let (alice_store, _, mut alice) = enclave(1);
    let (bob_store, bob_clock, mut bob) = enclave(2);
    let b = bundle(&mut bob, BOB, one_time);
    let started = call(
        &mut alice,
        ALICE,
        "signal.startSession",
        json!({ "address": addr("bob"), "bundle": b }),
    )
    .unwrap();
    assert_eq!(started["identityChange"], "new");
    assert_eq!(started["trust"], "unconfirmed");
    assert_eq!(started["identityKey"], b["identityKey"]);
    assert_eq!(confirm(&mut alice, ALICE, "bob")["trust"], "confirmed");
    let first = encrypt(&mut alice, ALICE, "bob", "hello bob");
    assert_eq!(first["type"], "signalEncrypted");
    assert_eq!(first["messageType"], 3);
    Conversation {
        alice_store,
        alice,
        bob_store,
        bob_clock,
        bob,
        first,
    }
}

#[test]
fn two_enclaves_hold_a_conversation() {
    let Conversation {
        alice_store,
        mut alice,
        bob_store,
        mut bob,
        first,
        ..
    } = conversation(true);
    let otpk = bundle(&mut bob, BOB, true)["preKeyId"].as_u64().unwrap();
    let got = decrypt(&mut bob, BOB, "alice", &first).unwrap();
    assert_eq!(text(&got), "hello bob");
    assert_eq!(got["identityChange"], "new");
    assert_eq!(got["trust"], "unconfirmed");
    assert_eq!(got["preKeysUsed"]["oneTimePreKeyId"], otpk);
    assert!(!has_key(&bob_store, BOB, &format!("signal-otpk/{otpk}")));
    confirm(&mut bob, BOB, "alice");

    // Until Bob answers, Alice's messages are PreKey messages; after, plain ones.
    let second = encrypt(&mut alice, ALICE, "bob", "still there?");
    assert_eq!(second["messageType"], 3);
    let reply = encrypt(&mut bob, BOB, "alice", "hi alice");
    assert_eq!(reply["messageType"], 2);
    assert_eq!(
        text(&decrypt(&mut alice, ALICE, "bob", &reply).unwrap()),
        "hi alice"
    );
    let got = decrypt(&mut bob, BOB, "alice", &second).unwrap();
    assert_eq!(text(&got), "still there?");
    assert_eq!(got["identityChange"], "unchanged");
    assert!(got["preKeysUsed"].is_null(), "{got}");

    // Several turns, one delivered out of order.
    let mut held = Vec::new();
    for turn in 0..4 {
        let m = encrypt(&mut alice, ALICE, "bob", &format!("a{turn}"));
        assert_eq!(m["messageType"], 2);
        held.push(m);
        if turn % 2 == 1 {
            for (i, m) in held.drain(..).rev().enumerate() {
                let _ = i;
                assert!(text(&decrypt(&mut bob, BOB, "alice", &m).unwrap()).starts_with('a'));
            }
            let r = encrypt(&mut bob, BOB, "alice", &format!("b{turn}"));
            assert_eq!(
                text(&decrypt(&mut alice, ALICE, "bob", &r).unwrap()),
                format!("b{turn}")
            );
        }
    }

    let sessions = call(&mut alice, ALICE, "signal.sessions", Value::Null).unwrap();
    let list = sessions["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{sessions}");
    assert_eq!(list[0]["address"], addr("bob"));
    assert_eq!(list[0]["awaitingReply"], false);
    assert_eq!(
        list[0]["remoteIdentityKey"],
        bundle(&mut bob, BOB, false)["identityKey"]
    );
    // Sessions and trusted identities are not keys of the shard.
    let keys = call(&mut alice, ALICE, "keys.list", Value::Null).unwrap();
    assert!(
        keys["keys"].as_array().unwrap().iter().all(|k| !k["id"]
            .as_str()
            .unwrap()
            .contains("session")
            && !k["id"].as_str().unwrap().contains("peer")),
        "{keys}"
    );
    for (store, shard, kms) in [
        (&alice_store, ALICE, &mut alice),
        (&bob_store, BOB, &mut bob),
    ] {
        let log = ops(store, shard);
        assert!(log.contains(&"signal.encrypt".to_owned()), "{log:?}");
        assert!(log.contains(&"signal.decrypt".to_owned()), "{log:?}");
        call(kms, shard, "audit.verify", Value::Null).unwrap();
    }
    assert!(ops(&alice_store, ALICE).contains(&"signal.start-session".to_owned()));

    // Deleting the session keeps the trusted identity; encrypting then needs a new session.
    call(
        &mut alice,
        ALICE,
        "signal.deleteSession",
        json!({ "address": addr("bob") }),
    )
    .unwrap();
    let e = call(
        &mut alice,
        ALICE,
        "signal.encrypt",
        json!({ "address": addr("bob"), "plaintext": "aGk" }),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NoSession { .. }), "{e:?}");
    let id = call(
        &mut alice,
        ALICE,
        "signal.identity",
        json!({ "address": addr("bob") }),
    )
    .unwrap();
    assert_eq!(id["trust"], "confirmed");
    assert!(id["identityKey"].is_string());
}

#[test]
fn a_message_that_fails_changes_nothing_stored() {
    let Conversation {
        mut bob,
        bob_store,
        first,
        ..
    } = conversation(true);
    let before = state(&bob_store);
    let bytes = b64::decode(first["message"].as_str().unwrap()).unwrap();
    for pos in [bytes.len() - 1, bytes.len() / 2, 40] {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x20;
        let m = json!({ "message": b64::encode(&bad), "messageType": 3 });
        let e = decrypt(&mut bob, BOB, "alice", &m).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DecryptFailed
                    | Error::BadRequest { .. }
                    | Error::KeyNotFound { .. }
                    | Error::KeyConsumed { .. }
            ),
            "{pos}: {e:?}"
        );
        assert_eq!(state(&bob_store), before, "{pos}: a failed decrypt wrote");
    }
    // The wrong type, an unknown sender, a garbage message: typed errors, nothing written.
    let as_whisper = json!({ "message": first["message"], "messageType": 2 });
    assert!(decrypt(&mut bob, BOB, "alice", &as_whisper).is_err());
    let e = decrypt(
        &mut bob,
        BOB,
        "carol",
        &json!({"message": "RAAA", "messageType": 2}),
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::BadRequest { .. } | Error::NoSession { .. }),
        "{e:?}"
    );
    let e = decrypt(
        &mut bob,
        BOB,
        "alice",
        &json!({"message": "RAAA", "messageType": 7}),
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadRequest { .. }), "{e:?}");
    // Nothing was written, and the genuine message still decrypts.
    assert_eq!(state(&bob_store), before);
    assert_eq!(
        text(&decrypt(&mut bob, BOB, "alice", &first).unwrap()),
        "hello bob"
    );
    // Locked: refused before anything is read.
    call(&mut bob, BOB, "lock", Value::Null).unwrap();
    let locked = state(&bob_store);
    let e = decrypt(&mut bob, BOB, "alice", &first).unwrap_err();
    assert_eq!(e, Error::Locked);
    assert_eq!(state(&bob_store), locked);
}

#[test]
fn replays_are_refused() {
    for one_time in [true, false] {
        let Conversation {
            mut alice,
            mut bob,
            bob_store,
            first,
            ..
        } = conversation(one_time);
        decrypt(&mut bob, BOB, "alice", &first).unwrap();
        // The same first message again: its session exists, its counter is used.
        let before = state(&bob_store);
        let e = decrypt(&mut bob, BOB, "alice", &first).unwrap_err();
        assert_eq!(e, Error::DuplicateMessage, "one_time={one_time}");
        assert_eq!(state(&bob_store), before);
        confirm(&mut bob, BOB, "alice");
        let reply = encrypt(&mut bob, BOB, "alice", "hi");
        decrypt(&mut alice, ALICE, "bob", &reply).unwrap();
        let e = decrypt(&mut alice, ALICE, "bob", &reply).unwrap_err();
        assert_eq!(e, Error::DuplicateMessage);
        // After Bob forgets the session, the replayed first message cannot start a new one:
        // its Kyber prekey's use by this base key is on file (and its one-time prekey, if
        // it named one, is gone).
        call(
            &mut bob,
            BOB,
            "signal.deleteSession",
            json!({ "address": addr("alice") }),
        )
        .unwrap();
        let before = state(&bob_store);
        let e = decrypt(&mut bob, BOB, "alice", &first).unwrap_err();
        assert_eq!(e, Error::DuplicateMessage, "one_time={one_time}");
        assert_eq!(state(&bob_store), before);
    }
}

#[test]
fn the_one_time_prekey_is_shredded_in_the_decrypting_transaction() {
    let Conversation {
        mut bob,
        bob_store,
        first,
        ..
    } = conversation(true);
    let otpk = format!(
        "signal-otpk/{}",
        bundle(&mut bob, BOB, true)["preKeyId"].as_u64().unwrap()
    );
    // A commit that fails writes nothing: the prekey is still there, no session, no entry.
    let before = state(&bob_store);
    bob_store.fail_next_commits(1);
    let e = decrypt(&mut bob, BOB, "alice", &first).unwrap_err();
    assert!(matches!(e, Error::Storage { .. }), "{e:?}");
    assert_eq!(state(&bob_store), before);
    assert!(has_key(&bob_store, BOB, &otpk));
    // The commit that succeeds holds all of it: one audit entry, prekey gone, session and
    // trusted identity written.
    let log_before = ops(&bob_store, BOB).len();
    decrypt(&mut bob, BOB, "alice", &first).unwrap();
    let log = ops(&bob_store, BOB);
    assert_eq!(log.len(), log_before + 1);
    assert_eq!(log.last().unwrap(), "signal.decrypt");
    assert!(!has_key(&bob_store, BOB, &otpk));
    let keys: Vec<String> = bob_store.snapshot().into_keys().collect();
    let session = format!("k/{BOB}/signal-session/");
    let peer = format!("k/{BOB}/signal-peer/");
    let kyber = format!("k/{BOB}/signal-kyber-used/");
    for prefix in [session, peer, kyber] {
        assert!(
            keys.iter().any(|k| k.starts_with(&prefix)),
            "{prefix} {keys:?}"
        );
    }
}

#[test]
fn prekey_upkeep_keeps_working_while_sessions_are_open() {
    let Conversation {
        mut alice,
        mut bob,
        bob_store,
        bob_clock,
        first,
        ..
    } = conversation(true);
    // Carol fetches Bob's bundle now (signed prekey 1) and sends her first message late.
    let (_, _, mut carol) = enclave(9);
    let old = bundle(&mut bob, BOB, false);
    assert_eq!(old["signedPreKeyId"], 1);
    call(
        &mut carol,
        ALICE,
        "signal.startSession",
        json!({ "address": addr("bob"), "bundle": old }),
    )
    .unwrap();
    confirm(&mut carol, ALICE, "bob");
    let late = encrypt(&mut carol, ALICE, "bob", "late");
    // Bob rotates his signed prekey and replenishes before Alice's first message arrives:
    // the old signed prekey is within its grace period and still opens it.
    let rotated = call(&mut bob, BOB, "signal.rotateSignedPrekey", Value::Null).unwrap();
    assert_eq!(rotated["id"], 2);
    let filled = call(&mut bob, BOB, "signal.replenish", json!({ "target": 150 })).unwrap();
    assert_eq!(filled["available"], 150);
    assert_eq!(
        text(&decrypt(&mut bob, BOB, "alice", &first).unwrap()),
        "hello bob"
    );
    // Alice's first message left a mark of its Kyber prekey's use, with signed prekey 1.
    let marks = |store: &MemoryStore| {
        store
            .snapshot()
            .into_keys()
            .filter(|k| k.contains("/signal-kyber-used/"))
            .count()
    };
    assert_eq!(marks(&bob_store), 1);
    // Long after, rotations delete the old signed prekeys: the open session needs none,
    // and the marks of the sessions they started go with them.
    bob_clock.advance_ms(30 * 24 * 3600 * 1000);
    call(&mut bob, BOB, "signal.rotateSignedPrekey", Value::Null).unwrap();
    call(&mut bob, BOB, "signal.rotateSignedPrekey", Value::Null).unwrap();
    assert_eq!(marks(&bob_store), 0, "the mark went with signed prekey 1");
    confirm(&mut bob, BOB, "alice");
    let reply = encrypt(&mut bob, BOB, "alice", "after rotation");
    assert_eq!(
        text(&decrypt(&mut alice, ALICE, "bob", &reply).unwrap()),
        "after rotation"
    );
    let m = encrypt(&mut alice, ALICE, "bob", "still fine");
    assert_eq!(
        text(&decrypt(&mut bob, BOB, "alice", &m).unwrap()),
        "still fine"
    );
    // Carol's first message names a signed prekey past its grace: refused, typed, and
    // nothing is written.
    let e = decrypt(&mut bob, BOB, "carol", &late).unwrap_err();
    assert_eq!(
        e,
        Error::KeyNotFound {
            id: "signal-spk/1".into()
        }
    );
}

/// A store that lets another tab run a whole operation just before this tab's first
/// commit: the deterministic form of two tabs decrypting the same message at once.
struct Interleaved<'a> {
    inner: MemoryStore,
    before_commit: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

impl Store for Interleaved<'_> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<Record>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn audit_len(&self, log: &str) -> Result<u64, StoreError> {
        self.inner.audit_len(log).await
    }
    async fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.audit_read(log, from, limit).await
    }
    async fn commit(&self, tx: Transaction) -> Result<(), StoreError> {
        let hook = self.before_commit.borrow_mut().take();
        if let Some(other_tab) = hook {
            other_tab();
        }
        self.inner.commit(tx).await
    }
}

#[test]
fn two_tabs_decrypting_one_message_one_wins_the_other_gets_duplicate() {
    let Conversation {
        mut alice,
        bob_store,
        bob_clock,
        first,
        ..
    } = conversation(true);
    let tab2 = unlocked_tab(&bob_store, &bob_clock, 20);
    let tab2_out = RefCell::new(None);
    let store = Interleaved {
        inner: bob_store.clone(),
        before_commit: RefCell::new(None),
    };
    let mut tab1: TestKms<&Interleaved> =
        Kms::new(&store, bob_clock.clone(), StdRng::seed_from_u64(21));
    call(
        &mut tab1,
        BOB,
        "unlock.passphrase",
        json!({ "passphrase": PASS }),
    )
    .unwrap();
    {
        let first = first.clone();
        let out = &tab2_out;
        *store.before_commit.borrow_mut() = Some(Box::new(move || {
            let mut tab2 = tab2;
            let r = decrypt(&mut tab2, BOB, "alice", &first);
            *out.borrow_mut() = Some((r, tab2));
        }));
    }
    let tab1_result = decrypt(&mut tab1, BOB, "alice", &first);
    let (tab2_result, mut tab2) = tab2_out.borrow_mut().take().expect("the other tab ran");
    assert_eq!(text(&tab2_result.unwrap()), "hello bob");
    assert_eq!(tab1_result.unwrap_err(), Error::DuplicateMessage);
    // One decrypt entry, and the state both tabs see is consistent: either tab can go on.
    let log = ops(&bob_store, BOB);
    assert_eq!(
        log.iter().filter(|o| *o == "signal.decrypt").count(),
        1,
        "{log:?}"
    );
    confirm(&mut tab1, BOB, "alice");
    let reply = encrypt(&mut tab1, BOB, "alice", "from tab 1");
    assert_eq!(
        text(&decrypt(&mut alice, ALICE, "bob", &reply).unwrap()),
        "from tab 1"
    );
    let next = encrypt(&mut alice, ALICE, "bob", "to either tab");
    assert_eq!(
        text(&decrypt(&mut tab2, BOB, "alice", &next).unwrap()),
        "to either tab"
    );
    let e = decrypt(&mut tab1, BOB, "alice", &next).unwrap_err();
    assert_eq!(e, Error::DuplicateMessage);
}

#[test]
fn two_threads_racing_on_one_store_decrypt_each_message_once() {
    let Conversation {
        mut alice,
        mut bob,
        bob_store,
        bob_clock,
        first,
        ..
    } = conversation(true);
    let mut tab2 = unlocked_tab(&bob_store, &bob_clock, 30);
    let mut messages = vec![first];
    decrypt(&mut bob, BOB, "alice", &messages[0]).unwrap();
    confirm(&mut bob, BOB, "alice");
    let reply = encrypt(&mut bob, BOB, "alice", "hi");
    decrypt(&mut alice, ALICE, "bob", &reply).unwrap();
    messages.clear();
    for i in 0..8 {
        messages.push(encrypt(&mut alice, ALICE, "bob", &format!("m{i}")));
    }
    for m in &messages {
        let barrier = std::sync::Barrier::new(2);
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                barrier.wait();
                decrypt(&mut bob, BOB, "alice", m)
            });
            let b = s.spawn(|| {
                barrier.wait();
                decrypt(&mut tab2, BOB, "alice", m)
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(
            [&a, &b].iter().filter(|r| r.is_ok()).count(),
            1,
            "{a:?} {b:?}"
        );
        for r in [a, b] {
            if let Err(e) = r {
                assert_eq!(e, Error::DuplicateMessage);
            }
        }
    }
}

#[test]
fn a_changed_identity_needs_the_user_in_the_enclave_ui() {
    let Conversation {
        mut alice,
        alice_store,
        mut bob,
        first,
        ..
    } = conversation(true);
    decrypt(&mut bob, BOB, "alice", &first).unwrap();
    // "Bob" reinstalls (or an attacker claims his address): a new identity key.
    let (_, _, mut new_bob) = enclave(3);
    let b = bundle(&mut new_bob, BOB, true);
    let before = state(&alice_store);
    let start = json!({ "address": addr("bob"), "bundle": b });
    let e = call(&mut alice, ALICE, "signal.startSession", start.clone()).unwrap_err();
    assert!(matches!(e, Error::UntrustedIdentity { .. }), "{e:?}");
    assert_eq!(state(&alice_store), before);
    // A message from the new key is refused too, and writes nothing.
    call(
        &mut new_bob,
        BOB,
        "signal.startSession",
        json!({ "address": addr("alice"), "bundle": bundle(&mut alice, ALICE, true) }),
    )
    .unwrap();
    confirm(&mut new_bob, BOB, "alice");
    let m = encrypt(&mut new_bob, BOB, "alice", "trust me");
    let before = state(&alice_store);
    let e = decrypt(&mut alice, ALICE, "bob", &m).unwrap_err();
    assert!(matches!(e, Error::UntrustedIdentity { .. }), "{e:?}");
    assert_eq!(state(&alice_store), before);

    // What an attacker in the page can try: trust the key itself (refused, audited), delete
    // the session (the trusted identity stays), delete the trusted identity as a key
    // (refused).
    let trust = json!({ "address": addr("bob"), "identityKey": b["identityKey"] });
    let e = call_as_page(&mut alice, ALICE, "signal.trust", trust.clone()).unwrap_err();
    assert!(matches!(e, Error::NotPermitted { .. }), "{e:?}");
    assert_eq!(ops(&alice_store, ALICE).last().unwrap(), "signal.trust");
    call(
        &mut alice,
        ALICE,
        "signal.deleteSession",
        json!({ "address": addr("bob") }),
    )
    .unwrap();
    let e = call(&mut alice, ALICE, "signal.startSession", start.clone()).unwrap_err();
    assert!(matches!(e, Error::UntrustedIdentity { .. }), "{e:?}");
    let peer_key = alice_store
        .snapshot()
        .into_keys()
        .find(|k| k.contains("/signal-peer/"))
        .unwrap();
    let key_id = peer_key.strip_prefix(&format!("k/{ALICE}/")).unwrap();
    let e = call(&mut alice, ALICE, "keys.delete", json!({ "keyId": key_id })).unwrap_err();
    assert!(matches!(e, Error::BadRequest { .. }), "{e:?}");

    // The user accepts the new key in the enclave's UI: then the page can go on.
    let trusted = call(
        &mut alice,
        ALICE,
        "signal.trust",
        json!({ "address": addr("bob"), "identityKey": b["identityKey"], "verified": true }),
    )
    .unwrap();
    assert_eq!(trusted["identityKey"], b["identityKey"]);
    assert_eq!(trusted["trust"], "verified");
    assert_eq!(
        text(&decrypt(&mut alice, ALICE, "bob", &m).unwrap()),
        "trust me"
    );
}

#[test]
fn a_session_the_page_started_sends_nothing_until_the_user_confirms() {
    // An attacker in Alice's page starts a session to "bob" from a bundle of its own
    // (Mallory's enclave), and forges a first message from "carol".
    let (alice_store, _, mut alice) = enclave(1);
    let (_, _, mut mallory) = enclave(4);
    let fake = bundle(&mut mallory, BOB, true);
    let started = call(
        &mut alice,
        ALICE,
        "signal.startSession",
        json!({ "address": addr("bob"), "bundle": fake }),
    )
    .unwrap();
    assert_eq!(started["trust"], "unconfirmed");
    let send = |to: &str| json!({ "address": addr(to), "plaintext": b64::encode("secret") });
    let before = state(&alice_store);
    let e = call(&mut alice, ALICE, "signal.encrypt", send("bob")).unwrap_err();
    assert!(matches!(e, Error::UntrustedIdentity { .. }), "{e:?}");
    assert_eq!(
        state(&alice_store),
        before,
        "a refused encrypt writes nothing"
    );

    call(
        &mut mallory,
        BOB,
        "signal.startSession",
        json!({ "address": addr("alice"), "bundle": bundle(&mut alice, ALICE, true) }),
    )
    .unwrap();
    confirm(&mut mallory, BOB, "alice");
    let forged = encrypt(&mut mallory, BOB, "alice", "from carol");
    let got = decrypt(&mut alice, ALICE, "carol", &forged).unwrap();
    assert_eq!(text(&got), "from carol", "what the page could read anyway");
    assert_eq!(got["trust"], "unconfirmed");
    let e = call(&mut alice, ALICE, "signal.encrypt", send("carol")).unwrap_err();
    assert!(matches!(e, Error::UntrustedIdentity { .. }), "{e:?}");

    // The page cannot confirm a key itself, nor get rid of the stored one to start over.
    for peer in ["bob", "carol"] {
        let key = call(
            &mut alice,
            ALICE,
            "signal.identity",
            json!({ "address": addr(peer) }),
        )
        .unwrap();
        assert_eq!(key["trust"], "unconfirmed");
        let trust = json!({ "address": addr(peer), "identityKey": key["identityKey"] });
        let e = call_as_page(&mut alice, ALICE, "signal.trust", trust).unwrap_err();
        assert!(matches!(e, Error::NotPermitted { .. }), "{e:?}");
    }
    call(
        &mut alice,
        ALICE,
        "signal.deleteSession",
        json!({ "address": addr("bob") }),
    )
    .unwrap();
    call(
        &mut alice,
        ALICE,
        "signal.startSession",
        json!({ "address": addr("bob"), "bundle": bundle(&mut mallory, BOB, true) }),
    )
    .unwrap();
    let e = call(&mut alice, ALICE, "signal.encrypt", send("bob")).unwrap_err();
    assert!(matches!(e, Error::UntrustedIdentity { .. }), "{e:?}");

    // Once the user confirms the key in the enclave's UI, messages go to it.
    assert_eq!(confirm(&mut alice, ALICE, "bob")["trust"], "confirmed");
    let m = encrypt(&mut alice, ALICE, "bob", "now");
    assert_eq!(
        text(&decrypt(&mut mallory, BOB, "alice", &m).unwrap()),
        "now"
    );
}

#[test]
fn the_page_cannot_delete_the_shards_identity_state_or_audit_key() {
    let (store, _, mut alice) = enclave(1);
    bundle(&mut alice, ALICE, true);
    call(&mut alice, ALICE, "audit.verify", Value::Null).unwrap();
    let ids: Vec<String> = store
        .snapshot()
        .into_keys()
        .filter_map(|k| k.strip_prefix(&format!("k/{ALICE}/")).map(str::to_owned))
        .filter(|id| {
            ["signal-identity/", "signal-state/", "audit/"]
                .iter()
                .any(|p| id.starts_with(p))
        })
        .collect();
    assert!(
        ids.iter().any(|id| id.starts_with("signal-identity/")),
        "{ids:?}"
    );
    assert!(
        ids.iter().any(|id| id.starts_with("signal-state/")),
        "{ids:?}"
    );
    let before = store.snapshot();
    for id in &ids {
        let e = call(&mut alice, ALICE, "keys.delete", json!({ "keyId": id })).unwrap_err();
        assert!(matches!(e, Error::NotPermitted { .. }), "{id}: {e:?}");
    }
    assert_eq!(store.snapshot(), before, "nothing was deleted");
    // Prekeys stay the page's to manage.
    let otpk = bundle(&mut alice, ALICE, true)["preKeyId"]
        .as_u64()
        .unwrap();
    call(
        &mut alice,
        ALICE,
        "keys.delete",
        json!({ "keyId": format!("signal-otpk/{otpk}") }),
    )
    .unwrap();
}

#[test]
fn safety_numbers_match_on_both_sides_and_libsignal_s_computation() {
    let Conversation {
        mut alice,
        mut bob,
        first,
        ..
    } = conversation(true);
    decrypt(&mut bob, BOB, "alice", &first).unwrap();
    let (a_uuid, b_uuid) = (
        "9d0652a3-dcc3-4d11-975f-74d61598733f",
        "e3e5ab4e-8c1c-4a3f-9e12-2f1b7d2b6c55",
    );
    for (local, remote, version) in [("alice", "bob", 1), (a_uuid, b_uuid, 2)] {
        let ours = call(
            &mut alice,
            ALICE,
            "signal.safetyNumber",
            json!({ "address": addr("bob"), "localName": local, "remoteName": remote }),
        )
        .unwrap();
        let theirs = call(
            &mut bob,
            BOB,
            "signal.safetyNumber",
            json!({ "address": addr("alice"), "localName": remote, "remoteName": local }),
        )
        .unwrap();
        assert_eq!(ours["version"], version);
        let digits = ours["safetyNumber"].as_str().unwrap();
        assert_eq!(digits.len(), 60);
        assert_eq!(ours["safetyNumber"], theirs["safetyNumber"]);
        // The same as the library's fingerprint of the two identity keys.
        let key = |kms: &mut TestKms, o| {
            let b = bundle(kms, o, false);
            PublicKey::deserialize(&b64::decode(b["identityKey"].as_str().unwrap()).unwrap())
                .unwrap()
        };
        let (ak, bk) = (key(&mut alice, ALICE), key(&mut bob, BOB));
        let id = |n: &str| {
            if version == 2 {
                hex_uuid(n)
            } else {
                n.as_bytes().to_vec()
            }
        };
        let expected = SafetyNumber::new(version, 5200, &id(local), &ak, &id(remote), &bk).unwrap();
        assert_eq!(digits, expected.display());
        let scanned = b64::decode(theirs["scannable"].as_str().unwrap()).unwrap();
        assert!(expected.matches_scanned(&scanned).unwrap());
    }
    let e = call(
        &mut alice,
        ALICE,
        "signal.safetyNumber",
        json!({ "address": addr("nobody"), "localName": "a", "remoteName": "b" }),
    )
    .unwrap_err();
    assert!(matches!(e, Error::KeyNotFound { .. }), "{e:?}");
}

fn hex_uuid(s: &str) -> Vec<u8> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn addresses_are_checked_and_shards_are_apart() {
    let Conversation { mut bob, first, .. } = conversation(true);
    for bad in [
        json!({ "name": "", "deviceId": 1 }),
        json!({ "name": "bob", "deviceId": 0 }),
        json!({ "name": "bob", "deviceId": 128 }),
        json!({ "name": "b\u{7}ob", "deviceId": 1 }),
        json!({ "name": "x".repeat(257), "deviceId": 1 }),
    ] {
        let e = call(
            &mut bob,
            BOB,
            "signal.decrypt",
            json!({ "address": bad, "message": first["message"], "messageType": 3 }),
        )
        .unwrap_err();
        assert!(matches!(e, Error::BadRequest { .. }), "{bad}: {e:?}");
    }
    // Another origin on the same enclave has no session with Alice and cannot use Bob's.
    decrypt(&mut bob, BOB, "alice", &first).unwrap();
    let other = "https://other.example";
    let e = call(
        &mut bob,
        other,
        "signal.encrypt",
        json!({ "address": addr("alice"), "plaintext": "aGk" }),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NoSession { .. }), "{e:?}");
    let sessions = call(&mut bob, other, "signal.sessions", Value::Null).unwrap();
    assert_eq!(sessions["sessions"], json!([]));
}

#[test]
fn two_tabs_encrypting_at_once_never_reuse_a_message_key() {
    let Conversation {
        mut alice,
        alice_store,
        mut bob,
        first,
        ..
    } = conversation(true);
    decrypt(&mut bob, BOB, "alice", &first).unwrap();
    confirm(&mut bob, BOB, "alice");
    let reply = encrypt(&mut bob, BOB, "alice", "hi");
    decrypt(&mut alice, ALICE, "bob", &reply).unwrap();
    // Tab 2 encrypts while tab 1 is between reading the session and committing: tab 1's
    // commit loses, and its retry encrypts with the next message key.
    let clock = ManualClock::new(T0);
    let tab2 = unlocked_tab(&alice_store, &clock, 40);
    let out = RefCell::new(None);
    let store = Interleaved {
        inner: alice_store.clone(),
        before_commit: RefCell::new(None),
    };
    let mut tab1: TestKms<&Interleaved> =
        Kms::new(&store, clock.clone(), StdRng::seed_from_u64(41));
    call(
        &mut tab1,
        ALICE,
        "unlock.passphrase",
        json!({ "passphrase": PASS }),
    )
    .unwrap();
    {
        let out = &out;
        *store.before_commit.borrow_mut() = Some(Box::new(move || {
            let mut tab2 = tab2;
            *out.borrow_mut() = Some(encrypt(&mut tab2, ALICE, "bob", "from tab 2"));
        }));
    }
    let m1 = encrypt(&mut tab1, ALICE, "bob", "from tab 1");
    let m2 = out.borrow_mut().take().expect("the other tab ran");
    assert_ne!(m1["message"], m2["message"]);
    assert_eq!(
        text(&decrypt(&mut bob, BOB, "alice", &m1).unwrap()),
        "from tab 1"
    );
    assert_eq!(
        text(&decrypt(&mut bob, BOB, "alice", &m2).unwrap()),
        "from tab 2"
    );
}
