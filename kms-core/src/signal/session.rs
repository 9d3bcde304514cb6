//! Signal sessions with one peer device: PQXDH to start, the Double Ratchet with libsignal's
//! post-quantum ratchet to run, and libsignal's session record behaviour around them.
//!
//! A [`SessionRecord`] holds the current session with one peer address and up to
//! [`ARCHIVED_SESSIONS_MAX`] archived ones, as libsignal's `SessionRecord` does:
//!
//! - [`SessionRecord::initiate`] starts a session from the peer's [`PreKeyBundle`]; until the
//!   peer answers, [`SessionRecord::encrypt`] sends `PreKeySignalMessage`s.
//! - [`SessionRecord::decrypt_pre_key`] answers an incoming `PreKeySignalMessage`: a new base
//!   key starts a new session and archives the current one; a known base key reuses its
//!   session (so a replayed first message is a duplicate, not a new session).
//! - [`SessionRecord::decrypt`] tries the current session, then the archived ones, and
//!   promotes an archived session that decrypts (libsignal's "Sesame" behaviour).
//! - Identity keys are checked against the host's [`Trust`]: a key other than the one the
//!   host knows is refused with [`SessionError::UntrustedIdentity`] unless the caller allows
//!   the change.
//!
//! Every operation takes `&self` and returns a new record on success: a message that fails
//! to decrypt changes nothing. The host stores the returned record (sealed like every key)
//! in the same transaction as its audit entry. Time arrives as `now_ms`, randomness as an
//! RNG; there is no I/O here.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::SignalError;
use super::bundle::PreKeyBundle;
use super::identity::{IdentityKeyPair, KeyPair, PublicKey};
use super::pq_ratchet::{Direction, Half, PqRatchet};
use super::prekeys::{KyberPreKey, OneTimePreKey, SignedPreKey};
use super::proto::{ProtoError, Reader, Value, Writer};
use super::ratchet::{
    ChainKey, DoubleRatchet, MessageKeys, ReceiverChain, RootKey, SenderChain, SkippedKey,
    cbc_decrypt, cbc_encrypt,
};
use super::wire::{CiphertextMessage, PreKeySignalMessage, SignalMessage, encode_addresses};
use super::{pqxdh, wire};
use crate::secret::Secret32;

/// libsignal `consts::ARCHIVED_STATES_MAX_LENGTH`: archived sessions kept per peer.
pub const ARCHIVED_SESSIONS_MAX: usize = 40;
/// libsignal `consts::MAX_UNACKNOWLEDGED_SESSION_AGE`: a session we started that the peer has
/// not answered within 30 days no longer sends.
pub const MAX_UNACKNOWLEDGED_SESSION_AGE_MS: u64 = 30 * 24 * 60 * 60 * 1000;
/// Version byte that starts an encoded [`SessionRecord`].
pub const RECORD_VERSION: u8 = 1;

