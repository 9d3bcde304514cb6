//! The Double Ratchet with libsignal's KDFs.
//!
//! Specification: "The Double Ratchet Algorithm", Trevor Perrin and Moxie Marlinspike,
//! revision 4, <https://signal.org/docs/specifications/doubleratchet/>, §2.2 (symmetric-key
//! ratchet), §2.3 (Diffie-Hellman ratchet), §2.6 (out-of-order messages), §3.5 (skipped
//! message keys) and §5.2 (recommended cryptographic algorithms), with libsignal's choices:
//!
//! ```text
//! KDF_RK(rk, dh)  = HKDF-SHA-256(salt = rk, ikm = dh, info = "WhisperRatchet", L = 64)
//!                   → new rk (32) ‖ chain key (32)
//! KDF_CK(ck)      = (HMAC-SHA-256(ck, 0x02) as the next chain key,
//!                    HMAC-SHA-256(ck, 0x01) as the message key seed)
//! message keys    = HKDF-SHA-256(salt = PQ ratchet key or none, ikm = seed,
//!                   info = "WhisperMessageKeys", L = 80)
//!                   → AES-256 key (32) ‖ HMAC key (32) ‖ CBC IV (16)
//! ENCRYPT         = AES-256-CBC with PKCS#7 padding
//! ```
//!
//! Bounds (libsignal's values, checked here): a receiving chain may jump at most
//! [`MAX_FORWARD_JUMPS`] messages ahead; each receiving chain keeps at most
//! [`MAX_MESSAGE_KEYS`] skipped keys (the oldest is dropped first); at most
//! [`MAX_RECEIVER_CHAINS`] receiving chains are kept (the oldest is dropped first). In
//! addition, a skipped key older than [`MAX_SKIPPED_KEY_AGE_MS`] is dropped.

use aes::Aes256;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit as _};
use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::SignalError;
use super::identity::{KeyPair, PublicKey};
use super::session::SessionError;
use crate::secret::Secret32;

/// libsignal `consts::MAX_FORWARD_JUMPS`: how far ahead of a receiving chain a message may be.
pub const MAX_FORWARD_JUMPS: u32 = 25_000;
/// libsignal `consts::MAX_MESSAGE_KEYS`: skipped message keys kept per receiving chain.
pub const MAX_MESSAGE_KEYS: usize = 2_000;
/// libsignal `consts::MAX_RECEIVER_CHAINS`: receiving chains kept per session.
pub const MAX_RECEIVER_CHAINS: usize = 5;
/// Our bound on the age of a skipped message key: 30 days (libsignal's
/// `MAX_UNACKNOWLEDGED_SESSION_AGE`). libsignal itself bounds skipped keys by count only.
pub const MAX_SKIPPED_KEY_AGE_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// Double Ratchet §5.2 `KDF_RK` info string (libsignal `RootKey::create_chain`).
const INFO_RATCHET: &[u8] = b"WhisperRatchet";
/// Double Ratchet §5.2 message key expansion info string (libsignal `MessageKeys`).
const INFO_MESSAGE_KEYS: &[u8] = b"WhisperMessageKeys";
/// `KDF_CK` constant for the message key seed.
const MESSAGE_KEY_SEED: u8 = 0x01;
/// `KDF_CK` constant for the next chain key.
const CHAIN_KEY_SEED: u8 = 0x02;

fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> Secret32 {
    // HMAC accepts keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac(),
    };
    mac.update(data);
    let out = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
    Secret32::from_bytes(*out)
}

#[allow(clippy::panic, reason = "HMAC-SHA-256 takes keys of every length")]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA-256 refused a 32-byte key")
}

/// HKDF-SHA-256 to a fixed-size, zeroizing output.
pub(crate) fn hkdf<const N: usize>(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
) -> Zeroizing<[u8; N]> {
    let mut okm = Zeroizing::new([0u8; N]);
    if Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut okm[..])
        .is_err()
    {
        unreachable_hkdf();
    }
    okm
}

#[allow(
    clippy::panic,
    reason = "every output length used here is at most 96 bytes"
)]
fn unreachable_hkdf() -> ! {
    panic!("HKDF-SHA-256 refused an output length below 255 * 32")
}

