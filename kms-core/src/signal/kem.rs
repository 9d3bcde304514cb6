//! Post-quantum KEM keys for Kyber prekeys.
//!
//! Three algorithms share one private-key form, the FIPS 203 64-byte seed `d ‖ z`:
//!
//! - [`KemAlgorithm::Kyber1024`]: CRYSTALS-Kyber-1024 (round 3), the KEM libsignal uses for
//!   PQXDH (type byte `0x08`). Keys and ciphertexts have the ML-KEM-1024 layout; only the
//!   derivation of the shared secret differs (see [`encapsulate`]).
//! - [`KemAlgorithm::MlKem1024`]: ML-KEM-1024 (FIPS 203, type byte `0x0A` as libsignal assigns
//!   it; current libsignal releases do not enable it).
//! - [`KemAlgorithm::MlKem768`]: ML-KEM-768 (FIPS 203). libsignal has no type byte for it;
//!   this crate uses the local value `0xE7`, which libsignal peers refuse.
//!
//! Serialized public keys and ciphertexts carry the type byte first, as libsignal does.

use core::fmt;

use ml_kem::{B32, Decapsulate, KeyExport, Seed, TryKeyInit};
use rand_core::CryptoRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use sha3::{Digest, Sha3_256};
use shake::{ExtendableOutput, Shake256, Update, XofReader};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::{SignalError, check_len};
use crate::secret::{Secret32, SecretBytes};

/// libsignal's type byte for Kyber-1024 keys and ciphertexts (`kem::KeyType::Kyber1024`).
pub const KYBER1024_TYPE: u8 = 0x08;
/// libsignal's type byte for ML-KEM-1024 keys and ciphertexts (`kem::KeyType::MLKEM1024`).
pub const MLKEM1024_TYPE: u8 = 0x0A;
/// This crate's type byte for ML-KEM-768 (not assigned by libsignal).
pub const MLKEM768_TYPE: u8 = 0xE7;
/// Length of the private key form: the FIPS 203 seed `d ‖ z` (FIPS 203 §7.1, ML-KEM.KeyGen).
pub const SEED_LENGTH: usize = 64;

/// A KEM for Kyber prekeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KemAlgorithm {
    /// CRYSTALS-Kyber-1024 (round 3), what libsignal uses today.
    #[serde(rename = "kyber1024")]
    Kyber1024,
    /// ML-KEM-1024 (FIPS 203).
    #[serde(rename = "mlkem1024")]
    MlKem1024,
    /// ML-KEM-768 (FIPS 203).
    #[serde(rename = "mlkem768")]
    MlKem768,
}

impl KemAlgorithm {
    /// The type byte that prefixes serialized keys and ciphertexts.
    pub const fn type_byte(self) -> u8 {
        match self {
            Self::Kyber1024 => KYBER1024_TYPE,
            Self::MlKem1024 => MLKEM1024_TYPE,
            Self::MlKem768 => MLKEM768_TYPE,
        }
    }

    /// The algorithm a type byte names.
    ///
    /// # Errors
    /// [`SignalError::WrongType`] for any other byte.
    pub fn from_type_byte(what: &'static str, byte: u8) -> Result<Self, SignalError> {
        match byte {
            KYBER1024_TYPE => Ok(Self::Kyber1024),
            MLKEM1024_TYPE => Ok(Self::MlKem1024),
            MLKEM768_TYPE => Ok(Self::MlKem768),
            got => Err(SignalError::WrongType {
                what,
                expected: "0x08 (Kyber-1024), 0x0a (ML-KEM-1024) or 0xe7 (ML-KEM-768)",
                got,
            }),
        }
    }

    /// Length of the raw encapsulation key (FIPS 203 Table 3: `384k + 32`).
    pub const fn public_key_length(self) -> usize {
        match self {
            Self::Kyber1024 | Self::MlKem1024 => 1568,
            Self::MlKem768 => 1184,
        }
    }

    /// Length of the raw ciphertext (FIPS 203 Table 3: `32(d_u·k + d_v)`).
    pub const fn ciphertext_length(self) -> usize {
        match self {
            Self::Kyber1024 | Self::MlKem1024 => 1568,
            Self::MlKem768 => 1088,
        }
    }

    /// Human-readable name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Kyber1024 => "Kyber-1024",
            Self::MlKem1024 => "ML-KEM-1024",
            Self::MlKem768 => "ML-KEM-768",
        }
    }
}

