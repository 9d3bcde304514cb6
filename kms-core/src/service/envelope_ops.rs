//! Envelope prekeys of a shard: generating signed one-time prekeys and epoch keys, and opening
//! envelopes sealed to them, shredding a one-time prekey in the same transaction as the audit
//! entry that records its use.
//!
//! When an envelope fails to open (wrong key, modified bytes), the prekey is kept and the
//! attempt is audited as denied: anyone can address an envelope to a vended `kid`, so
//! shredding on failure would let a stranger destroy the key a genuine sender used. A
//! one-time key is shredded only by an envelope that authenticates under it.

use rand_core::CryptoRng;

use super::layout;
use super::records::{KeyHeader, KeyKind, KeyRecord, Loaded};
use super::{EnvelopeEpochKeyResponse, EnvelopeOpenedResponse, EnvelopePrekeysResponse, Kms};
use crate::audit::{Op, Outcome};
use crate::clock::Clock;
use crate::device::DeviceKey;
use crate::envelope::{self, Envelope, EnvelopeFormat, PrekeySecret, PrekeyUse, SignedPrekey};
use crate::error::{Error, InternalError};
use crate::ids::KeyId;
use crate::jws::Signer;
use crate::kdf::Pbkdf2Provider;
use crate::origin::Origin;
use crate::signal::identity::{IdentityKeyPair, PublicKey, SERIALIZED_PUBLIC_KEY_LENGTH};
use crate::signal::kem::KemPublicKey;
use crate::store::{Check, Store, Transaction};

/// Most prekeys one `envelope.prekeys` call generates.
pub(super) const MAX_ENVELOPE_PREKEYS: u32 = 1000;

