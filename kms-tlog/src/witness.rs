//! The wire format of C2SP `tlog-witness` (c2sp.org/tlog-witness) `add-checkpoint`: the
//! request body a log sends to a witness and the bodies a witness answers with. The HTTP
//! service itself is the `kms-witness` crate; this module has no I/O.
//!
//! Request body (`POST <prefix>/add-checkpoint`), each line ending in a newline:
//!
//! ```text
//! old <size of the witness's last cosigned checkpoint, decimal>
//! <base64 consistency proof hash>       (0 to 63 lines, RFC 6962 §2.1.2)
//!
//! <signed checkpoint note>
//! ```
//!
//! Responses: `200` with one or more cosignature lines (`— <name> <base64>`), or `409` with
//! the witness's size as `<decimal>\n` and `Content-Type: text/x.tlog.size`.

use crate::checkpoint::{decode_hash, encode_hash, parse_decimal};
use crate::hash::Hash;
use crate::note::{MAX_NOTE_LEN, NoteError, NoteSignature};

/// The endpoint below the submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";
/// Content type of a `409 Conflict` body carrying the witness's tree size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// Most consistency proof lines a request may carry ("MUST NOT send more than 63").
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body accepted: a note and the proof lines.
pub const MAX_REQUEST_LEN: usize = MAX_NOTE_LEN + 4096;

/// A request or response body breaks the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessFormatError {
    /// The add-checkpoint request body is malformed.
    #[error("malformed add-checkpoint request: {0}")]
    Request(&'static str),
    /// A response body is malformed.
    #[error("malformed witness response: {0}")]
    Response(&'static str),
    /// A cosignature line does not parse.
    #[error(transparent)]
    Line(#[from] NoteError),
}

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last (0 if none).
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size (empty when
    /// `old_size` is 0).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            out.push_str(&encode_hash(hash));
            out.push('\n');
        }
        out.push('\n');
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body. The checkpoint is not parsed (the witness opens it with the
    /// log's key).
    ///
    /// # Errors
    /// [`WitnessFormatError::Request`]: too long, no `old` line, a size with a sign or
    /// leading zeroes, a proof line that is not base64 of 32 bytes, more than 63 of them, no
    /// blank line.
    pub fn parse(body: &[u8]) -> Result<Self, WitnessFormatError> {
        let bad = WitnessFormatError::Request;
        if body.len() > MAX_REQUEST_LEN {
            return Err(bad("request too long"));
        }
        let mut rest = body;
        let mut next_line = || -> Result<&[u8], WitnessFormatError> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or(bad("expected a line ending in a newline"))?;
            let line = &rest[..end];
            rest = &rest[end + 1..];
            Ok(line)
        };
        let old = next_line()?;
        let old_size = std::str::from_utf8(old)
            .ok()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or(bad("expected `old <size>`, decimal without leading zeroes"))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash = std::str::from_utf8(line)
                .ok()
                .and_then(decode_hash)
                .ok_or(bad("a proof line must be base64 of 32 bytes"))?;
            proof.push(hash);
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: rest.to_vec(),
        })
    }
}

/// The body of a `409 Conflict` answer: the size and a newline.
pub fn encode_size(size: u64) -> String {
    format!("{size}\n")
}

/// Parses a `409 Conflict` body.
///
/// # Errors
/// [`WitnessFormatError::Response`] unless it is a canonical decimal and a newline.
pub fn parse_size(body: &[u8]) -> Result<u64, WitnessFormatError> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.strip_suffix('\n'))
        .and_then(parse_decimal)
        .ok_or(WitnessFormatError::Response(
            "expected a decimal size and a newline",
        ))
}

/// The body of a `200` answer: the cosignature lines.
pub fn encode_cosignatures(lines: &[NoteSignature]) -> String {
    lines.iter().map(NoteSignature::to_line).collect()
}

/// Parses a `200` answer into its signature lines (not verified).
///
/// # Errors
/// [`WitnessFormatError::Response`] for an empty body or one not ending in a newline,
/// [`WitnessFormatError::Line`] for a line that is not a note signature.
pub fn parse_cosignatures(body: &[u8]) -> Result<Vec<NoteSignature>, WitnessFormatError> {
    let text = std::str::from_utf8(body).map_err(|_| WitnessFormatError::Response("not UTF-8"))?;
    let lines = text.strip_suffix('\n').ok_or(WitnessFormatError::Response(
        "expected lines ending in a newline",
    ))?;
    if lines.is_empty() {
        return Err(WitnessFormatError::Response("no cosignature"));
    }
    lines
        .split('\n')
        .map(|l| NoteSignature::parse_line(l).map_err(WitnessFormatError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let req = AddCheckpoint {
            old_size: 20_852_014,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: b"o\n1\nr\n\n\xe2\x80\x94 o AAAA\n".to_vec(),
        };
        let body = req.encode();
        assert!(body.starts_with(b"old 20852014\nAQEB"));
        assert_eq!(AddCheckpoint::parse(&body).unwrap(), req);
        let empty = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: b"c".to_vec(),
        };
        assert_eq!(empty.encode(), b"old 0\n\nc");
        assert_eq!(AddCheckpoint::parse(b"old 0\n\nc").unwrap(), empty);
    }

    #[test]
    fn malformed_requests_are_refused() {
        let hash = encode_hash(&[3; 32]);
        let many = format!("old 1\n{}\nc", format!("{hash}\n").repeat(64));
        let cases = [
            String::new(),
            "old 1".into(),
            "old 1\nc".into(),
            "old 01\n\nc".into(),
            "old -1\n\nc".into(),
            "old  1\n\nc".into(),
            "new 1\n\nc".into(),
            "old 18446744073709551616\n\nc".into(),
            format!("old 1\n{}\n\nc", &hash[1..]),
            format!("old 1\n{hash} \n\nc"),
            many,
        ];
        for case in &cases {
            assert!(AddCheckpoint::parse(case.as_bytes()).is_err(), "{case:?}");
        }
        let enough = format!("old 1\n{}\nc", format!("{hash}\n").repeat(63));
        assert_eq!(
            AddCheckpoint::parse(enough.as_bytes()).unwrap().proof.len(),
            63
        );
    }

    #[test]
    fn the_spec_example_request_parses() {
        // The example request body of c2sp.org/tlog-witness.
        let body = "old 20852014\n\
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
            \n\
            example.com/behind-the-sofa\n\
            20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let req = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!(req.old_size, 20_852_014);
        assert_eq!(req.proof.len(), 4);
        assert!(
            req.checkpoint
                .starts_with(b"example.com/behind-the-sofa\n20852163\n")
        );
        assert_eq!(req.encode(), body.as_bytes());
    }

    #[test]
    fn sizes_and_cosignature_bodies() {
        assert_eq!(encode_size(42), "42\n");
        assert_eq!(parse_size(b"42\n"), Ok(42));
        for bad in [&b"42"[..], b"042\n", b"\n", b"4 2\n"] {
            assert!(parse_size(bad).is_err());
        }
        let line = NoteSignature {
            name: "w".into(),
            key_id: 7,
            signature: vec![1; 72],
        };
        let body = encode_cosignatures(&[line.clone(), line.clone()]);
        assert_eq!(
            parse_cosignatures(body.as_bytes()).unwrap(),
            vec![line.clone(), line]
        );
        assert!(parse_cosignatures(b"").is_err());
        assert!(parse_cosignatures(b"\n").is_err());
        assert!(parse_cosignatures(b"- w AAAAAAAA\n").is_err());
    }
}