/// Everything that can go wrong starting or running a session.
///
/// A message whose MAC does not verify under any session gives the single opaque
/// [`SessionError::BadMac`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A message could not be parsed.
    #[error("invalid message: {0}")]
    InvalidMessage(&'static str),
    /// A message of a version below 4 (X3DH sessions are no longer supported).
    #[error("unsupported message version: expected 4, got {got}")]
    LegacyVersion {
        /// The version found.
        got: u8,
    },
    /// A message of a version above 4.
    #[error("unknown message version: expected 4, got {got}")]
    UnknownVersion {
        /// The version found.
        got: u8,
    },
    /// There is no session to encrypt or decrypt with.
    #[error("no session with this peer")]
    NoSession,
    /// The session we started was never answered and is older than
    /// [`MAX_UNACKNOWLEDGED_SESSION_AGE_MS`]: fetch a new bundle.
    #[error("the unacknowledged session is older than 30 days")]
    StaleSession,
    /// The peer's identity key is not the one the host trusts for this address.
    #[error("untrusted identity key for this address")]
    UntrustedIdentity,
    /// The message's key was already used (a replay) or dropped under the skipped-key bounds.
    #[error("duplicate message: counter {counter} was already decrypted or its key was dropped")]
    Duplicate {
        /// The counter (or PQ ratchet index) of the message.
        counter: u32,
    },
    /// The message is further ahead of its chain than the bound allows.
    #[error("message too far ahead: expected a jump of at most {max}, got {jump}")]
    TooFarAhead {
        /// How far ahead it is.
        jump: u32,
        /// The bound.
        max: u32,
    },
    /// The message did not authenticate. Deliberately carries no detail.
    #[error("decryption failed")]
    BadMac,
    /// A prekey the message names was not supplied (it may have been used already).
    #[error("missing {what} prekey {id}")]
    MissingPreKey {
        /// Which kind of prekey.
        what: &'static str,
        /// The id the message names.
        id: u32,
    },
    /// The post-quantum ratchet refused the message.
    #[error("post-quantum ratchet: {0}")]
    PqRatchet(&'static str),
    /// A key or handshake check failed.
    #[error(transparent)]
    Signal(#[from] SignalError),
}

/// A saved [`SessionRecord`] that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record's version byte is not [`RECORD_VERSION`].
    #[error("session record version: expected {expected}, got {got}")]
    Version {
        /// The version this build reads.
        expected: u8,
        /// The version found (0 for an empty record).
        got: u8,
    },
    /// A field is missing, repeated where it must not be, or malformed.
    #[error("malformed session record: {0}")]
    Malformed(&'static str),
}

impl From<ProtoError> for RecordError {
    fn from(e: ProtoError) -> Self {
        RecordError::Malformed(e.0)
    }
}

/// A peer (or our own) address: account name and device id, as libsignal's
/// `ProtocolAddress`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// The account's name; a service id (`<uuid>` or `PNI:<uuid>`) on the Signal service.
    pub name: String,
    /// The device id.
    pub device_id: u32,
}

impl Address {
    /// An address from its parts.
    pub fn new(name: impl Into<String>, device_id: u32) -> Self {
        Self {
            name: name.into(),
            device_id,
        }
    }
}

/// What the host's identity store knows about the peer's identity key: libsignal's
/// `IdentityKeyStore::is_trusted_identity`, as a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trust {
    /// The identity key stored for the address, if any.
    pub known: Option<PublicKey>,
    /// Accept a key other than `known` (the user approved the new safety number).
    pub allow_change: bool,
}

impl Trust {
    /// No key is stored for the address: accept the first one seen.
    pub fn first_use() -> Self {
        Self {
            known: None,
            allow_change: false,
        }
    }

    /// `key` is stored for the address: refuse any other.
    pub fn known(key: PublicKey) -> Self {
        Self {
            known: Some(key),
            allow_change: false,
        }
    }

    /// `key` is stored, and the user accepts a change.
    pub fn allow_change(known: Option<PublicKey>) -> Self {
        Self {
            known,
            allow_change: true,
        }
    }

    fn check(&self, key: &PublicKey) -> Result<IdentityChange, SessionError> {
        match &self.known {
            None => Ok(IdentityChange::New),
            Some(k) if k == key => Ok(IdentityChange::Unchanged),
            Some(_) if self.allow_change => Ok(IdentityChange::Replaced),
            Some(_) => Err(SessionError::UntrustedIdentity),
        }
    }
}

/// What the host's identity store should record after a successful operation (libsignal's
/// `IdentityChange`): store the session's remote identity key when it is not `Unchanged`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityChange {
    /// No key was stored before.
    New,
    /// The stored key is the session's.
    Unchanged,
    /// A different key was stored and the caller allowed the change.
    Replaced,
}

/// Our keys a `PreKeySignalMessage` may need, looked up by the ids it names
/// ([`PreKeySignalMessage::signed_pre_key_id`], [`PreKeySignalMessage::pre_key_id`],
/// [`PreKeySignalMessage::kyber_pre_key_id`]).
#[derive(Clone, Copy, Debug)]
pub struct OurPreKeys<'a> {
    /// Our identity key pair.
    pub identity: &'a IdentityKeyPair,
    /// Our registration id.
    pub registration_id: u32,
    /// The signed prekey the message names.
    pub signed_pre_key: &'a SignedPreKey,
    /// The one-time prekey the message names, if it names one and we still have it.
    pub one_time_pre_key: Option<&'a OneTimePreKey>,
    /// The Kyber prekey the message names.
    pub kyber_pre_key: &'a KyberPreKey,
}

/// The prekeys a new session used: delete the one-time prekey (and note the Kyber prekey's
/// use) in the same transaction as the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreKeysUsed {
    /// The one-time prekey, if the message used one.
    pub one_time_pre_key_id: Option<u32>,
    /// The signed prekey.
    pub signed_pre_key_id: u32,
    /// The Kyber prekey.
    pub kyber_pre_key_id: u32,
}

