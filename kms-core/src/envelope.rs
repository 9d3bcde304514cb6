//! Sealed envelopes to one-time prekeys: the sender side ([`seal`], pure, for senders and the
//! browser) and the receiver side ([`open`], for whoever holds the private prekey).
//!
//! A recipient publishes prekeys, each an X25519 key and optionally an ML-KEM-768 key, signed
//! with its Signal identity key (XEdDSA, [`crate::signal::identity`]). A sender fetches one
//! (from a vending service that hands out each one-time key once), checks the signature with
//! [`SignedPrekey::verify`] — so a compromised server can withhold keys but not substitute its
//! own — and seals a message to it:
//!
//! 1. a fresh ephemeral X25519 key pair; `dh = X25519(eph, prekey)`;
//! 2. for hybrid keys, `(kem_ct, ss) = ML-KEM-768.Encaps(pqc_prekey)` (FIPS 203);
//! 3. `key = HKDF-SHA256(ikm = dh ‖ ss, salt = canonical(format, [kid, epk, pub_key,
//!    pqc_pub_key, kem_ct]), info = "kms:envelope:<format>")`;
//! 4. `ct = AES-256-GCM(key, nonce = 0^96, aad = canonical("kms:envelope:aad:v1", [format,
//!    kid]), plaintext)`. The nonce is fixed because every key encrypts exactly one message
//!    (the ephemeral key is fresh per envelope).
//!
//! The layouts, with a test vector, are in `docs/formats/envelope.md`.

use core::fmt;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::format::{
    self, ENVELOPE_HYBRID_MLKEM768_AESGCM_V1, ENVELOPE_X25519_AESGCM_V1, FormatError,
};
use crate::secret::{Secret32, SecretBytes};
use crate::signal::identity::{IdentityKeyPair, KeyPair, PublicKey};
use crate::signal::kem::{KemAlgorithm, KemKeyPair, KemPublicKey, SEED_LENGTH};
use crate::signal::{SignalError, xeddsa};
use crate::wrap::{self, Sealed};

/// Label of the identity signature over an uploaded prekey.
pub const PREKEY_SIGNATURE_LABEL: &str = "kms:envelope-prekey:v1";
/// HKDF-SHA256 `info` of `x25519-aesgcm-v1`.
pub const HKDF_ENVELOPE_X25519_V1: &str = "kms:envelope:x25519-aesgcm-v1";
/// HKDF-SHA256 `info` of `hybrid-mlkem768-aesgcm-v1`.
pub const HKDF_ENVELOPE_HYBRID_V1: &str = "kms:envelope:hybrid-mlkem768-aesgcm-v1";
/// Label of the AEAD associated data.
pub const ENVELOPE_AAD_LABEL: &str = "kms:envelope:aad:v1";
/// Longest prekey id.
pub const MAX_KID_LEN: usize = 128;
/// Largest plaintext [`seal`] accepts (and largest ciphertext [`open`] reads).
pub const MAX_PLAINTEXT_LEN: usize = 1024 * 1024;
/// The AES-GCM nonce: fixed, because each derived key seals one message.
const NONCE: [u8; wrap::NONCE_LEN] = [0; wrap::NONCE_LEN];

/// An envelope format: which key agreement protects the AES-256-GCM key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeFormat {
    /// `x25519-aesgcm-v1`: ephemeral X25519 only.
    X25519AesGcmV1,
    /// `hybrid-mlkem768-aesgcm-v1`: ephemeral X25519 and ML-KEM-768.
    HybridMlKem768AesGcmV1,
}

