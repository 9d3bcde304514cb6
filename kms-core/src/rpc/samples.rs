//! One sample frame of every method, as a page would send it (test-only): the policy walk
//! and the per-method wire tests run over these.
#![allow(clippy::panic, reason = "tests")]

use super::Request;

/// One sample of every method, as a page would send it, in the order of [`super::METHODS`]
/// (the policy walk checks that, so a new method needs a sample here).
pub(crate) const SAMPLES: &[&str] = &[
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
    r#"{"method":"signal.startSession","params":{"address":{"name":"bob","deviceId":1},"bundle":{"registrationId":1,"deviceId":1,"identityKey":"BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJ","signedPreKeyId":1,"signedPreKeyPublic":"BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJ","signedPreKeySignature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","kyberPreKeyId":1,"kyberPreKeyPublic":"CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","kyberPreKeySignature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}}"#,
    r#"{"method":"signal.encrypt","params":{"address":{"name":"bob","deviceId":1},"plaintext":"aGk"}}"#,
    r#"{"method":"signal.decrypt","params":{"address":{"name":"bob","deviceId":1},"message":"RA","messageType":2}}"#,
    r#"{"method":"signal.sessions"}"#,
    r#"{"method":"signal.deleteSession","params":{"address":{"name":"bob","deviceId":1}}}"#,
    r#"{"method":"signal.identity","params":{"address":{"name":"bob","deviceId":1}}}"#,
    r#"{"method":"signal.trust","params":{"address":{"name":"bob","deviceId":1},"identityKey":"BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJ"}}"#,
    r#"{"method":"signal.safetyNumber","params":{"address":{"name":"bob","deviceId":1},"localName":"alice","remoteName":"bob"}}"#,
    r#"{"method":"envelope.prekeys","params":{"count":1,"hybrid":false}}"#,
    r#"{"method":"envelope.epochKey","params":{"hybrid":false}}"#,
    r#"{"method":"envelope.open","params":{"envelope":{"format":"x25519-aesgcm-v1","kid":"none","epk":"BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}}}"#,
    r#"{"method":"audit.export"}"#,
    r#"{"method":"audit.verify"}"#,
];

/// [`SAMPLES`], decoded.
pub(crate) fn samples() -> Vec<Request> {
    SAMPLES
        .iter()
        .map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("{j}: {e}")))
        .collect()
}