/// A decrypted message and the record to store.
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The new record.
    pub record: SessionRecord,
    /// What to record in the identity store.
    pub identity: IdentityChange,
    /// For a `PreKeySignalMessage` that started a session: the prekeys it used.
    pub pre_keys_used: Option<PreKeysUsed>,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("record", &self.record)
            .field("identity", &self.identity)
            .field("pre_keys_used", &self.pre_keys_used)
            .finish()
    }
}

/// An encrypted message and the record to store.
#[derive(Debug)]
pub struct Encrypted {
    /// The message to send.
    pub message: CiphertextMessage,
    /// The new record.
    pub record: SessionRecord,
    /// What to record in the identity store.
    pub identity: IdentityChange,
}

/// The `PreKeySignalMessage` fields we repeat until the peer answers.
#[derive(Clone)]
struct PendingPreKey {
    pre_key_id: Option<u32>,
    signed_pre_key_id: u32,
    kyber_pre_key_id: u32,
    kyber_ciphertext: Vec<u8>,
    created_ms: u64,
}

/// One session with the peer.
#[derive(Clone)]
struct Session {
    local_identity: PublicKey,
    remote_identity: PublicKey,
    local_registration_id: u32,
    remote_registration_id: u32,
    /// The initiator's PQXDH ephemeral key, which names the session.
    base_key: PublicKey,
    ratchet: DoubleRatchet,
    pq: PqRatchet,
    pending: Option<PendingPreKey>,
}

impl Session {
    fn encrypt(
        &mut self,
        plaintext: &[u8],
        local: &Address,
        remote: &Address,
        now_ms: u64,
    ) -> Result<CiphertextMessage, SessionError> {
        if let Some(p) = &self.pending
            && now_ms
                > p.created_ms
                    .saturating_add(MAX_UNACKNOWLEDGED_SESSION_AGE_MS)
        {
            return Err(SessionError::StaleSession);
        }
        // libsignal order: the PQ ratchet first, then the chain's message key.
        let (pq_msg, pq_key) = self.pq.send()?;
        let (seed, counter) = self.ratchet.next_send()?;
        let keys = MessageKeys::derive(&seed, Some(&pq_key));
        let body = cbc_encrypt(&keys.cipher_key, &keys.iv, plaintext);
        let addresses = match self.pending {
            Some(_) => encode_addresses(local, remote),
            None => None,
        };
        let message = SignalMessage::build(
            &keys.mac_key,
            &self.local_identity,
            &self.remote_identity,
            self.ratchet.sender.ratchet.public_key(),
            counter,
            self.ratchet.previous_counter,
            body,
            pq_msg,
            addresses,
        );
        Ok(match &self.pending {
            None => CiphertextMessage::Whisper(message),
            Some(p) => CiphertextMessage::PreKey(PreKeySignalMessage::build(
                self.local_registration_id,
                p.pre_key_id,
                p.signed_pre_key_id,
                p.kyber_pre_key_id,
                p.kyber_ciphertext.clone(),
                self.base_key,
                self.local_identity,
                message,
            )),
        })
    }

    /// Decrypts on `self`; the caller works on a copy and keeps it only on success.
    fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        message: &SignalMessage,
        local: &Address,
        remote: &Address,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        if message.version() != wire::MESSAGE_VERSION {
            return Err(SessionError::LegacyVersion {
                got: message.version(),
            });
        }
        let seed = self
            .ratchet
            .receive(message.ratchet_key(), message.counter(), now_ms, rng)?;
        let pq_key = self.pq.recv(message.pq_ratchet())?;
        let keys = MessageKeys::derive(&seed, pq_key.as_ref());
        if !message.verify(
            &keys.mac_key,
            &self.remote_identity,
            &self.local_identity,
            remote,
            local,
        ) {
            return Err(SessionError::BadMac);
        }
        let plaintext = cbc_decrypt(&keys.cipher_key, &keys.iv, message.body())
            .ok_or(SessionError::InvalidMessage("bad padding"))?;
        // Any answer acknowledges the session we started.
        self.pending = None;
        self.ratchet.prune(now_ms);
        Ok(plaintext)
    }
}

/// The sessions with one peer address: the current one and the archived ones.
///
/// Encode it with [`SessionRecord::encode`] and seal the bytes like any key. Its `Debug`
/// shows public keys and counters only.
#[derive(Clone, Default)]
pub struct SessionRecord {
    current: Option<Session>,
    /// Newest first.
    previous: Vec<Session>,
}

impl SessionRecord {
    /// A record with no session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is a current session to encrypt with.
    pub fn has_current_session(&self) -> bool {
        self.current.is_some()
    }

