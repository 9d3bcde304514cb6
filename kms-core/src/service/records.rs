//! Stored key records: a public header plus the private part sealed under the KEK, with the
//! header bound as associated data.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::envelope::EnvelopeFormat;
use crate::error::Error;
use crate::format::{self, EncodeError, KEY_RECORD_V1};
use crate::ids::KeyId;
use crate::jws::JwsAlg;
use crate::origin::Origin;
use crate::secret::{Secret32, SecretBytes};
use crate::store::Check;
use crate::wrap::{self, Sealed};

/// Associated-data label of a key record.
pub(super) const KEY_AAD_LABEL: &str = "kms:key-record:v1";

/// What a stored key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    /// VAPID (ES256) key of a shard.
    Vapid,
    /// Relay-token signing key (ES256 or EdDSA).
    Relay,
    /// Signal identity key (X25519 + XEdDSA).
    SignalIdentity,
    /// Signal signed prekey (X25519).
    SignalSignedPrekey,
    /// Signal one-time prekey (X25519).
    SignalOneTimePrekey,
    /// Signal Kyber (ML-KEM-1024) prekey.
    SignalKyberPrekey,
    /// Sealed Signal bookkeeping (next ids, registration id).
    SignalState,
    /// The sessions with one peer address (a sealed `SessionRecord`).
    SignalSession,
    /// The identity key trusted for one peer address (public; sealed trust details).
    SignalPeerIdentity,
    /// A base key that started a session with a Kyber prekey (libsignal's
    /// `mark_kyber_pre_key_used`): no key material.
    SignalKyberUse,
    /// The enclave's audit checkpoint key (Ed25519).
    Audit,
    /// One-time envelope prekey (X25519, optionally + ML-KEM-768), shredded when used.
    EnvelopePrekey,
    /// Epoch envelope key: the fallback when one-time prekeys run out.
    EnvelopeEpoch,
}

impl KeyKind {
    /// Whether records of this kind hold a key of the shard (what `keys.list` shows), not
    /// Signal bookkeeping, sessions or trusted peer identities.
    pub fn is_key(self) -> bool {
        !matches!(
            self,
            Self::SignalState
                | Self::SignalSession
                | Self::SignalPeerIdentity
                | Self::SignalKyberUse
        )
    }

    /// The id prefix of keys of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Vapid => "vapid/",
            Self::Relay => "relay/",
            Self::SignalIdentity => "signal-identity/",
            Self::SignalSignedPrekey => "signal-spk/",
            Self::SignalOneTimePrekey => "signal-otpk/",
            Self::SignalKyberPrekey => "signal-kyber/",
            Self::SignalState => "signal-state/",
            Self::SignalSession => "signal-session/",
            Self::SignalPeerIdentity => "signal-peer/",
            Self::SignalKyberUse => "signal-kyber-used/",
            Self::Audit => "audit/",
            Self::EnvelopePrekey => "env-otpk/",
            Self::EnvelopeEpoch => "env-epoch/",
        }
    }
}

/// The algorithm of a stored key, as its record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum KeyAlg {
    /// ECDSA P-256 with SHA-256 (VAPID, relay tokens).
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (relay tokens, the audit key).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// X25519 (Signal identity, signed and one-time prekeys).
    #[serde(rename = "X25519")]
    X25519,
    /// ML-KEM-1024 (Signal Kyber prekeys).
    #[serde(rename = "Kyber1024")]
    Kyber1024,
    /// An envelope prekey of format `x25519-aesgcm-v1`.
    #[serde(rename = "x25519-aesgcm-v1")]
    EnvelopeX25519,
    /// An envelope prekey of format `hybrid-mlkem768-aesgcm-v1`.
    #[serde(rename = "hybrid-mlkem768-aesgcm-v1")]
    EnvelopeHybridMlKem768,
    /// A Signal session record (`SessionRecord::encode`, record version 1).
    #[serde(rename = "signal-session-v1")]
    SignalSessionV1,
    /// No key: sealed bookkeeping (the Signal state record).
    #[serde(rename = "none")]
    None,
}

impl KeyAlg {
    /// The JWS algorithm of a signing key; `None` for keys that do not sign tokens.
    pub fn jws(self) -> Option<JwsAlg> {
        match self {
            Self::Es256 => Some(JwsAlg::ES256),
            Self::EdDsa => Some(JwsAlg::EdDSA),
            _ => None,
        }
    }
}

impl From<JwsAlg> for KeyAlg {
    fn from(alg: JwsAlg) -> Self {
        match alg {
            JwsAlg::ES256 => Self::Es256,
            JwsAlg::EdDSA => Self::EdDsa,
        }
    }
}

impl From<EnvelopeFormat> for KeyAlg {
    fn from(format: EnvelopeFormat) -> Self {
        match format {
            EnvelopeFormat::X25519AesGcmV1 => Self::EnvelopeX25519,
            EnvelopeFormat::HybridMlKem768AesGcmV1 => Self::EnvelopeHybridMlKem768,
        }
    }
}

/// The public, authenticated part of a key record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyHeader {
    /// [`KEY_RECORD_V1`].
    pub format: String,
    /// Key id, unique in its shard: `<kind prefix><name>`.
    pub id: KeyId,
    /// The origin shard that owns the key (`""` for enclave-wide keys).
    pub shard: String,
    /// What the key is for.
    pub kind: KeyKind,
    /// Algorithm of the key.
    pub alg: KeyAlg,
    /// Public key bytes in the key's standard encoding.
    #[serde(with = "crate::b64::serde_bytes")]
    pub public_key: Vec<u8>,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// A signature over the public key by the shard's identity key, where one exists.
    #[serde(
        default,
        with = "crate::b64::serde_opt_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub signature: Option<Vec<u8>>,
}

