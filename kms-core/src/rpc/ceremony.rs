//! Ceremonies: what a page may *ask* the enclave's own UI to do.
//!
//! A page cannot set up the enclave, unlock it or change its unlock methods (see
//! [`super::policy`]). It can ask: a ceremony frame makes the enclave show its own prompt
//! in its frame (the SDK makes the frame visible meanwhile), where the user types the
//! passphrase or uses the passkey, and confirms with a click. The page passes at most a
//! hint text and a label, nothing that decides; it gets back the same result the method
//! would give (an `unlocked` or `methodAdded` reply), never the credential.
//!
//! ```text
//! → {"v": 1, "id": 3, "method": "ui.unlock", "params": {"hint": "to sign in"}}
//! ← {"v": 1, "id": 3, "ok": {"type": "unlocked", "methodId": "m-…"}}
//! ```
//!
//! Each ceremony is one row of the table below: its name, its params (hint and label
//! texts) and the reply it ends with, which [`CEREMONIES`] lists for the SDK.

use serde::Deserialize;

use super::frame::{FrameHeader, RequestId};
use crate::error::Error;
use crate::ids::MethodId;
use crate::rpc::SignalAddress;
use crate::rpc::params::MAX_ADDRESS_NAME;
use crate::service::{MethodAddedResponse, Payload, SignalIdentityResponse, UnlockedResponse};

/// Longest hint or label a page may pass.
pub const MAX_TEXT_LEN: usize = 128;

/// Declares the ceremonies, one row each:
///
/// ```text
/// /// Doc comment.
/// Variant { /// Field doc.
///           field: Type, … } = "wire.name" -> ResultType;
/// ```
///
/// (`Variant = "wire.name" -> ResultType;` for one without params), and generates
/// [`Ceremony`], [`Ceremony::name`], [`Ceremony::result_type`] and [`CEREMONIES`]. The result
/// is the reply of the method the ceremony ends in (`()` for `done`).
macro_rules! ceremonies {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $({ $(
            $(#[doc = $fdoc:literal])*
            $field:ident : $fty:ty
        ),* $(,)? })? = $name:literal -> $output:ty;
    )*) => {
        /// A page's request for a ceremony in the enclave's UI.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[cfg_attr(feature = "ts", ts(optional_fields))]
        #[serde(
            tag = "method",
            content = "params",
            deny_unknown_fields,
            rename_all_fields = "camelCase"
        )]
        #[non_exhaustive]
        pub enum Ceremony {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant $({ $(
                    $(#[doc = $fdoc])*
                    $field: $fty,
                )* })?,
            )*
        }

        impl Ceremony {
            /// The ceremony's name as sent on the wire.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $name,)*
                }
            }

            /// The `type` of the reply the ceremony ends with.
            pub fn result_type(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => <$output as Payload>::TYPE,)*
                }
            }
        }

        /// Every ceremony, in table order.
        pub const CEREMONIES: &[CeremonySpec] = &[
            $(
                CeremonySpec {
                    name: $name,
                    result: <$output as Payload>::TYPE,
                    doc: concat!($($doc, "\n",)*),
                },
            )*
        ];
    };
}

/// A ceremony's row of the table, for code that walks every ceremony (the TypeScript
/// generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CeremonySpec {
    /// The wire name.
    pub name: &'static str,
    /// The `type` of the reply it ends with.
    pub result: &'static str,
    /// Its doc comment, one line per line.
    pub doc: &'static str,
}

