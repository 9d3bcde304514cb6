//! WebAuthn (W3C Web Authentication Level 3) verification for the passkey gate.
//!
//! The passkey "gate" unlock mode registers a passkey once ([`verify_registration`]) and
//! later opens a session only after the enclave itself has verified a fresh assertion
//! ([`verify_assertion`]). Both functions take the raw bytes exactly as the browser hands
//! them over (`attestationObject`, `authenticatorData`, `clientDataJSON`, `signature`), so
//! the same code checks a software authenticator in tests and real browser output.
//!
//! # What is checked, and in which order
//!
//! Registration follows §7.1 and authentication §7.2; each check carries a citation where it
//! happens. A failed check returns its own [`WebAuthnError`] variant.
//!
//! # Attestation is not verified
//!
//! [`verify_registration`] accepts any attestation statement format without checking the
//! statement (only `"none"` is structurally checked: its statement must be empty). Attestation
//! tells a relying party which authenticator model made a credential; the enclave has no
//! policy that depends on the model. The passkey gates a local enclave that the same user
//! set up in the same browser session, and the registration ceremony's challenge, origin and
//! RP ID checks already bind the credential to that ceremony. Verifying attestation would
//! need a trust store of vendor roots that the enclave cannot keep current, and browsers
//! usually return "none" for passkeys anyway.
//!
//! # What the caller still does
//!
//! - Generates a fresh random challenge (at least [`MIN_CHALLENGE_LEN`] bytes) per ceremony
//!   and uses it once.
//! - Looks up the stored [`Credential`] by the response's credential id, and refuses a
//!   registration whose credential id is already stored (§7.1).
//! - After a successful assertion, stores the new counter ([`Credential::record_assertion`]).

mod auth_data;
mod cbor;
mod client_data;
mod key;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use auth_data::{
    AttestedCredentialData, AuthenticatorData, Flags, MAX_AUTH_DATA_LEN, MAX_CREDENTIAL_ID_LEN,
    MIN_AUTH_DATA_LEN,
};
pub use client_data::{CollectedClientData, MAX_CLIENT_DATA_LEN, TYPE_CREATE, TYPE_GET};
pub use key::{COSE_ALG_EDDSA, COSE_ALG_ES256, CredentialPublicKey};

use cbor::Value;
use client_data::{OriginPolicy, clip};

/// Largest accepted attestation object.
pub const MAX_ATTESTATION_OBJECT_LEN: usize = 64 * 1024;
/// Shortest challenge accepted in expectations (§13.4.3 asks for at least 16 random bytes).
pub const MIN_CHALLENGE_LEN: usize = 16;

