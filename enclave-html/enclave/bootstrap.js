// @ts-check
// The enclave page's bootstrap: loads the WebAssembly enclave, accepts one port from the
// embedding page, and serves RPC frames on that port only.
//
// Handshake: the embedder posts {kms: "hello", v: 1} with one transferred MessagePort, with
// targetOrigin = this origin. It is accepted only from window.parent and from an origin in
// kms.config.json's allowedOrigins; the reply {kms: "link", v: 1, ...} goes on the port,
// and from then on frames {v, id, method, params} are answered on it. {kms: "bye"} closes it.
//
// Authority is the user's: setup, unlocking and unlock-method changes are ceremonies that
// the page can only ask for (`ui.*`, `passkey.*`). They run here, in the enclave's own
// browsing context: the passphrase is typed into this frame's own input, passkeys are
// created and asserted by this code, and the result reaches the core through
// `enclave.handleUi` only after a trusted click in this frame while it was visible. Frames
// from the page go to `enclave.handle`, where the core refuses every authority method.
//
// This code reads and builds no RPC frame itself: the wasm says where a frame goes
// (`routeFrame`), checks ceremony frames (`checkCeremony`), answers `envelope.seal` whole
// (`sealFrame`) and makes the replies for what a ceremony reached (`okReply`, `errorReply`).
// It is type-checked (`cargo xtask types --check`) against the RPC types generated from the
// Rust ones and against the wasm-bindgen glue's declarations.

import init, {
  Enclave, checkCeremony, errorReply, findRelease, okReply, releaseBundles, routeFrame, sealFrame,
} from "./kms_wasm.js";

/** @typedef {import("../sdk/src/generated/rpc").Ceremony} Ceremony */
/** @typedef {import("../sdk/src/generated/rpc").ErrorBody} ErrorBody */
/** @typedef {import("../sdk/src/generated/rpc").ErrorCode} ErrorCode */
/** @typedef {import("../sdk/src/generated/rpc").Method} Method */
/** @typedef {import("../sdk/src/generated/rpc").MethodInfo} MethodInfo */
/** @typedef {import("../sdk/src/generated/rpc").Reply} Reply */
/** @typedef {import("../sdk/src/generated/rpc").Response} Response */
/**
 * @template {Method} M
 * @typedef {import("../sdk/src/generated/rpc").ParamsOf<M>} ParamsOf
 */
/**
 * @template {Method} M
 * @typedef {import("../sdk/src/generated/rpc").ResultOf<M>} ResultOf
 */
/**
 * @template {Response["type"]} T
 * @typedef {import("../sdk/src/generated/rpc").ResponseOf<T>} ResponseOf
 */
/** @typedef {Ceremony["method"]} CeremonyName */
/**
 * A ceremony frame as `checkCeremony` accepted it.
 * @typedef {Ceremony & {v: number, id: number, params?: unknown}} CeremonyFrame
 */
/**
 * The params of ceremony `C` (`{}` for one without params).
 * @template {CeremonyName} C
 * @typedef {Extract<Ceremony, {method: C}> extends {params: infer P} ? P : {}} CeremonyParams
 */
/**
 * The enclave's own call of a method, for a ceremony: `enclave.handleUi`.
 * @typedef {<M extends Method>(method: M, params: ParamsOf<M>) => Promise<ResultOf<M>>} Ui
 */
/**
 * A ceremony: what the enclave's UI does for the page's request, ending in the reply of
 * the method it calls last.
 * @template {CeremonyName} C
 * @typedef {(ui: Ui, params: CeremonyParams<C>, origin: string, state: State) =>
 *   Promise<import("../sdk/src/generated/rpc").CeremonyResultOf<C>>} CeremonyRun
 */
/**
 * What the enclave runs with once it started.
 * @typedef {object} State
 * @property {Enclave} enclave
 * @property {Options} options
 * @property {Set<string>} allowed the origins allowed to embed the enclave
 */
/**
 * The release this enclave runs, as it checked it itself in the log its `kms.config.json`
 * names: found (`verified`), refused with the SDK's code, or not checked (`unlogged`: the
 * deployment names no log).
 * @typedef {{state: "verified", version: string, index: number, size: number, origin: string,
 *   cosigned: number, witnesses: number, quorum: number, page: string, commit: string}
 *   | {state: "refused", code: string, message: string}
 *   | {state: "unlogged"}} Release
 */
/**
 * `Enclave.open`'s options.
 * @typedef {object} Options
 * @property {string} rpId
 * @property {string} enclaveOrigin
 * @property {string[]} allowedTopOrigins
 * @property {boolean} requireUserVerification
 * @property {boolean} pagePassphraseUnlock
 */

const PROTOCOL = 1;

/** @type {Promise<Release> | null} set once the enclave started */
let release = null;
/** @type {Release | null} set once the check ended */
let released = null;

