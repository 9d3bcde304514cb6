//! Known-answer tests for signed notes: the example of the C2SP signed-note specification and
//! the example key and note of the Go `golang.org/x/mod/sumdb/note` documentation. Ed25519 is
//! deterministic, so signing the Go example text with its key must give its note byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kms_tlog::note::{Note, NoteError, SignerKey, VerifierKey, open, sign};

const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
    then you don't know what your problem is.\n\
    \n\
    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\
    \n\
    \u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#[test]
fn go_verifier_key_parses_and_round_trips() {
    let v = VerifierKey::parse(GO_VKEY).unwrap();
    assert_eq!(v.name(), "PeterNeumann");
    assert_eq!(v.key_id(), 0xc74f_20a3);
    assert_eq!(v.to_string(), GO_VKEY);
}

#[test]
fn go_signer_key_parses_round_trips_and_matches_verifier() {
    let s = SignerKey::parse(GO_SKEY).unwrap();
    assert_eq!(s.name(), "PeterNeumann");
    assert_eq!(s.key_id(), 0xc74f_20a3);
    assert_eq!(s.dangerous_encode(), GO_SKEY);
    assert_eq!(s.verifier().to_string(), GO_VKEY);
}

#[test]
fn go_note_signs_byte_for_byte() {
    let s = SignerKey::parse(GO_SKEY).unwrap();
    assert_eq!(sign(GO_TEXT, &[&s]).unwrap(), GO_NOTE);
}

#[test]
fn go_note_opens() {
    let v = VerifierKey::parse(GO_VKEY).unwrap();
    assert_eq!(open(GO_NOTE.as_bytes(), &[v]).unwrap(), GO_TEXT);
    let note = Note::parse(GO_NOTE.as_bytes()).unwrap();
    assert_eq!(note.to_string(), GO_NOTE);
}

#[test]
fn go_note_with_changed_text_fails() {
    let v = VerifierKey::parse(GO_VKEY).unwrap();
    let changed = GO_NOTE.replacen("cryptography", "Cryptography", 1);
    assert!(matches!(
        open(changed.as_bytes(), &[v]),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn spec_verifier_key_parses_and_round_trips() {
    let v = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.key_id(), 0x530d_903a);
    assert_eq!(v.to_string(), SPEC_VKEY);
}

#[test]
fn spec_note_opens() {
    let v = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(
        open(SPEC_NOTE.as_bytes(), &[v]).unwrap(),
        "This is an example message.\n"
    );
}

#[test]
fn spec_note_is_unverified_under_the_go_key() {
    let v = VerifierKey::parse(GO_VKEY).unwrap();
    assert_eq!(open(SPEC_NOTE.as_bytes(), &[v]), Err(NoteError::Unverified));
}

/// The example of the C2SP tlog-checkpoint specification (its key is not published, so only
/// the format is checked).
#[test]
fn spec_checkpoint_example_parses() {
    use kms_tlog::checkpoint::Checkpoint;
    let msg = "example.com/behind-the-sofa\n\
        20852163\n\
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
        \n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    let note = Note::parse(msg.as_bytes()).unwrap();
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(note.signatures()[0].name, "example.com/behind-the-sofa");
    let c = Checkpoint::parse_text(note.text()).unwrap();
    assert_eq!(c.origin, "example.com/behind-the-sofa");
    assert_eq!(c.size, 20_852_163);
    assert_eq!(c.to_text().unwrap(), note.text());
}
