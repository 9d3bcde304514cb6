//! The IndexedDB [`Store`]: records, audit logs and the device key in one database.
//!
//! Schema (database version [`SCHEMA_VERSION`]):
//!
//! | object store | key | value |
//! |---|---|---|
//! | `records` | record key (string) | record bytes (`Uint8Array`) |
//! | `audit` | `[log, seq]` (string, number) | entry bytes (`Uint8Array`) |
//! | `device` | `"device-key-v1"` | a non-extractable AES-GCM `CryptoKey` |
//!
//! A commit is one `readwrite` transaction over `records` and `audit`: it issues the reads
//! its checks need, awaits them (IndexedDB keeps a transaction active while promise
//! callbacks of its own requests run), then issues every write and awaits `complete`. A
//! failed check aborts the transaction; an audit `add` whose key is taken fails with
//! `ConstraintError`, which aborts it too. Either way nothing is written.

use std::cell::Cell;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use kms_core::store::{Durability, Record, Store, StoreError, Transaction};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbFactory, IdbKeyRange, IdbOpenDbRequest, IdbRequest, IdbTransaction,
    IdbTransactionMode, IdbVersionChangeEvent,
};

/// Current schema version (the IndexedDB database version).
pub const SCHEMA_VERSION: u32 = 1;

const RECORDS: &str = "records";
const AUDIT: &str = "audit";
/// Object store that holds the device key.
pub(crate) const DEVICE: &str = "device";

/// An IndexedDB database opened with the enclave's schema.
#[derive(Debug)]
pub struct IdbStore {
    db: Result<IdbDatabase, StoreError>,
    fail_commits: Cell<u32>,
}

impl IdbStore {
    /// Opens (creating or upgrading) the database `name`.
    ///
    /// A context where the browser refuses IndexedDB (a cross-site iframe, an opaque
    /// origin) gives a store whose every operation fails with [`StoreError::Blocked`], so
    /// the enclave can still answer and say why.
    pub async fn open(name: &str) -> Self {
        Self::open_with(name, None).await
    }

    /// Opens the database `name` through `factory` instead of the global `indexedDB` — the
    /// factory a Storage Access API handle grants a cross-site frame.
    pub async fn open_with(name: &str, factory: Option<IdbFactory>) -> Self {
        Self {
            db: open_database(name, factory).await,
            fail_commits: Cell::new(0),
        }
    }

    /// True when the browser gave us a database.
    pub fn is_available(&self) -> bool {
        self.db.is_ok()
    }

    /// Makes the next `n` commits abort after issuing all their writes (fault injection,
    /// for tests that prove a failed commit leaves nothing behind).
    pub fn fail_next_commits(&self, n: u32) {
        self.fail_commits.set(n);
    }

    pub(crate) fn database(&self) -> Result<&IdbDatabase, StoreError> {
        self.db.as_ref().map_err(Clone::clone)
    }

    fn transaction(
        &self,
        stores: &[&str],
        mode: IdbTransactionMode,
    ) -> Result<IdbTransaction, StoreError> {
        let names = Array::new();
        for s in stores {
            names.push(&JsValue::from_str(s));
        }
        self.database()?
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(backend)
    }

