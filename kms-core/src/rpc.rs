//! The typed request/response vocabulary of the service — the payload of the enclave's
//! `postMessage` RPC.
//!
//! A request is `{"method": "<name>", "params": {...}}`; a reply carries either a
//! [`Response`] or an [`crate::error::Error`]. Byte strings that are identifiers or public keys
//! travel as base64url strings; other byte inputs ([`Bytes`]) accept base64url text or raw
//! bytes (a `Uint8Array` in the browser). Secret inputs ([`SecretInput`]) are never echoed,
//! logged or printed.

use core::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::secret::SecretBytes;

pub mod ceremony;
pub mod frame;
pub mod policy;

/// Protocol version of this vocabulary.
pub const RPC_VERSION: u32 = 1;

/// Non-secret bytes in a request or response.
#[derive(Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "Uint8Array | string"))]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({})", crate::b64::encode(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BytesVisitor).map(Bytes)
    }
}

/// Accepts base64url text, a byte string, or a sequence of byte values.
struct BytesVisitor;

/// Largest byte input accepted in one field.
pub const MAX_BYTES: usize = 64 * 1024;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes as base64url text or a byte array")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        if v.len() > MAX_BYTES * 4 / 3 + 4 {
            return Err(E::custom("byte string too long"));
        }
        crate::b64::decode(v).map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        if v.len() > MAX_BYTES {
            return Err(E::custom("byte string too long"));
        }
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        self.visit_bytes(&v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            if out.len() >= MAX_BYTES {
                return Err(de::Error::custom("byte string too long"));
            }
            out.push(b);
        }
        Ok(out)
    }
}