/// A WebAuthn check failed. Each check has its own variant; messages never contain key
/// material and clip any echoed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebAuthnError {
    /// An input exceeds its size limit.
    #[error("{what}: expected at most {max} bytes, got {got}")]
    TooLarge {
        /// The input.
        what: &'static str,
        /// Its limit.
        max: usize,
        /// Its length.
        got: usize,
    },
    /// A CBOR structure did not decode.
    #[error("{what}: malformed CBOR ({reason})")]
    MalformedCbor {
        /// The structure.
        what: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// Bytes followed a structure whose end is its input's end.
    #[error("{what}: expected no trailing bytes, got {count}")]
    TrailingBytes {
        /// The structure.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// The attestation object lacks `fmt`, `attStmt` or `authData`, or one has the wrong type.
    #[error("attestationObject: {0}")]
    MalformedAttestationObject(&'static str),
    /// Attestation format "none" with a non-empty statement (§8.7).
    #[error("attStmt: expected an empty map for fmt \"none\", got a non-empty one")]
    NoneAttestationWithStatement,
    /// Authenticator data ended early.
    #[error("authenticatorData: expected at least {expected} bytes, got {got}")]
    AuthDataTooShort {
        /// Bytes needed to read the next field.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// A credential id longer than §6.5.2 allows.
    #[error("credentialId: expected at most {max} bytes, got {got}")]
    CredentialIdTooLong {
        /// The limit.
        max: usize,
        /// The declared length.
        got: usize,
    },
    /// The extensions in authenticator data are not a CBOR map.
    #[error("authenticatorData extensions: expected a CBOR map")]
    MalformedExtensions,
    /// `clientDataJSON` is not the expected JSON object.
    #[error("clientDataJSON: malformed JSON or missing member near line {line}, column {column}")]
    MalformedClientData {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// `type` in client data is not the ceremony's.
    #[error("clientData type: expected {expected:?}, got {got:?}")]
    WrongType {
        /// The ceremony's type.
        expected: &'static str,
        /// The type found (clipped).
        got: String,
    },
    /// `challenge` in client data is not canonical base64url.
    #[error("clientData challenge: expected base64url, got other text")]
    ChallengeEncoding,
    /// `challenge` in client data differs from the ceremony's challenge.
    #[error("clientData challenge: expected the ceremony's challenge, got a different one")]
    ChallengeMismatch,
    /// The caller's expected challenge is too short to be a fresh random challenge.
    #[error("expected challenge: expected at least {min} bytes, got {got}")]
    ChallengeTooShort {
        /// The minimum.
        min: usize,
        /// The length supplied.
        got: usize,
    },
    /// `origin` in client data is not the expected origin.
    #[error("clientData origin: expected {expected:?}, got {got:?}")]
    OriginMismatch {
        /// The expected origin.
        expected: String,
        /// The origin found (clipped).
        got: String,
    },
    /// `crossOrigin` is true but the caller does not accept a cross-origin ceremony.
    #[error("clientData crossOrigin: expected false, got true")]
    CrossOriginNotAllowed,
    /// `topOrigin` is present although `crossOrigin` is not true.
    #[error("clientData topOrigin: expected only with crossOrigin true, got it without")]
    TopOriginWithoutCrossOrigin,
    /// `topOrigin` is not one of the allowed top-level origins.
    #[error("clientData topOrigin: expected an allowed top-level origin, got {got:?}")]
    TopOriginNotAllowed {
        /// The top origin found (clipped).
        got: String,
    },
    /// The stored credential belongs to a different RP ID than the expectations name.
    #[error("credential RP ID: expected {expected:?}, got {got:?}")]
    RpIdMismatch {
        /// The RP ID of the expectations.
        expected: String,
        /// The RP ID stored with the credential.
        got: String,
    },
    /// `rpIdHash` is not SHA-256 of the expected RP ID.
    #[error("rpIdHash: expected SHA-256 of the RP ID, got a different hash")]
    RpIdHashMismatch,
    /// The UP flag is clear.
    #[error("flags: expected UP (user present) set, got clear")]
    UserNotPresent,
    /// User verification is required but the UV flag is clear.
    #[error("flags: expected UV (user verified) set, got clear")]
    UserNotVerified,
    /// BS is set while BE is clear (§6.1.3).
    #[error("flags: expected BS clear when BE is clear, got BS set")]
    BackupStateWithoutEligibility,
    /// BE differs from the value recorded at registration (§7.2).
    #[error("flags: expected BE {stored}, got {got}")]
    BackupEligibilityChanged {
        /// BE at registration.
        stored: bool,
        /// BE now.
        got: bool,
    },
    /// A registration's authenticator data has no attested credential data.
    #[error("flags: expected AT set on registration, got clear")]
    MissingAttestedCredentialData,
    /// An assertion's authenticator data carries attested credential data.
    #[error("flags: expected AT clear on assertion, got set")]
    UnexpectedAttestedCredentialData,
    /// The credential uses an algorithm, key type or curve this build does not support.
    #[error("unsupported credential algorithm: expected ES256 or EdDSA (Ed25519), got {algorithm}")]
    Unsupported {
        /// What was found.
        algorithm: String,
    },
    /// The credential public key is malformed or invalid.
    #[error("credential public key: {0}")]
    InvalidPublicKey(&'static str),
    /// The signature is not encoded as the credential's algorithm requires.
    #[error("signature encoding: {0}")]
    SignatureEncoding(&'static str),
    /// The signature does not verify.
    #[error(
        "signature: expected a valid signature over authenticatorData and the client data hash, got an invalid one"
    )]
    BadSignature,
    /// The signature counter did not increase: the authenticator may have been cloned.
    #[error("signCount: expected greater than {stored}, got {got} (possible cloned authenticator)")]
    CounterRegression {
        /// The stored counter.
        stored: u32,
        /// The counter in the assertion.
        got: u32,
    },
}

/// What a WebAuthn ceremony — a registration or an authentication — must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// The RP ID: `rp.id` in the creation options, `rpId` in the request options (an
    /// assertion's must also equal the credential's).
    pub rp_id: String,
    /// The exact origin of the enclave frame, e.g. `https://enclave.example`.
    pub origin: String,
    /// Accept `crossOrigin: true` (the enclave runs in a cross-origin iframe).
    pub allow_cross_origin: bool,
    /// Top-level origins accepted in `topOrigin` when it is present.
    pub allowed_top_origins: Vec<String>,
    /// The challenge passed to `navigator.credentials.create()` or `.get()`.
    pub challenge: Vec<u8>,
    /// Require the UV flag.
    pub require_user_verification: bool,
}

impl Expectations {
    /// Parses `clientDataJSON` and checks its type, challenge, origin and top origin.
    fn check_client_data(
        &self,
        client_data_json: &[u8],
        type_: &'static str,
    ) -> Result<(), WebAuthnError> {
        CollectedClientData::parse(client_data_json)?.check(
            type_,
            &self.challenge,
            &OriginPolicy {
                origin: &self.origin,
                allow_cross_origin: self.allow_cross_origin,
                allowed_top_origins: &self.allowed_top_origins,
            },
        )
    }
}

/// What a registration ceremony must match.
pub type RegistrationExpectations = Expectations;

/// What an authentication ceremony must match.
pub type AssertionExpectations = Expectations;

/// A registered credential, as stored by the enclave (§7.1 "credential record", trimmed to
/// what the gate needs). Serialized with base64url byte strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The credential id (`rawId`).
    #[serde(with = "crate::b64::serde_bytes")]
    pub id: Vec<u8>,
    /// The credential public key.
    pub public_key: CredentialPublicKey,
    /// The last signature counter seen.
    pub sign_count: u32,
    /// The RP ID the credential is scoped to.
    pub rp_id: String,
    /// Whether UV was set at registration.
    pub user_verified_at_registration: bool,
    /// Whether BE was set at registration (it may not change afterwards).
    pub backup_eligible: bool,
}

impl Credential {
    /// Records a verified assertion: stores its counter. Call only with the result of
    /// [`verify_assertion`] for this credential, then persist the credential.
    pub fn record_assertion(&mut self, verified: &VerifiedAssertion) {
        self.sign_count = verified.sign_count;
    }
}

/// The result of a successful [`verify_assertion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The assertion's signature counter; store it with the credential.
    pub sign_count: u32,
    /// Whether the UV flag was set.
    pub user_verified: bool,
    /// Whether the BS flag was set (the credential is currently backed up).
    pub backup_state: bool,
}

/// A parsed attestation object (§6.5.4), borrowing from the raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationObject<'a> {
    /// The attestation statement format identifier.
    pub fmt: &'a str,
    /// The raw authenticator data.
    pub auth_data: &'a [u8],
}

