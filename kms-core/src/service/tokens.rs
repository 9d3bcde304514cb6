//! VAPID keys and relay-token signing keys of a shard.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use super::layout;
use super::records::{KeyHeader, KeyKind, KeyRecord, Loaded};
use super::{
    JwksResponse, Kms, RelayKeyResponse, RelayTokenResponse, VapidAuthorizationResponse,
    VapidPublicKeyResponse,
};
use crate::audit::{Op, Outcome};
use crate::clock::Clock;
use crate::device::DeviceKey;
use crate::error::{Error, InternalError};
use crate::ids::KeyId;
use crate::jwk::{Jwk, Jwks};
use crate::jws::Signer;
use crate::jws::{JwsAlg, PublicKey, SigningKey};
use crate::kdf::Pbkdf2Provider;
use crate::origin::Origin;
use crate::relay_token::{self, RelayTokenRequest, UnsignedToken};
use crate::rpc::RelayAlg;
use crate::secret::Secret32;
use crate::store::{Check, Store, Transaction};
use crate::vapid::{UnsignedAuthorization, VapidClaims};

/// A signing key opened from its record, with the record as read.
struct CachedKey<K> {
    loaded: Loaded<KeyRecord>,
    key: K,
}

/// The signing keys opened during a session, so that a signature needs no read
/// transaction and no key derivation: the shards' current VAPID keys and the relay keys
/// used so far. Dropped with the session (the keys zeroize on drop), and per shard after
/// any commit that writes the shard's VAPID or relay keys or loses a race.
///
/// A cached key is only a hint. Each use commits its audit entry with a check that the
/// record is still exactly as read, and at the next `seq` of the shard's log, which every
/// change of a key also appends to: a key that another instance rotated or deleted
/// meanwhile loses the commit (`Conflict`), and the retry reads afresh.
pub(super) struct SigningCache<K> {
    /// By shard: the newest VAPID key.
    vapid: BTreeMap<String, CachedKey<K>>,
    /// By store key.
    relay: BTreeMap<String, CachedKey<K>>,
}

impl<K> Default for SigningCache<K> {
    fn default() -> Self {
        Self {
            vapid: BTreeMap::new(),
            relay: BTreeMap::new(),
        }
    }
}

impl<K> SigningCache<K> {
    fn forget_shard(&mut self, shard: &Origin) {
        self.vapid.remove(shard.as_str());
        let prefix = layout::shard_keys(shard);
        self.relay.retain(|key, _| !key.starts_with(&prefix));
    }
}