/**
 * Starts loading everything at once; resolves to the enclave's state or rejects.
 * @type {Promise<State>}
 */
const ready = (async () => {
  const [config] = await Promise.all([
    fetch("kms.config.json", { credentials: "omit", cache: "no-cache" }).then((r) => {
      if (!r.ok) throw new Error(`kms.config.json: HTTP ${r.status}`);
      return r.json();
    }),
    init({ module_or_path: wasmSource() }),
  ]);
  /** @type {string[]} */
  const allowed = Array.isArray(config.allowedOrigins) ? config.allowedOrigins : [];
  const policy = pagePolicy();
  /** @type {Options} */
  const options = {
    rpId: location.hostname,
    enclaveOrigin: location.origin,
    allowedTopOrigins: allowed,
    requireUserVerification: policy.requireUserVerification !== false,
    pagePassphraseUnlock: policy.pagePassphraseUnlock === true,
  };
  const enclave = await Enclave.open(options);
  release = checkRelease(config.log);
  return { enclave, options, allowed: new Set(allowed) };
})();

/** The enclave's own storage key of the last checkpoint it trusted for the log `key`. */
const releaseStorageKey = (/** @type {string} */ key) => `kms-release-checkpoint:${key}`;

/**
 * Checks the release this enclave runs, from its own origin, as the SDK does before mounting
 * (docs/formats/release.md): this page's bytes must be the served `sri-manifest.json`'s
 * page, and that manifest must be in the log (signed by its key, cosigned by a quorum of its
 * witnesses, consistent with the checkpoint this enclave trusted before, which it then
 * stores). The wasm judges (`releaseBundles`, `findRelease`); this only fetches.
 * @param {unknown} log `kms.config.json`'s `log`: {url, key, witnesses?, quorum?}
 * @returns {Promise<Release>}
 */
async function checkRelease(log) {
  if (log === undefined || log === null) return (released = { state: "unlogged" });
  /** @param {string} code @param {string} message */
  const refuse = (code, message) => ({ code, message });
  try {
    const config = /** @type {{url?: unknown, key?: unknown}} */ (log);
    if (typeof config !== "object" || typeof config.url !== "string" || typeof config.key !== "string") {
      throw refuse("InvalidLogConfig", "kms.config.json: log needs a url and a key");
    }
    const base = new URL(config.url.endsWith("/") ? config.url : `${config.url}/`, location.href);
    /** @param {URL} url */
    const get = async (url) => {
      const r = await fetch(url, { credentials: "omit", cache: "no-cache" }).catch(() => null);
      if (!r || !r.ok) throw refuse("LogUnavailable", `${url.pathname}: ${r ? `HTTP ${r.status}` : "unreachable"}`);
      return new Uint8Array(await r.arrayBuffer());
    };
    const [manifestBytes, page, checkpoint] = await Promise.all([
      get(new URL("sri-manifest.json", location.href)), get(new URL(location.href)), get(new URL("checkpoint", base)),
    ]);
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", page))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    if (!manifest || !manifest.page || manifest.page.sha256 !== hash) {
      throw refuse("IntegrityMismatch", `this page (sha256 ${hash}) is not the served manifest's`);
    }
    const paths = releaseBundles(log, checkpoint);
    const bundles = await Promise.all(paths.map((p) => get(new URL(p, base))));
    /** @type {string | null} */
    let stored = null;
    try { stored = localStorage.getItem(releaseStorageKey(config.key)); } catch { /* no storage */ }
    const found = findRelease(log, checkpoint, bundles, manifestBytes,
      stored === null ? undefined : new TextEncoder().encode(stored));
    try { localStorage.setItem(releaseStorageKey(config.key), new TextDecoder().decode(checkpoint)); } catch { /* no storage */ }
    return (released = { state: "verified", ...found, page: hash, commit: String(manifest.source?.commit ?? "") });
  } catch (e) {
    const error = /** @type {{code?: unknown, message?: unknown}} */ (e);
    const code = e && typeof error.code === "string" ? error.code : "LogUnavailable";
    const message = e && typeof error.message === "string" ? error.message : String(e);
    return (released = { state: "refused", code, message });
  }
}

/**
 * The release line of the enclave's prompts: what `checkRelease` found, said by the enclave
 * and not by the page. Fills in when a check still running ends.
 * @returns {HTMLElement}
 */
