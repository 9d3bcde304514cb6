//! The key service: one entry point, [`Kms::handle`], over typed [`Request`]s ([`Kms::call`]
//! for native callers: one method's params in, its result out).
//!
//! Every call names its [`Caller`]: a linked page or the enclave's own UI, each with an
//! [`Origin`]. The method's [`Policy`] decides whether that caller may call it (authority
//! belongs to the UI), and keys live in the origin's shard: no call can reach another
//! shard. Every state change is one [`Transaction`] that also appends the
//! operation's audit entry (and, while unlocked, a fresh signed checkpoint), so state and log
//! never disagree. In-memory state (the KEK session) changes only after a commit succeeded,
//! so an operation that fails — or loses a race with another tab and is retried — leaves
//! nothing half done.

mod audit_ops;
mod envelope_ops;
pub(crate) mod layout;
pub(crate) mod records;
mod signal_ops;
mod tokens;
mod unlocking;

use rand_core::CryptoRng;

use crate::audit::{self, Head, Op, Outcome};
use crate::clock::Clock;
use crate::device::{DeviceKey, NoDeviceKey};
use crate::error::{Error, InternalError};
use crate::jws::{RustSigner, Signer};
use crate::kdf::{Pbkdf2Provider, RustPbkdf2};
use crate::origin::Origin;
use crate::rpc::policy::{Caller, FRESH_UNLOCK_MS, Policy};
use crate::rpc::{Method, Request};
use crate::secret::Secret32;
use crate::store::{Durability, Store, Transaction};

pub use records::{KeyAlg, KeyInfo, KeyKind};
pub use response::*;

mod response;

/// How many times an operation is retried after losing a race with another writer.
const MAX_ATTEMPTS: usize = 4;

/// Answers with method `M`'s result: the dispatch passes each handler's result through
/// here, so a handler that returns another type than its method's does not compile.
fn reply<M: Method>(output: Result<M::Output, Error>) -> Result<Response, Error> {
    output.map(Payload::into_response)
}

/// Deployment settings of a [`Kms`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// WebAuthn relying-party id for passkeys (the enclave's host).
    pub rp_id: String,
    /// The enclave's own origin, as it appears in `clientDataJSON.origin`.
    pub enclave_origin: String,
    /// Top-level origins allowed to embed the enclave during WebAuthn ceremonies
    /// (`clientDataJSON.topOrigin`); empty allows none cross-origin.
    pub allowed_top_origins: Vec<String>,
    /// Require user verification (PIN/biometric) for passkey methods.
    pub require_user_verification: bool,
    /// Replenish one-time prekeys when fewer than this many are left.
    pub one_time_prekey_low_water: u32,
    /// Replenish up to this many one-time prekeys.
    pub one_time_prekey_high_water: u32,
    /// How long a rotated-out signed prekey stays usable.
    pub signed_prekey_grace_ms: u64,
    /// Failed unlock attempts allowed before back-off starts.
    pub free_unlock_attempts: u32,
    /// Let a linked page unlock with a passphrase it sends (`unlock.passphrase` from the
    /// page). Off by default and weaker: a compromised page then records the passphrase.
    pub page_passphrase_unlock: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rp_id: "localhost".into(),
            enclave_origin: "http://localhost:8081".into(),
            allowed_top_origins: vec!["http://localhost:8080".into()],
            require_user_verification: true,
            one_time_prekey_low_water: 20,
            one_time_prekey_high_water: 100,
            signed_prekey_grace_ms: 7 * 24 * 3600 * 1000,
            free_unlock_attempts: 3,
            page_passphrase_unlock: false,
        }
    }
}