impl fmt::Display for KemAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The per-parameter-set operations, on byte strings. `None` means a wrong length or a key
/// that fails validation.
macro_rules! parameter_set {
    ($name:ident, $module:ident) => {
        mod $name {
            #![allow(deprecated)]
            use super::*;
            use ml_kem::$module as p;

            pub(super) fn public_from_seed(seed: &[u8; SEED_LENGTH]) -> Vec<u8> {
                let dk = p::DecapsulationKey::from_seed(Seed::from(*seed));
                dk.encapsulation_key().to_bytes().to_vec()
            }

            pub(super) fn valid_public(ek: &[u8]) -> bool {
                p::EncapsulationKey::new_from_slice(ek).is_ok()
            }

            pub(super) fn encapsulate(
                ek: &[u8],
                m: &[u8; 32],
            ) -> Option<(Vec<u8>, Zeroizing<[u8; 32]>)> {
                let ek = p::EncapsulationKey::new_from_slice(ek).ok()?;
                let (ct, k) = ek.encapsulate_deterministic(&B32::from(*m));
                Some((ct.to_vec(), Zeroizing::new(k.into())))
            }

            pub(super) fn decapsulate(
                seed: &[u8; SEED_LENGTH],
                ct: &[u8],
            ) -> Option<Zeroizing<[u8; 32]>> {
                let dk = p::DecapsulationKey::from_seed(Seed::from(*seed));
                let k = dk.decapsulate_slice(ct).ok()?;
                Some(Zeroizing::new(k.into()))
            }

            pub(super) fn expanded(seed: &[u8; SEED_LENGTH]) -> Vec<u8> {
                use ml_kem::ExpandedKeyEncoding as _;
                let dk = p::DecapsulationKey::from_seed(Seed::from(*seed));
                dk.to_expanded_bytes().to_vec()
            }
        }
    };
}

parameter_set!(p768, ml_kem_768);
parameter_set!(p1024, ml_kem_1024);

/// SHA3-256 (Kyber round 3 `H`).
fn h(bytes: &[u8]) -> [u8; 32] {
    Sha3_256::digest(bytes).into()
}

/// SHAKE-256 with 32 bytes of output over `a ‖ b` (Kyber round 3 `KDF`, FIPS 203 `J`).
fn shake256_32(a: &[u8], b: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut x = Shake256::default();
    x.update(a);
    x.update(b);
    let mut out = Zeroizing::new([0u8; 32]);
    x.finalize_xof().read(&mut out[..]);
    out
}

/// A KEM public (encapsulation) key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KemPublicKey {
    algorithm: KemAlgorithm,
    key: Vec<u8>,
}

impl KemPublicKey {
    /// Wraps a raw encapsulation key (no type byte).
    ///
    /// # Errors
    /// [`SignalError::WrongLength`], or [`SignalError::InvalidKemKey`] if the key fails the
    /// FIPS 203 §7.2 modulus check.
    pub fn from_raw(algorithm: KemAlgorithm, key: &[u8]) -> Result<Self, SignalError> {
        check_len("KEM public key", algorithm.public_key_length(), key)?;
        let valid = match algorithm {
            KemAlgorithm::Kyber1024 | KemAlgorithm::MlKem1024 => p1024::valid_public(key),
            KemAlgorithm::MlKem768 => p768::valid_public(key),
        };
        if !valid {
            return Err(SignalError::InvalidKemKey {
                what: "KEM public key",
            });
        }
        Ok(Self {
            algorithm,
            key: key.to_vec(),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KemAlgorithm {
        self.algorithm
    }

    /// The raw encapsulation key, without the type byte.
    pub fn raw(&self) -> &[u8] {
        &self.key
    }

    /// libsignal serialization: `type byte ‖ encapsulation key`.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.key.len());
        out.push(self.algorithm.type_byte());
        out.extend_from_slice(&self.key);
        out
    }

    /// Parses `type byte ‖ encapsulation key`.
    ///
    /// # Errors
    /// [`SignalError::WrongLength`], [`SignalError::WrongType`] or
    /// [`SignalError::InvalidKemKey`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self, SignalError> {
        let (&ty, rest) = bytes.split_first().ok_or(SignalError::WrongLength {
            what: "KEM public key",
            expected: 1 + KemAlgorithm::Kyber1024.public_key_length(),
            got: 0,
        })?;
        let algorithm = KemAlgorithm::from_type_byte("KEM public key", ty)?;
        if rest.len() != algorithm.public_key_length() {
            return Err(SignalError::WrongLength {
                what: "KEM public key",
                expected: 1 + algorithm.public_key_length(),
                got: bytes.len(),
            });
        }
        Self::from_raw(algorithm, rest)
    }

    /// Encapsulates a fresh shared secret to this key; see [`encapsulate`].
    ///
    /// # Errors
    /// As [`encapsulate`].
    pub fn encapsulate<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<(Vec<u8>, Secret32), SignalError> {
        encapsulate(self, rng)
    }
}

impl fmt::Debug for KemPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: String = self
            .key
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        write!(f, "KemPublicKey({}, {head}…)", self.algorithm)
    }
}

