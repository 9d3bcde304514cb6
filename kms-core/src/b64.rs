//! Base64url (RFC 4648 §5, no padding), the text encoding of every byte string the enclave
//! exposes: JWS segments, JWK coordinates, `applicationServerKey`, record fields.
//!
//! Decoding is strict: padding, non-alphabet characters and non-canonical trailing bits are
//! refused, so one byte string has exactly one text form.

use base64ct::{Base64UrlUnpadded, Encoding};

/// The input was not canonical unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64url")]
pub struct InvalidBase64;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    Base64UrlUnpadded::encode_string(bytes.as_ref())
}

/// Decodes unpadded base64url.
///
/// # Errors
/// [`InvalidBase64`] if `text` is not canonical unpadded base64url.
pub fn decode(text: &str) -> Result<Vec<u8>, InvalidBase64> {
    Base64UrlUnpadded::decode_vec(text).map_err(|_| InvalidBase64)
}

/// Decodes unpadded base64url into exactly `N` bytes.
///
/// # Errors
/// [`InvalidBase64`] if `text` is not canonical base64url or does not decode to `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], InvalidBase64> {
    let mut out = [0u8; N];
    let n = Base64UrlUnpadded::decode(text, &mut out)
        .map_err(|_| InvalidBase64)?
        .len();
    if n == N { Ok(out) } else { Err(InvalidBase64) }
}

/// Serde adapter: `Vec<u8>` as a base64url string. Use with `#[serde(with = "kms_core::hazmat::b64::serde_bytes")]`.
pub mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes bytes as base64url.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    /// Deserializes base64url into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode(&text).map_err(D::Error::custom)
    }
}

/// Serde adapter: `Option<Vec<u8>>` as an optional base64url string.
pub mod serde_opt_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes optional bytes as base64url or `null`.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&super::encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an optional base64url string into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::decode(&t).map_err(D::Error::custom))
            .transpose()
    }
}

/// Serde adapter: `[u8; N]` as a base64url string of exactly `N` bytes.
pub mod serde_array {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes a fixed-size byte array as base64url.
    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    /// Deserializes base64url into a fixed-size byte array.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        super::decode_array(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn refuses_padding_and_standard_alphabet() {
        assert_eq!(decode("AA=="), Err(InvalidBase64));
        assert_eq!(decode("+/8"), Err(InvalidBase64));
        assert!(decode("-_8").is_ok());
    }

    #[test]
    fn refuses_non_canonical_trailing_bits() {
        // "AB" carries non-zero bits after the single encoded byte.
        assert_eq!(decode("AB"), Err(InvalidBase64));
        assert_eq!(decode("AA").unwrap(), vec![0]);
    }

    #[test]
    fn decode_array_checks_length() {
        assert_eq!(decode_array::<2>(&encode([1, 2])).unwrap(), [1, 2]);
        assert_eq!(decode_array::<3>(&encode([1, 2])), Err(InvalidBase64));
        assert_eq!(decode_array::<1>(&encode([1, 2])), Err(InvalidBase64));
    }
}
