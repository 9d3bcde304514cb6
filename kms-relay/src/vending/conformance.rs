//! The behaviour every [`VendingStore`] must have, run against SQLite and PostgreSQL alike,
//! and over HTTP against any vending server (the Worker on D1 among them) through
//! [`super::http::HttpVending`]. Each check gets a fresh, empty store from the factory.

use std::collections::HashSet;

use kms_core::envelope::{EnvelopeFormat, PrekeySecret, PrekeyUse, SignedPrekey};
use kms_core::signal::identity::IdentityKeyPair;

use super::{Counts, MAX_BATCH, VendingError, VendingStore};

/// Names of the checks, in the order they run.
pub const CHECKS: &[&str] = &[
    "empty_store",
    "take_each_once_oldest_first",
    "duplicates_never_revive",
    "oversized_batch_writes_nothing",
    "concurrent_takes_are_exactly_once",
    "epoch_key_set_and_replaced",
];

/// The first failing check.
#[derive(Debug, thiserror::Error)]
#[error("vending conformance check `{check}` failed")]
pub struct Failure {
    /// Name of the check.
    pub check: &'static str,
    /// What was observed.
    #[source]
    pub detail: Detail,
}

/// What a failing check observed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Detail {
    /// The store answered, but not as the check requires.
    #[error("{0}")]
    Unexpected(String),
    /// The store returned an error.
    #[error(transparent)]
    Backend(VendingError),
}

/// Signed X25519 prekeys `"<prefix>-<i>"` for tests and load tests, under a fresh identity.
pub fn make_prekeys(prefix: &str, count: usize, use_: PrekeyUse) -> Vec<SignedPrekey> {
    make_prekeys_by(
        &IdentityKeyPair::generate(&mut rand::rng()),
        prefix,
        count,
        use_,
    )
}

/// Signed X25519 prekeys `"<prefix>-<i>"` under `owner`'s identity (what a server that checks
/// the owner's signature accepts).
pub fn make_prekeys_by(
    owner: &IdentityKeyPair,
    prefix: &str,
    count: usize,
    use_: PrekeyUse,
) -> Vec<SignedPrekey> {
    let mut rng = rand::rng();
    (0..count)
        .filter_map(|i| {
            PrekeySecret::generate(EnvelopeFormat::X25519AesGcmV1, &mut rng)
                .sign_public(owner, &format!("{prefix}-{i}"), use_, &mut rng)
                .ok()
        })
        .collect()
}

fn fail(check: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        check,
        detail: Detail::Unexpected(detail.into()),
    }
}

fn backend(check: &'static str) -> impl Fn(VendingError) -> Failure {
    move |e| Failure {
        check,
        detail: Detail::Backend(e),
    }
}

fn expect<T: PartialEq + core::fmt::Debug>(
    check: &'static str,
    what: &str,
    got: T,
    want: T,
) -> Result<(), Failure> {
    if got == want {
        Ok(())
    } else {
        Err(fail(
            check,
            format!("{what}: expected {want:?}, got {got:?}"),
        ))
    }
}

/// Runs every check; returns how many passed (all of them) or the first failure.
///
/// # Errors
/// The first [`Failure`].
pub fn run<S: VendingStore, F: FnMut() -> Result<S, VendingError>>(
    fresh: F,
) -> Result<usize, Failure> {
    run_as(&IdentityKeyPair::generate(&mut rand::rng()), fresh)
}

