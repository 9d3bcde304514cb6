//! Asking witnesses to cosign a new checkpoint of the release log: the client side of C2SP
//! `tlog-witness` `add-checkpoint`.
//!
//! For each witness the client sends the checkpoint with a consistency proof from the size it
//! believes the witness holds. A witness that holds another size answers `409` with its size;
//! the client then retries once with a proof from that size. Only cosignatures that verify
//! under the witness's configured key are kept.

use std::time::Duration;

use kms_tlog::cosignature::{
    CosignatureError, CosignatureVerifier, add_cosignatures, verify_cosignatures,
};
use kms_tlog::log::{Log, LogError};
use kms_tlog::note::{Note, NoteError, NoteSignature};
use kms_tlog::proof::{ProofError, prove_consistency};
use kms_tlog::tree::Tree;
use kms_tlog::witness::{
    ADD_CHECKPOINT_PATH, AddCheckpoint, SIZE_CONTENT_TYPE, WitnessFormatError, parse_cosignatures,
    parse_size,
};

use crate::verify::VerifyError;

/// Largest answer read from a witness.
const MAX_ANSWER: u64 = 64 << 10;

/// A witness: where to reach it and the key its cosignatures verify under.
#[derive(Debug, Clone)]
pub struct WitnessEndpoint {
    /// The submission prefix, for example `https://witness.example/w1`.
    pub url: String,
    /// The witness's verifier key.
    pub key: CosignatureVerifier,
}

impl WitnessEndpoint {
    /// Parses `<vkey> <url>`: the witness's verifier key and its submission prefix, separated
    /// by one space (neither contains spaces).
    ///
    /// # Errors
    /// [`WitnessError::Endpoint`].
    pub fn parse(text: &str) -> Result<Self, WitnessError> {
        let bad = |reason: &'static str| WitnessError::Endpoint {
            text: text.to_owned(),
            reason,
        };
        let (vkey, url) = text
            .trim()
            .split_once(' ')
            .ok_or(bad("expected `<vkey> <url>`"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
            return Err(bad("expected an http:// or https:// URL after the key"));
        }
        let key = CosignatureVerifier::parse(vkey)
            .map_err(|_| bad("expected a witness verifier key (type 0x04)"))?;
        Ok(Self {
            url: url.to_owned(),
            key,
        })
    }
}

