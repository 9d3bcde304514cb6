//! Who may call each method: the caller policy every request passes before it runs.
//!
//! The enclave serves two callers. A **page** is a web app linked over the RPC port: it may
//! use keys (sign, decrypt, open envelopes) while the user has the enclave unlocked, and
//! every use is audited, but nothing it can do outlives its compromise. The **enclave's own
//! UI** runs in the enclave frame and acts on a user's gesture there: setup, unlocking and
//! every change of unlock methods are its alone, so a passphrase, a PRF output or a passkey
//! assertion is never something the page handles or can plant.
//!
//! [`Request::policy`] is an exhaustive match: a method added later does not compile until
//! it says who may call it.

use super::Request;
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

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Request {
    /// The caller policy of this method.
    pub fn policy(&self) -> Policy {
        use Policy::{EnclaveUi, EnclaveUiFresh, Page};
        match self {
            Self::Ping | Self::Status | Self::Lock | Self::ListMethods => Page,
            Self::Setup { .. }
            | Self::UnlockPassphrase { .. }
            | Self::UnlockPrf { .. }
            | Self::GateChallenge
            | Self::UnlockGate { .. } => EnclaveUi,
            Self::AddPassphrase { .. }
            | Self::ChangePassphrase { .. }
            | Self::NewPrfInput
            | Self::AddPrf { .. }
            | Self::AddGate { .. }
            | Self::RemoveMethod { .. } => EnclaveUiFresh,
            Self::ListKeys
            | Self::DeleteKey { .. }
            | Self::VapidPublicKey
            | Self::VapidAuthorization { .. }
            | Self::VapidRotate
            | Self::RelayCreateKey { .. }
            | Self::RelayToken { .. }
            | Self::RelayJwks
            | Self::SignalBundle { .. }
            | Self::SignalOneTimePrekeys
            | Self::SignalReplenish { .. }
            | Self::SignalRotateSignedPrekey
            | Self::SignalSign { .. }
            | Self::EnvelopePrekeys { .. }
            | Self::EnvelopeEpochKey { .. }
            | Self::EnvelopeOpen { .. }
            | Self::AuditExport
            | Self::AuditVerify => Page,
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
    use crate::clock::ManualClock;
    use crate::error::Error;
    use crate::service::Kms;
    use crate::store::MemoryStore;

    /// One sample of every method, as a page would send it.
    const SAMPLES: &[&str] = &[
        r#"{"method":"ping"}"#,
        r#"{"method":"status"}"#,
        r#"{"method":"setup","params":{"passphrase":"attacker passphrase"}}"#,
        r#"{"method":"lock"}"#,
        r#"{"method":"unlock.passphrase","params":{"passphrase":"attacker passphrase"}}"#,
        r#"{"method":"unlock.prf","params":{"credentialId":"AQID","prfOutput":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#,
        r#"{"method":"unlock.gateChallenge"}"#,
        r#"{"method":"unlock.gate","params":{"credentialId":"AQ","authenticatorData":"AQ","clientDataJson":"AQ","signature":"AQ"}}"#,
        r#"{"method":"methods.list"}"#,
        r#"{"method":"methods.addPassphrase","params":{"passphrase":"attacker passphrase"}}"#,
        r#"{"method":"methods.changePassphrase","params":{"methodId":"m-x","passphrase":"attacker passphrase"}}"#,
        r#"{"method":"methods.prfInput"}"#,
        r#"{"method":"methods.addPrf","params":{"credentialId":"AQID","prfInput":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","prfOutput":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#,
        r#"{"method":"methods.addGate","params":{"attestationObject":"AQ","clientDataJson":"AQ"}}"#,
        r#"{"method":"methods.remove","params":{"methodId":"m-x"}}"#,
        r#"{"method":"keys.list"}"#,
        r#"{"method":"keys.delete","params":{"keyId":"vapid/none"}}"#,
        r#"{"method":"vapid.publicKey"}"#,
        r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net"}}"#,
        r#"{"method":"vapid.rotate"}"#,
        r#"{"method":"relay.createKey","params":{"alg":"EdDSA"}}"#,
        r#"{"method":"relay.token","params":{"kid":"none","aud":"relay"}}"#,
        r#"{"method":"relay.jwks"}"#,
        r#"{"method":"signal.bundle","params":{}}"#,
        r#"{"method":"signal.oneTimePrekeys"}"#,
        r#"{"method":"signal.replenish","params":{"target":1}}"#,
        r#"{"method":"signal.rotateSignedPrekey"}"#,
        r#"{"method":"signal.sign","params":{"message":"aGk"}}"#,
        r#"{"method":"envelope.prekeys","params":{"count":1,"hybrid":false}}"#,
        r#"{"method":"envelope.epochKey","params":{"hybrid":false}}"#,
        r#"{"method":"envelope.open","params":{"envelope":{"format":"x25519-aesgcm-v1","kid":"none","epk":"BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}}}"#,
        r#"{"method":"audit.export"}"#,
        r#"{"method":"audit.verify"}"#,
    ];

    /// Each variant's place in [`SAMPLES`]. An exhaustive match: a new method does not
    /// compile until it has a sample here, so the walk covers it by construction.
    fn index(r: &Request) -> usize {
        match r {
            Request::Ping => 0,
            Request::Status => 1,
            Request::Setup { .. } => 2,
            Request::Lock => 3,
            Request::UnlockPassphrase { .. } => 4,
            Request::UnlockPrf { .. } => 5,
            Request::GateChallenge => 6,
            Request::UnlockGate { .. } => 7,
            Request::ListMethods => 8,
            Request::AddPassphrase { .. } => 9,
            Request::ChangePassphrase { .. } => 10,
            Request::NewPrfInput => 11,
            Request::AddPrf { .. } => 12,
            Request::AddGate { .. } => 13,
            Request::RemoveMethod { .. } => 14,
            Request::ListKeys => 15,
            Request::DeleteKey { .. } => 16,
            Request::VapidPublicKey => 17,
            Request::VapidAuthorization { .. } => 18,
            Request::VapidRotate => 19,
            Request::RelayCreateKey { .. } => 20,
            Request::RelayToken { .. } => 21,
            Request::RelayJwks => 22,
            Request::SignalBundle { .. } => 23,
            Request::SignalOneTimePrekeys => 24,
            Request::SignalReplenish { .. } => 25,
            Request::SignalRotateSignedPrekey => 26,
            Request::SignalSign { .. } => 27,
            Request::EnvelopePrekeys { .. } => 28,
            Request::EnvelopeEpochKey { .. } => 29,
            Request::EnvelopeOpen { .. } => 30,
            Request::AuditExport => 31,
            Request::AuditVerify => 32,
        }
    }

    fn samples() -> Vec<Request> {
        SAMPLES
            .iter()
            .map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("{j}: {e}")))
            .collect()
    }

    #[test]
    fn every_method_has_a_sample() {
        let samples = samples();
        for (i, r) in samples.iter().enumerate() {
            assert_eq!(index(r), i, "{} is out of place", r.method());
        }
    }

    #[test]
    fn authority_is_the_enclave_uis() {
        for r in samples() {
            let authority = matches!(
                r,
                Request::Setup { .. }
                    | Request::UnlockPassphrase { .. }
                    | Request::UnlockPrf { .. }
                    | Request::GateChallenge
                    | Request::UnlockGate { .. }
                    | Request::AddPassphrase { .. }
                    | Request::ChangePassphrase { .. }
                    | Request::NewPrfInput
                    | Request::AddPrf { .. }
                    | Request::AddGate { .. }
                    | Request::RemoveMethod { .. }
            );
            assert_eq!(r.policy() != Policy::Page, authority, "{}", r.method());
        }
    }

    /// Every authority method called by a page on an unlocked enclave is refused with
    /// `NotPermitted` and changes no record; every other method gets past the policy.
    #[test]
    fn a_page_is_refused_every_authority_method() {
        let store = MemoryStore::new();
        let clock = ManualClock::new(1_800_000_000_000);
        let mut kms = Kms::new(store.clone(), clock, StdRng::seed_from_u64(3));
        let app = Origin::parse("https://app.example").unwrap();
        let setup = serde_json::from_str(SAMPLES[2]).unwrap();
        pollster::block_on(kms.handle(&Caller::EnclaveUi(app.clone()), setup)).unwrap();
        let page = Caller::Page(app);
        let mut refused = 0;
        for r in samples() {
            let method = r.method();
            let policy = r.policy();
            let records = |s: &MemoryStore| {
                s.snapshot()
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("c/"))
                    .collect::<Vec<_>>()
            };
            let before = records(&store);
            let result = pollster::block_on(kms.handle(&page, r));
            if policy == Policy::Page {
                assert!(
                    !matches!(result, Err(Error::NotPermitted { .. })),
                    "{method}: {result:?}"
                );
            } else {
                assert!(
                    matches!(result, Err(Error::NotPermitted { .. })),
                    "{method}: {result:?}"
                );
                assert_eq!(records(&store), before, "{method} changed a record");
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
        assert_eq!(refused, 11);
    }
}