ceremonies! {
    /// First use: the user chooses a passphrase in the enclave's form.
    Setup {
        /// Shown above the form (the page's words, marked as such).
        hint: Option<String>,
    } = "ui.setup" -> UnlockedResponse;
    /// The user unlocks in the enclave's form: a passphrase, or a passkey.
    Unlock {
        /// Shown above the form.
        hint: Option<String>,
    } = "ui.unlock" -> UnlockedResponse;
    /// Unlock with a passkey's PRF output (the ceremony runs in the enclave frame).
    UnlockPasskey = "passkey.unlockPrf" -> UnlockedResponse;
    /// Open a 5-minute session with a passkey assertion (gate).
    UnlockGate = "passkey.unlockGate" -> UnlockedResponse;
    /// The user adds a passphrase method (after confirming with a current one).
    AddPassphrase {
        /// A label for the method.
        label: Option<String>,
    } = "ui.addPassphrase" -> MethodAddedResponse;
    /// The user changes a passphrase method's passphrase.
    ChangePassphrase {
        /// The method to change.
        method_id: MethodId,
    } = "ui.changePassphrase" -> ();
    /// The user removes a method (never the last).
    RemoveMethod {
        /// The method to remove.
        method_id: MethodId,
    } = "ui.removeMethod" -> ();
    /// The user registers a passkey as a PRF unlock method.
    AddPasskey {
        /// A label for the method.
        label: Option<String>,
        /// The user name the authenticator shows.
        user_name: Option<String>,
    } = "passkey.addPrf" -> MethodAddedResponse;
    /// The user registers a passkey gate (5-minute sessions).
    AddGate {
        /// A label for the method.
        label: Option<String>,
        /// The user name the authenticator shows.
        user_name: Option<String>,
    } = "passkey.addGate" -> MethodAddedResponse;
    /// Cross-site embedding: the user grants the enclave storage (Storage Access API).
    RequestStorageAccess = "storage.requestAccess" -> ();
    /// The user trusts a peer's Signal identity key after seeing the safety number: the
    /// stored key (seen first by the page, unconfirmed) or, after an identity change, the
    /// new one. Until then nothing is encrypted to the address.
    Trust {
        /// The peer.
        address: SignalAddress,
        /// Our account name, for the safety number (an ACI UUID, or e.g. a phone number).
        local_name: String,
        /// The peer's account name, for the safety number.
        remote_name: String,
        /// The key to trust when it is not the stored one (base64url of `0x05 ‖ u`): the
        /// new key of a peer whose identity changed. Default: the stored key.
        identity_key: Option<String>,
    } = "ui.trust" -> SignalIdentityResponse;
}

/// A complete ceremony frame.
#[derive(Debug, Deserialize)]
pub struct CeremonyCall {
    /// Protocol version; must be [`super::RPC_VERSION`].
    pub v: u32,
    /// Request id.
    pub id: RequestId,
    /// The ceremony.
    #[serde(flatten)]
    pub ceremony: Ceremony,
}

/// True when `method` names a ceremony (the shell routes those frames to its UI).
pub fn is_ceremony(method: &str) -> bool {
    method.starts_with("ui.") || method.starts_with("passkey.") || method == "storage.requestAccess"
}

