//! The store conformance suite: the behaviour every [`Store`] must have.
//!
//! Every implementation runs the same checks — the in-memory store in `cargo test`, the
//! IndexedDB store in a real browser, the SQLite store natively — so the service can rely on
//! one contract. Each check gets a fresh, empty store from the factory.
//!
//! ```
//! # use kms_core::store::{MemoryStore, conformance};
//! let report = pollster::block_on(conformance::run(MemoryStore::new)).unwrap();
//! assert_eq!(report.checks, conformance::CHECKS.len());
//! ```

use super::{Check, Store, StoreError, Transaction};

/// What a passing run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Number of checks that passed (all of them).
    pub checks: usize,
}

/// The first failing check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store conformance check `{check}` failed: {detail}")]
pub struct Failure {
    /// Name of the check.
    pub check: &'static str,
    /// What was observed.
    pub detail: String,
}

/// Names of the checks, in the order they run.
pub const CHECKS: &[&str] = &[
    "missing_record_reads_as_none",
    "put_get_overwrite",
    "delete",
    "binary_and_large_values",
    "list_by_prefix_sorted",
    "failed_check_writes_nothing",
    "equals_check",
    "audit_append_and_read",
    "audit_logs_are_independent",
    "audit_seq_conflict_writes_nothing",
    "invalid_transaction_rejected",
    "second_consumer_conflicts",
];

type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

fn e(err: StoreError) -> String {
    format!("unexpected store error: {err}")
}

/// Runs every check, each on a fresh store from `fresh`.
///
/// # Errors
/// The first [`Failure`].
pub async fn run<S: Store, F: FnMut() -> S>(mut fresh: F) -> Result<Report, Failure> {
    let mut checks = 0;
    for &name in CHECKS {
        let store = fresh();
        let outcome = run_one(name, &store).await;
        outcome.map_err(|detail| Failure {
            check: name,
            detail,
        })?;
        checks += 1;
    }
    Ok(Report { checks })
}

async fn run_one<S: Store>(name: &str, s: &S) -> Outcome {
    match name {
        "missing_record_reads_as_none" => missing(s).await,
        "put_get_overwrite" => put_get(s).await,
        "delete" => delete(s).await,
        "binary_and_large_values" => binary(s).await,
        "list_by_prefix_sorted" => list(s).await,
        "failed_check_writes_nothing" => failed_check(s).await,
        "equals_check" => equals(s).await,
        "audit_append_and_read" => audit(s).await,
        "audit_logs_are_independent" => audit_independent(s).await,
        "audit_seq_conflict_writes_nothing" => audit_conflict(s).await,
        "invalid_transaction_rejected" => invalid(s).await,
        "second_consumer_conflicts" => consume_once(s).await,
        other => Err(format!("no such check {other}")),
    }
}

async fn put(s: &impl Store, k: &str, v: &[u8]) -> Outcome {
    let mut tx = Transaction::new();
    tx.put(k, v.to_vec());
    s.commit(tx).await.map_err(e)
}

async fn missing(s: &impl Store) -> Outcome {
    ensure!(
        s.get("nope").await.map_err(e)?.is_none(),
        "a missing record read as present"
    );
    ensure!(
        s.list("").await.map_err(e)?.is_empty(),
        "a fresh store lists records"
    );
    ensure!(
        s.audit_len("log").await.map_err(e)? == 0,
        "a fresh log is not empty"
    );
    ensure!(
        s.audit_read("log", 0, 10).await.map_err(e)?.is_empty(),
        "a fresh log has entries"
    );
    Ok(())
}

async fn put_get(s: &impl Store) -> Outcome {
    put(s, "a", b"1").await?;
    ensure!(
        s.get("a").await.map_err(e)? == Some(b"1".to_vec()),
        "read back differs"
    );
    put(s, "a", b"22").await?;
    ensure!(
        s.get("a").await.map_err(e)? == Some(b"22".to_vec()),
        "overwrite not visible"
    );
    Ok(())
}

async fn delete(s: &impl Store) -> Outcome {
    put(s, "a", b"1").await?;
    put(s, "b", b"2").await?;
    let mut tx = Transaction::new();
    tx.delete("a").delete("never-existed");
    s.commit(tx).await.map_err(e)?;
    ensure!(
        s.get("a").await.map_err(e)?.is_none(),
        "deleted record still present"
    );
    ensure!(
        s.get("b").await.map_err(e)?.is_some(),
        "unrelated record deleted"
    );
    Ok(())
}