function releaseLine() {
  const line = el("p", null, { font: "12px/1.4 system-ui, sans-serif", color: "#555", margin: ".6rem 0 0", overflowWrap: "anywhere" });
  line.dataset.kms = "release";
  /** @param {Release | null} r */
  const show = (r) => {
    line.dataset.state = r ? r.state : "checking";
    if (!r) {
      line.textContent = "Checking this enclave's release in its log…";
    } else if (r.state === "verified") {
      const witnesses = r.witnesses === 0 ? "no witnesses configured"
        : `cosigned by ${r.cosigned} of ${r.witnesses} witness${r.witnesses === 1 ? "" : "es"}`;
      line.textContent = `Release ${r.version} · entry ${r.index} of ${r.size} in ${r.origin} · ${witnesses}` +
        ` · page sha256 ${r.page}`;
    } else if (r.state === "refused") {
      line.style.color = "#b00020";
      line.textContent = `This enclave's release is not verified (${r.code}): ${r.message}`;
    } else {
      line.textContent = "This deployment names no release log: the release running here is not verified.";
    }
  };
  show(released);
  if (!released && release) release.then(show);
  return line;
}

/**
 * Security settings a deployment cannot change without changing the pinned page: a
 * `<meta name="kms-policy" content='{"requireUserVerification": false,
 * "pagePassphraseUnlock": true}'>` in the enclave page, whose hash the release manifest
 * and the SDK pin. Without it, the strict defaults. (`kms.config.json` is deployment data,
 * not pinned: it only lists the origins allowed to embed the enclave.)
 */
function pagePolicy() {
  const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="kms-policy"]'));
  return meta ? JSON.parse(meta.content) : {};
}

/**
 * The wasm to compile. A release page (`cargo xtask dist`) names the content-addressed file
 * and its SRI hash in `<meta name="kms-wasm">`: it is fetched with that integrity, and
 * compiled only from that verified response (a mismatch rejects the fetch, so the enclave
 * never starts). A development page has no such element and loads the unhashed file.
 */
function wasmSource() {
  const pinned = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="kms-wasm"]'));
  if (!pinned) return new URL("kms_wasm_bg.wasm", import.meta.url);
  return fetch(new URL(pinned.content, import.meta.url), {
    integrity: pinned.dataset.integrity,
    credentials: "omit",
  });
}

/** @type {{port: MessagePort, origin: string} | null} */
let link = null;
/** @type {Promise<void>} */
let queue = Promise.resolve();

window.addEventListener("message", (event) => {
  // Only the page that embeds us, never another window or frame.
  if (window.parent === window || event.source !== window.parent) return;
  const data = event.data;
  if (!data || typeof data !== "object" || data.kms !== "hello") return;
  if (event.ports.length !== 1) return;
  const port = event.ports[0];
  ready.then(
    (state) => {
      const { enclave, allowed } = state;
      if (!allowed.has(event.origin)) {
        // No port for an unknown origin: close it unanswered.
        console.warn(`enclave: refused a handshake from ${event.origin}`);
        port.close();
        return;
      }
      if (data.v !== PROTOCOL) {
        port.postMessage({ kms: "refused", v: PROTOCOL, code: "Unsupported",
          message: `protocol version ${data.v} (this enclave speaks ${PROTOCOL})` });
        port.close();
        return;
      }
      if (link) link.port.close(); // a reload of the embedder replaces its old port
      link = { port, origin: event.origin };
      port.onmessage = (e) => onFrame(state, port, event.origin, e.data);
      port.postMessage({ kms: "link", v: PROTOCOL, ...enclave.info() });
    },
    (error) => {
      const text = String((error && error.message) || error);
      const code = text.startsWith("Misconfigured:") ? "Misconfigured" : "Internal";
      port.postMessage({ kms: "refused", v: PROTOCOL, code,
        message: `the enclave failed to start: ${text}` });
      port.close();
    },
  );
});

// A deployment the enclave refuses to run (e.g. a page that could claim its passkey rpId)
// says so in the frame too.
ready.catch((error) => {
  const p = document.createElement("p");
  p.textContent = `This key enclave refuses to start: ${(error && error.message) || error}`;
  document.body.replaceChildren(p);
});

/**
 * Serves one message on the linked port.
 * @param {State} state
 * @param {MessagePort} port
 * @param {string} origin the linked page's
 * @param {unknown} frame as it arrived
 */
function onFrame(state, port, origin, frame) {
  // The link's own message, not a frame.
  const data = /** @type {{kms?: unknown} | null} */ (frame);
  if (data && typeof data === "object" && data.kms === "bye") {
    port.close();
    if (link && link.port === port) link = null;
    return;
  }
  // One request at a time, in arrival order: the core is single-threaded.
  queue = queue
    .then(() => dispatch(state, origin, frame))
    .then((reply) => port.postMessage(reply))
    .catch((error) => {
      port.postMessage(errorReply(frame, { code: "Internal", message: String(described(error).message || error) }));
    });
}

/** @type {{ [C in CeremonyName]: CeremonyRun<C> }} */
const ceremonies = {
  "ui.setup": setup,
  "ui.unlock": unlock,
  "ui.addPassphrase": addPassphrase,
  "ui.changePassphrase": changePassphrase,
  "ui.removeMethod": removeMethod,
  "passkey.addPrf": addPrf,
  "passkey.unlockPrf": unlockPrf,
  "passkey.addGate": addGate,
  "passkey.unlockGate": unlockGate,
  "storage.requestAccess": requestStorageAccess,
  "ui.trust": trust,
};