    /// Number of archived sessions.
    pub fn archived_sessions(&self) -> usize {
        self.previous.len()
    }

    /// The current session's remote identity key.
    pub fn remote_identity(&self) -> Option<PublicKey> {
        self.current.as_ref().map(|s| s.remote_identity)
    }

    /// The current session's remote registration id.
    pub fn remote_registration_id(&self) -> Option<u32> {
        self.current.as_ref().map(|s| s.remote_registration_id)
    }

    /// Whether the current session was started by us and not yet answered.
    pub fn awaiting_reply(&self) -> bool {
        self.current.as_ref().is_some_and(|s| s.pending.is_some())
    }

    /// Moves the current session to the archive (libsignal `archive_current_state`), so the
    /// next message starts a new session.
    pub fn archive_current(&self) -> SessionRecord {
        let mut r = self.clone();
        r.archive();
        r
    }

    fn archive(&mut self) {
        if let Some(mut s) = self.current.take() {
            s.pending = None;
            self.previous.insert(0, s);
            self.previous.truncate(ARCHIVED_SESSIONS_MAX);
        }
    }

    fn promote(&mut self, session: Session) {
        self.archive();
        self.current = Some(session);
    }

    /// Starts a session from the peer's bundle (PQXDH initiator, PQXDH §3.3), archiving the
    /// current one. The first messages are `PreKeySignalMessage`s.
    ///
    /// # Errors
    /// [`SessionError::UntrustedIdentity`] if the bundle's identity key is not trusted;
    /// [`SessionError::Signal`] for a bundle whose signatures do not verify or whose keys
    /// are degenerate.
    pub fn initiate<R: CryptoRng + ?Sized>(
        &self,
        our_identity: &IdentityKeyPair,
        our_registration_id: u32,
        bundle: &PreKeyBundle,
        trust: &Trust,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<(SessionRecord, IdentityChange), SessionError> {
        let identity = trust.check(&bundle.identity_key)?;
        let (init, keys) = pqxdh::initiate_keys(our_identity, bundle, rng)?;
        // libsignal `initialize_alice_session`: the bundle's signed prekey is the peer's
        // first ratchet key, with the handshake's chain key as its receiving chain.
        let sending = KeyPair::generate(rng);
        let (root, sending_chain) =
            RootKey(keys.root.clone()).create_chain(&bundle.signed_pre_key_public, &sending)?;
        let session = Session {
            local_identity: our_identity.public_key(),
            remote_identity: bundle.identity_key,
            local_registration_id: our_registration_id,
            remote_registration_id: bundle.registration_id,
            base_key: init.ephemeral_public,
            ratchet: DoubleRatchet {
                root,
                sender: SenderChain {
                    ratchet: sending,
                    chain_key: sending_chain,
                },
                receivers: vec![ReceiverChain {
                    ratchet_key: bundle.signed_pre_key_public,
                    chain_key: ChainKey {
                        key: keys.chain.clone(),
                        index: 0,
                    },
                    skipped: Vec::new(),
                }],
                previous_counter: 0,
            },
            pq: PqRatchet::new(&keys.pq, Direction::A2B)?,
            pending: Some(PendingPreKey {
                pre_key_id: init.one_time_pre_key_id,
                signed_pre_key_id: init.signed_pre_key_id,
                kyber_pre_key_id: init.kyber_pre_key_id,
                kyber_ciphertext: init.kem_ciphertext.clone(),
                created_ms: now_ms,
            }),
        };
        let mut record = self.clone();
        record.promote(session);
        Ok((record, identity))
    }

    /// Encrypts with the current session: a `PreKeySignalMessage` until the peer answers,
    /// then `SignalMessage`s.
    ///
    /// # Errors
    /// [`SessionError::NoSession`], [`SessionError::StaleSession`],
    /// [`SessionError::UntrustedIdentity`].
    ///
    /// `rng` is unused while the post-quantum ratchet stays passive (see
    /// [`super::pq_ratchet`]); a full SPQR braid samples ML-KEM keys from it.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &self,
        plaintext: &[u8],
        local: &Address,
        remote: &Address,
        trust: &Trust,
        now_ms: u64,
        _rng: &mut R,
    ) -> Result<Encrypted, SessionError> {
        let mut record = self.clone();
        let session = record.current.as_mut().ok_or(SessionError::NoSession)?;
        let identity = trust.check(&session.remote_identity)?;
        let message = session.encrypt(plaintext, local, remote, now_ms)?;
        Ok(Encrypted {
            message,
            record,
            identity,
        })
    }

