//! Sessions between two kms-core parties through the public `kms_core::signal` API.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use kms_core::signal::kem::KemAlgorithm;
use kms_core::signal::{
    Address, CiphertextMessage, IdentityChange, IdentityKeyPair, KyberPreKey, OneTimePreKey,
    OurPreKeys, PreKeyBundle, PreKeySignalMessage, RecordError, SessionError, SessionRecord,
    SignalMessage, SignedPreKey, Trust,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_750_000_000_000;

struct Device {
    identity: IdentityKeyPair,
    registration_id: u32,
    signed: SignedPreKey,
    one_time: OneTimePreKey,
    kyber: KyberPreKey,
}

fn device(rng: &mut StdRng, registration_id: u32) -> Device {
    let identity = IdentityKeyPair::generate(rng);
    Device {
        signed: SignedPreKey::generate(&identity, 1, NOW, rng),
        one_time: OneTimePreKey::generate(2, rng),
        kyber: KyberPreKey::generate(&identity, KemAlgorithm::Kyber1024, 3, NOW, rng),
        identity,
        registration_id,
    }
}

fn bundle(d: &Device, one_time: bool) -> PreKeyBundle {
    PreKeyBundle::new(
        d.registration_id,
        1,
        d.identity.public_key(),
        &d.signed,
        one_time.then_some(&d.one_time),
        &d.kyber,
    )
}

fn ours(d: &Device) -> OurPreKeys<'_> {
    OurPreKeys {
        identity: &d.identity,
        registration_id: d.registration_id,
        signed_pre_key: &d.signed,
        one_time_pre_key: Some(&d.one_time),
        kyber_pre_key: &d.kyber,
    }
}

fn alice_addr() -> Address {
    Address::new("alice", 1)
}
fn bob_addr() -> Address {
    Address::new("bob", 1)
}

/// Re-reads a record from its bytes, as a restart would.
fn restart(r: &SessionRecord) -> SessionRecord {
    SessionRecord::decode(&r.encode()).unwrap()
}

struct Pair {
    rng: StdRng,
    alice_dev: Device,
    bob_dev: Device,
    alice: SessionRecord,
    bob: SessionRecord,
}

fn pair(seed: u64) -> Pair {
    let mut rng = StdRng::seed_from_u64(seed);
    let alice_dev = device(&mut rng, 1001);
    let bob_dev = device(&mut rng, 2002);
    let (alice, change) = SessionRecord::new()
        .initiate(
            &alice_dev.identity,
            alice_dev.registration_id,
            &bundle(&bob_dev, true),
            &Trust::first_use(),
            NOW,
            &mut rng,
        )
        .unwrap();
    assert_eq!(change, IdentityChange::New);
    Pair {
        rng,
        alice_dev,
        bob_dev,
        alice,
        bob: SessionRecord::new(),
    }
}

impl Pair {
    fn alice_sends(&mut self, text: &[u8]) -> CiphertextMessage {
        let out = self
            .alice
            .encrypt(
                text,
                &alice_addr(),
                &bob_addr(),
                &Trust::known(self.bob_dev.identity.public_key()),
                NOW,
                &mut self.rng,
            )
            .unwrap();
        self.alice = restart(&out.record);
        out.message
    }

    fn bob_sends(&mut self, text: &[u8]) -> CiphertextMessage {
        let out = self
            .bob
            .encrypt(
                text,
                &bob_addr(),
                &alice_addr(),
                &Trust::known(self.alice_dev.identity.public_key()),
                NOW,
                &mut self.rng,
            )
            .unwrap();
        self.bob = restart(&out.record);
        out.message
    }

