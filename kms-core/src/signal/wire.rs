//! libsignal's two session messages on the wire: `SignalMessage` (message type 2,
//! "Whisper") and `PreKeySignalMessage` (type 3), as `rust/protocol/src/protocol.rs` and
//! `proto/wire.proto` in libsignal define them.
//!
//! ```text
//! SignalMessage       = version ‖ protobuf SignalMessage ‖ MAC (8 bytes)
//! PreKeySignalMessage = version ‖ protobuf PreKeySignalMessage
//! version             = (message version << 4) | current version = 0x44
//! MAC                 = HMAC-SHA-256(mac key, sender identity ‖ receiver identity
//!                                    ‖ version ‖ protobuf)[0..8]      (identities 0x05 ‖ u)
//! ```
//!
//! ```text
//! message SignalMessage {            message PreKeySignalMessage {
//!   bytes  ratchet_key      = 1;       uint32 pre_key_id        = 1;
//!   uint32 counter          = 2;       bytes  base_key          = 2;
//!   uint32 previous_counter = 3;       bytes  identity_key      = 3;
//!   bytes  ciphertext       = 4;       bytes  message           = 4;  // a SignalMessage
//!   bytes  pq_ratchet       = 5;       uint32 registration_id   = 5;
//!   bytes  addresses        = 6;       uint32 signed_pre_key_id = 6;
//! }                                    uint32 kyber_pre_key_id  = 7;
//!                                      bytes  kyber_ciphertext  = 8;
//!                                    }
//! ```
//!
//! The protobuf is written by hand (fields in tag order, as prost writes them) rather than
//! with a protobuf crate; `docs/decisions.md` records why. Unknown fields are ignored on
//! reading, as prost does: the MAC covers them.

use core::fmt;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::identity::PublicKey;
use super::proto::{ProtoError, Reader, Writer};
use super::session::{Address, SessionError};

/// The message version this crate writes and reads (PQXDH sessions).
pub const MESSAGE_VERSION: u8 = 4;
/// libsignal's X3DH (pre-Kyber) version, refused.
pub const PRE_KYBER_VERSION: u8 = 3;
/// Length of the truncated HMAC-SHA-256 at the end of a `SignalMessage`.
pub const MAC_LENGTH: usize = 8;
/// libsignal `CiphertextMessageType::Whisper`.
pub const WHISPER_TYPE: u8 = 2;
/// libsignal `CiphertextMessageType::PreKey`.
pub const PRE_KEY_TYPE: u8 = 3;

fn malformed(e: ProtoError) -> SessionError {
    SessionError::InvalidMessage(e.0)
}

fn version_byte() -> u8 {
    (MESSAGE_VERSION << 4) | MESSAGE_VERSION
}

fn check_version(first: u8) -> Result<u8, SessionError> {
    let version = first >> 4;
    if version < PRE_KYBER_VERSION {
        return Err(SessionError::LegacyVersion { got: version });
    }
    if version > MESSAGE_VERSION {
        return Err(SessionError::UnknownVersion { got: version });
    }
    Ok(version)
}

/// A `SignalMessage`: one Double Ratchet message.
#[derive(Clone, PartialEq, Eq)]
pub struct SignalMessage {
    version: u8,
    ratchet_key: PublicKey,
    counter: u32,
    previous_counter: u32,
    ciphertext: Vec<u8>,
    pq_ratchet: Vec<u8>,
    addresses: Option<Vec<u8>>,
    serialized: Vec<u8>,
}

