//! Who may call each method: the caller policy every request passes before it runs.
//!
//! The enclave serves two callers. A **page** is a web app linked over the RPC port: it may
//! use keys (sign, decrypt, open envelopes) while the user has the enclave unlocked, and
//! every use is audited, but nothing it can do outlives its compromise. The **enclave's own
//! UI** runs in the enclave frame and acts on a user's gesture there: setup, unlocking and
//! every change of unlock methods are its alone, so a passphrase, a PRF output or a passkey
//! assertion is never something the page handles or can plant.
//!
//! Each method's policy is part of its row in the method table ([`super::method`]): a
//! method added later does not compile until it says who may call it, and
//! [`super::Request::policy`] and [`super::METHODS`] come from the same row.

use serde::Serialize;

use crate::audit::Op;
use crate::origin::Origin;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A page linked over the RPC port; its origin names its key shard.
    Page(Origin),
    /// The enclave's own UI, acting on a user's gesture inside the enclave frame, on behalf
    /// of the linked page `origin` (whose shard receives the audit entry).
    ///
    /// Only the browser shell constructs it, from its own UI code (never from a frame that
    /// arrived on the port), after a trusted click in a frame it could see was visible.
    EnclaveUi(Origin),
}

impl Caller {
    /// The origin whose shard the request works in.
    pub fn origin(&self) -> &Origin {
        match self {
            Self::Page(o) | Self::EnclaveUi(o) => o,
        }
    }

    /// True for the enclave's own UI.
    pub fn is_enclave_ui(&self) -> bool {
        matches!(self, Self::EnclaveUi(_))
    }
}

/// Who may call a method. Serialized (for the SDK's generated table) as `page`,
/// `enclaveUi` or `enclaveUiFresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Policy {
    /// Any linked page, and the enclave's UI: reads, key use and key upkeep in the caller's
    /// shard. Nothing it returns is a key, a key-equivalent or a credential.
    Page,
    /// Only the enclave's UI: setup and unlocking (the credential is typed into, or
    /// produced by, the enclave frame).
    EnclaveUi,
    /// Only the enclave's UI, and only within [`FRESH_UNLOCK_MS`] of an unlock with a
    /// current method: every change to the unlock methods.
    EnclaveUiFresh,
}

/// How long after an unlock (or setup) by the enclave's UI a method change is accepted.
pub const FRESH_UNLOCK_MS: u64 = 2 * 60 * 1000;

impl Policy {
    /// True when `caller` may call a method with this policy (freshness is checked by the
    /// service, which knows when the last unlock was).
    pub fn admits(self, caller: &Caller) -> bool {
        match self {
            Self::Page => true,
            Self::EnclaveUi | Self::EnclaveUiFresh => caller.is_enclave_ui(),
        }
    }

    /// What the policy requires, for error messages and docs.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Page => "any linked page",
            Self::EnclaveUi => "the enclave's own UI, on a gesture in its frame",
            Self::EnclaveUiFresh => {
                "the enclave's own UI, on a gesture in its frame, after a fresh unlock"
            }
        }
    }
}

