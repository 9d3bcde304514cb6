//! `kms-relay`: the server-side companions of the key management enclave.
//!
//! - [`verify`]: verification of the enclave's relay tokens (ES256/EdDSA compact JWS) with
//!   jwt-simple against registered keys ([`jwks`]), with `jti` replay protection
//!   ([`replay`]) and a distinct typed [`verify::Rejection`] per failed check.
//! - [`vending`]: the one-time prekey vending machine's storage (SQLite and PostgreSQL behind
//!   one trait, one conformance suite), [`api`] its HTTP API as types, [`server`] the server
//!   and [`client`] a client for owners and senders.
//! - [`webpush`]: Web Push for the owner's application server — RFC 8291 message encryption
//!   (`aes128gcm`), the browser's subscription JSON and, with `client`, sending a message
//!   with the enclave's VAPID authorization.
//! - [`loadtest`]: the vending server under many concurrent clients (`kms-relay loadtest`),
//!   native or the Cloudflare Worker on local workerd ([`workerd`]).
//!
//! The default feature `server` brings the server, SQLite and PostgreSQL storage, the load
//! test, the local Worker harness and the `kms-relay` binary; `client` alone is what an
//! owner's tools need (verification, the API types, the client). Without any feature the
//! crate is the part the Worker's wasm module (`kms-relay/worker`) is built from:
//! verification, [`admission`], [`ratelimit`], the API types and the SQL.
//!
//! The owner's side — the encrypted local vault and the `kms-relay-admin` CLI — is the
//! `kms-relay-admin` crate: it runs on the owner's machine and uses [`client`] and [`api`].
//!
//! The HTTP API, how to run the server and the load-test figures are in `docs/relay.md`.
#![forbid(unsafe_code)]

pub mod admission;
pub mod api;
#[cfg(feature = "client")]
pub mod client;
pub mod jwks;
#[cfg(feature = "server")]
pub mod loadtest;
pub mod ratelimit;
pub mod replay;
#[cfg(feature = "server")]
pub mod server;
pub mod vending;
pub mod verify;
pub mod webpush;
#[cfg(feature = "server")]
pub mod workerd;
