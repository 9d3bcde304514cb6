//! Signal identity and prekeys, stored per origin shard, and page signatures; sessions
//! and trusted peer identities in [`sessions`].

mod sessions;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::layout;
use super::records::{KeyAlg, KeyHeader, KeyKind, KeyRecord, Loaded};
use super::{
    Kms, OneTimePrekeyInfo, SignalBundleResponse, SignalOneTimePrekeysResponse,
    SignalReplenishedResponse, SignalSignatureResponse, SignalSignedPrekeyResponse,
};
use crate::audit::{Op, Outcome};
use crate::clock::Clock;
use crate::device::DeviceKey;
use crate::error::{Error, InternalError};
use crate::format;
use crate::ids::KeyId;
use crate::jws::Signer;
use crate::kdf::Pbkdf2Provider;
use crate::origin::Origin;
use crate::secret::{Secret32, SecretBytes};
use crate::signal::bundle::PreKeyBundle;
use crate::signal::identity::IdentityKeyPair;
use crate::signal::kem::KemAlgorithm;
use crate::signal::page_signature;
use crate::signal::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use crate::store::{Check, Store, Transaction};

/// Most one-time prekeys one `signal.replenish` call generates.
pub(super) const MAX_REPLENISH: u32 = 1000;
/// Largest prekey id (libsignal peers treat prekey ids as 24-bit).
const MAX_PREKEY_ID: u32 = 0x00FF_FFFF;

/// Sealed bookkeeping of a shard's Signal keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SignalState {
    registration_id: u32,
    device_id: u32,
    next_one_time_id: u32,
    next_signed_id: u32,
    next_kyber_id: u32,
    current_signed_id: u32,
    current_kyber_id: u32,
}

/// The shard's Signal identity key.
fn identity_id() -> KeyId {
    KeyId::new(KeyKind::SignalIdentity, 0)
}
/// The shard's sealed Signal bookkeeping.
fn state_id() -> KeyId {
    KeyId::new(KeyKind::SignalState, 0)
}
fn spk_id(id: u32) -> KeyId {
    KeyId::new(KeyKind::SignalSignedPrekey, id)
}
fn otpk_id(id: u32) -> KeyId {
    KeyId::new(KeyKind::SignalOneTimePrekey, id)
}
fn kyber_id(id: u32) -> KeyId {
    KeyId::new(KeyKind::SignalKyberPrekey, id)
}

fn secret32(bytes: &[u8], key: &KeyId) -> Result<Secret32, Error> {
    Secret32::from_slice(bytes).map_err(|_| Error::tampered(key.to_string()))
}

/// An unused one-time prekey as stored: its prekey id and its loaded record.
struct StoredOneTime {
    id: u32,
    loaded: Loaded<KeyRecord>,
}