/// Serialized as base64url of the libsignal form (type byte first).
impl Serialize for KemPublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(KemPublicKey::serialize(self)))
    }
}

impl<'de> Deserialize<'de> for KemPublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = crate::b64::decode(&text).map_err(D::Error::custom)?;
        KemPublicKey::deserialize(&bytes).map_err(D::Error::custom)
    }
}

/// Encapsulates a fresh 32-byte shared secret to `public`. Returns the serialized ciphertext
/// (`type byte ‖ ciphertext`) and the secret.
///
/// - ML-KEM: FIPS 203 §7.2 `ML-KEM.Encaps` with a random `m`.
/// - Kyber-1024 (round 3 specification, §1.3 `Kyber.CCAKEM.Enc`): `m = H(random)`,
///   `(K̄, r) = G(m ‖ H(pk))`, `c = Enc(pk, m, r)`, `K = KDF(K̄ ‖ H(c))` with `H = SHA3-256` and
///   `KDF = SHAKE-256`. `K̄` and `c` are exactly ML-KEM's internal encapsulation on `m`.
///
/// # Errors
/// [`SignalError::InvalidKemKey`] if the key no longer parses (not expected for a validated
/// key).
pub fn encapsulate<R: CryptoRng + ?Sized>(
    public: &KemPublicKey,
    rng: &mut R,
) -> Result<(Vec<u8>, Secret32), SignalError> {
    let mut m = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut m[..]);
    let invalid = SignalError::InvalidKemKey {
        what: "KEM public key",
    };
    let (ct, k) = match public.algorithm {
        KemAlgorithm::Kyber1024 => {
            let m = Zeroizing::new(h(&m[..]));
            let (ct, kbar) = p1024::encapsulate(&public.key, &m).ok_or(invalid)?;
            let k = shake256_32(&kbar[..], &h(&ct));
            (ct, k)
        }
        KemAlgorithm::MlKem1024 => p1024::encapsulate(&public.key, &m).ok_or(invalid)?,
        KemAlgorithm::MlKem768 => p768::encapsulate(&public.key, &m).ok_or(invalid)?,
    };
    let mut out = Vec::with_capacity(1 + ct.len());
    out.push(public.algorithm.type_byte());
    out.extend_from_slice(&ct);
    Ok((out, Secret32::from_bytes(*k)))
}

/// A KEM key pair. The private key is the 64-byte FIPS 203 seed `d ‖ z`.
#[derive(Clone)]
pub struct KemKeyPair {
    seed: SecretBytes,
    public: KemPublicKey,
}

