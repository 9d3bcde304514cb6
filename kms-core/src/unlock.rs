//! Unlock methods: each one wraps the same key-encryption key (KEK) under its own K_wrap.
//!
//! Setup creates a random 256-bit KEK; every private key is sealed under it. Each unlock
//! method stores an [`UnlockRecord`]: its parameters and the KEK sealed under the method's
//! K_wrap, with the parameters bound as associated data. Adding, removing or changing a method
//! rewrites only that method's record, never the keys.
//!
//! | method | K_wrap |
//! |---|---|
//! | passphrase | HKDF-SHA256(ikm = PBKDF2-HMAC-SHA256(passphrase, salt, 600 000), salt, `kms:unlock:passphrase:v1`) |
//! | passkey PRF | HKDF-SHA256(ikm = PRF output (≥ 32 bytes, not all zero), salt = PRF input, `kms:unlock:prf:v1`) |
//! | passkey gate | a device key held by the platform (a non-extractable WebCrypto key in the browser), opened only after a verified WebAuthn assertion; the KEK then stays in memory for [`GATE_SESSION_MS`] |

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::format::{
    self, EncodeError, FormatError, HKDF_UNLOCK_PASSPHRASE_V1, HKDF_UNLOCK_PRF_V1, UNLOCK_RECORD_V1,
};
use crate::ids::MethodId;
use crate::kdf::{
    self, KdfError, PBKDF2_ITERATIONS, PBKDF2_MAX_ITERATIONS, PBKDF2_MIN_ITERATIONS, Pbkdf2Provider,
};
use crate::secret::{Secret32, SecretBytes};
use crate::wrap::{self, Sealed, WrapError};

/// How long a passkey-gate session keeps the KEK in memory.
pub const GATE_SESSION_MS: u64 = 5 * 60 * 1000;
/// Shortest passphrase accepted, in bytes of UTF-8.
pub const MIN_PASSPHRASE_LEN: usize = 8;
/// Longest passphrase accepted, in bytes of UTF-8.
pub const MAX_PASSPHRASE_LEN: usize = 1024;
/// Shortest PRF output accepted (WebAuthn PRF outputs are 32 bytes).
pub const MIN_PRF_LEN: usize = 32;
/// Length of the random passphrase salt.
pub const SALT_LEN: usize = 16;
/// Associated-data label of an unlock record.
pub const UNLOCK_AAD_LABEL: &str = "kms:unlock-record:v1";
/// Name of the passphrase KDF in records.
pub const KDF_PBKDF2_SHA256: &str = "pbkdf2-sha256";

/// The parameters of one unlock method, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MethodParams {
    /// A passphrase through PBKDF2 and HKDF.
    Passphrase {
        /// KDF name; [`KDF_PBKDF2_SHA256`].
        kdf: String,
        /// PBKDF2 iteration count.
        iterations: u32,
        /// Random salt.
        #[serde(with = "crate::b64::serde_array")]
        salt: [u8; SALT_LEN],
    },
    /// A passkey's PRF extension output through HKDF.
    PasskeyPrf {
        /// The credential whose PRF output unwraps this record.
        #[serde(with = "crate::b64::serde_bytes")]
        credential_id: Vec<u8>,
        /// The PRF input (`eval.first`) the enclave asks the authenticator for.
        #[serde(with = "crate::b64::serde_array")]
        prf_input: [u8; 32],
    },
    /// A passkey assertion that opens a time-limited session; the KEK is sealed under the
    /// platform's device key.
    PasskeyGate {
        /// The registered credential.
        credential: crate::webauthn::Credential,
    },
}

/// The kind of an unlock method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum MethodKind {
    /// A passphrase (PBKDF2-SHA256, then HKDF).
    Passphrase,
    /// A passkey's PRF output (HKDF).
    PasskeyPrf,
    /// A passkey assertion that opens a time-limited session (the KEK sealed under a
    /// device key).
    PasskeyGate,
}

impl MethodKind {
    /// The kind's name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passphrase => "passphrase",
            Self::PasskeyPrf => "passkey-prf",
            Self::PasskeyGate => "passkey-gate",
        }
    }
}