/// The root key `RK`.
#[derive(Clone)]
pub(crate) struct RootKey(pub(crate) Secret32);

impl RootKey {
    /// `KDF_RK(rk, DH(ours, theirs))`: the next root key and a fresh chain key.
    pub(crate) fn create_chain(
        &self,
        theirs: &PublicKey,
        ours: &KeyPair,
    ) -> Result<(RootKey, ChainKey), SignalError> {
        let dh = ours.agree(theirs)?;
        let okm = hkdf::<64>(Some(self.0.expose()), dh.expose(), INFO_RATCHET);
        let root = Secret32::from_slice(&okm[..32]).map_err(|_| SignalError::VerificationFailed)?;
        let chain =
            Secret32::from_slice(&okm[32..]).map_err(|_| SignalError::VerificationFailed)?;
        Ok((
            RootKey(root),
            ChainKey {
                key: chain,
                index: 0,
            },
        ))
    }
}

/// A sending or receiving chain key `CK` and the counter of the next message key it gives.
#[derive(Clone)]
pub(crate) struct ChainKey {
    pub(crate) key: Secret32,
    pub(crate) index: u32,
}

impl ChainKey {
    /// The message key seed `HMAC(CK, 0x01)` for message number `index`.
    pub(crate) fn message_seed(&self) -> Secret32 {
        hmac_sha256(self.key.expose(), &[MESSAGE_KEY_SEED])
    }

    /// The next chain key `HMAC(CK, 0x02)`.
    ///
    /// # Errors
    /// [`SessionError::TooFarAhead`] when the counter would pass `u32::MAX`.
    pub(crate) fn next(&self) -> Result<ChainKey, SessionError> {
        let index = self.index.checked_add(1).ok_or(SessionError::TooFarAhead {
            jump: u32::MAX,
            max: MAX_FORWARD_JUMPS,
        })?;
        Ok(ChainKey {
            key: hmac_sha256(self.key.expose(), &[CHAIN_KEY_SEED]),
            index,
        })
    }
}

/// The three keys of one message.
pub(crate) struct MessageKeys {
    pub(crate) cipher_key: Zeroizing<[u8; 32]>,
    pub(crate) mac_key: Zeroizing<[u8; 32]>,
    pub(crate) iv: Zeroizing<[u8; 16]>,
}

impl MessageKeys {
    /// Expands a message key seed, salted with the PQ ratchet's key when there is one.
    pub(crate) fn derive(seed: &Secret32, pq_key: Option<&Secret32>) -> Self {
        let okm = hkdf::<80>(
            pq_key.map(|k| &k.expose()[..]),
            seed.expose(),
            INFO_MESSAGE_KEYS,
        );
        let mut cipher_key = Zeroizing::new([0u8; 32]);
        let mut mac_key = Zeroizing::new([0u8; 32]);
        let mut iv = Zeroizing::new([0u8; 16]);
        cipher_key.copy_from_slice(&okm[..32]);
        mac_key.copy_from_slice(&okm[32..64]);
        iv.copy_from_slice(&okm[64..]);
        Self {
            cipher_key,
            mac_key,
            iv,
        }
    }
}

/// AES-256-CBC with PKCS#7 padding.
pub(crate) fn cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256::new(&Array::from(*key));
    let pad = 16 - plaintext.len() % 16;
    let mut out = Vec::with_capacity(plaintext.len() + pad);
    out.extend_from_slice(plaintext);
    out.resize(plaintext.len() + pad, pad as u8);
    let mut prev = *iv;
    for block in out.chunks_exact_mut(16) {
        for (b, p) in block.iter_mut().zip(prev.iter()) {
            *b ^= p;
        }
        let mut a = Array::from(<[u8; 16]>::try_from(&*block).unwrap_or([0; 16]));
        cipher.encrypt_block(&mut a);
        block.copy_from_slice(&a);
        prev.copy_from_slice(block);
    }
    out
}