/// Rebuilds the signed public part from a stored record's header.
fn signed_from_record(rec: &KeyRecord, use_: PrekeyUse) -> Result<SignedPrekey, Error> {
    let what = || Error::tampered(format!("key record {}", rec.header.id));
    let kid = rec.header.id.name(rec.header.kind).ok_or_else(what)?;
    let (x, pqc) = rec
        .header
        .public_key
        .split_at_checked(SERIALIZED_PUBLIC_KEY_LENGTH)
        .ok_or_else(what)?;
    let pqc = if pqc.is_empty() {
        None
    } else {
        Some(KemPublicKey::deserialize(pqc).map_err(|_| what())?)
    };
    Ok(SignedPrekey {
        kid: kid.to_owned(),
        use_,
        pub_key: PublicKey::deserialize(x).map_err(|_| what())?,
        pqc_pub_key: pqc,
        sig: rec.header.signature.clone().ok_or_else(what)?,
    })
}

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    /// Generates one prekey, returning its sealed record and signed public part.
    fn new_envelope_prekey(
        &mut self,
        o: &Origin,
        identity: &IdentityKeyPair,
        kind: KeyKind,
        use_: PrekeyUse,
        format: EnvelopeFormat,
    ) -> Result<(KeyRecord, SignedPrekey), Error> {
        let kek = self.kek()?.clone();
        let mut name = [0u8; 16];
        self.rng.fill_bytes(&mut name);
        let kid = crate::b64::encode(name);
        let secret = PrekeySecret::generate(format, &mut self.rng);
        let signed = secret
            .sign_public(identity, &kid, use_, &mut self.rng)
            .map_err(|_| InternalError::Invariant("a new prekey's kid is refused"))?;
        let mut public_key = signed.pub_key.serialize().to_vec();
        if let Some(pqc) = &signed.pqc_pub_key {
            public_key.extend_from_slice(&pqc.serialize());
        }
        let header = KeyHeader::new(
            o.into(),
            KeyId::new(kind, &kid),
            kind,
            format.into(),
            public_key,
            self.clock.now_ms(),
        )
        .signed(signed.sig.clone());
        let rec = KeyRecord::seal(header, secret.to_bytes().expose(), &kek, &mut self.rng)?;
        Ok((rec, signed))
    }

    pub(super) async fn envelope_prekeys(
        &mut self,
        o: &Origin,
        count: u32,
        format: EnvelopeFormat,
    ) -> Result<EnvelopePrekeysResponse, Error> {
        if count == 0 || count > MAX_ENVELOPE_PREKEYS {
            return Err(Error::bad_request(format!(
                "count: expected 1 to {MAX_ENVELOPE_PREKEYS}, got {count}"
            )));
        }
        let identity = self.signal_identity(o).await?;
        let mut tx = Transaction::new();
        let mut prekeys = Vec::new();
        for _ in 0..count {
            let (rec, signed) = self.new_envelope_prekey(
                o,
                &identity,
                KeyKind::EnvelopePrekey,
                PrekeyUse::OneTime,
                format,
            )?;
            let key = layout::key(o, &rec.header.id);
            tx.check(Check::Absent(key.clone())).put(key, rec.encode()?);
            prekeys.push(signed);
        }
        self.commit(o, tx, Op::EnvelopePrekeys, None, Outcome::Ok)
            .await?;
        Ok(EnvelopePrekeysResponse {
            identity_key: crate::b64::encode(identity.public_key().serialize()),
            prekeys,
        })
    }

    pub(super) async fn envelope_epoch_key(
        &mut self,
        o: &Origin,
        format: EnvelopeFormat,
        rotate: bool,
    ) -> Result<EnvelopeEpochKeyResponse, Error> {
        let identity = self.signal_identity(o).await?;
        let mut current = self.shard_records(o, Some(KeyKind::EnvelopeEpoch)).await?;
        current.sort_by_key(|Loaded { record: r, .. }| r.header.created_ms);
        let prekey = match current.pop() {
            Some(Loaded { record: rec, .. }) if !rotate => {
                signed_from_record(&rec, PrekeyUse::Epoch)?
            }
            _ => {
                // Older epoch keys stay until deleted (`keys.delete`), so envelopes sealed to
                // them while the new key propagates still open.
                let (rec, signed) = self.new_envelope_prekey(
                    o,
                    &identity,
                    KeyKind::EnvelopeEpoch,
                    PrekeyUse::Epoch,
                    format,
                )?;
                let key = layout::key(o, &rec.header.id);
                let mut tx = Transaction::new();
                tx.check(Check::Absent(key.clone())).put(key, rec.encode()?);
                self.commit(
                    o,
                    tx,
                    Op::EnvelopeEpochKey,
                    Some(rec.header.id.as_str()),
                    Outcome::Ok,
                )
                .await?;
                signed
            }
        };
        Ok(EnvelopeEpochKeyResponse {
            identity_key: crate::b64::encode(identity.public_key().serialize()),
            prekey,
        })
    }

    pub(super) async fn envelope_open(
        &mut self,
        o: &Origin,
        env: &Envelope,
    ) -> Result<EnvelopeOpenedResponse, Error> {
        let kek = self.kek()?.clone();
        envelope::check(env).map_err(|e| Error::bad_request(format!("envelope: {e}")))?;
        let mut found = None;
        for kind in [KeyKind::EnvelopePrekey, KeyKind::EnvelopeEpoch] {
            let id = KeyId::new(kind, &env.kid);
            if let Some(raw) = self.store.get(&layout::key(o, &id)).await? {
                found = Some((kind, id, raw));
                break;
            }
        }
        let Some((kind, id, raw)) = found else {
            return Err(
                if self
                    .store
                    .get(&layout::tombstone(o, &env.kid))
                    .await?
                    .is_some()
                {
                    Error::KeyConsumed {
                        id: env.kid.clone(),
                    }
                } else {
                    Error::KeyNotFound {
                        id: env.kid.clone(),
                    }
                },
            );
        };
        let rec = KeyRecord::decode(&raw, o.into(), &id)?;
        let secret = rec.open(&kek)?;
        let secret = PrekeySecret::from_bytes(secret.expose())
            .map_err(|_| Error::tampered(format!("key record {id}")))?;
        let plaintext = match envelope::open(env, &env.kid, &secret) {
            Ok(p) => p,
            Err(e) => {
                // The key stays: see the module documentation.
                let err = Error::bad_request(format!("envelope: {e}"));
                return Err(self.deny(o, Op::EnvelopeOpen, Some(id.as_str()), err).await);
            }
        };
        let mut tx = Transaction::new();
        let shredded = kind == KeyKind::EnvelopePrekey;
        if shredded {
            // Consume and shred atomically with the audit entry: a second opener racing for
            // the same key fails this check, retries, and finds the tombstone.
            tx.check(Check::Equals(layout::key(o, &id), raw))
                .delete(layout::key(o, &id))
                .put(
                    layout::tombstone(o, &env.kid),
                    self.clock.now_ms().to_be_bytes().to_vec(),
                );
        }
        self.commit(o, tx, Op::EnvelopeOpen, Some(id.as_str()), Outcome::Ok)
            .await?;
        Ok(EnvelopeOpenedResponse {
            kid: env.kid.clone(),
            plaintext: crate::b64::encode(plaintext.expose()),
            shredded,
        })
    }
}
