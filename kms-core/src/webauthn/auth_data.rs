//! Authenticator data (WebAuthn Level 3 §6.1) and attested credential data (§6.5.2).
//!
//! ```text
//! rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian)
//!   ‖ [attestedCredentialData, when AT]  aaguid (16) ‖ credentialIdLength (2, big-endian)
//!                                        ‖ credentialId ‖ credentialPublicKey (COSE_Key, CBOR)
//!   ‖ [extensions, when ED]              CBOR map
//! ```
//!
//! Parsing is strict: every byte must be accounted for by the flags, the credential public
//! key and the extensions must each be one well-formed CBOR item, and nothing may follow.

use super::WebAuthnError;
use super::cbor::{self, Value};

/// Length of the fixed part: rpIdHash, flags and signCount.
pub const MIN_AUTH_DATA_LEN: usize = 37;
/// Largest accepted authenticator data (generous: real ones are a few hundred bytes).
pub const MAX_AUTH_DATA_LEN: usize = 64 * 1024;
/// Longest credential id accepted (§6.5.2: credentialIdLength is at most 1023).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The flags byte of authenticator data (§6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// User Present.
    pub const UP: u8 = 0x01;
    /// User Verified.
    pub const UV: u8 = 0x04;
    /// Backup Eligibility.
    pub const BE: u8 = 0x08;
    /// Backup State.
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;

    /// Whether the UP bit is set.
    pub fn user_present(self) -> bool {
        self.0 & Self::UP != 0
    }
    /// Whether the UV bit is set.
    pub fn user_verified(self) -> bool {
        self.0 & Self::UV != 0
    }
    /// Whether the BE bit is set.
    pub fn backup_eligible(self) -> bool {
        self.0 & Self::BE != 0
    }
    /// Whether the BS bit is set.
    pub fn backup_state(self) -> bool {
        self.0 & Self::BS != 0
    }
    /// Whether the AT bit is set.
    pub fn attested_credential_data(self) -> bool {
        self.0 & Self::AT != 0
    }
    /// Whether the ED bit is set.
    pub fn extension_data(self) -> bool {
        self.0 & Self::ED != 0
    }
}

/// Attested credential data (§6.5.2), present in registration authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredentialData<'a> {
    /// The authenticator model's AAGUID (all zero under "none" attestation).
    pub aaguid: [u8; 16],
    /// The credential id (at most [`MAX_CREDENTIAL_ID_LEN`] bytes).
    pub credential_id: &'a [u8],
    /// The raw COSE_Key bytes: one well-formed CBOR item, not yet interpreted as a key (see
    /// [`super::CredentialPublicKey::from_cose`]).
    pub credential_public_key: &'a [u8],
}

/// Parsed authenticator data, borrowing from the raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID the credential is scoped to.
    pub rp_id_hash: [u8; 32],
    /// The flags byte.
    pub flags: Flags,
    /// The signature counter (0 when the authenticator does not keep one).
    pub sign_count: u32,
    /// Attested credential data, present exactly when the AT flag is set.
    pub attested_credential_data: Option<AttestedCredentialData<'a>>,
    /// The raw extensions CBOR map, present exactly when the ED flag is set.
    pub extensions: Option<&'a [u8]>,
}

impl<'a> AuthenticatorData<'a> {
    /// Parses raw authenticator data, exactly as `AuthenticatorAssertionResponse.authenticatorData`
    /// or the `authData` field of an attestation object carries it.
    ///
    /// # Errors
    /// [`WebAuthnError::TooLarge`], [`WebAuthnError::AuthDataTooShort`],
    /// [`WebAuthnError::CredentialIdTooLong`], [`WebAuthnError::MalformedCbor`],
    /// [`WebAuthnError::MalformedExtensions`] or [`WebAuthnError::TrailingBytes`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WebAuthnError> {
        if bytes.len() > MAX_AUTH_DATA_LEN {
            return Err(WebAuthnError::TooLarge {
                what: "authenticatorData",
                max: MAX_AUTH_DATA_LEN,
                got: bytes.len(),
            });
        }
        let mut r = Cursor { bytes, pos: 0 };
        let rp_id_hash = r.take_array::<32>(MIN_AUTH_DATA_LEN)?;
        let [flags] = r.take_array::<1>(MIN_AUTH_DATA_LEN)?;
        let flags = Flags(flags);
        let sign_count = u32::from_be_bytes(r.take_array::<4>(MIN_AUTH_DATA_LEN)?);

        // §6.5.2: attested credential data follows the counter when AT is set.
        let attested_credential_data = if flags.attested_credential_data() {
            let fixed = MIN_AUTH_DATA_LEN + 16 + 2;
            let aaguid = r.take_array::<16>(fixed)?;
            let id_len = usize::from(u16::from_be_bytes(r.take_array::<2>(fixed)?));
            if id_len > MAX_CREDENTIAL_ID_LEN {
                return Err(WebAuthnError::CredentialIdTooLong {
                    max: MAX_CREDENTIAL_ID_LEN,
                    got: id_len,
                });
            }
            let credential_id = r.take(id_len, fixed.saturating_add(id_len))?;
            let rest = r.rest();
            let (_, used) =
                cbor::decode_prefix(rest).map_err(|e| WebAuthnError::MalformedCbor {
                    what: "credentialPublicKey",
                    reason: e.reason(),
                })?;
            let credential_public_key = r.take(used, bytes.len())?;
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                credential_public_key,
            })
        } else {
            None
        };

        // §6.1: extensions, a CBOR map, follow when ED is set.
        let extensions = if flags.extension_data() {
            let rest = r.rest();
            let (value, used) =
                cbor::decode_prefix(rest).map_err(|e| WebAuthnError::MalformedCbor {
                    what: "extensions",
                    reason: e.reason(),
                })?;
            if !matches!(value, Value::Map(_)) {
                return Err(WebAuthnError::MalformedExtensions);
            }
            Some(r.take(used, bytes.len())?)
        } else {
            None
        };

        // §6.1: the length of authenticator data is fully determined by its flags and
        // contents; anything left over is refused.
        let trailing = r.rest().len();
        if trailing != 0 {
            return Err(WebAuthnError::TrailingBytes {
                what: "authenticatorData",
                count: trailing,
            });
        }

        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential_data,
            extensions,
        })
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Takes `n` bytes; on shortfall reports that at least `need` bytes were required.
    fn take(&mut self, n: usize, need: usize) -> Result<&'a [u8], WebAuthnError> {
        let short = WebAuthnError::AuthDataTooShort {
            expected: need.max(self.pos.saturating_add(n)),
            got: self.bytes.len(),
        };
        let end = self.pos.checked_add(n).ok_or_else(|| short.clone())?;
        let out = self.bytes.get(self.pos..end).ok_or(short)?;
        self.pos = end;
        Ok(out)
    }

    fn take_array<const N: usize>(&mut self, need: usize) -> Result<[u8; N], WebAuthnError> {
        let got = self.bytes.len();
        <[u8; N]>::try_from(self.take(N, need)?).map_err(|_| WebAuthnError::AuthDataTooShort {
            expected: need,
            got,
        })
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }
}
