//! WebCrypto where the browser is faster or holds what script must not: PBKDF2 through
//! `crypto.subtle.deriveBits`, ES256 signatures with keys imported non-extractable for the
//! session, and the passkey gate's device key, a non-extractable AES-256-GCM `CryptoKey`
//! kept in IndexedDB.

use js_sys::{Array, Object, Reflect, Uint8Array};
use kms_core::Secret32;
use kms_core::hazmat::format::AES256GCM_V1;
use kms_core::hazmat::wrap::{NONCE_LEN, Sealed};
use kms_core::jws::{JwsAlg, RustSigner, Signer, SignerError, SigningKey};
use kms_core::{DeviceKey, DeviceKeyError};
use kms_core::{KdfError, Pbkdf2Provider, RustPbkdf2};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, IdbDatabase, Pbkdf2Params, SubtleCrypto};
use zeroize::Zeroize;

use crate::idb;

/// `crypto.subtle` of the current global (window or worker).
pub fn subtle() -> Result<SubtleCrypto, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle"))?;
    subtle
        .dyn_into::<SubtleCrypto>()
        .map_err(|_| JsValue::from_str("crypto.subtle is unavailable (insecure context?)"))
}

fn describe(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| "WebCrypto error".into())
}

fn usages(list: &[&str]) -> Array {
    list.iter().map(|u| JsValue::from_str(u)).collect()
}

/// PBKDF2-HMAC-SHA256 by `crypto.subtle.deriveBits`; byte-identical to
/// [`kms_core::RustPbkdf2`] (tested in the browser suite) and several times faster
/// than the same code in WebAssembly.
///
/// Where the browser cannot derive (no PBKDF2 in its WebCrypto, found by [`Self::detect`]),
/// and for an empty password or salt (WebKit refuses both with `OperationError`), the
/// pure-Rust reference derives instead, so every input has the same key in every engine.
#[derive(Debug, Clone, Copy)]
pub struct WebCryptoPbkdf2 {
    native: bool,
}

impl Default for WebCryptoPbkdf2 {
    /// Assumes WebCrypto PBKDF2 (every current engine has it); [`Self::detect`] checks.
    fn default() -> Self {
        Self { native: true }
    }
}

impl WebCryptoPbkdf2 {
    /// Finds out once whether this browser's WebCrypto derives PBKDF2-SHA256 (one
    /// iteration over fixed inputs).
    pub async fn detect() -> Self {
        let native = derive_bits(b"probe", b"probe-salt", 1).await.is_ok();
        Self { native }
    }

    /// Where passphrases are stretched.
    pub fn engine(&self) -> Engine {
        if self.native {
            Engine::WebCrypto
        } else {
            Engine::Wasm
        }
    }
}

impl Pbkdf2Provider for WebCryptoPbkdf2 {
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Secret32, KdfError> {
        if !self.native || password.is_empty() || salt.is_empty() {
            return RustPbkdf2.pbkdf2_sha256(password, salt, iterations).await;
        }
        derive_bits(password, salt, iterations).await
    }
}

async fn derive_bits(password: &[u8], salt: &[u8], iterations: u32) -> Result<Secret32, KdfError> {
    let fail = |e: JsValue| KdfError(describe(&e));
    let subtle = subtle().map_err(fail)?;
    let pw = Uint8Array::from(password);
    let imported =
        subtle.import_key_with_str("raw", &pw, "PBKDF2", false, &usages(&["deriveBits"]));
    // The browser copied the password into the key; clear our copy on the JS heap.
    pw.fill(0, 0, pw.length());
    let key: CryptoKey = JsFuture::from(imported.map_err(fail)?)
        .await
        .map_err(fail)?
        .unchecked_into();
    let params =
        Pbkdf2Params::new_with_str("PBKDF2", "SHA-256", iterations, &Uint8Array::from(salt));
    let bits = JsFuture::from(
        subtle
            .derive_bits_with_object(&params, &key, 256)
            .map_err(fail)?,
    )
    .await
    .map_err(fail)?;
    let bits = Uint8Array::new(&bits);
    let mut out = [0u8; 32];
    if bits.length() != 32 {
        return Err(KdfError("deriveBits returned the wrong length".into()));
    }
    bits.copy_to(&mut out);
    bits.fill(0, 0, 32);
    Ok(Secret32::from_bytes(out))
}

