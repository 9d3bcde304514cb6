//! Signal sessions of a shard, one record per peer address, and the identity keys the shard
//! trusts for its peers.
//!
//! Every operation reads what it needs, runs the session code in memory
//! ([`SessionRecord`] returns a new record and changes nothing on failure), then writes the
//! new session record, the identity-store update, the prekey it consumed and its audit entry
//! in one transaction whose checks name every record it read: a second tab that decrypted
//! the same message meanwhile makes this commit lose, and the retry finds the message
//! already decrypted ([`Error::DuplicateMessage`]). A message that does not decrypt writes
//! nothing, not even an audit entry: anyone can send one, and the log is not theirs to fill.
//!
//! Trust: the first identity key seen for an address is stored, unconfirmed; any other is
//! refused with [`Error::UntrustedIdentity`]. Messages from an unconfirmed key decrypt, but
//! none is encrypted to it until the user confirms it in the enclave's UI (the `ui.trust`
//! ceremony, which ends in `signal.trust`, a method only the enclave's UI may call). So a
//! page cannot make the enclave send to a key the page chose: a session that a compromised
//! page started with its own bundle, or from a first message it forged, is useless to it
//! once the page is honest again (`docs/threat-model.md`).

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::super::layout;
use super::super::records::{KeyAlg, KeyHeader, KeyKind, KeyRecord, Loaded};
use super::super::{
    IdentityChangeInfo, IdentityTrust, Kms, PreKeysUsedInfo, SignalDecryptedResponse,
    SignalEncryptedResponse, SignalIdentityResponse, SignalSafetyNumberResponse, SignalSessionInfo,
    SignalSessionStartedResponse, SignalSessionsResponse,
};
use super::{SignalKeys, otpk_id, secret32};
use crate::audit::{Op, Outcome};
use crate::clock::Clock;
use crate::device::DeviceKey;
use crate::error::{Error, InternalError};
use crate::format;
use crate::ids::KeyId;
use crate::jws::Signer;
use crate::kdf::Pbkdf2Provider;
use crate::origin::Origin;
use crate::rpc::SignalAddress;
use crate::rpc::params::MAX_ADDRESS_NAME;
use crate::signal::fingerprint::{self, SafetyNumber};
use crate::signal::identity::PublicKey;
use crate::signal::prekeys::OneTimePreKey;
use crate::signal::wire::{PRE_KEY_TYPE, WHISPER_TYPE};
use crate::signal::{
    Address, CiphertextMessage, IdentityChange, OurPreKeys, PreKeyBundle, PreKeySignalMessage,
    SessionError, SessionRecord, SignalMessage, Trust,
};
use crate::store::{Check, Store, Transaction};

/// The sealed part of a trusted peer identity record (its public key is in the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PeerTrust {
    /// The user confirmed the key in the enclave's UI (absent in records written before
    /// confirmation existed: those keys were only seen first, so they are unconfirmed).
    #[serde(default)]
    confirmed: bool,
    /// The user compared the safety number and marked the key verified.
    verified: bool,
    /// When the key was stored: first seen, or set by the user.
    trusted_ms: u64,
}

impl PeerTrust {
    fn level(&self) -> IdentityTrust {
        // Only the user sets `verified` (in the enclave's UI), so it implies confirmed.
        if self.verified {
            IdentityTrust::Verified
        } else if self.confirmed {
            IdentityTrust::Confirmed
        } else {
            IdentityTrust::Unconfirmed
        }
    }
}

/// How far the user trusts the key of `peer` (none stored: unconfirmed).
fn trust_level(peer: Option<&StoredPeer>) -> IdentityTrust {
    peer.map_or(IdentityTrust::Unconfirmed, |p| p.trust.level())
}

/// What [`Kms::record_identity`] recorded, and the trust that results.
struct Recorded {
    change: IdentityChangeInfo,
    trust: IdentityTrust,
}