impl<'a> AttestationObject<'a> {
    /// Parses a CBOR attestation object `{fmt, attStmt, authData}`: one map, nothing after it.
    /// Unknown keys are ignored; `attStmt` must be a map, and an empty one for `"none"`.
    ///
    /// # Errors
    /// [`WebAuthnError::TooLarge`], [`WebAuthnError::MalformedCbor`],
    /// [`WebAuthnError::TrailingBytes`], [`WebAuthnError::MalformedAttestationObject`] or
    /// [`WebAuthnError::NoneAttestationWithStatement`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WebAuthnError> {
        const WHAT: &str = "attestationObject";
        if bytes.len() > MAX_ATTESTATION_OBJECT_LEN {
            return Err(WebAuthnError::TooLarge {
                what: WHAT,
                max: MAX_ATTESTATION_OBJECT_LEN,
                got: bytes.len(),
            });
        }
        let value = cbor::decode_exact(bytes).map_err(|e| match e {
            cbor::CborError::TrailingBytes(count) => {
                WebAuthnError::TrailingBytes { what: WHAT, count }
            }
            other => WebAuthnError::MalformedCbor {
                what: WHAT,
                reason: other.reason(),
            },
        })?;
        let map = value
            .as_map()
            .ok_or(WebAuthnError::MalformedAttestationObject("expected a map"))?;
        let fmt = match Value::text_key(map, "fmt") {
            Some(Value::Text(t)) => *t,
            _ => {
                return Err(WebAuthnError::MalformedAttestationObject(
                    "expected text fmt",
                ));
            }
        };
        let att_stmt = match Value::text_key(map, "attStmt") {
            Some(Value::Map(m)) => m,
            _ => {
                return Err(WebAuthnError::MalformedAttestationObject(
                    "expected map attStmt",
                ));
            }
        };
        let auth_data = match Value::text_key(map, "authData") {
            Some(Value::Bytes(b)) => *b,
            _ => {
                return Err(WebAuthnError::MalformedAttestationObject(
                    "expected byte-string authData",
                ));
            }
        };
        // §8.7: the "none" format's statement is the empty map.
        if fmt == "none" && !att_stmt.is_empty() {
            return Err(WebAuthnError::NoneAttestationWithStatement);
        }
        Ok(Self { fmt, auth_data })
    }
}

