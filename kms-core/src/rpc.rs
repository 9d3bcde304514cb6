//! The typed request/response vocabulary of the service — the payload of the enclave's
//! `postMessage` RPC.
//!
//! A request is `{"method": "<name>", "params": {...}}`; a reply carries either a
//! [`crate::service::Response`] or an [`crate::error::Error`]. Byte strings that are
//! identifiers or public keys travel as base64url strings; other byte inputs ([`Bytes`])
//! accept base64url text or raw bytes (a `Uint8Array` in the browser). Secret inputs
//! ([`SecretInput`]) are never echoed, logged or printed.
//!
//! Each method is one row of the table at the end of this file (see [`method`]): its wire
//! name, its params struct ([`params`]), its caller [`policy`] and its result type. The
//! table generates [`Request`], a marker type per method in [`methods`] (for typed native
//! calls) and [`METHODS`].

use core::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::secret::SecretBytes;

pub mod ceremony;
pub mod frame;
pub mod local;
pub mod method;
pub mod params;
pub mod policy;
#[cfg(test)]
mod samples;

pub use method::{Method, MethodSpec};
pub use params::*;

/// Protocol version of this vocabulary.
pub const RPC_VERSION: u32 = 1;

/// What a JSON decode error says, without its position: the text it counts lines and
/// columns in is the enclave's encoding of a frame (or a part of one), never what the
/// caller wrote.
pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&at) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

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

