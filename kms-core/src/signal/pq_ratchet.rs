//! libsignal's post-quantum ratchet (SPQR, "Sparse Post-Quantum Ratchet", protocol version
//! V1) as a passive participant: its message framing and its symmetric key chain, without
//! ever starting a KEM epoch.
//!
//! libsignal (from v0.92.0, "Force use of SPQR v1 for all newly initiated sessions") refuses
//! sessions whose messages carry no V1 `pq_ratchet` field, and mixes a per-message key from
//! this chain into every message key (as the HKDF salt, see [`super::ratchet`]). The chain
//! starts from the third 32 bytes of the PQXDH output, so until an epoch completes its keys
//! are a symmetric ratchet over a post-quantum secret.
//!
//! SPQR's braid moves an ML-KEM-768 key and ciphertext between the parties in 32-byte chunks
//! to start new epochs. We never send a chunk: as the initiator ("A") and as the responder
//! ("B") we send the `None` payload in epoch 1, which libsignal's state machine accepts in
//! every state, and we ignore the header and key chunks libsignal sends. Neither side's epoch
//! ever passes 1, so every key comes from epoch 0's chain. The session keeps PQXDH's
//! post-quantum protection of its start; it does not gain SPQR's post-quantum healing. This is
//! recorded in `docs/decisions.md`.
//!
//! Framing (libsignal `spqr` `v1/chunked/states/serialize.rs`): `0x01 ‖ varint(epoch) ‖
//! varint(index) ‖ type (1 byte) [‖ varint(chunk index) ‖ 32 bytes]`, trailing bytes allowed.
//! Chain (`spqr` `chain.rs`):
//!
//! ```text
//! start  = HKDF-SHA-256(salt = 32 × 0x00, ikm = PQXDH bytes 64..96,
//!                       info = "Signal PQ Ratchet V1 Chain  Start", L = 96)
//!          → next root (unused here) ‖ A→B chain ‖ B→A chain
//! next_i = HKDF-SHA-256(salt = 32 × 0x00, ikm = chain, info = BE32(i) ‖ "Signal PQ Ratchet
//!                       V1 Chain Next", L = 64) → new chain ‖ key i      (i = 1, 2, …)
//! ```

use super::ratchet::hkdf;
use super::session::SessionError;
use crate::secret::Secret32;

/// The SPQR protocol version we speak.
pub const VERSION_V1: u8 = 1;
/// `spqr` `chain.rs` start label (two spaces before "Start", as libsignal has it).
const INFO_CHAIN_START: &[u8] = b"Signal PQ Ratchet V1 Chain  Start";
/// `spqr` `chain.rs` per-key label, after the 4-byte big-endian counter.
const INFO_CHAIN_NEXT: &[u8] = b"Signal PQ Ratchet V1 Chain Next";
/// `spqr` default `max_jump` (libsignal passes `MAX_FORWARD_JUMPS`).
pub const MAX_JUMP: u32 = 25_000;
/// `spqr` default `max_ooo_keys` (libsignal passes `MAX_MESSAGE_KEYS`): older keys are trimmed.
pub const MAX_OUT_OF_ORDER: u32 = 2_000;
/// `spqr` trims the key history once it holds this many keys.
const TRIM_SIZE: usize = MAX_OUT_OF_ORDER as usize * 11 / 10 + 1;
/// The only epoch a passive participant ever sends or accepts.
const EPOCH: u64 = 1;
/// `spqr` message types: the highest value, and those followed by a chunk.
const MAX_MESSAGE_TYPE: u8 = 6;
const TYPE_NONE: u8 = 0;

/// Which way a chain runs: the initiator is `A`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// We started the session.
    A2B,
    /// The peer started the session.
    B2A,
}

/// One direction of epoch 0's chain.
#[derive(Clone)]
pub(crate) struct Half {
    pub(crate) ctr: u32,
    pub(crate) next: Secret32,
    /// Keys skipped over, by index.
    pub(crate) prev: Vec<(u32, Secret32)>,
}

impl Half {
    fn new(key: &[u8]) -> Result<Self, SessionError> {
        Ok(Self {
            ctr: 0,
            next: Secret32::from_slice(key).map_err(|_| SessionError::PqRatchet("chain key"))?,
            prev: Vec::new(),
        })
    }