/// Verifies a registration ceremony (§7.1) and returns the credential to store.
///
/// `attestation_object` and `client_data_json` are the raw bytes of
/// `AuthenticatorAttestationResponse.attestationObject` and `.clientDataJSON`. The attestation
/// statement is not verified (see the module documentation).
///
/// # Errors
/// The [`WebAuthnError`] variant of the first check that fails.
pub fn verify_registration(
    attestation_object: &[u8],
    client_data_json: &[u8],
    expected: &RegistrationExpectations,
) -> Result<Credential, WebAuthnError> {
    check_challenge_len(&expected.challenge)?;

    // §7.1: JSON-parse clientDataJSON, then check type, challenge, origin, topOrigin.
    expected.check_client_data(client_data_json, TYPE_CREATE)?;

    // §7.1: CBOR-decode the attestation object into fmt, authData and attStmt. (The client
    // data hash would only feed attestation statement verification, which is skipped.)
    let attestation = AttestationObject::parse(attestation_object)?;
    let auth_data = AuthenticatorData::parse(attestation.auth_data)?;

    // §7.1: rpIdHash, UP, UV, BE/BS.
    check_flags_and_rp(
        &auth_data,
        &expected.rp_id,
        expected.require_user_verification,
    )?;

    // §7.1 / §6.5.2: a registration carries attested credential data.
    let attested = auth_data
        .attested_credential_data
        .as_ref()
        .ok_or(WebAuthnError::MissingAttestedCredentialData)?;

    // §7.1: verify the credential public key's alg is one the RP asked for (ES256, EdDSA).
    let public_key = CredentialPublicKey::from_cose(attested.credential_public_key)?;

    // §7.1: attestation statement verification is deliberately skipped for every fmt.
    // §7.1: the credential id length (at most 1023 bytes) was checked while parsing.
    Ok(Credential {
        id: attested.credential_id.to_vec(),
        public_key,
        sign_count: auth_data.sign_count,
        rp_id: expected.rp_id.clone(),
        user_verified_at_registration: auth_data.flags.user_verified(),
        backup_eligible: auth_data.flags.backup_eligible(),
    })
}

