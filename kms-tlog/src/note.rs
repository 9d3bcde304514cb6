//! C2SP `signed-note` (c2sp.org/signed-note) with Ed25519 signatures, and the verifier and
//! signer key strings of the Go `sumdb/note` package that the C2SP ecosystem uses.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more signature lines
//! `— <key name> <base64(key id ‖ signature)>` (em dash U+2014). The key id of an Ed25519 key
//! is the first four bytes of `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)`, big-endian.
//!
//! Key strings:
//! - verifier key: `<name>+<8 hex digits key id>+<base64(0x01 ‖ 32-byte public key)>`
//! - signer key: `PRIVATE+KEY+<name>+<8 hex digits key id>+<base64(0x01 ‖ 32-byte seed)>`
//!
//! Base64 is the standard padded alphabet (RFC 4648 §4), decoded strictly.

use std::fmt;
use std::str::FromStr;

use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of Ed25519 (signed-note "Signature types").
pub const ALG_ED25519: u8 = 0x01;
/// Start of a signature line: em dash U+2014 and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Start of a signer key string.
pub const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Most signatures accepted on one note. The specification asks verifiers to accept at least
/// 16; the Go reference implementation stops at 100.
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// A key string or note is malformed, or a note did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name is empty or has a space, `+` or control character.
    #[error("invalid key name: expected non-empty, no spaces, no '+', got {0:?}")]
    InvalidKeyName(String),
    /// A verifier or signer key string does not parse.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key of a signature type other than Ed25519.
    #[error("unknown signature type: expected {expected:#04x}, got {got:#04x}")]
    UnknownAlgorithm {
        /// The supported type.
        expected: u8,
        /// The type found.
        got: u8,
    },
    /// A key string's key id is not the one its name and key give.
    #[error("key id mismatch: expected {expected:08x}, got {got:08x}")]
    KeyIdMismatch {
        /// The id computed from name and key.
        expected: u32,
        /// The id written.
        got: u32,
    },
    /// Two verifier keys share a name and key id, so a signature cannot be attributed.
    #[error("ambiguous verifier keys: two keys named {name:?} with id {key_id:08x}")]
    AmbiguousKey {
        /// The shared name.
        name: String,
        /// The shared key id.
        key_id: u32,
    },
    /// The text to sign or the signed note breaks the format.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("too many signatures: expected at most {max}, got {got}")]
    TooManySignatures {
        /// The limit.
        max: usize,
        /// The count found.
        got: usize,
    },
    /// A signature by a known key does not verify: the note is rejected as a whole.
    #[error("invalid signature by known key {name:?} ({key_id:08x})")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: u32,
    },
    /// No signature by a known key: the text must not be trusted.
    #[error("note has no signature by a known key")]
    Unverified,
}

/// The key id of an Ed25519 key: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`, big-endian.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    typed_key_id(name, ALG_ED25519, public_key)
}

/// The key id of a key of signature type `alg`: `SHA-256(name ‖ 0x0A ‖ alg ‖ key)[..4]`,
/// big-endian.
pub(crate) fn typed_key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Checks a key name: non-empty, no Unicode spaces, no `+` (signed-note "Format"), and no
/// control characters (a note may not contain them).
///
/// # Errors
/// [`NoteError::InvalidKeyName`].
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    } else {
        Ok(())
    }
}

pub(crate) fn parse_key_id(hex: &str) -> Result<u32, NoteError> {
    if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoteError::MalformedKey(
            "expected 8 lowercase hex digits of key id",
        ));
    }
    u32::from_str_radix(hex, 16).map_err(|_| NoteError::MalformedKey("bad key id"))
}

/// Decodes `base64(0x01 ‖ 32 bytes)`.
fn decode_typed_key(b64: &str) -> Result<[u8; 32], NoteError> {
    decode_key_of_type(ALG_ED25519, b64)
}

/// Decodes `base64(alg ‖ 32 bytes)`.
pub(crate) fn decode_key_of_type(alg: u8, b64: &str) -> Result<[u8; 32], NoteError> {
    let mut buf = [0u8; 33];
    let bytes = Base64::decode(b64, &mut buf)
        .map_err(|_| NoteError::MalformedKey("expected base64 of 33 bytes"))?;
    match bytes {
        [got, rest @ ..] if *got == alg => rest
            .try_into()
            .map_err(|_| NoteError::MalformedKey("expected base64 of 33 bytes")),
        [got, ..] => Err(NoteError::UnknownAlgorithm {
            expected: alg,
            got: *got,
        }),
        [] => Err(NoteError::MalformedKey("expected base64 of 33 bytes")),
    }
}

fn encode_typed_key(key: &[u8; 32]) -> String {
    encode_key_of_type(ALG_ED25519, key)
}

