//! Verification of audit logs: each kind of tampering gives its own error.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use ed25519_dalek::SigningKey;
use kms_core::audit::{
    AuditError, Checkpoint, Entry, Head, Outcome, Verified, verify, verify_chain,
    verify_chain_from, verify_from,
};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

/// A log of `n` entries and the head after each prefix (`heads[i]` has size `i`).
fn log(n: usize) -> (Vec<Entry>, Vec<Head>) {
    let mut heads = vec![Head::genesis()];
    let mut entries = Vec::new();
    for i in 0..n {
        let key_id = format!("k{}", i % 3);
        let (e, h) = heads[i]
            .append(
                1_700_000_000_000 + i as u64,
                "https://app.example",
                if i % 2 == 0 { "key.sign" } else { "key.create" },
                (i % 4 != 0).then_some(key_id.as_str()),
                [Outcome::Ok, Outcome::Denied, Outcome::Failed][i % 3],
            )
            .unwrap();
        entries.push(e);
        heads.push(h);
    }
    (entries, heads)
}

/// Rebuilds `e` with a different `prev_hash`, `seq` or `time_ms`.
fn with(e: &Entry, seq: u64, time_ms: u64, prev_hash: [u8; 32]) -> Entry {
    Entry::new(
        seq,
        time_ms,
        e.origin(),
        e.op(),
        e.key_id(),
        e.outcome(),
        prev_hash,
    )
    .unwrap()
}

#[test]
fn intact_log_verifies() {
    let (entries, heads) = log(10);
    let cp = Checkpoint::sign(&heads[10], &key());
    let v = verify(&entries, &cp, &key().verifying_key()).unwrap();
    assert_eq!(
        v,
        Verified {
            checkpoint: heads[10],
            head: heads[10],
            unverified_tail: 0
        }
    );
    assert_eq!(verify_chain(&entries).unwrap(), heads[10]);
}

#[test]
fn empty_log_verifies_against_genesis_checkpoint() {
    let cp = Checkpoint::sign(&Head::genesis(), &key());
    let v = verify(&[], &cp, &key().verifying_key()).unwrap();
    assert_eq!(v.head, Head::genesis());
    assert_eq!(verify_chain(&[]).unwrap(), Head::genesis());
    // A genesis-size checkpoint over another hash is refused even with no entries.
    let forged = Checkpoint::sign(
        &Head {
            size: 0,
            hash: [1; 32],
        },
        &key(),
    );
    assert!(matches!(
        verify(&[], &forged, &key().verifying_key()),
        Err(AuditError::HeadMismatch { size: 0, .. })
    ));
}

#[test]
fn tail_after_checkpoint_is_counted_not_trusted() {
    let (entries, heads) = log(10);
    let cp = Checkpoint::sign(&heads[6], &key());
    let v = verify(&entries, &cp, &key().verifying_key()).unwrap();
    assert_eq!(v.checkpoint, heads[6]);
    assert_eq!(v.head, heads[10]);
    assert_eq!(v.unverified_tail, 4);
    // The tail is still chain-checked.
    let mut bad = entries.clone();
    bad[8] = with(&bad[8], 8, 1, [0; 32]);
    assert!(matches!(
        verify(&bad, &cp, &key().verifying_key()),
        Err(AuditError::PrevHashMismatch { seq: 8, .. })
    ));
}

#[test]
fn wrong_key_or_forged_checkpoint() {
    let (entries, heads) = log(5);
    let cp = Checkpoint::sign(&heads[5], &key());
    let other = SigningKey::from_bytes(&[0x5b; 32]).verifying_key();
    assert_eq!(
        verify(&entries, &cp, &other),
        Err(AuditError::BadSignature { size: 5 })
    );
    let lied = Checkpoint { size: 4, ..cp };
    assert_eq!(
        verify(&entries, &lied, &key().verifying_key()),
        Err(AuditError::BadSignature { size: 4 })
    );
}

