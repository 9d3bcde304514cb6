//! Algorithm identifiers, format versions, HKDF contexts and the canonical byte encoding
//! used for associated data and hashes.
//!
//! Every stored or transmitted object names its algorithm and version with one of the ids
//! below. Readers compare against these constants and refuse anything else with
//! [`FormatError::UnknownAlgorithm`]; writers always emit the current id. The full list, with
//! layouts and test vectors, is in `docs/formats.md`.

/// AES-256-GCM with a 96-bit random nonce and a 128-bit tag: wrapped keys and sealed records.
pub const AES256GCM_V1: &str = "aes256gcm-v1";
/// Sealed envelope to an X25519 one-time prekey.
pub const ENVELOPE_X25519_AESGCM_V1: &str = "x25519-aesgcm-v1";
/// Sealed envelope to an X25519 + ML-KEM-768 one-time prekey.
pub const ENVELOPE_HYBRID_MLKEM768_AESGCM_V1: &str = "hybrid-mlkem768-aesgcm-v1";
/// Stored key record layout.
pub const KEY_RECORD_V1: &str = "kms-key-record-v1";
/// Stored unlock-method record layout.
pub const UNLOCK_RECORD_V1: &str = "kms-unlock-record-v1";
/// Stored audit entry layout.
pub const AUDIT_ENTRY_V1: &str = "kms-audit-entry-v1";

/// HKDF-SHA256 `info` for the passphrase unlock key (salt: the method's random salt).
pub const HKDF_UNLOCK_PASSPHRASE_V1: &str = "kms:unlock:passphrase:v1";
/// HKDF-SHA256 `info` for the passkey PRF unlock key.
pub const HKDF_UNLOCK_PRF_V1: &str = "kms:unlock:prf:v1";
/// HKDF-SHA256 `info` for the recovery-key unlock key.
pub const HKDF_UNLOCK_RECOVERY_V1: &str = "kms:unlock:recovery:v1";

/// A format or algorithm id was not the one this reader understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The object names an algorithm or format this build does not know.
    #[error("unknown algorithm or format id: expected {expected}, got {got:?}")]
    UnknownAlgorithm {
        /// The id(s) this reader accepts.
        expected: &'static str,
        /// The id found.
        got: String,
    },
    /// The bytes do not parse as the named format.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The object being read.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// A value of this crate's own types failed to encode as JSON.
///
/// Their serialization cannot fail today (plain structs, string keys, no fallible
/// `Serialize` impls); should a change make it fail, the failure surfaces here instead of
/// as empty bytes, which on an associated-data path would authenticate nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not encode {what} as JSON: {reason}")]
pub struct EncodeError {
    /// What was being encoded.
    pub what: &'static str,
    /// The encoder's message.
    pub reason: String,
}

/// JSON bytes of `value`: the one place this crate serializes its records, tokens and
/// associated data, never falling back to empty bytes.
///
/// # Errors
/// [`EncodeError`] naming `what`.
pub fn to_json<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, EncodeError> {
    serde_json::to_vec(value).map_err(|e| EncodeError {
        what,
        reason: e.to_string(),
    })
}

/// Checks that `got` is the expected id.
///
/// # Errors
/// [`FormatError::UnknownAlgorithm`] otherwise.
pub fn expect_id(got: &str, expected: &'static str) -> Result<(), FormatError> {
    if got == expected {
        Ok(())
    } else {
        Err(FormatError::UnknownAlgorithm {
            expected,
            got: got.chars().take(64).collect(),
        })
    }
}

/// Canonical, unambiguous encoding of a labelled tuple of byte strings:
/// `u32be(len(label)) ‖ label ‖ (u32be(len(field)) ‖ field)*`.
///
/// Used wherever several values feed one hash or one AEAD associated-data string, so that no
/// two different tuples share an encoding.
pub fn canonical(label: &str, fields: &[&[u8]]) -> Vec<u8> {
    let total = 4 + label.len() + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    push_field(&mut out, label.as_bytes());
    for f in fields {
        push_field(&mut out, f);
    }
    out
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are bounded by message size limits far below 4 GiB; saturate rather than wrap.
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_encoding_failure_is_an_error_not_empty_bytes() {
        // A map with non-string keys is one thing JSON cannot encode.
        let mut map = std::collections::BTreeMap::new();
        map.insert((1u8, 2u8), 3u8);
        let err = to_json("test map", &map).unwrap_err();
        assert_eq!(err.what, "test map");
        assert_eq!(to_json("n", &7u8).unwrap(), b"7");
    }
    use super::*;

    #[test]
    fn canonical_is_unambiguous() {
        assert_ne!(
            canonical("x", &[b"ab", b"c"]),
            canonical("x", &[b"a", b"bc"])
        );
        assert_ne!(canonical("x", &[b""]), canonical("x", &[]));
        assert_ne!(canonical("xa", &[b"b"]), canonical("x", &[b"ab"]));
    }

    #[test]
    fn canonical_layout() {
        assert_eq!(
            canonical("L", &[b"ab"]),
            [0, 0, 0, 1, b'L', 0, 0, 0, 2, b'a', b'b']
        );
    }

    #[test]
    fn expect_id_reports_both_sides() {
        assert!(expect_id(AES256GCM_V1, AES256GCM_V1).is_ok());
        let e = expect_id("aes128gcm-v9", AES256GCM_V1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown algorithm or format id: expected aes256gcm-v1, got \"aes128gcm-v9\""
        );
    }
}
