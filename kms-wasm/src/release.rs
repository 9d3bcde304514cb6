//! The enclave's own check of the release it runs, for its UI: the same whole-log check the
//! client SDK makes before mounting ([`kms_tlog::release`]), run from the enclave's origin
//! with the log that its deployment's `kms.config.json` names. The enclave page fetches the
//! files; this module only judges them.
//!
//! ```js
//! const paths = releaseBundles(config.log, checkpoint);           // after fetching `checkpoint`
//! const found = findRelease(config.log, checkpoint, bundles, manifest, stored);
//! // {index, version, size, origin, cosigned, witnesses, quorum}, or throws {code, message}
//! ```

use js_sys::Uint8Array;
use kms_tlog::release::{self, LogTrust, ReleaseError, TrustedCheckpoint};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// The `log` object of `kms.config.json` (the SDK's `LogOptions` shape; `url` is the page's).
#[derive(Deserialize)]
struct LogConfig {
    key: String,
    #[serde(default)]
    witnesses: Vec<String>,
    quorum: Option<usize>,
}

/// A release found in the log, as the enclave's UI shows it.
#[derive(Serialize)]
struct Found {
    index: u64,
    version: String,
    size: u64,
    origin: String,
    cosigned: usize,
    witnesses: usize,
    quorum: usize,
}

/// A refusal: `{code, message}`, `code` as the SDK's `KmsError` spells it.
#[derive(Serialize)]
struct Refusal<'a> {
    code: &'a str,
    message: String,
}

fn refusal(e: &ReleaseError) -> JsValue {
    crate::to_js(&Refusal {
        code: e.code(),
        message: e.to_string(),
    })
    .unwrap_or_else(JsValue::from)
}

fn open(log: JsValue, checkpoint: &[u8]) -> Result<(LogTrust, TrustedCheckpoint), ReleaseError> {
    let config: LogConfig = crate::json::from_js(&log).map_err(ReleaseError::InvalidLogConfig)?;
    let trust = LogTrust::new(&config.key, &config.witnesses, config.quorum)?;
    let trusted = trust.open(checkpoint)?;
    Ok((trust, trusted))
}

/// The entry bundles to fetch (tlog-tiles paths relative to the log's URL) for the signed
/// `checkpoint`, once it verified under the log key and the witnesses' quorum.
///
/// # Errors
/// `{code, message}` with `InvalidLogConfig`, `LogUnavailable`, `LogTooLarge` or
/// `QuorumNotMet`.
#[wasm_bindgen(js_name = releaseBundles)]
pub fn release_bundles(log: JsValue, checkpoint: &[u8]) -> Result<Vec<String>, JsValue> {
    let (_, trusted) = open(log, checkpoint).map_err(|e| refusal(&e))?;
    Ok(release::bundle_paths(trusted.checkpoint.size))
}

/// Finds the release statement of `manifest` (the served `sri-manifest.json` bytes) in the
/// log of `checkpoint`, given the bundles [`release_bundles`] named, and checks that the log
/// extends `stored`, the checkpoint this enclave trusted before.
///
/// # Errors
/// `{code, message}`: the codes of [`release_bundles`], `NotInLog`, `Rollback`, `Fork`.
#[wasm_bindgen(js_name = findRelease)]
pub fn find_release(
    log: JsValue,
    checkpoint: &[u8],
    bundles: Vec<Uint8Array>,
    manifest: &[u8],
    stored: Option<Vec<u8>>,
) -> Result<JsValue, JsValue> {
    let (trust, trusted) = open(log, checkpoint).map_err(|e| refusal(&e))?;
    let bundles: Vec<Vec<u8>> = bundles.iter().map(Uint8Array::to_vec).collect();
    let found = trust
        .find(&trusted, &bundles, manifest, stored.as_deref())
        .map_err(|e| refusal(&e))?;
    crate::to_js(&Found {
        index: found.index,
        version: found.version,
        size: found.size,
        origin: trusted.checkpoint.origin.clone(),
        cosigned: found.cosigned,
        witnesses: trust.witnesses(),
        quorum: trust.quorum(),
    })
    .map_err(JsValue::from)
}
