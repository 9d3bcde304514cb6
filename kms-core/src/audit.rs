//! The hash-chained, tamper-evident audit log.
//!
//! The service appends one [`Entry`] per state-changing or key-using operation, in the same
//! store transaction as the change itself. Each entry commits to its predecessor through
//! `prev_hash`, so the hash of the last entry (the [`Head`]) commits to the whole log. A
//! [`Checkpoint`] is an Ed25519 signature by the audit key over `(size, head hash)`; given a
//! checkpoint, [`verify`] detects any changed, removed, reordered or inserted entry and any
//! truncation below the signed size.
//!
//! Entries hold metadata only (who, what, which key, how it ended) and have no field that
//! could carry key material.
//!
//! Byte layouts, the stored JSON, the checkpoint message and the JSON-lines export are
//! specified in `docs/formats/audit.md`, together with a test vector.
//!
//! ```
//! use kms_core::audit::{Checkpoint, Head, Outcome, verify};
//! use ed25519_dalek::SigningKey;
//!
//! let audit_key = SigningKey::from_bytes(&[7; 32]);
//! let head = Head::genesis();
//! let (e0, head) = head.append(1_000, "https://app.example", "key.create", Some("k1"), Outcome::Ok)?;
//! let (e1, head) = head.append(2_000, "https://app.example", "key.sign", Some("k1"), Outcome::Denied)?;
//! let checkpoint = Checkpoint::sign(&head, &audit_key);
//! let verified = verify(&[e0, e1], &checkpoint, &audit_key.verifying_key())?;
//! assert_eq!(verified.checkpoint, head);
//! assert_eq!(verified.unverified_tail, 0);
//! # Ok::<(), kms_core::audit::AuditError>(())
//! ```

mod checkpoint;
mod entry;
mod head;
mod jsonl;
mod verify;

pub use checkpoint::Checkpoint;
pub use entry::{Entry, Outcome};
pub use head::Head;
pub use jsonl::{export_jsonl, export_jsonl_with_checkpoint, import_jsonl};
pub use verify::{Verified, verify, verify_chain, verify_chain_from, verify_from};

use crate::format::FormatError;

/// Domain-separation label of the entry hash input (`docs/formats/audit.md`, "Entry hash").
pub const ENTRY_HASH_LABEL: &str = "kms:audit:entry:v1";
/// Hashed (as its ASCII bytes, nothing else) to give the genesis head hash
/// (`docs/formats/audit.md`, "Genesis head").
pub const GENESIS_LABEL: &str = "kms:audit:genesis:v1";
/// Domain-separation label of the checkpoint signature message
/// (`docs/formats/audit.md`, "Checkpoint").
pub const CHECKPOINT_LABEL: &str = "kms:audit:checkpoint:v1";
/// Format id of the checkpoint's JSON form (`docs/formats/audit.md`, "Checkpoint").
/// The entry's format id is [`crate::format::AUDIT_ENTRY_V1`].
pub const AUDIT_CHECKPOINT_V1: &str = "kms-audit-checkpoint-v1";
/// Upper bound, in UTF-8 bytes, on `origin`, `op` and `key_id` (`docs/formats/audit.md`,
/// "Field rules").
pub const MAX_FIELD_LEN: usize = 512;
/// SHA-256 output length in bytes (FIPS 180-4, §1: 256-bit message digest).
pub const HASH_LEN: usize = 32;
/// Ed25519 signature length in bytes (RFC 8032, §5.1.6: `R ‖ S`, 32 bytes each).
pub const SIGNATURE_LEN: usize = 64;

