//! `kms-wasm`: the WebAssembly shell of the key management enclave.
//!
//! It adapts [`kms_core`] to the browser and adds no logic of its own: an IndexedDB
//! [`Store`](kms_core::store::Store) ([`idb::IdbStore`]), WebCrypto PBKDF2 and a
//! non-extractable device key ([`webcrypto`]), `Date.now()` and `crypto.getRandomValues`,
//! and two entry points that decode an RPC frame, run it and encode the reply:
//! [`Enclave::handle`] for frames from the linked page, [`Enclave::handle_ui`] for the
//! enclave's own UI (called only by the enclave page's code, on a user's gesture in its
//! frame — never with a frame that arrived on the port).
//!
//! The enclave page's bootstrap reads and builds no frame itself: [`dispatch`] tells it where
//! a frame goes and makes the replies for the outcomes it reaches itself (its ceremonies),
//! and [`envelope::seal_frame`] answers `envelope.seal` whole.
//!
//! ```js
//! import init, { Enclave } from "./kms_wasm.js";
//! await init();
//! const enclave = await Enclave.open({ rpId: location.hostname, enclaveOrigin: location.origin,
//!                                      allowedTopOrigins: ["https://app.example"] });
//! const reply = await enclave.handle("https://app.example", { v: 1, id: 1, method: "status" });
//! // In the enclave's own form handler, after a trusted click:
//! await enclave.handleUi("https://app.example", { v: 1, id: 2, method: "unlock.passphrase",
//!                                                 params: { passphrase: input.value } });
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use getrandom::SysRng;
use kms_core::Clock;
use kms_core::InternalError;
use kms_core::Origin;
use kms_core::rand_core::UnwrapErr;
use kms_core::rpc::frame::{self, Call, FrameHeader, Reply};
use kms_core::rpc::policy::Caller;
use kms_core::{Config, Kms};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

#[cfg(feature = "bench")]
pub mod bench;
pub mod dispatch;
pub mod envelope;
pub mod idb;
mod json;
pub mod platform;
pub mod release;
pub mod webcrypto;

use idb::IdbStore;
pub(crate) use json::to_js;
use webcrypto::{Engine, WebCryptoDeviceKey, WebCryptoPbkdf2, WebCryptoSigner};

/// `Date.now()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserClock;

impl Clock for BrowserClock {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}

/// `crypto.getRandomValues` (through getrandom's browser backend).
pub type BrowserRng = UnwrapErr<SysRng>;

type BrowserKms =
    Kms<IdbStore, BrowserClock, BrowserRng, WebCryptoPbkdf2, WebCryptoDeviceKey, WebCryptoSigner>;

/// Options of [`Enclave::open`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    /// IndexedDB database name (default `kms-enclave`).
    db_name: Option<String>,
    /// WebAuthn relying-party id: the enclave's host.
    rp_id: String,
    /// The enclave's origin.
    enclave_origin: String,
    /// PWA origins allowed to embed the enclave.
    allowed_top_origins: Vec<String>,
    /// Require user verification for passkeys (default true).
    require_user_verification: Option<bool>,
    /// Let the page send a passphrase to `unlock.passphrase` (default false; weaker).
    page_passphrase_unlock: Option<bool>,
}

/// What [`Enclave::info`] reports.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    storage_available: bool,
    device_key_available: bool,
    schema_version: u32,
    rpc_version: u32,
    /// Where each kind of key operation runs in this browser.
    engines: Engines,
    /// What this browser offers, found by trying it at open.
    platform: platform::Platform,
}

/// Where the enclave runs each kind of key operation, found out once at open.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Engines {
    /// Passphrase PBKDF2 (WebCrypto; its output never leaves the enclave).
    pbkdf2: Engine,
    /// ES256 signatures (VAPID, relay tokens): WebCrypto with a non-extractable key where
    /// the browser imports P-256 keys.
    es256: Engine,
    /// EdDSA signatures (relay tokens): WebAssembly, faster here than a round trip
    /// through WebCrypto (see `WebCryptoSigner`).
    eddsa: Engine,
}

/// The enclave: one [`Kms`] over this origin's IndexedDB.
#[wasm_bindgen]
pub struct Enclave {
    kms: Rc<RefCell<Option<BrowserKms>>>,
    info: Info,
}