/// Key of the device key in the `device` object store.
const DEVICE_KEY_ID: &str = "device-key-v1";

/// The passkey gate's device key: a non-extractable AES-256-GCM `CryptoKey`, generated on
/// first use and kept in IndexedDB. Script in the enclave can encrypt and decrypt with it
/// but no script can read it; the sealed KEK is useless outside this origin's storage.
#[derive(Debug, Clone)]
pub struct WebCryptoDeviceKey {
    key: Option<CryptoKey>,
}

impl WebCryptoDeviceKey {
    /// Loads the device key from `db`, generating and storing it on first use. Without a
    /// database (storage blocked) or WebCrypto the key is unavailable and the gate method
    /// reports `Unsupported`.
    pub async fn load_or_create(db: Option<&IdbDatabase>) -> Self {
        let key = match db {
            Some(db) => Self::load(db).await.ok(),
            None => None,
        };
        Self { key }
    }

    async fn load(db: &IdbDatabase) -> Result<CryptoKey, JsValue> {
        let stored = idb::device_get(db, DEVICE_KEY_ID)
            .await
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        if let Ok(key) = stored.dyn_into::<CryptoKey>() {
            return Ok(key);
        }
        let algorithm = Object::new();
        Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into())?;
        Reflect::set(&algorithm, &"length".into(), &JsValue::from_f64(256.0))?;
        let key: CryptoKey = JsFuture::from(subtle()?.generate_key_with_object(
            &algorithm,
            false,
            &usages(&["encrypt", "decrypt"]),
        )?)
        .await?
        .unchecked_into();
        // Stored, or another tab stored one first: either way the key is the one that
        // comes back from storage. A browser that cannot keep a CryptoKey in IndexedDB
        // (Safari in Lockdown Mode or Private Browsing: `DataCloneError`; a key that reads
        // back as null) has no device key, rather than one that is gone on the next load.
        let _ = idb::device_add(db, DEVICE_KEY_ID, &key).await;
        idb::device_get(db, DEVICE_KEY_ID)
            .await
            .map_err(|e| JsValue::from_str(&e.to_string()))?
            .dyn_into::<CryptoKey>()
            .map_err(|_| JsValue::from_str("this browser does not keep CryptoKeys in IndexedDB"))
    }

    /// True when a device key could be loaded or created.
    pub fn is_available(&self) -> bool {
        self.key.is_some()
    }

    /// The `CryptoKey` handle (never its bytes: the key is non-extractable), if available.
    pub fn crypto_key(&self) -> Option<&CryptoKey> {
        self.key.as_ref()
    }

    fn key(&self) -> Result<&CryptoKey, DeviceKeyError> {
        self.key.as_ref().ok_or(DeviceKeyError::Unavailable)
    }
}

fn gcm_params(nonce: &[u8], aad: &[u8]) -> AesGcmParams {
    let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(nonce));
    params.set_additional_data(&Uint8Array::from(aad));
    params
}

impl DeviceKey for WebCryptoDeviceKey {
    async fn seal(
        &self,
        aad: &[u8],
        secret: &Secret32,
        nonce: [u8; 12],
    ) -> Result<Sealed, DeviceKeyError> {
        let platform = |e: JsValue| DeviceKeyError::Platform(describe(&e));
        let key = self.key()?;
        let plain = Uint8Array::from(secret.expose().as_slice());
        let op = subtle().and_then(|s| {
            s.encrypt_with_object_and_js_u8_array(&gcm_params(&nonce, aad), key, &plain)
        });
        plain.fill(0, 0, plain.length());
        let ct = JsFuture::from(op.map_err(platform)?)
            .await
            .map_err(platform)?;
        Ok(Sealed {
            alg: AES256GCM_V1.into(),
            nonce,
            ct: Uint8Array::new(&ct).to_vec(),
        })
    }

    async fn open(&self, aad: &[u8], sealed: &Sealed) -> Result<Secret32, DeviceKeyError> {
        if sealed.alg != AES256GCM_V1 || sealed.nonce.len() != NONCE_LEN {
            return Err(DeviceKeyError::Authentication);
        }
        let key = self.key()?;
        let op = subtle()
            .and_then(|s| {
                s.decrypt_with_object_and_js_u8_array(
                    &gcm_params(&sealed.nonce, aad),
                    key,
                    &Uint8Array::from(sealed.ct.as_slice()),
                )
            })
            .map_err(|e| DeviceKeyError::Platform(describe(&e)))?;
        // A failed tag check rejects with `OperationError`.
        let plain = JsFuture::from(op)
            .await
            .map_err(|_| DeviceKeyError::Authentication)?;
        let plain = Uint8Array::new(&plain);
        if plain.length() != 32 {
            plain.fill(0, 0, plain.length());
            return Err(DeviceKeyError::Authentication);
        }
        let mut out = [0u8; 32];
        plain.copy_to(&mut out);
        plain.fill(0, 0, 32);
        Ok(Secret32::from_bytes(out))
    }
}