/** A ceremony's typed failure: the body of the error reply the page gets. */
class Refusal extends Error {
  /** @param {ErrorBody} body */
  constructor(body) {
    super(body.message);
    this.body = body;
  }
}

/**
 * A typed failure of a ceremony, sent to the page as its error reply.
 * @param {ErrorCode} code
 * @param {string} message
 */
function fail(code, message) {
  return new Refusal({ code, message });
}

/**
 * `name` and `message` of whatever was thrown, as `error && error.name` reads them.
 * @param {unknown} error
 */
function described(error) {
  const e = /** @type {{name?: string, message?: string} | null | undefined} */ (error);
  return { name: e && e.name, message: e && e.message };
}

/**
 * Answers one frame from the page: routes it; the wasm checks it.
 * @param {State} state
 * @param {string} origin
 * @param {unknown} frame
 * @returns {Promise<unknown>} the reply frame
 */
async function dispatch(state, origin, frame) {
  switch (routeFrame(frame)) {
    case "seal":
      return sealFrame(frame);
    case "ceremony":
      return runCeremony(state, origin, frame);
    default:
      return state.enclave.handle(origin, frame);
  }
}

/** Whether this browser has WebAuthn (WebKitGTK's MiniBrowser, for one, has none). */
function webAuthnAvailable() {
  return typeof PublicKeyCredential === "function" &&
    typeof navigator.credentials?.create === "function" &&
    typeof navigator.credentials?.get === "function";
}

/**
 * Runs a ceremony the page asked for, after the core checked its frame (version, id,
 * params, text bounds).
 * @param {State} state
 * @param {string} origin
 * @param {unknown} frame
 * @returns {Promise<Reply>}
 */
async function runCeremony(state, origin, frame) {
  /** @type {Reply | null} */
  const refusal = checkCeremony(frame);
  if (refusal) return refusal;
  const call = /** @type {CeremonyFrame} */ (frame);
  if (!Object.hasOwn(ceremonies, call.method)) {
    return errorReply(frame, { code: "BadRequest", message: `unknown ceremony ${call.method}` });
  }
  if (call.method.startsWith("passkey.") && !webAuthnAvailable()) {
    return errorReply(frame, { code: "Unsupported", message: "passkey: this browser has no WebAuthn (navigator.credentials)" });
  }
  const ceremony = /** @type {CeremonyRun<CeremonyName>} */ (ceremonies[call.method]);
  /**
   * The enclave's own UI: the only caller of handleUi.
   * @type {Ui}
   */
  const ui = async (m, params) => {
    /** @type {Reply} */
    const reply = await state.enclave.handleUi(origin, { v: PROTOCOL, id: call.id, method: m, params });
    if ("err" in reply) throw new Refusal(reply.err);
    return /** @type {ResultOf<typeof m>} */ (reply.ok);
  };
  try {
    const ok = await ceremony(ui, /** @type {CeremonyParams<CeremonyName>} */ (call.params || {}), origin, state);
    return okReply(frame, ok);
  } catch (error) {
    if (error instanceof Refusal) return errorReply(frame, error.body);
    // WebAuthn failures: the user cancelled, no authenticator, PRF unsupported.
    const { name, message } = described(error);
    const code = name === "NotAllowedError" || name === "AbortError" ? "BadCredential" : "Unsupported";
    return errorReply(frame, { code, message: `passkey: ${name || "error"}: ${message}` });
  } finally {
    document.body.replaceChildren();
  }
}

const b64u = {
  /** @param {string} text base64url */
  decode(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  },
};

// ---- The enclave's own prompt ------------------------------------------------------------
//
// Browsers let a cross-origin iframe create a passkey only during a user gesture in that
// iframe, and only a person should confirm what changes authority, so every ceremony waits
// for a click here (the SDK shows the frame meanwhile). A click counts only when it is
// trusted (`event.isTrusted`: made by the user, not dispatched by script) and, where the
// browser can tell (IntersectionObserver v2, Chromium), while this frame is visible: not
// hidden, transparent, transformed or covered by the page. Styles are set through the CSSOM:
// the CSP allows no inline style.

/** How long the prompt must have been visible before a click on it counts. */
const VISIBLE_FOR_MS = 500;
/** How long the observer has to report before a click on a hidden prompt is refused. */
const REPORT_WITHIN_MS = 1000;

/**
 * Decides what a click on `element` means: "accept" once it has been visible for
 * VISIBLE_FOR_MS; "ignore" while the browser's report may still be settling (a prompt
 * that just appeared); "refuse" when it is hidden, transparent or covered. Where the
 * browser cannot tell (no IntersectionObserver v2), every trusted click is accepted.
 * @param {Element} element
 * @returns {{judge(): "accept" | "ignore" | "refuse", stop(): void}}
 */
