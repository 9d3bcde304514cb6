//! The client SDK's verifier vectors (`tests/vectors/sdk-verifier.json`) are what kms-tlog
//! makes and concludes now: regenerated in memory, with every verdict checked against
//! kms-tlog, they must equal the committed file. The SDK's Node test checks the same file
//! against the TypeScript verifier.

#[path = "vectors/sdk_verifier.rs"]
mod sdk_verifier;

#[test]
fn committed_sdk_vectors_are_kms_tlogs() {
    let generated = sdk_verifier::generate().expect("kms-tlog agrees with every verdict");
    let committed = include_str!("vectors/sdk-verifier.json");
    assert!(
        generated == committed,
        "tests/vectors/sdk-verifier.json is stale: regenerate it with \
         `cargo run -p kms-tools --bin tlog-vectors -- vectors kms-tlog/tests/vectors/sdk-verifier.json`"
    );
}

#[test]
fn vectors_cover_every_verdict() {
    let text = include_str!("vectors/sdk-verifier.json");
    for code in [
        "\"NotInLog\"",
        "\"Rollback\"",
        "\"Fork\"",
        "\"QuorumNotMet\"",
        "\"LogUnavailable\"",
        "\"LogTooLarge\"",
        "\"InvalidLogConfig\"",
    ] {
        assert!(text.contains(&format!("\"verdict\": {code}")), "{code}");
    }
}
