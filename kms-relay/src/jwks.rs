//! The relay's registered verification keys: a JWKS from a [`JwksSource`], each key pinned to
//! its algorithm, refreshed once (single-flight, rate limited) when a token names an unknown
//! `kid` — which is how key rotation in the enclave reaches the relay.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use jwt_simple::prelude::{ES256PublicKey, Ed25519PublicKey};
use kms_core::jwk::Jwks;
use kms_core::jws::{JwsAlg, PublicKey};

/// Largest JWKS document accepted from a source.
pub const MAX_JWKS_LEN: u64 = 256 * 1024;

/// A JWKS could not be obtained or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The source failed (I/O, HTTP status, size).
    #[error("JWKS source failed: {0}")]
    Source(String),
    /// The document is not a JWKS.
    #[error("malformed JWKS: {0}")]
    Malformed(String),
    /// A key has no `kid`, an unsupported type, or an invalid point.
    #[error("JWKS key {kid:?} refused: {reason}")]
    Key {
        /// Its kid (empty if missing).
        kid: String,
        /// Why.
        reason: &'static str,
    },
}

/// Where the registered keys come from.
pub trait JwksSource: Send + Sync {
    /// Fetches the current key set.
    ///
    /// # Errors
    /// [`JwksError`].
    fn fetch(&self) -> Result<Jwks, JwksError>;
}

/// A fixed key set (registered once, e.g. from configuration).
#[derive(Debug, Clone)]
pub struct StaticJwks(pub Jwks);

impl JwksSource for StaticJwks {
    fn fetch(&self) -> Result<Jwks, JwksError> {
        Ok(self.0.clone())
    }
}

/// A JWKS file, re-read on every refresh (replace the file to rotate keys).
#[derive(Debug, Clone)]
pub struct FileJwks(pub PathBuf);

impl JwksSource for FileJwks {
    fn fetch(&self) -> Result<Jwks, JwksError> {
        let text = std::fs::read_to_string(&self.0)
            .map_err(|e| JwksError::Source(format!("{}: {e}", self.0.display())))?;
        parse_jwks(&text)
    }
}

/// A JWKS served over HTTP(S) by the owner.
#[cfg(feature = "client")]
#[derive(Debug, Clone)]
pub struct HttpJwks {
    url: String,
    agent: ureq::Agent,
}

#[cfg(feature = "client")]
impl HttpJwks {
    /// A source fetching `url` with a 5-second timeout.
    pub fn new(url: impl Into<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(5)))
            .http_status_as_error(true)
            .build()
            .into();
        Self {
            url: url.into(),
            agent,
        }
    }
}

#[cfg(feature = "client")]
impl JwksSource for HttpJwks {
    fn fetch(&self) -> Result<Jwks, JwksError> {
        let mut resp = self
            .agent
            .get(&self.url)
            .call()
            .map_err(|e| JwksError::Source(e.to_string()))?;
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_JWKS_LEN)
            .read_to_string()
            .map_err(|e| JwksError::Source(e.to_string()))?;
        parse_jwks(&text)
    }
}

/// Parses a JWKS document.
///
/// # Errors
/// [`JwksError::Malformed`].
pub fn parse_jwks(text: &str) -> Result<Jwks, JwksError> {
    serde_json::from_str(text).map_err(|e| JwksError::Malformed(e.to_string()))
}

/// A verification key pinned to one algorithm.
#[derive(Clone)]
pub enum PinnedKey {
    /// ES256 only.
    Es256(Arc<ES256PublicKey>),
    /// EdDSA (Ed25519) only.
    EdDsa(Arc<Ed25519PublicKey>),
}

impl core::fmt::Debug for PinnedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PinnedKey({})", self.alg().name())
    }
}

impl PinnedKey {
    /// The only algorithm this key verifies.
    pub fn alg(&self) -> JwsAlg {
        match self {
            Self::Es256(_) => JwsAlg::ES256,
            Self::EdDsa(_) => JwsAlg::EdDSA,
        }
    }
}

/// Keys by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, PinnedKey>,
    generation: u64,
}