impl EnvelopeFormat {
    /// The format id.
    pub const fn id(self) -> &'static str {
        match self {
            Self::X25519AesGcmV1 => ENVELOPE_X25519_AESGCM_V1,
            Self::HybridMlKem768AesGcmV1 => ENVELOPE_HYBRID_MLKEM768_AESGCM_V1,
        }
    }

    /// Parses a format id.
    ///
    /// # Errors
    /// [`FormatError::UnknownAlgorithm`] for any other id.
    pub fn parse(id: &str) -> Result<Self, FormatError> {
        match id {
            ENVELOPE_X25519_AESGCM_V1 => Ok(Self::X25519AesGcmV1),
            ENVELOPE_HYBRID_MLKEM768_AESGCM_V1 => Ok(Self::HybridMlKem768AesGcmV1),
            other => Err(FormatError::UnknownAlgorithm {
                expected: "x25519-aesgcm-v1 or hybrid-mlkem768-aesgcm-v1",
                got: other.chars().take(64).collect(),
            }),
        }
    }

    const fn hkdf_info(self) -> &'static str {
        match self {
            Self::X25519AesGcmV1 => HKDF_ENVELOPE_X25519_V1,
            Self::HybridMlKem768AesGcmV1 => HKDF_ENVELOPE_HYBRID_V1,
        }
    }

    const fn is_hybrid(self) -> bool {
        matches!(self, Self::HybridMlKem768AesGcmV1)
    }
}

impl fmt::Display for EnvelopeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What went wrong sealing, opening or verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Unknown format id.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A prekey id is empty, too long or has characters outside `[A-Za-z0-9._:/_-]`.
    #[error("kid: expected 1 to {MAX_KID_LEN} characters of [A-Za-z0-9._:/_-]")]
    Kid,
    /// A public key, ciphertext or private key has the wrong encoding.
    #[error(transparent)]
    Key(#[from] SignalError),
    /// The post-quantum prekey is not ML-KEM-768.
    #[error("pqc_pub_key: expected ML-KEM-768, got {got}")]
    PqcAlgorithm {
        /// The algorithm found.
        got: KemAlgorithm,
    },
    /// The envelope's fields do not fit its format (a KEM ciphertext missing or extra).
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
    /// The envelope or private key is for another format.
    #[error("format mismatch: expected {expected}, got {got}")]
    FormatMismatch {
        /// The key's format.
        expected: &'static str,
        /// The envelope's format.
        got: &'static str,
    },
    /// The envelope names another prekey.
    #[error("kid mismatch: expected {expected:?}, got {got:?}")]
    KidMismatch {
        /// The key's id.
        expected: String,
        /// The envelope's id.
        got: String,
    },
    /// The plaintext or ciphertext exceeds [`MAX_PLAINTEXT_LEN`].
    #[error("message too large: expected at most {MAX_PLAINTEXT_LEN} bytes, got {0}")]
    TooLarge(usize),
    /// The identity signature over a prekey does not verify.
    #[error("prekey signature verification failed")]
    BadSignature,
    /// Wrong key or modified envelope. Deliberately one opaque case.
    #[error("envelope authentication failed")]
    Decryption,
}

/// What a prekey is for: consumed once, or the long-lived fallback when none are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PrekeyUse {
    /// A one-time prekey: vended once, its private key shredded when an envelope opens.
    #[serde(rename = "one-time")]
    OneTime,
    /// The epoch key (Tier 2): used when the one-time keys are exhausted, rotated on a
    /// schedule, not shredded per message.
    #[serde(rename = "epoch")]
    Epoch,
}

impl PrekeyUse {
    /// The wire name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OneTime => "one-time",
            Self::Epoch => "epoch",
        }
    }
}

fn check_kid(kid: &str) -> Result<(), EnvelopeError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._:/_-".contains(c);
    if kid.is_empty() || kid.len() > MAX_KID_LEN || !kid.chars().all(ok) {
        return Err(EnvelopeError::Kid);
    }
    Ok(())
}

/// The public part of a prekey as uploaded to a vending service and handed to a sender,
/// signed by the owner's identity key.
///
/// JSON: `{"kid", "use", "pub_key", "pqc_pub_key"?, "sig"}` (byte strings base64url).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SignedPrekey {
    /// Prekey id, unique per owner.
    pub kid: String,
    /// One-time or epoch.
    #[serde(rename = "use")]
    pub use_: PrekeyUse,
    /// X25519 public key, libsignal form `0x05 ‖ u`.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub pub_key: PublicKey,
    /// ML-KEM-768 encapsulation key, `0xE7 ‖ ek` (hybrid prekeys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "string", optional))]
    pub pqc_pub_key: Option<KemPublicKey>,
    /// XEdDSA signature by the owner's identity key over [`SignedPrekey::signed_message`].
    #[serde(with = "crate::b64::serde_bytes")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub sig: Vec<u8>,
}