/// [`run`] with every prekey signed by `owner` (for a server that accepts only the owner's).
///
/// # Errors
/// The first [`Failure`].
pub fn run_as<S: VendingStore, F: FnMut() -> Result<S, VendingError>>(
    owner: &IdentityKeyPair,
    mut fresh: F,
) -> Result<usize, Failure> {
    let mut get = |check: &'static str| fresh().map_err(backend(check));
    let make_prekeys =
        |prefix: &str, count: usize, use_: PrekeyUse| make_prekeys_by(owner, prefix, count, use_);

    let c = "empty_store";
    let s = get(c)?;
    expect(c, "take", s.take(1).map_err(backend(c))?, None)?;
    expect(
        c,
        "counts",
        s.counts().map_err(backend(c))?,
        Counts {
            available: 0,
            consumed: 0,
        },
    )?;
    expect(c, "epoch", s.epoch().map_err(backend(c))?, None)?;

    let c = "take_each_once_oldest_first";
    let s = get(c)?;
    let keys = make_prekeys("a", 5, PrekeyUse::OneTime);
    let out = s.upload(&keys, 10).map_err(backend(c))?;
    expect(c, "inserted", out.inserted, 5)?;
    for (i, k) in keys.iter().enumerate() {
        let got = s.take(20 + i as u64).map_err(backend(c))?;
        expect(c, "taken key", got.as_ref(), Some(k))?;
    }
    expect(c, "take after all", s.take(30).map_err(backend(c))?, None)?;
    expect(
        c,
        "counts",
        s.counts().map_err(backend(c))?,
        Counts {
            available: 0,
            consumed: 5,
        },
    )?;

    let c = "duplicates_never_revive";
    let s = get(c)?;
    let keys = make_prekeys("b", 3, PrekeyUse::OneTime);
    s.upload(&keys[..1], 1).map_err(backend(c))?;
    let first = s.take(2).map_err(backend(c))?;
    expect(c, "first take", first.as_ref(), Some(&keys[0]))?;
    let out = s.upload(&keys, 3).map_err(backend(c))?;
    expect(c, "inserted", out.inserted, 2)?;
    expect(c, "duplicates", out.duplicates, 1)?;
    let mut rest = Vec::new();
    while let Some(k) = s.take(4).map_err(backend(c))? {
        rest.push(k);
    }
    expect(c, "remaining", rest, keys[1..].to_vec())?;

    let c = "oversized_batch_writes_nothing";
    let s = get(c)?;
    let keys = make_prekeys("c", MAX_BATCH + 1, PrekeyUse::OneTime);
    match s.upload(&keys, 1) {
        Err(VendingError::BatchTooLarge(n)) => expect(c, "size", n, MAX_BATCH + 1)?,
        other => return Err(fail(c, format!("expected BatchTooLarge, got {other:?}"))),
    }
    expect(c, "available", s.counts().map_err(backend(c))?.available, 0)?;

    let c = "concurrent_takes_are_exactly_once";
    let s = get(c)?;
    let keys = make_prekeys("d", 400, PrekeyUse::OneTime);
    s.upload(&keys, 1).map_err(backend(c))?;
    let results: Vec<Result<Vec<String>, VendingError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while let Some(k) = s.take(5)? {
                        mine.push(k.kid);
                    }
                    Ok(mine)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(VendingError::Backend("taker panicked".into())))
            })
            .collect()
    });
    let mut seen = HashSet::new();
    let mut total = 0;
    for r in results {
        for kid in r.map_err(backend(c))? {
            total += 1;
            if !seen.insert(kid.clone()) {
                return Err(fail(c, format!("{kid} vended twice")));
            }
        }
    }
    expect(c, "vended", total, keys.len())?;
    expect(
        c,
        "counts",
        s.counts().map_err(backend(c))?,
        Counts {
            available: 0,
            consumed: keys.len() as u64,
        },
    )?;

    let c = "epoch_key_set_and_replaced";
    let s = get(c)?;
    let e = make_prekeys("epoch", 2, PrekeyUse::Epoch);
    s.set_epoch(&e[0], 1).map_err(backend(c))?;
    expect(
        c,
        "epoch",
        s.epoch().map_err(backend(c))?.as_ref(),
        Some(&e[0]),
    )?;
    s.set_epoch(&e[1], 2).map_err(backend(c))?;
    expect(
        c,
        "epoch",
        s.epoch().map_err(backend(c))?.as_ref(),
        Some(&e[1]),
    )?;
    expect(c, "take", s.take(3).map_err(backend(c))?, None)?;

    Ok(CHECKS.len())
}