impl core::fmt::Display for MethodKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl MethodParams {
    /// The method's kind.
    pub fn kind(&self) -> MethodKind {
        match self {
            Self::Passphrase { .. } => MethodKind::Passphrase,
            Self::PasskeyPrf { .. } => MethodKind::PasskeyPrf,
            Self::PasskeyGate { .. } => MethodKind::PasskeyGate,
        }
    }

    /// Fresh passphrase parameters.
    pub fn new_passphrase<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self::Passphrase {
            kdf: KDF_PBKDF2_SHA256.to_owned(),
            iterations: PBKDF2_ITERATIONS,
            salt,
        }
    }
}

/// One stored unlock method: parameters plus the KEK sealed under its K_wrap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockRecord {
    /// [`UNLOCK_RECORD_V1`].
    pub format: String,
    /// Method id, unique in this enclave.
    pub id: MethodId,
    /// Optional user-visible label (e.g. "YubiKey 5").
    pub label: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// Method parameters.
    pub params: MethodParams,
    /// The KEK sealed under this method's K_wrap.
    pub wrapped_kek: Sealed,
}

/// An unlock attempt or record failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnlockError {
    /// The record's parameters did not encode.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The credential did not open the record (wrong passphrase, wrong passkey, or a modified
    /// record: these are indistinguishable by design).
    #[error("bad credential")]
    BadCredential,
    /// A passphrase or PRF output was refused before use.
    #[error("unacceptable credential: {0}")]
    Unacceptable(&'static str),
    /// The record's format or parameters are not ones this build accepts.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The PBKDF2 provider failed.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// The method kind does not match the credential offered.
    #[error("wrong unlock method: expected {expected}, got {got}")]
    WrongMethod {
        /// Method kind needed.
        expected: MethodKind,
        /// Method kind of the record.
        got: MethodKind,
    },
}

impl UnlockRecord {
    /// Associated data binding the sealed KEK to this record's id, time, label and parameters.
    ///
    /// # Errors
    /// [`EncodeError`] if the parameters do not encode.
    pub fn aad(&self) -> Result<Vec<u8>, EncodeError> {
        let params = format::to_json("unlock parameters", &self.params)?;
        let created = self.created_ms.to_be_bytes();
        let label = self.label.as_deref().unwrap_or("").as_bytes();
        let has_label = [u8::from(self.label.is_some())];
        Ok(format::canonical(
            UNLOCK_AAD_LABEL,
            &[
                self.format.as_bytes(),
                self.id.as_str().as_bytes(),
                &created,
                &has_label,
                label,
                &params,
            ],
        ))
    }

    /// Builds a record sealing `kek` under `k_wrap`.
    ///
    /// # Errors
    /// [`EncodeError`] if the parameters do not encode (nothing is sealed then).
    pub fn seal<R: CryptoRng + ?Sized>(
        id: MethodId,
        label: Option<String>,
        created_ms: u64,
        params: MethodParams,
        kek: &Secret32,
        k_wrap: &Secret32,
        rng: &mut R,
    ) -> Result<Self, EncodeError> {
        let mut rec = Self {
            format: UNLOCK_RECORD_V1.to_owned(),
            id,
            label,
            created_ms,
            params,
            wrapped_kek: Sealed {
                alg: String::new(),
                nonce: [0; 12],
                ct: Vec::new(),
            },
        };
        rec.wrapped_kek = wrap::seal(k_wrap, &rec.aad()?, kek.expose(), rng);
        Ok(rec)
    }

    /// Opens the KEK with `k_wrap`.
    ///
    /// # Errors
    /// [`UnlockError::BadCredential`] if `k_wrap` is wrong or the record was modified.
    pub fn open(&self, k_wrap: &Secret32) -> Result<Secret32, UnlockError> {
        format::expect_id(&self.format, UNLOCK_RECORD_V1)?;
        wrap::open32(k_wrap, &self.aad()?, &self.wrapped_kek).map_err(|e| match e {
            WrapError::Format(f) => UnlockError::Format(f),
            _ => UnlockError::BadCredential,
        })
    }

