//! The session's signing-key cache: a signature after the first reads nothing from the
//! store, a key another instance rotated or deleted is never used for a signature that
//! stands, and lock drops the cache.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use kms_core::jws::{self, JwsAlg, PublicKey};
use kms_core::rpc::policy::Caller;
use kms_core::rpc::{
    DeleteKeyParams, RelayAlg, RelayCreateKeyParams, RelayTokenParams, SetupParams,
    UnlockPassphraseParams, VapidAuthorizationParams, methods,
};
use kms_core::store::{Durability, Record, Transaction};
use kms_core::{Error, Kms, ManualClock, MemoryStore, Origin, Store, StoreError};
use rand::SeedableRng;
use rand::rngs::StdRng;

const PASS: &str = "correct horse battery staple";
const T0: u64 = 1_800_000_000_000;

/// A store that counts its reads and records the durability of each commit.
#[derive(Clone)]
struct Counting {
    inner: MemoryStore,
    reads: Rc<Cell<u32>>,
    commits: Rc<RefCell<Vec<Durability>>>,
}

impl Counting {
    fn read(&self) {
        self.reads.set(self.reads.get() + 1);
    }
}

impl Store for Counting {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read();
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<Record>, StoreError> {
        self.read();
        self.inner.list(prefix).await
    }
    async fn audit_len(&self, log: &str) -> Result<u64, StoreError> {
        self.read();
        self.inner.audit_len(log).await
    }
    async fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read();
        self.inner.audit_read(log, from, limit).await
    }
    async fn commit(&self, tx: Transaction) -> Result<(), StoreError> {
        let durability = tx.durability;
        self.inner.commit(tx).await?;
        self.commits.borrow_mut().push(durability);
        Ok(())
    }
}

type TestKms = Kms<Counting, ManualClock, StdRng>;

fn app() -> Origin {
    Origin::parse("https://app.example").unwrap()
}

fn kms(store: &Counting, seed: u64) -> TestKms {
    Kms::new(
        store.clone(),
        ManualClock::new(T0),
        StdRng::seed_from_u64(seed),
    )
}

fn store() -> Counting {
    Counting {
        inner: MemoryStore::new(),
        reads: Rc::new(Cell::new(0)),
        commits: Rc::new(RefCell::new(Vec::new())),
    }
}

fn set_up(kms: &mut TestKms) {
    let ui = Caller::EnclaveUi(app());
    pollster::block_on(kms.call::<methods::Setup>(
        &ui,
        SetupParams {
            passphrase: PASS.into(),
        },
    ))
    .unwrap();
}

fn unlock(kms: &mut TestKms) {
    let ui = Caller::EnclaveUi(app());
    pollster::block_on(kms.call::<methods::UnlockPassphrase>(
        &ui,
        UnlockPassphraseParams {
            passphrase: PASS.into(),
        },
    ))
    .unwrap();
}

fn authorization(kms: &mut TestKms) -> Result<String, Error> {
    let params = VapidAuthorizationParams {
        aud: "https://push.example.net".into(),
        sub: None,
        exp: None,
    };
    pollster::block_on(kms.call::<methods::VapidAuthorization>(&Caller::Page(app()), params))
        .map(|a| a.token)
}

fn vapid_public_key(kms: &mut TestKms) -> PublicKey {
    let k =
        pollster::block_on(kms.call::<methods::VapidPublicKey>(&Caller::Page(app()), ())).unwrap();
    let bytes = kms_core::hazmat::b64::decode(&k.application_server_key).unwrap();
    PublicKey::from_bytes(JwsAlg::ES256, &bytes).unwrap()
}

#[test]
fn a_second_signature_reads_nothing() {
    let store = store();
    let mut a = kms(&store, 1);
    set_up(&mut a);
    authorization(&mut a).unwrap();
    let before = store.reads.get();
    let token = authorization(&mut a).unwrap();
    assert_eq!(
        store.reads.get(),
        before,
        "a cached VAPID signature read the store"
    );
    jws::verify_compact(&token, &vapid_public_key(&mut a)).unwrap();

    let page = Caller::Page(app());
    let relay = pollster::block_on(a.call::<methods::RelayCreateKey>(
        &page,
        RelayCreateKeyParams {
            alg: RelayAlg::EdDSA,
        },
    ))
    .unwrap();
    let token = || RelayTokenParams {
        kid: relay.kid.clone(),
        aud: "relay".into(),
        iss: None,
        scope: None,
        ttl_secs: None,
    };
    pollster::block_on(a.call::<methods::RelayToken>(&page, token())).unwrap();
    let before = store.reads.get();
    pollster::block_on(a.call::<methods::RelayToken>(&page, token())).unwrap();
    assert_eq!(
        store.reads.get(),
        before,
        "a cached relay signature read the store"
    );
}

