//! C2SP `tlog-cosignature` (c2sp.org/tlog-cosignature), Ed25519 `cosignature/v1`: a
//! witness's timestamped statement that a checkpoint is the largest consistent tree head it
//! has seen for the log.
//!
//! A cosignature is a [note signature](crate::note) on a checkpoint:
//!
//! - key id = `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte public key)[..4]` (signature type `0x04`,
//!   so a cosignature key id never equals the key id of the same key as a plain note signer);
//! - signature = `u64be(timestamp) ‖ Ed25519 signature` (the `timestamped_signature` of the
//!   specification), 72 bytes;
//! - signed message = `cosignature/v1\n` ‖ `time <timestamp>\n` ‖ the whole checkpoint text
//!   (extension lines included, signature lines not).
//!
//! Key strings follow the note keys ([`crate::note`]) with type byte `0x04`:
//!
//! - verifier key (vkey): `<name>+<8 hex digits key id>+<base64(0x04 ‖ public key)>`
//! - signer key: `PRIVATE+KEY+<name>+<8 hex digits key id>+<base64(0x04 ‖ 32-byte seed)>`
//!
//! The Ed25519 message does not commit to the witness name, so one key must serve one witness
//! name only (tlog-cosignature, "Ed25519 signed message").

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::note::{
    self, Note, NoteError, NoteSignature, SIGNER_KEY_PREFIX, check_key_name, decode_key_of_type,
    encode_key_of_type, parse_key_id, typed_key_id,
};

/// Signature type byte of Ed25519 `cosignature/v1` (tlog-cosignature, "Format").
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// First line of the signed message, for domain separation.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";
/// The largest timestamp allowed: `2^63 − 1` (tlog-cosignature, "Format").
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;
/// Length of a cosignature after the key id: 8-byte timestamp and 64-byte signature.
pub const COSIGNATURE_LEN: usize = 8 + 64;

/// A cosigner key string or a cosignature is malformed, or a cosignature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// A key string or key name is malformed (the note key rules apply).
    #[error(transparent)]
    Key(#[from] NoteError),
    /// A timestamp above [`MAX_TIMESTAMP`].
    #[error("cosignature timestamp out of range: expected at most {MAX_TIMESTAMP}, got {0}")]
    TimestampOutOfRange(u64),
    /// A signature line by a known witness is not 72 bytes after its key id.
    #[error("malformed cosignature by {name:?}: expected {COSIGNATURE_LEN} bytes, got {got}")]
    Malformed {
        /// The witness name.
        name: String,
        /// The length found.
        got: usize,
    },
    /// A cosignature by a known witness does not verify.
    #[error("invalid cosignature by known witness {name:?} ({key_id:08x})")]
    BadSignature {
        /// The witness name.
        name: String,
        /// The key id.
        key_id: u32,
    },
    /// Two witness keys share a name and key id, so a cosignature cannot be attributed.
    #[error("ambiguous witness keys: two keys named {name:?} with id {key_id:08x}")]
    AmbiguousKey {
        /// The shared name.
        name: String,
        /// The shared key id.
        key_id: u32,
    },
}

/// The signed message of a cosignature at `timestamp` over `text` (a checkpoint note text).
pub fn signed_message(timestamp: u64, text: &str) -> Vec<u8> {
    format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}").into_bytes()
}