    /// A read-write transaction over `stores` with the durability `tx` asks for
    /// (`IDBDatabase.transaction(stores, "readwrite", {durability})`; an engine without the
    /// option ignores it and keeps its default).
    fn write_transaction(
        &self,
        stores: &[&str],
        durability: Durability,
    ) -> Result<IdbTransaction, StoreError> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let db = self.database()?;
        let open: Function = Reflect::get(db, &JsValue::from_str("transaction"))
            .map_err(backend)?
            .dyn_into()
            .map_err(|_| StoreError::Backend("IDBDatabase.transaction is not a function".into()))?;
        let options = Object::new();
        let durability = match durability {
            Durability::Strict => "strict",
            Durability::Relaxed => "relaxed",
        };
        Reflect::set(
            &options,
            &JsValue::from_str("durability"),
            &JsValue::from_str(durability),
        )
        .map_err(backend)?;
        open.call3(db, &names, &JsValue::from_str("readwrite"), &options)
            .map_err(backend)?
            .dyn_into()
            .map_err(|_| {
                StoreError::Backend("IDBDatabase.transaction returned no transaction".into())
            })
    }

    async fn commit_inner(&self, tx: &Transaction) -> Result<(), StoreError> {
        let t = self.write_transaction(&[RECORDS, AUDIT], tx.durability)?;
        let records = t.object_store(RECORDS).map_err(backend)?;
        let audit = t.object_store(AUDIT).map_err(backend)?;

        // Issue every read first (watched from the start), then the writes, then await the
        // reads: all stay inside this transaction.
        let mut reads = Vec::with_capacity(tx.checks.len());
        for check in &tx.checks {
            reads.push(watch(
                &records
                    .get(&JsValue::from_str(check.key()))
                    .map_err(backend)?,
            ));
        }
        // A log has length `len` when entry `len - 1` exists and entry `len` does not
        // (appends are contiguous: every writer follows this rule). Two point lookups,
        // where counting the log's entries would grow with the log.
        let mut counts = Vec::new();
        for (log, len) in tx.expected_log_lengths() {
            if let Some(last) = len.checked_sub(1) {
                let last = audit
                    .count_with_key(&audit_key(log, last))
                    .map_err(backend)?;
                counts.push((1, watch(&last)));
            }
            let next = audit
                .count_with_key(&audit_key(log, len))
                .map_err(backend)?;
            counts.push((0, watch(&next)));
        }
        // The writes go in behind the reads without waiting for them: IndexedDB runs a
        // transaction's requests in order, so the reads see the state before the writes,
        // and a failed check aborts the transaction before it can commit (its writes still
        // pending), which undoes them. One round trip to the database instead of two.
        for (key, value) in &tx.puts {
            records
                .put_with_key(&Uint8Array::from(value.as_slice()), &JsValue::from_str(key))
                .map_err(|e| abort_with(&t, e))?;
        }
        for key in &tx.deletes {
            records
                .delete(&JsValue::from_str(key))
                .map_err(|e| abort_with(&t, e))?;
        }
        for a in &tx.appends {
            audit
                .add_with_key(
                    &Uint8Array::from(a.entry.as_slice()),
                    &audit_key(&a.log, a.seq),
                )
                .map_err(|e| abort_with(&t, e))?;
        }
        let mut ok = true;
        for (check, read) in tx.checks.iter().zip(reads) {
            let value = read.await.map_err(|e| abort_with(&t, e))?;
            ok &= match (value.is_undefined(), bytes_of(&value)) {
                (true, _) => check.holds(None),
                (false, Some(stored)) => check.holds(Some(&stored)),
                // A record that is not bytes is neither absent nor equal to anything.
                (false, None) => false,
            };
        }
        for (expected, count) in counts {
            let n = count.await.map_err(|e| abort_with(&t, e))?;
            ok &= n.as_f64() == Some(f64::from(expected));
        }
        if !ok {
            let _ = t.abort();
            return Err(StoreError::Conflict);
        }

        let failing = self.fail_commits.get();
        if failing > 0 {
            self.fail_commits.set(failing - 1);
            let _ = t.abort();
            let _ = done(&t).await;
            return Err(StoreError::Backend("injected failure".into()));
        }
        // The checks held: no more requests, commit as soon as the writes are done (an
        // engine without `commit()` commits when the transaction goes idle).
        #[allow(
            deprecated,
            reason = "web-sys marks IDBTransaction.commit() deprecated, but it is IndexedDB 3.0, \
                      in Chromium, Firefox and WebKit"
        )]
        let _ = t.commit();
        done(&t).await
    }
}

