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

/// A peer's address in a Signal request: account name and device id, as libsignal's
/// `ProtocolAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalAddress {
    /// The account's name (1 to [`MAX_ADDRESS_NAME`] bytes; a service id on the Signal
    /// service: `<uuid>` or `PNI:<uuid>`).
    pub name: String,
    /// The device id (1 to [`MAX_DEVICE_ID`]).
    pub device_id: u32,
}

/// Longest account name of a [`SignalAddress`], in bytes.
pub const MAX_ADDRESS_NAME: usize = 256;
/// Largest device id (libsignal's `DeviceId` range is 1 to 127).
pub const MAX_DEVICE_ID: u32 = 127;

impl SignalAddress {
    /// The address as the session code takes it, after checking its bounds.
    ///
    /// # Errors
    /// [`crate::Error::BadRequest`] for an empty or overlong name, a control character in
    /// it, or a device id outside 1 to [`MAX_DEVICE_ID`].
    pub fn checked(&self) -> Result<crate::signal::Address, crate::Error> {
        if self.name.is_empty() || self.name.len() > MAX_ADDRESS_NAME {
            return Err(crate::Error::bad_request(format!(
                "address.name: expected 1 to {MAX_ADDRESS_NAME} bytes, got {}",
                self.name.len()
            )));
        }
        if self.name.chars().any(char::is_control) {
            return Err(crate::Error::bad_request(
                "address.name: control characters are not allowed",
            ));
        }
        if !(1..=MAX_DEVICE_ID).contains(&self.device_id) {
            return Err(crate::Error::bad_request(format!(
                "address.deviceId: expected 1 to {MAX_DEVICE_ID}, got {}",
                self.device_id
            )));
        }
        Ok(crate::signal::Address::new(
            self.name.clone(),
            self.device_id,
        ))
    }
}

/// Params of `signal.startSession`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalStartSessionParams {
    /// The peer.
    pub address: SignalAddress,
    /// The peer device's prekey bundle (its `deviceId` must be the address's).
    pub bundle: crate::signal::PreKeyBundle,
}

/// Params of `signal.encrypt`. `Debug` leaves the plaintext out: it is the caller's
/// message, never something to log.
#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalEncryptParams {
    /// The peer.
    pub address: SignalAddress,
    /// The message.
    pub plaintext: Bytes,
    /// Our account name, when it is a service id: the first messages then carry both
    /// addresses, as libsignal's do.
    pub local_name: Option<String>,
}

impl core::fmt::Debug for SignalEncryptParams {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignalEncryptParams")
            .field("address", &self.address)
            .field(
                "plaintext",
                &format_args!("<{} bytes redacted>", self.plaintext.0.len()),
            )
            .field("local_name", &self.local_name)
            .finish()
    }
}

/// Params of `signal.decrypt`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalDecryptParams {
    /// The sender.
    pub address: SignalAddress,
    /// The serialized message.
    pub message: Bytes,
    /// libsignal's message type: 2 (`SignalMessage`) or 3 (`PreKeySignalMessage`).
    pub message_type: u8,
    /// Our account name, when it is a service id (checked against the addresses a
    /// message carries).
    pub local_name: Option<String>,
}

/// Params of `signal.deleteSession`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalDeleteSessionParams {
    /// The peer.
    pub address: SignalAddress,
}

/// Params of `signal.identity`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalIdentityParams {
    /// The peer.
    pub address: SignalAddress,
}

/// Params of `signal.trust` (the enclave's UI only).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalTrustParams {
    /// The peer.
    pub address: SignalAddress,
    /// The identity key to trust for it (base64url of `0x05 ‖ u`).
    pub identity_key: String,
    /// The user compared the safety number (default: no).
    pub verified: Option<bool>,
}

/// Params of `signal.safetyNumber`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalSafetyNumberParams {
    /// The peer whose stored identity key to use.
    pub address: SignalAddress,
    /// Our account name as the fingerprint names it (an ACI UUID, or e.g. a phone number).
    pub local_name: String,
    /// The peer's account name as the fingerprint names it.
    pub remote_name: String,
    /// A key to use instead of the stored one (base64url of `0x05 ‖ u`): the new key of a
    /// peer whose identity changed, so that the user can compare before trusting it.
    pub identity_key: Option<String>,
}
