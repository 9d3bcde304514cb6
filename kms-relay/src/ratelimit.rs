//! The per-requester limit on `GET /api/v1/prekey`: a token bucket per address, shared by
//! the native server and the Worker (where it holds per isolate).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// A token bucket per requester address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests allowed in a burst.
    pub burst: f64,
    /// Sustained requests per second.
    pub per_sec: f64,
}

/// A rate-limit setting that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limit: expected <burst>/<per-sec> or off, got {0:?}")]
pub struct BadRateLimit(pub String);

impl RateLimit {
    /// Parses `<burst>/<per-sec>` (`20/2`: bursts of 20, 2 per second sustained) or `off`
    /// (`None`: unlimited).
    ///
    /// # Errors
    /// [`BadRateLimit`] for anything else, or a number that is not positive and finite.
    pub fn parse(text: &str) -> Result<Option<Self>, BadRateLimit> {
        let text = text.trim();
        if text == "off" {
            return Ok(None);
        }
        let bad = || BadRateLimit(text.chars().take(64).collect());
        let (b, r) = text.split_once('/').ok_or_else(bad)?;
        let positive = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
        };
        match (positive(b), positive(r)) {
            (Some(burst), Some(per_sec)) => Ok(Some(Self { burst, per_sec })),
            _ => Err(bad()),
        }
    }
}

/// The buckets of every requester seen, bounded: past 100 000 entries, those whose bucket has
/// refilled are forgotten (they lose nothing).
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, (f64, u64)>>,
}

impl RateLimiter {
    /// A limiter applying `limit` to each address.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip` at `now_ms`.
    ///
    /// # Errors
    /// The whole seconds until the next token (the `Retry-After` of the 429).
    pub fn take(&self, ip: IpAddr, now_ms: u64) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let l = self.limit;
            map.retain(|_, (tokens, last)| {
                *tokens + (now_ms.saturating_sub(*last) as f64 / 1000.0) * l.per_sec < l.burst
            });
        }
        let (tokens, last) = map.entry(ip).or_insert((self.limit.burst, now_ms));
        let refill = (now_ms.saturating_sub(*last) as f64 / 1000.0) * self.limit.per_sec;
        *tokens = (*tokens + refill).min(self.limit.burst);
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / self.limit.per_sec.max(f64::MIN_POSITIVE);
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn parses_the_setting() {
        assert_eq!(RateLimit::parse("off").unwrap(), None);
        assert_eq!(
            RateLimit::parse("20/2").unwrap(),
            Some(RateLimit {
                burst: 20.0,
                per_sec: 2.0
            })
        );
        for bad in ["", "20", "a/b", "0/1", "1/-1", "inf/1"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_burst_then_the_wait() {
        let l = RateLimiter::new(RateLimit::parse("2/0.1").unwrap().unwrap());
        let ip = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(l.take(ip, 0), Ok(()));
        assert_eq!(l.take(ip, 0), Ok(()));
        assert_eq!(l.take(ip, 0), Err(10));
        assert_eq!(l.take(IpAddr::from([127, 0, 0, 2]), 0), Ok(()));
        assert_eq!(l.take(ip, 10_000), Ok(()));
    }
}