/// The PKCS #8 encoding of a P-256 private key with its public key: this prefix, the 32-byte
/// scalar, [`PKCS8_P256_MIDDLE`], then the 65-byte uncompressed point (RFC 5208 with the
/// RFC 5915 `ECPrivateKey`, curve `prime256v1`).
const PKCS8_P256_PREFIX: [u8; 36] = [
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02,
    0x01, 0x01, 0x04, 0x20,
];
/// Between the scalar and the public point: `[1] BIT STRING`, no unused bits.
const PKCS8_P256_MIDDLE: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];

/// The PKCS #8 encoding of an Ed25519 private key: this prefix, then the 32-byte seed
/// (RFC 8410 §7: `CurvePrivateKey` inside the `OCTET STRING` of the private key).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A signing key as [`WebCryptoSigner`] holds it for a session.
#[derive(Debug)]
pub enum SessionKey {
    /// A non-extractable `CryptoKey` (no script can read its bytes) of this algorithm.
    WebCrypto(CryptoKey, JwsAlg),
    /// The key in WebAssembly: where the browser lacks the algorithm or refused the import.
    Wasm(Box<SigningKey>),
}

/// JWS signatures for the enclave. ES256 by `crypto.subtle.sign`, each key imported
/// non-extractable once per session (P-256 in WebAssembly is several times slower). EdDSA
/// in WebAssembly by default: a signature there costs less than the round trip from
/// WebAssembly through a WebCrypto promise and back (`cargo xtask bench` measures both;
/// docs/decisions.md), and it is deterministic in every engine; [`Self::webcrypto_eddsa`]
/// signs Ed25519 in WebCrypto too. Where the browser cannot import a key of an algorithm
/// (each is tried once, with a fixed key that signs nothing), or refuses one, the key stays
/// in WebAssembly ([`kms_core::jws::RustSigner`], the reference these signatures are tested
/// against).
#[derive(Debug, Clone, Copy)]
pub struct WebCryptoSigner {
    es256: bool,
    eddsa: bool,
}

/// Where a kind of operation runs, as `link` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Engine {
    /// The browser's WebCrypto, with a non-extractable key.
    WebCrypto,
    /// WebAssembly: the pure-Rust reference.
    Wasm,
}

impl Engine {
    fn from_webcrypto(webcrypto: bool) -> Self {
        if webcrypto {
            Engine::WebCrypto
        } else {
            Engine::Wasm
        }
    }
}

impl WebCryptoSigner {
    /// Finds out once whether this browser imports P-256 private keys, so that no session
    /// key pays a failed import. EdDSA stays in WebAssembly.
    pub async fn detect() -> Self {
        Self {
            es256: imports(JwsAlg::ES256).await,
            eddsa: false,
        }
    }

    /// As [`Self::detect`], and Ed25519 keys in WebCrypto too where the browser imports
    /// them.
    pub async fn webcrypto_eddsa() -> Self {
        Self {
            es256: imports(JwsAlg::ES256).await,
            eddsa: imports(JwsAlg::EdDSA).await,
        }
    }

    /// A signer that keeps every key in WebAssembly (the reference), for comparison.
    pub fn wasm_only() -> Self {
        Self {
            es256: false,
            eddsa: false,
        }
    }

    /// Where ES256 signatures are made.
    pub fn es256(&self) -> Engine {
        Engine::from_webcrypto(self.es256)
    }

    /// Where EdDSA (Ed25519) signatures are made.
    pub fn eddsa(&self) -> Engine {
        Engine::from_webcrypto(self.eddsa)
    }

    fn imports(&self, alg: JwsAlg) -> bool {
        match alg {
            JwsAlg::ES256 => self.es256,
            JwsAlg::EdDSA => self.eddsa,
        }
    }
}

