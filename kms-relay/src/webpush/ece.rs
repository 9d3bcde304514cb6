//! RFC 8291 message encryption in the RFC 8188 `aes128gcm` content coding, one record.
//!
//! The body is `salt (16) ‖ rs (u32 big-endian, 4096) ‖ idlen (1, = 65) ‖ keyid ‖ record`,
//! where `keyid` is the sender's ephemeral P-256 public key (uncompressed) and the record is
//! AES-128-GCM over `plaintext ‖ 0x02` (the last-record delimiter, no padding). Keys come
//! from ECDH with the subscription's `p256dh` key mixed with its `auth` secret
//! (RFC 8291 §3.3–3.4):
//!
//! ```text
//! IKM   = HKDF-SHA256(salt = auth, ikm = ECDH, info = "WebPush: info\0" ‖ ua_public ‖ as_public, 32)
//! CEK   = HKDF-SHA256(salt = salt, ikm = IKM,  info = "Content-Encoding: aes128gcm\0", 16)
//! NONCE = HKDF-SHA256(salt = salt, ikm = IKM,  info = "Content-Encoding: nonce\0", 12)
//! ```
//!
//! Test vector: RFC 8291 Appendix A, byte for byte (`tests::rfc8291_appendix_a`).

use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::Generate as _;
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::{PublicKey, SecretKey};
use rand::CryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::subscription::SubscriptionKeys;

/// The record size we write (`rs`): 4096, the largest body push services accept.
pub const RECORD_SIZE: u32 = 4096;
/// Salt length.
pub const SALT_LEN: usize = 16;
/// An uncompressed P-256 point, the `keyid` of the header.
pub const KEY_ID_LEN: usize = 65;
/// The header: salt, record size, key id length, key id.
pub const HEADER_LEN: usize = SALT_LEN + 4 + 1 + KEY_ID_LEN;
/// The AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// The largest body push services must accept (RFC 8030 §7.2: 4096 bytes).
pub const MAX_BODY_LEN: usize = 4096;
/// The largest plaintext whose body fits [`MAX_BODY_LEN`]: 3993 bytes.
pub const MAX_PLAINTEXT_LEN: usize = MAX_BODY_LEN - HEADER_LEN - TAG_LEN - 1;

const KEY_INFO: &[u8] = b"WebPush: info\0";
const CEK_INFO: &[u8] = b"Content-Encoding: aes128gcm\0";
const NONCE_INFO: &[u8] = b"Content-Encoding: nonce\0";
/// RFC 8188 §2: a record must hold at least the tag and one octet.
const MIN_RECORD_SIZE: u32 = 18;
const LAST_RECORD: u8 = 0x02;

/// An `aes128gcm` body could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EceError {
    /// A key or secret has the wrong length.
    #[error("{what}: expected {expected} bytes, got {got}")]
    KeyLength {
        /// Which value.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A public key is not an uncompressed point on P-256.
    #[error("{what}: not an uncompressed P-256 point")]
    InvalidPoint {
        /// Which key.
        what: &'static str,
    },
    /// A private key is not a valid P-256 scalar.
    #[error("{what}: not a valid P-256 private key")]
    InvalidScalar {
        /// Which key.
        what: &'static str,
    },
    /// The plaintext does not fit one record of a 4096-byte body.
    #[error("payload of {len} bytes: at most {max} fit one 4096-byte push message")]
    PayloadTooLarge {
        /// Plaintext length.
        len: usize,
        /// [`MAX_PLAINTEXT_LEN`].
        max: usize,
    },
    /// The body is shorter than a header and a minimal record.
    #[error("body of {len} bytes: shorter than the aes128gcm header and one record")]
    BodyTooShort {
        /// Body length.
        len: usize,
    },
    /// The key id is not a 65-byte public key.
    #[error("aes128gcm key id of {got} bytes: expected a 65-byte P-256 public key")]
    KeyIdLength {
        /// `idlen` in the header.
        got: usize,
    },
    /// The record size is below the minimum, or the body holds more than one record.
    #[error("record size {rs} with {len} bytes of records: expected one record, rs >= 18")]
    RecordSize {
        /// `rs` in the header.
        rs: u32,
        /// Bytes after the header.
        len: usize,
    },
    /// The record does not authenticate: wrong keys, or the body was modified.
    #[error("the record does not authenticate (wrong keys or a modified body)")]
    Authentication,
    /// The decrypted record does not end with the last-record delimiter `0x02`.
    #[error("the record has no last-record padding delimiter")]
    Padding,
}

