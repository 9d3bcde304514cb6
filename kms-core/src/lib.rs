//! `kms-core`: the pure-Rust key service of the browser key management enclave.
//!
//! Everything the enclave can do lives here and is tested natively: key generation and
//! wrapping, unlock methods, VAPID and relay tokens, Signal identity and prekeys, the
//! hash-chained audit log, and the typed request/response service ([`Kms`]) that the
//! browser shell exposes over `postMessage`.
//!
//! The crate does no I/O. Storage, time, randomness and optional fast primitives arrive
//! through small traits ([`Store`], [`Clock`], [`rand_core::CryptoRng`],
//! [`Pbkdf2Provider`], [`DeviceKey`]), so the same code runs natively and in WebAssembly.
//!
//! # The surface
//!
//! - At the root: the service ([`Kms`], [`Config`]), its errors ([`Error`]), the caller's
//!   [`Origin`], the ids it hands out ([`KeyId`], [`MethodId`]), secrets ([`Secret32`],
//!   [`SecretBytes`]) and the traits a host implements.
//! - [`rpc`]: the wire contract — one table row per method (params, policy, result, audit
//!   operations), frames, ceremonies.
//! - [`service`]: the typed results and public key descriptions.
//! - [`store`]: the storage trait, the in-memory store and the conformance suite every
//!   backend runs.
//! - [`audit`], [`envelope`], [`signal`], [`jws`], [`jwk`], [`relay_token`], [`vapid`]: the
//!   formats and protocols peers and relay servers verify.
//! - [`hazmat`]: the building blocks below the service (record sealing, KDFs, base64, the
//!   store layout, WebAuthn verification), for tests, tools and independent checks. Using
//!   them directly can break what the service guarantees.
#![forbid(unsafe_code)]

pub mod audit;
mod b64;
mod clock;
mod device;
pub mod envelope;
mod error;
mod format;
mod ids;
pub mod jwk;
pub mod jws;
mod kdf;
mod origin;
pub mod relay_token;
pub mod rpc;
mod secret;
pub mod service;
pub mod signal;
pub mod store;
mod unlock;
pub mod vapid;
mod webauthn;
mod wrap;

#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock};
pub use device::{DeviceKey, DeviceKeyError, MemoryDeviceKey, NoDeviceKey};
pub use error::{Error, ErrorBody, ErrorCode, InternalError};
pub use ids::{KeyId, MethodId};
pub use kdf::{KdfError, Pbkdf2Provider, RustPbkdf2};
pub use origin::{InvalidOrigin, Origin};
pub use rand_core;
pub use secret::{Secret32, SecretBytes, WrongLength};
pub use service::{Config, Kms};
pub use store::{MemoryStore, Store, StoreError};
pub use unlock::MethodKind;

pub mod hazmat {
    //! The building blocks below the service: what tests, tools and independent checks need
    //! and a host running the enclave does not. Each is sound on its own; combining them by
    //! hand can break what [`crate::Kms`] guarantees (a record sealed under the wrong
    //! associated data, an unaudited key use, a passphrase run through fewer iterations).

    pub mod b64 {
        //! Unpadded base64url, the encoding of every byte field.
        pub use crate::b64::*;
    }

    pub mod format {
        //! Algorithm and format ids, the canonical encoding, and the one JSON encoder.
        pub use crate::format::*;
    }

    pub mod kdf {
        //! PBKDF2-HMAC-SHA256 and HKDF-SHA256 as the unlock methods use them.
        pub use crate::kdf::*;
    }

    pub mod wrap {
        //! AES-256-GCM sealing of records under a key with associated data.
        pub use crate::wrap::*;
    }

    pub mod unlock {
        //! Unlock records: the KEK sealed under each method's K_wrap.
        pub use crate::unlock::*;
    }

    pub mod webauthn {
        //! WebAuthn registration and assertion verification (the passkey gate).
        pub use crate::webauthn::*;
    }

    pub mod records {
        //! Stored key records and where the service keeps each record.
        pub use crate::service::records::{KeyHeader, KeyRecord, KeyShard};

        pub mod layout {
            //! The store's keys: the "Store layout" table of `docs/formats.md`.
            pub use crate::service::layout::*;
        }
    }
}
