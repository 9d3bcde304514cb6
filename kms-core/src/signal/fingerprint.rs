//! Safety numbers: the identity key fingerprints two users compare to trust each other's
//! identity keys, computed as libsignal's `rust/protocol/src/fingerprint.rs` does.
//!
//! ```text
//! fingerprint(id, key) = H_n,  H_0 = SHA-512(0x0000 ‖ key ‖ id ‖ key),
//!                              H_i = SHA-512(H_{i-1} ‖ key)            (key = 0x05 ‖ u)
//! display  = the six 5-digit groups of each side's first 30 bytes
//!            (each 5 bytes as a big-endian integer mod 100 000), the smaller side first
//! scannable = protobuf CombinedFingerprints { version = 1, local = 2 { content = 1 },
//!                                             remote = 3 { content = 1 } } (32 bytes each)
//! ```
//!
//! Signal uses [`ITERATIONS`] = 5200 and, with service ids as the `id`s, [`VERSION_UUID`].

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::identity::PublicKey;
use super::proto::{Reader, Writer};

/// The iteration count Signal's apps use.
pub const ITERATIONS: u32 = 5200;
/// Scannable fingerprint version when the ids are phone numbers (libsignal's version 1).
pub const VERSION_PHONE_NUMBER: u32 = 1;
/// Scannable fingerprint version when the ids are service id bytes (libsignal's version 2).
pub const VERSION_UUID: u32 = 2;

/// A fingerprint that cannot be computed or compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// The iteration count is outside libsignal's range.
    #[error("fingerprint iterations: expected 2 to 1000000, got {got}")]
    Iterations {
        /// The count given.
        got: u32,
    },
    /// The scanned fingerprint's version differs from ours.
    #[error("fingerprint version: expected {expected}, got {got}")]
    Version {
        /// Our version.
        expected: u32,
        /// Theirs.
        got: u32,
    },
    /// The scanned bytes are not a fingerprint.
    #[error("malformed scanned fingerprint: {0}")]
    Malformed(&'static str),
}

/// Both sides' fingerprints of one pair of identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetyNumber {
    version: u32,
    local: [u8; 64],
    remote: [u8; 64],
}

fn fingerprint(iterations: u32, id: &[u8], key: &PublicKey) -> [u8; 64] {
    let key = key.serialize();
    let mut h = Sha512::new();
    h.update([0u8, 0u8]);
    h.update(key);
    h.update(id);
    h.update(key);
    let mut buf: [u8; 64] = h.finalize().into();
    for _ in 1..iterations {
        let mut h = Sha512::new();
        h.update(buf);
        h.update(key);
        buf = h.finalize().into();
    }
    buf
}

fn display_half(f: &[u8; 64]) -> String {
    f[..30]
        .chunks_exact(5)
        .map(|c| {
            let n = c.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            format!("{:05}", n % 100_000)
        })
        .collect()
}

impl SafetyNumber {
    /// Computes both fingerprints (libsignal `Fingerprint::new`).
    ///
    /// # Errors
    /// [`FingerprintError::Iterations`] for a count outside `2..=1_000_000`.
    pub fn new(
        version: u32,
        iterations: u32,
        local_id: &[u8],
        local_key: &PublicKey,
        remote_id: &[u8],
        remote_key: &PublicKey,
    ) -> Result<Self, FingerprintError> {
        if !(2..=1_000_000).contains(&iterations) {
            return Err(FingerprintError::Iterations { got: iterations });
        }
        Ok(Self {
            version,
            local: fingerprint(iterations, local_id, local_key),
            remote: fingerprint(iterations, remote_id, remote_key),
        })
    }

    /// The 60-digit safety number both users see (the same on both sides).
    pub fn display(&self) -> String {
        let (l, r) = (display_half(&self.local), display_half(&self.remote));
        if l < r { l + &r } else { r + &l }
    }

    /// The bytes of our QR code (libsignal `ScannableFingerprint::serialize`).
    pub fn scannable(&self) -> Vec<u8> {
        let mut local = Writer::new();
        local.bytes(1, &self.local[..32]);
        let mut remote = Writer::new();
        remote.bytes(1, &self.remote[..32]);
        let mut w = Writer::new();
        w.uint(1, u64::from(self.version))
            .bytes(2, &local.finish())
            .bytes(3, &remote.finish());
        w.finish().to_vec()
    }

    /// Compares the peer's scanned QR code with ours: their local must be our remote and the
    /// other way round (libsignal `ScannableFingerprint::compare`), in constant time.
    ///
    /// # Errors
    /// [`FingerprintError::Version`] or [`FingerprintError::Malformed`].
    pub fn matches_scanned(&self, scanned: &[u8]) -> Result<bool, FingerprintError> {
        let (mut version, mut theirs_local, mut theirs_remote) = (0u32, None, None);
        let bad = |_| FingerprintError::Malformed("protobuf");
        for field in Reader::new(scanned) {
            let (no, v) = field.map_err(bad)?;
            match no {
                1 => version = v.u32("version").map_err(bad)?,
                2 | 3 => {
                    let mut content = None;
                    for inner in Reader::new(v.bytes("fingerprint").map_err(bad)?) {
                        if let (1, c) = inner.map_err(bad)? {
                            content = Some(c.bytes("content").map_err(bad)?);
                        }
                    }
                    if no == 2 {
                        theirs_local = content;
                    } else {
                        theirs_remote = content;
                    }
                }
                _ => {}
            }
        }
        if version != self.version {
            return Err(FingerprintError::Version {
                expected: self.version,
                got: version,
            });
        }
        let theirs_local = theirs_local.ok_or(FingerprintError::Malformed("missing local"))?;
        let theirs_remote = theirs_remote.ok_or(FingerprintError::Malformed("missing remote"))?;
        Ok(bool::from(
            theirs_local.ct_eq(&self.remote[..32]) & theirs_remote.ct_eq(&self.local[..32]),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// libsignal `fingerprint.rs` `fingerprint_test_v1`/`_v2` (testVectorsVersion1 in Java).
    #[test]
    fn libsignal_vectors() {
        let alice = PublicKey::deserialize(&unhex(
            "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868",
        ))
        .unwrap();
        let bob = PublicKey::deserialize(&unhex(
            "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b",
        ))
        .unwrap();
        let (a_id, b_id) = (b"+14152222222", b"+14153333333");
        let a = SafetyNumber::new(1, 5200, a_id, &alice, b_id, &bob).unwrap();
        let b = SafetyNumber::new(1, 5200, b_id, &bob, a_id, &alice).unwrap();
        let digits = "300354477692869396892869876765458257569162576843440918079131";
        assert_eq!(a.display(), digits);
        assert_eq!(b.display(), digits);
        assert_eq!(
            hex(&a.scannable()),
            "080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df\
             1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d"
        );
        assert!(a.matches_scanned(&b.scannable()).unwrap());
        assert!(!a.matches_scanned(&a.scannable()).unwrap());
        let a2 = SafetyNumber::new(2, 5200, a_id, &alice, b_id, &bob).unwrap();
        assert_eq!(
            hex(&a2.scannable()),
            "080212220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df\
             1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d"
        );
        assert!(matches!(
            a2.matches_scanned(&b.scannable()),
            Err(FingerprintError::Version {
                expected: 2,
                got: 1
            })
        ));
        assert!(SafetyNumber::new(1, 1, a_id, &alice, b_id, &bob).is_err());
    }
}