impl SignalMessage {
    /// Parses a serialized `SignalMessage` (no MAC check: that needs the session's keys).
    ///
    /// # Errors
    /// [`SessionError::InvalidMessage`] for a message too short or with a malformed or
    /// missing field; [`SessionError::LegacyVersion`] / [`SessionError::UnknownVersion`] for
    /// a version other than 3 or 4.
    pub fn parse(bytes: &[u8]) -> Result<Self, SessionError> {
        if bytes.len() < MAC_LENGTH + 1 {
            return Err(SessionError::InvalidMessage("message too short"));
        }
        let version = check_version(bytes[0])?;
        let body = &bytes[1..bytes.len() - MAC_LENGTH];
        let (mut ratchet_key, mut counter, mut previous_counter) = (None, None, 0);
        let (mut ciphertext, mut pq_ratchet, mut addresses) = (None, Vec::new(), None);
        for field in Reader::new(body) {
            let (no, v) = field.map_err(malformed)?;
            match no {
                1 => ratchet_key = Some(v.bytes("ratchet_key").map_err(malformed)?),
                2 => counter = Some(v.u32("counter").map_err(malformed)?),
                3 => previous_counter = v.u32("previous_counter").map_err(malformed)?,
                4 => ciphertext = Some(v.bytes("ciphertext").map_err(malformed)?.to_vec()),
                5 => pq_ratchet = v.bytes("pq_ratchet").map_err(malformed)?.to_vec(),
                6 => addresses = Some(v.bytes("addresses").map_err(malformed)?.to_vec()),
                _ => {}
            }
        }
        let ratchet_key = ratchet_key.ok_or(SessionError::InvalidMessage("missing ratchet_key"))?;
        Ok(Self {
            version,
            ratchet_key: PublicKey::deserialize(ratchet_key)?,
            counter: counter.ok_or(SessionError::InvalidMessage("missing counter"))?,
            previous_counter,
            ciphertext: ciphertext.ok_or(SessionError::InvalidMessage("missing ciphertext"))?,
            pq_ratchet,
            addresses,
            serialized: bytes.to_vec(),
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the message's fields, as libsignal's"
    )]
    pub(crate) fn build(
        mac_key: &[u8; 32],
        sender_identity: &PublicKey,
        receiver_identity: &PublicKey,
        ratchet_key: PublicKey,
        counter: u32,
        previous_counter: u32,
        ciphertext: Vec<u8>,
        pq_ratchet: Vec<u8>,
        addresses: Option<Vec<u8>>,
    ) -> Self {
        let mut w = Writer::new();
        w.bytes(1, &ratchet_key.serialize())
            .uint(2, u64::from(counter))
            .uint(3, u64::from(previous_counter))
            .bytes(4, &ciphertext);
        if !pq_ratchet.is_empty() {
            w.bytes(5, &pq_ratchet);
        }
        if let Some(a) = &addresses {
            w.bytes(6, a);
        }
        let body = w.finish();
        let mut serialized = Vec::with_capacity(1 + body.len() + MAC_LENGTH);
        serialized.push(version_byte());
        serialized.extend_from_slice(&body);
        let mac = compute_mac(mac_key, sender_identity, receiver_identity, &serialized);
        serialized.extend_from_slice(&mac);
        Self {
            version: MESSAGE_VERSION,
            ratchet_key,
            counter,
            previous_counter,
            ciphertext,
            pq_ratchet,
            addresses,
            serialized,
        }
    }

    /// Checks the MAC in constant time, then the sender and recipient addresses when the
    /// message carries them (libsignal `verify_mac_with_addresses`).
    pub(crate) fn verify(
        &self,
        mac_key: &[u8; 32],
        sender_identity: &PublicKey,
        receiver_identity: &PublicKey,
        sender: &Address,
        recipient: &Address,
    ) -> bool {
        let (content, theirs) = self.serialized.split_at(self.serialized.len() - MAC_LENGTH);
        let ours = compute_mac(mac_key, sender_identity, receiver_identity, content);
        if !bool::from(ours.ct_eq(theirs)) {
            return false;
        }
        match &self.addresses {
            None => true,
            Some(theirs) => match encode_addresses(sender, recipient) {
                Some(expected) => expected.ct_eq(theirs).into(),
                None => false,
            },
        }
    }

    /// The message version (4).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The sender's current ratchet public key.
    pub fn ratchet_key(&self) -> &PublicKey {
        &self.ratchet_key
    }

    /// The message's number in its sending chain.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// The length of the sender's previous sending chain (libsignal: its last index).
    pub fn previous_counter(&self) -> u32 {
        self.previous_counter
    }

    /// The AES-256-CBC ciphertext.
    pub fn body(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The SPQR message carried in the `pq_ratchet` field.
    pub fn pq_ratchet(&self) -> &[u8] {
        &self.pq_ratchet
    }

    /// The serialized message, MAC included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.serialized
    }
}

impl fmt::Debug for SignalMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalMessage")
            .field("version", &self.version)
            .field("ratchet_key", &self.ratchet_key)
            .field("counter", &self.counter)
            .field("previous_counter", &self.previous_counter)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("pq_ratchet_len", &self.pq_ratchet.len())
            .field("has_addresses", &self.addresses.is_some())
            .finish()
    }
}