/// Encodes `base64(alg ‖ 32 bytes)`.
pub(crate) fn encode_key_of_type(alg: u8, key: &[u8; 32]) -> String {
    let mut buf = [0u8; 33];
    buf[0] = alg;
    buf[1..].copy_from_slice(key);
    Base64::encode_string(&buf)
}

/// A public key that verifies note signatures, with its name and key id.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// The verifier key of an Ed25519 public key under `name`.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`], or [`NoteError::MalformedKey`] if the bytes are not an
    /// Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::MalformedKey("not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, public_key),
            key,
        })
    }

    /// Parses `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
    ///
    /// # Errors
    /// [`NoteError::MalformedKey`], [`NoteError::InvalidKeyName`],
    /// [`NoteError::UnknownAlgorithm`] or [`NoteError::KeyIdMismatch`].
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey("expected <name>+<key id>+<key>"));
        };
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let public_key = decode_typed_key(b64)?;
        let key = Self::new(name, &public_key)?;
        if key.key_id != id {
            return Err(NoteError::KeyIdMismatch {
                expected: key.key_id,
                got: id,
            });
        }
        Ok(key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Verifies a signature over `text` (strict RFC 8032 verification: canonical encodings,
    /// no small-order keys).
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| self.key.verify_strict(text, &sig).is_ok())
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_typed_key(&self.key.to_bytes())
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerifierKey")
            .field(&self.to_string())
            .finish()
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A private key that signs notes, with its name and key id. Its `Debug` shows the name and
/// key id only, and the key is wiped from memory when dropped.
pub struct SignerKey {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl SignerKey {
    /// A signer key from a 32-byte Ed25519 seed (RFC 8032 private key).
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key.verifying_key().to_bytes()),
            key,
        })
    }

    /// A new random signer key.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`].
    pub fn generate<R: ed25519_dalek::rand_core::CryptoRng + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::generate(rng);
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key.verifying_key().to_bytes()),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
    ///
    /// # Errors
    /// [`NoteError::MalformedKey`], [`NoteError::InvalidKeyName`],
    /// [`NoteError::UnknownAlgorithm`] or [`NoteError::KeyIdMismatch`].
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(NoteError::MalformedKey("expected PRIVATE+KEY+ prefix"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey(
                "expected PRIVATE+KEY+<name>+<key id>+<key>",
            ));
        };
        check_key_name(name)?;
        let id = parse_key_id(id)?;
        let seed = decode_typed_key(b64)?;
        let key = Self::from_seed(name, &seed)?;
        if key.key_id != id {
            return Err(NoteError::KeyIdMismatch {
                expected: key.key_id,
                got: id,
            });
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
            encode_typed_key(self.key.as_bytes())
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The signature bytes (after the key id).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, `— <name> <base64(key id ‖ signature)>` and a newline.
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            Base64::encode_string(&blob)
        )
    }

    /// Parses one signature line, without its newline.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] or [`NoteError::InvalidKeyName`].
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(NoteError::Malformed(
                "signature line must start with an em dash and a space",
            ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("expected a key name and a signature"))?;
        check_key_name(name)?;
        let blob = Base64::decode_vec(b64)
            .map_err(|_| NoteError::Malformed("signature is not standard base64"))?;
        match blob.as_slice() {
            [a, b, c, d, signature @ ..] if !signature.is_empty() => Ok(Self {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([*a, *b, *c, *d]),
                signature: signature.to_vec(),
            }),
            _ => Err(NoteError::Malformed("signature shorter than 5 bytes")),
        }
    }
}

/// Checks a note text: non-empty, ends in a newline, no control characters but newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end in a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character other than newline"));
    }
    Ok(())
}

/// Signs `text` with each signer and returns the signed note.
///
/// # Errors
/// [`NoteError::Malformed`] if the text does not end in a newline or has control characters,
/// [`NoteError::TooManySignatures`] for more than [`MAX_SIGNATURES`] signers.
pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::Malformed(
            "a signed note needs at least one signature",
        ));
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES,
            got: signers.len(),
        });
    }
    let mut out = String::with_capacity(text.len() + 1 + signers.len() * 120);
    out.push_str(text);
    out.push('\n');
    for signer in signers {
        let sig = NoteSignature {
            name: signer.name.clone(),
            key_id: signer.key_id,
            signature: signer.key.sign(text.as_bytes()).to_bytes().to_vec(),
        };
        out.push_str(&sig.to_line());
    }
    Ok(out)
}