/// AES-256-CBC decryption; `None` for a length that is not a positive multiple of 16 or bad
/// padding (reached only after the MAC verified, so a sender that encrypted garbage).
pub(crate) fn cbc_decrypt(
    key: &[u8; 32],
    iv: &[u8; 16],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return None;
    }
    let cipher = Aes256::new(&Array::from(*key));
    let mut out = Zeroizing::new(ciphertext.to_vec());
    let mut prev = *iv;
    for block in out.chunks_exact_mut(16) {
        let this: [u8; 16] = <[u8; 16]>::try_from(&*block).ok()?;
        let mut a = Array::from(this);
        cipher.decrypt_block(&mut a);
        for ((b, d), p) in block.iter_mut().zip(a.iter()).zip(prev.iter()) {
            *b = d ^ p;
        }
        prev = this;
    }
    let pad = usize::from(*out.last()?);
    if pad == 0
        || pad > 16
        || out[out.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return None;
    }
    let len = out.len() - pad;
    out.truncate(len);
    Some(out)
}

/// A skipped message key, kept as its seed (libsignal stores seeds too, so the PQ key can be
/// mixed in when the message arrives).
#[derive(Clone)]
pub(crate) struct SkippedKey {
    pub(crate) counter: u32,
    pub(crate) seed: Secret32,
    pub(crate) stored_ms: u64,
}

/// A receiving chain: the peer's ratchet public key, its chain key and its skipped keys
/// (newest first).
#[derive(Clone)]
pub(crate) struct ReceiverChain {
    pub(crate) ratchet_key: PublicKey,
    pub(crate) chain_key: ChainKey,
    pub(crate) skipped: Vec<SkippedKey>,
}

/// Our sending chain: our current ratchet key pair and chain key.
#[derive(Clone)]
pub(crate) struct SenderChain {
    pub(crate) ratchet: KeyPair,
    pub(crate) chain_key: ChainKey,
}

/// The Double Ratchet state of one session.
#[derive(Clone)]
pub(crate) struct DoubleRatchet {
    pub(crate) root: RootKey,
    pub(crate) sender: SenderChain,
    /// Oldest first.
    pub(crate) receivers: Vec<ReceiverChain>,
    pub(crate) previous_counter: u32,
}

impl DoubleRatchet {
    /// The message key seed and counter for our next message; advances the sending chain.
    pub(crate) fn next_send(&mut self) -> Result<(Secret32, u32), SessionError> {
        let seed = self.sender.chain_key.message_seed();
        let counter = self.sender.chain_key.index;
        self.sender.chain_key = self.sender.chain_key.next()?;
        Ok((seed, counter))
    }