impl SignedPrekey {
    /// The envelope format this prekey is for.
    pub fn format(&self) -> EnvelopeFormat {
        if self.pqc_pub_key.is_some() {
            EnvelopeFormat::HybridMlKem768AesGcmV1
        } else {
            EnvelopeFormat::X25519AesGcmV1
        }
    }

    /// The signed bytes: `canonical("kms:envelope-prekey:v1", [use, format, kid, pub_key,
    /// pqc_pub_key or empty])`. Binding the format means a server cannot strip the
    /// post-quantum key without breaking the signature.
    pub fn signed_message(&self) -> Vec<u8> {
        let pqc = self
            .pqc_pub_key
            .as_ref()
            .map(KemPublicKey::serialize)
            .unwrap_or_default();
        format::canonical(
            PREKEY_SIGNATURE_LABEL,
            &[
                self.use_.name().as_bytes(),
                self.format().id().as_bytes(),
                self.kid.as_bytes(),
                &self.pub_key.serialize(),
                &pqc,
            ],
        )
    }

    /// Checks the prekey against its owner's identity key. Senders must do this before
    /// sealing; [`seal`] only accepts the result.
    ///
    /// # Errors
    /// [`EnvelopeError::Kid`], [`EnvelopeError::PqcAlgorithm`], or
    /// [`EnvelopeError::BadSignature`].
    pub fn verify(&self, identity: &PublicKey) -> Result<VerifiedPrekey, EnvelopeError> {
        check_kid(&self.kid)?;
        if let Some(pqc) = &self.pqc_pub_key
            && pqc.algorithm() != KemAlgorithm::MlKem768
        {
            return Err(EnvelopeError::PqcAlgorithm {
                got: pqc.algorithm(),
            });
        }
        if self.sig.len() != xeddsa::SIGNATURE_LENGTH {
            return Err(EnvelopeError::BadSignature);
        }
        identity
            .verify(&self.signed_message(), &self.sig)
            .map_err(|_| EnvelopeError::BadSignature)?;
        Ok(VerifiedPrekey(self.clone()))
    }
}

/// A [`SignedPrekey`] whose identity signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPrekey(SignedPrekey);

impl VerifiedPrekey {
    /// The verified prekey.
    pub fn prekey(&self) -> &SignedPrekey {
        &self.0
    }
}

/// The private part of a prekey: an X25519 key pair and, for hybrid prekeys, an ML-KEM-768
/// key pair. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct PrekeySecret {
    x25519: KeyPair,
    kem: Option<KemKeyPair>,
}

impl fmt::Debug for PrekeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrekeySecret({}, <redacted>)", self.format())
    }
}

impl PrekeySecret {
    /// A fresh prekey for `format`.
    pub fn generate<R: CryptoRng + ?Sized>(format: EnvelopeFormat, rng: &mut R) -> Self {
        let x25519 = KeyPair::generate(rng);
        let kem = format
            .is_hybrid()
            .then(|| KemKeyPair::generate(KemAlgorithm::MlKem768, rng));
        Self { x25519, kem }
    }

    /// The format this key opens.
    pub fn format(&self) -> EnvelopeFormat {
        if self.kem.is_some() {
            EnvelopeFormat::HybridMlKem768AesGcmV1
        } else {
            EnvelopeFormat::X25519AesGcmV1
        }
    }

    /// The X25519 public key.
    pub fn public_key(&self) -> PublicKey {
        self.x25519.public_key()
    }

    /// The ML-KEM-768 public key, for hybrid prekeys.
    pub fn pqc_public_key(&self) -> Option<&KemPublicKey> {
        self.kem.as_ref().map(KemKeyPair::public_key)
    }

    /// The storage form: the clamped X25519 scalar (32 bytes), then for hybrid keys the
    /// 64-byte FIPS 203 seed. For sealing under a KEK only.
    pub fn to_bytes(&self) -> SecretBytes {
        let mut out = Zeroizing::new(Vec::with_capacity(32 + SEED_LENGTH));
        out.extend_from_slice(self.x25519.secret().expose());
        if let Some(kem) = &self.kem {
            out.extend_from_slice(kem.secret_bytes().expose());
        }
        SecretBytes::new(core::mem::take(&mut *out))
    }