/// A witness's public key, which verifies its cosignatures.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// The verifier of an Ed25519 public key under `name`.
    ///
    /// # Errors
    /// [`CosignatureError::Key`] for an invalid name or a byte string that is not an Ed25519
    /// public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, CosignatureError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::MalformedKey("not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: typed_key_id(name, ALG_COSIGNATURE_V1, public_key),
            key,
        })
    }

    /// Parses a vkey `<name>+<hex key id>+<base64(0x04 ‖ public key)>`.
    ///
    /// # Errors
    /// [`CosignatureError::Key`]: malformed, another signature type (a plain `0x01` note key
    /// is refused), or a key id that is not the one name and key give.
    pub fn parse(text: &str) -> Result<Self, CosignatureError> {
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey("expected <name>+<key id>+<key>").into());
        };
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let public_key = decode_key_of_type(ALG_COSIGNATURE_V1, b64)?;
        let key = Self::new(name, &public_key)?;
        if key.key_id != id {
            return Err(NoteError::KeyIdMismatch {
                expected: key.key_id,
                got: id,
            }
            .into());
        }
        Ok(key)
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (of type `0x04`).
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether a signature line names this witness (same name and key id).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    /// Verifies a cosignature line by this witness over `text`, and returns its timestamp.
    /// Verification is strict RFC 8032.
    ///
    /// # Errors
    /// [`CosignatureError::BadSignature`] if the line is not this witness's (see
    /// [`CosignatureVerifier::matches`]) or does not verify, [`CosignatureError::Malformed`],
    /// [`CosignatureError::TimestampOutOfRange`].
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<u64, CosignatureError> {
        let bad = || CosignatureError::BadSignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
        };
        if !self.matches(sig) {
            return Err(bad());
        }
        let cosig = Cosignature::from_note_signature(sig)?;
        let signature = Signature::from_bytes(&cosig.signature);
        self.key
            .verify_strict(&signed_message(cosig.timestamp, text), &signature)
            .map_err(|_| bad())?;
        Ok(cosig.timestamp)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key_of_type(ALG_COSIGNATURE_V1, &self.key.to_bytes())
        )
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CosignatureVerifier")
            .field(&self.to_string())
            .finish()
    }
}

