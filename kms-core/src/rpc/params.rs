//! The params of each method that takes any: one struct per method, the `params` object of
//! its request frame (`{"method": "setup", "params": {"passphrase": "…"}}`).
//!
//! Field names are camelCase on the wire and unknown fields are refused. The method table
//! in [`super`] names each struct as its method's [`super::method::Method::Params`].

use crate::envelope::EnvelopeFormat;
use serde::Deserialize;

use super::{Bytes, RelayAlg, SecretInput};
use crate::envelope::Envelope;
use crate::ids::{KeyId, MethodId};

/// Params of `setup`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetupParams {
    /// The passphrase (at least 8 bytes).
    pub passphrase: SecretInput,
}

/// Params of `unlock.passphrase`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlockPassphraseParams {
    /// The passphrase.
    pub passphrase: SecretInput,
}

/// Params of `unlock.prf`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlockPrfParams {
    /// Credential id of the passkey.
    pub credential_id: Bytes,
    /// PRF output for the method's `prfInput`.
    pub prf_output: SecretInput,
}

/// Params of `unlock.gate`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlockGateParams {
    /// Credential id.
    pub credential_id: Bytes,
    /// `authenticatorData`.
    pub authenticator_data: Bytes,
    /// `clientDataJSON`.
    pub client_data_json: Bytes,
    /// Assertion signature.
    pub signature: Bytes,
}

/// Params of `methods.addPassphrase`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPassphraseParams {
    /// The new passphrase.
    pub passphrase: SecretInput,
    /// Optional label.
    pub label: Option<String>,
}

/// Params of `methods.changePassphrase`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassphraseParams {
    /// The method to change.
    pub method_id: MethodId,
    /// The new passphrase.
    pub passphrase: SecretInput,
}

/// Params of `methods.addPrf`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPrfParams {
    /// Credential id of the passkey.
    pub credential_id: Bytes,
    /// The PRF input that produced `prf_output` (from `methods.prfInput`).
    pub prf_input: Bytes,
    /// PRF output.
    pub prf_output: SecretInput,
    /// Optional label.
    pub label: Option<String>,
}

/// Params of `methods.addGate`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddGateParams {
    /// `attestationObject`.
    pub attestation_object: Bytes,
    /// `clientDataJSON`.
    pub client_data_json: Bytes,
    /// Optional label.
    pub label: Option<String>,
}

/// Params of `methods.remove`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveMethodParams {
    /// The method id.
    pub method_id: MethodId,
}

/// Params of `keys.delete`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteKeyParams {
    /// The key id.
    pub key_id: KeyId,
}

/// Params of `vapid.authorization`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VapidAuthorizationParams {
    /// Push service origin (https).
    pub aud: String,
    /// Contact (`mailto:` or `https:`).
    pub sub: Option<String>,
    /// Expiry (seconds since the epoch); at most 24 h ahead, default 12 h.
    pub exp: Option<u64>,
}

/// Params of `relay.createKey`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelayCreateKeyParams {
    /// Algorithm.
    pub alg: RelayAlg,
}

/// Params of `relay.token`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelayTokenParams {
    /// Signing key id (`kid`).
    pub kid: String,
    /// Audience: the relay's identifier.
    pub aud: String,
    /// Issuer; defaults to the caller's origin.
    pub iss: Option<String>,
    /// Optional scopes.
    pub scope: Option<Vec<String>>,
    /// Lifetime in seconds (default 300, at most 3600).
    pub ttl_secs: Option<u64>,
}

/// Params of `signal.bundle`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalBundleParams {
    /// Include a one-time prekey (the first unused one) if any is left.
    pub one_time: Option<bool>,
}

/// Params of `signal.replenish`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalReplenishParams {
    /// Desired number of unused one-time prekeys.
    pub target: Option<u32>,
}

/// Params of `signal.sign`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalSignParams {
    /// The page's message.
    pub message: Bytes,
}

/// Params of `envelope.prekeys`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvelopePrekeysParams {
    /// How many (1 to 1000).
    pub count: u32,
    /// X25519 + ML-KEM-768 (default) or X25519 only.
    pub hybrid: Option<bool>,
}

/// Params of `envelope.epochKey`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvelopeEpochKeyParams {
    /// For a new key: X25519 + ML-KEM-768 (default) or X25519 only.
    pub hybrid: Option<bool>,
    /// Create a new epoch key even if one exists.
    pub rotate: Option<bool>,
}

/// Params of `envelope.open`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvelopeOpenParams {
    /// The envelope.
    pub envelope: Envelope,
}

/// The envelope format a `hybrid` flag asks for: X25519 + ML-KEM-768 unless `false`.
fn envelope_format(hybrid: Option<bool>) -> EnvelopeFormat {
    if hybrid.unwrap_or(true) {
        EnvelopeFormat::HybridMlKem768AesGcmV1
    } else {
        EnvelopeFormat::X25519AesGcmV1
    }
}

impl SignalBundleParams {
    /// Whether to include a one-time prekey (default: yes).
    pub fn one_time(&self) -> bool {
        self.one_time.unwrap_or(true)
    }
}

impl EnvelopePrekeysParams {
    /// The prekeys' format (default: hybrid).
    pub fn format(&self) -> EnvelopeFormat {
        envelope_format(self.hybrid)
    }
}

impl EnvelopeEpochKeyParams {
    /// A new key's format (default: hybrid).
    pub fn format(&self) -> EnvelopeFormat {
        envelope_format(self.hybrid)
    }

    /// Whether to replace an existing epoch key (default: no).
    pub fn rotate(&self) -> bool {
        self.rotate.unwrap_or(false)
    }
}

impl RelayTokenParams {
    /// The issuer: as given, else the caller's origin.
    pub fn issuer<'a>(&'a self, caller: &'a crate::origin::Origin) -> &'a str {
        self.iss.as_deref().unwrap_or(caller.as_str())
    }
}
