//! `kms-core`: the pure-Rust key service of the browser key management enclave.
//!
//! Everything the enclave can do lives here and is tested natively: key generation and
//! wrapping, unlock methods, VAPID and relay tokens, Signal identity and prekeys, the
//! hash-chained audit log, and the typed request/response service ([`service::Kms`]) that
//! the browser shell exposes over `postMessage`.
//!
//! The crate does no I/O. Storage, time, randomness and optional fast primitives arrive
//! through small traits ([`store::Store`], [`clock::Clock`], [`rand_core::CryptoRng`],
//! [`kdf::Pbkdf2Provider`]), so the same code runs natively and in WebAssembly.
#![forbid(unsafe_code)]

pub mod audit;
pub mod b64;
pub mod clock;
pub mod device;
pub mod envelope;
pub mod error;
pub mod format;
pub mod ids;
pub mod jwk;
pub mod jws;
pub mod kdf;
pub mod origin;
pub mod relay_token;
pub mod rpc;
pub mod secret;
pub mod service;
pub mod signal;
pub mod store;
pub mod unlock;
pub mod vapid;
pub mod webauthn;
pub mod wrap;

pub use rand_core;