impl KemKeyPair {
    /// A fresh random key pair.
    pub fn generate<R: CryptoRng + ?Sized>(algorithm: KemAlgorithm, rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; SEED_LENGTH]);
        rng.fill_bytes(&mut seed[..]);
        Self::from_seed(algorithm, &seed)
    }

    fn from_seed(algorithm: KemAlgorithm, seed: &[u8; SEED_LENGTH]) -> Self {
        let key = match algorithm {
            KemAlgorithm::Kyber1024 | KemAlgorithm::MlKem1024 => p1024::public_from_seed(seed),
            KemAlgorithm::MlKem768 => p768::public_from_seed(seed),
        };
        Self {
            seed: SecretBytes::new(seed.to_vec()),
            public: KemPublicKey { algorithm, key },
        }
    }

    /// Rebuilds a key pair from the bytes returned by [`KemKeyPair::secret_bytes`].
    ///
    /// # Errors
    /// [`SignalError::WrongLength`] unless `bytes` is 64 bytes long.
    pub fn from_secret_bytes(algorithm: KemAlgorithm, bytes: &[u8]) -> Result<Self, SignalError> {
        check_len("KEM private key seed", SEED_LENGTH, bytes)?;
        let mut seed = Zeroizing::new([0u8; SEED_LENGTH]);
        seed.copy_from_slice(bytes);
        Ok(Self::from_seed(algorithm, &seed))
    }

    /// The private key (the 64-byte seed), for wrapping by the key service.
    pub fn secret_bytes(&self) -> &SecretBytes {
        &self.seed
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KemAlgorithm {
        self.public.algorithm
    }

    /// The public key.
    pub fn public_key(&self) -> &KemPublicKey {
        &self.public
    }

    fn seed(&self) -> Zeroizing<[u8; SEED_LENGTH]> {
        let mut s = Zeroizing::new([0u8; SEED_LENGTH]);
        // Always SEED_LENGTH bytes by construction.
        s.copy_from_slice(self.seed.expose());
        s
    }

    /// Decapsulates a serialized ciphertext (`type byte ‖ ciphertext`).
    ///
    /// Decapsulation never fails cryptographically: a corrupted ciphertext yields an unrelated
    /// secret (implicit rejection), so later authentication fails instead.
    /// Kyber-1024 follows round 3 `Kyber.CCAKEM.Dec`: `K = KDF(K̄' ‖ H(c))`, or
    /// `KDF(z ‖ H(c))` when re-encryption does not match.
    ///
    /// # Errors
    /// [`SignalError::WrongLength`] or [`SignalError::WrongType`] for a ciphertext of another
    /// algorithm or size.
    pub fn decapsulate(&self, ciphertext: &[u8]) -> Result<Secret32, SignalError> {
        let algorithm = self.algorithm();
        let (&ty, ct) = ciphertext.split_first().ok_or(SignalError::WrongLength {
            what: "KEM ciphertext",
            expected: 1 + algorithm.ciphertext_length(),
            got: 0,
        })?;
        if ty != algorithm.type_byte() {
            return Err(match KemAlgorithm::from_type_byte("KEM ciphertext", ty) {
                Ok(got) => SignalError::KemMismatch {
                    expected: algorithm,
                    got,
                },
                Err(e) => e,
            });
        }
        check_len(
            "KEM ciphertext",
            1 + algorithm.ciphertext_length(),
            ciphertext,
        )?;
        let seed = self.seed();
        let bad_len = SignalError::WrongLength {
            what: "KEM ciphertext",
            expected: 1 + algorithm.ciphertext_length(),
            got: ciphertext.len(),
        };
        let k = match algorithm {
            KemAlgorithm::Kyber1024 => {
                // ML-KEM decapsulation returns K̄' on success and J(z ‖ c) on rejection; tell the
                // two apart by recomputing J(z ‖ c), then apply Kyber's final KDF.
                let kml = p1024::decapsulate(&seed, ct).ok_or(bad_len)?;
                let z = &seed[32..];
                let rejected = shake256_32(z, ct);
                let is_rejected = kml[..].ct_eq(&rejected[..]);
                let mut pre = Zeroizing::new([0u8; 32]);
                for i in 0..32 {
                    pre[i] = u8::conditional_select(&kml[i], &z[i], is_rejected);
                }
                shake256_32(&pre[..], &h(ct))
            }
            KemAlgorithm::MlKem1024 => p1024::decapsulate(&seed, ct).ok_or(bad_len)?,
            KemAlgorithm::MlKem768 => p768::decapsulate(&seed, ct).ok_or(bad_len)?,
        };
        Ok(Secret32::from_bytes(*k))
    }

    /// The private key in libsignal's `KEMSecretKey` form: `type byte ‖ expanded decapsulation
    /// key` (FIPS 203 `dk = dk_PKE ‖ ek ‖ H(ek) ‖ z`), for exporting to a libsignal store.
    pub fn to_libsignal_secret_key(&self) -> SecretBytes {
        let seed = self.seed();
        let expanded = Zeroizing::new(match self.algorithm() {
            KemAlgorithm::Kyber1024 | KemAlgorithm::MlKem1024 => p1024::expanded(&seed),
            KemAlgorithm::MlKem768 => p768::expanded(&seed),
        });
        let mut out = Vec::with_capacity(1 + expanded.len());
        out.push(self.algorithm().type_byte());
        out.extend_from_slice(&expanded);
        SecretBytes::new(out)
    }
}