// The method table, one row per method (see `method::methods!`):
//     Variant(ParamsStruct) = "wire.name": Policy -> ResultType, audits [Op, …];
// or, for a method without params, `Variant = "wire.name": Policy -> ResultType, audits […];`.
// `audits` lists every operation the method may record in the audit log (`audit::Op`);
// a method the page may not call records its refusal under the first.
method::methods! {
    /// Does nothing and touches no storage: a liveness check (and the round-trip benchmark).
    Ping = "ping": Page -> (), audits [];
    /// Is the enclave set up, unlocked, rate limited; which unlock methods exist.
    Status = "status": Page -> StatusResponse, audits [];
    /// First use: create the KEK and a passphrase unlock method; leaves the enclave unlocked.
    Setup(SetupParams) = "setup": EnclaveUi -> UnlockedResponse, audits [Setup];
    /// Forget the KEK and every unwrapped key.
    Lock = "lock": Page -> (), audits [Lock];
    /// Unlock with a passphrase.
    UnlockPassphrase(UnlockPassphraseParams) = "unlock.passphrase": EnclaveUi -> UnlockedResponse,
        audits [UnlockPassphrase];
    /// Unlock with a passkey's PRF output (obtained by the enclave page itself).
    UnlockPrf(UnlockPrfParams) = "unlock.prf": EnclaveUi -> UnlockedResponse, audits [UnlockPrf];
    /// A fresh WebAuthn challenge for a gate unlock or a gate registration.
    GateChallenge = "unlock.gateChallenge": EnclaveUi -> ChallengeResponse,
        audits [UnlockGateChallenge];
    /// Unlock with a WebAuthn assertion over the last challenge: opens a 5-minute session.
    UnlockGate(UnlockGateParams) = "unlock.gate": EnclaveUi -> UnlockedResponse,
        audits [UnlockGate];
    /// The configured unlock methods (public data only).
    ListMethods = "methods.list": Page -> MethodsResponse, audits [];
    /// Add another passphrase method (needs the enclave unlocked).
    AddPassphrase(AddPassphraseParams) = "methods.addPassphrase":
        EnclaveUiFresh -> MethodAddedResponse, audits [AddPassphrase];
    /// Replace a passphrase method's passphrase (needs the enclave unlocked).
    ChangePassphrase(ChangePassphraseParams) = "methods.changePassphrase": EnclaveUiFresh -> (),
        audits [ChangePassphrase];
    /// The PRF input to use when registering a new PRF method (the enclave page passes it
    /// to `navigator.credentials.create`/`get`).
    NewPrfInput = "methods.prfInput": EnclaveUiFresh -> PrfInputResponse, audits [NewPrfInput];
    /// Add a passkey-PRF method (needs the enclave unlocked).
    AddPrf(AddPrfParams) = "methods.addPrf": EnclaveUiFresh -> MethodAddedResponse, audits [AddPrf];
    /// Register a passkey-gate method from a WebAuthn registration over the last challenge.
    AddGate(AddGateParams) = "methods.addGate": EnclaveUiFresh -> MethodAddedResponse,
        audits [AddGate];
    /// Remove an unlock method (never the last one).
    RemoveMethod(RemoveMethodParams) = "methods.remove": EnclaveUiFresh -> (),
        audits [RemoveMethod];
    /// Public data of every key in the caller's shard.
    ListKeys = "keys.list": Page -> KeysResponse, audits [];
    /// Delete a key of the caller's shard.
    DeleteKey(DeleteKeyParams) = "keys.delete": Page -> (), audits [DeleteKey];
    /// The shard's VAPID public key (created on first use).
    VapidPublicKey = "vapid.publicKey": Page -> VapidPublicKeyResponse, audits [VapidCreate];
    /// A signed RFC 8292 `Authorization` header value.
    VapidAuthorization(VapidAuthorizationParams) = "vapid.authorization":
        Page -> VapidAuthorizationResponse, audits [VapidCreate, VapidSign];
    /// Replace the shard's VAPID key (subscriptions must be renewed).
    VapidRotate = "vapid.rotate": Page -> VapidPublicKeyResponse, audits [VapidRotate];
    /// Create a relay-token signing key.
    RelayCreateKey(RelayCreateKeyParams) = "relay.createKey": Page -> RelayKeyResponse,
        audits [RelayCreateKey];
    /// Issue a relay authorization token.
    RelayToken(RelayTokenParams) = "relay.token": Page -> RelayTokenResponse, audits [RelaySign];
    /// The shard's relay public keys as a JWKS.
    RelayJwks = "relay.jwks": Page -> JwksResponse, audits [];
    /// The shard's Signal prekey bundle (identity and prekeys are created on first use).
    SignalBundle(SignalBundleParams) = "signal.bundle": Page -> SignalBundleResponse,
        audits [SignalCreateIdentity];
    /// All unused public one-time prekeys, for upload to a server.
    SignalOneTimePrekeys = "signal.oneTimePrekeys": Page -> SignalOneTimePrekeysResponse,
        audits [SignalCreateIdentity];
    /// Generate one-time prekeys until `target` are available (default: the high-water mark).
    SignalReplenish(SignalReplenishParams) = "signal.replenish": Page -> SignalReplenishedResponse,
        audits [SignalCreateIdentity, SignalReplenish];
    /// Rotate the signed prekey; the previous one is kept for a grace period.
    SignalRotateSignedPrekey = "signal.rotateSignedPrekey": Page -> SignalSignedPrekeyResponse,
        audits [SignalCreateIdentity, SignalRotateSignedPrekey];
    /// Sign the page's own data with the identity key (XEdDSA) under the page-signature
    /// domain: the signed bytes are `canonical("kms:page-signature:v1", [origin, message])`
    /// ([`crate::signal::page_signature`]), which no prekey, envelope or token format can
    /// start with, so the signature certifies nothing but "this origin's enclave signed
    /// this message".
    SignalSign(SignalSignParams) = "signal.sign": Page -> SignalSignatureResponse,
        audits [SignalCreateIdentity, SignalSign];
    /// Start a session with a peer device from its prekey bundle (PQXDH initiator); the
    /// first messages are `PreKeySignalMessage`s. The bundle's identity key is trusted on
    /// first use; a key other than the trusted one is refused (`UntrustedIdentity`).
    SignalStartSession(SignalStartSessionParams) = "signal.startSession":
        Page -> SignalSessionStartedResponse, audits [SignalCreateIdentity, SignalStartSession];
    /// Encrypt a message to a peer with the session: the ratchet state stays in the enclave.
    SignalEncrypt(SignalEncryptParams) = "signal.encrypt": Page -> SignalEncryptedResponse,
        audits [SignalEncrypt];
    /// Decrypt a message from a peer; a session's first message starts the session and
    /// shreds the one-time prekey it used, in the same transaction. A message that does not
    /// decrypt changes nothing stored and records nothing.
    SignalDecrypt(SignalDecryptParams) = "signal.decrypt": Page -> SignalDecryptedResponse,
        audits [SignalDecrypt];
    /// The shard's sessions (addresses and public data only).
    SignalSessions = "signal.sessions": Page -> SignalSessionsResponse, audits [];
    /// Delete the sessions with an address (the trusted identity key stays).
    SignalDeleteSession(SignalDeleteSessionParams) = "signal.deleteSession": Page -> (),
        audits [SignalDeleteSession];
    /// The identity key trusted for an address.
    SignalIdentity(SignalIdentityParams) = "signal.identity": Page -> SignalIdentityResponse,
        audits [];
    /// Trust an identity key for an address (a changed key, or one the user verified): an
    /// authority decision, made by the user in the enclave's UI.
    SignalTrust(SignalTrustParams) = "signal.trust": EnclaveUi -> SignalIdentityResponse,
        audits [SignalTrust];
    /// The safety number of our identity key and the one trusted for an address.
    SignalSafetyNumber(SignalSafetyNumberParams) = "signal.safetyNumber":
        Page -> SignalSafetyNumberResponse, audits [SignalCreateIdentity];
    /// Generate one-time envelope prekeys signed by the identity key; returns their public
    /// parts for upload to a vending service.
    EnvelopePrekeys(EnvelopePrekeysParams) = "envelope.prekeys": Page -> EnvelopePrekeysResponse,
        audits [SignalCreateIdentity, EnvelopePrekeys];
    /// The shard's epoch key (Tier 2 fallback), created on first use or when `rotate` is set.
    EnvelopeEpochKey(EnvelopeEpochKeyParams) = "envelope.epochKey":
        Page -> EnvelopeEpochKeyResponse, audits [SignalCreateIdentity, EnvelopeEpochKey];
    /// Open an envelope sealed to one of the shard's prekeys; a one-time prekey is shredded.
    EnvelopeOpen(EnvelopeOpenParams) = "envelope.open": Page -> EnvelopeOpenedResponse,
        audits [EnvelopeOpen];
    /// The shard's audit log as JSON lines with a fresh signed checkpoint.
    AuditExport = "audit.export": Page -> AuditExportResponse, audits [];
    /// Verify the shard's audit log against its stored checkpoint.
    AuditVerify = "audit.verify": Page -> AuditVerifiedResponse, audits [];
}