impl FromStr for CosignatureVerifier {
    type Err = CosignatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A witness's private key, which makes cosignatures. Its `Debug` shows the name and key id
/// only, and the key is wiped from memory when dropped.
pub struct CosignerKey {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl CosignerKey {
    /// A cosigner key from a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`CosignatureError::Key`] for an invalid name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CosignatureError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        Ok(Self {
            name: name.to_owned(),
            key_id: typed_key_id(name, ALG_COSIGNATURE_V1, &key.verifying_key().to_bytes()),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 ‖ seed)>`.
    ///
    /// # Errors
    /// [`CosignatureError::Key`]: malformed, another signature type, or a wrong key id.
    pub fn parse(text: &str) -> Result<Self, CosignatureError> {
        let rest = text
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(NoteError::MalformedKey("expected PRIVATE+KEY+ prefix"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(
                NoteError::MalformedKey("expected PRIVATE+KEY+<name>+<key id>+<key>").into(),
            );
        };
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let seed = decode_key_of_type(ALG_COSIGNATURE_V1, b64)?;
        let key = Self::from_seed(name, &seed)?;
        if key.key_id != id {
            return Err(NoteError::KeyIdMismatch {
                expected: key.key_id,
                got: id,
            }
            .into());
        }
        Ok(key)
    }

    /// The signer key string, `PRIVATE+KEY+…`. It contains the private key: store it as a
    /// secret.
    pub fn dangerous_encode(&self) -> String {
        format!(
            "{SIGNER_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key_of_type(ALG_COSIGNATURE_V1, self.key.as_bytes())
        )
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (of type `0x04`).
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns a checkpoint note text at `timestamp` (POSIX seconds).
    ///
    /// The caller is the witness: it must have verified the checkpoint's log signature and
    /// its consistency with every checkpoint it cosigned before.
    ///
    /// # Errors
    /// [`CosignatureError::TimestampOutOfRange`], or [`CosignatureError::Key`] with
    /// [`NoteError::Malformed`] if `text` is not a note text (final newline, no control
    /// characters).
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<NoteSignature, CosignatureError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        if !text.ends_with('\n') || text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed("not a note text").into());
        }
        let signature = self.key.sign(&signed_message(timestamp, text));
        let mut blob = Vec::with_capacity(COSIGNATURE_LEN);
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: blob,
        })
    }
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// The parts of a cosignature line, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// When the witness cosigned, in POSIX seconds.
    pub timestamp: u64,
    /// The Ed25519 signature.
    pub signature: [u8; 64],
}

impl Cosignature {
    /// Splits a note signature into timestamp and Ed25519 signature.
    ///
    /// # Errors
    /// [`CosignatureError::Malformed`] unless it is 72 bytes,
    /// [`CosignatureError::TimestampOutOfRange`].
    pub fn from_note_signature(sig: &NoteSignature) -> Result<Self, CosignatureError> {
        let malformed = || CosignatureError::Malformed {
            name: sig.name.clone(),
            got: sig.signature.len(),
        };
        let (time, signature) = sig
            .signature
            .split_first_chunk::<8>()
            .ok_or_else(malformed)?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| malformed())?;
        let timestamp = u64::from_be_bytes(*time);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        Ok(Self {
            name: sig.name.clone(),
            key_id: sig.key_id,
            timestamp,
            signature,
        })
    }
}

/// A cosignature that verified, by one of the configured witnesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCosignature {
    /// The witness name.
    pub witness: String,
    /// When it cosigned, in POSIX seconds.
    pub timestamp: u64,
}

/// Verifies the cosignatures on a note by the `witnesses` and returns one per witness that
/// cosigned (in the order of `witnesses`), so that the length is the count a quorum is
/// checked against.
///
/// As with note signatures, lines that match no witness (by name and key id) are ignored,
/// including the log's own signature, and a line by a known witness that fails rejects the
/// note: a witness key that signs something else than a cosignature is a broken witness.
/// A witness with several valid cosignatures counts once. This does not check the log's
/// signature: open the checkpoint with [`crate::checkpoint::Checkpoint::open`] as well.
///
/// # Errors
/// [`CosignatureError::AmbiguousKey`] if two witnesses share name and key id,
/// [`CosignatureError::BadSignature`], [`CosignatureError::Malformed`],
/// [`CosignatureError::TimestampOutOfRange`].
pub fn verify_cosignatures(
    note: &Note,
    witnesses: &[CosignatureVerifier],
) -> Result<Vec<VerifiedCosignature>, CosignatureError> {
    for (i, a) in witnesses.iter().enumerate() {
        if witnesses[i + 1..]
            .iter()
            .any(|b| a.name == b.name && a.key_id == b.key_id)
        {
            return Err(CosignatureError::AmbiguousKey {
                name: a.name.clone(),
                key_id: a.key_id,
            });
        }
    }
    let mut found: Vec<Option<u64>> = vec![None; witnesses.len()];
    for sig in note.signatures() {
        let Some(i) = witnesses.iter().position(|w| w.matches(sig)) else {
            continue;
        };
        let timestamp = witnesses[i].verify(note.text(), sig)?;
        let slot = &mut found[i];
        *slot = Some(slot.map_or(timestamp, |t| t.max(timestamp)));
    }
    Ok(witnesses
        .iter()
        .zip(found)
        .filter_map(|(w, t)| {
            t.map(|timestamp| VerifiedCosignature {
                witness: w.name.clone(),
                timestamp,
            })
        })
        .collect())
}

/// Adds cosignature lines to a signed note: the result is the note with the lines appended
/// after its signatures (lines already present are not repeated).
///
/// # Errors
/// [`NoteError`] if `signed` does not parse or the result would have too many signatures.
pub fn add_cosignatures(signed: &[u8], lines: &[NoteSignature]) -> Result<String, NoteError> {
    let note = Note::parse(signed)?;
    let mut out = note.to_string();
    let mut count = note.signatures().len();
    for line in lines {
        if note.signatures().contains(line) {
            continue;
        }
        count += 1;
        if count > note::MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: note::MAX_SIGNATURES,
                got: count,
            });
        }
        out.push_str(&line.to_line());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::SignerKey;

    const TEXT: &str = "example.com/log\n8\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";

    fn witness(name: &str, seed: u8) -> CosignerKey {
        CosignerKey::from_seed(name, &[seed; 32]).unwrap()
    }

    fn log_note(text: &str) -> String {
        let log = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
        note::sign(text, &[&log]).unwrap()
    }

    #[test]
    fn cosign_and_verify() {
        let w = witness("witness.example/w1", 2);
        let sig = w.cosign(TEXT, 1_679_315_147).unwrap();
        assert_eq!(sig.signature.len(), COSIGNATURE_LEN);
        assert_eq!(&sig.signature[..8], &1_679_315_147u64.to_be_bytes());
        assert_eq!(w.verifier().verify(TEXT, &sig), Ok(1_679_315_147));
        // The timestamp is signed.
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert!(matches!(
            w.verifier().verify(TEXT, &later),
            Err(CosignatureError::BadSignature { .. })
        ));
        // The whole text is signed, extension lines included.
        let ext = format!("{TEXT}extension\n");
        let on_ext = w.cosign(&ext, 5).unwrap();
        assert!(w.verifier().verify(TEXT, &on_ext).is_err());
        assert!(
            w.verifier()
                .verify(&ext.replace("extension", "extensioN"), &on_ext)
                .is_err()
        );
    }

    #[test]
    fn the_signed_message_has_the_header_and_time_lines() {
        assert_eq!(
            signed_message(1_679_315_147, "o\n1\nr\n"),
            b"cosignature/v1\ntime 1679315147\no\n1\nr\n"
        );
        assert_eq!(signed_message(0, "t\n"), b"cosignature/v1\ntime 0\nt\n");
    }

    #[test]
    fn timestamps_above_2_63_are_refused() {
        let w = witness("w", 3);
        assert!(w.cosign(TEXT, MAX_TIMESTAMP).is_ok());
        assert_eq!(
            w.cosign(TEXT, MAX_TIMESTAMP + 1),
            Err(CosignatureError::TimestampOutOfRange(MAX_TIMESTAMP + 1))
        );
        let mut sig = w.cosign(TEXT, 1).unwrap();
        sig.signature[0] = 0x80;
        assert!(matches!(
            w.verifier().verify(TEXT, &sig),
            Err(CosignatureError::TimestampOutOfRange(_))
        ));
    }

    #[test]
    fn a_plain_note_signature_by_the_same_key_is_not_a_cosignature() {
        let seed = [4; 32];
        let w = CosignerKey::from_seed("witness.example/w1", &seed).unwrap();
        let plain = SignerKey::from_seed("witness.example/w1", &seed).unwrap();
        // The key ids differ: the type byte is part of the hash.
        assert_ne!(plain.key_id(), w.key_id());
        let signed = note::sign(TEXT, &[&plain]).unwrap();
        let parsed = Note::parse(signed.as_bytes()).unwrap();
        assert_eq!(verify_cosignatures(&parsed, &[w.verifier()]), Ok(vec![]));
        // The plain signature relabelled with the cosignature key id: wrong length.
        let mut relabelled = parsed.signatures()[0].clone();
        relabelled.key_id = w.key_id();
        assert!(matches!(
            w.verifier().verify(TEXT, &relabelled),
            Err(CosignatureError::Malformed { got: 64, .. })
        ));
        // A plain signature over the text with a timestamp in front: not over the message.
        let mut forged = relabelled.clone();
        forged.signature = [&[0u8; 8][..], &parsed.signatures()[0].signature].concat();
        assert!(matches!(
            w.verifier().verify(TEXT, &forged),
            Err(CosignatureError::BadSignature { .. })
        ));
        // And a cosignature does not open as a plain note signature.
        let cosigned =
            add_cosignatures(log_note(TEXT).as_bytes(), &[w.cosign(TEXT, 9).unwrap()]).unwrap();
        assert_eq!(
            note::open(cosigned.as_bytes(), &[plain.verifier()]),
            Err(NoteError::Unverified)
        );
    }

    #[test]
    fn counting_cosignatures_by_a_witness_set() {
        let (a, b, c) = (witness("a", 1), witness("b", 2), witness("c", 3));
        let signed = log_note(TEXT);
        let cosigned = add_cosignatures(
            signed.as_bytes(),
            &[
                a.cosign(TEXT, 10).unwrap(),
                b.cosign(TEXT, 20).unwrap(),
                a.cosign(TEXT, 30).unwrap(),
            ],
        )
        .unwrap();
        let note = Note::parse(cosigned.as_bytes()).unwrap();
        let set = [a.verifier(), b.verifier(), c.verifier()];
        let found = verify_cosignatures(&note, &set).unwrap();
        assert_eq!(
            found,
            vec![
                VerifiedCosignature {
                    witness: "a".into(),
                    timestamp: 30
                },
                VerifiedCosignature {
                    witness: "b".into(),
                    timestamp: 20
                },
            ]
        );
        // The log signature is still there and is the only one the log key sees.
        let log = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
        assert_eq!(
            Checkpoint::open(cosigned.as_bytes(), &log.verifier())
                .unwrap()
                .size,
            8
        );
        // A cosignature over another checkpoint grafted on: a known witness's bad line
        // rejects the note.
        let other = TEXT.replace("\n8\n", "\n9\n");
        let grafted =
            add_cosignatures(cosigned.as_bytes(), &[c.cosign(&other, 1).unwrap()]).unwrap();
        let note = Note::parse(grafted.as_bytes()).unwrap();
        assert!(matches!(
            verify_cosignatures(&note, &set),
            Err(CosignatureError::BadSignature { ref name, .. }) if name == "c"
        ));
        assert_eq!(verify_cosignatures(&note, &set[..2]).unwrap().len(), 2);
        assert!(matches!(
            verify_cosignatures(&note, &[a.verifier(), a.verifier()]),
            Err(CosignatureError::AmbiguousKey { .. })
        ));
    }

    #[test]
    fn adding_the_same_cosignature_twice_keeps_one() {
        let a = witness("a", 1);
        let line = a.cosign(TEXT, 1).unwrap();
        let once =
            add_cosignatures(log_note(TEXT).as_bytes(), std::slice::from_ref(&line)).unwrap();
        let twice = add_cosignatures(once.as_bytes(), &[line]).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn key_strings_round_trip_and_are_typed() {
        let w = witness("witness.example/w1", 7);
        let v = w.verifier();
        assert_eq!(CosignatureVerifier::parse(&v.to_string()).unwrap(), v);
        let again = CosignerKey::parse(&w.dangerous_encode()).unwrap();
        assert_eq!(again.verifier(), v);
        assert_eq!(
            again.cosign(TEXT, 1).unwrap(),
            w.cosign(TEXT, 1).unwrap(),
            "Ed25519 is deterministic"
        );
        // A plain note key of the same seed is refused as a cosigner key, and the other way.
        let plain = SignerKey::from_seed("witness.example/w1", &[7; 32]).unwrap();
        assert!(matches!(
            CosignatureVerifier::parse(&plain.verifier().to_string()),
            Err(CosignatureError::Key(NoteError::UnknownAlgorithm {
                expected: 4,
                got: 1
            }))
        ));
        assert!(CosignerKey::parse(&plain.dangerous_encode()).is_err());
        assert!(note::VerifierKey::parse(&v.to_string()).is_err());
        assert!(SignerKey::parse(&w.dangerous_encode()).is_err());
        let text = v.to_string();
        let (name, rest) = text.split_once('+').unwrap();
        let (_, key) = rest.split_once('+').unwrap();
        assert!(matches!(
            CosignatureVerifier::parse(&format!("{name}+{:08x}+{key}", v.key_id() ^ 1)),
            Err(CosignatureError::Key(NoteError::KeyIdMismatch { .. }))
        ));
    }

    #[test]
    fn debug_does_not_show_the_private_key() {
        let w = witness("w", 7);
        let secret = w.dangerous_encode();
        let b64 = secret.rsplit('+').next().unwrap();
        let debug = format!("{w:?}");
        assert!(!debug.contains(b64), "{debug}");
    }
}