    /// Double Ratchet §3.5 `RatchetDecrypt` up to the message key: finds or creates the
    /// receiving chain for `their_ratchet` (a DH ratchet step, §2.3) and takes the message
    /// key seed for `counter`, skipping (and keeping) the keys in between.
    ///
    /// Called on a copy of the state: an error leaves the caller's state as it was.
    ///
    /// # Errors
    /// [`SessionError::Duplicate`] for a counter whose key was used or dropped,
    /// [`SessionError::TooFarAhead`] for a jump over [`MAX_FORWARD_JUMPS`].
    pub(crate) fn receive<R: CryptoRng + ?Sized>(
        &mut self,
        their_ratchet: &PublicKey,
        counter: u32,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Secret32, SessionError> {
        let idx = match self
            .receivers
            .iter()
            .position(|c| c.ratchet_key == *their_ratchet)
        {
            Some(idx) => idx,
            None => self.dh_ratchet_step(their_ratchet, rng)?,
        };
        let chain = &mut self.receivers[idx];
        if counter < chain.chain_key.index {
            let pos = chain
                .skipped
                .iter()
                .position(|k| k.counter == counter)
                .ok_or(SessionError::Duplicate { counter })?;
            let key = chain.skipped.remove(pos);
            if now_ms.saturating_sub(key.stored_ms) > MAX_SKIPPED_KEY_AGE_MS {
                return Err(SessionError::Duplicate { counter });
            }
            return Ok(key.seed);
        }
        let jump = counter - chain.chain_key.index;
        if jump > MAX_FORWARD_JUMPS {
            return Err(SessionError::TooFarAhead {
                jump,
                max: MAX_FORWARD_JUMPS,
            });
        }
        while chain.chain_key.index < counter {
            chain.skipped.insert(
                0,
                SkippedKey {
                    counter: chain.chain_key.index,
                    seed: chain.chain_key.message_seed(),
                    stored_ms: now_ms,
                },
            );
            chain.skipped.truncate(MAX_MESSAGE_KEYS);
            chain.chain_key = chain.chain_key.next()?;
        }
        let seed = chain.chain_key.message_seed();
        chain.chain_key = chain.chain_key.next()?;
        Ok(seed)
    }

    /// Double Ratchet §2.3 / §3.5 `DHRatchet`, as libsignal orders it: a receiving chain
    /// from `DH(our current ratchet key, theirs)`, then a new ratchet key pair and a sending
    /// chain from `DH(new key, theirs)`. Returns the new receiving chain's position.
    fn dh_ratchet_step<R: CryptoRng + ?Sized>(
        &mut self,
        their_ratchet: &PublicKey,
        rng: &mut R,
    ) -> Result<usize, SessionError> {
        let (root, receiving) = self
            .root
            .create_chain(their_ratchet, &self.sender.ratchet)?;
        let ratchet = KeyPair::generate(rng);
        let (root, sending) = root.create_chain(their_ratchet, &ratchet)?;
        // libsignal records the index of the last message sent on the old chain.
        self.previous_counter = self.sender.chain_key.index.saturating_sub(1);
        self.root = root;
        self.receivers.push(ReceiverChain {
            ratchet_key: *their_ratchet,
            chain_key: receiving,
            skipped: Vec::new(),
        });
        if self.receivers.len() > MAX_RECEIVER_CHAINS {
            self.receivers.remove(0);
        }
        self.sender = SenderChain {
            ratchet,
            chain_key: sending,
        };
        Ok(self.receivers.len() - 1)
    }

    /// Drops skipped keys older than [`MAX_SKIPPED_KEY_AGE_MS`].
    pub(crate) fn prune(&mut self, now_ms: u64) {
        for chain in &mut self.receivers {
            chain
                .skipped
                .retain(|k| now_ms.saturating_sub(k.stored_ms) <= MAX_SKIPPED_KEY_AGE_MS);
        }
    }

    /// Number of skipped keys held (for `Debug` and tests).
    pub(crate) fn skipped_count(&self) -> usize {
        self.receivers.iter().map(|c| c.skipped.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// libsignal `ratchet/keys.rs` `test_chain_key_derivation`: the same seed gives the same
    /// message key, MAC key and next chain key (without a PQ key).
    #[test]
    fn libsignal_chain_key_vector() {
        let seed = unhex("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f");
        let ck = ChainKey {
            key: Secret32::from_slice(&seed).unwrap(),
            index: 0,
        };
        let keys = MessageKeys::derive(&ck.message_seed(), None);
        assert_eq!(
            hex(&keys.cipher_key[..]),
            "bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217"
        );
        assert_eq!(
            hex(&keys.mac_key[..]),
            "c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b"
        );
        let next = ck.next().unwrap();
        assert_eq!(
            hex(next.key.expose()),
            "28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d"
        );
        assert_eq!(next.index, 1);
    }

    #[test]
    fn cbc_round_trip_and_padding() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        for len in [0usize, 1, 15, 16, 17, 100] {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ct = cbc_encrypt(&key, &iv, &pt);
            assert_eq!(ct.len(), (len / 16 + 1) * 16);
            assert_eq!(&cbc_decrypt(&key, &iv, &ct).unwrap()[..], &pt[..]);
        }
        // FIPS 197 / SP 800-38A F.2.5 CBC-AES256.Encrypt, first block.
        let key: [u8; 32] =
            unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .try_into()
                .unwrap();
        let iv: [u8; 16] = unhex("000102030405060708090a0b0c0d0e0f")
            .try_into()
            .unwrap();
        let pt = unhex("6bc1bee22e409f96e93d7e117393172a");
        let ct = cbc_encrypt(&key, &iv, &pt);
        assert_eq!(hex(&ct[..16]), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
        assert!(cbc_decrypt(&key, &iv, &ct[..15]).is_none());
        assert!(cbc_decrypt(&key, &iv, &[]).is_none());
        let mut bad = ct.clone();
        bad[31] ^= 0x55;
        assert!(cbc_decrypt(&key, &iv, &bad).is_none());
    }
}