/// True for a character that must not reach a prompt: a control character, or a
/// bidirectional formatting character (which could make a displayed name read as another).
fn unsafe_to_display(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl Ceremony {
    /// Checks the page's texts: at most [`MAX_TEXT_LEN`] characters, none a control or
    /// bidirectional formatting character (a text is displayed, so it must not restyle,
    /// break or reorder the prompt).
    ///
    /// # Errors
    /// [`Error::BadRequest`] naming the field.
    pub fn validate(&self) -> Result<(), Error> {
        let texts: &[(&str, Option<&str>)] = match self {
            Self::Setup { hint } | Self::Unlock { hint } => &[("hint", hint.as_deref())],
            Self::AddPassphrase { label } => &[("label", label.as_deref())],
            Self::ChangePassphrase { method_id } | Self::RemoveMethod { method_id } => {
                &[("methodId", Some(method_id.as_str()))]
            }
            Self::AddPasskey { label, user_name } | Self::AddGate { label, user_name } => &[
                ("label", label.as_deref()),
                ("userName", user_name.as_deref()),
            ],
            Self::UnlockPasskey | Self::UnlockGate | Self::RequestStorageAccess => &[],
            Self::Trust {
                address,
                local_name,
                remote_name,
                identity_key,
            } => {
                address.checked()?;
                // Names are as long as the session methods take them (bytes); the prompt
                // shows them, so they are checked for what may be displayed too.
                for (field, name) in [
                    ("address.name", address.name.as_str()),
                    ("localName", local_name),
                    ("remoteName", remote_name),
                ] {
                    if name.is_empty()
                        || name.len() > MAX_ADDRESS_NAME
                        || name.chars().any(unsafe_to_display)
                    {
                        return Err(Error::bad_request(format!(
                            "{field}: expected 1 to {MAX_ADDRESS_NAME} bytes of printable characters"
                        )));
                    }
                }
                &[("identityKey", identity_key.as_deref())]
            }
        };
        for &(name, text) in texts {
            if let Some(t) = text
                && (t.chars().count() > MAX_TEXT_LEN || t.chars().any(unsafe_to_display))
            {
                return Err(Error::bad_request(format!(
                    "{name}: expected at most {MAX_TEXT_LEN} printable characters"
                )));
            }
        }
        Ok(())
    }
}

/// Decodes a ceremony frame like [`super::frame::parse`] decodes a request frame.
///
/// # Errors
/// The id to answer (if one could be read) and a typed error.
pub fn parse<E: core::fmt::Display>(
    header: Result<FrameHeader, E>,
    call: impl FnOnce() -> Result<CeremonyCall, E>,
) -> Result<(RequestId, Ceremony), (Option<RequestId>, Error)> {
    let id = super::frame::check_header(header)?;
    let ceremony = call()
        .map_err(|e| (Some(id), Error::bad_request(e.to_string())))?
        .ceremony;
    ceremony.validate().map_err(|e| (Some(id), e))?;
    Ok((id, ceremony))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn parse_json(json: &str) -> Result<(RequestId, Ceremony), (Option<RequestId>, Error)> {
        parse(serde_json::from_str::<FrameHeader>(json), || {
            serde_json::from_str::<CeremonyCall>(json)
        })
    }

    #[test]
    fn every_ceremony_is_in_the_table_and_routed_to_the_ui() {
        let samples = [
            r#"{"method":"ui.setup","params":{}}"#,
            r#"{"method":"ui.unlock","params":{"hint":"h"}}"#,
            r#"{"method":"passkey.unlockPrf"}"#,
            r#"{"method":"passkey.unlockGate"}"#,
            r#"{"method":"ui.addPassphrase","params":{}}"#,
            r#"{"method":"ui.changePassphrase","params":{"methodId":"m-1"}}"#,
            r#"{"method":"ui.removeMethod","params":{"methodId":"m-1"}}"#,
            r#"{"method":"passkey.addPrf","params":{"userName":"u"}}"#,
            r#"{"method":"passkey.addGate","params":{}}"#,
            r#"{"method":"storage.requestAccess"}"#,
            r#"{"method":"ui.trust","params":{"address":{"name":"bob","deviceId":1},"localName":"alice","remoteName":"bob"}}"#,
        ];
        assert_eq!(samples.len(), CEREMONIES.len());
        for (spec, json) in CEREMONIES.iter().zip(samples) {
            let c: Ceremony = serde_json::from_str(json).unwrap();
            assert_eq!((c.name(), c.result_type()), (spec.name, spec.result));
            assert!(is_ceremony(spec.name), "{}", spec.name);
            assert!(
                super::super::MethodSpec::find(spec.name).is_none(),
                "{} is also a method",
                spec.name
            );
        }
        let results: Vec<_> = CEREMONIES.iter().map(|c| c.result).collect();
        assert_eq!(
            results,
            [
                "unlocked",
                "unlocked",
                "unlocked",
                "unlocked",
                "methodAdded",
                "done",
                "done",
                "methodAdded",
                "methodAdded",
                "done",
                "signalIdentity"
            ]
        );
    }

    #[test]
    fn parses_and_validates() {
        assert_eq!(
            parse_json(r#"{"v":1,"id":4,"method":"ui.unlock","params":{"hint":"to sign"}}"#)
                .unwrap(),
            (
                4,
                Ceremony::Unlock {
                    hint: Some("to sign".into())
                }
            )
        );
        assert_eq!(
            parse_json(r#"{"v":1,"id":5,"method":"passkey.unlockPrf"}"#)
                .unwrap()
                .1,
            Ceremony::UnlockPasskey
        );
        let long = format!(
            r#"{{"v":1,"id":6,"method":"ui.setup","params":{{"hint":"{}"}}}}"#,
            "x".repeat(200)
        );
        assert!(matches!(
            parse_json(&long),
            Err((Some(6), Error::BadRequest { .. }))
        ));
        assert!(matches!(
            parse_json(r#"{"v":1,"id":7,"method":"ui.setup","params":{"passphrase":"p"}}"#),
            Err((Some(7), Error::BadRequest { .. }))
        ));
        assert!(matches!(
            parse_json(r#"{"v":1,"id":8,"method":"ui.setup","params":{"hint":"a\u0007b"}}"#),
            Err((Some(8), Error::BadRequest { .. }))
        ));
        // A name the trust prompt shows may not reorder itself (U+202E) or break a line.
        for name in ["bob\u{202e}gnp.exe", "bob\nalice", ""] {
            let frame = serde_json::json!({"v": 1, "id": 9, "method": "ui.trust", "params": {
                "address": {"name": name, "deviceId": 1}, "localName": "a", "remoteName": "b"}});
            assert!(
                matches!(
                    parse_json(&frame.to_string()),
                    Err((Some(9), Error::BadRequest { .. }))
                ),
                "{name:?}"
            );
        }
        let frame = serde_json::json!({"v": 1, "id": 10, "method": "ui.trust", "params": {
            "address": {"name": "b".repeat(256), "deviceId": 1}, "localName": "a", "remoteName": "b"}});
        assert!(
            parse_json(&frame.to_string()).is_ok(),
            "the longest name an address has"
        );
        assert!(is_ceremony("ui.setup") && !is_ceremony("setup"));
    }
}
