//! A push subscription as `PushSubscription.toJSON()` gives it:
//!
//! ```json
//! {"endpoint":"https://push.example.net/wpush/…","expirationTime":null,
//!  "keys":{"p256dh":"<65-byte uncompressed P-256 point>","auth":"<16 bytes>"}}
//! ```
//!
//! Keys are unpadded base64url, decoded strictly; `p256dh` must be a point on the curve.

use kms_core::hazmat::b64;
use serde::{Deserialize, Serialize};

use super::ece::parse_point;

/// A subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// A key is not unpadded base64url.
    #[error("keys.{what}: not unpadded base64url")]
    Encoding {
        /// `p256dh` or `auth`.
        what: &'static str,
    },
    /// `p256dh` is not a 65-byte uncompressed P-256 point.
    #[error("keys.p256dh: expected a 65-byte uncompressed P-256 point")]
    P256dh,
    /// `auth` is not 16 bytes.
    #[error("keys.auth: expected 16 bytes, got {got}")]
    Auth {
        /// Length given.
        got: usize,
    },
    /// `endpoint` is not an http(s) URL.
    #[error("endpoint: expected an https:// (or http://) URL")]
    Endpoint,
}

/// The subscription's public key and `auth` secret, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    p256dh: [u8; 65],
    auth: [u8; 16],
}

impl core::fmt::Debug for SubscriptionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SubscriptionKeys")
            .field("p256dh", &b64::encode(self.p256dh))
            .finish_non_exhaustive()
    }
}

impl SubscriptionKeys {
    /// Checks raw keys: `p256dh` a 65-byte uncompressed point, `auth` 16 bytes.
    ///
    /// # Errors
    /// [`SubscriptionError::P256dh`] or [`SubscriptionError::Auth`].
    pub fn new(p256dh: &[u8], auth: &[u8]) -> Result<Self, SubscriptionError> {
        parse_point(p256dh, "p256dh").map_err(|_| SubscriptionError::P256dh)?;
        let p256dh: [u8; 65] = p256dh.try_into().map_err(|_| SubscriptionError::P256dh)?;
        let auth: [u8; 16] = auth
            .try_into()
            .map_err(|_| SubscriptionError::Auth { got: auth.len() })?;
        Ok(Self { p256dh, auth })
    }

    pub(crate) fn from_parts(p256dh: [u8; 65], auth: [u8; 16]) -> Self {
        Self { p256dh, auth }
    }

    /// The user agent's public key (uncompressed point).
    pub fn p256dh(&self) -> &[u8; 65] {
        &self.p256dh
    }

    /// The `auth` secret.
    pub fn auth(&self) -> &[u8; 16] {
        &self.auth
    }
}

/// A push subscription in the shape of `PushSubscription.toJSON()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SubscriptionJson", into = "SubscriptionJson")]
pub struct Subscription {
    /// The push service URL messages are POSTed to.
    pub endpoint: String,
    /// When the subscription expires (ms since the epoch), if the push service says.
    pub expiration_time: Option<f64>,
    /// The keys messages are encrypted to.
    pub keys: SubscriptionKeys,
}

impl Subscription {
    /// Parses `PushSubscription.toJSON()` output.
    ///
    /// # Errors
    /// A JSON error, whose message names a refused field.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        // Serializing strings and a number cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionJson {
    endpoint: String,
    #[serde(default)]
    expiration_time: Option<f64>,
    keys: KeysJson,
}

#[derive(Serialize, Deserialize)]
struct KeysJson {
    p256dh: String,
    auth: String,
}

impl TryFrom<SubscriptionJson> for Subscription {
    type Error = SubscriptionError;

    fn try_from(j: SubscriptionJson) -> Result<Self, SubscriptionError> {
        if !(j.endpoint.starts_with("https://") || j.endpoint.starts_with("http://")) {
            return Err(SubscriptionError::Endpoint);
        }
        let p256dh = b64::decode(&j.keys.p256dh)
            .map_err(|_| SubscriptionError::Encoding { what: "p256dh" })?;
        let auth =
            b64::decode(&j.keys.auth).map_err(|_| SubscriptionError::Encoding { what: "auth" })?;
        Ok(Self {
            endpoint: j.endpoint,
            expiration_time: j.expiration_time,
            keys: SubscriptionKeys::new(&p256dh, &auth)?,
        })
    }
}

impl From<Subscription> for SubscriptionJson {
    fn from(s: Subscription) -> Self {
        Self {
            endpoint: s.endpoint,
            expiration_time: s.expiration_time,
            keys: KeysJson {
                p256dh: b64::encode(s.keys.p256dh),
                auth: b64::encode(s.keys.auth),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn json(endpoint: &str, p256dh: &str, auth: &str) -> String {
        format!(
            r#"{{"endpoint":"{endpoint}","expirationTime":null,"keys":{{"p256dh":"{p256dh}","auth":"{auth}"}}}}"#
        )
    }

    #[test]
    fn parses_and_round_trips_to_json() {
        let text = json(
            "https://updates.push.services.mozilla.com/wpush/v2/x",
            P256DH,
            AUTH,
        );
        let s = Subscription::from_json(&text).unwrap();
        assert_eq!(s.expiration_time, None);
        assert_eq!(s.keys.auth(), b64::decode(AUTH).unwrap().as_slice());
        assert_eq!(s.to_json(), text);
        let with_expiry = text.replace("null", "1800000000000");
        assert_eq!(
            Subscription::from_json(&with_expiry)
                .unwrap()
                .expiration_time,
            Some(1_800_000_000_000.0)
        );
    }

    #[test]
    fn refuses_bad_keys() {
        let mut off_curve = b64::decode(P256DH).unwrap();
        off_curve[64] ^= 1;
        let mut compressed = b64::decode(P256DH).unwrap();
        compressed.truncate(33);
        compressed[0] = 0x02;
        for (p256dh, auth, needle) in [
            (b64::encode(&off_curve), AUTH.to_owned(), "p256dh"),
            (b64::encode(&compressed), AUTH.to_owned(), "p256dh"),
            (format!("{P256DH}="), AUTH.to_owned(), "p256dh"),
            (P256DH.to_owned(), "BTBZMqHH6r4Tts7J_aSI".to_owned(), "auth"),
            (
                P256DH.to_owned(),
                "BTBZMqHH6r4Tts7J/aSIgg".to_owned(),
                "auth",
            ),
        ] {
            let err = Subscription::from_json(&json("https://p.example", &p256dh, &auth))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err}");
        }
        assert!(Subscription::from_json(&json("ftp://p.example", P256DH, AUTH)).is_err());
    }
}