const KEY_NOT_STORED: &str = "the message's identity key is not the one stored for the address";
const NOT_CONFIRMED: &str =
    "the user has not confirmed the address's identity key in the enclave's UI (ui.trust)";

/// The sealed part of a Kyber-use marker: which signed prekey the session used with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KyberUse {
    signed_pre_key_id: u32,
}

/// The name an address has in key ids: `<base64url(name)>.<device id>`.
fn address_name(a: &Address) -> String {
    format!("{}.{}", crate::b64::encode(a.name.as_bytes()), a.device_id)
}

/// The address a key-id name stands for (`None` if it is not one).
fn parse_address_name(name: &str) -> Option<SignalAddress> {
    let (b64, device) = name.rsplit_once('.')?;
    let name = String::from_utf8(crate::b64::decode(b64).ok()?).ok()?;
    Some(SignalAddress {
        name,
        device_id: device.parse().ok()?,
    })
}

fn session_id(a: &Address) -> KeyId {
    KeyId::new(KeyKind::SignalSession, address_name(a))
}

fn peer_id(a: &Address) -> KeyId {
    KeyId::new(KeyKind::SignalPeerIdentity, address_name(a))
}

/// libsignal's `mark_kyber_pre_key_used` key: the Kyber prekey and the base key it served.
fn kyber_use_id(kyber_pre_key_id: u32, base_key: &PublicKey) -> KeyId {
    KeyId::new(
        KeyKind::SignalKyberUse,
        format!(
            "{kyber_pre_key_id}.{}",
            crate::b64::encode(base_key.serialize())
        ),
    )
}

fn to_wire(a: &Address) -> SignalAddress {
    SignalAddress {
        name: a.name.clone(),
        device_id: a.device_id,
    }
}

/// Our address for the message MAC's address check: the page's account name (when it is a
/// service id the first messages carry both addresses) and the shard's device id.
fn local_address(local_name: Option<&str>, keys: &SignalKeys) -> Result<Address, Error> {
    let name = local_name.unwrap_or_default();
    if name.len() > MAX_ADDRESS_NAME || name.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "localName: expected at most {MAX_ADDRESS_NAME} bytes, no control characters"
        )));
    }
    Ok(Address::new(name, keys.state.device_id))
}

/// An identity key as the RPC carries it: base64url of `0x05 ‖ u`.
fn parse_identity_key(b64: &str) -> Result<PublicKey, Error> {
    crate::b64::decode(b64)
        .ok()
        .and_then(|b| PublicKey::deserialize(&b).ok())
        .ok_or_else(|| {
            Error::bad_request("identityKey: expected base64url of a 0x05 ‖ u public key")
        })
}

/// The service error for a session error while running a session.
fn session_error(e: SessionError) -> Error {
    match e {
        SessionError::NoSession => Error::NoSession {
            reason: "there is none",
        },
        SessionError::StaleSession => Error::NoSession {
            reason: "the session we started was not answered within 30 days",
        },
        SessionError::UntrustedIdentity => Error::UntrustedIdentity {
            reason: KEY_NOT_STORED,
        },
        SessionError::Duplicate { .. } => Error::DuplicateMessage,
        SessionError::InvalidMessage(_)
        | SessionError::LegacyVersion { .. }
        | SessionError::UnknownVersion { .. }
        | SessionError::TooFarAhead { .. } => Error::bad_request(format!("message: {e}")),
        SessionError::MissingPreKey { id, .. } => Error::KeyConsumed {
            id: otpk_id(id).to_string(),
        },
        SessionError::BadMac | SessionError::PqRatchet(_) | SessionError::Signal(_) => {
            Error::DecryptFailed
        }
    }
}

/// A shard's session record with one address, as read.
struct StoredSession {
    /// The stored record (`None`: no record yet).
    loaded: Option<Loaded<KeyRecord>>,
    /// The sessions.
    record: SessionRecord,
}