    /// Rebuilds a key from [`PrekeySecret::to_bytes`].
    ///
    /// # Errors
    /// [`EnvelopeError::Key`] for a length other than 32 or 96 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let (x, kem) = match bytes.len() {
            32 => (bytes, None),
            96 => {
                let (x, seed) = bytes.split_at(32);
                (
                    x,
                    Some(KemKeyPair::from_secret_bytes(KemAlgorithm::MlKem768, seed)?),
                )
            }
            got => {
                return Err(EnvelopeError::Key(SignalError::WrongLength {
                    what: "prekey secret",
                    expected: 32 + SEED_LENGTH,
                    got,
                }));
            }
        };
        let secret = Secret32::from_slice(x).map_err(|_| SignalError::WrongLength {
            what: "prekey secret",
            expected: 32,
            got: x.len(),
        })?;
        Ok(Self {
            x25519: KeyPair::from_secret(secret),
            kem,
        })
    }

    /// Signs the public part with the owner's identity key.
    ///
    /// # Errors
    /// [`EnvelopeError::Kid`] for an invalid `kid`.
    pub fn sign_public<R: CryptoRng + ?Sized>(
        &self,
        identity: &IdentityKeyPair,
        kid: &str,
        use_: PrekeyUse,
        rng: &mut R,
    ) -> Result<SignedPrekey, EnvelopeError> {
        check_kid(kid)?;
        let mut prekey = SignedPrekey {
            kid: kid.to_owned(),
            use_,
            pub_key: self.public_key(),
            pqc_pub_key: self.pqc_public_key().cloned(),
            sig: Vec::new(),
        };
        prekey.sig = identity.sign(rng, &prekey.signed_message()).to_vec();
        Ok(prekey)
    }
}

/// A sealed message. JSON: `{"format", "kid", "epk", "kem_ct"?, "ct"}` (byte strings
/// base64url); unknown fields are refused.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Format id.
    pub format: String,
    /// The prekey it is sealed to.
    pub kid: String,
    /// The sender's ephemeral X25519 public key (`0x05 ‖ u`).
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub epk: PublicKey,
    /// The ML-KEM-768 ciphertext (`0xE7 ‖ c`), hybrid only.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::b64::serde_opt_bytes"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string", optional))]
    pub kem_ct: Option<Vec<u8>>,
    /// AES-256-GCM ciphertext ‖ tag.
    #[serde(with = "crate::b64::serde_bytes")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub ct: Vec<u8>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Envelope({}, kid {:?}, {} bytes)",
            self.format,
            self.kid,
            self.ct.len()
        )
    }
}

fn aad(format: EnvelopeFormat, kid: &str) -> Vec<u8> {
    format::canonical(
        ENVELOPE_AAD_LABEL,
        &[format.id().as_bytes(), kid.as_bytes()],
    )
}

/// Everything the key schedule binds, besides the two shared secrets.
struct Transcript<'a> {
    format: EnvelopeFormat,
    kid: &'a str,
    epk: &'a PublicKey,
    recipient: &'a PublicKey,
    pqc: Option<&'a KemPublicKey>,
    kem_ct: &'a [u8],
}

fn derive_key(t: &Transcript<'_>, dh: &Secret32, kem_ss: Option<&Secret32>) -> Secret32 {
    let mut ikm = Zeroizing::new(Vec::with_capacity(64));
    ikm.extend_from_slice(dh.expose());
    if let Some(ss) = kem_ss {
        ikm.extend_from_slice(ss.expose());
    }
    let pqc = t.pqc.map(KemPublicKey::serialize).unwrap_or_default();
    let salt = format::canonical(
        t.format.id(),
        &[
            t.kid.as_bytes(),
            &t.epk.serialize(),
            &t.recipient.serialize(),
            &pqc,
            t.kem_ct,
        ],
    );
    crate::kdf::hkdf_sha256(&ikm, &salt, t.format.hkdf_info())
}