    /// Whether [`SessionRecord::decrypt_pre_key`] needs prekeys for `message`: false when
    /// a session with its base key exists already (a repeated first message).
    pub fn needs_pre_keys(&self, message: &PreKeySignalMessage) -> bool {
        !self
            .current
            .iter()
            .chain(self.previous.iter())
            .any(|s| s.base_key == *message.base_key())
    }

    /// Decrypts a `PreKeySignalMessage` (PQXDH responder, PQXDH §3.4, then the first
    /// ratchet message). A new base key starts a session and archives the current one.
    ///
    /// # Errors
    /// [`SessionError::UntrustedIdentity`], [`SessionError::MissingPreKey`], a prekey id
    /// mismatch as [`SessionError::Signal`], and every error of [`SessionRecord::decrypt`].
    #[allow(
        clippy::too_many_arguments,
        reason = "keys, addresses, trust, time, randomness"
    )]
    pub fn decrypt_pre_key<R: CryptoRng + ?Sized>(
        &self,
        message: &PreKeySignalMessage,
        ours: &OurPreKeys<'_>,
        local: &Address,
        remote: &Address,
        trust: &Trust,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Decrypted, SessionError> {
        let identity = trust.check(message.identity_key())?;
        let mut record = self.clone();
        let mut pre_keys_used = None;
        let current_matches = record
            .current
            .as_ref()
            .is_some_and(|s| s.base_key == *message.base_key());
        if !current_matches {
            match record
                .previous
                .iter()
                .position(|s| s.base_key == *message.base_key())
            {
                Some(i) => {
                    let s = record.previous.remove(i);
                    record.promote(s);
                }
                None => {
                    record.promote(respond(message, ours)?);
                    pre_keys_used = Some(PreKeysUsed {
                        one_time_pre_key_id: message.pre_key_id(),
                        signed_pre_key_id: message.signed_pre_key_id(),
                        kyber_pre_key_id: message.kyber_pre_key_id(),
                    });
                }
            }
        }
        // A PreKey message decrypts with the session it names only.
        let session = record.current.as_mut().ok_or(SessionError::NoSession)?;
        let mut attempt = session.clone();
        let plaintext = attempt.decrypt(message.message(), local, remote, now_ms, rng)?;
        *session = attempt;
        Ok(Decrypted {
            plaintext,
            record,
            identity,
            pre_keys_used,
        })
    }

    /// Decrypts a `SignalMessage` with the current session, else with the archived ones
    /// (promoting the one that works).
    ///
    /// # Errors
    /// [`SessionError::NoSession`]; [`SessionError::Duplicate`] for a replay;
    /// [`SessionError::BadMac`] when no session authenticates the message;
    /// [`SessionError::TooFarAhead`]; [`SessionError::UntrustedIdentity`] when the
    /// session's identity is not trusted (checked after decryption, as libsignal does).
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &self,
        message: &SignalMessage,
        local: &Address,
        remote: &Address,
        trust: &Trust,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Decrypted, SessionError> {
        if self.current.is_none() && self.previous.is_empty() {
            return Err(SessionError::NoSession);
        }
        // The current session first, then the archived ones (`Some(index)`) in stored order.
        let candidates = self
            .current
            .iter()
            .map(|c| (None, c))
            .chain(self.previous.iter().enumerate().map(|(i, p)| (Some(i), p)));
        let mut first_error = None;
        for (archived, candidate) in candidates {
            let mut attempt = candidate.clone();
            match attempt.decrypt(message, local, remote, now_ms, rng) {
                Ok(plaintext) => {
                    let identity = trust.check(&attempt.remote_identity)?;
                    let mut record = self.clone();
                    match archived {
                        None => record.current = Some(attempt),
                        Some(i) => {
                            record.previous.remove(i);
                            record.promote(attempt);
                        }
                    }
                    return Ok(Decrypted {
                        plaintext,
                        record,
                        identity,
                        pre_keys_used: None,
                    });
                }
                Err(e @ SessionError::Duplicate { .. }) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(SessionError::BadMac))
    }

    /// The record's bytes: [`RECORD_VERSION`] then a protobuf described in
    /// `docs/formats/signal.md`. They hold private keys: seal them before they leave memory.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        if let Some(s) = &self.current {
            w.bytes(1, &encode_session(s));
        }
        for s in &self.previous {
            w.bytes(2, &encode_session(s));
        }
        let body = w.finish();
        let mut out = Zeroizing::new(Vec::with_capacity(body.len() + 1));
        out.push(RECORD_VERSION);
        out.extend_from_slice(&body);
        out
    }

    /// Reads bytes written by [`SessionRecord::encode`].
    ///
    /// # Errors
    /// [`RecordError::Version`] for another version, [`RecordError::Malformed`] for a
    /// missing, unknown or invalid field.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let (&version, body) = bytes.split_first().ok_or(RecordError::Version {
            expected: RECORD_VERSION,
            got: 0,
        })?;
        if version != RECORD_VERSION {
            return Err(RecordError::Version {
                expected: RECORD_VERSION,
                got: version,
            });
        }
        let mut record = SessionRecord::new();
        for field in Reader::new(body) {
            match field? {
                (1, v) if record.current.is_none() => {
                    record.current = Some(decode_session(v.bytes("current")?)?);
                }
                (2, v) => record.previous.push(decode_session(v.bytes("previous")?)?),
                _ => return Err(RecordError::Malformed("unknown or repeated record field")),
            }
        }
        if record.previous.len() > ARCHIVED_SESSIONS_MAX {
            return Err(RecordError::Malformed("too many archived sessions"));
        }
        Ok(record)
    }
}