impl Config {
    /// Checks that the deployment keeps the passkey relying party out of the pages' reach.
    ///
    /// WebAuthn lets a page use as rpId its own host or any registrable suffix of it, so a
    /// page whose host is the enclave's host, or a subdomain of it, could ask the
    /// authenticator for the enclave's passkeys (and their PRF outputs) itself.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] naming the first origin that could claim the rpId.
    pub fn validate(&self) -> Result<(), Error> {
        let rp = self.rp_id.to_ascii_lowercase();
        if rp.is_empty() {
            return Err(Error::Misconfigured {
                reason: "empty rpId".into(),
            });
        }
        for o in &self.allowed_top_origins {
            let origin = Origin::parse(o).map_err(|e| Error::Misconfigured {
                reason: format!("allowed origin: {e}"),
            })?;
            let host = origin.host().to_ascii_lowercase();
            if host == rp || host.ends_with(&format!(".{rp}")) {
                return Err(Error::Misconfigured {
                    reason: format!(
                        "allowed origin {o} could claim the enclave's passkey rpId {rp:?} \
                         (its host is the enclave's host or under it): serve the enclave \
                         from a host of its own, e.g. enclave.example.com for app.example.com"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The unlocked state: the KEK and the audit signing key, wiped on lock or expiry.
struct Session<K> {
    kek: Secret32,
    audit_key: ed25519_dalek::SigningKey,
    expires_ms: Option<u64>,
    /// Until when unlock-method changes are accepted (an unlock by the enclave's UI sets
    /// it [`FRESH_UNLOCK_MS`] ahead; an unlock by a page does not).
    fresh_until_ms: u64,
    /// Signing keys opened during this session (dropped with it), as the signer holds them.
    signing: tokens::SigningCache<K>,
}

/// A pending WebAuthn challenge (in memory only; one at a time).
struct Challenge {
    bytes: [u8; 32],
    expires_ms: u64,
}

/// How long a WebAuthn challenge stays valid.
pub const CHALLENGE_TTL_MS: u64 = 2 * 60 * 1000;

/// The key service.
pub struct Kms<S, C, R, P = RustPbkdf2, D = NoDeviceKey, E: Signer = RustSigner> {
    store: S,
    clock: C,
    rng: R,
    pbkdf2: P,
    device: D,
    signer: E,
    config: Config,
    session: Option<Session<E::Key>>,
    challenge: Option<Challenge>,
    /// The audit head each shard had after this instance's last successful commit. Only a
    /// hint: a commit built on a stale head (another tab appended since) fails its `seq`
    /// check with `Conflict`, drops the hint and is retried from fresh reads.
    heads: std::collections::BTreeMap<String, Head>,
}

impl<S, C, R, P, D, E: Signer> core::fmt::Debug for Kms<S, C, R, P, D, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Kms")
            .field("unlocked", &self.session.is_some())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: Clock, R: CryptoRng> Kms<S, C, R> {
    /// A service over `store`, with the pure-Rust PBKDF2 and no device key.
    pub fn new(store: S, clock: C, rng: R) -> Self {
        Self {
            store,
            clock,
            rng,
            pbkdf2: RustPbkdf2,
            device: NoDeviceKey,
            signer: RustSigner,
            config: Config::default(),
            session: None,
            challenge: None,
            heads: Default::default(),
        }
    }
}

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    /// Replaces the deployment settings.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Replaces the PBKDF2 provider (the browser shell uses WebCrypto).
    pub fn with_pbkdf2<P2: Pbkdf2Provider>(self, pbkdf2: P2) -> Kms<S, C, R, P2, D, E> {
        Kms {
            store: self.store,
            clock: self.clock,
            rng: self.rng,
            pbkdf2,
            device: self.device,
            signer: self.signer,
            config: self.config,
            session: self.session,
            challenge: self.challenge,
            heads: self.heads,
        }
    }

    /// Sets the device key that enables the passkey-gate method.
    pub fn with_device_key<D2: DeviceKey>(self, device: D2) -> Kms<S, C, R, P, D2, E> {
        Kms {
            store: self.store,
            clock: self.clock,
            rng: self.rng,
            pbkdf2: self.pbkdf2,
            device,
            signer: self.signer,
            config: self.config,
            session: self.session,
            challenge: self.challenge,
            heads: self.heads,
        }
    }

    /// Replaces the signer of VAPID and relay tokens (the browser shell uses WebCrypto for
    /// ES256). Locks: a session's keys are held by the signer they were imported into.
    pub fn with_signer<E2: Signer>(self, signer: E2) -> Kms<S, C, R, P, D, E2> {
        Kms {
            store: self.store,
            clock: self.clock,
            rng: self.rng,
            pbkdf2: self.pbkdf2,
            device: self.device,
            signer,
            config: self.config,
            session: None,
            challenge: self.challenge,
            heads: self.heads,
        }
    }

    /// The store (for tools and tests).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// True while the KEK is in memory and its session has not expired.
    pub fn is_unlocked(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.expires_ms.is_none_or(|e| self.clock.now_ms() < e))
    }

    /// Handles one request from `caller`.
    ///
    /// The method's [`Policy`] is checked first: a page that calls a method of the
    /// enclave's UI gets [`Error::NotPermitted`] (and an audit entry in its shard).
    ///
    /// # Errors
    /// A typed [`Error`]; on error nothing stored has changed (failed unlock attempts record
    /// their failure and back-off, by design).
    pub async fn handle(&mut self, caller: &Caller, request: Request) -> Result<Response, Error> {
        self.expire_session();
        if let Err(e) = self.admit(caller, &request) {
            return Err(match request.refusal_op() {
                Some(op) => self.deny(caller.origin(), op, None, e).await,
                None => e,
            });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.dispatch(caller, &request).await {
                Err(Error::Conflict) if attempt < MAX_ATTEMPTS => continue,
                other => return other,
            }
        }
    }

    /// Calls method `M` as `caller`: [`Self::handle`] with typed params and result.
    ///
    /// # Errors
    /// As [`Self::handle`]; [`Error::Internal`] if the reply were not of `M`'s result type
    /// (the dispatch rules that out: each handler returns its method's `Output`).
    pub async fn call<M: Method>(
        &mut self,
        caller: &Caller,
        params: M::Params,
    ) -> Result<M::Output, Error> {
        let response = self.handle(caller, M::request(params)).await?;
        M::output(response).map_err(|_| {
            InternalError::Invariant("the reply is not of the method's result type").into()
        })
    }

    /// The caller policy: who may call the method, and whether it needs a fresh unlock.
    fn admit(&self, caller: &Caller, request: &Request) -> Result<(), Error> {
        let policy = request.policy();
        let page_passphrase =
            self.config.page_passphrase_unlock && matches!(request, Request::UnlockPassphrase(_));
        if !policy.admits(caller) && !page_passphrase {
            return Err(Error::NotPermitted {
                method: request.method(),
                allowed: policy.describe(),
            });
        }
        if policy == Policy::EnclaveUiFresh {
            let session = self.session.as_ref().ok_or(Error::Locked)?;
            if self.clock.now_ms() >= session.fresh_until_ms {
                return Err(Error::ReauthRequired);
            }
        }
        Ok(())
    }

    /// Until when an unlock by `caller` now lets the UI change unlock methods.
    fn fresh_until(&self, caller: &Caller) -> u64 {
        if caller.is_enclave_ui() {
            self.clock.now_ms() + FRESH_UNLOCK_MS
        } else {
            0
        }
    }

    async fn dispatch(&mut self, caller: &Caller, request: &Request) -> Result<Response, Error> {
        use crate::rpc::methods as m;
        use Request as Q;
        let o = caller.origin();
        match request {
            Q::Ping => reply::<m::Ping>(Ok(())),
            Q::Status => reply::<m::Status>(self.status(caller).await),
            Q::Setup(p) => reply::<m::Setup>(self.setup(caller, &p.passphrase).await),
            Q::Lock => reply::<m::Lock>(self.lock(o).await),
            Q::UnlockPassphrase(p) => {
                reply::<m::UnlockPassphrase>(self.unlock_passphrase(caller, &p.passphrase).await)
            }
            Q::UnlockPrf(p) => reply::<m::UnlockPrf>(
                self.unlock_prf(caller, &p.credential_id, &p.prf_output)
                    .await,
            ),
            Q::GateChallenge => reply::<m::GateChallenge>(self.gate_challenge().await),
            Q::UnlockGate(p) => reply::<m::UnlockGate>(
                self.unlock_gate(
                    caller,
                    &p.credential_id,
                    &p.authenticator_data,
                    &p.client_data_json,
                    &p.signature,
                )
                .await,
            ),
            Q::ListMethods => reply::<m::ListMethods>(self.list_methods().await),
            Q::AddPassphrase(p) => reply::<m::AddPassphrase>(
                self.add_passphrase(o, &p.passphrase, p.label.clone()).await,
            ),
            Q::ChangePassphrase(p) => reply::<m::ChangePassphrase>(
                self.change_passphrase(o, &p.method_id, &p.passphrase).await,
            ),
            Q::NewPrfInput => reply::<m::NewPrfInput>(self.new_prf_input()),
            Q::AddPrf(p) => reply::<m::AddPrf>(
                self.add_prf(
                    o,
                    &p.credential_id,
                    &p.prf_input,
                    &p.prf_output,
                    p.label.clone(),
                )
                .await,
            ),
            Q::AddGate(p) => reply::<m::AddGate>(
                self.add_gate(
                    o,
                    &p.attestation_object,
                    &p.client_data_json,
                    p.label.clone(),
                )
                .await,
            ),
            Q::RemoveMethod(p) => {
                reply::<m::RemoveMethod>(self.remove_method(o, &p.method_id).await)
            }
            Q::ListKeys => reply::<m::ListKeys>(self.list_keys(o).await),
            Q::DeleteKey(p) => reply::<m::DeleteKey>(self.delete_key(o, &p.key_id).await),
            Q::VapidPublicKey => reply::<m::VapidPublicKey>(self.vapid_public_key(o).await),
            Q::VapidAuthorization(p) => reply::<m::VapidAuthorization>(
                self.vapid_authorization(o, &p.aud, p.sub.as_deref(), p.exp)
                    .await,
            ),
            Q::VapidRotate => reply::<m::VapidRotate>(self.vapid_rotate(o).await),
            Q::RelayCreateKey(p) => {
                reply::<m::RelayCreateKey>(self.relay_create_key(o, p.alg).await)
            }
            Q::RelayToken(p) => reply::<m::RelayToken>(
                self.relay_token(
                    o,
                    &p.kid,
                    &p.aud,
                    p.issuer(o),
                    p.scope.as_deref(),
                    p.ttl_secs,
                )
                .await,
            ),
            Q::RelayJwks => reply::<m::RelayJwks>(self.relay_jwks(o).await),
            Q::SignalBundle(p) => {
                reply::<m::SignalBundle>(self.signal_bundle(o, p.one_time()).await)
            }
            Q::SignalOneTimePrekeys => {
                reply::<m::SignalOneTimePrekeys>(self.signal_one_time_prekeys(o).await)
            }
            Q::SignalReplenish(p) => {
                reply::<m::SignalReplenish>(self.signal_replenish(o, p.target).await)
            }
            Q::SignalRotateSignedPrekey => {
                reply::<m::SignalRotateSignedPrekey>(self.signal_rotate_signed_prekey(o).await)
            }
            Q::SignalSign(p) => reply::<m::SignalSign>(self.signal_sign(o, &p.message.0).await),
            Q::SignalStartSession(p) => reply::<m::SignalStartSession>(
                self.signal_start_session(o, &p.address, &p.bundle).await,
            ),
            Q::SignalEncrypt(p) => reply::<m::SignalEncrypt>(
                self.signal_encrypt(o, &p.address, &p.plaintext.0, p.local_name.as_deref())
                    .await,
            ),
            Q::SignalDecrypt(p) => reply::<m::SignalDecrypt>(
                self.signal_decrypt(
                    o,
                    &p.address,
                    &p.message.0,
                    p.message_type,
                    p.local_name.as_deref(),
                )
                .await,
            ),
            Q::SignalSessions => reply::<m::SignalSessions>(self.signal_sessions(o).await),
            Q::SignalDeleteSession(p) => {
                reply::<m::SignalDeleteSession>(self.signal_delete_session(o, &p.address).await)
            }
            Q::SignalIdentity(p) => {
                reply::<m::SignalIdentity>(self.signal_peer_identity(o, &p.address).await)
            }
            Q::SignalTrust(p) => reply::<m::SignalTrust>(
                self.signal_trust(o, &p.address, &p.identity_key, p.verified.unwrap_or(false))
                    .await,
            ),
            Q::SignalSafetyNumber(p) => reply::<m::SignalSafetyNumber>(
                self.signal_safety_number(
                    o,
                    &p.address,
                    &p.local_name,
                    &p.remote_name,
                    p.identity_key.as_deref(),
                )
                .await,
            ),
            Q::EnvelopePrekeys(p) => {
                reply::<m::EnvelopePrekeys>(self.envelope_prekeys(o, p.count, p.format()).await)
            }
            Q::EnvelopeEpochKey(p) => reply::<m::EnvelopeEpochKey>(
                self.envelope_epoch_key(o, p.format(), p.rotate()).await,
            ),
            Q::EnvelopeOpen(p) => {
                reply::<m::EnvelopeOpen>(self.envelope_open(o, &p.envelope).await)
            }
            Q::AuditExport => reply::<m::AuditExport>(self.audit_export(o).await),
            Q::AuditVerify => reply::<m::AuditVerify>(self.audit_verify(o).await),
        }
    }

    /// Drops an expired session (its KEK and audit key are zeroized on drop).
    fn expire_session(&mut self) {
        let now = self.clock.now_ms();
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.expires_ms.is_some_and(|e| now >= e))
        {
            self.session = None;
        }
    }

    /// The KEK, or [`Error::Locked`].
    fn kek(&self) -> Result<&Secret32, Error> {
        self.session.as_ref().map(|s| &s.kek).ok_or(Error::Locked)
    }

    /// Reads entry `seq` of `shard`'s log.
    async fn audit_entry(&self, shard: &Origin, seq: u64) -> Result<audit::Entry, Error> {
        let page = self.store.audit_read(shard.as_str(), seq, 1).await?;
        let bytes = page
            .first()
            .ok_or_else(|| Error::tampered(format!("audit log truncated at {seq}")))?;
        let entry = audit::Entry::decode(bytes)
            .map_err(|_| Error::tampered(format!("audit entry {seq}")))?;
        if entry.seq != seq {
            return Err(Error::tampered(format!("audit entry {seq}")));
        }
        Ok(entry)
    }

    /// Reads the current head of `shard`'s audit log, after checking that the stored log
    /// still extends its last signed checkpoint: at least as many entries, and the entry at
    /// the checkpoint's size hashes to its head. A log cut back or rewritten while the
    /// enclave was locked is [`Error::Tampered`], and nothing is appended to it (so no new
    /// checkpoint can launder the cut).
    async fn audit_head(&self, shard: &Origin) -> Result<Head, Error> {
        // The checkpoint first: it is written in the same commit as the entries it covers,
        // and logs only grow, so a log read after it is at least that long — unless cut.
        // (Read the other way round, another tab's commit in between looks like a cut.)
        let checkpoint = self.stored_checkpoint(shard).await?;
        let len = self.store.audit_len(shard.as_str()).await?;
        let head = match len {
            0 => Head::genesis(),
            n => Head::after(&self.audit_entry(shard, n - 1).await?),
        };
        if let Some(cp) = checkpoint {
            let key = self.audit_verifying_key().await?;
            cp.verify(&key)
                .map_err(|_| Error::tampered("audit checkpoint signature"))?;
            if len < cp.size {
                return Err(Error::tampered(format!(
                    "audit log: {len} entries, but its signed checkpoint covers {}",
                    cp.size
                )));
            }
            let at = match cp.size {
                0 => Head::genesis(),
                n if n == len => head,
                n => Head::after(&self.audit_entry(shard, n - 1).await?),
            };
            if at.hash != cp.head {
                return Err(Error::tampered(format!(
                    "audit log: entry {} does not match its signed checkpoint",
                    cp.size.saturating_sub(1)
                )));
            }
        }
        Ok(head)
    }

    /// Commits `tx` with the audit entry for `op` (and a signed checkpoint while unlocked).
    async fn commit(
        &mut self,
        shard: &Origin,
        tx: Transaction,
        op: Op,
        key_id: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), Error> {
        let key = self.session.as_ref().map(|s| s.audit_key.clone());
        self.commit_signed(shard, tx, op, key_id, outcome, key.as_ref())
            .await
    }

    /// As [`Self::commit`], signing the new checkpoint with `audit_key` when given.
    async fn commit_signed(
        &mut self,
        shard: &Origin,
        mut tx: Transaction,
        op: Op,
        key_id: Option<&str>,
        outcome: Outcome,
        audit_key: Option<&ed25519_dalek::SigningKey>,
    ) -> Result<(), Error> {
        let head = match self.heads.get(shard.as_str()) {
            Some(head) => *head,
            None => self.audit_head(shard).await?,
        };
        // A transaction that only records (a signature, a refusal: an audit entry and its
        // checkpoint) is committed relaxed; one that writes or deletes records (keys,
        // methods, shreds, the back-off) strictly. See docs/decisions.md.
        if tx.puts.is_empty() && tx.deletes.is_empty() {
            tx.durability = Durability::Relaxed;
        }
        let (entry, head) = head
            .append(
                self.clock.now_ms(),
                shard.as_str(),
                op.as_str(),
                key_id,
                outcome,
            )
            .map_err(InternalError::Audit)?;
        tx.append(shard.as_str(), entry.seq, entry.encode()?);
        if let Some(key) = audit_key {
            let checkpoint = audit::Checkpoint::sign(&head, key);
            tx.put(
                layout::checkpoint(shard),
                audit_ops::encode_checkpoint(&checkpoint)?,
            );
        }
        // Only a commit that writes a signing key can make the cache stale: a Signal
        // message (its session record) or a prekey batch leaves it warm.
        let writes_keys = [KeyKind::Vapid, KeyKind::Relay].iter().any(|kind| {
            tx.writes_under(&format!("{}{}", layout::shard_keys(shard), kind.prefix()))
        });
        match self.store.commit(tx).await {
            Ok(()) => {
                self.heads.insert(shard.as_str().to_owned(), head);
                if writes_keys {
                    self.forget_signing_keys(shard);
                }
                Ok(())
            }
            Err(e) => {
                // A lost race may mean another instance changed this shard's keys.
                self.heads.remove(shard.as_str());
                self.forget_signing_keys(shard);
                Err(e.into())
            }
        }
    }

    /// Records a refused operation in the audit log and returns `error` — or
    /// [`Error::Tampered`] when the log itself failed its check. A lost race on the log is
    /// retried here, so a refusal is never re-run (and an unlock attempt never paid twice).
    async fn deny(&mut self, shard: &Origin, op: Op, key_id: Option<&str>, error: Error) -> Error {
        for _ in 0..MAX_ATTEMPTS {
            let tx = Transaction::new();
            match self.commit(shard, tx, op, key_id, Outcome::Denied).await {
                Err(Error::Conflict) => continue,
                Err(e @ Error::Tampered { .. }) => return e,
                Ok(()) | Err(_) => return error,
            }
        }
        error
    }
}