async fn binary(s: &impl Store) -> Outcome {
    let all: Vec<u8> = (0..=255u8).collect();
    let large: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    put(s, "bin", &all).await?;
    put(s, "empty", b"").await?;
    put(s, "large", &large).await?;
    put(s, "k/https://app.example:8080/ключ", b"x").await?;
    ensure!(
        s.get("bin").await.map_err(e)? == Some(all),
        "byte values altered"
    );
    ensure!(
        s.get("empty").await.map_err(e)? == Some(Vec::new()),
        "empty value altered"
    );
    ensure!(
        s.get("large").await.map_err(e)? == Some(large),
        "1 MiB value altered"
    );
    ensure!(
        s.get("k/https://app.example:8080/ключ").await.map_err(e)? == Some(b"x".to_vec()),
        "non-ASCII key lost"
    );
    Ok(())
}

async fn list(s: &impl Store) -> Outcome {
    for k in ["k/b/2", "k/a/1", "k/ab/3", "k/a/0", "j/a/9", "l"] {
        put(s, k, k.as_bytes()).await?;
    }
    let got: Vec<String> = s
        .list("k/a/")
        .await
        .map_err(e)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    ensure!(got == ["k/a/0", "k/a/1"], "list(\"k/a/\") gave {got:?}");
    let all = s.list("k/").await.map_err(e)?;
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    ensure!(
        keys == ["k/a/0", "k/a/1", "k/ab/3", "k/b/2"],
        "list(\"k/\") gave {keys:?}"
    );
    ensure!(
        all.iter().all(|(k, v)| k.as_bytes() == v),
        "list returned wrong values"
    );
    Ok(())
}

async fn failed_check(s: &impl Store) -> Outcome {
    put(s, "taken", b"1").await?;
    let mut tx = Transaction::new();
    tx.check(Check::Absent("taken".into()))
        .put("new", b"x".to_vec())
        .delete("taken")
        .append("log", 0, b"entry".to_vec());
    let r = s.commit(tx).await;
    ensure!(
        r == Err(StoreError::Conflict),
        "expected Conflict, got {r:?}"
    );
    ensure!(
        s.get("new").await.map_err(e)?.is_none(),
        "put applied despite failed check"
    );
    ensure!(
        s.get("taken").await.map_err(e)?.is_some(),
        "delete applied despite failed check"
    );
    ensure!(
        s.audit_len("log").await.map_err(e)? == 0,
        "audit appended despite failed check"
    );
    Ok(())
}

async fn equals(s: &impl Store) -> Outcome {
    put(s, "v", b"old").await?;
    let mut stale = Transaction::new();
    stale
        .check(Check::Equals("v".into(), b"older".to_vec()))
        .put("v", b"lost".to_vec());
    let r = s.commit(stale).await;
    ensure!(
        r == Err(StoreError::Conflict),
        "stale Equals: expected Conflict, got {r:?}"
    );
    let mut fresh = Transaction::new();
    fresh
        .check(Check::Equals("v".into(), b"old".to_vec()))
        .put("v", b"new".to_vec());
    s.commit(fresh).await.map_err(e)?;
    ensure!(
        s.get("v").await.map_err(e)? == Some(b"new".to_vec()),
        "Equals commit not applied"
    );
    let mut gone = Transaction::new();
    gone.check(Check::Equals("missing".into(), Vec::new()));
    let r = s.commit(gone).await;
    ensure!(
        r == Err(StoreError::Conflict),
        "Equals on a missing record: got {r:?}"
    );
    Ok(())
}

async fn audit(s: &impl Store) -> Outcome {
    for seq in 0..5u64 {
        let mut tx = Transaction::new();
        tx.append("log", seq, vec![seq as u8; seq as usize + 1]);
        s.commit(tx).await.map_err(e)?;
    }
    let mut two = Transaction::new();
    two.append("log", 5, vec![5]).append("log", 6, vec![6]);
    s.commit(two).await.map_err(e)?;
    ensure!(s.audit_len("log").await.map_err(e)? == 7, "wrong length");
    let mid = s.audit_read("log", 2, 3).await.map_err(e)?;
    ensure!(
        mid == [vec![2; 3], vec![3; 4], vec![4; 5]],
        "audit_read(2, 3) gave {mid:?}"
    );
    let tail = s.audit_read("log", 5, 100).await.map_err(e)?;
    ensure!(
        tail == [vec![5], vec![6]],
        "audit_read past the end gave {tail:?}"
    );
    ensure!(
        s.audit_read("log", 7, 1).await.map_err(e)?.is_empty(),
        "read beyond end"
    );
    Ok(())
}