/// Everything that can go wrong creating, decoding, importing or verifying audit data.
///
/// Chain errors name the position by sequence number and say what was expected and what was
/// found; hashes are shown as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// `origin`, `op` or `key_id` is longer than [`MAX_FIELD_LEN`] bytes.
    #[error("{field} too long: at most {max} bytes, got {got}")]
    FieldTooLong {
        /// The field name.
        field: &'static str,
        /// The limit, [`MAX_FIELD_LEN`].
        max: usize,
        /// The length given.
        got: usize,
    },
    /// `op` is empty.
    #[error("op is empty")]
    EmptyOp,
    /// `op` has a byte outside `[a-z0-9._-]`.
    #[error("op has a character outside [a-z0-9._-] at byte {index}")]
    InvalidOp {
        /// Byte offset of the first offending character.
        index: usize,
    },
    /// The log cannot grow: the next sequence number would not fit in a `u64`.
    #[error("sequence numbers exhausted after {size} entries")]
    SequenceExhausted {
        /// The size of the log.
        size: u64,
    },
    /// A stored entry's `hash` is not the hash of its fields.
    #[error("entry {seq}: stored hash does not match: expected {}, got {}", hex(.expected), hex(.got))]
    HashMismatch {
        /// The entry's sequence number.
        seq: u64,
        /// The hash recomputed from the fields.
        expected: [u8; HASH_LEN],
        /// The hash stored with the entry.
        got: [u8; HASH_LEN],
    },
    /// The entry at this position does not carry the next sequence number: an entry was
    /// removed, inserted, duplicated or moved, or its `seq` was changed.
    #[error("entry {expected}: sequence number expected {expected}, got {got}")]
    SeqMismatch {
        /// The sequence number due at this position.
        expected: u64,
        /// The sequence number found.
        got: u64,
    },
    /// An entry's `prev_hash` is not the hash of the entry before it (or of the trusted head):
    /// the previous entry was changed or replaced, or this one was.
    #[error("entry {seq}: prev_hash expected {}, got {}", hex(.expected), hex(.got))]
    PrevHashMismatch {
        /// The sequence number of the entry whose link is broken.
        seq: u64,
        /// The hash of the preceding entry (or of the trusted head).
        expected: [u8; HASH_LEN],
        /// The `prev_hash` found in the entry.
        got: [u8; HASH_LEN],
    },
    /// The log ends before the size the checkpoint signs.
    #[error("log truncated: checkpoint covers {expected} entries, got {got}")]
    Truncated {
        /// The checkpoint's size.
        expected: u64,
        /// The size of the log given.
        got: u64,
    },
    /// The head of the log at the checkpoint's size is not the signed head.
    #[error("head at size {size} does not match the checkpoint: expected {}, got {}", hex(.expected), hex(.got))]
    HeadMismatch {
        /// The checkpoint's size.
        size: u64,
        /// The head hash in the checkpoint.
        expected: [u8; HASH_LEN],
        /// The head hash computed from the log.
        got: [u8; HASH_LEN],
    },
    /// The checkpoint's signature does not verify under the audit key.
    #[error("checkpoint at size {size}: signature does not verify")]
    BadSignature {
        /// The checkpoint's size.
        size: u64,
    },
    /// The checkpoint signs fewer entries than the trusted head already covers, so it says
    /// nothing about the entries given.
    #[error("stale checkpoint: covers {checkpoint} entries, the trusted head already {trusted}")]
    StaleCheckpoint {
        /// The trusted head's size.
        trusted: u64,
        /// The checkpoint's size.
        checkpoint: u64,
    },
    /// A stored or exported object is not in the expected format.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// An error on one line of a JSON-lines import.
    #[error("line {line}: {source}")]
    Line {
        /// The line number, counting from 1.
        line: usize,
        /// What was wrong with the line.
        source: Box<AuditError>,
    },
}

impl AuditError {
    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Format(FormatError::Malformed {
            what,
            reason: reason.into(),
        })
    }
}