function watchVisibility(element) {
  const supported = typeof IntersectionObserverEntry === "function" &&
    "isVisible" in IntersectionObserverEntry.prototype;
  if (!supported) return { judge: () => "accept", stop() {} };
  const shownAt = performance.now();
  let visible = false;
  let since = shownAt;
  // IntersectionObserver v2: `trackVisibility` and `delay` in, `isVisible` out.
  const observer = new IntersectionObserver((entries) => {
    for (const e of /** @type {(IntersectionObserverEntry & {isVisible: boolean})[]} */ (entries)) {
      if (e.isVisible !== visible) since = performance.now();
      visible = e.isVisible;
    }
  }, /** @type {IntersectionObserverInit} */ ({ trackVisibility: true, delay: 100 }));
  observer.observe(element);
  return {
    judge() {
      const now = performance.now();
      if (visible) return now - since >= VISIBLE_FOR_MS ? "accept" : "ignore";
      return now - shownAt >= REPORT_WITHIN_MS ? "refuse" : "ignore";
    },
    stop() { observer.disconnect(); },
  };
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string | null} text
 * @param {Partial<CSSStyleDeclaration>} [style]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, text, style) {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  if (style) Object.assign(e.style, style);
  return e;
}

/**
 * Shows the enclave's prompt and resolves to {action, values} on a trusted click on one of
 * `actions` while the frame is visible; rejects when the click came while it was hidden or
 * covered, and on "Cancel". `fields` are password inputs typed into this frame only.
 * @param {object} p
 * @param {string} p.title
 * @param {string} [p.detail]
 * @param {string} [p.code] shown in a fixed-width block (a safety number)
 * @param {string} [p.hint] the page's words, shown as such
 * @param {string} [p.origin] the page's origin
 * @param {{name: string, label: string, autocomplete?: AutoFill}[]} [p.fields]
 * @param {{id: string, label: string}[]} p.actions
 * @param {string} [p.error]
 * @returns {Promise<{action: string, values: Record<string, string>}>}
 */
function prompt({ title, detail, code, hint, origin, fields = [], actions, error }) {
  return new Promise((resolve, reject) => {
    const box = el("form", null, {
      font: "15px/1.4 system-ui, sans-serif", padding: ".75rem 1rem", color: "#1b1d21",
      background: "#fff", minHeight: "100%", boxSizing: "border-box", margin: "0",
    });
    box.append(el("p", title, { fontWeight: "600", margin: "0 0 .4rem" }));
    if (detail) box.append(el("p", detail, { margin: "0 0 .4rem" }));
    if (code) {
      box.append(el("p", code, {
        font: "600 16px/1.5 ui-monospace, monospace", margin: "0 0 .4rem", letterSpacing: ".05em",
      }));
    }
    if (hint) box.append(el("p", `“${hint}” — says ${origin}`, { margin: "0 0 .4rem", color: "#555", fontStyle: "italic" }));
    /** @type {Record<string, HTMLInputElement>} */
    const inputs = {};
    for (const f of fields) {
      const label = el("label", f.label, { display: "block", margin: ".2rem 0" });
      const input = el("input", null, { display: "block", width: "100%", boxSizing: "border-box" });
      input.type = "password";
      input.name = f.name;
      input.autocomplete = f.autocomplete || "current-password";
      label.append(input);
      box.append(label);
      inputs[f.name] = input;
    }
    const message = el("p", error || "", { color: "#b00020", margin: ".3rem 0", minHeight: "1.2em" });
    message.setAttribute("role", "alert");
    box.append(message);
    const watch = watchVisibility(box);
    const done = () => { watch.stop(); box.remove(); };
    for (const a of actions) {
      const button = el("button", a.label, { marginRight: ".5rem" });
      button.type = a.id === "cancel" ? "button" : "submit";
      button.addEventListener("click", (event) => {
        event.preventDefault();
        if (!event.isTrusted) return; // a script's click is not the user's
        if (a.id === "cancel") {
          done();
          const cancelled = new Error("the user cancelled");
          cancelled.name = "NotAllowedError";
          reject(cancelled);
          return;
        }
        const verdict = watch.judge();
        if (verdict === "ignore") return; // too soon to tell: the user clicks again
        if (verdict === "refuse") {
          done();
          reject(fail("NotPermitted", "confirmation refused: the enclave's prompt was hidden, transparent or covered"));
          return;
        }
        /** @type {Record<string, string>} */
        const values = {};
        for (const [name, input] of Object.entries(inputs)) {
          values[name] = input.value;
          input.value = "";
        }
        done();
        resolve({ action: a.id, values });
      });
      box.append(button);
    }
    box.append(releaseLine());
    document.body.style.margin = "0";
    document.body.replaceChildren(box);
    const first = Object.values(inputs)[0];
    (first || box.querySelector("button"))?.focus();
  });
}

