//! Typed results of [`super::Kms::handle`]. Public data only: no variant has a field that
//! can hold private key bytes or a key-equivalent (a shared secret, a PRF input or output,
//! a passphrase). The only data a page gets back that it did not send is public keys,
//! signatures, tokens and the plaintexts it asked the enclave to open.

use serde::Serialize;

use super::KeyInfo;
use crate::ids::{KeyId, MethodId};
use crate::jwk::{Jwk, Jwks};
use crate::rpc::SignalAddress;
use crate::signal::bundle::PreKeyBundle;

/// Public description of an unlock method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MethodInfo {
    /// Method id.
    pub id: MethodId,
    /// What kind of method.
    pub kind: crate::unlock::MethodKind,
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

/// Enclave status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    /// An unlock method exists.
    pub initialized: bool,
    /// The KEK is in memory.
    pub unlocked: bool,
    /// When the current session ends (passkey gate), ms since the epoch.
    pub session_expires_ms: Option<u64>,
    /// Failed unlock attempts must wait until this time, ms since the epoch.
    pub retry_after_ms: Option<u64>,
    /// Until when the enclave's UI may change unlock methods without asking the user
    /// to confirm with a current one (reported to the enclave's UI only).
    pub fresh_until_ms: Option<u64>,
    /// Configured unlock methods.
    pub methods: Vec<MethodInfo>,
}

/// Setup or unlock succeeded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnlockedResponse {
    /// The method that unlocked.
    pub method_id: MethodId,
    /// When the session ends, if it is time-limited.
    pub session_expires_ms: Option<u64>,
}

/// A WebAuthn challenge for the enclave page's ceremony.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChallengeResponse {
    /// Challenge bytes, base64url.
    pub challenge: String,
    /// Relying-party id to use.
    pub rp_id: String,
    /// Registered gate credentials (base64url ids) for `allowCredentials`.
    pub credential_ids: Vec<String>,
    /// When the challenge stops being accepted.
    pub expires_ms: u64,
}

/// A fresh PRF input, base64url.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PrfInputResponse {
    /// The input to pass as `prf.eval.first`.
    pub prf_input: String,
}

/// Unlock methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MethodsResponse {
    /// Methods.
    pub methods: Vec<MethodInfo>,
}

/// A method was added.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MethodAddedResponse {
    /// The new method.
    pub method: MethodInfo,
}

/// Keys of the caller's shard.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KeysResponse {
    /// Public data of each key.
    pub keys: Vec<KeyInfo>,
}

/// The shard's VAPID public key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct VapidPublicKeyResponse {
    /// Key id.
    pub key_id: KeyId,
    /// base64url 65-byte uncompressed P-256 point (`applicationServerKey`).
    pub application_server_key: String,
}

/// A signed VAPID authorization.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct VapidAuthorizationResponse {
    /// `Authorization` header value: `vapid t=<jwt>, k=<key>`.
    pub header: String,
    /// The JWT alone.
    pub token: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
}

/// A relay signing key was created.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RelayKeyResponse {
    /// Key id (`kid`).
    pub kid: String,
    /// Its public JWK.
    pub jwk: Jwk,
}

/// A relay token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RelayTokenResponse {
    /// Compact JWS.
    pub token: String,
    /// Token id.
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
}

/// The shard's relay public keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct JwksResponse {
    /// `{"keys": [...]}`.
    pub jwks: Jwks,
}

/// A Signal prekey bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalBundleResponse {
    /// The bundle, as libsignal peers expect it.
    pub bundle: PreKeyBundle,
}

/// Unused public one-time prekeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalOneTimePrekeysResponse {
    /// The prekeys.
    pub prekeys: Vec<OneTimePrekeyInfo>,
}

/// One-time prekeys were generated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalReplenishedResponse {
    /// How many were generated now.
    pub generated: u32,
    /// How many unused ones exist now.
    pub available: u32,
}

/// The signed prekey was rotated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalSignedPrekeyResponse {
    /// The new signed prekey id.
    pub id: u32,
}

/// An XEdDSA signature by the identity key over the page-signature message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalSignatureResponse {
    /// 64 bytes, base64url.
    pub signature: String,
}

