//! `kms-witness`: a C2SP `tlog-witness` (c2sp.org/tlog-witness) for the release transparency
//! log, so that a log cannot show one history to some verifiers and another to others
//! without a witness refusing.
//!
//! For each log it knows (origin and verifier key), the witness keeps the latest checkpoint
//! it cosigned. It cosigns a new checkpoint only if the log signed it and a consistency proof
//! leads to it from that stored checkpoint, and only after storing it durably; it never
//! cosigns a smaller tree or another history than one it cosigned, across restarts too.
//!
//! - [`witness`]: the checks of `add-checkpoint`, in the specification's order.
//! - [`state`]: the stored checkpoint of each log, one file per log, replaced atomically.
//! - [`server`]: the HTTP service.
//!
//! Cosignatures are C2SP `cosignature/v1` ([`kms_tlog::cosignature`]); the request and
//! response bodies are in [`kms_tlog::witness`].
#![forbid(unsafe_code)]

pub mod server;
pub mod state;
pub mod witness;