fn compute_mac(
    mac_key: &[u8; 32],
    sender_identity: &PublicKey,
    receiver_identity: &PublicKey,
    content: &[u8],
) -> [u8; MAC_LENGTH] {
    let mut mac = match Hmac::<Sha256>::new_from_slice(mac_key) {
        Ok(mac) => mac,
        // HMAC takes keys of every length; an empty MAC never verifies.
        Err(_) => return [0; MAC_LENGTH],
    };
    mac.update(&sender_identity.serialize());
    mac.update(&receiver_identity.serialize());
    mac.update(content);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LENGTH];
    out.copy_from_slice(&full[..MAC_LENGTH]);
    out
}

/// libsignal `SignalMessage::serialize_addresses`: both addresses as
/// `service id (kind byte ‖ 16-byte UUID) ‖ device id (1 byte)`, or `None` unless both names
/// are service ids (`<uuid>` for an ACI, `PNI:<uuid>`) and both device ids fit a byte.
pub(crate) fn encode_addresses(sender: &Address, recipient: &Address) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(36);
    for a in [sender, recipient] {
        let (kind, uuid) = match a.name.strip_prefix("PNI:") {
            Some(rest) => (1u8, parse_uuid(rest)?),
            None => (0u8, parse_uuid(&a.name)?),
        };
        out.push(kind);
        out.extend_from_slice(&uuid);
        out.push(u8::try_from(a.device_id).ok()?);
    }
    Some(out)
}

/// A hyphenated UUID (`8-4-4-4-12` hex digits, either case).
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let digits: Vec<u8> = b
        .iter()
        .enumerate()
        .filter(|(i, _)| ![8, 13, 18, 23].contains(i))
        .map(|(_, c)| (*c as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (digits[2 * i] << 4) | digits[2 * i + 1];
    }
    Some(out)
}

/// A `PreKeySignalMessage`: the first messages of a session, carrying the PQXDH values.
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeySignalMessage {
    version: u8,
    registration_id: u32,
    pre_key_id: Option<u32>,
    signed_pre_key_id: u32,
    kyber_pre_key_id: u32,
    kyber_ciphertext: Vec<u8>,
    base_key: PublicKey,
    identity_key: PublicKey,
    message: SignalMessage,
    serialized: Vec<u8>,
}