    /// Encodes for storage (JSON).
    ///
    /// # Errors
    /// [`EncodeError`] (never empty bytes).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        format::to_json("unlock record", self)
    }

    /// Decodes a stored record, checking its format id and parameter bounds.
    ///
    /// # Errors
    /// [`UnlockError::Format`] for malformed bytes, an unknown format, or parameters outside
    /// the accepted bounds (a downgraded iteration count, say).
    pub fn decode(bytes: &[u8]) -> Result<Self, UnlockError> {
        let rec: Self = serde_json::from_slice(bytes).map_err(|e| FormatError::Malformed {
            what: "unlock record",
            reason: e.to_string(),
        })?;
        format::expect_id(&rec.format, UNLOCK_RECORD_V1)?;
        if let MethodParams::Passphrase {
            kdf, iterations, ..
        } = &rec.params
        {
            format::expect_id(kdf, KDF_PBKDF2_SHA256)?;
            if !(PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(iterations) {
                return Err(FormatError::Malformed {
                    what: "unlock record",
                    reason: format!(
                        "PBKDF2 iterations: expected {PBKDF2_MIN_ITERATIONS}..={PBKDF2_MAX_ITERATIONS}, got {iterations}"
                    ),
                }
                .into());
            }
        }
        Ok(rec)
    }
}

/// Checks a passphrase before it is used.
///
/// # Errors
/// [`UnlockError::Unacceptable`] if shorter than [`MIN_PASSPHRASE_LEN`] or longer than
/// [`MAX_PASSPHRASE_LEN`] bytes.
pub fn check_passphrase(passphrase: &SecretBytes) -> Result<(), UnlockError> {
    if passphrase.len() < MIN_PASSPHRASE_LEN {
        return Err(UnlockError::Unacceptable("passphrase shorter than 8 bytes"));
    }
    if passphrase.len() > MAX_PASSPHRASE_LEN {
        return Err(UnlockError::Unacceptable(
            "passphrase longer than 1024 bytes",
        ));
    }
    Ok(())
}

/// Derives a passphrase method's K_wrap.
///
/// # Errors
/// [`UnlockError::WrongMethod`] for non-passphrase parameters; provider failures.
pub async fn passphrase_k_wrap<P: Pbkdf2Provider + ?Sized>(
    provider: &P,
    params: &MethodParams,
    passphrase: &SecretBytes,
) -> Result<Secret32, UnlockError> {
    let MethodParams::Passphrase {
        iterations, salt, ..
    } = params
    else {
        return Err(UnlockError::WrongMethod {
            expected: MethodKind::Passphrase,
            got: params.kind(),
        });
    };
    let stretched = provider
        .pbkdf2_sha256(passphrase.expose(), salt, *iterations)
        .await?;
    Ok(kdf::hkdf_sha256(
        stretched.expose(),
        salt,
        HKDF_UNLOCK_PASSPHRASE_V1,
    ))
}

/// Derives a PRF method's K_wrap from the authenticator's PRF output.
///
/// # Errors
/// [`UnlockError::Unacceptable`] for outputs shorter than 32 bytes or all zero (fail closed);
/// [`UnlockError::WrongMethod`] for non-PRF parameters.
pub fn prf_k_wrap(
    params: &MethodParams,
    prf_output: &SecretBytes,
) -> Result<Secret32, UnlockError> {
    let MethodParams::PasskeyPrf { prf_input, .. } = params else {
        return Err(UnlockError::WrongMethod {
            expected: MethodKind::PasskeyPrf,
            got: params.kind(),
        });
    };
    check_prf_output(prf_output)?;
    Ok(kdf::hkdf_sha256(
        prf_output.expose(),
        prf_input,
        HKDF_UNLOCK_PRF_V1,
    ))
}