#[wasm_bindgen]
impl Enclave {
    /// Opens the enclave's database (creating it on first use) and loads the device key.
    ///
    /// Never fails because storage is blocked: requests then answer `StorageBlocked`.
    /// Fails with a message starting `Misconfigured:` when an allowed origin could claim
    /// the enclave's passkey rpId (see `Config::validate`).
    /// `indexed_db` replaces the global `indexedDB` factory (a Storage Access API handle's,
    /// in a cross-site frame that was granted access).
    pub async fn open(
        options: JsValue,
        indexed_db: Option<web_sys::IdbFactory>,
    ) -> Result<Enclave, JsError> {
        let o: Options = json::from_js(&options)
            .map_err(|e| JsError::new(&format!("Enclave.open options: {e}")))?;
        let config = Config {
            rp_id: o.rp_id,
            enclave_origin: o.enclave_origin,
            allowed_top_origins: o.allowed_top_origins,
            require_user_verification: o.require_user_verification.unwrap_or(true),
            page_passphrase_unlock: o.page_passphrase_unlock.unwrap_or(false),
            ..Config::default()
        };
        config
            .validate()
            .map_err(|e| JsError::new(&format!("{}: {e}", e.code())))?;
        let name = o.db_name.as_deref().unwrap_or("kms-enclave");
        let store = IdbStore::open_with(name, indexed_db).await;
        let device = WebCryptoDeviceKey::load_or_create(store.database().ok()).await;
        let signer = WebCryptoSigner::detect().await;
        let pbkdf2 = WebCryptoPbkdf2::detect().await;
        let (ed25519, x25519) = platform::curves_25519().await;
        let info = Info {
            storage_available: store.is_available(),
            device_key_available: device.is_available(),
            schema_version: idb::SCHEMA_VERSION,
            rpc_version: kms_core::rpc::RPC_VERSION,
            engines: Engines {
                pbkdf2: pbkdf2.engine(),
                es256: signer.es256(),
                eddsa: signer.eddsa(),
            },
            platform: platform::Platform {
                web_crypto: platform::Algorithms {
                    pbkdf2: pbkdf2.engine() == Engine::WebCrypto,
                    ecdsa_p256: signer.es256() == Engine::WebCrypto,
                    ed25519,
                    x25519,
                },
                stored_crypto_keys: store.is_available().then_some(device.is_available()),
                persistent_storage: platform::persistence().await,
            },
        };
        let kms = Kms::new(store, BrowserClock, UnwrapErr(SysRng))
            .with_config(config)
            .with_pbkdf2(pbkdf2)
            .with_device_key(device)
            .with_signer(signer);
        Ok(Enclave {
            kms: Rc::new(RefCell::new(Some(kms))),
            info,
        })
    }

    /// `{storageAvailable, deviceKeyAvailable, schemaVersion, rpcVersion, engines, platform}`
    /// (`engines`: `{pbkdf2, es256, eddsa}`, each `"webCrypto"` or `"wasm"`; `platform`:
    /// `{webCrypto: {pbkdf2, ecdsaP256, ed25519, x25519}, storedCryptoKeys,
    /// persistentStorage}`, see [`platform::Platform`]).
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&self.info)
    }

    /// Handles one RPC frame from `origin` and resolves to the reply frame
    /// (`{v, id, ok}` or `{v, id, err}`). Never rejects for a bad frame: that is a reply too.
    ///
    /// Calls must not overlap (the bootstrap queues them); an overlapping call answers
    /// `Internal` without running.
    pub async fn handle(&self, origin: String, message: JsValue) -> Result<JsValue, JsError> {
        self.run(origin, message, Caller::Page).await
    }

    /// Handles one frame from the enclave's own UI, acting for the linked page `origin`:
    /// setup, unlocking and unlock-method changes are accepted only here. The enclave page
    /// calls it from its own form and ceremony code after a trusted click in its visible
    /// frame; a page can never reach it.
    #[wasm_bindgen(js_name = handleUi)]
    pub async fn handle_ui(&self, origin: String, message: JsValue) -> Result<JsValue, JsError> {
        self.run(origin, message, Caller::EnclaveUi).await
    }
}

impl Enclave {
    async fn run(
        &self,
        origin: String,
        message: JsValue,
        caller: fn(Origin) -> Caller,
    ) -> Result<JsValue, JsError> {
        let text = json::text(&message);
        let parsed = frame::parse(json::decode::<FrameHeader>(&text), || {
            text.as_ref()
                .map_err(Clone::clone)
                .and_then(|t| Call::from_json(t))
        });
        let reply = match parsed {
            Err((id, e)) => Reply::new(id, Err(e)),
            Ok((id, request)) => {
                let taken = self.kms.borrow_mut().take();
                match taken {
                    None => Reply::new(
                        Some(id),
                        Err(InternalError::Invariant("a request arrived while another ran").into()),
                    ),
                    Some(mut kms) => {
                        let result = match Origin::parse(&origin) {
                            Ok(o) => kms.handle(&caller(o), request).await,
                            Err(e) => Err(e.into()),
                        };
                        *self.kms.borrow_mut() = Some(kms);
                        Reply::new(Some(id), result)
                    }
                }
            }
        };
        to_js(&reply)
    }
}