std::thread_local! {
    /// `crypto.subtle` and the two signing algorithm objects, made on first use: a
    /// signature then crosses into JavaScript once.
    static SIGN_WITH: std::cell::OnceCell<(SubtleCrypto, Object, Object)> =
        const { std::cell::OnceCell::new() };
}

/// Whether this browser imports a private key of `alg` (a fixed key that signs nothing).
async fn imports(alg: JwsAlg) -> bool {
    let probe = Secret32::from_bytes([0x5a; 32]);
    match SigningKey::from_secret(alg, &probe) {
        Ok(key) => import_webcrypto(&key).await.is_ok(),
        Err(_) => false,
    }
}

fn signer_error(e: &JsValue) -> SignerError {
    SignerError(describe(e))
}

/// The WebCrypto algorithm object of `alg`, for import (`for_sign` false) or sign.
fn algorithm(alg: JwsAlg, for_sign: bool) -> Result<Object, JsValue> {
    let algorithm = Object::new();
    let set = |k: &str, v: &str| Reflect::set(&algorithm, &k.into(), &v.into());
    match alg {
        JwsAlg::ES256 => {
            set("name", "ECDSA")?;
            if for_sign {
                set("hash", "SHA-256")?;
            } else {
                set("namedCurve", "P-256")?;
            }
        }
        JwsAlg::EdDSA => {
            set("name", "Ed25519")?;
        }
    }
    Ok(algorithm)
}

/// `key` as a non-extractable WebCrypto key, from PKCS #8 built in a buffer that is zeroed
/// once the browser has copied it.
async fn import_webcrypto(key: &SigningKey) -> Result<CryptoKey, JsValue> {
    let mut der = Vec::with_capacity(138);
    match key.alg() {
        JwsAlg::ES256 => {
            der.extend_from_slice(&PKCS8_P256_PREFIX);
            der.extend_from_slice(key.secret().expose());
            der.extend_from_slice(&PKCS8_P256_MIDDLE);
            der.extend_from_slice(&key.public_key().to_bytes());
        }
        JwsAlg::EdDSA => {
            der.extend_from_slice(&PKCS8_ED25519_PREFIX);
            der.extend_from_slice(key.secret().expose());
        }
    }
    let bytes = Uint8Array::from(der.as_slice());
    der.zeroize();
    let imported = algorithm(key.alg(), false).and_then(|algorithm| {
        subtle()?.import_key_with_object("pkcs8", &bytes, &algorithm, false, &usages(&["sign"]))
    });
    // The browser copied the key; clear our copy on the JS heap.
    bytes.fill(0, 0, bytes.length());
    Ok(JsFuture::from(imported?).await?.unchecked_into())
}

impl Signer for WebCryptoSigner {
    type Key = SessionKey;

    async fn import(&self, key: &SigningKey) -> Result<SessionKey, SignerError> {
        if self.imports(key.alg())
            && let Ok(k) = import_webcrypto(key).await
        {
            return Ok(SessionKey::WebCrypto(k, key.alg()));
        }
        let key = RustSigner.import(key).await?;
        Ok(SessionKey::Wasm(Box::new(key)))
    }

    async fn sign(&self, key: &SessionKey, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let (key, alg) = match key {
            SessionKey::WebCrypto(k, alg) => (k, *alg),
            SessionKey::Wasm(k) => return RustSigner.sign(k, message).await,
        };
        let op = SIGN_WITH
            .with(|cached| {
                if cached.get().is_none() {
                    let made = (
                        subtle()?,
                        algorithm(JwsAlg::ES256, true)?,
                        algorithm(JwsAlg::EdDSA, true)?,
                    );
                    let _ = cached.set(made);
                }
                let (subtle, es256, eddsa) = cached
                    .get()
                    .ok_or_else(|| JsValue::from_str("crypto.subtle is unavailable"))?;
                let algorithm = if alg == JwsAlg::ES256 { es256 } else { eddsa };
                subtle.sign_with_object_and_u8_array(algorithm, key, message)
            })
            .map_err(|e| signer_error(&e))?;
        let sig = JsFuture::from(op).await.map_err(|e| signer_error(&e))?;
        let sig = Uint8Array::new(&sig);
        let mut out = [0u8; 64];
        if sig.length() != 64 {
            return Err(SignerError(format!(
                "{alg:?} signature of the wrong length"
            )));
        }
        sig.copy_to(&mut out);
        Ok(out)
    }
}