const CONTINUE = [{ id: "ok", label: "Continue" }, { id: "cancel", label: "Cancel" }];

/**
 * @param {string} title
 * @param {string} origin
 */
function confirmInFrame(title, origin) {
  return prompt({ title, detail: `Requested by ${origin}.`, actions: CONTINUE });
}

/** @param {number} n */
function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * The PRF output of a passkey's creation or assertion, if it evaluated the PRF.
 * @param {PublicKeyCredential} credential
 */
function prfFirst(credential) {
  const prf = credential.getClientExtensionResults().prf;
  return prf && prf.results && prf.results.first
    ? new Uint8Array(/** @type {ArrayBuffer} */ (prf.results.first))
    : null;
}

/**
 * Asks for a new passphrase twice until both match and the core accepts it.
 * @template T
 * @param {string} title
 * @param {string} origin
 * @param {string | undefined} hint
 * @param {(passphrase: string) => Promise<T>} submit
 * @returns {Promise<T>}
 */
async function newPassphrase(title, origin, hint, submit) {
  let error = "";
  for (;;) {
    const { values } = await prompt({
      title, hint, origin, error,
      fields: [
        { name: "passphrase", label: "New passphrase (at least 8 characters)", autocomplete: "new-password" },
        { name: "again", label: "The same passphrase again", autocomplete: "new-password" },
      ],
      actions: [{ id: "ok", label: "Save" }, { id: "cancel", label: "Cancel" }],
    });
    if (values.passphrase !== values.again) {
      error = "The two passphrases differ.";
      continue;
    }
    try {
      return await submit(values.passphrase);
    } catch (e) {
      if (e instanceof Refusal && e.body.code === "BadRequest") {
        error = e.body.message;
        continue;
      }
      throw e;
    }
  }
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"ui.setup">} params
 * @param {string} origin
 */
async function setup(ui, params, origin) {
  return newPassphrase("Set up your key enclave", origin, params.hint,
    (passphrase) => ui("setup", { passphrase }));
}

/**
 * The unlock form: the passphrase, or a passkey, whichever methods exist.
 * @param {Ui} ui
 * @param {CeremonyParams<"ui.unlock">} params
 * @param {string} origin
 * @param {State} state
 * @returns {Promise<ResponseOf<"unlocked">>}
 */
async function unlock(ui, params, origin, state, title = "Unlock your keys") {
  const status = await ui("status", undefined);
  if (!status.initialized) throw fail("NotInitialized", "the enclave is not set up");
  const kinds = new Set(status.methods.map((m) => m.kind));
  const actions = [];
  if (kinds.has("passphrase")) actions.push({ id: "passphrase", label: "Unlock" });
  if (kinds.has("passkey-prf")) actions.push({ id: "prf", label: "Use a passkey" });
  if (kinds.has("passkey-gate")) actions.push({ id: "gate", label: "Passkey session (5 min)" });
  actions.push({ id: "cancel", label: "Cancel" });
  let error = "";
  for (;;) {
    const { action, values } = await prompt({
      title, hint: params.hint, origin, error, actions,
      detail: `For ${origin}.`,
      fields: kinds.has("passphrase") ? [{ name: "passphrase", label: "Passphrase" }] : [],
    });
    try {
      if (action === "prf") return await prfAssertion(ui);
      if (action === "gate") return await gateAssertion(ui);
      return await ui("unlock.passphrase", { passphrase: values.passphrase });
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      const code = e.body.code;
      if (code === "BadCredential") { error = "That did not unlock the enclave."; continue; }
      if (code === "RateLimited") {
        error = `Too many attempts: try again in ${Math.ceil((e.body.retryAfterMs || 1000) / 1000)} s.`;
        continue;
      }
      throw e;
    }
  }
}

/**
 * Runs `change` after making sure the user unlocked with a current method just now.
 * @template T
 * @param {Ui} ui
 * @param {string} origin
 * @param {State} state
 * @param {() => Promise<T>} change
 * @returns {Promise<T>}
 */
async function fresh(ui, origin, state, change) {
  const status = await ui("status", undefined);
  if (!status.unlocked) throw fail("Locked", "the enclave is locked");
  if (!status.freshUntilMs || status.freshUntilMs < Date.now() + 10_000) {
    await unlock(ui, {}, origin, state, "Confirm it is you");
  }
  return change();
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"ui.addPassphrase">} params
 * @param {string} origin
 * @param {State} state
 */
async function addPassphrase(ui, params, origin, state) {
  return fresh(ui, origin, state, () => newPassphrase("Add a passphrase", origin, undefined,
    (passphrase) => ui("methods.addPassphrase", { passphrase, label: params.label })));
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"ui.changePassphrase">} params
 * @param {string} origin
 * @param {State} state
 */