/// Seals `plaintext` to a verified prekey.
///
/// # Errors
/// [`EnvelopeError::TooLarge`] beyond [`MAX_PLAINTEXT_LEN`]; [`EnvelopeError::Key`] if the
/// prekey is a low-order point (a signed prekey never is).
pub fn seal<R: CryptoRng + ?Sized>(
    to: &VerifiedPrekey,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Envelope, EnvelopeError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(EnvelopeError::TooLarge(plaintext.len()));
    }
    let prekey = to.prekey();
    let format = prekey.format();
    let eph = KeyPair::generate(rng);
    let dh = eph.agree(&prekey.pub_key)?;
    let (kem_ct, kem_ss) = match &prekey.pqc_pub_key {
        Some(pk) => {
            let (ct, ss) = pk.encapsulate(rng)?;
            (Some(ct), Some(ss))
        }
        None => (None, None),
    };
    let epk = eph.public_key();
    let key = derive_key(
        &Transcript {
            format,
            kid: &prekey.kid,
            epk: &epk,
            recipient: &prekey.pub_key,
            pqc: prekey.pqc_pub_key.as_ref(),
            kem_ct: kem_ct.as_deref().unwrap_or_default(),
        },
        &dh,
        kem_ss.as_ref(),
    );
    let sealed = wrap::seal_with_nonce(&key, &aad(format, &prekey.kid), plaintext, NONCE);
    Ok(Envelope {
        format: format.id().to_owned(),
        kid: prekey.kid.clone(),
        epk,
        kem_ct,
        ct: sealed.ct,
    })
}

/// Checks an envelope's shape before any key is touched: known format, valid kid, a KEM
/// ciphertext exactly when the format is hybrid, a size within bounds.
///
/// # Errors
/// [`EnvelopeError::Format`], [`EnvelopeError::Kid`], [`EnvelopeError::Malformed`] or
/// [`EnvelopeError::TooLarge`].
pub fn check(envelope: &Envelope) -> Result<EnvelopeFormat, EnvelopeError> {
    let format = EnvelopeFormat::parse(&envelope.format)?;
    check_kid(&envelope.kid)?;
    match (format.is_hybrid(), &envelope.kem_ct) {
        (true, None) => return Err(EnvelopeError::Malformed("kem_ct missing")),
        (false, Some(_)) => return Err(EnvelopeError::Malformed("unexpected kem_ct")),
        _ => {}
    }
    if envelope.ct.len() > MAX_PLAINTEXT_LEN + wrap::TAG_LEN {
        return Err(EnvelopeError::TooLarge(envelope.ct.len()));
    }
    Ok(format)
}

/// Opens an envelope with the private prekey `kid` names.
///
/// # Errors
/// Shape errors as [`check`]; [`EnvelopeError::KidMismatch`] or
/// [`EnvelopeError::FormatMismatch`] for an envelope sealed to another key;
/// [`EnvelopeError::Key`] for a malformed KEM ciphertext or a low-order ephemeral key;
/// [`EnvelopeError::Decryption`] for anything that fails authentication.
pub fn open(
    envelope: &Envelope,
    kid: &str,
    secret: &PrekeySecret,
) -> Result<SecretBytes, EnvelopeError> {
    let format = check(envelope)?;
    if envelope.kid != kid {
        return Err(EnvelopeError::KidMismatch {
            expected: kid.chars().take(MAX_KID_LEN).collect(),
            got: envelope.kid.chars().take(MAX_KID_LEN).collect(),
        });
    }
    if secret.format() != format {
        return Err(EnvelopeError::FormatMismatch {
            expected: secret.format().id(),
            got: format.id(),
        });
    }
    let dh = secret.x25519.agree(&envelope.epk)?;
    let kem_ss = match (&secret.kem, &envelope.kem_ct) {
        (Some(kem), Some(ct)) => Some(kem.decapsulate(ct)?),
        _ => None,
    };
    let recipient = secret.public_key();
    let key = derive_key(
        &Transcript {
            format,
            kid,
            epk: &envelope.epk,
            recipient: &recipient,
            pqc: secret.pqc_public_key(),
            kem_ct: envelope.kem_ct.as_deref().unwrap_or_default(),
        },
        &dh,
        kem_ss.as_ref(),
    );
    let sealed = Sealed {
        alg: format::AES256GCM_V1.to_owned(),
        nonce: NONCE,
        ct: envelope.ct.clone(),
    };
    wrap::open(&key, &aad(format, kid), &sealed).map_err(|_| EnvelopeError::Decryption)
}