#[test]
fn changed_entry_breaks_next_link() {
    let (entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    let mut bad = entries.clone();
    bad[3] = with(&bad[3], 3, 42, *bad[3].prev_hash());
    let err = verify(&bad, &cp, &key().verifying_key()).unwrap_err();
    assert_eq!(
        err,
        AuditError::PrevHashMismatch {
            seq: 4,
            expected: bad[3].hash(),
            got: entries[3].hash(),
        }
    );
    assert!(err.to_string().starts_with("entry 4: prev_hash expected "));
}

#[test]
fn changed_last_entry_is_a_head_mismatch() {
    let (entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    let mut bad = entries.clone();
    bad[7] = with(&bad[7], 7, 42, *bad[7].prev_hash());
    assert_eq!(
        verify(&bad, &cp, &key().verifying_key()),
        Err(AuditError::HeadMismatch {
            size: 8,
            expected: heads[8].hash,
            got: bad[7].hash(),
        })
    );
    // Without a checkpoint the chain alone cannot tell.
    assert!(verify_chain(&bad).is_ok());
}

#[test]
fn rewritten_suffix_is_a_head_mismatch() {
    let (entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    // Change entry 2 and re-link everything after it: the chain is consistent again.
    let mut head = heads[2];
    let mut bad = entries[..2].to_vec();
    for (i, e) in entries[2..].iter().enumerate() {
        let time = if i == 0 { 0 } else { e.time_ms() };
        let (ne, nh) = head
            .append(time, e.origin(), e.op(), e.key_id(), e.outcome())
            .unwrap();
        bad.push(ne);
        head = nh;
    }
    assert!(verify_chain(&bad).is_ok());
    assert!(matches!(
        verify(&bad, &cp, &key().verifying_key()),
        Err(AuditError::HeadMismatch { size: 8, .. })
    ));
}

#[test]
fn removed_entry_is_a_seq_mismatch() {
    let (mut entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    entries.remove(5);
    let err = verify(&entries, &cp, &key().verifying_key()).unwrap_err();
    assert_eq!(
        err,
        AuditError::SeqMismatch {
            expected: 5,
            got: 6
        }
    );
    assert_eq!(
        err.to_string(),
        "entry 5: sequence number expected 5, got 6"
    );
}

#[test]
fn swapped_entries_are_a_seq_mismatch() {
    let (mut entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    entries.swap(2, 6);
    assert_eq!(
        verify(&entries, &cp, &key().verifying_key()),
        Err(AuditError::SeqMismatch {
            expected: 2,
            got: 6
        })
    );
}

#[test]
fn duplicated_entry_is_a_seq_mismatch() {
    let (mut entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    entries.insert(4, entries[3].clone());
    assert_eq!(
        verify(&entries, &cp, &key().verifying_key()),
        Err(AuditError::SeqMismatch {
            expected: 4,
            got: 3
        })
    );
}

#[test]
fn inserted_linked_entry_breaks_the_following_link() {
    let (mut entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    // A well-formed entry 4 linked to entry 3, put in front of the real entry 4.
    let (forged, _) = heads[4]
        .append(0, "https://evil.example", "key.export", None, Outcome::Ok)
        .unwrap();
    entries.insert(4, forged);
    assert_eq!(
        verify(&entries, &cp, &key().verifying_key()),
        Err(AuditError::SeqMismatch {
            expected: 5,
            got: 4
        })
    );
    // Renumbering the remainder still leaves a broken link.
    for (i, e) in entries.iter_mut().enumerate().skip(5) {
        *e = with(e, i as u64, e.time_ms(), *e.prev_hash());
    }
    assert!(matches!(
        verify(&entries, &cp, &key().verifying_key()),
        Err(AuditError::PrevHashMismatch { seq: 5, .. })
    ));
}

#[test]
fn truncation_is_reported_with_both_sizes() {
    let (entries, heads) = log(8);
    let cp = Checkpoint::sign(&heads[8], &key());
    let err = verify(&entries[..5], &cp, &key().verifying_key()).unwrap_err();
    assert_eq!(
        err,
        AuditError::Truncated {
            expected: 8,
            got: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "log truncated: checkpoint covers 8 entries, got 5"
    );
    assert_eq!(
        verify(&[], &cp, &key().verifying_key()),
        Err(AuditError::Truncated {
            expected: 8,
            got: 0
        })
    );
}

#[test]
fn first_entry_must_link_to_genesis() {
    let (entries, _) = log(3);
    let moved = with(&entries[0], 0, entries[0].time_ms(), [0; 32]);
    assert_eq!(
        verify_chain(&[moved]),
        Err(AuditError::PrevHashMismatch {
            seq: 0,
            expected: Head::GENESIS_HASH,
            got: [0; 32],
        })
    );
    // A suffix is not a log.
    assert_eq!(
        verify_chain(&entries[1..]),
        Err(AuditError::SeqMismatch {
            expected: 0,
            got: 1
        })
    );
}

#[test]
fn incremental_verification_from_a_trusted_head() {
    let (entries, heads) = log(20);
    let vk = key().verifying_key();
    let cp1 = Checkpoint::sign(&heads[7], &key());
    let first = verify(&entries[..9], &cp1, &vk).unwrap();
    assert_eq!(first.unverified_tail, 2);

    // Later: only the entries after the last signed head are fetched.
    let cp2 = Checkpoint::sign(&heads[15], &key());
    let second = verify_from(&first.checkpoint, &entries[7..], &cp2, &vk).unwrap();
    assert_eq!(second.checkpoint, heads[15]);
    assert_eq!(second.head, heads[20]);
    assert_eq!(second.unverified_tail, 5);
    assert_eq!(
        verify_chain_from(&heads[7], &entries[7..]).unwrap(),
        heads[20]
    );

    // A suffix that does not start where the trusted head ends.
    assert_eq!(
        verify_from(&first.checkpoint, &entries[8..], &cp2, &vk),
        Err(AuditError::SeqMismatch {
            expected: 7,
            got: 8
        })
    );
    // A suffix rewritten from its first entry on.
    let mut head = heads[7];
    let mut forged = Vec::new();
    for e in &entries[7..] {
        let (ne, nh) = head
            .append(1, e.origin(), e.op(), e.key_id(), e.outcome())
            .unwrap();
        forged.push(ne);
        head = nh;
    }
    assert!(matches!(
        verify_from(&first.checkpoint, &forged, &cp2, &vk),
        Err(AuditError::HeadMismatch { size: 15, .. })
    ));
    // An older checkpoint says nothing about the suffix.
    let cp0 = Checkpoint::sign(&heads[3], &key());
    assert_eq!(
        verify_from(&first.checkpoint, &entries[7..], &cp0, &vk),
        Err(AuditError::StaleCheckpoint {
            trusted: 7,
            checkpoint: 3
        })
    );
    // Same size as the trusted head: the hashes must agree.
    let cp_same = Checkpoint::sign(&heads[7], &key());
    assert!(verify_from(&first.checkpoint, &entries[7..], &cp_same, &vk).is_ok());
    let cp_fork = Checkpoint::sign(
        &Head {
            size: 7,
            hash: [2; 32],
        },
        &key(),
    );
    assert!(matches!(
        verify_from(&first.checkpoint, &entries[7..], &cp_fork, &vk),
        Err(AuditError::HeadMismatch { size: 7, .. })
    ));
    // A truncated suffix.
    assert_eq!(
        verify_from(&first.checkpoint, &entries[7..12], &cp2, &vk),
        Err(AuditError::Truncated {
            expected: 15,
            got: 12
        })
    );
}

#[test]
fn random_audit_key_from_rand_rng() {
    use rand::SeedableRng as _;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let sk = SigningKey::generate(&mut rng);
    let (entries, heads) = log(3);
    let cp = Checkpoint::sign(&heads[3], &sk);
    assert!(verify(&entries, &cp, &sk.verifying_key()).is_ok());
}
