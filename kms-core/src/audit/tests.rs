use super::*;
use proptest::prelude::*;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn log(n: usize) -> Vec<Entry> {
    let mut head = Head::genesis();
    let mut out = Vec::new();
    for i in 0..n {
        let key_id = if i % 3 == 0 {
            None
        } else {
            Some(format!("vapid/{i}"))
        };
        let outcome = if i % 5 == 4 {
            Outcome::Denied
        } else {
            Outcome::Ok
        };
        let (e, h) = head
            .append(
                1_000 + i as u64,
                "https://app.example",
                "vapid.sign",
                key_id.as_deref(),
                outcome,
            )
            .unwrap();
        out.push(e);
        head = h;
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const GENESIS_HEX: &str = "045470eaac456745af17b62918d90899dcef524a2ce08595110b1b63b494efa4";
const ENTRY0_HEX: &str = "0e8221819670f6ee02d9891415ff13662dd560148ca32757bb4a31f5c86cb987";

/// Known answer: the hash of a fixed first entry (documented in docs/formats.md).
#[test]
fn entry_hash_known_answer() {
    let (e, _) = Head::genesis()
        .append(
            1_700_000_000_000,
            "https://app.example",
            "setup",
            Some("m-1"),
            Outcome::Ok,
        )
        .unwrap();
    assert_eq!(hex(&Head::genesis().hash), GENESIS_HEX);
    assert_eq!(hex(&e.hash()), ENTRY0_HEX);
    assert_eq!(e.hash(), Head::after(&e).hash);
}

#[test]
fn none_and_empty_key_ids_differ() {
    let h = Head::genesis();
    let (a, _) = h
        .append(1, "https://a.example", "op", None, Outcome::Ok)
        .unwrap();
    let mut b = a.clone();
    b.key_id = Some(String::new());
    assert_ne!(a.hash(), b.hash());
}

#[test]
fn fields_are_validated() {
    let h = Head::genesis();
    assert!(
        h.append(1, "https://a.example", "Bad Op", None, Outcome::Ok)
            .is_err()
    );
    assert!(h.append(1, "", "op", None, Outcome::Ok).is_err());
    assert!(
        h.append(
            1,
            "https://a.example",
            "op",
            Some(&"x".repeat(513)),
            Outcome::Ok
        )
        .is_err()
    );
    assert!(
        h.append(1, "https://a.example", "op", Some("a\nb"), Outcome::Ok)
            .is_err()
    );
}

#[test]
fn encode_decode_round_trip_and_strictness() {
    for e in log(5) {
        let bytes = e.encode().unwrap();
        assert_eq!(Entry::decode(&bytes).unwrap(), e);
        let text = String::from_utf8(bytes).unwrap();
        let wrong_format = text.replace(AUDIT_ENTRY_V1, "kms-audit-entry-v9");
        assert!(Entry::decode(wrong_format.as_bytes()).is_err());
        let extra = text.replacen('{', "{\"x\":1,", 1);
        assert!(Entry::decode(extra.as_bytes()).is_err());
    }
}

#[test]
fn every_flipped_byte_of_a_stored_entry_is_rejected() {
    for e in log(3) {
        let bytes = e.encode().unwrap();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x20, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                if let Ok(d) = Entry::decode(&b) {
                    assert_eq!(d, e, "byte {i} bit {bit:#x} decoded to a different entry");
                }
            }
        }
    }
}

#[test]
fn checkpoint_verifies_and_detects_truncation() {
    let entries = log(10);
    let head = Head::after(&entries[9]);
    let c = Checkpoint::sign(&head, &key());
    let v = verify(&entries, &c, &key().verifying_key()).unwrap();
    assert_eq!(v.checkpointed, 10);
    assert_eq!(v.unverified_tail, 0);
    assert_eq!(
        verify(&entries[..9], &c, &key().verifying_key()).unwrap_err(),
        AuditError::Truncated {
            expected: 10,
            got: 9
        }
    );
    let mut forged = c.clone();
    forged.size = 9;
    assert_eq!(
        verify(&entries, &forged, &key().verifying_key()).unwrap_err(),
        AuditError::BadSignature
    );
    let other = SigningKey::from_bytes(&[8u8; 32]);
    assert_eq!(
        verify(&entries, &c, &other.verifying_key()).unwrap_err(),
        AuditError::BadSignature
    );
    // A checkpoint at 5 with a longer log: tail reported.
    let c5 = Checkpoint::sign(&Head::after(&entries[4]), &key());
    let v = verify(&entries, &c5, &key().verifying_key()).unwrap();
    assert_eq!((v.checkpointed, v.unverified_tail), (5, 5));
}

#[test]
fn jsonl_round_trip() {
    let entries = log(7);
    let c = Checkpoint::sign(&Head::after(&entries[6]), &key());
    let text = export_jsonl(&entries, Some(&c)).unwrap();
    assert_eq!(text.lines().count(), 8);
    let (back, cp) = import_jsonl(&text).unwrap();
    assert_eq!(back, entries);
    assert_eq!(cp, Some(c));
    let bad = text.replacen("vapid.sign", "vapid.sigN", 1);
    assert!(import_jsonl(&bad).is_err());
}

#[derive(Debug, Clone)]
enum Tamper {
    Field(usize, u8),
    Remove(usize),
    Swap(usize),
    Insert(usize),
    Truncate(usize),
}

fn tamper_strategy() -> impl Strategy<Value = (usize, Tamper)> {
    (2usize..40).prop_flat_map(|n| {
        (
            Just(n),
            prop_oneof![
                (0..n, 0u8..6).prop_map(|(i, f)| Tamper::Field(i, f)),
                (0..n).prop_map(Tamper::Remove),
                (0..n - 1).prop_map(Tamper::Swap),
                (0..n).prop_map(Tamper::Insert),
                (0..n).prop_map(Tamper::Truncate),
            ],
        )
    })
}

proptest! {
    #[test]
    fn any_tampering_is_detected((n, t) in tamper_strategy()) {
        let mut entries = log(n);
        let c = Checkpoint::sign(&Head::after(&entries[n - 1]), &key());
        match t {
            Tamper::Field(i, f) => {
                let e = &mut entries[i];
                match f {
                    0 => e.time_ms += 1,
                    1 => e.origin.push('x'),
                    2 => e.op.push('x'),
                    3 => e.key_id = if e.key_id.is_some() { None } else { Some("k".into()) },
                    4 => e.outcome = if e.outcome == Outcome::Ok { Outcome::Failed } else { Outcome::Ok },
                    _ => e.prev_hash[0] ^= 1,
                }
            }
            Tamper::Remove(i) => { entries.remove(i); }
            Tamper::Swap(i) => entries.swap(i, i + 1),
            Tamper::Insert(i) => {
                let mut extra = entries[i].clone();
                extra.time_ms += 7;
                entries.insert(i, extra);
            }
            Tamper::Truncate(k) => entries.truncate(k),
        }
        prop_assert!(verify(&entries, &c, &key().verifying_key()).is_err());
    }
}