impl KeySet {
    /// Builds a key set; every key needs a `kid`, and its `alg` (if present) must match its
    /// curve.
    ///
    /// # Errors
    /// [`JwksError::Key`] for the first refused key.
    pub fn from_jwks(jwks: &Jwks) -> Result<Self, JwksError> {
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let kid = jwk.kid.clone().unwrap_or_default();
            let refuse = |reason| JwksError::Key {
                kid: kid.clone(),
                reason,
            };
            if kid.is_empty() {
                return Err(refuse("missing kid"));
            }
            if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
                return Err(refuse("use is not sig"));
            }
            let pk = jwk
                .to_public_key()
                .map_err(|_| refuse("unsupported key type or invalid point"))?;
            if jwk.alg.as_deref().is_some_and(|a| a != pk.alg().name()) {
                return Err(refuse("alg does not match the key type"));
            }
            let bytes = pk.to_bytes();
            let pinned = match pk {
                PublicKey::Es256(_) => PinnedKey::Es256(Arc::new(
                    ES256PublicKey::from_bytes(&bytes).map_err(|_| refuse("invalid P-256 key"))?,
                )),
                PublicKey::EdDsa(_) => PinnedKey::EdDsa(Arc::new(
                    Ed25519PublicKey::from_bytes(&bytes)
                        .map_err(|_| refuse("invalid Ed25519 key"))?,
                )),
            };
            if keys.insert(kid.clone(), pinned).is_some() {
                return Err(refuse("duplicate kid"));
            }
        }
        Ok(Self {
            keys,
            generation: 0,
        })
    }

    /// The key for `kid`.
    pub fn get(&self, kid: &str) -> Option<&PinnedKey> {
        self.keys.get(kid)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The live key set with its refresh policy.
pub struct KeyStore {
    source: Box<dyn JwksSource>,
    current: RwLock<Arc<KeySet>>,
    /// Held by the one thread refreshing; holds the time of the last fetch.
    refresh: Mutex<Option<u64>>,
    min_refresh_interval_secs: u64,
}

impl core::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyStore")
            .field("keys", &self.snapshot().len())
            .finish_non_exhaustive()
    }
}

/// Default minimum time between two refreshes triggered by unknown kids.
pub const DEFAULT_MIN_REFRESH_SECS: u64 = 30;

impl KeyStore {
    /// Loads the key set from `source` now.
    ///
    /// # Errors
    /// [`JwksError`] if the first fetch fails or a key is refused.
    pub fn new(source: Box<dyn JwksSource>, now_secs: u64) -> Result<Self, JwksError> {
        let set = KeySet::from_jwks(&source.fetch()?)?;
        Ok(Self {
            source,
            current: RwLock::new(Arc::new(set)),
            refresh: Mutex::new(Some(now_secs)),
            min_refresh_interval_secs: DEFAULT_MIN_REFRESH_SECS,
        })
    }

    /// Sets the minimum time between refreshes (0: refresh on every unknown kid).
    pub fn with_min_refresh_interval(mut self, secs: u64) -> Self {
        self.min_refresh_interval_secs = secs;
        self
    }

    /// The current key set.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The key for `kid`; if unknown, refreshes the set once and looks again.
    ///
    /// Single-flight: concurrent callers wait for the one refresh in progress and use its
    /// result instead of fetching again. Refreshes are at most one per minimum interval, so
    /// tokens with random kids cannot make the relay hammer the key source.
    ///
    /// # Errors
    /// [`JwksError`] if the refresh fails (the previous keys stay in use).
    pub fn get_or_refresh(&self, kid: &str, now_secs: u64) -> Result<Option<PinnedKey>, JwksError> {
        let seen = self.snapshot();
        if let Some(k) = seen.get(kid) {
            return Ok(Some(k.clone()));
        }
        let mut last = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.snapshot();
        if now.generation != seen.generation {
            // Another caller refreshed while we waited.
            return Ok(now.get(kid).cloned());
        }
        if last.is_some_and(|t| now_secs < t.saturating_add(self.min_refresh_interval_secs)) {
            return Ok(None);
        }
        *last = Some(now_secs);
        let mut fresh = KeySet::from_jwks(&self.source.fetch()?)?;
        fresh.generation = now.generation + 1;
        let key = fresh.get(kid).cloned();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(key)
    }
}
