//! Helpers shared by the service test files.

use kms_core::Origin;
use kms_core::rpc::Request;
use kms_core::rpc::policy::{Caller, Policy};

/// The caller the enclave routes `r` from: its own UI for the methods that are the user's
/// (setup, unlocking, unlock methods), the linked page for everything else.
pub(crate) fn routed(origin: &str, r: &Request) -> Caller {
    routed_by(origin, r.policy())
}

/// The caller the enclave routes a method of `policy` from.
pub(crate) fn routed_by(origin: &str, policy: Policy) -> Caller {
    let o = Origin::parse(origin).unwrap_or_else(|e| panic!("{origin}: {e}"));
    if policy == Policy::Page {
        Caller::Page(o)
    } else {
        Caller::EnclaveUi(o)
    }
}
