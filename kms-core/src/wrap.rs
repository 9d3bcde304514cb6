//! Authenticated wrapping of secrets under a 256-bit key: AES-256-GCM (`aes256gcm-v1`).
//!
//! Every private key the enclave stores is a [`Sealed`] object under the KEK, and the KEK is a
//! [`Sealed`] object under each unlock key. The associated data binds a sealed object to the
//! record that holds it (key id, kind, algorithm, origin shard, format version), so sealed
//! bytes moved to another record fail to open.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::format::{self, AES256GCM_V1, FormatError};
use crate::secret::{Secret32, SecretBytes};

/// Length of an `aes256gcm-v1` nonce.
pub const NONCE_LEN: usize = 12;
/// Length of an `aes256gcm-v1` tag.
pub const TAG_LEN: usize = 16;

/// A secret sealed under a wrapping key. Stored as `{"alg","nonce","ct"}` (base64url bytes).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// Algorithm id; only [`AES256GCM_V1`] is written today.
    pub alg: String,
    /// Random 96-bit nonce.
    #[serde(with = "crate::b64::serde_array")]
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the 128-bit tag.
    #[serde(with = "crate::b64::serde_bytes")]
    pub ct: Vec<u8>,
}

impl core::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Ciphertext is not secret, but it is noise in logs.
        write!(f, "Sealed({}, {} bytes)", self.alg, self.ct.len())
    }
}

/// Why a sealed object could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The object names an algorithm this build cannot open.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Wrong key, wrong associated data, or modified bytes. Deliberately one opaque case.
    #[error("authentication failed: wrong key or modified data")]
    Authentication,
}

/// Seals `plaintext` under `key` with associated data `aad` and a fresh random nonce.
pub fn seal<R: CryptoRng + ?Sized>(
    key: &Secret32,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Sealed {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    seal_with_nonce(key, aad, plaintext, nonce)
}

/// Seals with a caller-chosen nonce, which must never repeat under the same key. Only for
/// platforms that draw the nonce themselves (see [`crate::DeviceKey`]); prefer [`seal`].
pub fn seal_with_nonce(
    key: &Secret32,
    aad: &[u8],
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Sealed {
    let cipher = Aes256Gcm::new(key.expose().into());
    // Encryption fails only for inputs beyond GCM's 64 GiB limit, which no caller can reach
    // (RPC messages are capped far lower); an empty ciphertext would then fail to open.
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    Sealed {
        alg: AES256GCM_V1.to_owned(),
        nonce,
        ct,
    }
}

/// Opens a sealed object.
///
/// # Errors
/// [`WrapError::Format`] for an unknown algorithm id; [`WrapError::Authentication`] for a wrong
/// key, wrong associated data or any modification.
pub fn open(key: &Secret32, aad: &[u8], sealed: &Sealed) -> Result<SecretBytes, WrapError> {
    format::expect_id(&sealed.alg, AES256GCM_V1)?;
    if sealed.ct.len() < TAG_LEN {
        return Err(WrapError::Authentication);
    }
    let cipher = Aes256Gcm::new(key.expose().into());
    cipher
        .decrypt(
            &Nonce::from(sealed.nonce),
            Payload {
                msg: &sealed.ct,
                aad,
            },
        )
        .map(SecretBytes::new)
        .map_err(|_| WrapError::Authentication)
}

/// Opens a sealed 32-byte secret.
///
/// # Errors
/// As [`open`]; a plaintext that is not 32 bytes is reported as [`WrapError::Authentication`]
/// (it can only come from a forged record sealed under the right key, which is impossible).
pub fn open32(key: &Secret32, aad: &[u8], sealed: &Sealed) -> Result<Secret32, WrapError> {
    let bytes = open(key, aad, sealed)?;
    Secret32::from_slice(bytes.expose()).map_err(|_| WrapError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn round_trip() {
        let key = Secret32::from_bytes([9; 32]);
        let s = seal(&key, b"aad", b"secret", &mut rng());
        assert_eq!(s.ct.len(), 6 + TAG_LEN);
        assert_eq!(open(&key, b"aad", &s).unwrap().expose(), b"secret");
    }

    #[test]
    fn wrong_key_aad_or_bytes_fail_opaquely() {
        let key = Secret32::from_bytes([9; 32]);
        let s = seal(&key, b"aad", b"secret", &mut rng());
        let other = Secret32::from_bytes([8; 32]);
        assert_eq!(
            open(&other, b"aad", &s).unwrap_err(),
            WrapError::Authentication
        );
        assert_eq!(
            open(&key, b"aaD", &s).unwrap_err(),
            WrapError::Authentication
        );
        for i in 0..s.ct.len() {
            let mut t = s.clone();
            t.ct[i] ^= 1;
            assert_eq!(
                open(&key, b"aad", &t).unwrap_err(),
                WrapError::Authentication
            );
        }
        let mut t = s.clone();
        t.nonce[0] ^= 1;
        assert_eq!(
            open(&key, b"aad", &t).unwrap_err(),
            WrapError::Authentication
        );
        let mut t = s;
        t.ct.truncate(3);
        assert_eq!(
            open(&key, b"aad", &t).unwrap_err(),
            WrapError::Authentication
        );
    }

    #[test]
    fn unknown_algorithm_is_named() {
        let key = Secret32::from_bytes([9; 32]);
        let mut s = seal(&key, b"", b"x", &mut rng());
        s.alg = "chacha20poly1305-v1".into();
        assert!(matches!(
            open(&key, b"", &s),
            Err(WrapError::Format(FormatError::UnknownAlgorithm { .. }))
        ));
    }

    #[test]
    fn serde_form_is_strict() {
        let key = Secret32::from_bytes([9; 32]);
        let s = seal(&key, b"", b"x", &mut rng());
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.starts_with(r#"{"alg":"aes256gcm-v1","nonce":""#),
            "{json}"
        );
        let back: Sealed = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let extra = json.replacen('{', r#"{"x":1,"#, 1);
        assert!(serde_json::from_str::<Sealed>(&extra).is_err());
    }

    /// NIST GCM test case 16 (AES-256, 96-bit IV, with AAD), via the public API.
    #[test]
    fn aes256gcm_known_answer() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let key = Secret32::from_slice(&hex(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        ))
        .unwrap();
        let nonce: [u8; 12] = hex("cafebabefacedbaddecaf888").try_into().unwrap();
        let pt = hex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let mut ct = hex(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        );
        ct.extend(hex("76fc6ece0f4e1768cddf8853bb2d551b"));
        let sealed = Sealed {
            alg: AES256GCM_V1.into(),
            nonce,
            ct,
        };
        assert_eq!(open(&key, &aad, &sealed).unwrap().expose(), &pt[..]);
    }
}