/// libsignal `process_prekey_impl` + `initialize_bob_session`: the responder's new session.
fn respond(message: &PreKeySignalMessage, ours: &OurPreKeys<'_>) -> Result<Session, SessionError> {
    let mismatch = |what, expected: u32, got: u32| {
        SessionError::Signal(SignalError::Mismatch {
            what,
            expected: expected.to_string(),
            got: got.to_string(),
        })
    };
    if ours.signed_pre_key.id != message.signed_pre_key_id() {
        return Err(mismatch(
            "signed prekey id",
            message.signed_pre_key_id(),
            ours.signed_pre_key.id,
        ));
    }
    if ours.kyber_pre_key.id != message.kyber_pre_key_id() {
        return Err(mismatch(
            "Kyber prekey id",
            message.kyber_pre_key_id(),
            ours.kyber_pre_key.id,
        ));
    }
    let one_time = match message.pre_key_id() {
        None => None,
        Some(id) => match ours.one_time_pre_key {
            Some(k) if k.id == id => Some(k),
            _ => {
                return Err(SessionError::MissingPreKey {
                    what: "one-time",
                    id,
                });
            }
        },
    };
    let keys = pqxdh::respond_keys(
        ours.identity,
        ours.signed_pre_key,
        one_time,
        ours.kyber_pre_key,
        message.kyber_ciphertext(),
        message.identity_key(),
        message.base_key(),
    )?;
    // The responder's first ratchet key is its signed prekey.
    Ok(Session {
        local_identity: ours.identity.public_key(),
        remote_identity: *message.identity_key(),
        local_registration_id: ours.registration_id,
        remote_registration_id: message.registration_id(),
        base_key: *message.base_key(),
        ratchet: DoubleRatchet {
            root: RootKey(keys.root.clone()),
            sender: SenderChain {
                ratchet: ours.signed_pre_key.keypair.clone(),
                chain_key: ChainKey {
                    key: keys.chain.clone(),
                    index: 0,
                },
            },
            receivers: Vec::new(),
            previous_counter: 0,
        },
        pq: PqRatchet::new(&keys.pq, Direction::B2A)?,
        pending: None,
    })
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("current", &self.current)
            .field("archived", &self.previous.len())
            .finish()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("local_identity", &self.local_identity)
            .field("remote_identity", &self.remote_identity)
            .field("remote_registration_id", &self.remote_registration_id)
            .field("base_key", &self.base_key)
            .field(
                "sending_ratchet_key",
                &self.ratchet.sender.ratchet.public_key(),
            )
            .field("sending_counter", &self.ratchet.sender.chain_key.index)
            .field("previous_counter", &self.ratchet.previous_counter)
            .field("receiving_chains", &self.ratchet.receivers.len())
            .field("skipped_keys", &self.ratchet.skipped_count())
            .field("pq_direction", &self.pq.direction)
            .field("pq_send_index", &self.pq.send.ctr)
            .field("pq_recv_index", &self.pq.recv.ctr)
            .field("awaiting_reply", &self.pending.is_some())
            .field("secrets", &"<redacted>")
            .finish()
    }
}

// ---- record encoding (docs/formats/signal.md, "Session record") ----

fn encode_chain_key(w: &mut Writer, key_field: u32, ck: &ChainKey) {
    w.bytes(key_field, ck.key.expose())
        .uint(key_field + 1, u64::from(ck.index));
}