/// Signed public parts of new one-time envelope prekeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EnvelopePrekeysResponse {
    /// The identity key that signed them (base64url of `0x05 ‖ u`).
    pub identity_key: String,
    /// The prekeys, ready for upload.
    pub prekeys: Vec<crate::envelope::SignedPrekey>,
}

/// The current epoch key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeEpochKeyResponse {
    /// The identity key that signed it.
    pub identity_key: String,
    /// The epoch prekey.
    pub prekey: crate::envelope::SignedPrekey,
}

/// An opened envelope (its one-time prekey is shredded). `Debug` leaves the plaintext out:
/// it is the caller's message, never something to log.
#[derive(Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeOpenedResponse {
    /// The prekey it was sealed to.
    pub kid: String,
    /// The message, base64url: the caller asked for it.
    pub plaintext: String,
    /// True when a one-time prekey was consumed (false for the epoch key).
    pub shredded: bool,
}

impl core::fmt::Debug for EnvelopeOpenedResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EnvelopeOpenedResponse")
            .field("kid", &self.kid)
            .field(
                "plaintext",
                &format_args!("<{} chars redacted>", self.plaintext.len()),
            )
            .field("shredded", &self.shredded)
            .finish()
    }
}

/// What a successful Signal operation recorded about the peer's identity key (libsignal's
/// `IdentityChange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum IdentityChangeInfo {
    /// No key was stored for the address: this one now is, unconfirmed until the user
    /// confirms it in the enclave's UI (`ui.trust`).
    New,
    /// The key is the one stored for the address.
    Unchanged,
}

/// How far the user trusts the identity key stored for an address.
///
/// A page can store a first key for an address (by starting a session from a bundle, or by
/// decrypting a first message), but only the user can trust it: `signal.encrypt` refuses
/// an address whose key is `unconfirmed` (`UntrustedIdentity`), so a session that a
/// compromised page started with its own bundle carries nothing once the page is honest
/// again, unless the user confirmed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum IdentityTrust {
    /// No key is stored, or the stored one was seen first by a page and the user has not
    /// confirmed it: messages from the address decrypt, none are encrypted to it.
    Unconfirmed,
    /// The user confirmed the key in the enclave's UI.
    Confirmed,
    /// The user confirmed the key and said the safety numbers match.
    Verified,
}

/// A session was started from the peer's bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalSessionStartedResponse {
    /// The peer.
    pub address: SignalAddress,
    /// The peer's identity key (base64url of `0x05 ‖ u`).
    pub identity_key: String,
    /// What the identity store recorded.
    pub identity_change: IdentityChangeInfo,
    /// How far the user trusts the key: `unconfirmed` until the user confirms it in the
    /// enclave's UI (`ui.trust`), and encrypting waits for that.
    pub trust: IdentityTrust,
}

/// An encrypted Signal message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalEncryptedResponse {
    /// The serialized message, base64url.
    pub message: String,
    /// libsignal's message type: 3 (`PreKeySignalMessage`) until the peer answers, then 2.
    pub message_type: u8,
}

/// The prekeys a session's first message used (the one-time prekey is shredded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PreKeysUsedInfo {
    /// The one-time prekey, if the message used one.
    pub one_time_pre_key_id: Option<u32>,
    /// The signed prekey.
    pub signed_pre_key_id: u32,
    /// The Kyber prekey.
    pub kyber_pre_key_id: u32,
}

/// A decrypted Signal message. `Debug` leaves the plaintext out.
#[derive(Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalDecryptedResponse {
    /// The message, base64url: the caller asked for it.
    pub plaintext: String,
    /// What the identity store recorded.
    pub identity_change: IdentityChangeInfo,
    /// How far the user trusts the sender's key (replying waits for `confirmed`).
    pub trust: IdentityTrust,
    /// For a message that started a session: the prekeys it used.
    pub pre_keys_used: Option<PreKeysUsedInfo>,
}

impl core::fmt::Debug for SignalDecryptedResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignalDecryptedResponse")
            .field(
                "plaintext",
                &format_args!("<{} chars redacted>", self.plaintext.len()),
            )
            .field("identity_change", &self.identity_change)
            .field("trust", &self.trust)
            .field("pre_keys_used", &self.pre_keys_used)
            .finish()
    }
}

