//! The witness over real HTTP on loopback, with its state in real files: the transitions it
//! allows, the ones it refuses (with the specification's status codes, and its state
//! unchanged), restarts, and several witnesses facing one honest log and a fork.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use kms_tlog::checkpoint::Checkpoint;
use kms_tlog::cosignature::{CosignerKey, add_cosignatures, verify_cosignatures};
use kms_tlog::hash::{Hash, leaf_hash};
use kms_tlog::note::{Note, SignerKey, VerifierKey};
use kms_tlog::proof::prove_consistency;
use kms_tlog::tree::Tree;
use kms_tlog::witness::{AddCheckpoint, SIZE_CONTENT_TYPE, parse_cosignatures};
use kms_witness::server::{RunningWitness, start};
use kms_witness::state::StateDir;
use kms_witness::witness::Witness;

const ORIGIN: &str = "example.org/kms-releases";

fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "kms-witness-test-{}-{what}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn log_key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[9; 32]).unwrap()
}

fn witness_key(n: u8) -> CosignerKey {
    CosignerKey::from_seed(&format!("witness.example/w{n}"), &[n; 32]).unwrap()
}

/// A log's history: `n` entries named after `branch`.
fn tree(branch: &str, n: u64) -> Tree {
    Tree::from_leaf_hashes((0..n).map(|i| leaf_hash(format!("{branch} {i}\n").as_bytes())))
}

fn signed(tree: &Tree, size: u64) -> String {
    Checkpoint::new(ORIGIN, size, tree.root_at(size).unwrap())
        .sign(&log_key())
        .unwrap()
}

fn serve(n: u8, state: &PathBuf) -> RunningWitness {
    let witness = Witness::new(
        witness_key(n),
        vec![log_key().verifier()],
        StateDir::open(state).unwrap(),
    )
    .unwrap();
    start(witness, "127.0.0.1:0".parse().unwrap()).unwrap()
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

fn post(url: &str, body: &[u8]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/add-checkpoint"))
        .send(body)
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: response.body_mut().read_to_vec().unwrap(),
    }
}

fn request(old: u64, proof: Vec<Hash>, checkpoint: &str) -> Vec<u8> {
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: checkpoint.as_bytes().to_vec(),
    }
    .encode()
}

/// Adds the checkpoint of `tree` at `new`, proving from `old`.
fn add(w: &RunningWitness, tree: &Tree, old: u64, new: u64) -> Answer {
    let proof = if old == 0 {
        vec![]
    } else {
        prove_consistency(tree, old, new).unwrap()
    };
    post(&w.url(), &request(old, proof, &signed(tree, new)))
}

/// The answer is a valid cosignature by witness `n` on the checkpoint of `tree` at `size`.
fn assert_cosigned(answer: &Answer, n: u8, tree: &Tree, size: u64) {
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let lines = parse_cosignatures(&answer.body).unwrap();
    let note = add_cosignatures(signed(tree, size).as_bytes(), &lines).unwrap();
    let found = verify_cosignatures(
        &Note::parse(note.as_bytes()).unwrap(),
        &[witness_key(n).verifier()],
    )
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].witness, format!("witness.example/w{n}"));
    let now = kms_witness::witness::system_clock();
    assert!(found[0].timestamp <= now && found[0].timestamp + 60 > now);
}

/// The answer is a 409 carrying `size` as `text/x.tlog.size`.
fn assert_conflict(answer: &Answer, size: u64) {
    assert_eq!(
        answer.status,
        409,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.content_type, SIZE_CONTENT_TYPE);
    assert_eq!(answer.body, format!("{size}\n").as_bytes());
}

#[test]
fn first_checkpoint_growth_and_the_same_checkpoint_again_are_cosigned() {
    let w = serve(1, &temp_dir("allowed"));
    let honest = tree("honest", 20);
    assert_cosigned(&add(&w, &honest, 0, 3), 1, &honest, 3);
    assert_cosigned(&add(&w, &honest, 3, 7), 1, &honest, 7);
    assert_cosigned(&add(&w, &honest, 7, 7), 1, &honest, 7);
    assert_cosigned(&add(&w, &honest, 7, 20), 1, &honest, 20);
}

#[test]
fn an_old_size_mismatch_is_409_with_the_witness_size() {
    let w = serve(1, &temp_dir("conflict"));
    let honest = tree("honest", 10);
    assert_cosigned(&add(&w, &honest, 0, 3), 1, &honest, 3);
    assert_conflict(&add(&w, &honest, 0, 10), 3);
    assert_conflict(&add(&w, &honest, 2, 10), 3);
    // With the size it was told, the client succeeds.
    assert_cosigned(&add(&w, &honest, 3, 10), 1, &honest, 10);
}

#[test]
fn a_bad_proof_is_422_and_changes_nothing() {
    let w = serve(1, &temp_dir("badproof"));
    let honest = tree("honest", 10);
    assert_cosigned(&add(&w, &honest, 0, 3), 1, &honest, 3);
    let mut proof = prove_consistency(&honest, 3, 10).unwrap();
    proof[0][0] ^= 1;
    let answer = post(&w.url(), &request(3, proof.clone(), &signed(&honest, 10)));
    assert_eq!(answer.status, 422);
    proof.pop();
    assert_eq!(
        post(&w.url(), &request(3, proof, &signed(&honest, 10))).status,
        422
    );
    // A first checkpoint must come with an empty proof.
    let fresh = serve(2, &temp_dir("badproof-fresh"));
    let one = vec![honest.root_at(1).unwrap()];
    assert_eq!(
        post(&fresh.url(), &request(0, one, &signed(&honest, 3))).status,
        422
    );
    // The state is still size 3.
    assert_conflict(&add(&w, &honest, 0, 10), 3);
    assert_cosigned(&add(&w, &honest, 3, 10), 1, &honest, 10);
}

