//! Property: any interleaving of sends, deliveries (in any order) and replays between two
//! kms-core parties decrypts every delivered message exactly once and never twice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kms_core::signal::kem::KemAlgorithm;
use kms_core::signal::{
    Address, CiphertextMessage, IdentityKeyPair, KyberPreKey, OneTimePreKey, OurPreKeys,
    PreKeyBundle, PreKeySignalMessage, SessionError, SessionRecord, SignalMessage, SignedPreKey,
    Trust,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_750_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    /// Side 0 (Alice) or 1 (Bob) sends a message.
    Send(usize),
    /// Deliver an in-flight message to side `.0` (chosen by `.1` modulo the queue).
    Deliver(usize, usize),
    /// Deliver an already delivered message again.
    Replay(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize).prop_map(Op::Send),
        3 => (0..2usize, any::<usize>()).prop_map(|(s, i)| Op::Deliver(s, i)),
        1 => (0..2usize, any::<usize>()).prop_map(|(s, i)| Op::Replay(s, i)),
    ]
}

struct Side {
    record: SessionRecord,
    address: Address,
}

fn receive(
    me: &mut Side,
    bob_keys: &OurPreKeys<'_>,
    from: &Address,
    msg: &CiphertextMessage,
    rng: &mut StdRng,
) -> Result<Vec<u8>, SessionError> {
    let trust = Trust::first_use();
    let out = match msg {
        CiphertextMessage::PreKey(p) => me.record.decrypt_pre_key(
            &PreKeySignalMessage::parse(p.as_bytes())?,
            bob_keys,
            &me.address,
            from,
            &trust,
            NOW,
            rng,
        )?,
        CiphertextMessage::Whisper(w) => me.record.decrypt(
            &SignalMessage::parse(w.as_bytes())?,
            &me.address,
            from,
            &trust,
            NOW,
            rng,
        )?,
    };
    me.record = SessionRecord::decode(&out.record.encode()).expect("record round trip");
    Ok(out.plaintext.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_delivered_message_decrypts_once(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..60)) {
        let mut rng = StdRng::seed_from_u64(seed);
        let bob_identity = IdentityKeyPair::generate(&mut rng);
        let signed = SignedPreKey::generate(&bob_identity, 1, NOW, &mut rng);
        let one_time = OneTimePreKey::generate(2, &mut rng);
        let kyber = KyberPreKey::generate(&bob_identity, KemAlgorithm::Kyber1024, 3, NOW, &mut rng);
        let bundle = PreKeyBundle::new(22, 1, bob_identity.public_key(), &signed, Some(&one_time), &kyber);
        let alice_identity = IdentityKeyPair::generate(&mut rng);
        let (alice_record, _) = SessionRecord::new()
            .initiate(&alice_identity, 11, &bundle, &Trust::first_use(), NOW, &mut rng)
            .unwrap();
        let mut sides = [
            Side { record: alice_record, address: Address::new("alice", 1) },
            Side { record: SessionRecord::new(), address: Address::new("bob", 1) },
        ];
        let bob_keys = OurPreKeys {
            identity: &bob_identity,
            registration_id: 22,
            signed_pre_key: &signed,
            one_time_pre_key: Some(&one_time),
            kyber_pre_key: &kyber,
        };
        // in_flight[to], delivered[to]: (plaintext, message)
        let mut in_flight: [Vec<(Vec<u8>, CiphertextMessage)>; 2] = [Vec::new(), Vec::new()];
        let mut delivered: [Vec<(Vec<u8>, CiphertextMessage)>; 2] = [Vec::new(), Vec::new()];
        let mut counter = 0u32;
        for op in ops {
            match op {
                Op::Send(from) => {
                    if !sides[from].record.has_current_session() {
                        continue;
                    }
                    counter += 1;
                    let text = counter.to_le_bytes().to_vec();
                    let to = 1 - from;
                    let remote = sides[to].address.clone();
                    let out = sides[from]
                        .record
                        .encrypt(&text, &sides[from].address.clone(), &remote, &Trust::first_use(), NOW, &mut rng)
                        .unwrap();
                    sides[from].record = out.record;
                    in_flight[to].push((text, out.message));
                }
                Op::Deliver(to, pick) => {
                    if in_flight[to].is_empty() {
                        continue;
                    }
                    let (text, msg) = in_flight[to].remove(pick % in_flight[to].len());
                    let from = sides[1 - to].address.clone();
                    let got = receive(&mut sides[to], &bob_keys, &from, &msg, &mut rng);
                    prop_assert_eq!(got.as_ref(), Ok(&text));
                    delivered[to].push((text, msg));
                }
                Op::Replay(to, pick) => {
                    if delivered[to].is_empty() {
                        continue;
                    }
                    let (_, msg) = delivered[to][pick % delivered[to].len()].clone();
                    let before = sides[to].record.encode();
                    let from = sides[1 - to].address.clone();
                    let got = receive(&mut sides[to], &bob_keys, &from, &msg, &mut rng);
                    prop_assert!(matches!(got, Err(SessionError::Duplicate { .. })), "{:?}", got);
                    prop_assert_eq!(sides[to].record.encode(), before);
                }
            }
        }
    }
}