/// A secret in a request (a passphrase, a PRF output): deserialized straight into a
/// zeroizing buffer; no `Serialize`, redacted `Debug`.
#[derive(Clone, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "string | Uint8Array"))]
pub struct SecretInput(pub SecretBytes);

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretInput(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for SecretInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a passphrase string or secret bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretBytes, E> {
                Ok(SecretBytes::new(v.as_bytes().to_vec()))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<SecretBytes, E> {
                Ok(SecretBytes::new(v.to_vec()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SecretBytes, A::Error> {
                BytesVisitor.visit_seq(seq).map(SecretBytes::new)
            }
        }
        let s = d.deserialize_any(V)?;
        if s.len() > MAX_BYTES {
            return Err(de::Error::custom("secret input too long"));
        }
        Ok(SecretInput(s))
    }
}

impl From<&str> for SecretInput {
    fn from(s: &str) -> Self {
        Self(SecretBytes::from(s))
    }
}

/// Signature algorithm of a relay-token signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RelayAlg {
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

/// A request to the service. The caller's origin travels beside it, never inside it.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(tag = "method", content = "params", deny_unknown_fields)]
#[non_exhaustive]
pub enum Request {
    /// Does nothing and touches no storage: a liveness check (and the round-trip benchmark).
    #[serde(rename = "ping")]
    Ping,
    /// Is the enclave set up, unlocked, rate limited; which unlock methods exist.
    #[serde(rename = "status")]
    Status,
    /// First use: create the KEK and a passphrase unlock method; leaves the enclave unlocked.
    #[serde(rename = "setup", rename_all = "camelCase")]
    Setup {
        /// The passphrase (at least 8 bytes).
        passphrase: SecretInput,
    },
    /// Forget the KEK and every unwrapped key.
    #[serde(rename = "lock")]
    Lock,
    /// Unlock with a passphrase.
    #[serde(rename = "unlock.passphrase", rename_all = "camelCase")]
    UnlockPassphrase {
        /// The passphrase.
        passphrase: SecretInput,
    },
    /// Unlock with a passkey's PRF output (obtained by the enclave page itself).
    #[serde(rename = "unlock.prf", rename_all = "camelCase")]
    UnlockPrf {
        /// Credential id of the passkey.
        credential_id: Bytes,
        /// PRF output for the method's `prfInput`.
        prf_output: SecretInput,
    },
    /// A fresh WebAuthn challenge for a gate unlock or a gate registration.
    #[serde(rename = "unlock.gateChallenge")]
    GateChallenge,
    /// Unlock with a WebAuthn assertion over the last challenge: opens a 5-minute session.
    #[serde(rename = "unlock.gate", rename_all = "camelCase")]
    UnlockGate {
        /// Credential id.
        credential_id: Bytes,
        /// `authenticatorData`.
        authenticator_data: Bytes,
        /// `clientDataJSON`.
        client_data_json: Bytes,
        /// Assertion signature.
        signature: Bytes,
    },
    /// The configured unlock methods (public data only).
    #[serde(rename = "methods.list")]
    ListMethods,
    /// Add another passphrase method (needs the enclave unlocked).
    #[serde(rename = "methods.addPassphrase", rename_all = "camelCase")]
    AddPassphrase {
        /// The new passphrase.
        passphrase: SecretInput,
        /// Optional label.
        label: Option<String>,
    },
    /// Replace a passphrase method's passphrase (needs the enclave unlocked).
    #[serde(rename = "methods.changePassphrase", rename_all = "camelCase")]
    ChangePassphrase {
        /// The method to change.
        method_id: String,
        /// The new passphrase.
        passphrase: SecretInput,
    },
    /// The PRF input to use when registering a new PRF method (the enclave page passes it
    /// to `navigator.credentials.create`/`get`).
    #[serde(rename = "methods.prfInput")]
    NewPrfInput,
    /// Add a passkey-PRF method (needs the enclave unlocked).
    #[serde(rename = "methods.addPrf", rename_all = "camelCase")]
    AddPrf {
        /// Credential id of the passkey.
        credential_id: Bytes,
        /// The PRF input that produced `prf_output` (from `methods.prfInput`).
        prf_input: Bytes,
        /// PRF output.
        prf_output: SecretInput,
        /// Optional label.
        label: Option<String>,
    },
    /// Register a passkey-gate method from a WebAuthn registration over the last challenge.
    #[serde(rename = "methods.addGate", rename_all = "camelCase")]
    AddGate {
        /// `attestationObject`.
        attestation_object: Bytes,
        /// `clientDataJSON`.
        client_data_json: Bytes,
        /// Optional label.
        label: Option<String>,
    },
    /// Remove an unlock method (never the last one).
    #[serde(rename = "methods.remove", rename_all = "camelCase")]
    RemoveMethod {
        /// The method id.
        method_id: String,
    },
    /// Public data of every key in the caller's shard.
    #[serde(rename = "keys.list")]
    ListKeys,
    /// Delete a key of the caller's shard.
    #[serde(rename = "keys.delete", rename_all = "camelCase")]
    DeleteKey {
        /// The key id.
        key_id: String,
    },
    /// The shard's VAPID public key (created on first use).
    #[serde(rename = "vapid.publicKey")]
    VapidPublicKey,
    /// A signed RFC 8292 `Authorization` header value.
    #[serde(rename = "vapid.authorization", rename_all = "camelCase")]
    VapidAuthorization {
        /// Push service origin (https).
        aud: String,
        /// Contact (`mailto:` or `https:`).
        sub: Option<String>,
        /// Expiry (seconds since the epoch); at most 24 h ahead, default 12 h.
        exp: Option<u64>,
    },
    /// Replace the shard's VAPID key (subscriptions must be renewed).
    #[serde(rename = "vapid.rotate")]
    VapidRotate,
    /// Create a relay-token signing key.
    #[serde(rename = "relay.createKey", rename_all = "camelCase")]
    RelayCreateKey {
        /// Algorithm.
        alg: RelayAlg,
    },
    /// Issue a relay authorization token.
    #[serde(rename = "relay.token", rename_all = "camelCase")]
    RelayToken {
        /// Signing key id (`kid`).
        kid: String,
        /// Audience: the relay's identifier.
        aud: String,
        /// Issuer; defaults to the caller's origin.
        iss: Option<String>,
        /// Optional scopes.
        scope: Option<Vec<String>>,
        /// Lifetime in seconds (default 300, at most 3600).
        ttl_secs: Option<u64>,
    },
    /// The shard's relay public keys as a JWKS.
    #[serde(rename = "relay.jwks")]
    RelayJwks,
    /// The shard's Signal prekey bundle (identity and prekeys are created on first use).
    #[serde(rename = "signal.bundle", rename_all = "camelCase")]
    SignalBundle {
        /// Include a one-time prekey (the first unused one) if any is left.
        one_time: Option<bool>,
    },
    /// All unused public one-time prekeys, for upload to a server.
    #[serde(rename = "signal.oneTimePrekeys")]
    SignalOneTimePrekeys,
    /// Generate one-time prekeys until `target` are available (default: the high-water mark).
    #[serde(rename = "signal.replenish", rename_all = "camelCase")]
    SignalReplenish {
        /// Desired number of unused one-time prekeys.
        target: Option<u32>,
    },
    /// Rotate the signed prekey; the previous one is kept for a grace period.
    #[serde(rename = "signal.rotateSignedPrekey")]
    SignalRotateSignedPrekey,
    /// Sign the page's own data with the identity key (XEdDSA) under the page-signature
    /// domain: the signed bytes are `canonical("kms:page-signature:v1", [origin, message])`
    /// ([`crate::signal::page_signature`]), which no prekey, envelope or token format can
    /// start with, so the signature certifies nothing but "this origin's enclave signed
    /// this message".
    #[serde(rename = "signal.sign", rename_all = "camelCase")]
    SignalSign {
        /// The page's message.
        message: Bytes,
    },
    /// Generate one-time envelope prekeys signed by the identity key; returns their public
    /// parts for upload to a vending service.
    #[serde(rename = "envelope.prekeys", rename_all = "camelCase")]
    EnvelopePrekeys {
        /// How many (1 to 1000).
        count: u32,
        /// X25519 + ML-KEM-768 (default) or X25519 only.
        hybrid: Option<bool>,
    },
    /// The shard's epoch key (Tier 2 fallback), created on first use or when `rotate` is set.
    #[serde(rename = "envelope.epochKey", rename_all = "camelCase")]
    EnvelopeEpochKey {
        /// For a new key: X25519 + ML-KEM-768 (default) or X25519 only.
        hybrid: Option<bool>,
        /// Create a new epoch key even if one exists.
        rotate: Option<bool>,
    },
    /// Open an envelope sealed to one of the shard's prekeys; a one-time prekey is shredded.
    #[serde(rename = "envelope.open", rename_all = "camelCase")]
    EnvelopeOpen {
        /// The envelope.
        envelope: crate::envelope::Envelope,
    },
    /// The shard's audit log as JSON lines with a fresh signed checkpoint.
    #[serde(rename = "audit.export")]
    AuditExport,
    /// Verify the shard's audit log against its stored checkpoint.
    #[serde(rename = "audit.verify")]
    AuditVerify,
}

impl Request {
    /// The method name as sent on the wire.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Status => "status",
            Self::Setup { .. } => "setup",
            Self::Lock => "lock",
            Self::UnlockPassphrase { .. } => "unlock.passphrase",
            Self::UnlockPrf { .. } => "unlock.prf",
            Self::GateChallenge => "unlock.gateChallenge",
            Self::UnlockGate { .. } => "unlock.gate",
            Self::ListMethods => "methods.list",
            Self::AddPassphrase { .. } => "methods.addPassphrase",
            Self::ChangePassphrase { .. } => "methods.changePassphrase",
            Self::NewPrfInput => "methods.prfInput",
            Self::AddPrf { .. } => "methods.addPrf",
            Self::AddGate { .. } => "methods.addGate",
            Self::RemoveMethod { .. } => "methods.remove",
            Self::ListKeys => "keys.list",
            Self::DeleteKey { .. } => "keys.delete",
            Self::VapidPublicKey => "vapid.publicKey",
            Self::VapidAuthorization { .. } => "vapid.authorization",
            Self::VapidRotate => "vapid.rotate",
            Self::RelayCreateKey { .. } => "relay.createKey",
            Self::RelayToken { .. } => "relay.token",
            Self::RelayJwks => "relay.jwks",
            Self::SignalBundle { .. } => "signal.bundle",
            Self::SignalOneTimePrekeys => "signal.oneTimePrekeys",
            Self::SignalReplenish { .. } => "signal.replenish",
            Self::SignalRotateSignedPrekey => "signal.rotateSignedPrekey",
            Self::SignalSign { .. } => "signal.sign",
            Self::EnvelopePrekeys { .. } => "envelope.prekeys",
            Self::EnvelopeEpochKey { .. } => "envelope.epochKey",
            Self::EnvelopeOpen { .. } => "envelope.open",
            Self::AuditExport => "audit.export",
            Self::AuditVerify => "audit.verify",
        }
    }
}