/// Encrypts `plaintext` to a subscription with a fresh ephemeral key and salt.
///
/// # Errors
/// [`EceError::PayloadTooLarge`] above [`MAX_PLAINTEXT_LEN`].
pub fn encrypt<R: CryptoRng + ?Sized>(
    keys: &SubscriptionKeys,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, EceError> {
    let ephemeral = SecretKey::generate_from_rng(rng);
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    encrypt_with_key(keys, plaintext, &ephemeral, &salt)
}

/// Encrypts with a given ephemeral private key (32-byte scalar) and salt: for test vectors.
/// Never reuse either for a second message.
///
/// # Errors
/// [`EceError::InvalidScalar`] for a bad ephemeral key; [`EceError::PayloadTooLarge`].
pub fn encrypt_with(
    keys: &SubscriptionKeys,
    plaintext: &[u8],
    ephemeral_private: &[u8; 32],
    salt: &[u8; SALT_LEN],
) -> Result<Vec<u8>, EceError> {
    let ephemeral =
        SecretKey::from_slice(ephemeral_private).map_err(|_| EceError::InvalidScalar {
            what: "ephemeral key",
        })?;
    encrypt_with_key(keys, plaintext, &ephemeral, salt)
}

fn encrypt_with_key(
    keys: &SubscriptionKeys,
    plaintext: &[u8],
    ephemeral: &SecretKey,
    salt: &[u8; SALT_LEN],
) -> Result<Vec<u8>, EceError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(EceError::PayloadTooLarge {
            len: plaintext.len(),
            max: MAX_PLAINTEXT_LEN,
        });
    }
    let ua_public = parse_point(keys.p256dh(), "p256dh")?;
    let as_public = uncompressed(&ephemeral.public_key());
    let (cek, nonce) = derive(
        ephemeral,
        &ua_public,
        keys.p256dh(),
        &as_public,
        keys.auth(),
        salt,
    )?;
    let mut record = Zeroizing::new(Vec::with_capacity(plaintext.len() + 1));
    record.extend_from_slice(plaintext);
    record.push(LAST_RECORD);
    let cipher = Aes128Gcm::new(&(*cek).into());
    // AES-GCM fails only beyond its 64 GiB limit; the record is at most 3994 bytes.
    let ciphertext = cipher
        .encrypt(&Nonce::from(*nonce), record.as_slice())
        .map_err(|_| EceError::Authentication)?;
    let mut body = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(KEY_ID_LEN as u8);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&ciphertext);
    Ok(body)
}

/// Decrypts an `aes128gcm` push message body with the subscription's private key (32-byte
/// scalar) and `auth` secret (16 bytes), as the user agent does.
///
/// # Errors
/// [`EceError`] naming the first failed check.
pub fn decrypt(ua_private: &[u8], auth_secret: &[u8], body: &[u8]) -> Result<Vec<u8>, EceError> {
    Receiver::from_bytes(ua_private, auth_secret)?.decrypt(body)
}

/// A subscriber's keys: what a user agent keeps for one push subscription (for tests and
/// local receivers; browsers keep their own).
pub struct Receiver {
    secret: SecretKey,
    auth: [u8; 16],
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl Receiver {
    /// A fresh key pair and `auth` secret.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut auth = [0u8; 16];
        rng.fill_bytes(&mut auth);
        Self {
            secret: SecretKey::generate_from_rng(rng),
            auth,
        }
    }

