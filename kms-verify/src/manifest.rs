//! `sri-manifest.json`: what a release serves, by content hash.
//!
//! Every file the enclave page loads is named by its hash (`kms-<hash>.wasm`, …) and listed
//! with its size, its SHA-384 Subresource Integrity string and its SHA-256. The page itself is
//! listed separately: it cannot carry SRI, so its hash is what clients and verifiers pin.
//! The JSON is canonical (keys sorted, two-space indentation, one trailing newline), so the
//! same release always has the same manifest bytes and the same hash in the log.

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384};

/// Format id of the manifest, checked by every reader.
pub const MANIFEST_FORMAT: &str = "kms-sri-manifest-v1";
/// File name of the manifest, at the repository root and in the release directory.
pub const MANIFEST_FILE: &str = "sri-manifest.json";
/// Name of the enclave page in the release directory.
pub const PAGE_FILE: &str = "index.html";
/// Hex digits of the SHA-256 used in content-addressed file names (64 bits).
pub const NAME_HASH_HEX: usize = 16;

/// A manifest does not parse or names an unsupported format.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON of the manifest's shape.
    #[error("malformed manifest")]
    Malformed(#[from] serde_json::Error),
    /// Another format id.
    #[error("unknown manifest format: expected {expected}, got {got:?}")]
    Format {
        /// The supported format.
        expected: &'static str,
        /// The format found.
        got: String,
    },
    /// The bytes are not the canonical encoding of what they contain.
    #[error("manifest is not in canonical form")]
    NotCanonical,
    /// A file name that is not a plain name in the release directory (a path, `..`, a
    /// hidden file, odd characters): a verifier must never read outside the release.
    #[error(
        "manifest names {name:?}: expected a plain file name of [A-Za-z0-9._-], at most 128 bytes"
    )]
    BadName {
        /// The rejected name (truncated).
        name: String,
    },
}

/// True for a plain release file name: `[A-Za-z0-9._-]{1,128}`, not starting with `.`.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// One served file. Field order is alphabetical: it is the JSON key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// File name in the release directory (no directories).
    pub name: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
    /// Subresource Integrity string, `sha384-<base64>`.
    pub sri: String,
}

impl FileEntry {
    /// The entry of a file with these bytes.
    pub fn of(name: &str, bytes: &[u8]) -> Self {
        Self {
            name: name.to_owned(),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            sri: sri_sha384(bytes),
        }
    }

    /// Whether `bytes` are this file (size, SHA-384 and SHA-256 all match).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        *self == Self::of(&self.name, bytes)
    }
}

/// Where the release was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The last commit that changed an input of the enclave build (see `inputs`).
    pub commit: String,
    /// The paths (git pathspecs) whose history gives `commit`.
    pub inputs: Vec<String>,
}

/// The pinned tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// `rustc --version` of the pinned toolchain.
    pub rustc: String,
    /// Version of the wasm-bindgen CLI (equal to the library version in `Cargo.lock`).
    pub wasm_bindgen: String,
}

/// The manifest. Field order is alphabetical: it is the JSON key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Every content-addressed file the page loads, sorted by name.
    pub artifacts: Vec<FileEntry>,
    /// CSP hash sources (`'sha256-…'`) of the page's inline scripts (its import map), which
    /// the enclave's `script-src` must allow.
    pub csp_script_hashes: Vec<String>,
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The enclave page, [`PAGE_FILE`].
    pub page: FileEntry,
    /// Where the release was built from.
    pub source: Source,
    /// The pinned tools.
    pub toolchain: Toolchain,
}

impl Manifest {
    /// The canonical JSON bytes: sorted keys, artifacts sorted by name, two-space
    /// indentation, a trailing newline.
    ///
    /// # Errors
    /// Only if serialization fails, which the types here do not allow.
    pub fn to_canonical_json(&self) -> Result<Vec<u8>, ManifestError> {
        let mut sorted = self.clone();
        sorted.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
        sorted.csp_script_hashes.sort();
        let mut out = serde_json::to_vec_pretty(&sorted)?;
        out.push(b'\n');
        Ok(out)
    }

