//! Setup, unlock methods, lock, and the back-off on failed attempts.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::layout;
use super::records::{KeyAlg, KeyHeader, KeyKind, KeyRecord, KeyShard, Loaded};
use super::{
    CHALLENGE_TTL_MS, Challenge, ChallengeResponse, KeysResponse, Kms, MAX_ATTEMPTS,
    MethodAddedResponse, MethodInfo, MethodsResponse, PrfInputResponse, Protection, Session,
    StatusResponse, UnlockedResponse,
};
use crate::audit::{Op, Outcome};
use crate::clock::Clock;
use crate::device::DeviceKey;
use crate::error::{Error, InternalError};
use crate::format;
use crate::ids::{KeyId, MethodId};
use crate::jws::Signer;
use crate::kdf::Pbkdf2Provider;
use crate::origin::Origin;
use crate::rpc::policy::Caller;
use crate::rpc::{Bytes, SecretInput};
use crate::secret::Secret32;
use crate::store::{Check, Store, Transaction};
use crate::unlock::{self, GATE_SESSION_MS, MethodParams, UnlockError, UnlockRecord};
use crate::webauthn;
use rand_core::CryptoRng;

/// Key id of the audit key inside its record.
fn audit_key_id() -> KeyId {
    KeyId::new(KeyKind::Audit, 0)
}
/// Format id of the back-off record.
pub(super) const BACKOFF_V1: &str = "kms-backoff-v1";
/// Longest back-off between attempts.
pub(super) const MAX_BACKOFF_MS: u64 = 3600 * 1000;
/// Longest method label.
const MAX_LABEL_LEN: usize = 128;

/// Failed-attempt bookkeeping (not secret; see `docs/formats.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Backoff {
    format: String,
    failures: u32,
    not_before_ms: u64,
}

/// Delay imposed after `failures` consecutive failures.
pub(crate) fn backoff_delay_ms(failures: u32, free: u32) -> u64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20);
    (1000u64 << doublings).min(MAX_BACKOFF_MS)
}

/// The public description of a method. The PRF input goes only to the enclave's UI (it
/// needs it for the assertion); a page never gets it, so it cannot ask an authenticator
/// for the same PRF output even where it could use the rpId.
fn method_info(rec: &UnlockRecord, for_ui: bool) -> MethodInfo {
    let (credential_id, prf_input, protection) = match &rec.params {
        MethodParams::Passphrase { .. } => (None, None, Protection::Passphrase),
        MethodParams::PasskeyPrf {
            credential_id,
            prf_input,
        } => (
            Some(crate::b64::encode(credential_id)),
            for_ui.then(|| crate::b64::encode(prf_input)),
            Protection::AuthenticatorSecret,
        ),
        MethodParams::PasskeyGate { credential } => (
            Some(crate::b64::encode(&credential.id)),
            None,
            Protection::ProfileAtRest,
        ),
    };
    MethodInfo {
        id: rec.id.clone(),
        kind: rec.params.kind(),
        label: rec.label.clone(),
        created_ms: rec.created_ms,
        credential_id,
        prf_input,
        protection,
    }
}

fn check_label(label: &Option<String>) -> Result<(), Error> {
    match label {
        Some(l) if l.len() > MAX_LABEL_LEN || l.chars().any(char::is_control) => Err(
            Error::bad_request("label: expected at most 128 printable characters"),
        ),
        _ => Ok(()),
    }
}

/// The method of `methods` with id `id`.
fn find_method<'a>(
    methods: &'a [Loaded<UnlockRecord>],
    id: &MethodId,
) -> Result<&'a Loaded<UnlockRecord>, Error> {
    methods
        .iter()
        .find(|m| m.record.id == *id)
        .ok_or_else(|| Error::bad_request(format!("no unlock method {:?}", id.as_str())))
}