fn encode_half(w: &mut Writer, first: u32, h: &Half) {
    w.uint(first, u64::from(h.ctr))
        .bytes(first + 1, h.next.expose());
    for (i, k) in &h.prev {
        let mut e = Writer::new();
        e.uint(1, u64::from(*i)).bytes(2, k.expose());
        w.bytes(first + 2, &e.finish());
    }
}

fn encode_session(s: &Session) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::new();
    w.bytes(1, &s.local_identity.serialize())
        .bytes(2, &s.remote_identity.serialize())
        .uint(3, u64::from(s.local_registration_id))
        .uint(4, u64::from(s.remote_registration_id))
        .bytes(5, &s.base_key.serialize())
        .bytes(6, s.ratchet.root.0.expose());
    let mut sender = Writer::new();
    sender.bytes(1, s.ratchet.sender.ratchet.secret().expose());
    encode_chain_key(&mut sender, 2, &s.ratchet.sender.chain_key);
    w.bytes(7, &sender.finish());
    for chain in &s.ratchet.receivers {
        let mut c = Writer::new();
        c.bytes(1, &chain.ratchet_key.serialize());
        encode_chain_key(&mut c, 2, &chain.chain_key);
        for k in &chain.skipped {
            let mut e = Writer::new();
            e.uint(1, u64::from(k.counter))
                .bytes(2, k.seed.expose())
                .fixed64(3, k.stored_ms);
            c.bytes(4, &e.finish());
        }
        w.bytes(8, &c.finish());
    }
    w.uint(9, u64::from(s.ratchet.previous_counter));
    if let Some(p) = &s.pending {
        let mut e = Writer::new();
        if let Some(id) = p.pre_key_id {
            e.uint(1, u64::from(id));
        }
        e.uint(2, u64::from(p.signed_pre_key_id))
            .uint(3, u64::from(p.kyber_pre_key_id))
            .bytes(4, &p.kyber_ciphertext)
            .fixed64(5, p.created_ms);
        w.bytes(10, &e.finish());
    }
    let mut pq = Writer::new();
    pq.uint(
        1,
        match s.pq.direction {
            Direction::A2B => 0,
            Direction::B2A => 1,
        },
    );
    encode_half(&mut pq, 2, &s.pq.send);
    encode_half(&mut pq, 5, &s.pq.recv);
    w.bytes(11, &pq.finish());
    w.finish()
}

/// Collects one message's fields, refusing unknown and repeated ones (except `repeated`).
fn fields<'a>(
    buf: &'a [u8],
    max_field: u32,
    repeated: &[u32],
) -> Result<Vec<(u32, Value<'a>)>, RecordError> {
    let mut out: Vec<(u32, Value<'a>)> = Vec::new();
    for field in Reader::new(buf) {
        let (no, v) = field?;
        if no > max_field {
            return Err(RecordError::Malformed("unknown field"));
        }
        if !repeated.contains(&no) && out.iter().any(|(n, _)| *n == no) {
            return Err(RecordError::Malformed("repeated field"));
        }
        out.push((no, v));
    }
    Ok(out)
}

fn one<'a>(f: &[(u32, Value<'a>)], no: u32, what: &'static str) -> Result<Value<'a>, RecordError> {
    f.iter()
        .find(|(n, _)| *n == no)
        .map(|(_, v)| *v)
        .ok_or(RecordError::Malformed(what))
}

fn opt<'a>(f: &[(u32, Value<'a>)], no: u32) -> Option<Value<'a>> {
    f.iter().find(|(n, _)| *n == no).map(|(_, v)| *v)
}

