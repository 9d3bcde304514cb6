//! Known-answer tests for `cosignature/v1`: the example of the C2SP tlog-cosignature
//! specification, a published witness verifier key and a timestamp vector of the
//! transparency-dev `formats/note` tests. Neither publishes a witness key together with a
//! signature it made, so signing is pinned by our own deterministic vector.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kms_tlog::cosignature::{
    ALG_COSIGNATURE_V1, Cosignature, CosignatureError, CosignatureVerifier, CosignerKey,
    signed_message, verify_cosignatures,
};
use kms_tlog::note::{Note, NoteSignature};

/// The example cosigned checkpoint of c2sp.org/tlog-cosignature.
const SPEC_NOTE: &str = "example.com/behind-the-sofa\n\
    20852163\n\
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
    \n\
    \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
    \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

#[test]
fn spec_example_cosignature_parses_with_the_spec_timestamp() {
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    let cosig = Cosignature::from_note_signature(&note.signatures()[1]).unwrap();
    assert_eq!(cosig.name, "witness.example.com/w1");
    assert_eq!(cosig.key_id, 0x8d66_cf3f);
    // The specification's signed-message example carries `time 1679315147`.
    assert_eq!(cosig.timestamp, 1_679_315_147);
    let text = note.text();
    assert_eq!(
        signed_message(cosig.timestamp, text),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    // The log's own line is a plain 64-byte signature, not a cosignature.
    assert!(matches!(
        Cosignature::from_note_signature(&note.signatures()[0]),
        Err(CosignatureError::Malformed { got: 64, .. })
    ));
}

#[test]
fn spec_example_is_not_counted_for_a_witness_of_another_key() {
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    // Same name, some other key: a different key id, so the line is ignored.
    let other = CosignerKey::from_seed("witness.example.com/w1", &[1; 32]).unwrap();
    assert_eq!(verify_cosignatures(&note, &[other.verifier()]), Ok(vec![]));
}

/// A witness verifier key (type 0x04) from the transparency-dev `formats/note` tests.
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

#[test]
fn published_witness_vkey_parses_and_its_key_id_is_recomputed() {
    let v = CosignatureVerifier::parse(REMORA_VKEY).unwrap();
    assert_eq!(v.name(), "remora.n621.de");
    assert_eq!(v.key_id(), 0xda77_ade7);
    assert_eq!(v.to_string(), REMORA_VKEY);
    assert_eq!(
        CosignatureVerifier::new(v.name(), &v.public_key())
            .unwrap()
            .key_id(),
        0xda77_ade7
    );
    assert!(
        REMORA_VKEY.contains("+BO"),
        "type byte {ALG_COSIGNATURE_V1:#04x}"
    );
}

#[test]
fn transparency_dev_timestamp_vector() {
    let blob = "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
    let sig = NoteSignature::parse_line(&format!("\u{2014} w {blob}")).unwrap();
    let cosig = Cosignature::from_note_signature(&sig).unwrap();
    assert_eq!(cosig.timestamp, 1_727_964_367);
    // Their "wrong type of signature" case: a plain Ed25519 note signature.
    let plain = "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=";
    let sig = NoteSignature::parse_line(&format!("\u{2014} w {plain}")).unwrap();
    assert!(Cosignature::from_note_signature(&sig).is_err());
}

/// Our own vector: witness `witness.example/w1` with seed `[0x42; 32]` cosigning the spec's
/// checkpoint at the spec's time. Key id, vkey and line were reproduced independently with
/// pyca/cryptography's Ed25519.
#[test]
fn deterministic_cosignature_vector() {
    let key = CosignerKey::from_seed("witness.example/w1", &[0x42; 32]).unwrap();
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    let line = key.cosign(note.text(), 1_679_315_147).unwrap().to_line();
    assert_eq!(line, PINNED_LINE);
    assert_eq!(key.verifier().to_string(), PINNED_VKEY);
    let parsed = NoteSignature::parse_line(line.trim_end()).unwrap();
    let v = CosignatureVerifier::parse(PINNED_VKEY).unwrap();
    assert_eq!(v.verify(note.text(), &parsed), Ok(1_679_315_147));
}

const PINNED_VKEY: &str =
    "witness.example/w1+f1ed8c47+BCFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS";
const PINNED_LINE: &str = "\u{2014} witness.example/w1 8e2MRwAAAABkGFDLEqgtDUsneMqeLcGMqk8Xx08OQIVxF72ZJmEtUU5sbo5WiTljN+UF1cQ+vSoh1gRQ0wV3Nz9m8DFvjwHDTDcQBA==\n";
