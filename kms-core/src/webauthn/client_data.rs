//! Collected client data (WebAuthn Level 3 §5.8.1): the JSON the browser builds and the
//! authenticator signs (by hash).

use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::WebAuthnError;

/// Largest accepted `clientDataJSON` (real ones are a few hundred bytes).
pub const MAX_CLIENT_DATA_LEN: usize = 64 * 1024;

/// `type` of a registration ceremony's client data.
pub const TYPE_CREATE: &str = "webauthn.create";
/// `type` of an authentication ceremony's client data.
pub const TYPE_GET: &str = "webauthn.get";

/// The members of `CollectedClientData` that are checked. Unknown members are ignored, as
/// §5.8.1 requires; a member given twice is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CollectedClientData {
    /// `type`: "webauthn.create" or "webauthn.get".
    #[serde(rename = "type")]
    pub typ: String,
    /// `challenge`: base64url of the challenge the caller supplied.
    pub challenge: String,
    /// `origin`: the origin of the document that called the API (here, the enclave frame).
    pub origin: String,
    /// `crossOrigin`: true when that document was not same-origin with its ancestors.
    #[serde(rename = "crossOrigin", default)]
    pub cross_origin: Option<bool>,
    /// `topOrigin`: the top-level origin, present when `crossOrigin` is true (Level 3).
    #[serde(rename = "topOrigin", default)]
    pub top_origin: Option<String>,
}

/// What the caller accepts for `origin`, `crossOrigin` and `topOrigin`.
pub(crate) struct OriginPolicy<'a> {
    pub(crate) origin: &'a str,
    pub(crate) allow_cross_origin: bool,
    pub(crate) allowed_top_origins: &'a [String],
}

impl CollectedClientData {
    /// Parses raw `clientDataJSON` bytes (§5.8.1.2 allows a limited parser; this one is a
    /// full JSON parser, which accepts everything the limited one does).
    ///
    /// # Errors
    /// [`WebAuthnError::TooLarge`] or [`WebAuthnError::MalformedClientData`].
    pub fn parse(json: &[u8]) -> Result<Self, WebAuthnError> {
        if json.len() > MAX_CLIENT_DATA_LEN {
            return Err(WebAuthnError::TooLarge {
                what: "clientDataJSON",
                max: MAX_CLIENT_DATA_LEN,
                got: json.len(),
            });
        }
        // serde_json's messages can quote input; report only the position.
        serde_json::from_slice(json).map_err(|e| WebAuthnError::MalformedClientData {
            line: e.line(),
            column: e.column(),
        })
    }

    /// Runs the client-data checks of §7.1 / §7.2 in specification order: type, challenge,
    /// origin, then crossOrigin / topOrigin.
    pub(crate) fn check(
        &self,
        expected_type: &'static str,
        challenge: &[u8],
        policy: &OriginPolicy<'_>,
    ) -> Result<(), WebAuthnError> {
        // §7.1 / §7.2: verify that C.type is "webauthn.create" / "webauthn.get".
        if self.typ != expected_type {
            return Err(WebAuthnError::WrongType {
                expected: expected_type,
                got: clip(&self.typ),
            });
        }

        // §7.1 / §7.2: verify that C.challenge equals the base64url encoding of the
        // challenge the ceremony was started with. Compared as bytes, in constant time.
        let got =
            crate::b64::decode(&self.challenge).map_err(|_| WebAuthnError::ChallengeEncoding)?;
        if !bool::from(got.as_slice().ct_eq(challenge)) {
            return Err(WebAuthnError::ChallengeMismatch);
        }

        // §7.1 / §7.2: verify that C.origin is an origin the RP expects; here exactly one.
        if self.origin != policy.origin {
            return Err(WebAuthnError::OriginMismatch {
                expected: clip(policy.origin),
                got: clip(&self.origin),
            });
        }

        // §5.8.1: crossOrigin is true when the calling frame is not same-origin with its
        // ancestors. The enclave is such a frame, but accepting that is the caller's choice.
        let cross_origin = self.cross_origin.unwrap_or(false);
        if cross_origin && !policy.allow_cross_origin {
            return Err(WebAuthnError::CrossOriginNotAllowed);
        }

        // §7.1 / §7.2: if C.topOrigin is present, verify that the RP expects to be framed
        // and that C.topOrigin is a page it expects to be framed by. A topOrigin without
        // crossOrigin is inconsistent client data and is refused.
        if let Some(top) = &self.top_origin {
            if !cross_origin {
                return Err(WebAuthnError::TopOriginWithoutCrossOrigin);
            }
            if !policy.allowed_top_origins.iter().any(|t| t == top) {
                return Err(WebAuthnError::TopOriginNotAllowed { got: clip(top) });
            }
        }
        Ok(())
    }
}

/// Shortens untrusted text before it goes into an error message.
pub(crate) fn clip(text: &str) -> String {
    const MAX_CHARS: usize = 96;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(MAX_CHARS).collect();
        out.push('…');
        out
    }
}