/// Verifies an authentication ceremony (§7.2) for a stored credential.
///
/// `authenticator_data`, `client_data_json` and `signature` are the raw bytes of
/// `AuthenticatorAssertionResponse.authenticatorData`, `.clientDataJSON` and `.signature`.
/// On success the caller stores the returned counter ([`Credential::record_assertion`]).
///
/// # Errors
/// The [`WebAuthnError`] variant of the first check that fails.
pub fn verify_assertion(
    credential: &Credential,
    authenticator_data: &[u8],
    client_data_json: &[u8],
    signature: &[u8],
    expected: &AssertionExpectations,
) -> Result<VerifiedAssertion, WebAuthnError> {
    check_challenge_len(&expected.challenge)?;
    if credential.rp_id != expected.rp_id {
        return Err(WebAuthnError::RpIdMismatch {
            expected: clip(&expected.rp_id),
            got: clip(&credential.rp_id),
        });
    }

    // §7.2: JSON-parse clientDataJSON, then check type, challenge, origin, topOrigin.
    expected.check_client_data(client_data_json, TYPE_GET)?;

    let auth_data = AuthenticatorData::parse(authenticator_data)?;

    // §7.2: rpIdHash, UP, UV, BE/BS.
    check_flags_and_rp(
        &auth_data,
        &expected.rp_id,
        expected.require_user_verification,
    )?;

    // §7.2: BE must equal the value recorded at registration.
    let be = auth_data.flags.backup_eligible();
    if be != credential.backup_eligible {
        return Err(WebAuthnError::BackupEligibilityChanged {
            stored: credential.backup_eligible,
            got: be,
        });
    }

    // §6.3.3: authenticatorGetAssertion never includes attested credential data.
    if auth_data.attested_credential_data.is_some() {
        return Err(WebAuthnError::UnexpectedAttestedCredentialData);
    }

    // §7.2: hash = SHA-256(clientDataJSON); verify sig over authenticatorData ‖ hash.
    let hash = Sha256::digest(client_data_json);
    let mut signed = Vec::with_capacity(authenticator_data.len().saturating_add(hash.len()));
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&hash);
    credential.public_key.verify_signature(&signed, signature)?;

    // §7.2 and §6.1.1: if either counter is non-zero, the new one must be strictly greater;
    // otherwise the authenticator may have been cloned. Both zero means "no counter".
    let got = auth_data.sign_count;
    let stored = credential.sign_count;
    if (got != 0 || stored != 0) && got <= stored {
        return Err(WebAuthnError::CounterRegression { stored, got });
    }

    Ok(VerifiedAssertion {
        sign_count: got,
        user_verified: auth_data.flags.user_verified(),
        backup_state: auth_data.flags.backup_state(),
    })
}

fn check_challenge_len(challenge: &[u8]) -> Result<(), WebAuthnError> {
    if challenge.len() < MIN_CHALLENGE_LEN {
        Err(WebAuthnError::ChallengeTooShort {
            min: MIN_CHALLENGE_LEN,
            got: challenge.len(),
        })
    } else {
        Ok(())
    }
}

/// The authenticator-data checks shared by §7.1 and §7.2, in specification order.
fn check_flags_and_rp(
    auth_data: &AuthenticatorData<'_>,
    rp_id: &str,
    require_user_verification: bool,
) -> Result<(), WebAuthnError> {
    // §7.1 / §7.2: rpIdHash is SHA-256 of the RP ID.
    let rp_id_hash = Sha256::digest(rp_id.as_bytes());
    if !bool::from(auth_data.rp_id_hash.as_slice().ct_eq(rp_id_hash.as_slice())) {
        return Err(WebAuthnError::RpIdHashMismatch);
    }
    // §7.1 / §7.2: the UP bit is set.
    if !auth_data.flags.user_present() {
        return Err(WebAuthnError::UserNotPresent);
    }
    // §7.1 / §7.2: if user verification is required, the UV bit is set.
    if require_user_verification && !auth_data.flags.user_verified() {
        return Err(WebAuthnError::UserNotVerified);
    }
    // §7.1 / §7.2 (and §6.1.3): if BE is clear, BS is clear.
    if auth_data.flags.backup_state() && !auth_data.flags.backup_eligible() {
        return Err(WebAuthnError::BackupStateWithoutEligibility);
    }
    Ok(())
}