    fn step(&mut self) -> Result<(u32, Secret32), SessionError> {
        let ctr = self
            .ctr
            .checked_add(1)
            .ok_or(SessionError::PqRatchet("chain counter overflow"))?;
        let mut info = Vec::with_capacity(4 + INFO_CHAIN_NEXT.len());
        info.extend_from_slice(&ctr.to_be_bytes());
        info.extend_from_slice(INFO_CHAIN_NEXT);
        let okm = hkdf::<64>(Some(&[0u8; 32]), self.next.expose(), &info);
        self.next = Secret32::from_slice(&okm[..32]).map_err(|_| SessionError::PqRatchet("kdf"))?;
        self.ctr = ctr;
        let key = Secret32::from_slice(&okm[32..]).map_err(|_| SessionError::PqRatchet("kdf"))?;
        Ok((ctr, key))
    }

    /// `spqr` `ChainEpochDirection::key`: the key for index `at`, keeping skipped ones.
    fn key(&mut self, at: u32) -> Result<Secret32, SessionError> {
        if at == self.ctr {
            return Err(SessionError::Duplicate { counter: at });
        }
        if at < self.ctr {
            if u64::from(at) + u64::from(MAX_OUT_OF_ORDER) < u64::from(self.ctr) {
                return Err(SessionError::Duplicate { counter: at });
            }
            let pos = self
                .prev
                .iter()
                .position(|(i, _)| *i == at)
                .ok_or(SessionError::Duplicate { counter: at })?;
            return Ok(self.prev.swap_remove(pos).1);
        }
        if at - self.ctr > MAX_JUMP {
            return Err(SessionError::TooFarAhead {
                jump: at - self.ctr,
                max: MAX_JUMP,
            });
        }
        if u64::from(at) > u64::from(self.ctr) + u64::from(MAX_OUT_OF_ORDER) {
            self.prev.clear();
        }
        while at > self.ctr + 1 {
            let (i, k) = self.step()?;
            if u64::from(i) + u64::from(MAX_OUT_OF_ORDER) >= u64::from(at) {
                self.prev.push((i, k));
            }
        }
        if self.prev.len() >= TRIM_SIZE {
            let horizon = self.ctr.saturating_sub(MAX_OUT_OF_ORDER);
            self.prev.retain(|(i, _)| *i >= horizon);
        }
        Ok(self.step()?.1)
    }
}

/// The PQ ratchet state of one session.
#[derive(Clone)]
pub(crate) struct PqRatchet {
    pub(crate) direction: Direction,
    pub(crate) send: Half,
    pub(crate) recv: Half,
}

impl PqRatchet {
    /// `spqr` `Chain::new` from the PQXDH output's PQ ratchet key.
    pub(crate) fn new(auth_key: &Secret32, direction: Direction) -> Result<Self, SessionError> {
        let okm = hkdf::<96>(Some(&[0u8; 32]), auth_key.expose(), INFO_CHAIN_START);
        let (a2b, b2a) = (&okm[32..64], &okm[64..96]);
        let (send, recv) = match direction {
            Direction::A2B => (a2b, b2a),
            Direction::B2A => (b2a, a2b),
        };
        Ok(Self {
            direction,
            send: Half::new(send)?,
            recv: Half::new(recv)?,
        })
    }

    /// The `pq_ratchet` field of our next message and the key to mix into its message keys.
    pub(crate) fn send(&mut self) -> Result<(Vec<u8>, Secret32), SessionError> {
        let (index, key) = self.send.step()?;
        let mut msg = vec![VERSION_V1];
        super::proto::put_varint(&mut msg, EPOCH);
        super::proto::put_varint(&mut msg, u64::from(index));
        msg.push(TYPE_NONE);
        Ok((msg, key))
    }

