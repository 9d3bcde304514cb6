//! `kms-relay-admin`: the prekey owner's side of the vending service, apart from the server
//! (`kms-relay`) because it runs on the owner's machine, not the operator's.
//!
//! - [`vault`]: the encrypted local vault, kms-core's store on a SQLite file.
//! - [`owner`]: that vault opened by its owner — kms-core's key service over it, and the
//!   calls the CLI makes (upload tokens, prekeys, the epoch key, opening envelopes).
//! - The `kms-relay-admin` binary: the owner's CLI over that vault (`kms-relay-admin --help`),
//!   which talks to a vending server through [`kms_relay::client`].
//!
//! How the owner and the operator set up a vending service is in `docs/relay.md`.
#![forbid(unsafe_code)]

pub mod owner;
pub mod vault;
