//! The passkey-gate unlock method through the service: registration, assertion, the 5-minute
//! session, and refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[path = "webauthn_support.rs"]
mod support;

mod routing;
use routing::routed;

use kms_core::Error;
use kms_core::ManualClock;
use kms_core::MemoryDeviceKey;
use kms_core::MemoryStore;
use kms_core::Secret32;
use kms_core::rpc::Request;
use kms_core::service::{
    ChallengeResponse, Config, Kms, MethodAddedResponse, Response, UnlockedResponse,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::{Alg, SoftAuthenticator};

const APP: &str = support::TOP_ORIGIN;

type GateKms = Kms<MemoryStore, ManualClock, StdRng, kms_core::RustPbkdf2, MemoryDeviceKey>;

fn call(kms: &mut GateKms, json: &str) -> Result<Response, Error> {
    let r: Request = serde_json::from_str(json).unwrap();
    pollster::block_on(kms.handle(&routed(APP, &r), r))
}

fn challenge(kms: &mut GateKms) -> Vec<u8> {
    let Ok(Response::Challenge(ChallengeResponse {
        challenge, rp_id, ..
    })) = call(kms, r#"{"method":"unlock.gateChallenge"}"#)
    else {
        panic!()
    };
    assert_eq!(rp_id, support::RP_ID);
    kms_core::hazmat::b64::decode(&challenge).unwrap()
}

fn b64(b: &[u8]) -> String {
    kms_core::hazmat::b64::encode(b)
}

#[test]
fn gate_registers_unlocks_and_expires() {
    let clock = ManualClock::new(1_800_000_000_000);
    let mut kms: GateKms = Kms::new(MemoryStore::new(), clock.clone(), StdRng::seed_from_u64(3))
        .with_config(Config {
            rp_id: support::RP_ID.into(),
            enclave_origin: support::ORIGIN.into(),
            allowed_top_origins: vec![support::TOP_ORIGIN.into()],
            ..Config::default()
        })
        .with_device_key(MemoryDeviceKey::new(Secret32::from_bytes([5; 32])));
    call(
        &mut kms,
        r#"{"method":"setup","params":{"passphrase":"correct horse battery staple"}}"#,
    )
    .unwrap();
    let mut auth = SoftAuthenticator::new(Alg::Es256, 7);
    let c = challenge(&mut kms);
    let reg = auth.register(&c);
    let add = format!(
        r#"{{"method":"methods.addGate","params":{{"attestationObject":"{}","clientDataJson":"{}","label":"phone"}}}}"#,
        b64(&reg.attestation_object),
        b64(&reg.client_data_json)
    );
    let Ok(Response::MethodAdded(MethodAddedResponse { method })) = call(&mut kms, &add) else {
        panic!()
    };
    assert_eq!(method.kind, kms_core::MethodKind::PasskeyGate);
    // The challenge is single-use.
    assert!(matches!(
        call(&mut kms, &add),
        Err(Error::BadRequest { .. })
    ));
    call(&mut kms, r#"{"method":"lock"}"#).unwrap();

    let cred_id = auth.credential_id.clone();
    let unlock = |a: &support::Assertion| {
        format!(
            r#"{{"method":"unlock.gate","params":{{"credentialId":"{}","authenticatorData":"{}","clientDataJson":"{}","signature":"{}"}}}}"#,
            b64(&cred_id),
            b64(&a.authenticator_data),
            b64(&a.client_data_json),
            b64(&a.signature)
        )
    };
    let c = challenge(&mut kms);
    let a = auth.assert(&c);
    let Ok(Response::Unlocked(UnlockedResponse {
        session_expires_ms, ..
    })) = call(&mut kms, &unlock(&a))
    else {
        panic!()
    };
    assert_eq!(session_expires_ms, Some(1_800_000_000_000 + 5 * 60 * 1000));
    call(&mut kms, r#"{"method":"vapid.publicKey"}"#).unwrap();

    // Replaying the same assertion against a new challenge fails.
    call(&mut kms, r#"{"method":"lock"}"#).unwrap();
    let _ = challenge(&mut kms);
    assert_eq!(call(&mut kms, &unlock(&a)), Err(Error::BadCredential));

    // A fresh assertion opens a new session, which ends after five minutes.
    let c = challenge(&mut kms);
    let a2 = auth.assert(&c);
    call(&mut kms, &unlock(&a2)).unwrap();
    clock.advance_ms(5 * 60 * 1000 - 1);
    call(&mut kms, r#"{"method":"vapid.publicKey"}"#).unwrap();
    clock.advance_ms(1);
    assert_eq!(
        call(&mut kms, r#"{"method":"vapid.publicKey"}"#),
        Err(Error::Locked)
    );
    assert!(!kms.is_unlocked());
}
