//! Property tests: every single tampering of a random log is caught, and the stored and
//! exported forms round-trip and refuse corruption.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use ed25519_dalek::{SigningKey, VerifyingKey};
use kms_core::audit::{
    AuditError, Checkpoint, Entry, Head, Outcome, export_jsonl, export_jsonl_with_checkpoint,
    import_jsonl, verify,
};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::LazyLock;

#[derive(Debug, Clone)]
struct Spec {
    time_ms: u64,
    origin: String,
    op: String,
    key_id: Option<String>,
    outcome: Outcome,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Ok),
        Just(Outcome::Denied),
        Just(Outcome::Failed)
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<u64>(),
        "\\PC{0,24}",
        "[a-z0-9._-]{1,16}",
        proptest::option::of("\\PC{0,16}"),
        outcome(),
    )
        .prop_map(|(time_ms, origin, op, key_id, outcome)| Spec {
            time_ms,
            origin,
            op,
            key_id,
            outcome,
        })
}

fn entry() -> impl Strategy<Value = Entry> {
    (any::<u64>(), spec(), any::<[u8; 32]>()).prop_map(|(seq, s, prev)| {
        Entry::new(
            seq,
            s.time_ms,
            &s.origin,
            &s.op,
            s.key_id.as_deref(),
            s.outcome,
            prev,
        )
        .unwrap()
    })
}

fn build(specs: &[Spec]) -> (Vec<Entry>, Head) {
    let mut head = Head::genesis();
    let mut entries = Vec::with_capacity(specs.len());
    for s in specs {
        let (e, h) = head
            .append(s.time_ms, &s.origin, &s.op, s.key_id.as_deref(), s.outcome)
            .unwrap();
        entries.push(e);
        head = h;
    }
    (entries, head)
}

static AUDIT_KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::from_bytes(&[0x33; 32]));
static AUDIT_VK: LazyLock<VerifyingKey> = LazyLock::new(|| AUDIT_KEY.verifying_key());

fn audit_key() -> &'static SigningKey {
    &AUDIT_KEY
}

fn vk() -> &'static VerifyingKey {
    &AUDIT_VK
}

/// Number of entry fields [`change`] can alter.
const FIELDS: u8 = 7;

/// `e` with exactly one field changed; `d` picks how.
fn change(e: &Entry, field: u8, d: u64) -> Entry {
    let d = d.max(1);
    let (mut seq, mut time, mut prev) = (e.seq(), e.time_ms(), *e.prev_hash());
    let (mut origin, mut op) = (e.origin().to_owned(), e.op().to_owned());
    let (mut key_id, mut outcome) = (e.key_id().map(str::to_owned), e.outcome());
    let letter = char::from(b'a' + (d % 26) as u8);
    match field {
        0 => seq = seq.wrapping_add(d),
        1 => time = time.wrapping_add(d),
        2 => {
            if d.is_multiple_of(2) && !origin.is_empty() {
                origin.pop();
            } else {
                origin.push(letter);
            }
        }
        3 => {
            if d.is_multiple_of(2) && op.len() > 1 {
                op.pop();
            } else {
                op.push(letter);
            }
        }
        4 => {
            key_id = match key_id {
                None => Some(String::new()),
                Some(_) if d.is_multiple_of(2) => None,
                Some(mut k) => {
                    k.push(letter);
                    Some(k)
                }
            }
        }
        5 => {
            let all = [Outcome::Ok, Outcome::Denied, Outcome::Failed];
            let at = all.iter().position(|o| *o == outcome).unwrap();
            outcome = all[(at + 1 + (d % 2) as usize) % 3];
        }
        _ => prev[(d % 32) as usize] ^= 1 << (d % 8),
    }
    let changed = Entry::new(seq, time, &origin, &op, key_id.as_deref(), outcome, prev).unwrap();
    assert_ne!(&changed, e);
    changed
}

proptest! {
    // Each case runs 7 verifications per entry; with unoptimized test builds of the
    // signature code a few cases are enough, as `single_field_change_is_detected` samples
    // the same space with more cases.
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Every field of every entry, changed one at a time.
    #[test]
    fn every_single_field_change_is_detected(specs in prop::collection::vec(spec(), 1..60), d in any::<u64>()) {
        let (entries, head) = build(&specs);
        let cp = Checkpoint::sign(&head, audit_key());
        prop_assert!(verify(&entries, &cp, vk()).is_ok());
        for i in 0..entries.len() {
            for field in 0..FIELDS {
                let mut bad = entries.clone();
                bad[i] = change(&bad[i], field, d);
                prop_assert!(verify(&bad, &cp, vk()).is_err(), "entry {} field {}", i, field);
            }
        }
    }
}