#[test]
fn an_older_checkpoint_is_refused() {
    let w = serve(1, &temp_dir("older"));
    let honest = tree("honest", 10);
    assert_cosigned(&add(&w, &honest, 0, 7), 1, &honest, 7);
    // Old size above the checkpoint's size: 400.
    let answer = post(&w.url(), &request(7, vec![], &signed(&honest, 3)));
    assert_eq!(answer.status, 400);
    // A smaller checkpoint with a truthful old size: 409, the witness is at 7.
    assert_conflict(&add(&w, &honest, 3, 3), 7);
    assert_conflict(&add(&w, &honest, 0, 3), 7);
    assert_cosigned(&add(&w, &honest, 7, 7), 1, &honest, 7);
}

#[test]
fn a_fork_is_refused_and_changes_nothing() {
    let w = serve(1, &temp_dir("fork"));
    let honest = tree("honest", 10);
    let fork = tree("fork", 10);
    assert_cosigned(&add(&w, &honest, 0, 5), 1, &honest, 5);
    // Same size, another root.
    assert_conflict(&add(&w, &fork, 5, 5), 5);
    // A proof that leads to another root: valid for the fork, not from the honest size 5.
    assert_eq!(add(&w, &fork, 5, 8).status, 422);
    // A proof taken from the honest tree, with the fork's checkpoint.
    let proof = prove_consistency(&honest, 5, 8).unwrap();
    assert_eq!(
        post(&w.url(), &request(5, proof, &signed(&fork, 8))).status,
        422
    );
    assert_cosigned(&add(&w, &honest, 5, 8), 1, &honest, 8);
}

#[test]
fn unknown_logs_bad_signatures_and_malformed_requests_are_refused() {
    let state = temp_dir("refused");
    let w = serve(1, &state);
    let honest = tree("honest", 4);
    // Unknown origin: 404.
    let other = SignerKey::from_seed("example.org/other", &[9; 32]).unwrap();
    let foreign = Checkpoint::new("example.org/other", 4, honest.root())
        .sign(&other)
        .unwrap();
    assert_eq!(post(&w.url(), &request(0, vec![], &foreign)).status, 404);
    // The known origin signed by another key: 403.
    let impostor = SignerKey::from_seed(ORIGIN, &[8; 32]).unwrap();
    let forged = Checkpoint::new(ORIGIN, 4, honest.root())
        .sign(&impostor)
        .unwrap();
    assert_eq!(post(&w.url(), &request(0, vec![], &forged)).status, 403);
    // A signature that fails: 403.
    let good = signed(&honest, 4);
    let tampered = good.replacen("\n4\n", "\n3\n", 1);
    assert_eq!(post(&w.url(), &request(0, vec![], &tampered)).status, 403);
    // Malformed bodies: 400.
    for body in [
        &b""[..],
        b"old 0\n",
        b"old x\n\n",
        b"old 0\nnot base64\n\n",
        b"old 0\n\nnot a note\n",
    ] {
        assert_eq!(post(&w.url(), body).status, 400, "{body:?}");
    }
    // Nothing was stored.
    assert_eq!(
        std::fs::read_dir(&state)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != "lock")
            .count(),
        0
    );
    // Other paths and methods.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = agent
        .get(format!("{}/add-checkpoint", w.url()))
        .call()
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let elsewhere = agent
        .post(format!("{}/other", w.url()))
        .send(&b""[..])
        .unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404);
}

#[test]
fn the_state_survives_a_restart() {
    let state = temp_dir("restart");
    let honest = tree("honest", 9);
    let w = serve(1, &state);
    assert_cosigned(&add(&w, &honest, 0, 4), 1, &honest, 4);
    w.stop();
    let w = serve(1, &state);
    assert_conflict(&add(&w, &honest, 0, 9), 4);
    let fork = tree("fork", 9);
    assert_conflict(&add(&w, &fork, 4, 4), 4);
    assert_cosigned(&add(&w, &honest, 4, 9), 1, &honest, 9);
}

#[test]
fn two_witnesses_cosign_and_a_third_that_saw_a_fork_refuses() {
    let honest = tree("honest", 6);
    let fork = tree("fork", 6);
    let (a, b, c) = (
        serve(1, &temp_dir("w1")),
        serve(2, &temp_dir("w2")),
        serve(3, &temp_dir("w3")),
    );
    // The log showed witness 3 a forked history of 3 entries.
    assert_cosigned(&add(&c, &fork, 0, 3), 3, &fork, 3);
    // Witnesses 1 and 2 cosign the honest checkpoint of 6.
    let mut lines = Vec::new();
    for (w, n) in [(&a, 1), (&b, 2)] {
        let answer = add(w, &honest, 0, 6);
        assert_cosigned(&answer, n, &honest, 6);
        lines.extend(parse_cosignatures(&answer.body).unwrap());
    }
    // Witness 3: told its size, it cannot be given a proof from its history.
    assert_conflict(&add(&c, &honest, 0, 6), 3);
    assert_eq!(add(&c, &honest, 3, 6).status, 422);
    // The cosigned checkpoint carries two of the three witnesses.
    let note = add_cosignatures(signed(&honest, 6).as_bytes(), &lines).unwrap();
    let set = [
        witness_key(1).verifier(),
        witness_key(2).verifier(),
        witness_key(3).verifier(),
    ];
    let found = verify_cosignatures(&Note::parse(note.as_bytes()).unwrap(), &set).unwrap();
    assert_eq!(found.len(), 2);
    let log: VerifierKey = log_key().verifier();
    assert_eq!(Checkpoint::open(note.as_bytes(), &log).unwrap().size, 6);
}