/// A signed note, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note without verifying any signature.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] if the note breaks the format (size, UTF-8, control
    /// characters, final newline, blank line before the signatures, signature lines),
    /// [`NoteError::InvalidKeyName`], [`NoteError::TooManySignatures`].
    pub fn parse(msg: &[u8]) -> Result<Self, NoteError> {
        if msg.len() > MAX_NOTE_LEN {
            return Err(NoteError::Malformed("note too long"));
        }
        let msg = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        check_text(msg)?;
        // "the text is separated from the signatures by the last empty line in the note."
        let split = msg
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&msg[..=split], &msg[split + 2..]);
        let lines: Vec<&str> = sigs.split_terminator('\n').collect();
        if lines.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
                got: lines.len(),
            });
        }
        let signatures = lines
            .into_iter()
            .map(NoteSignature::parse_line)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verifies the signatures by known keys (signed-note "Signatures"): signatures by
    /// unknown keys (no key with both the name and the key id) are ignored, a signature by a
    /// known key that fails rejects the whole note, and at least one must verify. Returns
    /// the verified signatures.
    ///
    /// # Errors
    /// [`NoteError::AmbiguousKey`] if two `verifiers` share name and key id,
    /// [`NoteError::BadSignature`], [`NoteError::Unverified`].
    pub fn verify(&self, verifiers: &[VerifierKey]) -> Result<Vec<&NoteSignature>, NoteError> {
        for (i, a) in verifiers.iter().enumerate() {
            if verifiers[i + 1..]
                .iter()
                .any(|b| a.name == b.name && a.key_id == b.key_id)
            {
                return Err(NoteError::AmbiguousKey {
                    name: a.name.clone(),
                    key_id: a.key_id,
                });
            }
        }
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(key) = verifiers
                .iter()
                .find(|k| k.name == sig.name && k.key_id == sig.key_id)
            else {
                continue;
            };
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            verified.push(sig);
        }
        if verified.is_empty() {
            Err(NoteError::Unverified)
        } else {
            Ok(verified)
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            f.write_str(&sig.to_line())?;
        }
        Ok(())
    }
}