proptest! {
    // Every case signs and verifies a checkpoint, which is slow in unoptimized test builds.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn single_field_change_is_detected(
        specs in prop::collection::vec(spec(), 1..60),
        at in any::<Index>(),
        field in 0..FIELDS,
        d in any::<u64>(),
    ) {
        let (mut entries, head) = build(&specs);
        let cp = Checkpoint::sign(&head, audit_key());
        let i = at.index(entries.len());
        entries[i] = change(&entries[i], field, d);
        prop_assert!(verify(&entries, &cp, vk()).is_err());
    }

    #[test]
    fn field_change_below_a_partial_checkpoint_is_detected(
        specs in prop::collection::vec(spec(), 1..60),
        size in any::<Index>(),
        at in any::<Index>(),
        field in 0..FIELDS,
        d in any::<u64>(),
    ) {
        let (entries, _) = build(&specs);
        // A checkpoint over the first `m` entries, and a change in one of them.
        let m = size.index(entries.len()) + 1;
        let i = at.index(m);
        let cp = Checkpoint::sign(&Head::after(&entries[m - 1]), audit_key());
        let ok = verify(&entries, &cp, vk()).unwrap();
        prop_assert_eq!(ok.unverified_tail, (entries.len() - m) as u64);
        let mut bad = entries.clone();
        bad[i] = change(&bad[i], field, d);
        prop_assert!(verify(&bad, &cp, vk()).is_err());
    }

    #[test]
    fn removal_is_detected(specs in prop::collection::vec(spec(), 1..60), at in any::<Index>()) {
        let (mut entries, head) = build(&specs);
        let cp = Checkpoint::sign(&head, audit_key());
        entries.remove(at.index(entries.len()));
        prop_assert!(verify(&entries, &cp, vk()).is_err());
    }

    #[test]
    fn swap_is_detected(specs in prop::collection::vec(spec(), 2..60), a in any::<Index>(), b in any::<Index>()) {
        let (mut entries, head) = build(&specs);
        let cp = Checkpoint::sign(&head, audit_key());
        let n = entries.len();
        let i = a.index(n);
        let j = (i + 1 + b.index(n - 1)) % n;
        entries.swap(i, j);
        prop_assert!(verify(&entries, &cp, vk()).is_err());
    }

    #[test]
    fn insertion_is_detected(
        specs in prop::collection::vec(spec(), 1..60),
        at in any::<Index>(),
        copy_of in any::<Index>(),
        linked in any::<bool>(),
        extra in spec(),
    ) {
        let (mut entries, head) = build(&specs);
        let cp = Checkpoint::sign(&head, audit_key());
        let n = entries.len();
        let pos = at.index(n + 1);
        let inserted = if linked {
            // Well formed for its position: next seq, linked to the entry before it.
            let before = if pos == 0 { Head::genesis() } else { Head::after(&entries[pos - 1]) };
            before
                .append(extra.time_ms, &extra.origin, &extra.op, extra.key_id.as_deref(), extra.outcome)
                .unwrap()
                .0
        } else {
            entries[copy_of.index(n)].clone()
        };
        entries.insert(pos, inserted);
        match verify(&entries, &cp, vk()) {
            Err(_) => {}
            // Appending past the checkpoint is allowed, and reported as unsigned.
            Ok(v) => prop_assert!(pos == n && linked && v.unverified_tail == 1),
        }
    }

    #[test]
    fn truncation_is_detected(specs in prop::collection::vec(spec(), 1..60), keep in any::<Index>()) {
        let (entries, head) = build(&specs);
        let cp = Checkpoint::sign(&head, audit_key());
        let k = keep.index(entries.len());
        prop_assert_eq!(
            verify(&entries[..k], &cp, vk()),
            Err(AuditError::Truncated { expected: entries.len() as u64, got: k as u64 })
        );
    }

    #[test]
    fn encode_decode_round_trip(e in entry()) {
        let bytes = e.encode();
        prop_assert_eq!(Entry::decode(&bytes).unwrap(), e);
    }

    #[test]
    fn decode_rejects_a_flipped_byte(e in entry(), at in any::<Index>(), mask in 1u8..=255) {
        let mut bytes = e.encode();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        prop_assert!(Entry::decode(&bytes).is_err());
    }

    #[test]
    fn checkpoint_text_round_trip_and_flips(
        size in any::<u64>(),
        hash in any::<[u8; 32]>(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let cp = Checkpoint::sign(&Head { size, hash }, audit_key());
        let text = cp.to_json();
        prop_assert_eq!(Checkpoint::from_json(&text).unwrap(), cp);
        let mut bytes = text.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        // Either unreadable, or a different checkpoint whose signature fails.
        if let Ok(text) = String::from_utf8(bytes)
            && let Ok(other) = Checkpoint::from_json(&text)
        {
            prop_assert!(other.verify(vk()).is_err());
        }
    }

    #[test]
    fn jsonl_round_trip(specs in prop::collection::vec(spec(), 0..60), with_checkpoint in any::<bool>()) {
        let (entries, head) = build(&specs);
        if with_checkpoint {
            let cp = Checkpoint::sign(&head, audit_key());
            let (back, back_cp) = import_jsonl(&export_jsonl_with_checkpoint(&entries, &cp)).unwrap();
            prop_assert_eq!(&back, &entries);
            prop_assert_eq!(back_cp, Some(cp));
            prop_assert_eq!(verify(&back, &cp, vk()).unwrap().head, head);
        } else {
            prop_assert_eq!(import_jsonl(&export_jsonl(&entries)).unwrap(), (entries, None));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Every byte of an encoded entry, flipped one bit at a time.
    #[test]
    fn decode_rejects_every_single_bit_flip(e in entry()) {
        let good = e.encode();
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bytes = good.clone();
                bytes[i] ^= 1 << bit;
                prop_assert!(Entry::decode(&bytes).is_err(), "byte {} bit {}", i, bit);
            }
        }
    }
}
