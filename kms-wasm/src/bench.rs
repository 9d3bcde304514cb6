//! Primitive benchmarks run in the browser beside WebCrypto (`cargo xtask bench`): each
//! runs the same operation `n` times in WebAssembly and returns the elapsed milliseconds
//! (`performance.now()`), so the page can report wasm-versus-native ratios.

use std::hint::black_box;

use ed25519_dalek::Signer;
use kms_core::audit::{self, Checkpoint, Head, Outcome};
use wasm_bindgen::prelude::*;

fn now_ms() -> f64 {
    let global = js_sys::global();
    let perf = js_sys::Reflect::get(&global, &JsValue::from_str("performance")).ok();
    perf.and_then(|p| {
        let now = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
        now.dyn_into::<js_sys::Function>()
            .ok()?
            .call0(&p)
            .ok()?
            .as_f64()
    })
    .unwrap_or_else(js_sys::Date::now)
}

fn timed(f: impl FnOnce()) -> f64 {
    let t0 = now_ms();
    f();
    now_ms() - t0
}

/// `n` Ed25519 signatures of a 220-byte message (the size of a JWT signing input).
#[wasm_bindgen(js_name = benchEd25519Sign)]
pub fn bench_ed25519_sign(n: u32) -> f64 {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let message = [b'x'; 220];
    timed(|| {
        for _ in 0..n {
            black_box(key.sign(black_box(&message)));
        }
    })
}

/// `n` ES256 signatures of a 220-byte message (the size of a VAPID JWT signing input).
#[wasm_bindgen(js_name = benchEs256Sign)]
pub fn bench_es256_sign(n: u32) -> Result<f64, JsError> {
    let secret = kms_core::Secret32::from_bytes([3; 32]);
    let key = kms_core::jws::SigningKey::from_secret(kms_core::jws::JwsAlg::ES256, &secret)
        .map_err(|e| JsError::new(&e.to_string()))?;
    let message = [b'x'; 220];
    Ok(timed(|| {
        for _ in 0..n {
            black_box(key.sign(black_box(&message)));
        }
    }))
}

/// `n` signatures (`alg`: `"ES256"` or `"EdDSA"`) of a 220-byte message through the
/// enclave's signer over WebCrypto ([`crate::webcrypto::WebCryptoSigner`] with Ed25519 in
/// WebCrypto too: the key imported once, non-extractable, then `crypto.subtle.sign` from
/// WebAssembly — the path a VAPID header takes), and where it signed. Resolves to
/// `{ ms, engine }`.
#[wasm_bindgen(js_name = benchSigner)]
pub async fn bench_signer(alg: String, n: u32) -> Result<JsValue, JsError> {
    use kms_core::jws::{JwsAlg, Signer as _};
    let alg = match alg.as_str() {
        "ES256" => JwsAlg::ES256,
        "EdDSA" => JwsAlg::EdDSA,
        _ => return Err(JsError::new("alg is ES256 or EdDSA")),
    };
    let signer = crate::webcrypto::WebCryptoSigner::webcrypto_eddsa().await;
    let secret = kms_core::Secret32::from_bytes([3; 32]);
    let key = kms_core::jws::SigningKey::from_secret(alg, &secret)
        .map_err(|e| JsError::new(&e.to_string()))?;
    let key = signer
        .import(&key)
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
    let message = [b'x'; 220];
    let t0 = now_ms();
    for _ in 0..n {
        black_box(
            signer
                .sign(&key, black_box(&message))
                .await
                .map_err(|e| JsError::new(&e.to_string()))?,
        );
    }
    /// What [`bench_signer`] resolves to.
    #[derive(serde::Serialize)]
    struct Timed {
        ms: f64,
        engine: crate::webcrypto::Engine,
    }
    let ms = now_ms() - t0;
    let engine = match alg {
        JwsAlg::ES256 => signer.es256(),
        JwsAlg::EdDSA => signer.eddsa(),
    };
    crate::to_js(&Timed { ms, engine })
}

/// `n` X25519 Diffie-Hellman computations.
#[wasm_bindgen(js_name = benchX25519)]
pub fn bench_x25519(n: u32) -> f64 {
    let secret = x25519_dalek::StaticSecret::from([9; 32]);
    let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([5; 32]));
    timed(|| {
        for _ in 0..n {
            black_box(secret.diffie_hellman(black_box(&public)));
        }
    })
}

/// Verifies a signed audit log of `n` entries (built first, not timed).
#[wasm_bindgen(js_name = benchAuditVerify)]
pub fn bench_audit_verify(n: u32) -> Result<f64, JsError> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let mut head = Head::genesis();
    let mut entries = Vec::with_capacity(n as usize);
    for i in 0..u64::from(n) {
        let (entry, next) = head
            .append(
                i,
                "https://app.example",
                "vapid.sign",
                Some("vapid/1"),
                Outcome::Ok,
            )
            .map_err(|e| JsError::new(&e.to_string()))?;
        entries.push(entry);
        head = next;
    }
    let checkpoint = Checkpoint::sign(&head, &key);
    let mut result = None;
    let ms = timed(|| result = Some(audit::verify(&entries, &checkpoint, &key.verifying_key())));
    match result {
        Some(Ok(_)) => Ok(ms),
        Some(Err(e)) => Err(JsError::new(&e.to_string())),
        None => Err(JsError::new("audit verification did not run")),
    }
}
