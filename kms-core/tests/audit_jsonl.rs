//! JSON-lines export and import of audit logs.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test on unexpected errors"
)]

use ed25519_dalek::SigningKey;
use kms_core::audit::{
    AuditError, Checkpoint, Entry, Head, Outcome, export_jsonl, export_jsonl_with_checkpoint,
    import_jsonl, verify,
};
use kms_core::format::FormatError;

fn log(n: usize) -> (Vec<Entry>, Head) {
    let mut head = Head::genesis();
    let mut entries = Vec::new();
    for i in 0..n {
        let (e, h) = head
            .append(
                i as u64 * 10,
                "https://app.example",
                "unlock.passphrase",
                None,
                Outcome::Ok,
            )
            .unwrap();
        entries.push(e);
        head = h;
    }
    (entries, head)
}

fn line_error(text: &str) -> (usize, AuditError) {
    match import_jsonl(text) {
        Err(AuditError::Line { line, source }) => (line, *source),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn export_layout() {
    let (entries, head) = log(3);
    let text = export_jsonl(&entries);
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert_eq!(lines.len(), 3);
    assert!(text.ends_with('\n'));
    for (line, e) in lines.iter().zip(&entries) {
        assert_eq!(line.as_bytes(), e.encode());
    }
    let key = SigningKey::from_bytes(&[1; 32]);
    let cp = Checkpoint::sign(&head, &key);
    let with_cp = export_jsonl_with_checkpoint(&entries, &cp);
    assert_eq!(with_cp, format!("{text}{}\n", cp.to_json()));
}

#[test]
fn round_trip_and_verify() {
    let key = SigningKey::from_bytes(&[1; 32]);
    for n in [0, 1, 5] {
        let (entries, head) = log(n);
        assert_eq!(
            import_jsonl(&export_jsonl(&entries)).unwrap(),
            (entries.clone(), None)
        );
        let cp = Checkpoint::sign(&head, &key);
        let (back, back_cp) = import_jsonl(&export_jsonl_with_checkpoint(&entries, &cp)).unwrap();
        assert_eq!(back, entries);
        assert_eq!(back_cp, Some(cp));
        assert!(verify(&back, &cp, &key.verifying_key()).is_ok());
    }
}

#[test]
fn line_endings() {
    let (entries, _) = log(2);
    let text = export_jsonl(&entries);
    // No final newline, and CRLF line ends, are accepted.
    assert_eq!(import_jsonl(text.trim_end()).unwrap().0, entries);
    assert_eq!(
        import_jsonl(&text.replace('\n', "\r\n")).unwrap().0,
        entries
    );
    assert_eq!(import_jsonl("").unwrap(), (vec![], None));
}

#[test]
fn errors_carry_line_numbers() {
    let (entries, head) = log(4);
    let key = SigningKey::from_bytes(&[1; 32]);
    let cp = Checkpoint::sign(&head, &key);
    let good = export_jsonl_with_checkpoint(&entries, &cp);
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();

    // A changed field on line 3 (entry 2) fails that line's hash check.
    let mut bad = lines.clone();
    bad[2] = bad[2].replace("\"time_ms\":20", "\"time_ms\":21");
    let (line, err) = line_error(&bad.join("\n"));
    assert_eq!(line, 3);
    assert!(
        matches!(err, AuditError::HashMismatch { seq: 2, .. }),
        "{err:?}"
    );
    let full = import_jsonl(&bad.join("\n")).unwrap_err().to_string();
    assert!(
        full.starts_with("line 3: entry 2: stored hash does not match"),
        "{full}"
    );

    // A blank line.
    let mut bad = lines.clone();
    bad.insert(1, String::new());
    let (line, err) = line_error(&bad.join("\n"));
    assert_eq!(line, 2);
    assert!(err.to_string().contains("empty line"), "{err}");

    // Something after the checkpoint.
    let mut bad = lines.clone();
    bad.push(lines[0].clone());
    let (line, err) = line_error(&bad.join("\n"));
    assert_eq!(line, 6);
    assert!(err.to_string().contains("follow the checkpoint"), "{err}");

    // An unknown format id.
    let mut bad = lines.clone();
    bad[1] = bad[1].replace("kms-audit-entry-v1", "kms-audit-entry-v9");
    let (line, err) = line_error(&bad.join("\n"));
    assert_eq!(line, 2);
    assert!(
        matches!(&err, AuditError::Format(FormatError::UnknownAlgorithm { got, .. }) if got == "kms-audit-entry-v9"),
        "{err:?}"
    );

    // Not JSON, or format not first.
    let (line, _) = line_error("nonsense");
    assert_eq!(line, 1);
    let reordered = lines[0]
        .replacen("{\"format\":\"kms-audit-entry-v1\",", "{", 1)
        .replace("}", ",\"format\":\"kms-audit-entry-v1\"}");
    let (line, err) = line_error(&reordered);
    assert_eq!(line, 1);
    assert!(err.to_string().contains("first field"), "{err}");

    // A malformed checkpoint on the last line.
    let last = lines.len() - 1;
    lines[last] = lines[last].replace("\"size\":4", "\"size\":04");
    let (line, _) = line_error(&lines.join("\n"));
    assert_eq!(line, 5);
}

#[test]
fn import_does_not_verify_the_chain() {
    // The import only parses; verification is a separate step.
    let (mut entries, head) = log(4);
    entries.swap(1, 2);
    let key = SigningKey::from_bytes(&[1; 32]);
    let cp = Checkpoint::sign(&head, &key);
    let (back, back_cp) = import_jsonl(&export_jsonl_with_checkpoint(&entries, &cp)).unwrap();
    assert_eq!(
        verify(&back, &back_cp.unwrap(), &key.verifying_key()),
        Err(AuditError::SeqMismatch {
            expected: 1,
            got: 2
        })
    );
}