impl Store for IdbStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.transaction(&[RECORDS], IdbTransactionMode::Readonly)?;
        let req = t
            .object_store(RECORDS)
            .and_then(|s| s.get(&JsValue::from_str(key)))
            .map_err(backend)?;
        let value = request(&req).await.map_err(error_of)?;
        if value.is_undefined() {
            return Ok(None);
        }
        bytes_of(&value)
            .map(Some)
            .ok_or_else(|| StoreError::Backend(format!("record {key:?} is not a byte array")))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Record>, StoreError> {
        let t = self.transaction(&[RECORDS], IdbTransactionMode::Readonly)?;
        let store = t.object_store(RECORDS).map_err(backend)?;
        let upper = format!("{prefix}\u{ffff}");
        let range = IdbKeyRange::bound(&JsValue::from_str(prefix), &JsValue::from_str(&upper))
            .map_err(backend)?;
        let keys = store.get_all_keys_with_key(&range).map_err(backend)?;
        let values = store.get_all_with_key(&range).map_err(backend)?;
        let keys: Array = request(&keys).await.map_err(error_of)?.unchecked_into();
        let values: Array = request(&values).await.map_err(error_of)?.unchecked_into();
        let mut out = Vec::with_capacity(keys.length() as usize);
        for (k, v) in keys.iter().zip(values.iter()) {
            let key = k
                .as_string()
                .ok_or_else(|| StoreError::Backend("non-string record key".into()))?;
            let value = bytes_of(&v)
                .ok_or_else(|| StoreError::Backend(format!("record {key:?} is not bytes")))?;
            out.push((key, value));
        }
        Ok(out)
    }

    async fn audit_len(&self, log: &str) -> Result<u64, StoreError> {
        let t = self.transaction(&[AUDIT], IdbTransactionMode::Readonly)?;
        let range = log_range(log).map_err(backend)?;
        let req = t
            .object_store(AUDIT)
            .and_then(|s| s.count_with_key(&range))
            .map_err(backend)?;
        let n = request(&req).await.map_err(error_of)?;
        n.as_f64()
            .map(|n| n as u64)
            .ok_or_else(|| StoreError::Backend("count is not a number".into()))
    }

    async fn audit_read(
        &self,
        log: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let t = self.transaction(&[AUDIT], IdbTransactionMode::Readonly)?;
        let range =
            IdbKeyRange::bound(&audit_key(log, from), &audit_key_end(log)).map_err(backend)?;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let req = t
            .object_store(AUDIT)
            .and_then(|s| s.get_all_with_key_and_limit(&range, limit))
            .map_err(backend)?;
        let values: Array = request(&req).await.map_err(error_of)?.unchecked_into();
        values
            .iter()
            .map(|v| {
                bytes_of(&v).ok_or_else(|| StoreError::Backend("audit entry is not bytes".into()))
            })
            .collect()
    }

    async fn commit(&self, tx: Transaction) -> Result<(), StoreError> {
        tx.validate()?;
        self.commit_inner(&tx).await
    }
}

/// Reads the device key (or `undefined`) from the `device` store.
pub(crate) async fn device_get(db: &IdbDatabase, key: &str) -> Result<JsValue, StoreError> {
    let t = db
        .transaction_with_str_and_mode(DEVICE, IdbTransactionMode::Readonly)
        .map_err(backend)?;
    let req = t
        .object_store(DEVICE)
        .and_then(|s| s.get(&JsValue::from_str(key)))
        .map_err(backend)?;
    request(&req).await.map_err(error_of)
}

/// Adds the device key; fails with [`StoreError::Conflict`] if another tab added one first.
pub(crate) async fn device_add(
    db: &IdbDatabase,
    key: &str,
    value: &JsValue,
) -> Result<(), StoreError> {
    let t = db
        .transaction_with_str_and_mode(DEVICE, IdbTransactionMode::Readwrite)
        .map_err(backend)?;
    t.object_store(DEVICE)
        .and_then(|s| s.add_with_key(value, &JsValue::from_str(key)))
        .map_err(backend)?;
    done(&t).await
}