/// The shard's loaded Signal material.
struct SignalKeys {
    identity: IdentityKeyPair,
    state: SignalState,
    state_raw: Vec<u8>,
}

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    /// Loads a key record of the shard and opens it.
    async fn load_key(
        &self,
        o: &Origin,
        key_id: &KeyId,
    ) -> Result<Option<(Loaded<KeyRecord>, SecretBytes)>, Error> {
        let kek = self.kek()?;
        let key = layout::key(o, key_id);
        let Some(raw) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let record = KeyRecord::decode(&raw, o.into(), key_id)?;
        let secret = record.open(kek)?;
        Ok(Some((Loaded { key, raw, record }, secret)))
    }

    async fn load_signal(&self, o: &Origin) -> Result<Option<SignalKeys>, Error> {
        let (identity_id, state_id) = (identity_id(), state_id());
        let Some((_, id_secret)) = self.load_key(o, &identity_id).await? else {
            return Ok(None);
        };
        let identity = IdentityKeyPair::from_secret(secret32(id_secret.expose(), &identity_id)?);
        let tampered = || Error::tampered(state_id.to_string());
        let (state, state_json) = self.load_key(o, &state_id).await?.ok_or_else(tampered)?;
        let state_raw = state.raw;
        let state: SignalState =
            serde_json::from_slice(state_json.expose()).map_err(|_| tampered())?;
        Ok(Some(SignalKeys {
            identity,
            state,
            state_raw,
        }))
    }

    fn state_record(&mut self, o: &Origin, state: &SignalState) -> Result<KeyRecord, Error> {
        let kek = self.kek()?.clone();
        let json = format::to_json("signal state", state)?;
        let now = self.clock.now_ms();
        Ok(KeyRecord::seal(
            KeyHeader::new(
                o.into(),
                state_id(),
                KeyKind::SignalState,
                KeyAlg::None,
                Vec::new(),
                now,
            ),
            &json,
            &kek,
            &mut self.rng,
        )?)
    }

    fn signed_prekey_record(
        &mut self,
        o: &Origin,
        identity: &IdentityKeyPair,
        id: u32,
    ) -> Result<KeyRecord, Error> {
        let kek = self.kek()?.clone();
        let now = self.clock.now_ms();
        let spk = SignedPreKey::generate(identity, id, now, &mut self.rng);
        Ok(KeyRecord::seal(
            KeyHeader::new(
                o.into(),
                spk_id(id),
                KeyKind::SignalSignedPrekey,
                KeyAlg::X25519,
                spk.keypair.public_key().serialize().to_vec(),
                now,
            )
            .signed(spk.signature.to_vec()),
            spk.keypair.secret().expose(),
            &kek,
            &mut self.rng,
        )?)
    }

    fn one_time_records(
        &mut self,
        o: &Origin,
        start: u32,
        count: u32,
    ) -> Result<Vec<KeyRecord>, Error> {
        let kek = self.kek()?.clone();
        let now = self.clock.now_ms();
        let batch = OneTimePreKey::generate_batch(start, count, &mut self.rng)
            .map_err(|_| Error::bad_request("prekey ids exhausted"))?;
        batch
            .iter()
            .map(|k| {
                Ok(KeyRecord::seal(
                    KeyHeader::new(
                        o.into(),
                        otpk_id(k.id),
                        KeyKind::SignalOneTimePrekey,
                        KeyAlg::X25519,
                        k.keypair.public_key().serialize().to_vec(),
                        now,
                    ),
                    k.keypair.secret().expose(),
                    &kek,
                    &mut self.rng,
                )?)
            })
            .collect()
    }

    /// Loads the shard's Signal keys, creating identity, signed prekey, Kyber prekey and a
    /// first batch of one-time prekeys on first use.
    async fn ensure_signal(&mut self, o: &Origin) -> Result<SignalKeys, Error> {
        if let Some(l) = self.load_signal(o).await? {
            return Ok(l);
        }
        let kek = self.kek()?.clone();
        let now = self.clock.now_ms();
        let identity = IdentityKeyPair::generate(&mut self.rng);
        let mut reg = [0u8; 2];
        self.rng.fill_bytes(&mut reg);
        // libsignal registration ids are 14-bit and non-zero.
        let registration_id = u32::from(u16::from_be_bytes(reg) & 0x3FFF).max(1);
        let count = self.config.one_time_prekey_high_water.min(MAX_REPLENISH);
        let state = SignalState {
            registration_id,
            device_id: 1,
            next_one_time_id: 1 + count,
            next_signed_id: 2,
            next_kyber_id: 2,
            current_signed_id: 1,
            current_kyber_id: 1,
        };
        let id_rec = KeyRecord::seal(
            KeyHeader::new(
                o.into(),
                identity_id(),
                KeyKind::SignalIdentity,
                KeyAlg::X25519,
                identity.public_key().serialize().to_vec(),
                now,
            ),
            identity.secret().expose(),
            &kek,
            &mut self.rng,
        )?;
        let spk = self.signed_prekey_record(o, &identity, 1)?;
        let kyber =
            KyberPreKey::generate(&identity, KemAlgorithm::Kyber1024, 1, now, &mut self.rng);
        let kyber_rec = KeyRecord::seal(
            KeyHeader::new(
                o.into(),
                kyber_id(1),
                KeyKind::SignalKyberPrekey,
                KeyAlg::Kyber1024,
                kyber.keypair.public_key().serialize(),
                now,
            )
            .signed(kyber.signature.to_vec()),
            kyber.keypair.secret_bytes().expose(),
            &kek,
            &mut self.rng,
        )?;
        let state_rec = self.state_record(o, &state)?;
        let mut tx = Transaction::new();
        tx.check(Check::Absent(layout::key(o, &identity_id())))
            .put(layout::key(o, &identity_id()), id_rec.encode()?)
            .put(layout::key(o, &state_id()), state_rec.encode()?)
            .put(layout::key(o, &spk.header.id), spk.encode()?)
            .put(layout::key(o, &kyber_rec.header.id), kyber_rec.encode()?);
        for r in self.one_time_records(o, 1, count)? {
            tx.put(layout::key(o, &r.header.id), r.encode()?);
        }
        self.commit(
            o,
            tx,
            Op::SignalCreateIdentity,
            Some(identity_id().as_str()),
            Outcome::Ok,
        )
        .await?;
        self.load_signal(o)
            .await?
            .ok_or(InternalError::Invariant("the Signal keys just committed are not found").into())
    }

    /// Loads and opens a prekey record the state names: [`Error::KeyNotFound`] if missing.
    async fn load_prekey(
        &self,
        o: &Origin,
        key_id: &KeyId,
    ) -> Result<(KeyRecord, SecretBytes), Error> {
        let (loaded, secret) =
            self.load_key(o, key_id)
                .await?
                .ok_or_else(|| Error::KeyNotFound {
                    id: key_id.to_string(),
                })?;
        Ok((loaded.record, secret))
    }

    async fn load_signed(
        &self,
        o: &Origin,
        identity: &IdentityKeyPair,
        id: u32,
    ) -> Result<SignedPreKey, Error> {
        let key_id = spk_id(id);
        let (rec, secret) = self.load_prekey(o, &key_id).await?;
        let sig = rec.header.signature.as_deref().unwrap_or_default();
        SignedPreKey::from_secret(
            &identity.public_key(),
            id,
            rec.header.created_ms,
            secret32(secret.expose(), &key_id)?,
            sig,
        )
        .map_err(|_| Error::tampered(key_id.to_string()))
    }

    async fn load_kyber(
        &self,
        o: &Origin,
        identity: &IdentityKeyPair,
        id: u32,
    ) -> Result<KyberPreKey, Error> {
        let key_id = kyber_id(id);
        let (rec, secret) = self.load_prekey(o, &key_id).await?;
        let sig = rec.header.signature.as_deref().unwrap_or_default();
        KyberPreKey::from_secret_bytes(
            &identity.public_key(),
            KemAlgorithm::Kyber1024,
            id,
            rec.header.created_ms,
            secret.expose(),
            sig,
        )
        .map_err(|_| Error::tampered(key_id.to_string()))
    }

    /// Unused one-time prekeys of the shard, sorted by prekey id.
    async fn one_time_prekeys(&self, o: &Origin) -> Result<Vec<StoredOneTime>, Error> {
        let mut out: Vec<_> = self
            .shard_records(o, Some(KeyKind::SignalOneTimePrekey))
            .await?
            .into_iter()
            .filter_map(|loaded| {
                let id = loaded
                    .record
                    .header
                    .id
                    .name(KeyKind::SignalOneTimePrekey)?
                    .parse()
                    .ok()?;
                Some(StoredOneTime { id, loaded })
            })
            .collect();
        out.sort_by_key(|k| k.id);
        Ok(out)
    }

    pub(super) async fn signal_bundle(
        &mut self,
        o: &Origin,
        one_time: bool,
    ) -> Result<SignalBundleResponse, Error> {
        let l = self.ensure_signal(o).await?;
        let signed = self
            .load_signed(o, &l.identity, l.state.current_signed_id)
            .await?;
        let kyber = self
            .load_kyber(o, &l.identity, l.state.current_kyber_id)
            .await?;
        let otpk = if one_time {
            match self.one_time_prekeys(o).await?.into_iter().next() {
                Some(StoredOneTime {
                    id,
                    loaded: Loaded { record: rec, .. },
                }) => {
                    let secret = rec.open(self.kek()?)?;
                    Some(OneTimePreKey::from_secret(
                        id,
                        secret32(secret.expose(), &rec.header.id)?,
                    ))
                }
                None => None,
            }
        } else {
            None
        };
        let bundle = PreKeyBundle::new(
            l.state.registration_id,
            l.state.device_id,
            l.identity.public_key(),
            &signed,
            otpk.as_ref(),
            &kyber,
        );
        Ok(SignalBundleResponse { bundle })
    }

    pub(super) async fn signal_one_time_prekeys(
        &mut self,
        o: &Origin,
    ) -> Result<SignalOneTimePrekeysResponse, Error> {
        self.ensure_signal(o).await?;
        let prekeys = self
            .one_time_prekeys(o)
            .await?
            .into_iter()
            .map(|k| OneTimePrekeyInfo {
                id: k.id,
                public_key: crate::b64::encode(&k.loaded.record.header.public_key),
            })
            .collect();
        Ok(SignalOneTimePrekeysResponse { prekeys })
    }

    pub(super) async fn signal_replenish(
        &mut self,
        o: &Origin,
        target: Option<u32>,
    ) -> Result<SignalReplenishedResponse, Error> {
        let l = self.ensure_signal(o).await?;
        let target = target.unwrap_or(self.config.one_time_prekey_high_water);
        let available = u32::try_from(self.one_time_prekeys(o).await?.len()).unwrap_or(u32::MAX);
        let count = target.saturating_sub(available);
        if count > MAX_REPLENISH {
            return Err(Error::bad_request(format!(
                "target: at most {MAX_REPLENISH} new prekeys per call, asked for {count}"
            )));
        }
        if count == 0 {
            return Ok(SignalReplenishedResponse {
                generated: 0,
                available,
            });
        }
        let start = l.state.next_one_time_id;
        if start.saturating_add(count) > MAX_PREKEY_ID {
            return Err(Error::bad_request("one-time prekey ids exhausted"));
        }
        let mut state = l.state.clone();
        state.next_one_time_id = start + count;
        let state_rec = self.state_record(o, &state)?;
        let mut tx = Transaction::new();
        tx.check(Check::Equals(layout::key(o, &state_id()), l.state_raw))
            .put(layout::key(o, &state_id()), state_rec.encode()?);
        for r in self.one_time_records(o, start, count)? {
            tx.put(layout::key(o, &r.header.id), r.encode()?);
        }
        self.commit(o, tx, Op::SignalReplenish, None, Outcome::Ok)
            .await?;
        Ok(SignalReplenishedResponse {
            generated: count,
            available: available + count,
        })
    }

    pub(super) async fn signal_rotate_signed_prekey(
        &mut self,
        o: &Origin,
    ) -> Result<SignalSignedPrekeyResponse, Error> {
        let l = self.ensure_signal(o).await?;
        let id = l.state.next_signed_id;
        let spk = self.signed_prekey_record(o, &l.identity, id)?;
        let mut state = l.state.clone();
        state.next_signed_id = id + 1;
        state.current_signed_id = id;
        let state_rec = self.state_record(o, &state)?;
        let mut tx = Transaction::new();
        tx.check(Check::Equals(layout::key(o, &state_id()), l.state_raw))
            .put(layout::key(o, &state_id()), state_rec.encode()?)
            .put(layout::key(o, &spk.header.id), spk.encode()?);
        // Keep the previous signed prekey for the grace period; delete older ones past it.
        let cutoff = self
            .clock
            .now_ms()
            .saturating_sub(self.config.signed_prekey_grace_ms);
        let mut deleted = Vec::new();
        for Loaded {
            key,
            raw,
            record: rec,
        } in self
            .shard_records(o, Some(KeyKind::SignalSignedPrekey))
            .await?
        {
            if rec.header.id != spk_id(l.state.current_signed_id) && rec.header.created_ms < cutoff
            {
                let signed_id = rec
                    .header
                    .id
                    .name(KeyKind::SignalSignedPrekey)
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or_else(|| Error::tampered(rec.header.id.to_string()))?;
                deleted.push(signed_id);
                tx.check(Check::Equals(key.clone(), raw)).delete(key);
            }
        }
        self.prune_kyber_uses(&mut tx, o, &deleted).await?;
        self.commit(
            o,
            tx,
            Op::SignalRotateSignedPrekey,
            Some(spk_id(id).as_str()),
            Outcome::Ok,
        )
        .await?;
        Ok(SignalSignedPrekeyResponse { id })
    }

    pub(super) async fn signal_identity(&mut self, o: &Origin) -> Result<IdentityKeyPair, Error> {
        Ok(self.ensure_signal(o).await?.identity)
    }

    pub(super) async fn signal_sign(
        &mut self,
        o: &Origin,
        message: &[u8],
    ) -> Result<SignalSignatureResponse, Error> {
        let l = self.ensure_signal(o).await?;
        let signature = page_signature::sign(&l.identity, &mut self.rng, o.as_str(), message);
        self.commit(
            o,
            Transaction::new(),
            Op::SignalSign,
            Some(identity_id().as_str()),
            Outcome::Ok,
        )
        .await?;
        Ok(SignalSignatureResponse {
            signature: crate::b64::encode(signature),
        })
    }
}
