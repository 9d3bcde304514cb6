//! Typed results of [`super::Kms::handle`]. Public data only: no variant has a field that
//! can hold private key bytes or a key-equivalent (a shared secret, a PRF input or output,
//! a passphrase). The only data a page gets back that it did not send is public keys,
//! signatures, tokens and the plaintexts it asked the enclave to open.

use serde::Serialize;

use super::KeyInfo;
use crate::jwk::{Jwk, Jwks};
use crate::signal::bundle::PreKeyBundle;

/// Public description of an unlock method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MethodInfo {
    /// Method id.
    pub id: String,
    /// `passphrase`, `passkey-prf` or `passkey-gate`.
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"passphrase\" | \"passkey-prf\" | \"passkey-gate\"")
    )]
    pub kind: &'static str,
    /// User-visible label.
    pub label: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// The passkey's credential id (base64url), for passkey methods.
    pub credential_id: Option<String>,
    /// The PRF input (base64url) to evaluate, for PRF methods: given to the enclave's own
    /// UI only, never to a page.
    pub prf_input: Option<String>,
    /// What an attacker must have to recover the KEK from this method.
    pub protection: Protection,
}

/// What stands between a copy of the stored records and the KEK, per unlock method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    /// The passphrase: PBKDF2-SHA256 600 000 iterations per guess.
    Passphrase,
    /// A secret held by the authenticator (the passkey's PRF output), never stored.
    AuthenticatorSecret,
    /// A device key stored in the browser profile: the passkey gate keeps the page out
    /// (it cannot produce the assertion), but someone who copies the profile has the KEK.
    ProfileAtRest,
}

/// A public one-time prekey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OneTimePrekeyInfo {
    /// Prekey id.
    pub id: u32,
    /// Public key, base64url of `0x05 ‖ u`.
    pub public_key: String,
}

/// The result of a successful request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Response {
    /// The request succeeded and has no data to return.
    Done,
    /// Enclave status.
    Status {
        /// An unlock method exists.
        initialized: bool,
        /// The KEK is in memory.
        unlocked: bool,
        /// When the current session ends (passkey gate), ms since the epoch.
        session_expires_ms: Option<u64>,
        /// Failed unlock attempts must wait until this time, ms since the epoch.
        retry_after_ms: Option<u64>,
        /// Until when the enclave's UI may change unlock methods without asking the user
        /// to confirm with a current one (reported to the enclave's UI only).
        fresh_until_ms: Option<u64>,
        /// Configured unlock methods.
        methods: Vec<MethodInfo>,
    },
    /// Setup or unlock succeeded.
    Unlocked {
        /// The method that unlocked.
        method_id: String,
        /// When the session ends, if it is time-limited.
        session_expires_ms: Option<u64>,
    },
    /// A WebAuthn challenge for the enclave page's ceremony.
    Challenge {
        /// Challenge bytes, base64url.
        challenge: String,
        /// Relying-party id to use.
        rp_id: String,
        /// Registered gate credentials (base64url ids) for `allowCredentials`.
        credential_ids: Vec<String>,
        /// When the challenge stops being accepted.
        expires_ms: u64,
    },
    /// A fresh PRF input, base64url.
    PrfInput {
        /// The input to pass as `prf.eval.first`.
        prf_input: String,
    },
    /// Unlock methods.
    Methods {
        /// Methods.
        methods: Vec<MethodInfo>,
    },
    /// A method was added.
    MethodAdded {
        /// The new method.
        method: MethodInfo,
    },
    /// Keys of the caller's shard.
    Keys {
        /// Public data of each key.
        keys: Vec<KeyInfo>,
    },
    /// The shard's VAPID public key.
    VapidPublicKey {
        /// Key id.
        key_id: String,
        /// base64url 65-byte uncompressed P-256 point (`applicationServerKey`).
        application_server_key: String,
    },
    /// A signed VAPID authorization.
    VapidAuthorization {
        /// `Authorization` header value: `vapid t=<jwt>, k=<key>`.
        header: String,
        /// The JWT alone.
        token: String,
        /// Expiry, seconds since the epoch.
        expires_at: u64,
    },
    /// A relay signing key was created.
    RelayKey {
        /// Key id (`kid`).
        kid: String,
        /// Its public JWK.
        jwk: Jwk,
    },
    /// A relay token.
    RelayToken {
        /// Compact JWS.
        token: String,
        /// Token id.
        jti: String,
        /// Expiry, seconds since the epoch.
        expires_at: u64,
    },
    /// The shard's relay public keys.
    Jwks {
        /// `{"keys": [...]}`.
        jwks: Jwks,
    },
    /// A Signal prekey bundle.
    SignalBundle {
        /// The bundle, as libsignal peers expect it.
        bundle: PreKeyBundle,
    },
    /// Unused public one-time prekeys.
    SignalOneTimePrekeys {
        /// The prekeys.
        prekeys: Vec<OneTimePrekeyInfo>,
    },
    /// One-time prekeys were generated.
    SignalReplenished {
        /// How many were generated now.
        generated: u32,
        /// How many unused ones exist now.
        available: u32,
    },
    /// The signed prekey was rotated.
    SignalSignedPrekey {
        /// The new signed prekey id.
        id: u32,
    },
    /// An XEdDSA signature by the identity key over the page-signature message.
    SignalSignature {
        /// 64 bytes, base64url.
        signature: String,
    },
    /// Signed public parts of new one-time envelope prekeys.
    EnvelopePrekeys {
        /// The identity key that signed them (base64url of `0x05 ‖ u`).
        identity_key: String,
        /// The prekeys, ready for upload.
        prekeys: Vec<crate::envelope::SignedPrekey>,
    },
    /// The current epoch key.
    EnvelopeEpochKey {
        /// The identity key that signed it.
        identity_key: String,
        /// The epoch prekey.
        prekey: crate::envelope::SignedPrekey,
    },
    /// An opened envelope (its one-time prekey is shredded).
    EnvelopeOpened {
        /// The prekey it was sealed to.
        kid: String,
        /// The message, base64url: the caller asked for it.
        plaintext: String,
        /// True when a one-time prekey was consumed (false for the epoch key).
        shredded: bool,
    },
    /// The shard's audit log.
    AuditExport {
        /// JSON lines, one entry per line, then the checkpoint line.
        jsonl: String,
        /// Number of entries.
        size: u64,
        /// The audit public key (Ed25519, base64url).
        audit_public_key: String,
        /// Set when the stored log does not extend its signed checkpoint (entries cut or
        /// rewritten): what failed. The export then carries the stored checkpoint, not a
        /// fresh one.
        tampered: Option<String>,
    },
    /// The audit log verified.
    AuditVerified {
        /// Entries in the log.
        size: u64,
        /// Entries covered by the signed checkpoint.
        checkpoint_size: u64,
        /// Head hash, base64url.
        head: String,
    },
}
