//! The RPC's JSON, pinned: how request frames decode (or the error a page gets back) and
//! how replies encode. The SDK, the enclave's bootstrap and the browser suite speak exactly
//! this; a change here is a protocol change.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use kms_core::rpc::frame::{self, Call, FrameHeader, Reply};
use kms_core::service::{
    AuditExportResponse, AuditVerifiedResponse, ChallengeResponse, EnvelopeOpenedResponse,
    MethodAddedResponse, MethodInfo, PrfInputResponse, Protection, RelayTokenResponse, Response,
    SignalReplenishedResponse, StatusResponse, UnlockedResponse, VapidPublicKeyResponse,
};
use serde_json::Value;

/// Request frames (without `v` and `id`, which the test adds) and how each decodes: the
/// method's wire name, or the error code and message the page gets. A message ending in `…`
/// is matched as a prefix.
const FRAMES: &[(&str, &str)] = &[
    (r#"{"method":"ping"}"#, r#"ping"#),
    (r#"{"method":"ping","params":null}"#, r#"ping"#),
    (
        r#"{"method":"ping","params":{}}"#,
        r#"BadRequest: bad request: invalid type: map, expected unit variant Request::Ping"#,
    ),
    (
        r#"{"method":"ping","params":{"x":1}}"#,
        r#"BadRequest: bad request: invalid type: map, expected unit variant Request::Ping"#,
    ),
    (
        r#"{"method":"ping","params":[]}"#,
        r#"BadRequest: bad request: invalid type: sequence, expected unit variant Request::Ping"#,
    ),
    (
        r#"{"method":"ping","params":0}"#,
        r#"BadRequest: bad request: invalid type: integer `0`, expected unit variant Request::Ping"#,
    ),
    (r#"{"params":null,"method":"ping"}"#, r#"ping"#),
    (r#"{"method":"status"}"#, r#"status"#),
    (
        r#"{"method":"status","params":{}}"#,
        r#"BadRequest: bad request: invalid type: map, expected unit variant Request::Status"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":"attacker passphrase"}}"#,
        r#"setup"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":[1,2,3,4,5,6,7,8]}}"#,
        r#"setup"#,
    ),
    (
        r#"{"method":"setup","params":["positional passphrase"]}"#,
        r#"BadRequest: bad request: invalid type: sequence, expected struct variant Request::Setup"#,
    ),
    (
        r#"{"method":"setup"}"#,
        r#"BadRequest: bad request: missing field `params`"#,
    ),
    (
        r#"{"method":"setup","params":null}"#,
        r#"BadRequest: bad request: invalid type: null, expected struct variant Request::Setup"#,
    ),
    (
        r#"{"method":"setup","params":{}}"#,
        r#"BadRequest: bad request: missing field `passphrase`"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":7}}"#,
        r#"BadRequest: bad request: invalid type: integer `7`, expected a passphrase string or secret bytes"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":"p","bogus":1}}"#,
        r#"BadRequest: bad request: unknown field `bogus`, expected `passphrase`"#,
    ),
    (
        r#"{"params":{"passphrase":"content first"},"method":"setup"}"#,
        r#"setup"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":"a"},"method":"setup"}"#,
        r#"setup"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":"a"},"params":{}}"#,
        r#"BadRequest: bad request: missing field `passphrase`"#,
    ),
    (
        r#"{"method":"setup","params":{"passphrase":"a"},"extra":1}"#,
        r#"setup"#,
    ),
    (r#"{"method":"lock"}"#, r#"lock"#),
    (
        r#"{"method":"unlock.passphrase","params":{"passphrase":"attacker passphrase"}}"#,
        r#"unlock.passphrase"#,
    ),
    (
        r#"{"method":"unlock.prf","params":{"credentialId":"AQID","prfOutput":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#,
        r#"unlock.prf"#,
    ),
    (
        r#"{"method":"unlock.prf","params":{"credentialId":[1,2,3],"prfOutput":[0,0,0]}}"#,
        r#"unlock.prf"#,
    ),
    (
        r#"{"method":"unlock.prf","params":{"credential_id":"AQID","prfOutput":"AA"}}"#,
        r#"BadRequest: bad request: unknown field `credential_id`, expected `credentialId` or `prfOutput`"#,
    ),
    (
        r#"{"method":"unlock.gateChallenge"}"#,
        r#"unlock.gateChallenge"#,
    ),
    (
        r#"{"method":"unlock.gate","params":{"credentialId":"AQ","authenticatorData":"AQ","clientDataJson":"AQ","signature":"AQ"}}"#,
        r#"unlock.gate"#,
    ),
    (
        r#"{"method":"unlock.gate","params":{"credentialId":"AQ","authenticatorData":"AQ","clientDataJSON":"AQ","signature":"AQ"}}"#,
        r#"BadRequest: bad request: unknown field `clientDataJSON`, expected one of `credentialId`, `authenticatorData`, `clientDataJson`, `signature`"#,
    ),
    (
        r#"{"method":"unlock.gate","params":{"credentialId":"!!","authenticatorData":"AQ","clientDataJson":"AQ","signature":"AQ"}}"#,
        r#"BadRequest: bad request: invalid base64url"#,
    ),
    (r#"{"method":"methods.list"}"#, r#"methods.list"#),
    (
        r#"{"method":"methods.addPassphrase","params":{"passphrase":"attacker passphrase"}}"#,
        r#"methods.addPassphrase"#,
    ),
    (
        r#"{"method":"methods.addPassphrase","params":{"passphrase":"attacker passphrase","label":"work"}}"#,
        r#"methods.addPassphrase"#,
    ),
    (
        r#"{"method":"methods.addPassphrase","params":{"passphrase":"attacker passphrase","label":null}}"#,
        r#"methods.addPassphrase"#,
    ),
    (
        r#"{"method":"methods.changePassphrase","params":{"methodId":"m-x","passphrase":"attacker passphrase"}}"#,
        r#"methods.changePassphrase"#,
    ),
    (r#"{"method":"methods.prfInput"}"#, r#"methods.prfInput"#),
    (
        r#"{"method":"methods.addPrf","params":{"credentialId":"AQID","prfInput":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","prfOutput":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#,
        r#"methods.addPrf"#,
    ),
    (
        r#"{"method":"methods.addPrf","params":{"credentialId":"AQID","prfInput":"AA","prfOutput":"AA","label":"key"}}"#,
        r#"methods.addPrf"#,
    ),
    (
        r#"{"method":"methods.addGate","params":{"attestationObject":"AQ","clientDataJson":"AQ"}}"#,
        r#"methods.addGate"#,
    ),
    (
        r#"{"method":"methods.addGate","params":{"attestationObject":"AQ","clientDataJson":"AQ","label":"gate"}}"#,
        r#"methods.addGate"#,
    ),
    (
        r#"{"method":"methods.remove","params":{"methodId":"m-x"}}"#,
        r#"methods.remove"#,
    ),
    (
        r#"{"method":"methods.remove","params":{"methodId":5}}"#,
        r#"BadRequest: bad request: invalid type: integer `5`, expected a string"#,
    ),
    (r#"{"method":"keys.list"}"#, r#"keys.list"#),
    (
        r#"{"method":"keys.delete","params":{"keyId":"vapid/none"}}"#,
        r#"keys.delete"#,
    ),
    (
        r#"{"method":"keys.delete","params":{"keyId":"a","extra":1}}"#,
        r#"BadRequest: bad request: unknown field `extra`, expected `keyId`"#,
    ),
    (
        r#"{"method":"keys.delete","params":["vapid/none"]}"#,
        r#"BadRequest: bad request: invalid type: sequence, expected struct variant Request::DeleteKey"#,
    ),
    (r#"{"method":"vapid.publicKey"}"#, r#"vapid.publicKey"#),
    (
        r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net"}}"#,
        r#"vapid.authorization"#,
    ),
    (
        r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net","sub":"mailto:a@example.net","exp":1800000000}}"#,
        r#"vapid.authorization"#,
    ),
    (
        r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net","exp":-1}}"#,
        r#"BadRequest: bad request: invalid value: integer `-1`, expected u64"#,
    ),
    (
        r#"{"method":"vapid.authorization","params":{"aud":"https://push.example.net","exp":18446744073709551615}}"#,
        r#"vapid.authorization"#,
    ),
    (
        r#"{"method":"vapid.authorization","params":{"sub":"mailto:a@example.net"}}"#,
        r#"BadRequest: bad request: missing field `aud`"#,
    ),
    (r#"{"method":"vapid.rotate"}"#, r#"vapid.rotate"#),
    (
        r#"{"method":"relay.createKey","params":{"alg":"EdDSA"}}"#,
        r#"relay.createKey"#,
    ),
    (
        r#"{"method":"relay.createKey","params":{"alg":"ES256"}}"#,
        r#"relay.createKey"#,
    ),
    (
        r#"{"method":"relay.createKey","params":{"alg":"RS256"}}"#,
        r#"BadRequest: bad request: unknown variant `RS256`, expected `ES256` or `EdDSA`"#,
    ),
    (
        r#"{"method":"relay.token","params":{"kid":"none","aud":"relay"}}"#,
        r#"relay.token"#,
    ),
    (
        r#"{"method":"relay.token","params":{"kid":"none","aud":"relay","iss":"https://app.example","scope":["a","b"],"ttlSecs":60}}"#,
        r#"relay.token"#,
    ),
    (
        r#"{"method":"relay.token","params":{"kid":"none","aud":"relay","ttl_secs":60}}"#,
        r#"BadRequest: bad request: unknown field `ttl_secs`, expected one of `kid`, `aud`, `iss`, `scope`, `ttlSecs`"#,
    ),
    (r#"{"method":"relay.jwks"}"#, r#"relay.jwks"#),
    (
        r#"{"method":"signal.bundle","params":{}}"#,
        r#"signal.bundle"#,
    ),
    (
        r#"{"method":"signal.bundle","params":{"oneTime":false}}"#,
        r#"signal.bundle"#,
    ),
    (
        r#"{"method":"signal.bundle"}"#,
        r#"BadRequest: bad request: missing field `params`"#,
    ),
    (
        r#"{"method":"signal.bundle","params":null}"#,
        r#"BadRequest: bad request: invalid type: null, expected struct variant Request::SignalBundle"#,
    ),
    (
        r#"{"method":"signal.oneTimePrekeys"}"#,
        r#"signal.oneTimePrekeys"#,
    ),
    (
        r#"{"method":"signal.replenish","params":{"target":1}}"#,
        r#"signal.replenish"#,
    ),
    (
        r#"{"method":"signal.replenish","params":{}}"#,
        r#"signal.replenish"#,
    ),
    (
        r#"{"method":"signal.replenish"}"#,
        r#"BadRequest: bad request: missing field `params`"#,
    ),
    (
        r#"{"method":"signal.replenish","params":{"target":4294967296}}"#,
        r#"BadRequest: bad request: invalid value: integer `4294967296`, expected u32"#,
    ),
    (
        r#"{"method":"signal.rotateSignedPrekey"}"#,
        r#"signal.rotateSignedPrekey"#,
    ),
    (
        r#"{"method":"signal.sign","params":{"message":"aGk"}}"#,
        r#"signal.sign"#,
    ),
    (
        r#"{"method":"signal.sign","params":{"message":[104,105]}}"#,
        r#"signal.sign"#,
    ),
    (
        r#"{"method":"envelope.prekeys","params":{"count":1,"hybrid":false}}"#,
        r#"envelope.prekeys"#,
    ),
    (
        r#"{"method":"envelope.prekeys","params":{"count":1}}"#,
        r#"envelope.prekeys"#,
    ),
    (
        r#"{"method":"envelope.prekeys","params":{"hybrid":true}}"#,
        r#"BadRequest: bad request: missing field `count`"#,
    ),
    (
        r#"{"method":"envelope.epochKey","params":{"hybrid":false}}"#,
        r#"envelope.epochKey"#,
    ),
    (
        r#"{"method":"envelope.epochKey","params":{"hybrid":true,"rotate":true}}"#,
        r#"envelope.epochKey"#,
    ),
    (
        r#"{"method":"envelope.epochKey","params":{}}"#,
        r#"envelope.epochKey"#,
    ),
    (
        r#"{"method":"envelope.epochKey"}"#,
        r#"BadRequest: bad request: missing field `params`"#,
    ),
    (
        r#"{"method":"envelope.open","params":{"envelope":{"format":"x25519-aesgcm-v1","kid":"none","epk":"BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}}}"#,
        r#"envelope.open"#,
    ),
    (
        r#"{"method":"envelope.open","params":{"envelope":{"format":"nope","kid":"none","epk":"BQ","ct":"AA"}}}"#,
        r#"BadRequest: bad request: wrong length for Curve25519 public key: expected 33 bytes, got 1"#,
    ),
    (r#"{"method":"audit.export"}"#, r#"audit.export"#),
    (r#"{"method":"audit.verify"}"#, r#"audit.verify"#),
    (
        r#"{"method":"audit.verify","params":{"x":1}}"#,
        r#"BadRequest: bad request: invalid type: map, expected unit variant Request::AuditVerify"#,
    ),
    (
        r#"{"method":"nope"}"#,
        r#"BadRequest: bad request: unknown variant `nope`, expected one of …"#,
    ),
    (
        r#"{"method":"ui.setup","params":{}}"#,
        r#"BadRequest: bad request: unknown variant `ui.setup`, expected one of …"#,
    ),
    (
        r#"{"method":"envelope.seal","params":{}}"#,
        r#"BadRequest: bad request: unknown variant `envelope.seal`, expected one of …"#,
    ),
    (
        r#"{"method":7}"#,
        r#"BadRequest: bad request: invalid type: integer `7`, expected string or map"#,
    ),
    (
        r#"{"params":{}}"#,
        r#"BadRequest: bad request: missing field `method`"#,
    ),
    (
        r#"{}"#,
        r#"BadRequest: bad request: missing field `method`"#,
    ),
];

/// What the enclave makes of `frame` sent as request 9.
fn decode(frame: &str) -> String {
    let mut v: Value = serde_json::from_str(frame).unwrap();
    let Value::Object(m) = &mut v else {
        panic!("{frame}: not an object")
    };
    m.insert("v".into(), 1.into());
    m.insert("id".into(), 9.into());
    let parsed = frame::parse(serde_json::from_value::<FrameHeader>(v.clone()), || {
        serde_json::from_value::<Call>(v)
    });
    match parsed {
        Ok((9, request)) => request.method().to_owned(),
        Err((Some(9), e)) => format!("{}: {e}", e.code()),
        Ok((id, _)) => panic!("{frame}: answered as {id}"),
        Err((id, e)) => panic!("{frame}: answered as {id:?}: {e}"),
    }
}

#[test]
fn request_frames_decode_as_pinned() {
    let mut wrong = Vec::new();
    for (frame, expected) in FRAMES {
        let got = decode(frame);
        let matches = match expected.strip_suffix('…') {
            Some(prefix) => got.starts_with(prefix),
            None => got == *expected,
        };
        if !matches {
            wrong.push(format!("{frame}\n  expected {expected}\n  got      {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn method_info() -> MethodInfo {
    MethodInfo {
        id: "m-1".into(),
        kind: kms_core::MethodKind::Passphrase,
        label: Some("work".into()),
        created_ms: 1_800_000_000_000,
        credential_id: None,
        prf_input: None,
        protection: Protection::Passphrase,
    }
}

/// Replies, and their JSON byte for byte.
fn replies() -> Vec<(Response, &'static str)> {
    vec![
        (Response::Done, r#"{"type":"done"}"#),
        (
            Response::Status(StatusResponse {
                initialized: true,
                unlocked: false,
                session_expires_ms: None,
                retry_after_ms: Some(5),
                fresh_until_ms: None,
                methods: vec![method_info()],
            }),
            r#"{"type":"status","initialized":true,"unlocked":false,"sessionExpiresMs":null,"retryAfterMs":5,"freshUntilMs":null,"methods":[{"id":"m-1","kind":"passphrase","label":"work","createdMs":1800000000000,"credentialId":null,"prfInput":null,"protection":"passphrase"}]}"#,
        ),
        (
            Response::Unlocked(UnlockedResponse {
                method_id: "m-1".into(),
                session_expires_ms: Some(7),
            }),
            r#"{"type":"unlocked","methodId":"m-1","sessionExpiresMs":7}"#,
        ),
        (
            Response::Challenge(ChallengeResponse {
                challenge: "AQ".into(),
                rp_id: "enclave.example".into(),
                credential_ids: vec!["Ag".into()],
                expires_ms: 9,
            }),
            r#"{"type":"challenge","challenge":"AQ","rpId":"enclave.example","credentialIds":["Ag"],"expiresMs":9}"#,
        ),
        (
            Response::PrfInput(PrfInputResponse {
                prf_input: "AA".into(),
            }),
            r#"{"type":"prfInput","prfInput":"AA"}"#,
        ),
        (
            Response::MethodAdded(MethodAddedResponse {
                method: method_info(),
            }),
            r#"{"type":"methodAdded","method":{"id":"m-1","kind":"passphrase","label":"work","createdMs":1800000000000,"credentialId":null,"prfInput":null,"protection":"passphrase"}}"#,
        ),
        (
            Response::VapidPublicKey(VapidPublicKeyResponse {
                key_id: "vapid/1".into(),
                application_server_key: "BA".into(),
            }),
            r#"{"type":"vapidPublicKey","keyId":"vapid/1","applicationServerKey":"BA"}"#,
        ),
        (
            Response::RelayToken(RelayTokenResponse {
                token: "a.b.c".into(),
                jti: "j".into(),
                expires_at: 3,
            }),
            r#"{"type":"relayToken","token":"a.b.c","jti":"j","expiresAt":3}"#,
        ),
        (
            Response::SignalReplenished(SignalReplenishedResponse {
                generated: 2,
                available: 10,
            }),
            r#"{"type":"signalReplenished","generated":2,"available":10}"#,
        ),
        (
            Response::EnvelopeOpened(EnvelopeOpenedResponse {
                kid: "k".into(),
                plaintext: "aGk".into(),
                shredded: true,
            }),
            r#"{"type":"envelopeOpened","kid":"k","plaintext":"aGk","shredded":true}"#,
        ),
        (
            Response::AuditExport(AuditExportResponse {
                jsonl: "{}\n".into(),
                size: 1,
                audit_public_key: "AQ".into(),
                tampered: None,
            }),
            r#"{"type":"auditExport","jsonl":"{}\n","size":1,"auditPublicKey":"AQ","tampered":null}"#,
        ),
        (
            Response::AuditVerified(AuditVerifiedResponse {
                size: 4,
                checkpoint_size: 4,
                head: "AQ".into(),
            }),
            r#"{"type":"auditVerified","size":4,"checkpointSize":4,"head":"AQ"}"#,
        ),
    ]
}

#[test]
fn replies_encode_as_pinned() {
    for (response, expected) in replies() {
        assert_eq!(serde_json::to_string(&response).unwrap(), expected);
        let frame = serde_json::to_string(&Reply::new(Some(3), Ok(response))).unwrap();
        assert_eq!(frame, format!(r#"{{"v":1,"id":3,"ok":{expected}}}"#));
    }
}