impl PreKeySignalMessage {
    /// Parses a serialized `PreKeySignalMessage`, including the `SignalMessage` inside.
    ///
    /// # Errors
    /// As [`SignalMessage::parse`]; [`SessionError::InvalidMessage`] also when the Kyber
    /// prekey id or ciphertext is missing (libsignal requires both for version 4).
    pub fn parse(bytes: &[u8]) -> Result<Self, SessionError> {
        let first = *bytes
            .first()
            .ok_or(SessionError::InvalidMessage("message too short"))?;
        let version = check_version(first)?;
        if version != MESSAGE_VERSION {
            // libsignal: "X3DH no longer supported".
            return Err(SessionError::LegacyVersion { got: version });
        }
        let (mut registration_id, mut pre_key_id, mut signed_pre_key_id) = (0, None, None);
        let (mut kyber_pre_key_id, mut kyber_ciphertext) = (None, None);
        let (mut base_key, mut identity_key, mut message) = (None, None, None);
        for field in Reader::new(&bytes[1..]) {
            let (no, v) = field.map_err(malformed)?;
            match no {
                1 => pre_key_id = Some(v.u32("pre_key_id").map_err(malformed)?),
                2 => base_key = Some(v.bytes("base_key").map_err(malformed)?),
                3 => identity_key = Some(v.bytes("identity_key").map_err(malformed)?),
                4 => message = Some(v.bytes("message").map_err(malformed)?),
                5 => registration_id = v.u32("registration_id").map_err(malformed)?,
                6 => signed_pre_key_id = Some(v.u32("signed_pre_key_id").map_err(malformed)?),
                7 => kyber_pre_key_id = Some(v.u32("kyber_pre_key_id").map_err(malformed)?),
                8 => kyber_ciphertext = Some(v.bytes("kyber_ciphertext").map_err(malformed)?),
                _ => {}
            }
        }
        let missing = SessionError::InvalidMessage;
        Ok(Self {
            version,
            registration_id,
            pre_key_id,
            signed_pre_key_id: signed_pre_key_id.ok_or(missing("missing signed_pre_key_id"))?,
            kyber_pre_key_id: kyber_pre_key_id.ok_or(missing("missing kyber_pre_key_id"))?,
            kyber_ciphertext: kyber_ciphertext
                .ok_or(missing("missing kyber_ciphertext"))?
                .to_vec(),
            base_key: PublicKey::deserialize(base_key.ok_or(missing("missing base_key"))?)?,
            identity_key: PublicKey::deserialize(
                identity_key.ok_or(missing("missing identity_key"))?,
            )?,
            message: SignalMessage::parse(message.ok_or(missing("missing message"))?)?,
            serialized: bytes.to_vec(),
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the message's fields, as libsignal's"
    )]
    pub(crate) fn build(
        registration_id: u32,
        pre_key_id: Option<u32>,
        signed_pre_key_id: u32,
        kyber_pre_key_id: u32,
        kyber_ciphertext: Vec<u8>,
        base_key: PublicKey,
        identity_key: PublicKey,
        message: SignalMessage,
    ) -> Self {
        let mut w = Writer::new();
        if let Some(id) = pre_key_id {
            w.uint(1, u64::from(id));
        }
        w.bytes(2, &base_key.serialize())
            .bytes(3, &identity_key.serialize())
            .bytes(4, message.as_bytes())
            .uint(5, u64::from(registration_id))
            .uint(6, u64::from(signed_pre_key_id))
            .uint(7, u64::from(kyber_pre_key_id))
            .bytes(8, &kyber_ciphertext);
        let body = w.finish();
        let mut serialized = Vec::with_capacity(1 + body.len());
        serialized.push(version_byte());
        serialized.extend_from_slice(&body);
        Self {
            version: MESSAGE_VERSION,
            registration_id,
            pre_key_id,
            signed_pre_key_id,
            kyber_pre_key_id,
            kyber_ciphertext,
            base_key,
            identity_key,
            message,
            serialized,
        }
    }

    /// The message version (4).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The sender's registration id.
    pub fn registration_id(&self) -> u32 {
        self.registration_id
    }

    /// Id of our one-time prekey the sender used, if any.
    pub fn pre_key_id(&self) -> Option<u32> {
        self.pre_key_id
    }

    /// Id of our signed prekey the sender used.
    pub fn signed_pre_key_id(&self) -> u32 {
        self.signed_pre_key_id
    }

    /// Id of our Kyber prekey the sender used.
    pub fn kyber_pre_key_id(&self) -> u32 {
        self.kyber_pre_key_id
    }

    /// The serialized KEM ciphertext (`type byte ‖ ct`).
    pub fn kyber_ciphertext(&self) -> &[u8] {
        &self.kyber_ciphertext
    }

    /// The sender's ephemeral key `EK_A` ("base key").
    pub fn base_key(&self) -> &PublicKey {
        &self.base_key
    }

    /// The sender's identity key `IK_A`.
    pub fn identity_key(&self) -> &PublicKey {
        &self.identity_key
    }

    /// The `SignalMessage` inside.
    pub fn message(&self) -> &SignalMessage {
        &self.message
    }

    /// The serialized message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.serialized
    }
}