/// A record as loaded from the store: where it is, the exact bytes read (for the
/// compare-and-swap check of a later commit) and the decoded record.
#[derive(Debug, Clone)]
pub(super) struct Loaded<T> {
    /// The store key.
    pub(super) key: String,
    /// The bytes as read.
    pub(super) raw: Vec<u8>,
    /// The decoded record.
    pub(super) record: T,
}

impl<T> Loaded<T> {
    /// The check that the record is still exactly as read: a commit that replaces or
    /// deletes it carries this, so it loses (and retries) against a concurrent writer.
    pub(super) fn unchanged(&self) -> Check {
        Check::Equals(self.key.clone(), self.raw.clone())
    }
}

/// A stored key: header plus the sealed private part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// Public, authenticated header.
    pub header: KeyHeader,
    /// Private key bytes sealed under the KEK.
    pub wrapped: Sealed,
}

/// Which shard a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShard<'a> {
    /// The shard of an origin: only that origin's requests reach the key.
    Origin(&'a Origin),
    /// The enclave itself (shard `""`), such as the audit key.
    EnclaveWide,
}

impl<'a> From<&'a Origin> for KeyShard<'a> {
    fn from(o: &'a Origin) -> Self {
        Self::Origin(o)
    }
}

impl KeyShard<'_> {
    /// The shard as the record names it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Origin(o) => o.as_str(),
            Self::EnclaveWide => "",
        }
    }
}

impl KeyId {
    /// The id of the key of `kind` named `name`: the kind's prefix, then the name.
    pub fn new(kind: KeyKind, name: impl core::fmt::Display) -> Self {
        Self::from(format!("{}{name}", kind.prefix()))
    }

    /// The name after `kind`'s prefix; `None` if the id is not of that kind.
    pub fn name(&self, kind: KeyKind) -> Option<&str> {
        self.as_str().strip_prefix(kind.prefix())
    }
}

impl KeyHeader {
    /// The header of a new key of `shard` (unsigned: see [`Self::signed`]).
    pub fn new(
        shard: KeyShard<'_>,
        id: KeyId,
        kind: KeyKind,
        alg: KeyAlg,
        public_key: Vec<u8>,
        created_ms: u64,
    ) -> Self {
        Self {
            format: KEY_RECORD_V1.into(),
            id,
            shard: shard.as_str().into(),
            kind,
            alg,
            public_key,
            created_ms,
            signature: None,
        }
    }

    /// With the identity key's signature over the public key.
    pub fn signed(mut self, signature: Vec<u8>) -> Self {
        self.signature = Some(signature);
        self
    }

    fn aad(&self) -> Result<Vec<u8>, EncodeError> {
        let header = format::to_json("key header", self)?;
        Ok(format::canonical(KEY_AAD_LABEL, &[&header]))
    }
}

impl KeyRecord {
    /// Seals `secret` under `kek` with `header` as associated data.
    ///
    /// # Errors
    /// [`EncodeError`] if the header does not encode (nothing is sealed then).
    pub fn seal<R: CryptoRng + ?Sized>(
        header: KeyHeader,
        secret: &[u8],
        kek: &Secret32,
        rng: &mut R,
    ) -> Result<Self, EncodeError> {
        let wrapped = wrap::seal(kek, &header.aad()?, secret, rng);
        Ok(Self { header, wrapped })
    }

    /// Opens the private part.
    ///
    /// # Errors
    /// [`Error::Tampered`] if the record was modified (or sealed under another KEK).
    pub fn open(&self, kek: &Secret32) -> Result<SecretBytes, Error> {
        wrap::open(kek, &self.header.aad()?, &self.wrapped)
            .map_err(|_| Error::tampered(format!("key record {}", self.header.id)))
    }

    /// Encodes for storage.
    ///
    /// # Errors
    /// [`EncodeError`] (never empty bytes).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        format::to_json("key record", self)
    }

    /// Decodes a stored record and checks that it is where it claims to be.
    ///
    /// # Errors
    /// [`Error::Tampered`] for malformed bytes, an unknown format, or a header whose shard or
    /// id does not match the record's location.
    pub fn decode(bytes: &[u8], shard: KeyShard<'_>, key_id: &KeyId) -> Result<Self, Error> {
        let what = || Error::tampered(format!("key record {key_id}"));
        let rec: Self = serde_json::from_slice(bytes).map_err(|_| what())?;
        format::expect_id(&rec.header.format, KEY_RECORD_V1).map_err(|_| what())?;
        if rec.header.shard != shard.as_str()
            || rec.header.id != *key_id
            || rec.header.id.name(rec.header.kind).is_none()
        {
            return Err(what());
        }
        Ok(rec)
    }
}

/// Public description of a key, as `keys.list` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// Key id.
    pub id: KeyId,
    /// Kind.
    pub kind: KeyKind,
    /// Algorithm.
    pub alg: KeyAlg,
    /// Public key, base64url.
    pub public_key: String,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
}

impl From<&KeyHeader> for KeyInfo {
    fn from(h: &KeyHeader) -> Self {
        Self {
            id: h.id.clone(),
            kind: h.kind,
            alg: h.alg,
            public_key: crate::b64::encode(&h.public_key),
            created_ms: h.created_ms,
        }
    }
}