    /// Rebuilds a receiver from its private scalar (32 bytes) and `auth` secret (16 bytes).
    ///
    /// # Errors
    /// [`EceError::KeyLength`] or [`EceError::InvalidScalar`].
    pub fn from_bytes(private: &[u8], auth: &[u8]) -> Result<Self, EceError> {
        let auth: [u8; 16] = auth.try_into().map_err(|_| EceError::KeyLength {
            what: "auth secret",
            expected: 16,
            got: auth.len(),
        })?;
        if private.len() != 32 {
            return Err(EceError::KeyLength {
                what: "private key",
                expected: 32,
                got: private.len(),
            });
        }
        let secret = SecretKey::from_slice(private).map_err(|_| EceError::InvalidScalar {
            what: "private key",
        })?;
        Ok(Self { secret, auth })
    }

    /// The private scalar.
    pub fn private_key(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes().into())
    }

    /// The public half, as a subscription carries it.
    pub fn keys(&self) -> SubscriptionKeys {
        SubscriptionKeys::from_parts(uncompressed(&self.secret.public_key()), self.auth)
    }

    /// Decrypts a push message body.
    ///
    /// # Errors
    /// [`EceError`] naming the first failed check.
    pub fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, EceError> {
        if body.len() < SALT_LEN + 5 {
            return Err(EceError::BodyTooShort { len: body.len() });
        }
        let (salt, rest) = body.split_at(SALT_LEN);
        let (rs, rest) = rest.split_at(4);
        let rs = u32::from_be_bytes([rs[0], rs[1], rs[2], rs[3]]);
        let (idlen, rest) = rest.split_at(1);
        let idlen = usize::from(idlen[0]);
        if idlen != KEY_ID_LEN {
            return Err(EceError::KeyIdLength { got: idlen });
        }
        if rest.len() < KEY_ID_LEN + TAG_LEN + 1 {
            return Err(EceError::BodyTooShort { len: body.len() });
        }
        let (key_id, ciphertext) = rest.split_at(KEY_ID_LEN);
        if rs < MIN_RECORD_SIZE || ciphertext.len() > rs as usize {
            return Err(EceError::RecordSize {
                rs,
                len: ciphertext.len(),
            });
        }
        let as_public = parse_point(key_id, "aes128gcm key id")?;
        let ua_public = uncompressed(&self.secret.public_key());
        let salt: &[u8; SALT_LEN] = salt
            .try_into()
            .map_err(|_| EceError::BodyTooShort { len: body.len() })?;
        let (cek, nonce) = derive_receiving(
            &self.secret,
            &as_public,
            &ua_public,
            key_id,
            &self.auth,
            salt,
        )?;
        let cipher = Aes128Gcm::new(&(*cek).into());
        let mut record = Zeroizing::new(
            cipher
                .decrypt(&Nonce::from(*nonce), ciphertext)
                .map_err(|_| EceError::Authentication)?,
        );
        let end = record
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(EceError::Padding)?;
        if record[end] != LAST_RECORD {
            return Err(EceError::Padding);
        }
        record.truncate(end);
        Ok(record.to_vec())
    }
}

type Derived = (Zeroizing<[u8; 16]>, Zeroizing<[u8; 12]>);

/// The sender's derivation: ECDH with the subscriber's key.
fn derive(
    ephemeral: &SecretKey,
    ua_public: &PublicKey,
    ua_bytes: &[u8],
    as_bytes: &[u8],
    auth: &[u8; 16],
    salt: &[u8; SALT_LEN],
) -> Result<Derived, EceError> {
    let shared = p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), ua_public.as_affine());
    keys_from_shared(shared.raw_secret_bytes(), ua_bytes, as_bytes, auth, salt)
}