impl fmt::Debug for PreKeySignalMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreKeySignalMessage")
            .field("registration_id", &self.registration_id)
            .field("pre_key_id", &self.pre_key_id)
            .field("signed_pre_key_id", &self.signed_pre_key_id)
            .field("kyber_pre_key_id", &self.kyber_pre_key_id)
            .field("base_key", &self.base_key)
            .field("identity_key", &self.identity_key)
            .field("message", &self.message)
            .finish()
    }
}

/// An outgoing message and its libsignal type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiphertextMessage {
    /// A `SignalMessage` (type 2).
    Whisper(SignalMessage),
    /// A `PreKeySignalMessage` (type 3), sent until the peer's first reply arrives.
    PreKey(PreKeySignalMessage),
}

impl CiphertextMessage {
    /// libsignal's `CiphertextMessageType` value: 2 or 3.
    pub fn message_type(&self) -> u8 {
        match self {
            Self::Whisper(_) => WHISPER_TYPE,
            Self::PreKey(_) => PRE_KEY_TYPE,
        }
    }

    /// The serialized message.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Whisper(m) => m.as_bytes(),
            Self::PreKey(m) => m.as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::identity::KeyPair;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn round_trip_and_mac() {
        let mut rng = StdRng::seed_from_u64(3);
        let (a, b, r) = (
            KeyPair::generate(&mut rng).public_key(),
            KeyPair::generate(&mut rng).public_key(),
            KeyPair::generate(&mut rng).public_key(),
        );
        let key = [5u8; 32];
        let m = SignalMessage::build(&key, &a, &b, r, 7, 3, vec![1; 32], vec![1, 1, 8, 0], None);
        assert_eq!(m.as_bytes()[0], 0x44);
        let p = SignalMessage::parse(m.as_bytes()).unwrap();
        assert_eq!(p, m);
        let (x, y) = (Address::new("x", 1), Address::new("y", 1));
        assert!(p.verify(&key, &a, &b, &x, &y));
        assert!(!p.verify(&key, &b, &a, &x, &y));
        assert!(!p.verify(&[6; 32], &a, &b, &x, &y));
        let pre = PreKeySignalMessage::build(9, Some(1), 2, 3, vec![8; 10], r, a, m.clone());
        assert_eq!(PreKeySignalMessage::parse(pre.as_bytes()).unwrap(), pre);
        let cut = &pre.as_bytes()[..pre.as_bytes().len() - 3];
        assert!(PreKeySignalMessage::parse(cut).is_err());
        let mut v3 = m.as_bytes().to_vec();
        v3[0] = 0x33;
        assert_eq!(SignalMessage::parse(&v3).unwrap().version(), 3);
        v3[0] = 0x22;
        assert!(matches!(
            SignalMessage::parse(&v3),
            Err(SessionError::LegacyVersion { got: 2 })
        ));
        v3[0] = 0x55;
        assert!(matches!(
            SignalMessage::parse(&v3),
            Err(SessionError::UnknownVersion { got: 5 })
        ));
    }

    #[test]
    fn addresses_need_service_ids() {
        let aci = Address::new("9d0652a3-dcc3-4d11-975f-74d61598733f", 1);
        let pni = Address::new("PNI:9D0652A3-DCC3-4D11-975F-74D61598733F", 2);
        let enc = encode_addresses(&aci, &pni).unwrap();
        assert_eq!(enc.len(), 36);
        assert_eq!((enc[0], enc[17], enc[18], enc[35]), (0, 1, 1, 2));
        assert_eq!(enc[1], 0x9d);
        assert!(encode_addresses(&aci, &Address::new("bob", 1)).is_none());
        assert!(encode_addresses(&aci, &Address::new(&aci.name, 300)).is_none());
    }
}