/// Refuses PRF outputs that are too short or all zero.
///
/// # Errors
/// [`UnlockError::Unacceptable`].
pub fn check_prf_output(prf_output: &SecretBytes) -> Result<(), UnlockError> {
    if prf_output.len() < MIN_PRF_LEN {
        return Err(UnlockError::Unacceptable(
            "PRF output shorter than 32 bytes",
        ));
    }
    if prf_output.expose().iter().all(|b| *b == 0) {
        return Err(UnlockError::Unacceptable("PRF output is all zero"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::RustPbkdf2;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn passphrase_round_trip_and_wrong_passphrase() {
        let mut rng = StdRng::seed_from_u64(1);
        let params = MethodParams::new_passphrase(&mut rng);
        let kek = Secret32::random(&mut rng);
        let pw = SecretBytes::from("correct horse battery");
        let k = pollster::block_on(passphrase_k_wrap(&RustPbkdf2, &params, &pw)).unwrap();
        let rec =
            UnlockRecord::seal("m1".into(), None, 5, params.clone(), &kek, &k, &mut rng).unwrap();
        let back = UnlockRecord::decode(&rec.encode().unwrap()).unwrap();
        assert_eq!(back.open(&k).unwrap(), kek);
        let wrong = pollster::block_on(passphrase_k_wrap(
            &RustPbkdf2,
            &params,
            &SecretBytes::from("wrong horse battery"),
        ))
        .unwrap();
        assert_eq!(back.open(&wrong).unwrap_err(), UnlockError::BadCredential);
    }

    #[test]
    fn record_fields_are_bound() {
        let mut rng = StdRng::seed_from_u64(2);
        let kek = Secret32::random(&mut rng);
        let k = Secret32::random(&mut rng);
        let params = MethodParams::PasskeyPrf {
            credential_id: vec![1, 2, 3],
            prf_input: [4; 32],
        };
        let rec = UnlockRecord::seal(
            "m".into(),
            Some("key".into()),
            9,
            params,
            &kek,
            &k,
            &mut rng,
        )
        .unwrap();
        let mut r = rec.clone();
        r.id = "n".into();
        assert_eq!(r.open(&k).unwrap_err(), UnlockError::BadCredential);
        let mut r = rec.clone();
        r.label = None;
        assert_eq!(r.open(&k).unwrap_err(), UnlockError::BadCredential);
        let mut r = rec.clone();
        r.created_ms = 10;
        assert_eq!(r.open(&k).unwrap_err(), UnlockError::BadCredential);
        let mut r = rec;
        if let MethodParams::PasskeyPrf { credential_id, .. } = &mut r.params {
            credential_id.push(0);
        }
        assert_eq!(r.open(&k).unwrap_err(), UnlockError::BadCredential);
    }

    #[test]
    fn downgraded_iterations_refused() {
        let mut rng = StdRng::seed_from_u64(3);
        let kek = Secret32::random(&mut rng);
        let params = MethodParams::Passphrase {
            kdf: KDF_PBKDF2_SHA256.into(),
            iterations: 1000,
            salt: [0; 16],
        };
        let rec = UnlockRecord::seal("m".into(), None, 1, params, &kek, &kek, &mut rng).unwrap();
        assert!(matches!(
            UnlockRecord::decode(&rec.encode().unwrap()),
            Err(UnlockError::Format(_))
        ));
    }

    #[test]
    fn prf_output_checks() {
        let params = MethodParams::PasskeyPrf {
            credential_id: vec![1],
            prf_input: [0; 32],
        };
        assert!(matches!(
            prf_k_wrap(&params, &SecretBytes::new(vec![1; 31])),
            Err(UnlockError::Unacceptable(_))
        ));
        assert!(matches!(
            prf_k_wrap(&params, &SecretBytes::new(vec![0; 32])),
            Err(UnlockError::Unacceptable(_))
        ));
        let a = prf_k_wrap(&params, &SecretBytes::new(vec![1; 32])).unwrap();
        let b = prf_k_wrap(&params, &SecretBytes::new(vec![2; 32])).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn passphrase_length_limits() {
        assert!(check_passphrase(&SecretBytes::from("short")).is_err());
        assert!(check_passphrase(&SecretBytes::from("long enough")).is_ok());
        assert!(check_passphrase(&SecretBytes::new(vec![b'a'; 1025])).is_err());
    }
}
