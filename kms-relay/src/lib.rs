//! `kms-relay`: the server-side companions of the key management enclave.
//!
//! - [`verify`]: verification of the enclave's relay tokens (ES256/EdDSA compact JWS) with
//!   jwt-simple against registered keys ([`jwks`]), with `jti` replay protection
//!   ([`replay`]) and a distinct typed [`verify::Rejection`] per failed check.
//! - [`vending`]: the one-time prekey vending machine's storage (SQLite and PostgreSQL behind
//!   one trait, one conformance suite), [`api`] its HTTP API as types, [`server`] the server
//!   and [`client`] a client for owners and senders.
//! - [`vault`]: the admin CLI's encrypted local vault (kms-core's store on SQLite).
//!
//! The HTTP API, how to run the server and the load-test figures are in `docs/relay.md`.
#![forbid(unsafe_code)]

pub mod api;
pub mod client;
pub mod jwks;
pub mod loadtest;
pub mod replay;
pub mod server;
pub mod vault;
pub mod vending;
pub mod verify;