async function changePassphrase(ui, params, origin, state) {
  return fresh(ui, origin, state, () => newPassphrase("Change a passphrase", origin, undefined,
    (passphrase) => ui("methods.changePassphrase", { methodId: params.methodId, passphrase })));
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"ui.removeMethod">} params
 * @param {string} origin
 * @param {State} state
 */
async function removeMethod(ui, params, origin, state) {
  const { methods } = await ui("methods.list", undefined);
  const m = methods.find((x) => x.id === params.methodId);
  if (!m) throw fail("BadRequest", `no unlock method ${JSON.stringify(params.methodId)}`);
  return fresh(ui, origin, state, async () => {
    await prompt({
      title: "Remove an unlock method",
      detail: `Remove the ${m.kind} method${m.label ? ` “${m.label}”` : ""}? Requested by ${origin}.`,
      actions: [{ id: "ok", label: "Remove" }, { id: "cancel", label: "Cancel" }],
    });
    return ui("methods.remove", { methodId: m.id });
  });
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"passkey.addPrf">} params
 * @param {string} origin
 * @param {State} state
 */
async function addPrf(ui, params, origin, state) {
  return fresh(ui, origin, state, async () => {
    const { prfInput } = await ui("methods.prfInput", undefined);
    const input = b64u.decode(prfInput);
    await confirmInFrame("Create a passkey to unlock your keys", origin);
    const credential = /** @type {PublicKeyCredential} */ (await navigator.credentials.create({
      publicKey: {
        rp: { id: location.hostname, name: "Key enclave" },
        user: { id: randomBytes(16), name: params.userName || "enclave", displayName: params.label || "Key enclave" },
        challenge: randomBytes(32),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
        authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
        extensions: { prf: { eval: { first: input } } },
      },
    }));
    let output = prfFirst(credential);
    if (!output) {
      // Many authenticators evaluate PRF only during an assertion.
      const assertion = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({
        publicKey: {
          challenge: randomBytes(32),
          rpId: location.hostname,
          allowCredentials: [{ type: "public-key", id: credential.rawId }],
          userVerification: "required",
          extensions: { prf: { eval: { first: input } } },
        },
      }));
      output = prfFirst(assertion);
    }
    if (!output) throw fail("Unsupported", "this passkey does not support the PRF extension");
    try {
      return await ui("methods.addPrf", { credentialId: new Uint8Array(credential.rawId), prfInput: input, prfOutput: output, label: params.label });
    } finally {
      output.fill(0);
    }
  });
}

/**
 * The PRF assertion and unlock, after the user's click.
 * @param {Ui} ui
 */
async function prfAssertion(ui) {
  const status = await ui("status", undefined);
  const prf = status.methods.filter(
    /** @type {(m: MethodInfo) => m is MethodInfo & {credentialId: string, prfInput: string}} */
    ((m) => Boolean(m.kind === "passkey-prf" && m.credentialId && m.prfInput)),
  );
  if (prf.length === 0) throw fail("KeyNotFound", "no passkey-PRF unlock method is set up");
  /** @type {Record<string, AuthenticationExtensionsPRFValues>} */
  const evalByCredential = {};
  for (const m of prf) evalByCredential[m.credentialId] = { first: b64u.decode(m.prfInput) };
  const assertion = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({
    publicKey: {
      challenge: randomBytes(32),
      rpId: location.hostname,
      allowCredentials: prf.map((m) => ({ type: "public-key", id: b64u.decode(m.credentialId) })),
      userVerification: "required",
      extensions: { prf: { evalByCredential } },
    },
  }));
  const output = prfFirst(assertion);
  if (!output) throw fail("Unsupported", "the passkey returned no PRF output");
  try {
    return await ui("unlock.prf", { credentialId: new Uint8Array(assertion.rawId), prfOutput: output });
  } finally {
    output.fill(0);
  }
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"passkey.unlockPrf">} params
 * @param {string} origin
 */
async function unlockPrf(ui, params, origin) {
  await confirmInFrame("Unlock your keys with your passkey", origin);
  return prfAssertion(ui);
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"passkey.addGate">} params
 * @param {string} origin
 * @param {State} state
 */
async function addGate(ui, params, origin, state) {
  return fresh(ui, origin, state, async () => {
    const challenge = await ui("unlock.gateChallenge", undefined);
    await confirmInFrame("Create a passkey that opens 5-minute sessions", origin);
    const credential = /** @type {PublicKeyCredential} */ (await navigator.credentials.create({
      publicKey: {
        rp: { id: challenge.rpId, name: "Key enclave" },
        user: { id: randomBytes(16), name: params.userName || "enclave", displayName: params.label || "Key enclave" },
        challenge: b64u.decode(challenge.challenge),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
        authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
        attestation: "none",
      },
    }));
    const response = /** @type {AuthenticatorAttestationResponse} */ (credential.response);
    return ui("methods.addGate", {
      attestationObject: new Uint8Array(response.attestationObject),
      clientDataJson: new Uint8Array(response.clientDataJSON),
      label: params.label,
    });
  });
}