/// Parses a signed note and verifies it against `verifiers` (see [`Note::verify`]); returns
/// the text, which may be trusted only through this function's success.
///
/// # Errors
/// Any error of [`Note::parse`] or [`Note::verify`].
pub fn open(msg: &[u8], verifiers: &[VerifierKey]) -> Result<String, NoteError> {
    let note = Note::parse(msg)?;
    note.verify(verifiers)?;
    Ok(note.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> SignerKey {
        SignerKey::from_seed(name, &[seed; 32]).unwrap()
    }

    #[test]
    fn round_trip_sign_open() {
        let a = signer("example.com/a", 1);
        let msg = sign("hello\nworld\n", &[&a]).unwrap();
        assert_eq!(
            open(msg.as_bytes(), &[a.verifier()]).unwrap(),
            "hello\nworld\n"
        );
        let note = Note::parse(msg.as_bytes()).unwrap();
        assert_eq!(note.to_string(), msg);
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let a = signer("a", 1);
        let text = "one\n\ntwo\n\n";
        let msg = sign(text, &[&a]).unwrap();
        assert_eq!(open(msg.as_bytes(), &[a.verifier()]).unwrap(), text);
    }

    #[test]
    fn unknown_keys_are_ignored_but_one_known_must_verify() {
        let a = signer("a", 1);
        let b = signer("b", 2);
        let msg = sign("t\n", &[&a, &b]).unwrap();
        assert!(open(msg.as_bytes(), &[b.verifier()]).is_ok());
        assert_eq!(
            open(msg.as_bytes(), &[signer("c", 3).verifier()]),
            Err(NoteError::Unverified)
        );
        // Same name, other key: a different key id, so unknown.
        assert_eq!(
            open(msg.as_bytes(), &[signer("a", 9).verifier()]),
            Err(NoteError::Unverified)
        );
    }

    #[test]
    fn a_bad_signature_by_a_known_key_rejects_the_note() {
        let a = signer("a", 1);
        let b = signer("b", 2);
        let good = sign("t\n", &[&a]).unwrap();
        let other = sign("u\n", &[&b]).unwrap();
        // b's signature over other text, grafted onto a's note.
        let forged = format!("{good}{}", other.lines().last().unwrap());
        let forged = format!("{forged}\n");
        assert!(open(forged.as_bytes(), &[a.verifier()]).is_ok());
        assert!(matches!(
            open(forged.as_bytes(), &[a.verifier(), b.verifier()]),
            Err(NoteError::BadSignature { .. })
        ));
        let tampered = good.replacen("t\n", "x\n", 1);
        assert!(matches!(
            open(tampered.as_bytes(), &[a.verifier()]),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn ambiguous_verifiers_are_refused() {
        let a = signer("a", 1);
        let msg = sign("t\n", &[&a]).unwrap();
        assert!(matches!(
            open(msg.as_bytes(), &[a.verifier(), a.verifier()]),
            Err(NoteError::AmbiguousKey { .. })
        ));
    }

    #[test]
    fn malformed_notes_are_refused() {
        let a = signer("a", 1);
        let msg = sign("t\n", &[&a]).unwrap();
        let sig_line = msg.lines().last().unwrap().to_owned();
        let cases: Vec<String> = vec![
            String::new(),
            "t\n".into(),
            "t\n\n".into(),
            format!("t\n\n{sig_line}"),     // no final newline
            format!("t\n{sig_line}\n"),     // no blank line
            format!("t\r\n\n{sig_line}\n"), // control character
            format!("t\n\n{sig_line}\n\n"), // blank line after the signatures
            format!("t\n\n{}\n", sig_line.replacen('\u{2014}', "-", 1)),
            format!("t\n\n{}\n", sig_line.replacen(' ', "  ", 1)),
            format!("t\n\n— a\n"),
            format!("t\n\n— a AAAAAA==\n"), // shorter than 5 bytes
            format!("t\n\n— a !!!!\n"),     // not base64
            format!("t\n\n— a+b {}\n", sig_line.rsplit(' ').next().unwrap()),
        ];
        for case in &cases {
            assert!(
                open(case.as_bytes(), &[a.verifier()]).is_err(),
                "accepted {case:?}"
            );
        }
        assert!(open(b"t\n\n\xff\n", &[a.verifier()]).is_err());
        assert!(matches!(
            sign("no newline", &[&a]),
            Err(NoteError::Malformed(_))
        ));
        assert!(matches!(
            sign("a\tb\n", &[&a]),
            Err(NoteError::Malformed(_))
        ));
        assert!(matches!(sign("t\n", &[]), Err(NoteError::Malformed(_))));
    }

    #[test]
    fn too_many_signatures_are_refused() {
        let a = signer("a", 1);
        let msg = sign("t\n", &[&a]).unwrap();
        let line = msg.lines().last().unwrap();
        let many = format!("t\n\n{}", format!("{line}\n").repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            open(many.as_bytes(), &[a.verifier()]),
            Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
                got: MAX_SIGNATURES + 1
            })
        );
        let enough = format!("t\n\n{}", format!("{line}\n").repeat(MAX_SIGNATURES));
        assert!(open(enough.as_bytes(), &[a.verifier()]).is_ok());
    }

    #[test]
    fn key_names_are_checked() {
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\nb"] {
            assert!(SignerKey::from_seed(bad, &[1; 32]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_strings_round_trip_and_are_checked() {
        let a = signer("example.com/log", 7);
        let v = a.verifier();
        assert_eq!(VerifierKey::parse(&v.to_string()).unwrap(), v);
        let s = SignerKey::parse(&a.dangerous_encode()).unwrap();
        assert_eq!(s.verifier(), v);
        let text = v.to_string();
        let (name, rest) = text.split_once('+').unwrap();
        let (id, key) = rest.split_once('+').unwrap();
        let wrong_id = format!("{name}+{:08x}+{key}", v.key_id() ^ 1);
        assert!(matches!(
            VerifierKey::parse(&wrong_id),
            Err(NoteError::KeyIdMismatch { .. })
        ));
        assert!(VerifierKey::parse(&format!("{name}+{}+{key}", id.to_uppercase())).is_err());
        assert!(VerifierKey::parse(&format!("{name}+{id}")).is_err());
        assert!(VerifierKey::parse(&format!("other+{id}+{key}")).is_err());
        // Signature type 0x02 is not supported.
        let mut raw = [2u8; 33];
        raw[1..].copy_from_slice(&v.public_key());
        let other_type = format!("{name}+{id}+{}", Base64::encode_string(&raw));
        assert!(matches!(
            VerifierKey::parse(&other_type),
            Err(NoteError::UnknownAlgorithm {
                expected: 1,
                got: 2
            })
        ));
        assert!(SignerKey::parse(&text).is_err());
    }

    #[test]
    fn generated_keys_sign_and_round_trip() {
        use rand::{SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(1);
        let a = SignerKey::generate("example.com/gen", &mut rng).unwrap();
        let b = SignerKey::generate("example.com/gen", &mut rng).unwrap();
        assert_ne!(a.verifier(), b.verifier());
        let msg = sign("t\n", &[&a]).unwrap();
        assert!(open(msg.as_bytes(), &[a.verifier()]).is_ok());
        let again = SignerKey::parse(&a.dangerous_encode()).unwrap();
        assert_eq!(sign("t\n", &[&again]).unwrap(), msg);
        assert!(SignerKey::generate("bad name", &mut rng).is_err());
    }

    #[test]
    fn debug_does_not_show_the_private_key() {
        let a = signer("a", 7);
        let secret = a.dangerous_encode();
        let b64 = secret.rsplit('+').next().unwrap();
        let debug = format!("{a:?}");
        assert!(!debug.contains(b64), "{debug}");
        assert!(debug.contains(&format!("{:08x}", a.key_id())));
    }
}
