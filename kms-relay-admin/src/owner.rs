//! The vault opened by its owner: kms-core's key service over a [`SqliteStore`], called as
//! the owner's own trusted surface — the native counterpart of the enclave's UI.
//!
//! The vault holds private prekeys sealed under a KEK, the KEK sealed under the owner's
//! passphrase (PBKDF2-SHA256 600 000), and audits every operation, exactly as the enclave
//! does; this module only opens it and names the few calls the admin CLI makes.

use std::path::{Path, PathBuf};

use kms_core::Origin;
use kms_core::StoreError;
use kms_core::SystemClock;
use kms_core::envelope::{Envelope, SignedPrekey};
use kms_core::rpc::policy::Caller;
use kms_core::rpc::{
    EnvelopeEpochKeyParams, EnvelopeOpenParams, EnvelopePrekeysParams, Method, RelayTokenParams,
    SecretInput, SetupParams, UnlockPassphraseParams, methods,
};
use kms_core::service::{EnvelopeEpochKeyResponse, KeyKind, Kms};
use kms_relay::api::UPLOAD_SCOPE;
use zeroize::Zeroizing;

use crate::vault::SqliteStore;

/// The audience of upload tokens unless told otherwise (the vending server's `--audience`).
pub const DEFAULT_AUDIENCE: &str = "kms-vending";

/// Lifetime of an upload token: one upload, with room for a slow link.
pub const UPLOAD_TOKEN_TTL_SECS: u64 = 120;

/// Most prekeys one `envelope.prekeys` call makes (kms-core's limit).
pub const PREKEYS_PER_CALL: u32 = 1000;

/// The key service over the vault file.
type VaultKms = Kms<SqliteStore, SystemClock, rand::rngs::ThreadRng>;

/// Opening or using the vault failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// Unlocking a vault that was never created.
    #[error("{}: no vault; run `vault init` first", .0.display())]
    NoVault(PathBuf),
    /// Creating a vault over an existing file.
    #[error("{} already exists", .0.display())]
    VaultExists(PathBuf),
    /// The vault file cannot be opened as a store.
    #[error("{}: {source}", path.display())]
    Store {
        /// The vault file.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
    /// The key service refused a call; its stable code (`BadCredential`, `KeyConsumed`, …)
    /// is in the message.
    #[error("{method}: {} ({source})", source.code())]
    Refused {
        /// The method's wire name.
        method: &'static str,
        /// The service's error.
        source: kms_core::Error,
    },
    /// The vault has no relay key to sign upload tokens with.
    #[error("the vault has no relay key")]
    NoRelayKey,
    /// An opened envelope's plaintext is not base64url (the service always encodes it).
    #[error("opened plaintext: {0}")]
    Plaintext(kms_core::hazmat::b64::InvalidBase64),
}

/// The vault, unlocked by its owner for one origin shard.
pub struct Owner {
    kms: VaultKms,
    origin: Origin,
}

