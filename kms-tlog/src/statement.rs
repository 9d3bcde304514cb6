//! The log entry of a release: a short text statement naming the release and the SHA-256 of
//! its `sri-manifest.json`, which in turn pins every served file.
//!
//! ```text
//! kms-release-v1
//! version 0.1.0
//! sri-manifest sha256-<standard base64 of SHA-256(sri-manifest.json)>
//! ```
//!
//! Each line ends in a newline; there are no other lines. The hash uses the
//! Subresource Integrity notation, the same as the manifest's own entries.

use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// Format id on the first line of a release statement.
pub const STATEMENT_FORMAT: &str = "kms-release-v1";
/// Longest version string accepted.
pub const MAX_VERSION_LEN: usize = 64;

/// A release statement does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The first line is not [`STATEMENT_FORMAT`].
    #[error("unknown statement format: expected {expected}, got {got:?}")]
    Format {
        /// The supported format.
        expected: &'static str,
        /// The first line found.
        got: String,
    },
    /// The statement breaks the format.
    #[error("malformed release statement: {0}")]
    Malformed(&'static str),
}

/// What a release log entry states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStatement {
    /// The release version (`[0-9A-Za-z.+-]`, at most [`MAX_VERSION_LEN`] bytes).
    pub version: String,
    /// SHA-256 of the release's `sri-manifest.json` bytes.
    pub manifest_sha256: Hash,
}

fn check_version(version: &str) -> Result<(), StatementError> {
    let ok = !version.is_empty()
        && version.len() <= MAX_VERSION_LEN
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StatementError::Malformed(
            "version must be 1 to 64 characters of [0-9A-Za-z._+-]",
        ))
    }
}

impl ReleaseStatement {
    /// The statement of a release whose manifest has these bytes.
    pub fn for_manifest(version: &str, manifest: &[u8]) -> Self {
        Self {
            version: version.to_owned(),
            manifest_sha256: Sha256::digest(manifest).into(),
        }
    }

    /// The entry bytes.
    ///
    /// # Errors
    /// [`StatementError::Malformed`] for a bad version string.
    pub fn encode(&self) -> Result<Vec<u8>, StatementError> {
        check_version(&self.version)?;
        Ok(format!(
            "{STATEMENT_FORMAT}\nversion {}\nsri-manifest sha256-{}\n",
            self.version,
            Base64::encode_string(&self.manifest_sha256)
        )
        .into_bytes())
    }

    /// Parses entry bytes.
    ///
    /// # Errors
    /// [`StatementError::Format`] for another format id, [`StatementError::Malformed`].
    pub fn parse(entry: &[u8]) -> Result<Self, StatementError> {
        let text =
            std::str::from_utf8(entry).map_err(|_| StatementError::Malformed("not UTF-8"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or(StatementError::Malformed("must end in a newline"))?;
        let mut lines = body.split('\n');
        let format = lines.next().unwrap_or_default();
        if format != STATEMENT_FORMAT {
            return Err(StatementError::Format {
                expected: STATEMENT_FORMAT,
                got: format.to_owned(),
            });
        }
        let version = lines
            .next()
            .and_then(|l| l.strip_prefix("version "))
            .ok_or(StatementError::Malformed("expected version line"))?;
        check_version(version)?;
        let b64 = lines
            .next()
            .and_then(|l| l.strip_prefix("sri-manifest sha256-"))
            .ok_or(StatementError::Malformed("expected sri-manifest line"))?;
        let manifest_sha256 = crate::checkpoint::decode_hash(b64).ok_or(
            StatementError::Malformed("manifest hash must be base64 of 32 bytes"),
        )?;
        if lines.next().is_some() {
            return Err(StatementError::Malformed("unexpected extra line"));
        }
        Ok(Self {
            version: version.to_owned(),
            manifest_sha256,
        })
    }

    /// Whether `manifest` is the manifest this statement names.
    pub fn matches_manifest(&self, manifest: &[u8]) -> bool {
        <[u8; 32]>::from(Sha256::digest(manifest)) == self.manifest_sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encoding() {
        let s = ReleaseStatement::for_manifest("0.1.0", b"");
        assert_eq!(
            s.encode().unwrap(),
            b"kms-release-v1\nversion 0.1.0\n\
              sri-manifest sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(ReleaseStatement::parse(&s.encode().unwrap()).unwrap(), s);
        assert!(s.matches_manifest(b""));
        assert!(!s.matches_manifest(b"{}"));
    }

    #[test]
    fn malformed_statements_are_refused() {
        let good = String::from_utf8(
            ReleaseStatement::for_manifest("1.2.3-rc.1", b"m")
                .encode()
                .unwrap(),
        )
        .unwrap();
        assert!(ReleaseStatement::parse(good.as_bytes()).is_ok());
        for bad in [
            good.replace("-v1", "-v2"),
            good.trim_end().to_owned(),
            good.replace("version 1.2.3-rc.1", "version 1.2 3"),
            good.replace("version 1.2.3-rc.1", "version "),
            good.replace("sha256-", "sha384-"),
            good.replace("=\n", "\n"),
            format!("{good}extra\n"),
            format!("{good}\n"),
        ] {
            assert!(
                ReleaseStatement::parse(bad.as_bytes()).is_err(),
                "accepted {bad:?}"
            );
        }
        let mut s = ReleaseStatement::for_manifest("x", b"");
        s.version = "a\nb".into();
        assert!(s.encode().is_err());
    }
}
