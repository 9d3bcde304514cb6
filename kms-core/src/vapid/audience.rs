//! The `aud` claim of a VAPID token: the origin of the push resource (RFC 8292 §2), i.e.
//! `https://host[:port]` with nothing else, serialized as an origin (RFC 6454 §6.1).

use super::VapidError;

/// Longest accepted `aud` before normalization.
pub const MAX_AUDIENCE_LEN: usize = 512;
/// The only scheme a push resource uses (RFC 8030 §8: Web Push requires HTTPS).
const SCHEME: &str = "https://";
/// The default https port (RFC 9110 §4.2.2), left out of a serialized origin.
const DEFAULT_PORT: u16 = 443;

/// Checks that `aud` is an https origin and returns its canonical form: lowercase scheme
/// and host, no default port, no trailing slash.
///
/// # Errors
/// [`VapidError::AudienceScheme`], [`VapidError::AudienceUserinfo`],
/// [`VapidError::AudiencePath`], [`VapidError::AudienceHost`] or
/// [`VapidError::AudiencePort`], naming the first rule broken.
pub fn normalize_audience(aud: &str) -> Result<String, VapidError> {
    let clipped = |s: &str| s.chars().take(64).collect::<String>();
    if aud.len() > MAX_AUDIENCE_LEN {
        return Err(VapidError::AudienceHost { got: clipped(aud) });
    }
    // RFC 3986 §3.1: schemes are case-insensitive.
    let rest = aud
        .get(..SCHEME.len())
        .filter(|head| head.eq_ignore_ascii_case(SCHEME))
        .and_then(|_| aud.get(SCHEME.len()..))
        .ok_or_else(|| VapidError::AudienceScheme { got: clipped(aud) })?;
    // RFC 3986 §3.2: the authority ends at the first '/', '?' or '#'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(VapidError::AudienceUserinfo { got: clipped(aud) });
    }
    if !tail.is_empty() {
        return Err(VapidError::AudiencePath { got: clipped(aud) });
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| VapidError::AudienceHost {
        got: clipped(authority),
    })?;
    let host =
        normalize_host(host).ok_or_else(|| VapidError::AudienceHost { got: clipped(host) })?;
    let port = match port {
        None => None,
        Some(text) => {
            Some(parse_port(text).ok_or_else(|| VapidError::AudiencePort { got: clipped(text) })?)
        }
    };
    Ok(match port {
        None | Some(DEFAULT_PORT) => format!("{SCHEME}{host}"),
        Some(p) => format!("{SCHEME}{host}:{p}"),
    })
}

/// Splits `host[:port]` or `[v6]:port`; `None` for a malformed bracket.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => Some((host, None)),
            _ => after.strip_prefix(':').map(|port| (host, Some(port))),
        }
    } else {
        Some(match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        })
    }
}

/// An ASCII DNS name (RFC 1123 §2.1 labels) or a bracketed IPv6 literal (RFC 3986 §3.2.2),
/// lowercased. Internationalized names must arrive in their A-label form.
fn normalize_host(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ok = inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        return ok.then(|| host.to_ascii_lowercase());
    }
    // RFC 1035 §2.3.4: at most 253 characters in text form, 63 per label.
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    labels_ok.then(|| host.to_ascii_lowercase())
}

/// RFC 3986 §3.2.3 digits, as a TCP port in 1–65535.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_origins() {
        for (input, want) in [
            ("https://push.example.net", "https://push.example.net"),
            ("HTTPS://Push.Example.NET", "https://push.example.net"),
            ("https://push.example.net:443", "https://push.example.net"),
            (
                "https://push.example.net:08443",
                "https://push.example.net:8443",
            ),
            ("https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"),
            ("https://127.0.0.1", "https://127.0.0.1"),
        ] {
            assert_eq!(normalize_audience(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn each_rule_has_its_error() {
        type Check = fn(&VapidError) -> bool;
        let cases: [(&str, Check); 12] = [
            ("http://push.example.net", |e| {
                matches!(e, VapidError::AudienceScheme { .. })
            }),
            ("push.example.net", |e| {
                matches!(e, VapidError::AudienceScheme { .. })
            }),
            ("https://u:p@push.example.net", |e| {
                matches!(e, VapidError::AudienceUserinfo { .. })
            }),
            ("https://push.example.net/", |e| {
                matches!(e, VapidError::AudiencePath { .. })
            }),
            ("https://push.example.net/a", |e| {
                matches!(e, VapidError::AudiencePath { .. })
            }),
            ("https://push.example.net?q", |e| {
                matches!(e, VapidError::AudiencePath { .. })
            }),
            ("https://push.example.net#f", |e| {
                matches!(e, VapidError::AudiencePath { .. })
            }),
            ("https://", |e| matches!(e, VapidError::AudienceHost { .. })),
            ("https://bad_host.example", |e| {
                matches!(e, VapidError::AudienceHost { .. })
            }),
            ("https://a..b", |e| {
                matches!(e, VapidError::AudienceHost { .. })
            }),
            ("https://push.example.net:0", |e| {
                matches!(e, VapidError::AudiencePort { .. })
            }),
            ("https://push.example.net:65536", |e| {
                matches!(e, VapidError::AudiencePort { .. })
            }),
        ];
        for (input, check) in cases {
            let err = normalize_audience(input).unwrap_err();
            assert!(check(&err), "{input}: {err}");
        }
    }
}