/// Lowercase hex, for error messages.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 of `data`.
fn sha256(data: &[u8]) -> [u8; HASH_LEN] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    /// The entry of the test vector in `docs/formats/audit.md`.
    fn vector_entry() -> Entry {
        Entry::new(
            7,
            1_700_000_000_000,
            "https://app.example",
            "key.sign",
            Some("k1"),
            Outcome::Ok,
            [0x11; 32],
        )
        .unwrap()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn genesis_hash_is_sha256_of_label() {
        assert_eq!(Head::GENESIS_HASH, sha256(GENESIS_LABEL.as_bytes()));
        assert_eq!(
            hex(&Head::GENESIS_HASH),
            "045470eaac456745af17b62918d90899dcef524a2ce08595110b1b63b494efa4"
        );
        assert_eq!(
            Head::genesis(),
            Head {
                size: 0,
                hash: Head::GENESIS_HASH
            }
        );
        assert_eq!(Head::default(), Head::genesis());
    }

    #[test]
    fn entry_hash_known_answer() {
        let e = vector_entry();
        assert_eq!(
            hex(&e.canonical_bytes()),
            concat!(
                "00000012",
                "6b6d733a61756469743a656e7472793a7631",
                "00000008",
                "0000000000000007",
                "00000008",
                "0000018bcfe56800",
                "00000013",
                "68747470733a2f2f6170702e6578616d706c65",
                "00000008",
                "6b65792e7369676e",
                "00000001",
                "01",
                "00000002",
                "6b31",
                "00000002",
                "6f6b",
                "00000020",
                "1111111111111111111111111111111111111111111111111111111111111111",
            )
        );
        assert_eq!(
            hex(&e.hash()),
            "b971bc4bd9564a066cfa4b25eec8c65c14f1290fd850bb5279cde43132beb657"
        );
        assert_eq!(
            String::from_utf8(e.encode()).unwrap(),
            concat!(
                r#"{"format":"kms-audit-entry-v1","seq":7,"time_ms":1700000000000,"#,
                r#""origin":"https://app.example","op":"key.sign","key_id":"k1","outcome":"ok","#,
                r#""prev_hash":"ERERERERERERERERERERERERERERERERERERERERERE","#,
                r#""hash":"uXG8S9lWSgZs-ksl7sjGXBTxKQ_YULtSec3kMTK-tlc"}"#
            )
        );
    }

    #[test]
    fn checkpoint_known_answer() {
        let key = SigningKey::from_bytes(&[0x07; 32]);
        let head = Head::after(&vector_entry());
        assert_eq!(head.size, 8);
        let cp = Checkpoint::sign(&head, &key);
        assert_eq!(
            hex(&Checkpoint::message(cp.size, &cp.head)),
            concat!(
                "00000017",
                "6b6d733a61756469743a636865636b706f696e743a7631",
                "00000008",
                "0000000000000008",
                "00000020",
                "b971bc4bd9564a066cfa4b25eec8c65c14f1290fd850bb5279cde43132beb657",
            )
        );
        cp.verify(&key.verifying_key()).unwrap();
        assert_eq!(
            hex(key.verifying_key().as_bytes()),
            "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
        );
        let text = cp.to_json();
        assert_eq!(
            text,
            concat!(
                r#"{"format":"kms-audit-checkpoint-v1","size":8,"#,
                r#""head":"uXG8S9lWSgZs-ksl7sjGXBTxKQ_YULtSec3kMTK-tlc","#,
                r#""signature":"sIGjLCVchG-wyTmkgFVQKx34k4bglFLpHddMvJEjp2OKLDurLUsrMZLKSWp3tP4MRHJiMa_DrWzIsbjviVANCQ"}"#
            )
        );
        assert_eq!(Checkpoint::from_json(&text).unwrap(), cp);
    }

    #[test]
    fn none_and_empty_key_id_hash_differently() {
        let a = Entry::new(0, 0, "o", "x", None, Outcome::Ok, [0; 32]).unwrap();
        let b = Entry::new(0, 0, "o", "x", Some(""), Outcome::Ok, [0; 32]).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.encode(), b.encode());
        assert_eq!(Entry::decode(&b.encode()).unwrap().key_id(), Some(""));
        assert_eq!(Entry::decode(&a.encode()).unwrap().key_id(), None);
    }

    #[test]
    fn field_rules() {
        let long = "a".repeat(MAX_FIELD_LEN + 1);
        let max = "a".repeat(MAX_FIELD_LEN);
        let new = |origin: &str, op: &str, key_id: Option<&str>| {
            Entry::new(0, 0, origin, op, key_id, Outcome::Ok, [0; 32])
        };
        assert!(new(&max, &max, Some(&max)).is_ok());
        assert!(new("", "a", Some("")).is_ok());
        assert_eq!(
            new(&long, "a", None),
            Err(AuditError::FieldTooLong {
                field: "origin",
                max: 512,
                got: 513
            })
        );
        assert_eq!(
            new("", &long, None),
            Err(AuditError::FieldTooLong {
                field: "op",
                max: 512,
                got: 513
            })
        );
        assert_eq!(
            new("", "a", Some(&long)),
            Err(AuditError::FieldTooLong {
                field: "key_id",
                max: 512,
                got: 513
            })
        );
        assert_eq!(new("", "", None), Err(AuditError::EmptyOp));
        assert!(new("", "key.sign_2-b", None).is_ok());
        for (op, index) in [
            ("Key", 0),
            ("key sign", 3),
            ("kéy", 1),
            ("a/b", 1),
            ("a\n", 1),
        ] {
            assert_eq!(
                new("", op, None),
                Err(AuditError::InvalidOp { index }),
                "{op:?}"
            );
        }
        // Head::append applies the same rules.
        assert_eq!(
            Head::genesis().append(0, "", "A", None, Outcome::Ok),
            Err(AuditError::InvalidOp { index: 0 })
        );
    }

    #[test]
    fn append_chains_entries() {
        let (e0, h1) = Head::genesis()
            .append(5, "https://a.example", "key.create", Some("k"), Outcome::Ok)
            .unwrap();
        assert_eq!(e0.seq(), 0);
        assert_eq!(e0.time_ms(), 5);
        assert_eq!(e0.origin(), "https://a.example");
        assert_eq!(e0.op(), "key.create");
        assert_eq!(e0.key_id(), Some("k"));
        assert_eq!(e0.outcome(), Outcome::Ok);
        assert_eq!(e0.prev_hash(), &Head::GENESIS_HASH);
        assert_eq!(
            h1,
            Head {
                size: 1,
                hash: e0.hash()
            }
        );
        assert_eq!(Head::after(&e0), h1);
        let (e1, h2) = h1
            .append(6, "https://a.example", "key.sign", None, Outcome::Failed)
            .unwrap();
        assert_eq!(e1.seq(), 1);
        assert_eq!(e1.prev_hash(), &e0.hash());
        assert_eq!(verify_chain(&[e0, e1]).unwrap(), h2);
    }

    #[test]
    fn append_refuses_exhausted_sequence() {
        let full = Head {
            size: u64::MAX,
            hash: [0; 32],
        };
        assert_eq!(
            full.append(0, "", "a", None, Outcome::Ok),
            Err(AuditError::SequenceExhausted { size: u64::MAX })
        );
    }

    #[test]
    fn outcome_names() {
        for (o, s) in [
            (Outcome::Ok, "ok"),
            (Outcome::Denied, "denied"),
            (Outcome::Failed, "failed"),
        ] {
            assert_eq!(o.as_str(), s);
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<Outcome>(&format!("\"{s}\"")).unwrap(),
                o
            );
        }
        assert!(serde_json::from_str::<Outcome>("\"Ok\"").is_err());
    }

    #[test]
    fn decode_refuses_bad_inputs() {
        let good = String::from_utf8(vector_entry().encode()).unwrap();
        let cases = [
            good.replace("kms-audit-entry-v1", "kms-audit-entry-v2"),
            good.replace("\"seq\":7,", "\"seq\":7,\"extra\":1,"),
            good.replace("\"key_id\":\"k1\",", ""),
            good.replace("\"key_id\":\"k1\",", "\"key_id\":\"k1\",\"key_id\":\"k1\","),
            good.replace("\"outcome\":\"ok\"", "\"outcome\":\"OK\""),
            good.replace(",\"time_ms\"", ", \"time_ms\""),
            good.replace("\"seq\":7", "\"seq\":7.0"),
            good.replace("\"seq\":7", "\"seq\":-7"),
            good.replace("\"op\":\"key.sign\"", "\"op\":\"key.sig\\u006e\""),
            format!("{good}\n"),
            good.replace("tlc\"", "tlc=\""),
        ];
        for bad in &cases {
            assert!(Entry::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(matches!(
            Entry::decode(cases[0].as_bytes()),
            Err(AuditError::Format(FormatError::UnknownAlgorithm { .. }))
        ));
        assert!(Entry::decode(&[0xff, 0xfe]).is_err());
        // A changed field with the old hash.
        let changed = good.replace("\"key_id\":\"k1\"", "\"key_id\":\"k2\"");
        assert!(matches!(
            Entry::decode(changed.as_bytes()),
            Err(AuditError::HashMismatch { seq: 7, .. })
        ));
        // Field rules apply on decode too.
        let bad_op = good.replace("\"op\":\"key.sign\"", "\"op\":\"Key.sign\"");
        assert_eq!(
            Entry::decode(bad_op.as_bytes()),
            Err(AuditError::InvalidOp { index: 0 })
        );
    }

    #[test]
    fn strings_needing_escapes_round_trip() {
        let e = Entry::new(
            1,
            2,
            "o\"\\\n\u{1}é",
            "a",
            Some("k\"\t"),
            Outcome::Denied,
            [3; 32],
        )
        .unwrap();
        assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn checkpoint_signature_and_text_form() {
        let key = SigningKey::from_bytes(&[0x42; 32]);
        let other = SigningKey::from_bytes(&[0x43; 32]);
        let head = Head {
            size: 3,
            hash: [9; 32],
        };
        let cp = Checkpoint::sign(&head, &key);
        assert_eq!(cp.to_head(), head);
        cp.verify(&key.verifying_key()).unwrap();
        assert_eq!(
            cp.verify(&other.verifying_key()),
            Err(AuditError::BadSignature { size: 3 })
        );
        for tampered in [
            Checkpoint { size: 4, ..cp },
            Checkpoint {
                head: [8; 32],
                ..cp
            },
            Checkpoint {
                signature: [0; 64],
                ..cp
            },
        ] {
            assert!(tampered.verify(&key.verifying_key()).is_err());
        }
        let text = cp.to_json();
        assert!(text.starts_with("{\"format\":\"kms-audit-checkpoint-v1\",\"size\":3,\"head\":\""));
        assert_eq!(Checkpoint::from_json(&text).unwrap(), cp);
        assert!(Checkpoint::from_json(&text.replace("v1", "v2")).is_err());
        assert!(Checkpoint::from_json(&text.replace("\"size\":3,", "")).is_err());
        assert!(Checkpoint::from_json(&text.replace("\"size\":3,", "\"size\":3, ")).is_err());
        assert!(Checkpoint::from_json(&text.replace("}", ",\"x\":0}")).is_err());
    }

    #[test]
    fn error_messages_say_where_and_what() {
        let e = AuditError::SeqMismatch {
            expected: 4,
            got: 5,
        };
        assert_eq!(e.to_string(), "entry 4: sequence number expected 4, got 5");
        let e = AuditError::PrevHashMismatch {
            seq: 3,
            expected: [0xaa; 32],
            got: [0x01; 32],
        };
        assert_eq!(
            e.to_string(),
            format!(
                "entry 3: prev_hash expected {}, got {}",
                "aa".repeat(32),
                "01".repeat(32)
            )
        );
        let e = AuditError::Line {
            line: 2,
            source: Box::new(AuditError::Truncated {
                expected: 5,
                got: 4,
            }),
        };
        assert_eq!(
            e.to_string(),
            "line 2: log truncated: checkpoint covers 5 entries, got 4"
        );
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(unhex("00ab"), vec![0, 0xab]);
    }
}