impl<S: Store, C: Clock, R: CryptoRng, P: Pbkdf2Provider, D: DeviceKey, E: Signer>
    Kms<S, C, R, P, D, E>
{
    fn new_key_record(
        &mut self,
        o: &Origin,
        id: KeyId,
        kind: KeyKind,
        key: &SigningKey,
    ) -> Result<KeyRecord, Error> {
        let kek = self.kek()?.clone();
        let header = KeyHeader::new(
            o.into(),
            id,
            kind,
            key.alg().into(),
            key.public_key().to_bytes(),
            self.clock.now_ms(),
        );
        Ok(KeyRecord::seal(
            header,
            key.secret().expose(),
            &kek,
            &mut self.rng,
        )?)
    }

    fn open_signing_key(&self, rec: &KeyRecord) -> Result<SigningKey, Error> {
        let what = || Error::tampered(format!("key record {}", rec.header.id));
        let alg = rec.header.alg.jws().ok_or_else(what)?;
        let secret = rec.open(self.kek()?)?;
        let key = SigningKey::from_secret(
            alg,
            &Secret32::from_slice(secret.expose()).map_err(|_| what())?,
        )
        .map_err(|_| what())?;
        if key.public_key().to_bytes() != rec.header.public_key {
            return Err(what());
        }
        Ok(key)
    }

    /// The shard's current VAPID record, if any (newest first if several).
    async fn vapid_record(&self, o: &Origin) -> Result<Option<Loaded<KeyRecord>>, Error> {
        let mut all = self.shard_records(o, Some(KeyKind::Vapid)).await?;
        all.sort_by_key(|Loaded { record: r, .. }| r.header.created_ms);
        Ok(all.pop())
    }

    async fn create_vapid(
        &mut self,
        o: &Origin,
        replace: Option<(String, Vec<u8>)>,
        op: Op,
    ) -> Result<Loaded<KeyRecord>, Error> {
        let key = SigningKey::generate(JwsAlg::ES256, &mut self.rng);
        let mut name = [0u8; 6];
        self.rng.fill_bytes(&mut name);
        let id = KeyId::new(KeyKind::Vapid, crate::b64::encode(name));
        let rec = self.new_key_record(o, id.clone(), KeyKind::Vapid, &key)?;
        let mut tx = Transaction::new();
        match replace {
            Some((k, raw)) => {
                tx.check(Check::Equals(k.clone(), raw)).delete(k);
            }
            None => {
                // Two tabs creating the first key at once: the loser retries and finds it.
                tx.check(Check::Absent(format!(
                    "{}vapid-lock",
                    layout::shard_keys(o)
                )));
            }
        }
        let (key, raw) = (layout::key(o, &id), rec.encode()?);
        tx.put(key.clone(), raw.clone());
        self.commit(o, tx, op, Some(id.as_str()), Outcome::Ok)
            .await?;
        Ok(Loaded {
            key,
            raw,
            record: rec,
        })
    }

    /// Drops the session's cached signing keys of `shard`.
    pub(super) fn forget_signing_keys(&mut self, shard: &Origin) {
        if let Some(session) = self.session.as_mut() {
            session.signing.forget_shard(shard);
        }
    }

    /// The session's signing-key cache, or [`Error::Locked`].
    fn signing_cache(&mut self) -> Result<&mut SigningCache<E::Key>, Error> {
        self.session
            .as_mut()
            .map(|s| &mut s.signing)
            .ok_or(Error::Locked)
    }

    /// Puts the shard's current VAPID key in the session's cache, opening its record (or
    /// creating it, on first use) unless it is there already.
    async fn cache_vapid_key(&mut self, o: &Origin) -> Result<(), Error> {
        if self.signing_cache()?.vapid.contains_key(o.as_str()) {
            return Ok(());
        }
        let loaded = match self.vapid_record(o).await? {
            Some(loaded) => loaded,
            None => self.create_vapid(o, None, Op::VapidCreate).await?,
        };
        let key = self.open_signing_key(&loaded.record)?;
        if key.alg() != JwsAlg::ES256 {
            return Err(
                InternalError::Invariant("a VAPID record holds a key of another kind").into(),
            );
        }
        let key = self
            .signer
            .import(&key)
            .await
            .map_err(InternalError::Signer)?;
        self.signing_cache()?
            .vapid
            .insert(o.as_str().to_owned(), CachedKey { loaded, key });
        Ok(())
    }

    pub(super) async fn vapid_public_key(
        &mut self,
        o: &Origin,
    ) -> Result<VapidPublicKeyResponse, Error> {
        let rec = match self.vapid_record(o).await? {
            Some(Loaded { record: rec, .. }) => rec,
            None => self.create_vapid(o, None, Op::VapidCreate).await?.record,
        };
        Ok(VapidPublicKeyResponse {
            key_id: rec.header.id.clone(),
            application_server_key: crate::b64::encode(&rec.header.public_key),
        })
    }

    pub(super) async fn vapid_authorization(
        &mut self,
        o: &Origin,
        aud: &str,
        sub: Option<&str>,
        exp: Option<u64>,
    ) -> Result<VapidAuthorizationResponse, Error> {
        self.cache_vapid_key(o).await?;
        let claims = VapidClaims {
            aud: aud.into(),
            sub: sub.map(str::to_owned),
            exp,
        };
        let unsigned =
            UnsignedAuthorization::new(&claims, self.clock.now_secs()).map_err(|e| match e {
                crate::vapid::VapidError::Encode(e) => e.into(),
                e => Error::bad_request(e.to_string()),
            })?;
        let cached = self
            .session
            .as_ref()
            .and_then(|s| s.signing.vapid.get(o.as_str()))
            .ok_or(Error::Locked)?;
        let signature = self
            .signer
            .sign(&cached.key, unsigned.signing_input())
            .await
            .map_err(InternalError::Signer)?;
        let public_key = crate::b64::encode(&cached.loaded.record.header.public_key);
        let auth = unsigned.finish(&signature, &public_key);
        // The signature stands only if the key is still the shard's as read.
        let id = cached.loaded.record.header.id.clone();
        let mut tx = Transaction::new();
        tx.check(cached.loaded.unchanged());
        self.commit(o, tx, Op::VapidSign, Some(id.as_str()), Outcome::Ok)
            .await?;
        Ok(VapidAuthorizationResponse {
            header: auth.header,
            token: auth.token,
            expires_at: auth.expires_at,
        })
    }

    pub(super) async fn vapid_rotate(
        &mut self,
        o: &Origin,
    ) -> Result<VapidPublicKeyResponse, Error> {
        let old = self
            .vapid_record(o)
            .await?
            .map(|Loaded { key, raw, .. }| (key, raw));
        let rec = self.create_vapid(o, old, Op::VapidRotate).await?.record;
        Ok(VapidPublicKeyResponse {
            key_id: rec.header.id.clone(),
            application_server_key: crate::b64::encode(&rec.header.public_key),
        })
    }

    pub(super) async fn relay_create_key(
        &mut self,
        o: &Origin,
        alg: RelayAlg,
    ) -> Result<RelayKeyResponse, Error> {
        let alg = match alg {
            RelayAlg::ES256 => JwsAlg::ES256,
            RelayAlg::EdDSA => JwsAlg::EdDSA,
        };
        let key = SigningKey::generate(alg, &mut self.rng);
        let kid = Jwk::from_public_key(&key.public_key(), None).thumbprint();
        let id = KeyId::new(KeyKind::Relay, &kid);
        let rec = self.new_key_record(o, id.clone(), KeyKind::Relay, &key)?;
        let mut tx = Transaction::new();
        tx.check(Check::Absent(layout::key(o, &id)))
            .put(layout::key(o, &id), rec.encode()?);
        self.commit(o, tx, Op::RelayCreateKey, Some(id.as_str()), Outcome::Ok)
            .await?;
        let jwk = Jwk::from_public_key(&key.public_key(), Some(&kid));
        Ok(RelayKeyResponse { kid, jwk })
    }

    pub(super) async fn relay_token(
        &mut self,
        o: &Origin,
        kid: &str,
        aud: &str,
        iss: &str,
        scope: Option<&[String]>,
        ttl_secs: Option<u64>,
    ) -> Result<RelayTokenResponse, Error> {
        let id = KeyId::new(KeyKind::Relay, kid);
        let store_key = layout::key(o, &id);
        if !self.signing_cache()?.relay.contains_key(&store_key) {
            let raw = self
                .store
                .get(&store_key)
                .await?
                .ok_or_else(|| Error::KeyNotFound { id: kid.into() })?;
            let record = KeyRecord::decode(&raw, o.into(), &id)?;
            let key = self.open_signing_key(&record)?;
            let key = self
                .signer
                .import(&key)
                .await
                .map_err(InternalError::Signer)?;
            let loaded = Loaded {
                key: store_key.clone(),
                raw,
                record,
            };
            self.signing_cache()?
                .relay
                .insert(store_key.clone(), CachedKey { loaded, key });
        }
        let now = self.clock.now_secs();
        let cached = self
            .session
            .as_ref()
            .and_then(|s| s.signing.relay.get(&store_key))
            .ok_or(Error::Locked)?;
        let alg = cached.loaded.record.header.alg.jws().ok_or_else(|| {
            Error::tampered(format!("key record {}", cached.loaded.record.header.id))
        })?;
        let unsigned = UnsignedToken::new(
            alg,
            kid,
            &RelayTokenRequest {
                iss: iss.into(),
                aud: aud.into(),
                scope: scope.map(<[String]>::to_vec),
                ttl_secs,
            },
            now,
            &mut self.rng,
        )
        .map_err(|e| match e {
            relay_token::RelayTokenError::Encode(e) => e.into(),
            e => Error::bad_request(e.to_string()),
        })?;
        let signature = self
            .signer
            .sign(&cached.key, unsigned.signing_input())
            .await
            .map_err(InternalError::Signer)?;
        let issued = unsigned.finish(&signature);
        let mut tx = Transaction::new();
        tx.check(cached.loaded.unchanged());
        self.commit(o, tx, Op::RelaySign, Some(id.as_str()), Outcome::Ok)
            .await?;
        Ok(RelayTokenResponse {
            token: issued.token,
            jti: issued.jti,
            expires_at: issued.expires_at,
        })
    }

    pub(super) async fn relay_jwks(&self, o: &Origin) -> Result<JwksResponse, Error> {
        let mut jwks = Jwks::default();
        for Loaded { record: rec, .. } in self.shard_records(o, Some(KeyKind::Relay)).await? {
            let alg = rec
                .header
                .alg
                .jws()
                .ok_or_else(|| Error::tampered(rec.header.id.to_string()))?;
            let pk = PublicKey::from_bytes(alg, &rec.header.public_key)
                .map_err(|_| Error::tampered(rec.header.id.to_string()))?;
            let kid = rec.header.id.name(KeyKind::Relay).unwrap_or_default();
            jwks.keys.push(Jwk::from_public_key(&pk, Some(kid)));
        }
        Ok(JwksResponse { jwks })
    }
}