    fn bob_receives(&mut self, m: &CiphertextMessage) -> Result<Vec<u8>, SessionError> {
        let trust = Trust::known(self.alice_dev.identity.public_key());
        let out = match m {
            CiphertextMessage::PreKey(p) => {
                let p = PreKeySignalMessage::parse(p.as_bytes())?;
                self.bob.decrypt_pre_key(
                    &p,
                    &ours(&self.bob_dev),
                    &bob_addr(),
                    &alice_addr(),
                    &trust,
                    NOW,
                    &mut self.rng,
                )?
            }
            CiphertextMessage::Whisper(w) => self.bob.decrypt(
                &SignalMessage::parse(w.as_bytes())?,
                &bob_addr(),
                &alice_addr(),
                &trust,
                NOW,
                &mut self.rng,
            )?,
        };
        self.bob = restart(&out.record);
        Ok(out.plaintext.to_vec())
    }

    fn alice_receives(&mut self, m: &CiphertextMessage) -> Result<Vec<u8>, SessionError> {
        let CiphertextMessage::Whisper(w) = m else {
            panic!("Bob never sends PreKey messages");
        };
        let out = self.alice.decrypt(
            &SignalMessage::parse(w.as_bytes())?,
            &alice_addr(),
            &bob_addr(),
            &Trust::known(self.bob_dev.identity.public_key()),
            NOW,
            &mut self.rng,
        )?;
        self.alice = restart(&out.record);
        Ok(out.plaintext.to_vec())
    }
}

#[test]
fn out_of_order_first_messages_then_replies() {
    let mut p = pair(1);
    let first: Vec<_> = (0..3).map(|i| p.alice_sends(&[i; 5])).collect();
    assert!(
        first
            .iter()
            .all(|m| matches!(m, CiphertextMessage::PreKey(_)))
    );
    assert_eq!(first[0].message_type(), 3);
    for i in [2usize, 0, 1] {
        assert_eq!(p.bob_receives(&first[i]).unwrap(), vec![i as u8; 5]);
    }
    // Replaying a first message is a duplicate, not a new session.
    assert!(matches!(
        p.bob_receives(&first[1]),
        Err(SessionError::Duplicate { .. })
    ));
    assert_eq!(p.bob.archived_sessions(), 0);
    let reply = p.bob_sends(b"hi alice");
    assert_eq!(reply.message_type(), 2);
    assert!(p.alice.awaiting_reply());
    assert_eq!(p.alice_receives(&reply).unwrap(), b"hi alice");
    assert!(!p.alice.awaiting_reply());
    let next = p.alice_sends(b"now whisper");
    assert!(matches!(next, CiphertextMessage::Whisper(_)));
    assert_eq!(p.bob_receives(&next).unwrap(), b"now whisper");
}

#[test]
fn failed_decryption_changes_nothing() {
    let mut p = pair(2);
    let m0 = p.alice_sends(b"zero");
    p.bob_receives(&m0).unwrap();
    let r = p.bob_sends(b"r");
    p.alice_receives(&r).unwrap();
    let m = p.alice_sends(b"tamper me");
    let CiphertextMessage::Whisper(w) = &m else {
        panic!()
    };
    let good = w.as_bytes().to_vec();
    let before = p.bob.encode();
    let n = good.len();
    // Last byte of the MAC, a byte of the body, the counter field, the pq_ratchet field.
    let counter_at = good.iter().position(|&b| b == 0x10).unwrap();
    let body_at = good.windows(2).position(|w| w == [0x22, 0x10]).unwrap() + 2;
    // pq_ratchet = 0x2a 0x04 | 0x01 epoch index type: flip the index.
    let pq_index_at = n - 8 - 2;
    for (at, what) in [
        (n - 1, "mac"),
        (body_at + 5, "body"),
        (counter_at + 1, "counter"),
        (pq_index_at, "pq index"),
    ] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let err = p
            .bob
            .decrypt(
                &SignalMessage::parse(&bad).unwrap(),
                &bob_addr(),
                &alice_addr(),
                &Trust::known(p.alice_dev.identity.public_key()),
                NOW,
                &mut p.rng,
            )
            .unwrap_err();
        assert_eq!(err, SessionError::BadMac, "{what}");
        assert_eq!(p.bob.encode(), before, "{what}");
    }
    assert_eq!(p.bob_receives(&m).unwrap(), b"tamper me");
    assert!(matches!(
        p.bob_receives(&m),
        Err(SessionError::Duplicate { .. })
    ));
}