/**
 * The gate assertion and unlock, after the user's click.
 * @param {Ui} ui
 */
async function gateAssertion(ui) {
  const challenge = await ui("unlock.gateChallenge", undefined);
  const assertion = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({
    publicKey: {
      challenge: b64u.decode(challenge.challenge),
      rpId: challenge.rpId,
      allowCredentials: challenge.credentialIds.map((id) => ({ type: "public-key", id: b64u.decode(id) })),
      userVerification: "required",
    },
  }));
  const response = /** @type {AuthenticatorAssertionResponse} */ (assertion.response);
  return ui("unlock.gate", {
    credentialId: new Uint8Array(assertion.rawId),
    authenticatorData: new Uint8Array(response.authenticatorData),
    clientDataJson: new Uint8Array(response.clientDataJSON),
    signature: new Uint8Array(response.signature),
  });
}

/**
 * @param {Ui} ui
 * @param {CeremonyParams<"passkey.unlockGate">} params
 * @param {string} origin
 */
async function unlockGate(ui, params, origin) {
  await confirmInFrame("Open a 5-minute session with your passkey", origin);
  return gateAssertion(ui);
}

// Cross-site embedding: the browser withholds IndexedDB until the user grants this frame
// storage access (Storage Access API). On a grant, the enclave reopens its database through
// the granted handle; on a refusal the request fails with `StorageBlocked`.
/**
 * @param {Ui} ui
 * @param {CeremonyParams<"storage.requestAccess">} params
 * @param {string} origin
 * @param {State} state
 * @returns {Promise<ResponseOf<"done">>}
 */
async function requestStorageAccess(ui, params, origin, state) {
  if (state.enclave.info().storageAvailable) return { type: "done" };
  if (typeof document.requestStorageAccess !== "function") {
    throw fail("StorageBlocked", "this browser has no Storage Access API");
  }
  await prompt({
    title: "Allow this app to use your keys",
    detail: `${origin} is on another site and asks for access to the enclave's storage.`,
    actions: CONTINUE,
  });
  // Storage Access API "beyond cookies": a handle with the storage asked for.
  const doc = /** @type {Document & {requestStorageAccess(types: {indexedDB: boolean}): Promise<{indexedDB?: IDBFactory} | undefined>}} */ (document);
  let handle;
  try {
    handle = await doc.requestStorageAccess({ indexedDB: true });
  } catch (error) {
    throw fail("StorageBlocked", `storage access was not granted: ${described(error).name}`);
  }
  const reopened = await Enclave.open(state.options, handle && handle.indexedDB ? handle.indexedDB : undefined);
  if (!reopened.info().storageAvailable) {
    throw fail("StorageBlocked", "storage access was granted but IndexedDB is still unavailable");
  }
  state.enclave = reopened;
  return { type: "done" };
}

/**
 * Signal: the user trusts a peer's identity key after seeing its safety number. The key is
 * the stored one unless the page names another (a changed identity); either way the
 * number shown is computed here from the key that is then trusted.
 * @param {Ui} ui
 * @param {CeremonyParams<"ui.trust">} params
 * @param {string} origin
 */
async function trust(ui, params, origin) {
  const { address, localName, remoteName } = params;
  const stored = await ui("signal.identity", { address });
  const identityKey = params.identityKey || stored.identityKey;
  if (!identityKey) throw fail("KeyNotFound", `no identity key is stored for ${address.name}`);
  const changed = Boolean(stored.identityKey) && stored.identityKey !== identityKey;
  const known = !changed && stored.trust !== "unconfirmed";
  const { safetyNumber } = await ui("signal.safetyNumber", { address, localName, remoteName, identityKey });
  const who = `${remoteName === address.name ? address.name : `${remoteName} (${address.name})`}, device ${address.deviceId}`;
  const { action } = await prompt({
    title: changed ? "Safety number changed" : known ? "Verify a contact" : "Trust a new contact",
    detail: changed
      ? `The identity key of ${who} is not the one you trusted. Messages to them stay blocked unless you trust the new one. Compare this safety number with theirs. Requested by ${origin}.`
      : known
        ? `You trust ${who}. Compare this safety number with theirs to mark it verified. Requested by ${origin}.`
        : `Send end-to-end encrypted messages to ${who}? Compare this safety number with theirs to be sure no one is in between. Requested by ${origin}.`,
    code: safetyNumber.replace(/(\d{5})(?=\d)/g, "$1 "),
    actions: [
      { id: "ok", label: "Trust" },
      { id: "verified", label: "Numbers match" },
      { id: "cancel", label: "Cancel" },
    ],
  });
  return ui("signal.trust", { address, identityKey, verified: action === "verified" });
}