/// A witness did not cosign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// A witness endpoint string does not parse.
    #[error("witness {text:?}: {reason}")]
    Endpoint {
        /// The string.
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint to submit does not parse.
    #[error("the checkpoint does not parse")]
    Checkpoint(#[source] NoteError),
    /// The witness cannot be reached.
    #[error("witness {url}: {reason}")]
    Http {
        /// The witness URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The witness refused, with this status.
    #[error("witness {url} refused with status {status}: {body}")]
    Refused {
        /// The witness URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// The witness holds a size the log cannot prove from (larger than the log, or still
    /// conflicting after one retry).
    #[error("witness {url} holds size {size}, which cannot be proven to size {new}")]
    Conflict {
        /// The witness URL.
        url: String,
        /// The size it holds.
        size: u64,
        /// The checkpoint's size.
        new: u64,
    },
    /// An answer body is malformed.
    #[error("witness {url}")]
    Format {
        /// The witness URL.
        url: String,
        /// Why.
        #[source]
        source: WitnessFormatError,
    },
    /// A cosignature by the witness's key does not verify.
    #[error("witness {url}")]
    Cosignature {
        /// The witness URL.
        url: String,
        /// Why.
        #[source]
        source: CosignatureError,
    },
    /// The witness answered, but with no cosignature by its configured key.
    #[error("witness {url} returned no cosignature by {name}")]
    NoCosignature {
        /// The witness URL.
        url: String,
        /// The configured key name.
        name: String,
    },
    /// A consistency proof cannot be made from the log's tree.
    #[error("consistency proof")]
    Proof(#[from] ProofError),
    /// The log cannot be opened or its checkpoint saved.
    #[error("log")]
    Log(#[from] LogError),
}

/// The outcome of [`collect_cosignatures`].
#[derive(Debug)]
pub struct Collected {
    /// The checkpoint with the cosignatures that verified appended.
    pub note: String,
    /// The cosignature lines that verified, one or more per witness that cosigned.
    pub lines: Vec<NoteSignature>,
    /// The names of the witnesses that cosigned.
    pub cosigned: Vec<String>,
    /// The witnesses that did not, and why.
    pub failures: Vec<(String, WitnessError)>,
}

/// Asks every witness to cosign `signed`, the log's newest checkpoint of `tree` (the log's
/// Merkle tree, at least as large as the checkpoint). `old_size` is the size each witness is
/// first assumed to hold (the previous checkpoint's, or 0); a witness holding another size
/// is asked once more with a proof from its size. A witness that fails is listed in
/// [`Collected::failures`], not an error: the caller checks its quorum.
///
/// # Errors
/// [`WitnessError::Checkpoint`] if `signed` is not a signed checkpoint note.
pub fn collect_cosignatures(
    signed: &str,
    tree: &Tree,
    witnesses: &[WitnessEndpoint],
    old_size: u64,
) -> Result<Collected, WitnessError> {
    let note = Note::parse(signed.as_bytes()).map_err(WitnessError::Checkpoint)?;
    let size = kms_tlog::checkpoint::Checkpoint::parse_text(note.text())
        .map_err(|_| WitnessError::Checkpoint(NoteError::Malformed("not a checkpoint")))?
        .size;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut lines = Vec::new();
    let mut cosigned = Vec::new();
    let mut failures = Vec::new();
    for witness in witnesses {
        match request(&agent, witness, signed, &note, tree, size, old_size) {
            Ok(mut own) => {
                cosigned.push(witness.key.name().to_owned());
                lines.append(&mut own);
            }
            Err(e) => failures.push((witness.key.name().to_owned(), e)),
        }
    }
    let note = add_cosignatures(signed.as_bytes(), &lines).map_err(WitnessError::Checkpoint)?;
    Ok(Collected {
        note,
        lines,
        cosigned,
        failures,
    })
}

/// Asks the witnesses to cosign the saved checkpoint of the log in `log_dir` (see
/// [`collect_cosignatures`]) and saves the cosignatures that verified with it, so that the
/// log serves its checkpoint witnessed. Returns what was collected; the caller checks its
/// quorum on [`Collected::cosigned`].
///
/// # Errors
/// [`WitnessError::Log`] if the log cannot be opened, has no checkpoint or cannot be
/// written, [`WitnessError::Checkpoint`].
pub fn cosign_log(
    log_dir: &std::path::Path,
    witnesses: &[WitnessEndpoint],
    old_size: u64,
) -> Result<Collected, WitnessError> {
    let log = Log::open(log_dir)?;
    let (signed, _) = log.saved_checkpoint()?.ok_or(LogError::NoCheckpoint)?;
    let mut collected = collect_cosignatures(&signed, log.tree(), witnesses, old_size)?;
    collected.note = log.add_cosignatures(&collected.lines)?;
    Ok(collected)
}

/// One witness: submit from `old`, retry once from the size a 409 names.
fn request(
    agent: &ureq::Agent,
    witness: &WitnessEndpoint,
    signed: &str,
    note: &Note,
    tree: &Tree,
    size: u64,
    old: u64,
) -> Result<Vec<NoteSignature>, WitnessError> {
    let url = format!("{}{ADD_CHECKPOINT_PATH}", witness.url.trim_end_matches('/'));
    let mut old = old.min(size);
    for attempt in 0..2 {
        let proof = if old == 0 {
            Vec::new()
        } else {
            prove_consistency(tree, old, size)?
        };
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: signed.as_bytes().to_vec(),
        }
        .encode();
        let (status, content_type, answer) = post(agent, &url, &body)?;
        match status {
            200 => return own_cosignatures(witness, &url, note, &answer),
            409 if content_type.starts_with(SIZE_CONTENT_TYPE) => {
                let held = parse_size(&answer).map_err(|source| WitnessError::Format {
                    url: url.clone(),
                    source,
                })?;
                if attempt == 1 || held > size || held == old {
                    return Err(WitnessError::Conflict {
                        url,
                        size: held,
                        new: size,
                    });
                }
                old = held;
            }
            _ => {
                return Err(WitnessError::Refused {
                    url,
                    status,
                    body: String::from_utf8_lossy(&answer).chars().take(200).collect(),
                });
            }
        }
    }
    Err(WitnessError::Conflict {
        url,
        size: old,
        new: size,
    })
}

/// The answer's lines by the witness's key, verified; lines by other keys are ignored.
fn own_cosignatures(
    witness: &WitnessEndpoint,
    url: &str,
    note: &Note,
    answer: &[u8],
) -> Result<Vec<NoteSignature>, WitnessError> {
    let lines = parse_cosignatures(answer).map_err(|source| WitnessError::Format {
        url: url.to_owned(),
        source,
    })?;
    let own: Vec<NoteSignature> = lines
        .into_iter()
        .filter(|l| witness.key.matches(l))
        .collect();
    for line in &own {
        witness
            .key
            .verify(note.text(), line)
            .map_err(|source| WitnessError::Cosignature {
                url: url.to_owned(),
                source,
            })?;
    }
    if own.is_empty() {
        return Err(WitnessError::NoCosignature {
            url: url.to_owned(),
            name: witness.key.name().to_owned(),
        });
    }
    Ok(own)
}

fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), WitnessError> {
    let fail = |reason: String| WitnessError::Http {
        url: url.to_owned(),
        reason,
    };
    let mut response = agent
        .post(url)
        .send(body)
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let answer = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))?;
    Ok((status, content_type, answer))
}

/// Counts the cosignatures of `witnesses` on a signed checkpoint and checks the quorum;
/// returns the names of the witnesses that cosigned.
///
/// # Errors
/// [`VerifyError::Cosignature`] for a bad cosignature by a configured witness (or a note that
/// does not parse), [`VerifyError::QuorumNotMet`] for fewer than `quorum` witnesses.
pub fn check_quorum(
    signed: &[u8],
    witnesses: &[CosignatureVerifier],
    quorum: usize,
) -> Result<Vec<String>, VerifyError> {
    let note = Note::parse(signed).map_err(|e| VerifyError::Cosignature(e.into()))?;
    let found = verify_cosignatures(&note, witnesses)?;
    if found.len() < quorum {
        return Err(VerifyError::QuorumNotMet {
            needed: quorum,
            got: found.len(),
        });
    }
    Ok(found.into_iter().map(|c| c.witness).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::append_release;
    use crate::verify::tests::{deployment, key, options, temp_dir};
    use crate::verify::verify;
    use kms_tlog::checkpoint::Checkpoint;
    use kms_tlog::cosignature::CosignerKey;
    use kms_tlog::hash::leaf_hash;
    use kms_witness::server::{RunningWitness, start};
    use kms_witness::state::StateDir;
    use kms_witness::witness::Witness;

    fn witness_key(n: u8) -> CosignerKey {
        CosignerKey::from_seed(&format!("witness.example/w{n}"), &[n; 32]).unwrap()
    }

    fn serve(n: u8) -> (RunningWitness, WitnessEndpoint) {
        let witness = Witness::new(
            witness_key(n),
            vec![key().verifier()],
            StateDir::open(temp_dir(&format!("witness{n}"))).unwrap(),
        )
        .unwrap();
        let running = start(witness, "127.0.0.1:0".parse().unwrap()).unwrap();
        let endpoint = WitnessEndpoint {
            url: running.url(),
            key: witness_key(n).verifier(),
        };
        (running, endpoint)
    }

    #[test]
    fn cosignatures_are_collected_saved_and_counted_against_the_quorum() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let (_a, wa) = serve(1);
        let (_b, wb) = serve(2);
        let endpoints = [wa.clone(), wb.clone()];
        let manifest = deployment(&site, b"\0asm");
        append_release(&log, &key(), "0.1.0", &manifest).unwrap();
        let first = cosign_log(&log, &endpoints, 0).unwrap();
        assert_eq!(first.cosigned, ["witness.example/w1", "witness.example/w2"]);
        assert!(first.failures.is_empty(), "{:?}", first.failures);

        // A second release: the witnesses hold size 1, the client first claims 0, is told
        // 1 (409) and retries once with a proof from 1.
        let manifest = deployment(&site, b"\0asm 2");
        append_release(&log, &key(), "0.2.0", &manifest).unwrap();
        let second = cosign_log(&log, &endpoints, 0).unwrap();
        assert_eq!(second.cosigned.len(), 2, "{:?}", second.failures);
        assert_eq!(
            Checkpoint::open(second.note.as_bytes(), &key().verifier())
                .unwrap()
                .size,
            2
        );

        // Verification with a quorum of the two.
        let mut opts = options(&site, &log, &key(), &state.join("t"));
        opts.witnesses = vec![wa.key.clone(), wb.key.clone()];
        opts.quorum = 2;
        let mut lines = Vec::new();
        verify(&opts, &mut |l| lines.push(l.to_owned())).unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ok  witnessed: cosigned by 2 of 2")),
            "{lines:?}"
        );
        // A third witness that never cosigned: 2 of 3 meets a quorum of 2, not of 3.
        opts.witnesses.push(witness_key(3).verifier());
        verify(&opts, &mut |_| {}).unwrap();
        opts.quorum = 3;
        let err = verify(&opts, &mut |_| {});
        assert!(
            matches!(err, Err(VerifyError::QuorumNotMet { needed: 3, got: 2 })),
            "{err:?}"
        );
        assert!(err.unwrap_err().to_string().starts_with("QUORUM NOT MET"));
    }

    #[test]
    fn without_witnesses_nothing_changes_and_an_unwitnessed_log_fails_a_quorum() {
        let (site, log, state) = (temp_dir("site"), temp_dir("log"), temp_dir("state"));
        let manifest = deployment(&site, b"\0asm");
        append_release(&log, &key(), "0.1.0", &manifest).unwrap();
        let mut opts = options(&site, &log, &key(), &state.join("t"));
        verify(&opts, &mut |_| {}).unwrap();
        opts.witnesses = vec![witness_key(1).verifier()];
        opts.quorum = 1;
        let err = verify(&opts, &mut |_| {});
        assert!(
            matches!(err, Err(VerifyError::QuorumNotMet { needed: 1, got: 0 })),
            "{err:?}"
        );
    }

    #[test]
    fn a_witness_that_saw_a_fork_does_not_cosign() {
        let (site, log) = (temp_dir("site"), temp_dir("log"));
        let (_a, wa) = serve(1);
        let (_c, wc) = serve(3);
        // Witness 3 was shown another history of one entry by the same log key.
        let fork = Tree::from_leaf_hashes([leaf_hash(b"forked entry\n")]);
        let forked = Checkpoint::new(key().name(), 1, fork.root())
            .sign(&key())
            .unwrap();
        let seen = collect_cosignatures(&forked, &fork, std::slice::from_ref(&wc), 0).unwrap();
        assert_eq!(seen.cosigned.len(), 1);

        let manifest = deployment(&site, b"\0asm");
        append_release(&log, &key(), "0.1.0", &manifest).unwrap();
        append_release(&log, &key(), "0.2.0", &deployment(&site, b"two")).unwrap();
        let collected = cosign_log(&log, &[wa, wc], 0).unwrap();
        assert_eq!(collected.cosigned, ["witness.example/w1"]);
        assert_eq!(collected.failures.len(), 1);
        assert!(
            matches!(
                collected.failures[0].1,
                WitnessError::Refused { status: 422, .. }
            ),
            "{:?}",
            collected.failures
        );
    }

    #[test]
    fn endpoints_parse() {
        let vkey = witness_key(1).verifier().to_string();
        let e = WitnessEndpoint::parse(&format!("{vkey} http://127.0.0.1:8090/w1")).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:8090/w1");
        assert_eq!(e.key, witness_key(1).verifier());
        for bad in [
            vkey.clone(),
            format!("{vkey} ftp://x"),
            format!("http://x {vkey}"),
            format!("{} http://x", key().verifier()),
        ] {
            assert!(WitnessEndpoint::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unreachable_witness_is_a_failure_not_an_error() {
        let log = temp_dir("log");
        let site = temp_dir("site");
        append_release(&log, &key(), "0.1.0", &deployment(&site, b"\0asm")).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let endpoint = WitnessEndpoint {
            url,
            key: witness_key(1).verifier(),
        };
        let collected = cosign_log(&log, &[endpoint], 0).unwrap();
        assert!(collected.cosigned.is_empty());
        assert!(matches!(collected.failures[0].1, WitnessError::Http { .. }));
    }
}
