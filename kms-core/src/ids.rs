//! The ids the service hands out and takes back: a key's id and an unlock method's id.
//!
//! Both are strings on the wire (the RPC and the stored records keep their formats); the
//! types keep one from standing in for the other, or for a relay `kid`, a credential id or a
//! store key, inside the enclave and in the client SDK's generated types.

use core::fmt;

use serde::{Deserialize, Serialize};

/// The id of a stored key, unique in its shard: `<kind prefix><name>`, such as
/// `vapid/3q2-7wAb` or `signal-otpk/17` (see [`crate::service::KeyKind::prefix`]).
///
/// A page may name any string; a lookup of an id no key has is
/// [`crate::error::Error::KeyNotFound`], and a record whose header does not carry the id it is
/// stored under is [`crate::error::Error::Tampered`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct KeyId(String);

/// The id of an unlock method, unique in the enclave: `m-` and 12 base64url characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct MethodId(String);

macro_rules! string_id {
    ($ty:ident) => {
        impl $ty {
            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $ty {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $ty {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Ids are public: shown as they are.
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }
    };
}

string_id!(KeyId);
string_id!(MethodId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = KeyId::from("vapid/abc");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""vapid/abc""#);
        let back: MethodId = serde_json::from_str(r#""m-xyz""#).unwrap();
        assert_eq!(back, "m-xyz");
        assert_eq!(format!("{back:?}"), r#"MethodId("m-xyz")"#);
    }
}