impl super::Request {
    /// The audit operation recorded when this method is refused to its caller (by its
    /// policy, or for want of a fresh unlock): the first of its row's `audits`; `None` for
    /// methods every caller may call.
    pub fn refusal_op(&self) -> Option<Op> {
        match self.policy() {
            Policy::Page => None,
            Policy::EnclaveUi | Policy::EnclaveUiFresh => self.audit_ops().first().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The policy walk: every method, called by a page on an unlocked enclave.
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::audit::{self, Entry};
    use crate::clock::ManualClock;
    use crate::error::Error;
    use crate::rpc::METHODS;
    use crate::rpc::samples::{SAMPLES, samples};
    use crate::service::Kms;
    use crate::store::MemoryStore;

    #[test]
    fn every_method_has_a_sample() {
        assert_eq!(SAMPLES.len(), METHODS.len(), "one sample per method");
        for (spec, r) in METHODS.iter().zip(samples()) {
            assert_eq!(r.method(), spec.name, "samples are in table order");
            assert_eq!(r.policy(), spec.policy, "{}", spec.name);
        }
    }

    /// The methods that are the user's authority, listed apart from the table: a change of
    /// policy in the table shows up here.
    const AUTHORITY: &[&str] = &[
        "setup",
        "unlock.passphrase",
        "unlock.prf",
        "unlock.gateChallenge",
        "unlock.gate",
        "methods.addPassphrase",
        "methods.changePassphrase",
        "methods.prfInput",
        "methods.addPrf",
        "methods.addGate",
        "methods.remove",
        // Which identity key a peer's address may use: a changed key accepted silently is
        // what an attacker in the page would want.
        "signal.trust",
    ];

    #[test]
    fn authority_is_the_enclave_uis() {
        for spec in METHODS {
            let authority = AUTHORITY.contains(&spec.name);
            assert_eq!(spec.policy != Policy::Page, authority, "{}", spec.name);
        }
        for name in AUTHORITY {
            assert!(
                METHODS.iter().any(|m| m.name == *name),
                "{name} is not a method"
            );
        }
    }

    #[test]
    fn policies_serialize_for_the_sdk() {
        let names = [Policy::Page, Policy::EnclaveUi, Policy::EnclaveUiFresh]
            .map(|p| serde_json::to_string(&p).unwrap());
        assert_eq!(
            names,
            [r#""page""#, r#""enclaveUi""#, r#""enclaveUiFresh""#]
        );
    }

    /// The last entry of `shard`'s audit log.
    fn last_entry(store: &MemoryStore, shard: &str) -> Option<Entry> {
        let logs = store.audit_snapshot();
        let last = logs.get(shard)?.last()?;
        Some(Entry::decode(last).unwrap())
    }

    /// Every method of the table, called by a page on an unlocked enclave: an authority
    /// method is refused with `NotPermitted`, changes no record and leaves a `denied` audit
    /// entry under its op; every other method gets past the policy.
    #[test]
    fn a_page_is_refused_every_authority_method() {
        let store = MemoryStore::new();
        let clock = ManualClock::new(1_800_000_000_000);
        let mut kms = Kms::new(store.clone(), clock, StdRng::seed_from_u64(3));
        let app = Origin::parse("https://app.example").unwrap();
        let setup = serde_json::from_str(SAMPLES[2]).unwrap();
        pollster::block_on(kms.handle(&Caller::EnclaveUi(app.clone()), setup)).unwrap();
        let page = Caller::Page(app);
        let shard = page.origin().as_str().to_owned();
        let mut refused = 0;
        for (spec, r) in METHODS.iter().zip(samples()) {
            let method = spec.name;
            let records = |s: &MemoryStore| {
                s.snapshot()
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("c/"))
                    .collect::<Vec<_>>()
            };
            let before = records(&store);
            let log_before = store.audit_snapshot().get(&shard).map_or(0, Vec::len);
            let op = r.refusal_op();
            assert_eq!(op.is_some(), spec.policy != Policy::Page, "{method}");
            let result = pollster::block_on(kms.handle(&page, r));
            if spec.policy == Policy::Page {
                assert!(
                    !matches!(result, Err(Error::NotPermitted { .. })),
                    "{method}: {result:?}"
                );
            } else {
                assert!(
                    matches!(result, Err(Error::NotPermitted { method: m, .. }) if m == method),
                    "{method}: {result:?}"
                );
                assert_eq!(records(&store), before, "{method} changed a record");
                let log_after = store.audit_snapshot().get(&shard).map_or(0, Vec::len);
                assert_eq!(log_after, log_before + 1, "{method}: one audit entry");
                let entry = last_entry(&store, &shard).unwrap();
                let op = op.unwrap();
                assert_eq!(entry.op, op.as_str(), "{method}");
                // A refusal is logged under the method's wire name in the log's charset.
                let kebab: String = method
                    .chars()
                    .flat_map(|c| {
                        let lower = c.to_ascii_lowercase();
                        (c.is_ascii_uppercase().then_some('-').into_iter()).chain([lower])
                    })
                    .collect();
                assert_eq!(op.as_str(), kebab, "{method}");
                assert_eq!(entry.outcome, audit::Outcome::Denied, "{method}");
                refused += 1;
            }
            if method == "lock" {
                // Unlock again (as the user) so the rest of the walk runs unlocked.
                let unlock = serde_json::from_str(
                    r#"{"method":"unlock.passphrase","params":{"passphrase":"attacker passphrase"}}"#,
                )
                .unwrap();
                let ui = Caller::EnclaveUi(page.origin().clone());
                pollster::block_on(kms.handle(&ui, unlock)).unwrap();
            }
        }
        assert_eq!(refused, AUTHORITY.len());
    }

    /// Every method of the table, called twice (by the enclave's UI, then by a page) on an
    /// unlocked enclave: each audit entry a call leaves names an operation of that method's
    /// row, and every operation the log knows belongs to some row.
    #[test]
    fn every_audit_entry_is_declared_in_its_methods_row() {
        let store = MemoryStore::new();
        let clock = ManualClock::new(1_800_000_000_000);
        let mut kms = Kms::new(store.clone(), clock, StdRng::seed_from_u64(4));
        let app = Origin::parse("https://app.example").unwrap();
        let ui = Caller::EnclaveUi(app.clone());
        let page = Caller::Page(app);
        let shard = page.origin().as_str().to_owned();
        let setup = serde_json::from_str(SAMPLES[2]).unwrap();
        pollster::block_on(kms.handle(&ui, setup)).unwrap();
        let unlock = || serde_json::from_str(SAMPLES[4]).unwrap();
        let mut recorded = std::collections::BTreeSet::new();
        let calls = METHODS.iter().zip(SAMPLES);
        for ((spec, sample), caller) in calls.flat_map(|c| [(c, &ui), (c, &page)]) {
            let request: crate::rpc::Request = serde_json::from_str(sample).unwrap();
            assert_eq!(request.audit_ops(), spec.audit, "{}", spec.name);
            let before = store.audit_snapshot().get(&shard).map_or(0, Vec::len);
            let _ = pollster::block_on(kms.handle(caller, request));
            let log = store
                .audit_snapshot()
                .get(&shard)
                .cloned()
                .unwrap_or_default();
            for entry in &log[before..] {
                let entry = Entry::decode(entry).unwrap();
                let op = Op::parse(&entry.op).unwrap();
                assert!(
                    spec.audit.contains(&op),
                    "{} recorded {op}, which its row does not list",
                    spec.name
                );
                recorded.insert(op);
            }
            if !kms.is_unlocked() {
                pollster::block_on(kms.handle(&ui, unlock())).unwrap();
            }
        }
        for op in Op::ALL {
            assert!(
                METHODS.iter().any(|m| m.audit.contains(op)),
                "{op} belongs to no method's row"
            );
        }
        // The walk reaches most operations: it is not vacuous.
        assert!(recorded.len() >= 15, "{recorded:?}");
    }
}