/// Public description of the sessions with one address.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalSessionInfo {
    /// The peer.
    pub address: SignalAddress,
    /// The current session's remote identity key (base64url), if there is a current one.
    pub remote_identity_key: Option<String>,
    /// The current session's remote registration id.
    pub remote_registration_id: Option<u32>,
    /// We started the current session and the peer has not answered yet.
    pub awaiting_reply: bool,
    /// Archived sessions kept for late messages.
    pub archived_sessions: u32,
    /// When the record was first written, ms since the epoch.
    pub created_ms: u64,
}

/// The shard's sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalSessionsResponse {
    /// One entry per address, sorted by name then device id.
    pub sessions: Vec<SignalSessionInfo>,
}

/// The identity key stored for an address, and how far the user trusts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalIdentityResponse {
    /// The peer.
    pub address: SignalAddress,
    /// The stored identity key (base64url of `0x05 ‖ u`); none before first contact.
    pub identity_key: Option<String>,
    /// How far the user trusts it.
    pub trust: IdentityTrust,
    /// When the key was first stored, or last set by the user, ms since the epoch.
    pub trusted_ms: Option<u64>,
}

/// A safety number (libsignal's fingerprint).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignalSafetyNumberResponse {
    /// The 60 digits both users see.
    pub safety_number: String,
    /// Our QR code's bytes (libsignal `ScannableFingerprint`), base64url.
    pub scannable: String,
    /// The fingerprint version: 2 when both names are ACI UUIDs, else 1.
    pub version: u32,
}

/// The shard's audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuditExportResponse {
    /// JSON lines, one entry per line, then the checkpoint line.
    pub jsonl: String,
    /// Number of entries.
    pub size: u64,
    /// The audit public key (Ed25519, base64url).
    pub audit_public_key: String,
    /// Set when the stored log does not extend its signed checkpoint (entries cut or
    /// rewritten): what failed. The export then carries the stored checkpoint, not a
    /// fresh one.
    pub tampered: Option<String>,
}

/// The audit log verified.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuditVerifiedResponse {
    /// Entries in the log.
    pub size: u64,
    /// Entries covered by the signed checkpoint.
    pub checkpoint_size: u64,
    /// Head hash, base64url.
    pub head: String,
}

/// Declares [`Response`] from one row per variant, `Variant(Payload) = "tag";` (`Variant =
/// "tag";` for the one without data), with the [`Payload`] impl of each payload: the tag
/// is written once, so the reply's `type` and [`Payload::TYPE`] cannot disagree.
macro_rules! responses {
    (@payload $variant:ident $tag:literal) => {
        impl Payload for () {
            const TYPE: &'static str = $tag;
            fn from_response(response: Response) -> Result<Self, UnexpectedReply> {
                match response {
                    Response::$variant => Ok(()),
                    other => Err(UnexpectedReply::new::<Self>(&other)),
                }
            }
            fn into_response(self) -> Response {
                Response::$variant
            }
        }
    };
    (@payload $variant:ident $tag:literal $payload:ident) => {
        impl Payload for $payload {
            const TYPE: &'static str = $tag;
            fn from_response(response: Response) -> Result<Self, UnexpectedReply> {
                match response {
                    Response::$variant(data) => Ok(data),
                    other => Err(UnexpectedReply::new::<Self>(&other)),
                }
            }
            fn into_response(self) -> Response {
                Response::$variant(self)
            }
        }
    };
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $(($payload:ident))? = $tag:literal;
    )*) => {
        /// The result of a successful request: `{"type": "<tag>", ...the payload's fields}`.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(tag = "type")]
        #[non_exhaustive]
        pub enum Response {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $tag)]
                $variant $(($payload))?,
            )*
        }

        impl Response {
            /// The reply's `type` tag.
            pub fn type_tag(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $tag,)*
                }
            }
        }

        $(responses!(@payload $variant $tag $($payload)?);)*
    };
}

/// The data of one [`Response`] variant: what a method returns
/// ([`crate::rpc::Method::Output`]).
pub trait Payload: Sized {
    /// The `type` tag of the reply that carries it.
    const TYPE: &'static str;

    /// The data out of `response`.
    ///
    /// # Errors
    /// [`UnexpectedReply`] when `response` is another variant.
    fn from_response(response: Response) -> Result<Self, UnexpectedReply>;