fn unlock_error(e: UnlockError) -> Error {
    match e {
        UnlockError::BadCredential => Error::BadCredential,
        UnlockError::Unacceptable(why) => Error::bad_request(why),
        UnlockError::Kdf(e) => e.into(),
        UnlockError::Encode(e) => e.into(),
        UnlockError::WrongMethod { .. } => Error::BadCredential,
        _ => Error::tampered("unlock record"),
    }
}

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    async fn methods(&self) -> Result<Vec<Loaded<UnlockRecord>>, Error> {
        let mut out = Vec::new();
        for (key, raw) in self.store.list(layout::METHODS).await? {
            let rec = UnlockRecord::decode(&raw)
                .map_err(|_| Error::tampered(format!("unlock record {key}")))?;
            if key != layout::method(&rec.id) {
                return Err(Error::tampered(format!("unlock record {key}")));
            }
            out.push(Loaded {
                key,
                raw,
                record: rec,
            });
        }
        Ok(out)
    }

    /// The unlock methods, for an unlock attempt: [`Error::NotInitialized`] if there are none.
    async fn enrolled_methods(&self) -> Result<Vec<Loaded<UnlockRecord>>, Error> {
        let methods = self.methods().await?;
        if methods.is_empty() {
            return Err(Error::NotInitialized);
        }
        Ok(methods)
    }

    async fn backoff(&self) -> Result<(Option<Vec<u8>>, Backoff), Error> {
        let raw = self.store.get(layout::BACKOFF).await?;
        let b = match &raw {
            None => Backoff {
                format: BACKOFF_V1.into(),
                failures: 0,
                not_before_ms: 0,
            },
            Some(bytes) => {
                let b: Backoff = serde_json::from_slice(bytes)
                    .map_err(|_| Error::tampered("back-off record"))?;
                format::expect_id(&b.format, BACKOFF_V1)
                    .map_err(|_| Error::tampered("back-off record"))?;
                b
            }
        };
        Ok((raw, b))
    }

    fn new_method_id(&mut self) -> MethodId {
        let mut id = [0u8; 9];
        self.rng.fill_bytes(&mut id);
        MethodId::from(format!("m-{}", crate::b64::encode(id)))
    }

    /// A new unlock method: a fresh id, the KEK sealed under `k_wrap`.
    fn seal_new_method(
        &mut self,
        label: Option<String>,
        params: MethodParams,
        kek: &Secret32,
        k_wrap: &Secret32,
    ) -> Result<UnlockRecord, Error> {
        let id = self.new_method_id();
        let now = self.clock.now_ms();
        Ok(UnlockRecord::seal(
            id,
            label,
            now,
            params,
            kek,
            k_wrap,
            &mut self.rng,
        )?)
    }

    pub(super) async fn status(&self, caller: &Caller) -> Result<StatusResponse, Error> {
        let methods = self.methods().await?;
        let (_, backoff) = self.backoff().await?;
        let now = self.clock.now_ms();
        Ok(StatusResponse {
            initialized: self.store.get(layout::SETUP).await?.is_some(),
            unlocked: self.is_unlocked(),
            session_expires_ms: self.session.as_ref().and_then(|s| s.expires_ms),
            retry_after_ms: (backoff.not_before_ms > now).then_some(backoff.not_before_ms),
            fresh_until_ms: self
                .session
                .as_ref()
                .filter(|s| caller.is_enclave_ui() && s.fresh_until_ms > now)
                .map(|s| s.fresh_until_ms),
            methods: methods
                .iter()
                .map(|m| method_info(&m.record, caller.is_enclave_ui()))
                .collect(),
        })
    }

    pub(super) async fn setup(
        &mut self,
        caller: &Caller,
        passphrase: &SecretInput,
    ) -> Result<UnlockedResponse, Error> {
        let o = caller.origin();
        if self.store.get(layout::SETUP).await?.is_some()
            || !self.store.list(layout::METHODS).await?.is_empty()
        {
            return Err(Error::AlreadyInitialized);
        }
        let (params, k_wrap) = self.new_passphrase_method(passphrase).await?;
        let kek = Secret32::random(&mut self.rng);
        let audit_secret = Secret32::random(&mut self.rng);
        let audit_key = SigningKey::from_bytes(audit_secret.expose());
        let now = self.clock.now_ms();
        let id = self.new_method_id();
        let rec = UnlockRecord::seal(id.clone(), None, now, params, &kek, &k_wrap, &mut self.rng)?;
        let audit_rec = KeyRecord::seal(
            KeyHeader::new(
                KeyShard::EnclaveWide,
                audit_key_id(),
                KeyKind::Audit,
                KeyAlg::EdDsa,
                audit_key.verifying_key().to_bytes().to_vec(),
                now,
            ),
            audit_secret.expose(),
            &kek,
            &mut self.rng,
        )?;
        let mut tx = Transaction::new();
        tx.check(Check::Absent(layout::SETUP.into()))
            .put(layout::SETUP, Vec::new())
            .put(layout::method(&id), rec.encode()?)
            .put(layout::AUDIT_KEY, audit_rec.encode()?);
        self.commit_signed(
            o,
            tx,
            Op::Setup,
            Some(id.as_str()),
            Outcome::Ok,
            Some(&audit_key),
        )
        .await?;
        self.session = Some(Session {
            kek,
            audit_key,
            expires_ms: None,
            fresh_until_ms: self.fresh_until(caller),
            signing: Default::default(),
        });
        Ok(UnlockedResponse {
            method_id: id,
            session_expires_ms: None,
        })
    }

    pub(super) async fn lock(&mut self, o: &Origin) -> Result<(), Error> {
        if self.session.is_some() {
            self.commit(o, Transaction::new(), Op::Lock, None, Outcome::Ok)
                .await?;
        }
        self.session = None;
        self.challenge = None;
        Ok(())
    }

    /// The audit key's record (its header holds the public key).
    pub(super) async fn audit_key_record(&self) -> Result<KeyRecord, Error> {
        let raw = self
            .store
            .get(layout::AUDIT_KEY)
            .await?
            .ok_or(Error::NotInitialized)?;
        KeyRecord::decode(&raw, KeyShard::EnclaveWide, &audit_key_id())
    }

    /// Opens the audit key with `kek` (part of every successful unlock).
    async fn open_audit_key(&self, kek: &Secret32) -> Result<SigningKey, Error> {
        let rec = self.audit_key_record().await?;
        let secret = rec.open(kek)?;
        let bytes =
            Secret32::from_slice(secret.expose()).map_err(|_| Error::tampered("audit key"))?;
        Ok(SigningKey::from_bytes(bytes.expose()))
    }

    /// Pays for one unlock attempt before its KDF runs ("pay before you try"): refuses
    /// while back-off is in force, else records the attempt — one more failure and the
    /// delay that follows it — with a conditional commit. Concurrent instances over one
    /// store race on that commit; the losers retry, re-read, and find the back-off. Only a
    /// successful unlock resets it.
    async fn reserve_attempt(&mut self, o: &Origin, op: Op) -> Result<(), Error> {
        let (raw, mut b) = self.backoff().await?;
        let now = self.clock.now_ms();
        if b.not_before_ms > now {
            let e = Error::RateLimited {
                retry_after_ms: b.not_before_ms - now,
            };
            return Err(self.deny(o, op, None, e).await);
        }
        b.failures = b.failures.saturating_add(1);
        b.not_before_ms = now + backoff_delay_ms(b.failures, self.config.free_unlock_attempts);
        let encoded = format::to_json("back-off record", &b)?;
        let mut tx = Transaction::new();
        tx.check(match raw {
            Some(r) => Check::Equals(layout::BACKOFF.into(), r),
            None => Check::Absent(layout::BACKOFF.into()),
        })
        .put(layout::BACKOFF, encoded);
        self.store.commit(tx).await?;
        Ok(())
    }

    /// Completes a successful unlock: resets back-off, audits, and opens the session.
    ///
    /// The attempt is already paid for, so a commit that loses a race is retried here
    /// (from a fresh audit head) rather than by re-running the whole unlock.
    async fn finish_unlock(
        &mut self,
        caller: &Caller,
        op: Op,
        kek: Secret32,
        method_id: MethodId,
        expires_ms: Option<u64>,
        mut tx: Transaction,
    ) -> Result<UnlockedResponse, Error> {
        let o = caller.origin();
        let audit_key = self.open_audit_key(&kek).await?;
        tx.delete(layout::BACKOFF);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .commit_signed(
                    o,
                    tx.clone(),
                    op,
                    Some(method_id.as_str()),
                    Outcome::Ok,
                    Some(&audit_key),
                )
                .await;
            match result {
                Err(Error::Conflict) if attempt < MAX_ATTEMPTS => continue,
                other => other?,
            }
            break;
        }
        self.session = Some(Session {
            kek,
            audit_key,
            expires_ms,
            fresh_until_ms: self.fresh_until(caller),
            signing: Default::default(),
        });
        Ok(UnlockedResponse {
            method_id,
            session_expires_ms: expires_ms,
        })
    }

    /// Opens `method`'s sealed KEK with `k_wrap` and, when it opens, finishes the unlock
    /// (a session without a time limit); `None` when `k_wrap` is not this method's.
    async fn unlock_with(
        &mut self,
        caller: &Caller,
        op: Op,
        method: &UnlockRecord,
        k_wrap: &Secret32,
    ) -> Result<Option<UnlockedResponse>, Error> {
        let Ok(kek) = method.open(k_wrap) else {
            return Ok(None);
        };
        let id = method.id.clone();
        self.finish_unlock(caller, op, kek, id, None, Transaction::new())
            .await
            .map(Some)
    }

    /// The passphrase's K_wrap under a passphrase method's `params` (its salt and
    /// iterations): PBKDF2 then HKDF, through this service's PBKDF2 provider.
    async fn passphrase_k_wrap(
        &self,
        params: &MethodParams,
        passphrase: &SecretInput,
    ) -> Result<Secret32, Error> {
        unlock::passphrase_k_wrap(&self.pbkdf2, params, &passphrase.0)
            .await
            .map_err(unlock_error)
    }

    /// A new passphrase method's parameters (a fresh salt) and its K_wrap, after checking
    /// the passphrase: what setup, adding and changing a passphrase all start from.
    async fn new_passphrase_method(
        &mut self,
        passphrase: &SecretInput,
    ) -> Result<(MethodParams, Secret32), Error> {
        unlock::check_passphrase(&passphrase.0).map_err(unlock_error)?;
        let params = MethodParams::new_passphrase(&mut self.rng);
        let k_wrap = self.passphrase_k_wrap(&params, passphrase).await?;
        Ok((params, k_wrap))
    }

    pub(super) async fn unlock_passphrase(
        &mut self,
        caller: &Caller,
        passphrase: &SecretInput,
    ) -> Result<UnlockedResponse, Error> {
        const OP: Op = Op::UnlockPassphrase;
        let o = caller.origin();
        let methods = self.enrolled_methods().await?;
        // No passphrase method accepts a passphrase this short: refused before the KDF,
        // without paying for (or raising) the shared back-off.
        if unlock::check_passphrase(&passphrase.0).is_err() {
            return Err(self.deny(o, OP, None, Error::BadCredential).await);
        }
        self.reserve_attempt(o, OP).await?;
        for m in methods
            .iter()
            .filter(|m| matches!(m.record.params, MethodParams::Passphrase { .. }))
        {
            let k_wrap = self.passphrase_k_wrap(&m.record.params, passphrase).await?;
            if let Some(unlocked) = self.unlock_with(caller, OP, &m.record, &k_wrap).await? {
                return Ok(unlocked);
            }
        }
        Err(self.deny(o, OP, None, Error::BadCredential).await)
    }

    pub(super) async fn unlock_prf(
        &mut self,
        caller: &Caller,
        credential_id: &Bytes,
        prf_output: &SecretInput,
    ) -> Result<UnlockedResponse, Error> {
        const OP: Op = Op::UnlockPrf;
        let o = caller.origin();
        let methods = self.enrolled_methods().await?;
        unlock::check_prf_output(&prf_output.0).map_err(unlock_error)?;
        self.reserve_attempt(o, OP).await?;
        let found = methods.iter().find(|m| {
            matches!(&m.record.params, MethodParams::PasskeyPrf { credential_id: c, .. } if *c == credential_id.0)
        });
        if let Some(m) = found {
            let k_wrap =
                unlock::prf_k_wrap(&m.record.params, &prf_output.0).map_err(unlock_error)?;
            if let Some(unlocked) = self.unlock_with(caller, OP, &m.record, &k_wrap).await? {
                return Ok(unlocked);
            }
        }
        let id = found.map(|m| m.record.id.clone());
        let id = id.as_ref().map(MethodId::as_str);
        Err(self.deny(o, OP, id, Error::BadCredential).await)
    }

    pub(super) async fn gate_challenge(&mut self) -> Result<ChallengeResponse, Error> {
        let mut bytes = [0u8; 32];
        self.rng.fill_bytes(&mut bytes);
        let expires_ms = self.clock.now_ms() + CHALLENGE_TTL_MS;
        self.challenge = Some(Challenge { bytes, expires_ms });
        let credential_ids = self
            .methods()
            .await?
            .iter()
            .filter_map(|m| match &m.record.params {
                MethodParams::PasskeyGate { credential } => {
                    Some(crate::b64::encode(&credential.id))
                }
                _ => None,
            })
            .collect();
        Ok(ChallengeResponse {
            challenge: crate::b64::encode(bytes),
            rp_id: self.config.rp_id.clone(),
            credential_ids,
            expires_ms,
        })
    }

    /// Takes the pending challenge if it has not expired.
    fn take_challenge(&mut self) -> Result<[u8; 32], Error> {
        let now = self.clock.now_ms();
        match self.challenge.take() {
            Some(c) if now < c.expires_ms => Ok(c.bytes),
            _ => Err(Error::bad_request(
                "no pending WebAuthn challenge: call unlock.gateChallenge first",
            )),
        }
    }

    pub(super) async fn unlock_gate(
        &mut self,
        caller: &Caller,
        credential_id: &Bytes,
        authenticator_data: &Bytes,
        client_data_json: &Bytes,
        signature: &Bytes,
    ) -> Result<UnlockedResponse, Error> {
        const OP: Op = Op::UnlockGate;
        let o = caller.origin();
        let challenge = self.take_challenge()?;
        let methods = self.enrolled_methods().await?;
        self.reserve_attempt(o, OP).await?;
        let found = methods.into_iter().find(|m| {
            matches!(&m.record.params, MethodParams::PasskeyGate { credential } if credential.id == credential_id.0)
        });
        let Some(m) = found else {
            return Err(self.deny(o, OP, None, Error::BadCredential).await);
        };
        let MethodParams::PasskeyGate { credential } = &m.record.params else {
            return Err(InternalError::Invariant("the gate method found is not a gate").into());
        };
        let expect = webauthn::AssertionExpectations {
            rp_id: self.config.rp_id.clone(),
            origin: self.config.enclave_origin.clone(),
            allow_cross_origin: !self.config.allowed_top_origins.is_empty(),
            allowed_top_origins: self.config.allowed_top_origins.clone(),
            challenge: challenge.to_vec(),
            require_user_verification: self.config.require_user_verification,
        };
        let verified = match webauthn::verify_assertion(
            credential,
            &authenticator_data.0,
            &client_data_json.0,
            &signature.0,
            &expect,
        ) {
            Ok(v) => v,
            Err(_) => {
                return Err(self
                    .deny(o, OP, Some(m.record.id.as_str()), Error::BadCredential)
                    .await);
            }
        };
        let kek = self
            .device
            .open(&m.record.aad()?, &m.record.wrapped_kek)
            .await
            .map_err(|_| Error::tampered(format!("unlock record {}", m.key)))?;
        // Persist the new signature counter (re-sealing, since the record's parameters are
        // bound into the sealed KEK's associated data).
        let mut updated = m.record.clone();
        if let MethodParams::PasskeyGate { credential } = &mut updated.params {
            credential.sign_count = verified.sign_count;
        }
        updated.wrapped_kek = self.device_seal(&updated, &kek).await?;
        let mut tx = Transaction::new();
        tx.check(m.unchanged()).put(m.key, updated.encode()?);
        let expires = self.clock.now_ms() + GATE_SESSION_MS;
        self.finish_unlock(caller, OP, kek, updated.id, Some(expires), tx)
            .await
    }

    async fn device_seal(
        &mut self,
        rec: &UnlockRecord,
        kek: &Secret32,
    ) -> Result<crate::wrap::Sealed, Error> {
        let mut nonce = [0u8; 12];
        self.rng.fill_bytes(&mut nonce);
        self.device
            .seal(&rec.aad()?, kek, nonce)
            .await
            .map_err(|e| match e {
                crate::device::DeviceKeyError::Unavailable => Error::Unsupported {
                    what: "passkey gate: no device key on this platform".into(),
                },
                _ => InternalError::Invariant("the device key refused to seal").into(),
            })
    }

    pub(super) async fn list_methods(&self) -> Result<MethodsResponse, Error> {
        let methods = self.methods().await?;
        Ok(MethodsResponse {
            methods: methods
                .iter()
                .map(|m| method_info(&m.record, false))
                .collect(),
        })
    }

    async fn add_method(
        &mut self,
        o: &Origin,
        op: Op,
        rec: UnlockRecord,
    ) -> Result<MethodAddedResponse, Error> {
        let key = layout::method(&rec.id);
        let mut tx = Transaction::new();
        tx.check(Check::Absent(key.clone())).put(key, rec.encode()?);
        self.commit(o, tx, op, Some(rec.id.as_str()), Outcome::Ok)
            .await?;
        Ok(MethodAddedResponse {
            method: method_info(&rec, false),
        })
    }

    pub(super) async fn add_passphrase(
        &mut self,
        o: &Origin,
        passphrase: &SecretInput,
        label: Option<String>,
    ) -> Result<MethodAddedResponse, Error> {
        check_label(&label)?;
        let kek = self.kek()?.clone();
        let (params, k_wrap) = self.new_passphrase_method(passphrase).await?;
        let rec = self.seal_new_method(label, params, &kek, &k_wrap)?;
        self.add_method(o, Op::AddPassphrase, rec).await
    }

    pub(super) async fn change_passphrase(
        &mut self,
        o: &Origin,
        method_id: &MethodId,
        passphrase: &SecretInput,
    ) -> Result<(), Error> {
        let kek = self.kek()?.clone();
        unlock::check_passphrase(&passphrase.0).map_err(unlock_error)?;
        let methods = self.methods().await?;
        let m = find_method(&methods, method_id)?;
        if !matches!(m.record.params, MethodParams::Passphrase { .. }) {
            return Err(Error::bad_request(format!(
                "method kind: expected passphrase, got {}",
                m.record.params.kind()
            )));
        }
        let (params, k_wrap) = self.new_passphrase_method(passphrase).await?;
        let rec = UnlockRecord::seal(
            m.record.id.clone(),
            m.record.label.clone(),
            self.clock.now_ms(),
            params,
            &kek,
            &k_wrap,
            &mut self.rng,
        )?;
        let mut tx = Transaction::new();
        tx.check(m.unchanged()).put(m.key.clone(), rec.encode()?);
        let id = Some(method_id.as_str());
        self.commit(o, tx, Op::ChangePassphrase, id, Outcome::Ok)
            .await?;
        Ok(())
    }

    pub(super) fn new_prf_input(&mut self) -> Result<PrfInputResponse, Error> {
        let mut input = [0u8; 32];
        self.rng.fill_bytes(&mut input);
        Ok(PrfInputResponse {
            prf_input: crate::b64::encode(input),
        })
    }

    pub(super) async fn add_prf(
        &mut self,
        o: &Origin,
        credential_id: &Bytes,
        prf_input: &Bytes,
        prf_output: &SecretInput,
        label: Option<String>,
    ) -> Result<MethodAddedResponse, Error> {
        check_label(&label)?;
        let kek = self.kek()?.clone();
        if credential_id.0.is_empty() || credential_id.0.len() > 1023 {
            return Err(Error::bad_request("credentialId: expected 1 to 1023 bytes"));
        }
        let prf_input: [u8; 32] = prf_input.0.as_slice().try_into().map_err(|_| {
            Error::bad_request(format!(
                "prfInput: expected 32 bytes, got {}",
                prf_input.0.len()
            ))
        })?;
        let params = MethodParams::PasskeyPrf {
            credential_id: credential_id.0.clone(),
            prf_input,
        };
        let k_wrap = unlock::prf_k_wrap(&params, &prf_output.0).map_err(unlock_error)?;
        let rec = self.seal_new_method(label, params, &kek, &k_wrap)?;
        self.add_method(o, Op::AddPrf, rec).await
    }

    pub(super) async fn add_gate(
        &mut self,
        o: &Origin,
        attestation_object: &Bytes,
        client_data_json: &Bytes,
        label: Option<String>,
    ) -> Result<MethodAddedResponse, Error> {
        check_label(&label)?;
        let kek = self.kek()?.clone();
        let challenge = self.take_challenge()?;
        let expect = webauthn::RegistrationExpectations {
            rp_id: self.config.rp_id.clone(),
            origin: self.config.enclave_origin.clone(),
            allow_cross_origin: !self.config.allowed_top_origins.is_empty(),
            allowed_top_origins: self.config.allowed_top_origins.clone(),
            challenge: challenge.to_vec(),
            require_user_verification: self.config.require_user_verification,
        };
        let credential =
            webauthn::verify_registration(&attestation_object.0, &client_data_json.0, &expect)
                .map_err(|e| Error::bad_request(format!("passkey registration: {e}")))?;
        // Sealed under the KEK as a placeholder, replaced by the device-key seal below.
        let mut rec =
            self.seal_new_method(label, MethodParams::PasskeyGate { credential }, &kek, &kek)?;
        rec.wrapped_kek = self.device_seal(&rec, &kek).await?;
        self.add_method(o, Op::AddGate, rec).await
    }

    pub(super) async fn remove_method(
        &mut self,
        o: &Origin,
        method_id: &MethodId,
    ) -> Result<(), Error> {
        self.kek()?;
        let methods = self.methods().await?;
        let m = find_method(&methods, method_id)?;
        if methods.len() == 1 {
            return Err(Error::bad_request("cannot remove the last unlock method"));
        }
        let mut tx = Transaction::new();
        tx.check(m.unchanged()).delete(m.key.clone());
        let id = Some(method_id.as_str());
        self.commit(o, tx, Op::RemoveMethod, id, Outcome::Ok)
            .await?;
        Ok(())
    }

    /// Every key record of the shard, integrity-checked (opened) with the KEK.
    pub(super) async fn shard_records(
        &self,
        o: &Origin,
        kind: Option<KeyKind>,
    ) -> Result<Vec<Loaded<KeyRecord>>, Error> {
        let kek = self.kek()?;
        let prefix = match kind {
            Some(k) => format!("{}{}", layout::shard_keys(o), k.prefix()),
            None => layout::shard_keys(o),
        };
        let base = layout::shard_keys(o);
        let mut out = Vec::new();
        for (key, raw) in self.store.list(&prefix).await? {
            let key_id = key.strip_prefix(&base).ok_or(InternalError::Invariant(
                "the store listed a key outside the prefix",
            ))?;
            let record = KeyRecord::decode(&raw, o.into(), &KeyId::from(key_id))?;
            record.open(kek)?;
            out.push(Loaded { key, raw, record });
        }
        Ok(out)
    }

    pub(super) async fn list_keys(&self, o: &Origin) -> Result<KeysResponse, Error> {
        let keys = self
            .shard_records(o, None)
            .await?
            .iter()
            .filter(|Loaded { record: r, .. }| r.header.kind.is_key())
            .map(|Loaded { record: r, .. }| (&r.header).into())
            .collect();
        Ok(KeysResponse { keys })
    }

    pub(super) async fn delete_key(&mut self, o: &Origin, key_id: &KeyId) -> Result<(), Error> {
        self.kek()?;
        let key = layout::key(o, key_id);
        let raw = self
            .store
            .get(&key)
            .await?
            .ok_or_else(|| Error::KeyNotFound {
                id: key_id.to_string(),
            })?;
        let record = KeyRecord::decode(&raw, o.into(), key_id)?;
        match record.header.kind {
            KeyKind::SignalSession => {
                return Err(Error::bad_request(
                    "a session is deleted with signal.deleteSession",
                ));
            }
            // Deleting a trusted identity would let the next key for the address be
            // trusted on first use: trust belongs to the user (`signal.trust`).
            KeyKind::SignalPeerIdentity | KeyKind::SignalKyberUse => {
                return Err(Error::bad_request(format!(
                    "{key_id} is Signal bookkeeping, not a key"
                )));
            }
            // What the shard is to others: its Signal identity (peers would see a new
            // identity, and every session would end), the state its prekeys hang on, and
            // the key that signs its audit checkpoints. A page that ran an attacker's
            // script must not be able to destroy them; no caller deletes them one by one.
            KeyKind::SignalIdentity | KeyKind::SignalState | KeyKind::Audit => {
                return Err(Error::NotPermitted {
                    method: "keys.delete",
                    allowed: "no caller: the shard's Signal identity, Signal state and audit key stay with the shard",
                });
            }
            _ => {}
        }
        let mut tx = Transaction::new();
        tx.check(Check::Equals(key.clone(), raw)).delete(key);
        self.commit(o, tx, Op::DeleteKey, Some(key_id.as_str()), Outcome::Ok)
            .await?;
        Ok(())
    }
}
