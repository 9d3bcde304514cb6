//! Web Push for an application server: the message encryption of RFC 8291 in the
//! `aes128gcm` content coding of RFC 8188 ([`ece`]), the subscription a browser hands out
//! ([`subscription`]) and, with the `client` feature, sending a message to a push service
//! ([`mod@send`]).
//!
//! The `Authorization` header is not made here: the enclave signs it (`vapid.authorization`,
//! `kms_core::vapid`), and [`send()`] carries the value it produced.
//!
//! Layouts and outcomes are in `docs/formats.md` ("Web Push").

pub mod ece;
#[cfg(feature = "client")]
pub mod send;
pub mod subscription;

pub use ece::{
    EceError, HEADER_LEN, MAX_BODY_LEN, MAX_PLAINTEXT_LEN, RECORD_SIZE, Receiver, decrypt, encrypt,
    encrypt_with,
};
#[cfg(feature = "client")]
pub use send::{Delivery, SendError, SendOptions, Urgency, send};
pub use subscription::{Subscription, SubscriptionError, SubscriptionKeys};