async fn open_database(name: &str, factory: Option<IdbFactory>) -> Result<IdbDatabase, StoreError> {
    let factory = match factory {
        Some(f) => f,
        None => Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
            .ok()
            .and_then(|f| f.dyn_into::<IdbFactory>().ok())
            .ok_or(StoreError::Blocked)?,
    };
    let req: IdbOpenDbRequest = factory
        .open_with_u32(name, SCHEMA_VERSION)
        .map_err(|_| StoreError::Blocked)?;
    let upgrade = Closure::<dyn FnMut(IdbVersionChangeEvent)>::new({
        let req = req.clone();
        move |ev: IdbVersionChangeEvent| {
            if let Ok(db) = req.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                upgrade(&db, ev.old_version() as u32);
            }
        }
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let result = request(&req).await;
    req.set_onupgradeneeded(None);
    drop(upgrade);
    match result {
        Ok(db) => {
            let db = db
                .dyn_into::<IdbDatabase>()
                .map_err(|_| StoreError::Blocked)?;
            // A newer build opening a higher schema version (or a deletion) waits until every
            // connection closes: close ours instead of blocking it forever. Later operations
            // on this store then fail; the page must reload.
            let close = Closure::once_into_js({
                let db = db.clone();
                move || db.close()
            });
            db.set_onversionchange(Some(close.unchecked_ref()));
            Ok(db)
        }
        // The database was written by a newer schema: a storage error, not a blocked context.
        Err(e) if error_name(&e) == "VersionError" => Err(StoreError::Backend(format!(
            "the database has a newer schema than version {SCHEMA_VERSION}; reload the enclave"
        ))),
        // Browsers refuse IndexedDB to some contexts (cross-site iframes without storage
        // access, opaque origins) with an `UnknownError`/`SecurityError`/`InvalidStateError`.
        Err(_) => Err(StoreError::Blocked),
    }
}

/// Schema migrations, one step per version. Version 1 creates the three stores.
fn upgrade(db: &IdbDatabase, old_version: u32) {
    if old_version < 1 {
        for store in [RECORDS, AUDIT, DEVICE] {
            let _ = db.create_object_store(store);
        }
    }
}

fn audit_key(log: &str, seq: u64) -> JsValue {
    Array::of2(&JsValue::from_str(log), &JsValue::from_f64(seq as f64)).into()
}

fn audit_key_end(log: &str) -> JsValue {
    Array::of2(&JsValue::from_str(log), &JsValue::from_f64(f64::INFINITY)).into()
}

fn log_range(log: &str) -> Result<IdbKeyRange, JsValue> {
    IdbKeyRange::bound(&audit_key(log, 0), &audit_key_end(log))
}

fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
}

/// Awaits an `IDBRequest`: its result, or its error.
async fn request(req: &IdbRequest) -> Result<JsValue, JsValue> {
    watch(req).await
}

/// Watches `req` from now on — its handlers are set before this returns, so a result that
/// arrives before the future is first polled is not missed — and resolves to its result.
fn watch(req: &IdbRequest) -> impl Future<Output = Result<JsValue, JsValue>> + use<> {
    let mut handlers = None;
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let r = req.clone();
        let ok = Closure::<dyn FnMut()>::new(move || {
            let _ = resolve.call1(
                &JsValue::UNDEFINED,
                &r.result().unwrap_or(JsValue::UNDEFINED),
            );
        });
        let r = req.clone();
        let err = Closure::<dyn FnMut()>::new(move || {
            let e = r
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = reject.call1(&JsValue::UNDEFINED, &e);
        });
        req.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
        req.set_onerror(Some(err.as_ref().unchecked_ref()));
        handlers = Some((ok, err));
    });
    let req = req.clone();
    async move {
        let out = JsFuture::from(promise).await;
        req.set_onsuccess(None);
        req.set_onerror(None);
        drop(handlers);
        out
    }
}

/// Awaits a transaction's `complete` (or its abort).
async fn done(t: &IdbTransaction) -> Result<(), StoreError> {
    let mut handlers = None;
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let ok = Closure::<dyn FnMut()>::new(move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        let tx = t.clone();
        let err = Closure::<dyn FnMut()>::new(move || {
            let e = tx.error().map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = reject.call1(&JsValue::UNDEFINED, &e);
        });
        t.set_oncomplete(Some(ok.as_ref().unchecked_ref()));
        t.set_onabort(Some(err.as_ref().unchecked_ref()));
        handlers = Some((ok, err));
    });
    let out = JsFuture::from(promise).await;
    t.set_oncomplete(None);
    t.set_onabort(None);
    drop(handlers);
    out.map(|_| ()).map_err(error_of)
}

fn abort_with(t: &IdbTransaction, e: JsValue) -> StoreError {
    let _ = t.abort();
    error_of(e)
}

/// Maps a `DOMException` to a store error by its name.
fn error_of(e: JsValue) -> StoreError {
    match error_name(&e).as_str() {
        "ConstraintError" => StoreError::Conflict,
        "" => StoreError::Backend("transaction aborted".into()),
        other => StoreError::Backend(other.to_owned()),
    }
}

/// The `name` of a `DOMException` (empty for anything else).
fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

fn backend(e: JsValue) -> StoreError {
    match error_of(e) {
        StoreError::Backend(s) if s == "transaction aborted" => {
            StoreError::Backend("IndexedDB refused the operation".into())
        }
        other => other,
    }
}