    /// Reads the peer's `pq_ratchet` field and returns the key of its message, if any.
    ///
    /// # Errors
    /// [`SessionError::PqRatchet`] for a missing (pre-SPQR) or malformed field or an epoch
    /// other than 1; [`SessionError::Duplicate`] or [`SessionError::TooFarAhead`] for an
    /// index the chain refuses.
    pub(crate) fn recv(&mut self, msg: &[u8]) -> Result<Option<Secret32>, SessionError> {
        let Some(&version) = msg.first() else {
            // libsignal: `min_version: V1`, "Require that all clients speak SPQR".
            return Err(SessionError::PqRatchet("peer sent no post-quantum ratchet"));
        };
        match version {
            VERSION_V1 => {}
            0 => return Err(SessionError::PqRatchet("peer offers version 0")),
            // A version above ours is ignored: spqr keeps its state and gives no key.
            _ => return Ok(None),
        }
        let (epoch, index) = parse_v1(msg)?;
        if epoch != EPOCH {
            return Err(SessionError::PqRatchet("epoch out of range"));
        }
        if index == 0 {
            // spqr: epoch 0, index 0 means "no key" (a peer still negotiating down).
            return Ok(None);
        }
        self.recv.key(index).map(Some)
    }
}

/// Parses a V1 message far enough to check it: `(epoch, index)`.
fn parse_v1(msg: &[u8]) -> Result<(u64, u32), SessionError> {
    let bad = |_| SessionError::PqRatchet("malformed message");
    let mut at = 1;
    let epoch = super::proto::get_varint(msg, &mut at).map_err(bad)?;
    if epoch == 0 {
        return Err(SessionError::PqRatchet("malformed message"));
    }
    let index = super::proto::get_varint(msg, &mut at).map_err(bad)?;
    let index = u32::try_from(index).map_err(|_| SessionError::PqRatchet("malformed message"))?;
    let kind = *msg
        .get(at)
        .ok_or(SessionError::PqRatchet("malformed message"))?;
    at += 1;
    match kind {
        // None and Ct1Ack carry no chunk.
        0 | 4 => {}
        1..=MAX_MESSAGE_TYPE => {
            let chunk = super::proto::get_varint(msg, &mut at).map_err(bad)?;
            if chunk > 0xFFFF || msg.len() < at + 32 {
                return Err(SessionError::PqRatchet("malformed message"));
            }
        }
        _ => return Err(SessionError::PqRatchet("malformed message")),
    }
    Ok((epoch, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (PqRatchet, PqRatchet) {
        let k = Secret32::from_bytes([41; 32]);
        (
            PqRatchet::new(&k, Direction::A2B).unwrap(),
            PqRatchet::new(&k, Direction::B2A).unwrap(),
        )
    }

    #[test]
    fn keys_agree_in_and_out_of_order_once() {
        let (mut a, mut b) = pair();
        let sent: Vec<_> = (0..50).map(|_| a.send().unwrap()).collect();
        assert_eq!(&sent[0].0, &[1, 1, 1, 0]);
        for i in [3usize, 0, 49, 10, 1, 2] {
            let key = b.recv(&sent[i].0).unwrap().unwrap();
            assert_eq!(key, sent[i].1, "message {i}");
            assert!(matches!(
                b.recv(&sent[i].0),
                Err(SessionError::Duplicate { .. })
            ));
        }
        let (m, k) = b.send().unwrap();
        assert_eq!(a.recv(&m).unwrap().unwrap(), k);
    }

    #[test]
    fn refuses_v0_bad_epochs_and_jumps() {
        let (_, mut b) = pair();
        assert!(matches!(b.recv(&[]), Err(SessionError::PqRatchet(_))));
        assert!(matches!(b.recv(&[0]), Err(SessionError::PqRatchet(_))));
        assert!(b.recv(&[2, 9, 9]).unwrap().is_none());
        assert!(matches!(
            b.recv(&[1, 2, 1, 0]),
            Err(SessionError::PqRatchet(_))
        ));
        assert!(matches!(
            b.recv(&[1, 1, 1]),
            Err(SessionError::PqRatchet(_))
        ));
        assert!(matches!(
            b.recv(&[1, 1, 1, 1, 0]),
            Err(SessionError::PqRatchet(_))
        ));
        let mut far = vec![1, 1];
        super::super::proto::put_varint(&mut far, u64::from(MAX_JUMP) + 1);
        far.push(0);
        assert!(matches!(
            b.recv(&far),
            Err(SessionError::TooFarAhead { .. })
        ));
        // A header chunk (type 1) is read past and ignored.
        let mut hdr = vec![1, 1, 1, 1, 0];
        hdr.extend_from_slice(&[0xAB; 32]);
        assert!(b.recv(&hdr).unwrap().is_some());
    }
}