#[test]
fn a_key_rotated_by_another_instance_is_not_used() {
    let store = store();
    let mut a = kms(&store, 1);
    set_up(&mut a);
    let mut b = kms(&store, 2);
    unlock(&mut b);
    // `a` caches the first key; `b` (another tab) rotates it.
    authorization(&mut a).unwrap();
    pollster::block_on(b.call::<methods::VapidRotate>(&Caller::Page(app()), ())).unwrap();
    let rotated = vapid_public_key(&mut b);
    // `a`'s next signature is made with the new key: its commit with the old one lost.
    let token = authorization(&mut a).unwrap();
    jws::verify_compact(&token, &rotated).unwrap();
    // Every signature the log records names the key that made it.
    let log = store.inner.audit_snapshot();
    let entries = log.get(app().as_str()).unwrap();
    let last = kms_core::audit::Entry::decode(entries.last().unwrap()).unwrap();
    assert_eq!(last.op, "vapid.sign");
    let b_keys = pollster::block_on(b.call::<methods::ListKeys>(&Caller::Page(app()), ())).unwrap();
    let current = b_keys
        .keys
        .iter()
        .find(|k| k.kind == kms_core::service::KeyKind::Vapid)
        .unwrap();
    assert_eq!(last.key_id.as_deref(), Some(current.id.as_str()));
}

#[test]
fn a_key_deleted_by_another_instance_signs_nothing_more() {
    let store = store();
    let mut a = kms(&store, 1);
    set_up(&mut a);
    let mut b = kms(&store, 2);
    unlock(&mut b);
    let page = Caller::Page(app());
    let relay = pollster::block_on(a.call::<methods::RelayCreateKey>(
        &page,
        RelayCreateKeyParams {
            alg: RelayAlg::ES256,
        },
    ))
    .unwrap();
    let token = || RelayTokenParams {
        kid: relay.kid.clone(),
        aud: "relay".into(),
        iss: None,
        scope: None,
        ttl_secs: None,
    };
    pollster::block_on(a.call::<methods::RelayToken>(&page, token())).unwrap();
    let key_id = kms_core::KeyId::from(format!("relay/{}", relay.kid));
    pollster::block_on(b.call::<methods::DeleteKey>(&page, DeleteKeyParams { key_id })).unwrap();
    let after = pollster::block_on(a.call::<methods::RelayToken>(&page, token()));
    assert!(
        matches!(after, Err(Error::KeyNotFound { .. })),
        "a deleted key still signed: {after:?}"
    );
}

#[test]
fn lock_drops_the_cached_keys() {
    let store = store();
    let mut a = kms(&store, 1);
    set_up(&mut a);
    authorization(&mut a).unwrap();
    pollster::block_on(a.call::<methods::Lock>(&Caller::Page(app()), ())).unwrap();
    assert!(matches!(authorization(&mut a), Err(Error::Locked)));
    unlock(&mut a);
    authorization(&mut a).unwrap();
}

/// A transaction that only records (a signature's audit entry and checkpoint) is committed
/// relaxed; one that writes key records (creating, rotating) strictly.
#[test]
fn only_recording_commits_are_relaxed() {
    let store = store();
    let mut a = kms(&store, 1);
    set_up(&mut a);
    let last = || *store.commits.borrow().last().unwrap();
    assert_eq!(last(), Durability::Strict, "setup");
    vapid_public_key(&mut a);
    assert_eq!(last(), Durability::Strict, "creating the VAPID key");
    authorization(&mut a).unwrap();
    assert_eq!(last(), Durability::Relaxed, "a VAPID signature");
    pollster::block_on(a.call::<methods::VapidRotate>(&Caller::Page(app()), ())).unwrap();
    assert_eq!(last(), Durability::Strict, "rotating");
    let wrong = pollster::block_on(a.call::<methods::UnlockPassphrase>(
        &Caller::EnclaveUi(app()),
        UnlockPassphraseParams {
            passphrase: "not the passphrase".into(),
        },
    ));
    assert!(matches!(wrong, Err(Error::BadCredential)));
    let commits = store.commits.borrow();
    let n = commits.len();
    // The back-off record (written before the KDF runs) strictly, the denial relaxed.
    assert_eq!(
        &commits[n - 2..],
        &[Durability::Strict, Durability::Relaxed]
    );
}