async fn audit_independent(s: &impl Store) -> Outcome {
    let mut tx = Transaction::new();
    tx.append("a", 0, b"a0".to_vec())
        .append("b", 0, b"b0".to_vec())
        .append("a", 1, b"a1".to_vec());
    s.commit(tx).await.map_err(e)?;
    ensure!(s.audit_len("a").await.map_err(e)? == 2, "log a length");
    ensure!(s.audit_len("b").await.map_err(e)? == 1, "log b length");
    ensure!(
        s.audit_len("ab").await.map_err(e)? == 0,
        "log names must not be prefixes"
    );
    Ok(())
}

async fn audit_conflict(s: &impl Store) -> Outcome {
    let mut first = Transaction::new();
    first.append("log", 0, b"e0".to_vec());
    s.commit(first).await.map_err(e)?;
    // A writer that read the log before `first` tries to append at seq 0 too.
    let mut racing = Transaction::new();
    racing
        .put("state", b"changed".to_vec())
        .append("log", 0, b"other".to_vec());
    let r = s.commit(racing).await;
    ensure!(
        r == Err(StoreError::Conflict),
        "expected Conflict, got {r:?}"
    );
    ensure!(
        s.get("state").await.map_err(e)?.is_none(),
        "state written although its audit append failed"
    );
    ensure!(
        s.audit_read("log", 0, 5).await.map_err(e)? == [b"e0".to_vec()],
        "log altered"
    );
    // A writer whose view of the log is ahead of it (a gap), with a write queued behind
    // the append: neither lands.
    let mut gap = Transaction::new();
    gap.put("state", b"gap".to_vec())
        .append("log", 5, b"gap".to_vec());
    let r = s.commit(gap).await;
    ensure!(
        r == Err(StoreError::Conflict),
        "append leaving a gap: got {r:?}"
    );
    ensure!(
        s.get("state").await.map_err(e)?.is_none(),
        "state written although its append left a gap"
    );
    ensure!(
        s.audit_len("log").await.map_err(e)? == 1,
        "log altered by a refused append"
    );
    Ok(())
}

async fn invalid(s: &impl Store) -> Outcome {
    let mut tx = Transaction::new();
    tx.put("x", vec![1]).delete("x");
    let r = s.commit(tx).await;
    ensure!(
        matches!(r, Err(StoreError::Invalid(_))),
        "put+delete of one key: got {r:?}"
    );
    let mut tx = Transaction::new();
    tx.append("log", 0, vec![]).append("log", 2, vec![]);
    let r = s.commit(tx).await;
    ensure!(
        matches!(r, Err(StoreError::Invalid(_))),
        "non-contiguous appends: got {r:?}"
    );
    ensure!(
        s.get("x").await.map_err(e)?.is_none(),
        "invalid transaction wrote"
    );
    ensure!(
        s.audit_len("log").await.map_err(e)? == 0,
        "invalid transaction appended"
    );
    Ok(())
}

async fn consume_once(s: &impl Store) -> Outcome {
    // Two consumers read the same one-time key, then both try to delete it conditionally.
    put(s, "otpk/1", b"key").await?;
    let consume = |who: &'static [u8]| {
        let mut tx = Transaction::new();
        tx.check(Check::Equals("otpk/1".into(), b"key".to_vec()))
            .delete("otpk/1")
            .put("consumed-by", who.to_vec());
        tx
    };
    let first = s.commit(consume(b"tab-1")).await;
    let second = s.commit(consume(b"tab-2")).await;
    ensure!(first.is_ok(), "first consumer failed: {first:?}");
    ensure!(
        second == Err(StoreError::Conflict),
        "second consumer got {second:?}"
    );
    ensure!(
        s.get("consumed-by").await.map_err(e)? == Some(b"tab-1".to_vec()),
        "wrong winner"
    );
    Ok(())
}
