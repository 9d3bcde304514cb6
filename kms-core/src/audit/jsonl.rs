//! Export and import of a log as JSON lines.

use std::borrow::Cow;

use serde::Deserialize;

use super::{AUDIT_CHECKPOINT_V1, AuditError, Checkpoint, Entry};
use crate::format::{AUDIT_ENTRY_V1, FormatError};

/// Exports entries as JSON lines: each entry's stored form ([`Entry::encode`]) followed by
/// `\n`, in the order given.
pub fn export_jsonl(entries: &[Entry]) -> String {
    let mut out = String::new();
    for entry in entries {
        out.push_str(&entry.to_json());
        out.push('\n');
    }
    out
}

/// Exports entries as [`export_jsonl`] does, then the checkpoint's text form
/// ([`Checkpoint::to_json`]) as a final line ending in `\n`.
pub fn export_jsonl_with_checkpoint(entries: &[Entry], checkpoint: &Checkpoint) -> String {
    let mut out = export_jsonl(entries);
    out.push_str(&checkpoint.to_json());
    out.push('\n');
    out
}

/// Reads an export: entry lines, optionally followed by one checkpoint line.
///
/// Lines end in `\n` (a `\r` before it is ignored); the last line may lack it. Each entry
/// line is read with [`Entry::decode`], so its stored hash is checked; the chain and the
/// checkpoint signature are not: pass the result to [`super::verify`].
///
/// # Errors
/// [`AuditError::Line`] with the 1-based line number, wrapping the error of
/// [`Entry::decode`] or [`Checkpoint::from_json`], or an [`AuditError::Format`] error for an
/// empty line, a line with another format id, or a line after the checkpoint.
pub fn import_jsonl(text: &str) -> Result<(Vec<Entry>, Option<Checkpoint>), AuditError> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut entries = Vec::new();
    let mut checkpoint = None;
    if body.is_empty() {
        return Ok((entries, checkpoint));
    }
    for (index, raw) in body.split('\n').enumerate() {
        let line = index.saturating_add(1);
        let at = |source: AuditError| AuditError::Line {
            line,
            source: Box::new(source),
        };
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        if checkpoint.is_some() {
            return Err(at(AuditError::malformed(
                WHAT,
                "nothing may follow the checkpoint line",
            )));
        }
        if has_format(content, AUDIT_ENTRY_V1) {
            entries.push(Entry::from_json(content).map_err(at)?);
        } else if has_format(content, AUDIT_CHECKPOINT_V1) {
            checkpoint = Some(Checkpoint::from_json(content).map_err(at)?);
        } else {
            return Err(at(classify(content)));
        }
    }
    Ok((entries, checkpoint))
}

const WHAT: &str = "audit export";

/// True when `line` starts the way the canonical form of format `id` starts.
fn has_format(line: &str, id: &str) -> bool {
    line.strip_prefix("{\"format\":\"")
        .and_then(|rest| rest.strip_prefix(id))
        .is_some_and(|rest| rest.starts_with("\","))
}

/// The error for a line that is neither an entry nor a checkpoint.
fn classify(line: &str) -> AuditError {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        format: Cow<'a, str>,
    }
    if line.is_empty() {
        return AuditError::malformed(WHAT, "empty line");
    }
    match serde_json::from_str::<Probe<'_>>(line) {
        Ok(probe) if probe.format != AUDIT_ENTRY_V1 && probe.format != AUDIT_CHECKPOINT_V1 => {
            AuditError::Format(FormatError::UnknownAlgorithm {
                expected: "kms-audit-entry-v1 or kms-audit-checkpoint-v1",
                got: probe.format.chars().take(64).collect(),
            })
        }
        Ok(_) => AuditError::malformed(WHAT, "format must be the first field"),
        Err(e) => AuditError::malformed(WHAT, e.to_string()),
    }
}