impl StoredSession {
    /// The check that the record is still as read.
    fn unchanged(&self, key: String) -> Check {
        match &self.loaded {
            Some(l) => l.unchanged(),
            None => Check::Absent(key),
        }
    }
}

/// A trusted peer identity, as read.
struct StoredPeer {
    loaded: Loaded<KeyRecord>,
    key: PublicKey,
    trust: PeerTrust,
}

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    async fn load_session(&self, o: &Origin, a: &Address) -> Result<StoredSession, Error> {
        let id = session_id(a);
        let Some((loaded, bytes)) = self.load_key(o, &id).await? else {
            return Ok(StoredSession {
                loaded: None,
                record: SessionRecord::new(),
            });
        };
        if loaded.record.header.kind != KeyKind::SignalSession
            || loaded.record.header.alg != KeyAlg::SignalSessionV1
        {
            return Err(Error::tampered(id.to_string()));
        }
        let record =
            SessionRecord::decode(bytes.expose()).map_err(|_| Error::tampered(id.to_string()))?;
        Ok(StoredSession {
            loaded: Some(loaded),
            record,
        })
    }

    async fn load_peer(&self, o: &Origin, a: &Address) -> Result<Option<StoredPeer>, Error> {
        let id = peer_id(a);
        let Some((loaded, bytes)) = self.load_key(o, &id).await? else {
            return Ok(None);
        };
        let tampered = || Error::tampered(id.to_string());
        let key =
            PublicKey::deserialize(&loaded.record.header.public_key).map_err(|_| tampered())?;
        let trust: PeerTrust = serde_json::from_slice(bytes.expose()).map_err(|_| tampered())?;
        Ok(Some(StoredPeer { loaded, key, trust }))
    }

    /// What the session code is told about the address's identity key.
    fn trust_of(peer: Option<&StoredPeer>) -> Trust {
        match peer {
            Some(p) => Trust::known(p.key),
            None => Trust::first_use(),
        }
    }

    fn peer_record(
        &mut self,
        o: &Origin,
        a: &Address,
        key: &PublicKey,
        trust: &PeerTrust,
    ) -> Result<KeyRecord, Error> {
        let kek = self.kek()?.clone();
        let json = format::to_json("peer trust", trust)?;
        Ok(KeyRecord::seal(
            KeyHeader::new(
                o.into(),
                peer_id(a),
                KeyKind::SignalPeerIdentity,
                KeyAlg::X25519,
                key.serialize().to_vec(),
                trust.trusted_ms,
            ),
            &json,
            &kek,
            &mut self.rng,
        )?)
    }

    /// Adds the identity-store update for `change` to `tx`: a new trusted key, or the
    /// check that the trusted key is still the one the operation was checked against.
    fn record_identity(
        &mut self,
        tx: &mut Transaction,
        o: &Origin,
        a: &Address,
        peer: Option<&StoredPeer>,
        change: IdentityChange,
        remote: Option<PublicKey>,
    ) -> Result<Recorded, Error> {
        match (change, peer) {
            (IdentityChange::Unchanged, Some(p)) => {
                tx.check(p.loaded.unchanged());
                Ok(Recorded {
                    change: IdentityChangeInfo::Unchanged,
                    trust: p.trust.level(),
                })
            }
            (IdentityChange::New, None) => {
                let key = remote.ok_or(InternalError::Invariant(
                    "a new identity without the session's remote key",
                ))?;
                let trust = PeerTrust {
                    confirmed: false,
                    verified: false,
                    trusted_ms: self.clock.now_ms(),
                };
                let rec = self.peer_record(o, a, &key, &trust)?;
                let store_key = layout::key(o, &peer_id(a));
                tx.check(Check::Absent(store_key.clone()))
                    .put(store_key, rec.encode()?);
                Ok(Recorded {
                    change: IdentityChangeInfo::New,
                    trust: trust.level(),
                })
            }
            // The page's calls never allow a change (`Trust::known`), and the session code
            // reports `New` only when nothing is trusted.
            _ => Err(InternalError::Invariant("an identity change the page cannot make").into()),
        }
    }

    /// Seals `record` for address `a`, keeping the creation time of the record it replaces.
    fn session_record(
        &mut self,
        o: &Origin,
        a: &Address,
        record: &SessionRecord,
        previous: &StoredSession,
    ) -> Result<KeyRecord, Error> {
        let kek = self.kek()?.clone();
        let created_ms = previous
            .loaded
            .as_ref()
            .map_or_else(|| self.clock.now_ms(), |l| l.record.header.created_ms);
        let public_key = record
            .remote_identity()
            .map(|k| k.serialize().to_vec())
            .unwrap_or_default();
        Ok(KeyRecord::seal(
            KeyHeader::new(
                o.into(),
                session_id(a),
                KeyKind::SignalSession,
                KeyAlg::SignalSessionV1,
                public_key,
                created_ms,
            ),
            &record.encode(),
            &kek,
            &mut self.rng,
        )?)
    }

    /// Puts the new session record, checked against the one it replaces.
    fn put_session(
        &mut self,
        tx: &mut Transaction,
        o: &Origin,
        a: &Address,
        record: &SessionRecord,
        previous: &StoredSession,
    ) -> Result<(), Error> {
        let rec = self.session_record(o, a, record, previous)?;
        let key = layout::key(o, &session_id(a));
        tx.check(previous.unchanged(key.clone()))
            .put(key, rec.encode()?);
        Ok(())
    }

    /// The shard's Signal keys, or [`Error::NoSession`] when it has none (so no session).
    async fn signal_keys_for_session(&self, o: &Origin) -> Result<SignalKeys, Error> {
        self.load_signal(o).await?.ok_or(Error::NoSession {
            reason: "there is none",
        })
    }

    pub(in crate::service) async fn signal_start_session(
        &mut self,
        o: &Origin,
        address: &SignalAddress,
        bundle: &PreKeyBundle,
    ) -> Result<SignalSessionStartedResponse, Error> {
        let a = address.checked()?;
        if bundle.device_id != a.device_id {
            return Err(Error::bad_request(format!(
                "bundle.deviceId: expected the address's {}, got {}",
                a.device_id, bundle.device_id
            )));
        }
        let keys = self.ensure_signal(o).await?;
        let stored = self.load_session(o, &a).await?;
        let peer = self.load_peer(o, &a).await?;
        let now = self.clock.now_ms();
        let (record, change) = stored
            .record
            .initiate(
                &keys.identity,
                keys.state.registration_id,
                bundle,
                &Self::trust_of(peer.as_ref()),
                now,
                &mut self.rng,
            )
            .map_err(|e| match e {
                SessionError::UntrustedIdentity => Error::UntrustedIdentity {
                    reason: "the bundle's identity key is not the one stored for the address",
                },
                e => Error::bad_request(format!("bundle: {e}")),
            })?;
        let mut tx = Transaction::new();
        let recorded = self.record_identity(
            &mut tx,
            o,
            &a,
            peer.as_ref(),
            change,
            Some(bundle.identity_key),
        )?;
        self.put_session(&mut tx, o, &a, &record, &stored)?;
        self.commit(
            o,
            tx,
            Op::SignalStartSession,
            Some(session_id(&a).as_str()),
            Outcome::Ok,
        )
        .await?;
        Ok(SignalSessionStartedResponse {
            address: to_wire(&a),
            identity_key: crate::b64::encode(bundle.identity_key.serialize()),
            identity_change: recorded.change,
            trust: recorded.trust,
        })
    }

    pub(in crate::service) async fn signal_encrypt(
        &mut self,
        o: &Origin,
        address: &SignalAddress,
        plaintext: &[u8],
        local_name: Option<&str>,
    ) -> Result<SignalEncryptedResponse, Error> {
        let a = address.checked()?;
        let keys = self.signal_keys_for_session(o).await?;
        let local = local_address(local_name, &keys)?;
        let stored = self.load_session(o, &a).await?;
        let peer = self.load_peer(o, &a).await?;
        let now = self.clock.now_ms();
        let encrypted = stored
            .record
            .encrypt(
                plaintext,
                &local,
                &a,
                &Self::trust_of(peer.as_ref()),
                now,
                &mut self.rng,
            )
            .map_err(session_error)?;
        // Only to a key the user confirmed: the page may have chosen this one.
        if trust_level(peer.as_ref()) == IdentityTrust::Unconfirmed {
            return Err(Error::UntrustedIdentity {
                reason: NOT_CONFIRMED,
            });
        }
        let mut tx = Transaction::new();
        self.record_identity(
            &mut tx,
            o,
            &a,
            peer.as_ref(),
            encrypted.identity,
            encrypted.record.remote_identity(),
        )?;
        self.put_session(&mut tx, o, &a, &encrypted.record, &stored)?;
        self.commit(
            o,
            tx,
            Op::SignalEncrypt,
            Some(session_id(&a).as_str()),
            Outcome::Ok,
        )
        .await?;
        let message_type = encrypted.message.message_type();
        Ok(SignalEncryptedResponse {
            message: crate::b64::encode(encrypted.message.as_bytes()),
            message_type,
        })
    }

    pub(in crate::service) async fn signal_decrypt(
        &mut self,
        o: &Origin,
        address: &SignalAddress,
        message: &[u8],
        message_type: u8,
        local_name: Option<&str>,
    ) -> Result<SignalDecryptedResponse, Error> {
        let a = address.checked()?;
        let message = match message_type {
            WHISPER_TYPE => {
                CiphertextMessage::Whisper(SignalMessage::parse(message).map_err(session_error)?)
            }
            PRE_KEY_TYPE => CiphertextMessage::PreKey(
                PreKeySignalMessage::parse(message).map_err(session_error)?,
            ),
            other => {
                return Err(Error::bad_request(format!(
                    "messageType: expected {WHISPER_TYPE} or {PRE_KEY_TYPE}, got {other}"
                )));
            }
        };
        let keys = self.signal_keys_for_session(o).await?;
        let local = local_address(local_name, &keys)?;
        let stored = self.load_session(o, &a).await?;
        let peer = self.load_peer(o, &a).await?;
        let trust = Self::trust_of(peer.as_ref());
        let now = self.clock.now_ms();
        let mut tx = Transaction::new();
        let decrypted = match &message {
            CiphertextMessage::Whisper(m) => stored
                .record
                .decrypt(m, &local, &a, &trust, now, &mut self.rng)
                .map_err(session_error)?,
            CiphertextMessage::PreKey(m) => {
                self.decrypt_pre_key(&mut tx, o, &keys, &stored, m, &local, &a, &trust)
                    .await?
            }
        };
        let recorded = self.record_identity(
            &mut tx,
            o,
            &a,
            peer.as_ref(),
            decrypted.identity,
            decrypted.record.remote_identity(),
        )?;
        self.put_session(&mut tx, o, &a, &decrypted.record, &stored)?;
        self.commit(
            o,
            tx,
            Op::SignalDecrypt,
            Some(session_id(&a).as_str()),
            Outcome::Ok,
        )
        .await?;
        Ok(SignalDecryptedResponse {
            plaintext: crate::b64::encode(&*decrypted.plaintext),
            identity_change: recorded.change,
            trust: recorded.trust,
            pre_keys_used: decrypted.pre_keys_used.map(|u| PreKeysUsedInfo {
                one_time_pre_key_id: u.one_time_pre_key_id,
                signed_pre_key_id: u.signed_pre_key_id,
                kyber_pre_key_id: u.kyber_pre_key_id,
            }),
        })
    }

    /// Decrypts a `PreKeySignalMessage`, loading the prekeys it names when it starts a new
    /// session, and adds to `tx` the shredding of its one-time prekey and the mark of its
    /// Kyber prekey's use by its base key (both checked, so two tabs cannot both use them).
    #[allow(
        clippy::too_many_arguments,
        reason = "the transaction, keys, record, message, addresses and trust"
    )]
    async fn decrypt_pre_key(
        &mut self,
        tx: &mut Transaction,
        o: &Origin,
        keys: &SignalKeys,
        stored: &StoredSession,
        m: &PreKeySignalMessage,
        local: &Address,
        remote: &Address,
        trust: &Trust,
    ) -> Result<crate::signal::Decrypted, Error> {
        let now = self.clock.now_ms();
        if !stored.record.needs_pre_keys(m) {
            // A repeat of the first message of a session we have: no prekey is used (the
            // session code names none), but the call takes some; the current ones serve.
            let signed = self
                .load_signed(o, &keys.identity, keys.state.current_signed_id)
                .await?;
            let kyber = self
                .load_kyber(o, &keys.identity, keys.state.current_kyber_id)
                .await?;
            let ours = OurPreKeys {
                identity: &keys.identity,
                registration_id: keys.state.registration_id,
                signed_pre_key: &signed,
                one_time_pre_key: None,
                kyber_pre_key: &kyber,
            };
            return stored
                .record
                .decrypt_pre_key(m, &ours, local, remote, trust, now, &mut self.rng)
                .map_err(session_error);
        }
        // A replay of a first message whose session aged out of the record: its Kyber
        // prekey's use by this base key is on file (its one-time prekey, if any, is gone).
        let kyber_use = layout::key(o, &kyber_use_id(m.kyber_pre_key_id(), m.base_key()));
        if self.store.get(&kyber_use).await?.is_some() {
            return Err(Error::DuplicateMessage);
        }
        let signed = self
            .load_signed(o, &keys.identity, m.signed_pre_key_id())
            .await?;
        let kyber = self
            .load_kyber(o, &keys.identity, m.kyber_pre_key_id())
            .await?;
        let one_time = match m.pre_key_id() {
            None => None,
            Some(id) => {
                let key_id = otpk_id(id);
                let Some((loaded, secret)) = self.load_key(o, &key_id).await? else {
                    // Another tab may have decrypted this very message between the look-up
                    // of its Kyber prekey's use above and this one: that commit shreds the
                    // one-time prekey and records the use together.
                    if self.store.get(&kyber_use).await?.is_some() {
                        return Err(Error::DuplicateMessage);
                    }
                    return Err(Error::KeyConsumed {
                        id: key_id.to_string(),
                    });
                };
                let key = OneTimePreKey::from_secret(id, secret32(secret.expose(), &key_id)?);
                Some((loaded, key))
            }
        };
        let ours = OurPreKeys {
            identity: &keys.identity,
            registration_id: keys.state.registration_id,
            signed_pre_key: &signed,
            one_time_pre_key: one_time.as_ref().map(|(_, k)| k),
            kyber_pre_key: &kyber,
        };
        let decrypted = stored
            .record
            .decrypt_pre_key(m, &ours, local, remote, trust, now, &mut self.rng)
            .map_err(session_error)?;
        if let Some(used) = decrypted.pre_keys_used {
            if let Some((loaded, _)) = &one_time {
                // Shred the one-time prekey with the session that used it.
                tx.check(loaded.unchanged()).delete(loaded.key.clone());
            }
            let kek = self.kek()?.clone();
            let marker = KeyRecord::seal(
                KeyHeader::new(
                    o.into(),
                    kyber_use_id(used.kyber_pre_key_id, m.base_key()),
                    KeyKind::SignalKyberUse,
                    KeyAlg::None,
                    m.base_key().serialize().to_vec(),
                    now,
                ),
                &format::to_json(
                    "kyber use",
                    &KyberUse {
                        signed_pre_key_id: used.signed_pre_key_id,
                    },
                )?,
                &kek,
                &mut self.rng,
            )?;
            tx.check(Check::Absent(kyber_use.clone()))
                .put(kyber_use, marker.encode()?);
        }
        Ok(decrypted)
    }

    /// Adds to `tx` the deletion of the Kyber-use marks of sessions started with one of the
    /// `signed` prekeys, which `tx` deletes: a first message that names a deleted signed
    /// prekey fails anyway, so its mark stops nothing more (libsignal keeps the signed
    /// prekey id with each mark for the same pruning). Without it the marks of a
    /// last-resort Kyber prekey would pile up for as long as the shard lives.
    pub(in crate::service) async fn prune_kyber_uses(
        &self,
        tx: &mut Transaction,
        o: &Origin,
        signed: &[u32],
    ) -> Result<(), Error> {
        if signed.is_empty() {
            return Ok(());
        }
        let kek = self.kek()?;
        for Loaded { key, raw, record } in
            self.shard_records(o, Some(KeyKind::SignalKyberUse)).await?
        {
            let used: KyberUse = serde_json::from_slice(record.open(kek)?.expose())
                .map_err(|_| Error::tampered(record.header.id.to_string()))?;
            if signed.contains(&used.signed_pre_key_id) {
                tx.check(Check::Equals(key.clone(), raw)).delete(key);
            }
        }
        Ok(())
    }

    pub(in crate::service) async fn signal_sessions(
        &self,
        o: &Origin,
    ) -> Result<SignalSessionsResponse, Error> {
        let kek = self.kek()?;
        let mut sessions = Vec::new();
        for Loaded { record: rec, .. } in
            self.shard_records(o, Some(KeyKind::SignalSession)).await?
        {
            let tampered = || Error::tampered(rec.header.id.to_string());
            let address = rec
                .header
                .id
                .name(KeyKind::SignalSession)
                .and_then(parse_address_name)
                .ok_or_else(tampered)?;
            let record = SessionRecord::decode(rec.open(kek)?.expose()).map_err(|_| tampered())?;
            sessions.push(SignalSessionInfo {
                address,
                remote_identity_key: record
                    .remote_identity()
                    .map(|k| crate::b64::encode(k.serialize())),
                remote_registration_id: record.remote_registration_id(),
                awaiting_reply: record.awaiting_reply(),
                archived_sessions: u32::try_from(record.archived_sessions()).unwrap_or(u32::MAX),
                created_ms: rec.header.created_ms,
            });
        }
        sessions.sort_by(|x, y| {
            (&x.address.name, x.address.device_id).cmp(&(&y.address.name, y.address.device_id))
        });
        Ok(SignalSessionsResponse { sessions })
    }

    pub(in crate::service) async fn signal_delete_session(
        &mut self,
        o: &Origin,
        address: &SignalAddress,
    ) -> Result<(), Error> {
        let a = address.checked()?;
        let stored = self.load_session(o, &a).await?;
        let Some(loaded) = &stored.loaded else {
            return Err(Error::NoSession {
                reason: "there is none",
            });
        };
        let mut tx = Transaction::new();
        tx.check(loaded.unchanged()).delete(loaded.key.clone());
        self.commit(
            o,
            tx,
            Op::SignalDeleteSession,
            Some(session_id(&a).as_str()),
            Outcome::Ok,
        )
        .await
    }

    fn identity_response(a: &Address, peer: Option<&StoredPeer>) -> SignalIdentityResponse {
        SignalIdentityResponse {
            address: to_wire(a),
            identity_key: peer.map(|p| crate::b64::encode(p.key.serialize())),
            trust: trust_level(peer),
            trusted_ms: peer.map(|p| p.trust.trusted_ms),
        }
    }

    pub(in crate::service) async fn signal_peer_identity(
        &self,
        o: &Origin,
        address: &SignalAddress,
    ) -> Result<SignalIdentityResponse, Error> {
        let a = address.checked()?;
        self.kek()?;
        let peer = self.load_peer(o, &a).await?;
        Ok(Self::identity_response(&a, peer.as_ref()))
    }

    pub(in crate::service) async fn signal_trust(
        &mut self,
        o: &Origin,
        address: &SignalAddress,
        identity_key: &str,
        verified: bool,
    ) -> Result<SignalIdentityResponse, Error> {
        let a = address.checked()?;
        let key = parse_identity_key(identity_key)?;
        let peer = self.load_peer(o, &a).await?;
        let trust = PeerTrust {
            confirmed: true,
            verified,
            trusted_ms: self.clock.now_ms(),
        };
        let rec = self.peer_record(o, &a, &key, &trust)?;
        let store_key = layout::key(o, &peer_id(&a));
        let mut tx = Transaction::new();
        tx.check(match &peer {
            Some(p) => p.loaded.unchanged(),
            None => Check::Absent(store_key.clone()),
        })
        .put(store_key, rec.encode()?);
        self.commit(
            o,
            tx,
            Op::SignalTrust,
            Some(peer_id(&a).as_str()),
            Outcome::Ok,
        )
        .await?;
        let peer = self.load_peer(o, &a).await?;
        Ok(Self::identity_response(&a, peer.as_ref()))
    }

    pub(in crate::service) async fn signal_safety_number(
        &mut self,
        o: &Origin,
        address: &SignalAddress,
        local_name: &str,
        remote_name: &str,
        identity_key: Option<&str>,
    ) -> Result<SignalSafetyNumberResponse, Error> {
        let a = address.checked()?;
        for (field, name) in [("localName", local_name), ("remoteName", remote_name)] {
            if name.is_empty() || name.len() > MAX_ADDRESS_NAME {
                return Err(Error::bad_request(format!(
                    "{field}: expected 1 to {MAX_ADDRESS_NAME} bytes, got {}",
                    name.len()
                )));
            }
        }
        let remote_key = match identity_key {
            Some(k) => parse_identity_key(k)?,
            None => {
                self.kek()?;
                self.load_peer(o, &a)
                    .await?
                    .ok_or_else(|| Error::KeyNotFound {
                        id: peer_id(&a).to_string(),
                    })?
                    .key
            }
        };
        let keys = self.ensure_signal(o).await?;
        // Signal's apps: version 2 over the ACIs' 16 UUID bytes; else libsignal's version 1
        // over the names' bytes (as for phone numbers).
        let (version, local_id, remote_id) = match (
            crate::signal::wire::parse_uuid(local_name),
            crate::signal::wire::parse_uuid(remote_name),
        ) {
            (Some(l), Some(r)) => (fingerprint::VERSION_UUID, l.to_vec(), r.to_vec()),
            _ => (
                fingerprint::VERSION_PHONE_NUMBER,
                local_name.as_bytes().to_vec(),
                remote_name.as_bytes().to_vec(),
            ),
        };
        let number = SafetyNumber::new(
            version,
            fingerprint::ITERATIONS,
            &local_id,
            &keys.identity.public_key(),
            &remote_id,
            &remote_key,
        )
        .map_err(|_| InternalError::Invariant("the fingerprint iteration count is refused"))?;
        Ok(SignalSafetyNumberResponse {
            safety_number: number.display(),
            scannable: crate::b64::encode(number.scannable()),
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_trust_record_from_before_confirmation_reads_as_the_user_left_it() {
        let read = |json: &str| serde_json::from_str::<PeerTrust>(json).unwrap().level();
        // First seen by a page: unconfirmed. Marked verified: only the user could.
        assert_eq!(
            read(r#"{"verified":false,"trustedMs":1}"#),
            IdentityTrust::Unconfirmed
        );
        assert_eq!(
            read(r#"{"verified":true,"trustedMs":1}"#),
            IdentityTrust::Verified
        );
        assert_eq!(
            read(r#"{"confirmed":true,"verified":false,"trustedMs":1}"#),
            IdentityTrust::Confirmed
        );
    }
}