/// The receiver's derivation: ECDH with the sender's ephemeral key.
fn derive_receiving(
    secret: &SecretKey,
    as_public: &PublicKey,
    ua_bytes: &[u8],
    as_bytes: &[u8],
    auth: &[u8; 16],
    salt: &[u8; SALT_LEN],
) -> Result<Derived, EceError> {
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), as_public.as_affine());
    keys_from_shared(shared.raw_secret_bytes(), ua_bytes, as_bytes, auth, salt)
}

fn keys_from_shared(
    shared: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    auth: &[u8; 16],
    salt: &[u8; SALT_LEN],
) -> Result<Derived, EceError> {
    // Expansions below fail only for output lengths over 255 × 32 bytes.
    let expand_failed = |_| EceError::Authentication;
    let mut ikm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(auth), shared)
        .expand_multi_info(&[KEY_INFO, ua_public, as_public], ikm.as_mut())
        .map_err(expand_failed)?;
    let prk = Hkdf::<Sha256>::new(Some(salt), ikm.as_ref());
    let mut cek = Zeroizing::new([0u8; 16]);
    prk.expand(CEK_INFO, cek.as_mut()).map_err(expand_failed)?;
    let mut nonce = Zeroizing::new([0u8; 12]);
    prk.expand(NONCE_INFO, nonce.as_mut())
        .map_err(expand_failed)?;
    Ok((cek, nonce))
}

pub(crate) fn parse_point(bytes: &[u8], what: &'static str) -> Result<PublicKey, EceError> {
    if bytes.len() != KEY_ID_LEN || bytes[0] != 0x04 {
        return Err(EceError::InvalidPoint { what });
    }
    PublicKey::from_sec1_bytes(bytes).map_err(|_| EceError::InvalidPoint { what })
}