    /// The reply that carries it.
    fn into_response(self) -> Response;
}

/// A reply of another type than the one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected a `{expected}` reply, got `{got}`")]
pub struct UnexpectedReply {
    /// The `type` asked for.
    pub expected: &'static str,
    /// The `type` of the reply.
    pub got: &'static str,
}

impl UnexpectedReply {
    fn new<P: Payload>(got: &Response) -> Self {
        Self {
            expected: P::TYPE,
            got: got.type_tag(),
        }
    }
}

responses! {
    /// The request succeeded and has no data to return.
    Done = "done";
    /// Enclave status.
    Status(StatusResponse) = "status";
    /// Setup or unlock succeeded.
    Unlocked(UnlockedResponse) = "unlocked";
    /// A WebAuthn challenge for the enclave page's ceremony.
    Challenge(ChallengeResponse) = "challenge";
    /// A fresh PRF input, base64url.
    PrfInput(PrfInputResponse) = "prfInput";
    /// Unlock methods.
    Methods(MethodsResponse) = "methods";
    /// A method was added.
    MethodAdded(MethodAddedResponse) = "methodAdded";
    /// Keys of the caller's shard.
    Keys(KeysResponse) = "keys";
    /// The shard's VAPID public key.
    VapidPublicKey(VapidPublicKeyResponse) = "vapidPublicKey";
    /// A signed VAPID authorization.
    VapidAuthorization(VapidAuthorizationResponse) = "vapidAuthorization";
    /// A relay signing key was created.
    RelayKey(RelayKeyResponse) = "relayKey";
    /// A relay token.
    RelayToken(RelayTokenResponse) = "relayToken";
    /// The shard's relay public keys.
    Jwks(JwksResponse) = "jwks";
    /// A Signal prekey bundle.
    SignalBundle(SignalBundleResponse) = "signalBundle";
    /// Unused public one-time prekeys.
    SignalOneTimePrekeys(SignalOneTimePrekeysResponse) = "signalOneTimePrekeys";
    /// One-time prekeys were generated.
    SignalReplenished(SignalReplenishedResponse) = "signalReplenished";
    /// The signed prekey was rotated.
    SignalSignedPrekey(SignalSignedPrekeyResponse) = "signalSignedPrekey";
    /// An XEdDSA signature by the identity key over the page-signature message.
    SignalSignature(SignalSignatureResponse) = "signalSignature";
    /// Signed public parts of new one-time envelope prekeys.
    EnvelopePrekeys(EnvelopePrekeysResponse) = "envelopePrekeys";
    /// The current epoch key.
    EnvelopeEpochKey(EnvelopeEpochKeyResponse) = "envelopeEpochKey";
    /// An opened envelope (its one-time prekey is shredded).
    EnvelopeOpened(EnvelopeOpenedResponse) = "envelopeOpened";
    /// A session was started from the peer's bundle.
    SignalSessionStarted(SignalSessionStartedResponse) = "signalSessionStarted";
    /// An encrypted Signal message.
    SignalEncrypted(SignalEncryptedResponse) = "signalEncrypted";
    /// A decrypted Signal message.
    SignalDecrypted(SignalDecryptedResponse) = "signalDecrypted";
    /// The shard's sessions.
    SignalSessions(SignalSessionsResponse) = "signalSessions";
    /// The identity key stored for an address, and how far the user trusts it.
    SignalIdentity(SignalIdentityResponse) = "signalIdentity";
    /// A safety number.
    SignalSafetyNumber(SignalSafetyNumberResponse) = "signalSafetyNumber";
    /// The shard's audit log.
    AuditExport(AuditExportResponse) = "auditExport";
    /// The audit log verified.
    AuditVerified(AuditVerifiedResponse) = "auditVerified";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_leaves_an_opened_plaintext_out() {
        let opened = EnvelopeOpenedResponse {
            kid: "k1".into(),
            plaintext: "c2VjcmV0IG1lc3NhZ2U".into(),
            shredded: true,
        };
        let shown = format!("{:?}", Response::EnvelopeOpened(opened));
        assert!(!shown.contains("c2VjcmV0IG1lc3NhZ2U"), "{shown}");
        assert!(
            shown.contains("k1") && shown.contains("redacted"),
            "{shown}"
        );
    }
}