#[test]
fn untrusted_identity_change_is_refused_unless_allowed() {
    let mut p = pair(3);
    let m = p.alice_sends(b"x");
    let CiphertextMessage::PreKey(pre) = &m else {
        panic!()
    };
    let stranger = IdentityKeyPair::generate(&mut p.rng).public_key();
    let attempt = |trust: &Trust, rng: &mut StdRng| {
        p.bob.decrypt_pre_key(
            pre,
            &ours(&p.bob_dev),
            &bob_addr(),
            &alice_addr(),
            trust,
            NOW,
            rng,
        )
    };
    let mut rng = StdRng::seed_from_u64(9);
    assert_eq!(
        attempt(&Trust::known(stranger), &mut rng).unwrap_err(),
        SessionError::UntrustedIdentity
    );
    let ok = attempt(&Trust::allow_change(Some(stranger)), &mut rng).unwrap();
    assert_eq!(ok.identity, IdentityChange::Replaced);
    assert_eq!(ok.pre_keys_used.unwrap().one_time_pre_key_id, Some(2));
    let first = attempt(&Trust::first_use(), &mut rng).unwrap();
    assert_eq!(first.identity, IdentityChange::New);
}

#[test]
fn new_prekey_message_archives_the_old_session() {
    let mut p = pair(4);
    let m = p.alice_sends(b"one");
    p.bob_receives(&m).unwrap();
    let old_reply = p.bob_sends(b"from the old session");
    // Alice starts over (a reinstall): a new base key.
    let (fresh, _) = SessionRecord::new()
        .initiate(
            &p.alice_dev.identity,
            p.alice_dev.registration_id,
            &bundle(&p.bob_dev, false),
            &Trust::first_use(),
            NOW,
            &mut p.rng,
        )
        .unwrap();
    let keep_old = p.alice.clone();
    p.alice = fresh;
    let m2 = p.alice_sends(b"two");
    assert_eq!(p.bob_receives(&m2).unwrap(), b"two");
    assert_eq!(p.bob.archived_sessions(), 1);
    // A message on the archived session still decrypts at Alice's old record…
    p.alice = keep_old;
    assert_eq!(
        p.alice_receives(&old_reply).unwrap(),
        b"from the old session"
    );
    // …and Bob's archived session still decrypts Alice's old session, promoting it.
    let late = p.alice_sends(b"late");
    assert_eq!(p.bob_receives(&late).unwrap(), b"late");
    assert_eq!(p.bob.archived_sessions(), 1);
}

#[test]
fn skipped_keys_are_bounded() {
    let mut p = pair(5);
    let m = p.alice_sends(b"a");
    p.bob_receives(&m).unwrap();
    let r = p.bob_sends(b"b");
    p.alice_receives(&r).unwrap();
    let sent: Vec<_> = (0..2003)
        .map(|i| p.alice_sends(&(i as u32).to_le_bytes()))
        .collect();
    assert_eq!(p.bob_receives(&sent[2002]).unwrap(), 2002u32.to_le_bytes());
    // 2002 keys were skipped; only the newest 2000 are kept.
    assert!(matches!(
        p.bob_receives(&sent[0]),
        Err(SessionError::Duplicate { .. })
    ));
    assert_eq!(p.bob_receives(&sent[2]).unwrap(), 2u32.to_le_bytes());
    // Keys older than the age bound are dropped.
    let aged = p
        .bob
        .decrypt(
            &SignalMessage::parse(sent[3].as_bytes()).unwrap(),
            &bob_addr(),
            &alice_addr(),
            &Trust::first_use(),
            NOW + kms_core::signal::ratchet::MAX_SKIPPED_KEY_AGE_MS + 1,
            &mut p.rng,
        )
        .unwrap_err();
    assert!(matches!(aged, SessionError::Duplicate { .. }));
}