impl core::fmt::Debug for Owner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Owner")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Owner {
    /// Creates the vault file at `path` and sets it up under `passphrase`: no keys yet.
    ///
    /// # Errors
    /// [`OwnerError::VaultExists`] if `path` exists, [`OwnerError::Store`], or the service's
    /// refusal of `setup`.
    pub fn create(
        path: &Path,
        origin: Origin,
        passphrase: SecretInput,
    ) -> Result<Self, OwnerError> {
        if path.exists() {
            return Err(OwnerError::VaultExists(path.to_owned()));
        }
        let mut owner = Self::open(path, origin)?;
        owner.call::<methods::Setup>(SetupParams { passphrase })?;
        Ok(owner)
    }

    /// Opens the vault file at `path` and unlocks it with `passphrase`.
    ///
    /// # Errors
    /// [`OwnerError::NoVault`] if `path` does not exist, [`OwnerError::Store`], or the
    /// service's refusal of `unlock.passphrase` (`BadCredential` for a wrong passphrase).
    pub fn unlock(
        path: &Path,
        origin: Origin,
        passphrase: SecretInput,
    ) -> Result<Self, OwnerError> {
        if !path.exists() {
            return Err(OwnerError::NoVault(path.to_owned()));
        }
        let mut owner = Self::open(path, origin)?;
        owner.call::<methods::UnlockPassphrase>(UnlockPassphraseParams { passphrase })?;
        Ok(owner)
    }

    fn open(path: &Path, origin: Origin) -> Result<Self, OwnerError> {
        let store = SqliteStore::open(path).map_err(|source| OwnerError::Store {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            kms: Kms::new(store, SystemClock, rand::rng()),
            origin,
        })
    }

    /// The origin shard this vault's keys belong to.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Calls method `M` as the vault's owner.
    ///
    /// # Errors
    /// [`OwnerError::Refused`] with the service's error.
    pub fn call<M: Method>(&mut self, params: M::Params) -> Result<M::Output, OwnerError> {
        let caller = Caller::EnclaveUi(self.origin.clone());
        pollster::block_on(self.kms.call::<M>(&caller, params)).map_err(|source| {
            OwnerError::Refused {
                method: M::NAME,
                source,
            }
        })
    }

    /// The kid of the vault's relay key (the one `vault init` made).
    ///
    /// # Errors
    /// [`OwnerError::NoRelayKey`], or a refusal.
    pub fn relay_kid(&mut self) -> Result<String, OwnerError> {
        self.call::<methods::ListKeys>(())?
            .keys
            .iter()
            .find(|k| k.kind == KeyKind::Relay)
            .and_then(|k| k.id.name(KeyKind::Relay))
            .map(str::to_owned)
            .ok_or(OwnerError::NoRelayKey)
    }

    /// A relay token with scope [`UPLOAD_SCOPE`] for the vending server known as `audience`,
    /// valid for [`UPLOAD_TOKEN_TTL_SECS`].
    ///
    /// # Errors
    /// [`OwnerError::NoRelayKey`], or a refusal.
    pub fn upload_token(&mut self, audience: &str) -> Result<String, OwnerError> {
        let params = RelayTokenParams {
            kid: self.relay_kid()?,
            aud: audience.to_owned(),
            iss: None,
            scope: Some(vec![UPLOAD_SCOPE.to_owned()]),
            ttl_secs: Some(UPLOAD_TOKEN_TTL_SECS),
        };
        Ok(self.call::<methods::RelayToken>(params)?.token)
    }

    /// The epoch key and the identity key that signed it: the current one, or a new one if
    /// there is none or `rotate` (X25519 + ML-KEM-768 when `hybrid`, else X25519 only).
    ///
    /// # Errors
    /// A refusal.
    pub fn epoch_key(
        &mut self,
        hybrid: bool,
        rotate: bool,
    ) -> Result<EnvelopeEpochKeyResponse, OwnerError> {
        let params = EnvelopeEpochKeyParams {
            hybrid: Some(hybrid),
            rotate: Some(rotate),
        };
        self.call::<methods::EnvelopeEpochKey>(params)
    }

    /// `count` new signed one-time prekeys (the private parts stay in the vault), made
    /// [`PREKEYS_PER_CALL`] at a time.
    ///
    /// # Errors
    /// A refusal.
    pub fn prekeys(&mut self, count: u32, hybrid: bool) -> Result<Vec<SignedPrekey>, OwnerError> {
        let mut prekeys = Vec::new();
        let mut left = count;
        while left > 0 {
            let n = left.min(PREKEYS_PER_CALL);
            let params = EnvelopePrekeysParams {
                count: n,
                hybrid: Some(hybrid),
            };
            prekeys.extend(self.call::<methods::EnvelopePrekeys>(params)?.prekeys);
            left -= n;
        }
        Ok(prekeys)
    }

    /// Opens `envelope`: its plaintext, and a one-time prekey it was sealed to is shredded.
    ///
    /// # Errors
    /// A refusal (`KeyConsumed` for an envelope already opened), or
    /// [`OwnerError::Plaintext`].
    pub fn open_envelope(&mut self, envelope: Envelope) -> Result<Zeroizing<Vec<u8>>, OwnerError> {
        let opened = self.call::<methods::EnvelopeOpen>(EnvelopeOpenParams { envelope })?;
        let plaintext = Zeroizing::new(opened.plaintext);
        kms_core::hazmat::b64::decode(&plaintext)
            .map(Zeroizing::new)
            .map_err(OwnerError::Plaintext)
    }
}