fn all<'a>(f: &'a [(u32, Value<'a>)], no: u32) -> impl Iterator<Item = Value<'a>> + 'a {
    f.iter().filter(move |(n, _)| *n == no).map(|(_, v)| *v)
}

fn public(v: Value<'_>, what: &'static str) -> Result<PublicKey, RecordError> {
    PublicKey::deserialize(v.bytes(what)?).map_err(|_| RecordError::Malformed(what))
}

fn secret(v: Value<'_>, what: &'static str) -> Result<Secret32, RecordError> {
    Secret32::from_slice(v.bytes(what)?).map_err(|_| RecordError::Malformed(what))
}

fn chain_key(f: &[(u32, Value<'_>)], key_field: u32) -> Result<ChainKey, RecordError> {
    Ok(ChainKey {
        key: secret(one(f, key_field, "chain key")?, "chain key")?,
        index: one(f, key_field + 1, "chain index")?.u32("chain index")?,
    })
}

fn decode_half(f: &[(u32, Value<'_>)], first: u32) -> Result<Half, RecordError> {
    let mut prev = Vec::new();
    for v in all(f, first + 2) {
        let e = fields(v.bytes("pq key")?, 2, &[])?;
        prev.push((
            one(&e, 1, "pq key index")?.u32("pq key index")?,
            secret(one(&e, 2, "pq key")?, "pq key")?,
        ));
    }
    if prev.len() > super::pq_ratchet::MAX_OUT_OF_ORDER as usize * 2 {
        return Err(RecordError::Malformed("too many pq keys"));
    }
    Ok(Half {
        ctr: one(f, first, "pq counter")?.u32("pq counter")?,
        next: secret(one(f, first + 1, "pq chain")?, "pq chain")?,
        prev,
    })
}

fn decode_session(buf: &[u8]) -> Result<Session, RecordError> {
    let f = fields(buf, 11, &[8])?;
    let sender = fields(one(&f, 7, "sender chain")?.bytes("sender chain")?, 3, &[])?;
    let mut receivers = Vec::new();
    for v in all(&f, 8) {
        let c = fields(v.bytes("receiver chain")?, 4, &[4])?;
        let mut skipped = Vec::new();
        for k in all(&c, 4) {
            let e = fields(k.bytes("skipped key")?, 3, &[])?;
            skipped.push(SkippedKey {
                counter: one(&e, 1, "skipped counter")?.u32("skipped counter")?,
                seed: secret(one(&e, 2, "skipped key")?, "skipped key")?,
                stored_ms: one(&e, 3, "skipped time")?.fixed64("skipped time")?,
            });
        }
        if skipped.len() > super::ratchet::MAX_MESSAGE_KEYS {
            return Err(RecordError::Malformed("too many skipped keys"));
        }
        receivers.push(ReceiverChain {
            ratchet_key: public(one(&c, 1, "receiver ratchet key")?, "receiver ratchet key")?,
            chain_key: chain_key(&c, 2)?,
            skipped,
        });
    }
    if receivers.len() > super::ratchet::MAX_RECEIVER_CHAINS {
        return Err(RecordError::Malformed("too many receiver chains"));
    }
    let pending = match opt(&f, 10) {
        None => None,
        Some(v) => {
            let e = fields(v.bytes("pending prekey")?, 5, &[])?;
            Some(PendingPreKey {
                pre_key_id: opt(&e, 1).map(|v| v.u32("pre_key_id")).transpose()?,
                signed_pre_key_id: one(&e, 2, "signed_pre_key_id")?.u32("signed_pre_key_id")?,
                kyber_pre_key_id: one(&e, 3, "kyber_pre_key_id")?.u32("kyber_pre_key_id")?,
                kyber_ciphertext: one(&e, 4, "kyber_ciphertext")?
                    .bytes("kyber_ciphertext")?
                    .to_vec(),
                created_ms: one(&e, 5, "created_ms")?.fixed64("created_ms")?,
            })
        }
    };
    let pq = fields(one(&f, 11, "pq ratchet")?.bytes("pq ratchet")?, 7, &[4, 7])?;
    let direction = match one(&pq, 1, "pq direction")?.uint("pq direction")? {
        0 => Direction::A2B,
        1 => Direction::B2A,
        _ => return Err(RecordError::Malformed("pq direction")),
    };
    Ok(Session {
        local_identity: public(one(&f, 1, "local identity")?, "local identity")?,
        remote_identity: public(one(&f, 2, "remote identity")?, "remote identity")?,
        local_registration_id: one(&f, 3, "local registration id")?.u32("local registration id")?,
        remote_registration_id: one(&f, 4, "remote registration id")?
            .u32("remote registration id")?,
        base_key: public(one(&f, 5, "base key")?, "base key")?,
        ratchet: DoubleRatchet {
            root: RootKey(secret(one(&f, 6, "root key")?, "root key")?),
            sender: SenderChain {
                ratchet: KeyPair::from_secret(secret(
                    one(&sender, 1, "sender ratchet key")?,
                    "sender ratchet key",
                )?),
                chain_key: chain_key(&sender, 2)?,
            },
            receivers,
            previous_counter: one(&f, 9, "previous counter")?.u32("previous counter")?,
        },
        pq: PqRatchet {
            direction,
            send: decode_half(&pq, 2)?,
            recv: decode_half(&pq, 5)?,
        },
        pending,
    })
}
