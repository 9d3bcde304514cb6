//! Web origins: the caller identity that scopes every key to its shard.
//!
//! An origin is `scheme://host[:port]` as browsers serialize it (RFC 6454 §6.2): lower-case
//! scheme `https` (or `http`, for local development), a host name or bracketed IPv6 address,
//! an optional port, and nothing else. Parsing is strict so that one origin has exactly one
//! string form and no origin's shard prefix can be a prefix of another's.

use core::fmt;

/// A validated, serialized web origin.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin(String);

/// The string is not a serialized web origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid origin: expected scheme://host[:port], got {got:?} ({reason})")]
pub struct InvalidOrigin {
    /// The rejected input (truncated).
    pub got: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// Longest origin accepted.
pub(crate) const MAX_ORIGIN_LEN: usize = 255;

impl Origin {
    /// Parses a serialized origin.
    ///
    /// # Errors
    /// [`InvalidOrigin`] unless `text` is exactly `http(s)://host[:port]` in canonical form.
    pub fn parse(text: &str) -> Result<Self, InvalidOrigin> {
        let err = |reason| InvalidOrigin {
            got: text.chars().take(80).collect(),
            reason,
        };
        if text.len() > MAX_ORIGIN_LEN {
            return Err(err("too long"));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| err("scheme must be https or http"))?;
        let (host, port) = split_host_port(rest).ok_or_else(|| err("malformed host or port"))?;
        if host.is_empty() {
            return Err(err("empty host"));
        }
        if let Some(v6) = host.strip_prefix('[') {
            let inner = v6
                .strip_suffix(']')
                .ok_or_else(|| err("unclosed IPv6 bracket"))?;
            if inner.is_empty()
                || !inner.bytes().all(|b| {
                    b.is_ascii_hexdigit() && !b.is_ascii_uppercase() || b == b':' || b == b'.'
                })
            {
                return Err(err("invalid IPv6 address"));
            }
        } else {
            for label in host.split('.') {
                if label.is_empty() || label.len() > 63 {
                    return Err(err("empty or overlong host label"));
                }
                if !label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return Err(err("host must be lower-case letters, digits, '-' and '.'"));
                }
            }
        }
        if let Some(p) = port {
            if p.is_empty()
                || p.len() > 5
                || p.starts_with('0')
                || !p.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(err("invalid port"));
            }
            let n: u32 = p.parse().map_err(|_| err("invalid port"))?;
            if n > 65_535 {
                return Err(err("port out of range"));
            }
            let default = if text.starts_with("https://") {
                443
            } else {
                80
            };
            if n == default {
                return Err(err("default port must be omitted"));
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// The serialized origin.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host (a name, or a bracketed IPv6 address), without scheme or port.
    pub fn host(&self) -> &str {
        let rest = self
            .0
            .strip_prefix("https://")
            .or_else(|| self.0.strip_prefix("http://"))
            .unwrap_or(&self.0);
        split_host_port(rest).map_or(rest, |(h, _)| h)
    }

    /// True for `https` origins.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let close = rest.find(']')?;
        let (host, after) = rest.split_at(close + 1);
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?))),
        };
    }
    match rest.split_once(':') {
        Some((h, p)) => Some((h, Some(p))),
        None => Some((rest, None)),
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_origins() {
        for o in [
            "https://app.example",
            "http://localhost:8080",
            "https://a-b.c.example:8443",
            "http://127.0.0.1:8081",
            "https://[::1]:8443",
        ] {
            assert_eq!(Origin::parse(o).unwrap().as_str(), o);
        }
    }

    #[test]
    fn refuses_everything_else() {
        for o in [
            "",
            "app.example",
            "ftp://app.example",
            "https://App.example",
            "https://app.example/",
            "https://app.example/path",
            "https://user@app.example",
            "https://app.example:443",
            "http://app.example:80",
            "https://app.example:0",
            "https://app.example:99999",
            "https://app.example:08080",
            "https://app..example",
            "https://app.example?q",
            "https://app.example#f",
            "null",
            "https://",
            "https://[::1",
        ] {
            assert!(Origin::parse(o).is_err(), "{o:?} accepted");
        }
    }

    #[test]
    fn no_origin_is_a_prefix_of_another_in_shard_keys() {
        let a = Origin::parse("https://a.example").unwrap();
        let b = Origin::parse("https://a.example:8443").unwrap();
        assert!(!format!("{b}/").starts_with(&format!("{a}/")));
    }
}