impl fmt::Debug for KemKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KemKeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const ALL: [KemAlgorithm; 3] = [
        KemAlgorithm::Kyber1024,
        KemAlgorithm::MlKem1024,
        KemAlgorithm::MlKem768,
    ];

    #[test]
    fn round_trips_for_every_algorithm() {
        let mut rng = StdRng::seed_from_u64(5);
        for alg in ALL {
            let kp = KemKeyPair::generate(alg, &mut rng);
            let ser = kp.public_key().serialize();
            assert_eq!(ser.len(), 1 + alg.public_key_length());
            assert_eq!(ser[0], alg.type_byte());
            let pk = KemPublicKey::deserialize(&ser).unwrap();
            let (ct, ss) = encapsulate(&pk, &mut rng).unwrap();
            assert_eq!(ct.len(), 1 + alg.ciphertext_length());
            assert_eq!(kp.decapsulate(&ct).unwrap(), ss);
            let again = KemKeyPair::from_secret_bytes(alg, kp.secret_bytes().expose()).unwrap();
            assert_eq!(again.public_key(), kp.public_key());
            assert_eq!(again.decapsulate(&ct).unwrap(), ss);
        }
    }

    #[test]
    fn kyber_and_mlkem_differ_on_the_same_key() {
        let mut rng = StdRng::seed_from_u64(6);
        let kyber = KemKeyPair::generate(KemAlgorithm::Kyber1024, &mut rng);
        let ml =
            KemKeyPair::from_secret_bytes(KemAlgorithm::MlKem1024, kyber.secret_bytes().expose())
                .unwrap();
        assert_eq!(kyber.public_key().raw(), ml.public_key().raw());
        let (ct, ss) = kyber.public_key().encapsulate(&mut rng).unwrap();
        let mut as_ml = ct.clone();
        as_ml[0] = MLKEM1024_TYPE;
        assert_ne!(ml.decapsulate(&as_ml).unwrap(), ss);
        assert_eq!(kyber.decapsulate(&ct).unwrap(), ss);
    }

    #[test]
    fn corrupted_ciphertext_gives_implicit_rejection() {
        let mut rng = StdRng::seed_from_u64(7);
        for alg in ALL {
            let kp = KemKeyPair::generate(alg, &mut rng);
            let (mut ct, ss) = kp.public_key().encapsulate(&mut rng).unwrap();
            ct[10] ^= 1;
            let a = kp.decapsulate(&ct).unwrap();
            assert_ne!(a, ss);
            assert_eq!(kp.decapsulate(&ct).unwrap(), a, "deterministic rejection");
        }
    }

    #[test]
    fn typed_errors() {
        let mut rng = StdRng::seed_from_u64(8);
        let kp = KemKeyPair::generate(KemAlgorithm::Kyber1024, &mut rng);
        let ser = kp.public_key().serialize();
        assert_eq!(
            KemPublicKey::deserialize(&ser[..100]).unwrap_err(),
            SignalError::WrongLength {
                what: "KEM public key",
                expected: 1569,
                got: 100
            }
        );
        let mut wrong = ser.clone();
        wrong[0] = 0x05;
        assert!(matches!(
            KemPublicKey::deserialize(&wrong),
            Err(SignalError::WrongType { got: 0x05, .. })
        ));
        let mut bad = ser.clone();
        bad[1] = 0xFF;
        bad[2] = 0xFF;
        assert_eq!(
            KemPublicKey::deserialize(&bad).unwrap_err(),
            SignalError::InvalidKemKey {
                what: "KEM public key"
            }
        );
        let (ct, _) = kp.public_key().encapsulate(&mut rng).unwrap();
        let mut other = ct.clone();
        other[0] = MLKEM1024_TYPE;
        assert_eq!(
            kp.decapsulate(&other).unwrap_err().to_string(),
            "KEM mismatch: expected Kyber-1024, got ML-KEM-1024"
        );
        assert!(matches!(
            kp.decapsulate(&ct[..ct.len() - 1]),
            Err(SignalError::WrongLength {
                expected: 1569,
                got: 1568,
                ..
            })
        ));
        assert!(matches!(
            KemKeyPair::from_secret_bytes(KemAlgorithm::MlKem768, &[0; 32]),
            Err(SignalError::WrongLength {
                expected: 64,
                got: 32,
                ..
            })
        ));
    }

    #[test]
    fn libsignal_secret_key_layout() {
        let mut rng = StdRng::seed_from_u64(9);
        let kp = KemKeyPair::generate(KemAlgorithm::Kyber1024, &mut rng);
        let sk = kp.to_libsignal_secret_key();
        assert_eq!(sk.len(), 1 + 3168);
        assert_eq!(sk.expose()[0], 0x08);
        // dk = dk_PKE (1536) ‖ ek (1568) ‖ H(ek) ‖ z
        assert_eq!(
            &sk.expose()[1 + 1536..1 + 1536 + 1568],
            kp.public_key().raw()
        );
        assert_eq!(
            &sk.expose()[1 + 3168 - 32..],
            &kp.secret_bytes().expose()[32..]
        );
    }

    #[test]
    fn debug_is_redacted() {
        let kp = KemKeyPair::from_secret_bytes(KemAlgorithm::MlKem768, &[0x42; 64]).unwrap();
        let d = format!("{kp:?}");
        assert!(d.contains("<redacted>"));
        assert!(!d.contains("4242") && !d.contains("66, 66"), "{d}");
    }
}