#[test]
fn signal_upkeep_and_messages_leave_the_cache_warm() {
    let store = store();
    let mut a = kms(&store, 7);
    set_up(&mut a);
    authorization(&mut a).unwrap();
    // Writes under the shard's keys that are not signing keys: prekeys, a session.
    let page = Caller::Page(app());
    let bundle = pollster::block_on(a.call::<methods::SignalBundle>(
        &page,
        kms_core::rpc::SignalBundleParams {
            one_time: Some(true),
        },
    ))
    .unwrap()
    .bundle;
    pollster::block_on(a.call::<methods::SignalStartSession>(
        &page,
        kms_core::rpc::SignalStartSessionParams {
            address: kms_core::rpc::SignalAddress {
                name: "me-again".into(),
                device_id: 1,
            },
            bundle,
        },
    ))
    .unwrap();
    let before = store.reads.get();
    authorization(&mut a).unwrap();
    assert_eq!(
        store.reads.get(),
        before,
        "a Signal write dropped the cached VAPID key"
    );
}

/// A signer whose session keys count themselves while they live, as a browser's imported
/// `CryptoKey` handles would be held: the test sees whether the session still holds any.
#[derive(Clone)]
struct LiveKeys {
    live: Rc<Cell<i32>>,
    imports: Rc<Cell<u32>>,
}

struct LiveKey {
    key: jws::SigningKey,
    live: Rc<Cell<i32>>,
}

impl Drop for LiveKey {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl jws::Signer for LiveKeys {
    type Key = LiveKey;

    async fn import(&self, key: &jws::SigningKey) -> Result<LiveKey, jws::SignerError> {
        self.imports.set(self.imports.get() + 1);
        self.live.set(self.live.get() + 1);
        Ok(LiveKey {
            key: jws::RustSigner.import(key).await?,
            live: self.live.clone(),
        })
    }

    async fn sign(&self, key: &LiveKey, message: &[u8]) -> Result<[u8; 64], jws::SignerError> {
        jws::RustSigner.sign(&key.key, message).await
    }
}

/// Lock drops every key the signer imported for the session (in the browser, the
/// non-extractable `CryptoKey` handles): none is held while locked, a signature after lock is
/// refused, and the next session imports afresh.
#[test]
fn lock_drops_the_signers_imported_keys() {
    let signer = LiveKeys {
        live: Rc::new(Cell::new(0)),
        imports: Rc::new(Cell::new(0)),
    };
    let mut a = kms(&store(), 3).with_signer(signer.clone());
    let ui = Caller::EnclaveUi(app());
    let page = Caller::Page(app());
    let pass = || SetupParams {
        passphrase: PASS.into(),
    };
    pollster::block_on(a.call::<methods::Setup>(&ui, pass())).unwrap();
    let sign = |a: &mut Kms<Counting, ManualClock, StdRng, _, _, LiveKeys>| {
        pollster::block_on(a.call::<methods::VapidAuthorization>(
            &page,
            VapidAuthorizationParams {
                aud: "https://push.example.net".into(),
                sub: None,
                exp: None,
            },
        ))
    };
    sign(&mut a).unwrap();
    sign(&mut a).unwrap();
    assert_eq!(signer.imports.get(), 1, "one import per key and session");
    assert_eq!(signer.live.get(), 1, "the session holds its imported key");
    pollster::block_on(a.call::<methods::Lock>(&page, ())).unwrap();
    assert_eq!(signer.live.get(), 0, "lock must drop the imported key");
    assert!(matches!(sign(&mut a), Err(Error::Locked)));
    assert_eq!(signer.imports.get(), 1, "nothing is imported while locked");
    pollster::block_on(a.call::<methods::UnlockPassphrase>(
        &ui,
        UnlockPassphraseParams {
            passphrase: PASS.into(),
        },
    ))
    .unwrap();
    sign(&mut a).unwrap();
    assert_eq!(
        signer.imports.get(),
        2,
        "a new session imports its key again"
    );
    assert_eq!(signer.live.get(), 1);
}