#[test]
fn too_far_ahead_is_refused() {
    let mut p = pair(6);
    let m = p.alice_sends(b"a");
    p.bob_receives(&m).unwrap();
    let r = p.bob_sends(b"b");
    p.alice_receives(&r).unwrap();
    let mut last = None;
    for _ in 0..=kms_core::signal::ratchet::MAX_FORWARD_JUMPS + 1 {
        last = Some(p.alice_sends(b"."));
    }
    assert!(matches!(
        p.bob_receives(&last.unwrap()),
        Err(SessionError::TooFarAhead { .. })
    ));
}

#[test]
fn record_encoding_is_versioned_and_strict() {
    let p = pair(7);
    let bytes = p.alice.encode();
    assert_eq!(bytes[0], 1);
    let mut wrong = bytes.to_vec();
    wrong[0] = 2;
    assert_eq!(
        SessionRecord::decode(&wrong).unwrap_err(),
        RecordError::Version {
            expected: 1,
            got: 2
        }
    );
    assert!(SessionRecord::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut extra = bytes.to_vec();
    extra.extend_from_slice(&[0x18, 0x01]);
    assert!(SessionRecord::decode(&extra).is_err());
    assert_eq!(SessionRecord::decode(&bytes).unwrap().encode(), bytes);
    assert_eq!(SessionRecord::new().encode().as_slice(), &[1]);
}

#[test]
fn debug_shows_no_secrets() {
    let mut p = pair(8);
    let m = p.alice_sends(b"a");
    p.bob_receives(&m).unwrap();
    let d = format!("{:?}", p.bob);
    assert!(d.contains("<redacted>"), "{d}");
    let bytes = p.bob.encode();
    // No 16-byte run of the record (which holds every secret) shows up in hex.
    for start in (0..bytes.len() - 16).step_by(7) {
        let window = &bytes[start..start + 16];
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!d.contains(&hex), "hex of record bytes {start} in {d}");
    }
}

/// Timing, not a check: `cargo test --release -p kms-core --test signal_session -- --ignored
/// --nocapture timing`.
#[test]
#[ignore = "timing only"]
fn timing() {
    let mut p = pair(99);
    let m = p.alice_sends(b"a");
    p.bob_receives(&m).unwrap();
    let r = p.bob_sends(b"b");
    p.alice_receives(&r).unwrap();
    let n = 2000u32;
    let trust = Trust::first_use();
    let text = [0x42u8; 100];
    let start = std::time::Instant::now();
    let mut msgs = Vec::new();
    for _ in 0..n {
        let out = p
            .alice
            .encrypt(&text, &alice_addr(), &bob_addr(), &trust, NOW, &mut p.rng)
            .unwrap();
        p.alice = out.record;
        msgs.push(SignalMessage::parse(out.message.as_bytes()).unwrap());
    }
    let enc = start.elapsed();
    let start = std::time::Instant::now();
    for m in &msgs {
        let out = p
            .bob
            .decrypt(m, &bob_addr(), &alice_addr(), &trust, NOW, &mut p.rng)
            .unwrap();
        p.bob = out.record;
    }
    let dec = start.elapsed();
    let start = std::time::Instant::now();
    for _ in 0..200 {
        let bytes = p.bob.encode();
        p.bob = SessionRecord::decode(&bytes).unwrap();
    }
    let codec = start.elapsed();
    println!(
        "encrypt {:.1} µs, decrypt {:.1} µs (100-byte messages, in order), record encode+decode {:.1} µs ({} bytes)",
        enc.as_secs_f64() * 1e6 / f64::from(n),
        dec.as_secs_f64() * 1e6 / f64::from(n),
        codec.as_secs_f64() * 1e6 / 200.0,
        p.bob.encode().len()
    );
}