fn uncompressed(key: &PublicKey) -> [u8; KEY_ID_LEN] {
    let point = key.to_sec1_point(false);
    let mut out = [0u8; KEY_ID_LEN];
    out.copy_from_slice(point.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kms_core::hazmat::b64;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    // RFC 8291 Appendix A (base64url, line breaks removed).
    const PLAINTEXT: &[u8] = b"When I grow up, I want to be a watermelon";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const ECDH_SECRET: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
    const IKM: &str = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg";
    const CEK: &str = "oIhVW04MRdy2XN9CiKLxTg";
    const NONCE: &str = "4h_95klXJ5E_qnoN";
    const HEADER: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const CIPHERTEXT: &str =
        "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ";

    fn d(s: &str) -> Vec<u8> {
        b64::decode(s).unwrap()
    }

    fn rfc_keys() -> SubscriptionKeys {
        SubscriptionKeys::new(&d(UA_PUBLIC), &d(AUTH)).unwrap()
    }

    fn rfc_body() -> Vec<u8> {
        let as_private: [u8; 32] = d(AS_PRIVATE).try_into().unwrap();
        let salt: [u8; 16] = d(SALT).try_into().unwrap();
        encrypt_with(&rfc_keys(), PLAINTEXT, &as_private, &salt).unwrap()
    }

    #[test]
    fn rfc8291_appendix_a() {
        let body = rfc_body();
        let mut want = d(HEADER);
        want.extend(d(CIPHERTEXT));
        assert_eq!(body, want);
        assert_eq!(body.len(), 144);
        assert_eq!(
            &body[HEADER_LEN - KEY_ID_LEN..HEADER_LEN],
            d(AS_PUBLIC).as_slice()
        );
    }

    #[test]
    fn rfc8291_appendix_a_intermediate_values() {
        let as_private = SecretKey::from_slice(&d(AS_PRIVATE)).unwrap();
        let ua_public = PublicKey::from_sec1_bytes(&d(UA_PUBLIC)).unwrap();
        let shared =
            p256::ecdh::diffie_hellman(as_private.to_nonzero_scalar(), ua_public.as_affine());
        assert_eq!(
            shared.raw_secret_bytes().as_slice(),
            d(ECDH_SECRET).as_slice()
        );
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&d(AUTH)), &d(ECDH_SECRET))
            .expand_multi_info(&[KEY_INFO, &d(UA_PUBLIC), &d(AS_PUBLIC)], &mut ikm)
            .unwrap();
        assert_eq!(ikm.as_slice(), d(IKM).as_slice());
        let salt: [u8; 16] = d(SALT).try_into().unwrap();
        let auth: [u8; 16] = d(AUTH).try_into().unwrap();
        let (cek, nonce) =
            keys_from_shared(&d(ECDH_SECRET), &d(UA_PUBLIC), &d(AS_PUBLIC), &auth, &salt).unwrap();
        assert_eq!(cek.as_slice(), d(CEK).as_slice());
        assert_eq!(nonce.as_slice(), d(NONCE).as_slice());
    }

    #[test]
    fn rfc8291_appendix_a_decrypts() {
        assert_eq!(
            decrypt(&d(UA_PRIVATE), &d(AUTH), &rfc_body()).unwrap(),
            PLAINTEXT
        );
        let receiver = Receiver::from_bytes(&d(UA_PRIVATE), &d(AUTH)).unwrap();
        assert_eq!(receiver.keys(), rfc_keys());
    }

    #[test]
    fn round_trip_with_fresh_keys() {
        let mut rng = StdRng::seed_from_u64(1);
        let receiver = Receiver::generate(&mut rng);
        for len in [0, 1, 100, MAX_PLAINTEXT_LEN] {
            let plaintext = vec![0x5a; len];
            let body = encrypt(&receiver.keys(), &plaintext, &mut rng).unwrap();
            assert_eq!(body.len(), HEADER_LEN + len + 1 + TAG_LEN);
            assert!(body.len() <= MAX_BODY_LEN);
            assert_eq!(&body[16..21], &[0, 0, 0x10, 0, 65]);
            assert_eq!(receiver.decrypt(&body).unwrap(), plaintext);
        }
        let again =
            Receiver::from_bytes(receiver.private_key().as_ref(), receiver.keys().auth()).unwrap();
        let body = encrypt(&receiver.keys(), b"hi", &mut rng).unwrap();
        assert_eq!(again.decrypt(&body).unwrap(), b"hi");
    }

    #[test]
    fn size_limit() {
        let mut rng = StdRng::seed_from_u64(2);
        let keys = Receiver::generate(&mut rng).keys();
        assert_eq!(MAX_PLAINTEXT_LEN, 3993);
        assert_eq!(
            encrypt(&keys, &[0; MAX_PLAINTEXT_LEN + 1], &mut rng),
            Err(EceError::PayloadTooLarge {
                len: MAX_PLAINTEXT_LEN + 1,
                max: MAX_PLAINTEXT_LEN
            })
        );
    }

    #[test]
    fn any_modified_byte_fails() {
        let receiver = Receiver::from_bytes(&d(UA_PRIVATE), &d(AUTH)).unwrap();
        let body = rfc_body();
        // The record size (bytes 16..20) is not authenticated: see below.
        for i in (0..16).chain(20..body.len()) {
            let mut bad = body.clone();
            bad[i] ^= 0x01;
            let err = receiver.decrypt(&bad).unwrap_err();
            let expected = match i {
                20 => err == EceError::KeyIdLength { got: 64 },
                // the key id's first byte (0x04) or a point off the curve
                21 => {
                    err == EceError::InvalidPoint {
                        what: "aes128gcm key id",
                    }
                }
                _ => matches!(
                    err,
                    EceError::Authentication | EceError::InvalidPoint { .. }
                ),
            };
            assert!(expected, "byte {i}: {err:?}");
        }
        // Changing rs to another valid size leaves the record intact: it is not authenticated.
        let mut other_rs = body.clone();
        other_rs[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(receiver.decrypt(&other_rs).unwrap(), PLAINTEXT);
    }

    #[test]
    fn wrong_auth_secret_or_key_fails() {
        let body = rfc_body();
        let mut auth = d(AUTH);
        auth[0] ^= 1;
        assert_eq!(
            decrypt(&d(UA_PRIVATE), &auth, &body),
            Err(EceError::Authentication)
        );
        let other = Receiver::generate(&mut StdRng::seed_from_u64(3));
        assert_eq!(
            decrypt(other.private_key().as_ref(), &d(AUTH), &body),
            Err(EceError::Authentication)
        );
    }

    #[test]
    fn malformed_bodies() {
        let receiver = Receiver::from_bytes(&d(UA_PRIVATE), &d(AUTH)).unwrap();
        let body = rfc_body();
        assert_eq!(
            receiver.decrypt(&body[..10]),
            Err(EceError::BodyTooShort { len: 10 })
        );
        assert_eq!(
            receiver.decrypt(&body[..HEADER_LEN + TAG_LEN]),
            Err(EceError::BodyTooShort {
                len: HEADER_LEN + TAG_LEN
            })
        );
        let mut small_rs = body.clone();
        small_rs[16..20].copy_from_slice(&17u32.to_be_bytes());
        assert!(matches!(
            receiver.decrypt(&small_rs),
            Err(EceError::RecordSize { rs: 17, .. })
        ));
        let mut two_records = body.clone();
        two_records[16..20].copy_from_slice(&40u32.to_be_bytes());
        assert!(matches!(
            receiver.decrypt(&two_records),
            Err(EceError::RecordSize { rs: 40, len: 58 })
        ));
    }

    #[test]
    fn missing_delimiter_is_a_padding_error() {
        // A record sealed without the 0x02 delimiter (as a non-conforming sender would).
        let mut rng = StdRng::seed_from_u64(4);
        let receiver = Receiver::generate(&mut rng);
        let keys = receiver.keys();
        let ephemeral = SecretKey::generate_from_rng(&mut rng);
        let salt = [7u8; 16];
        let ua_public = PublicKey::from_sec1_bytes(keys.p256dh()).unwrap();
        let as_public = uncompressed(&ephemeral.public_key());
        let (cek, nonce) = derive(
            &ephemeral,
            &ua_public,
            keys.p256dh(),
            &as_public,
            keys.auth(),
            &salt,
        )
        .unwrap();
        for record in [&b"no delimiter\x01"[..], &b"\0\0\0"[..]] {
            let ct = Aes128Gcm::new(&(*cek).into())
                .encrypt(&Nonce::from(*nonce), record)
                .unwrap();
            let mut body = salt.to_vec();
            body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
            body.push(65);
            body.extend_from_slice(&as_public);
            body.extend_from_slice(&ct);
            assert_eq!(receiver.decrypt(&body), Err(EceError::Padding));
        }
    }

    #[test]
    fn bad_keys() {
        assert_eq!(
            Receiver::from_bytes(&[1; 31], &[0; 16]).unwrap_err(),
            EceError::KeyLength {
                what: "private key",
                expected: 32,
                got: 31
            }
        );
        assert_eq!(
            Receiver::from_bytes(&[0; 32], &[0; 16]).unwrap_err(),
            EceError::InvalidScalar {
                what: "private key"
            }
        );
        assert_eq!(
            Receiver::from_bytes(&[1; 32], &[0; 15]).unwrap_err(),
            EceError::KeyLength {
                what: "auth secret",
                expected: 16,
                got: 15
            }
        );
        let keys = rfc_keys();
        assert_eq!(
            encrypt_with(&keys, b"x", &[0; 32], &[0; 16]),
            Err(EceError::InvalidScalar {
                what: "ephemeral key"
            })
        );
    }
}