    /// Parses manifest bytes and checks the format id and the canonical encoding.
    ///
    /// # Errors
    /// [`ManifestError::Malformed`], [`ManifestError::Format`],
    /// [`ManifestError::NotCanonical`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Self = serde_json::from_slice(bytes)?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format {
                expected: MANIFEST_FORMAT,
                got: manifest.format,
            });
        }
        for name in manifest
            .artifacts
            .iter()
            .map(|a| &a.name)
            .chain([&manifest.page.name])
        {
            if !is_plain_name(name) {
                return Err(ManifestError::BadName {
                    name: name.chars().take(80).collect(),
                });
            }
        }
        if manifest.to_canonical_json()? != bytes {
            return Err(ManifestError::NotCanonical);
        }
        Ok(manifest)
    }

    /// The artifact named `name`.
    pub fn artifact(&self, name: &str) -> Option<&FileEntry> {
        self.artifacts.iter().find(|a| a.name == name)
    }
}

/// `sha384-<base64>`: the Subresource Integrity string of `bytes`.
pub fn sri_sha384(bytes: &[u8]) -> String {
    format!("sha384-{}", Base64::encode_string(&Sha384::digest(bytes)))
}

/// `'sha256-<base64>'`: the CSP hash source of an inline script's text.
pub fn csp_sha256(text: &str) -> String {
    format!(
        "'sha256-{}'",
        Base64::encode_string(&Sha256::digest(text.as_bytes()))
    )
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<stem>-<first 16 hex digits of SHA-256>.<extension>`: a content-addressed file name.
pub fn content_name(stem: &str, extension: &str, bytes: &[u8]) -> String {
    let hex = sha256_hex(bytes);
    let short = hex.get(..NAME_HASH_HEX).unwrap_or(&hex);
    format!("{stem}-{short}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            artifacts: vec![
                FileEntry::of("kms-b.wasm", b"b"),
                FileEntry::of("kms-a.js", b"a"),
            ],
            csp_script_hashes: vec![csp_sha256("{}")],
            format: MANIFEST_FORMAT.to_owned(),
            page: FileEntry::of(PAGE_FILE, b"<!doctype html>"),
            source: Source {
                commit: "0".repeat(40),
                inputs: vec!["kms-core".to_owned()],
            },
            toolchain: Toolchain {
                rustc: "rustc 1.95.0".to_owned(),
                wasm_bindgen: "0.2.130".to_owned(),
            },
        }
    }

    #[test]
    fn known_hashes() {
        // SRI and SHA-256 of the empty string and of "abc" (FIPS 180-2 examples).
        assert_eq!(
            sri_sha384(b""),
            "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            content_name("kms", "wasm", b"abc"),
            "kms-ba7816bf8f01cfea.wasm"
        );
        assert_eq!(
            csp_sha256(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_and_artifacts_and_round_trips() {
        let bytes = sample().to_canonical_json().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let top: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .collect();
        let mut sorted = top.clone();
        sorted.sort();
        assert_eq!(top, sorted);
        assert!(text.find("kms-a.js").unwrap() < text.find("kms-b.wasm").unwrap());
        assert!(text.ends_with("}\n"));
        let parsed = Manifest::parse(&bytes).unwrap();
        assert_eq!(parsed.to_canonical_json().unwrap(), bytes);
    }

    #[test]
    fn other_formats_and_non_canonical_bytes_are_refused() {
        let mut m = sample();
        m.format = "kms-sri-manifest-v0".to_owned();
        let bytes = m.to_canonical_json().unwrap();
        assert!(matches!(
            Manifest::parse(&bytes),
            Err(ManifestError::Format { .. })
        ));
        let compact = serde_json::to_vec(&sample()).unwrap();
        assert!(matches!(
            Manifest::parse(&compact),
            Err(ManifestError::NotCanonical)
        ));
    }

    #[test]
    fn names_that_leave_the_release_directory_are_refused() {
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/b.js",
            "..",
            ".hidden",
            "",
            "a\\b",
            "kms-1.wasm\0",
        ] {
            let mut m = sample();
            m.artifacts[0].name = bad.to_owned();
            let bytes = m.to_canonical_json().unwrap();
            assert!(
                matches!(Manifest::parse(&bytes), Err(ManifestError::BadName { .. })),
                "{bad:?}"
            );
        }
        let mut m = sample();
        m.page.name = "../index.html".to_owned();
        let bytes = m.to_canonical_json().unwrap();
        assert!(matches!(
            Manifest::parse(&bytes),
            Err(ManifestError::BadName { .. })
        ));
        assert!(is_plain_name("kms-0123abcd.wasm") && is_plain_name("index.html"));
    }

    #[test]
    fn file_entries_detect_any_change() {
        let e = FileEntry::of("x", b"hello");
        assert!(e.matches(b"hello"));
        assert!(!e.matches(b"hellp"));
        assert!(!e.matches(b"hello "));
    }
}
