// The enclave page's bootstrap: loads the WebAssembly enclave, accepts one port from the
// embedding page, and serves RPC frames on that port only.
//
// Handshake: the embedder posts {kms: "hello", v: 1} with one transferred MessagePort, with
// targetOrigin = this origin. It is accepted only from window.parent and from an origin in
// kms.config.json's allowedOrigins; the reply {kms: "link", v: 1, ...} goes on the port,
// and from then on frames {v, id, method, params} are answered on it. {kms: "bye"} closes it.
//
// Passkey ceremonies run here, in the enclave's own browsing context, so the PRF output
// never leaves it: the `passkey.*` methods drive navigator.credentials and then call the
// enclave with the result.

import init, { Enclave, sealEnvelope } from "./kms_wasm.js";

const PROTOCOL = 1;
const listeners = { linked: null };

/** Starts loading everything at once; resolves to {enclave, config} or rejects. */
const ready = (async () => {
  const [config] = await Promise.all([
    fetch("kms.config.json", { credentials: "omit", cache: "no-cache" }).then((r) => {
      if (!r.ok) throw new Error(`kms.config.json: HTTP ${r.status}`);
      return r.json();
    }),
    init({ module_or_path: wasmSource() }),
  ]);
  const allowed = Array.isArray(config.allowedOrigins) ? config.allowedOrigins : [];
  const options = {
    rpId: location.hostname,
    enclaveOrigin: location.origin,
    allowedTopOrigins: allowed,
    requireUserVerification: config.requireUserVerification !== false,
  };
  const enclave = await Enclave.open(options);
  return { enclave, options, allowed: new Set(allowed) };
})();

/**
 * The wasm to compile. A release page (`cargo xtask dist`) names the content-addressed file
 * and its SRI hash in `<meta name="kms-wasm">`: it is fetched with that integrity, and
 * compiled only from that verified response (a mismatch rejects the fetch, so the enclave
 * never starts). A development page has no such element and loads the unhashed file.
 */
function wasmSource() {
  const pinned = document.querySelector('meta[name="kms-wasm"]');
  if (!pinned) return new URL("kms_wasm_bg.wasm", import.meta.url);
  return fetch(new URL(pinned.content, import.meta.url), {
    integrity: pinned.dataset.integrity,
    credentials: "omit",
  });
}

let link = null; // {port, origin}
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
      port.postMessage({ kms: "refused", v: PROTOCOL, code: "Internal",
        message: `the enclave failed to start: ${error && error.message}` });
      port.close();
    },
  );
});

function onFrame(state, port, origin, frame) {
  if (frame && typeof frame === "object" && frame.kms === "bye") {
    port.close();
    if (link && link.port === port) link = null;
    return;
  }
  // One request at a time, in arrival order: the core is single-threaded.
  queue = queue
    .then(() => dispatch(state, origin, frame))
    .then((reply) => port.postMessage(reply))
    .catch((error) => {
      const id = frame && typeof frame === "object" && Number.isInteger(frame.id) ? frame.id : null;
      port.postMessage({ v: PROTOCOL, id, err: { code: "Internal", message: String(error && error.message || error) } });
    });
}

const ceremonies = {
  "storage.requestAccess": requestStorageAccess,
  "passkey.addPrf": addPrf,
  "passkey.unlockPrf": unlockPrf,
  "passkey.addGate": addGate,
  "passkey.unlockGate": unlockGate,
};

async function dispatch(state, origin, frame) {
  const enclave = state.enclave;
  const method = frame && typeof frame === "object" ? frame.method : undefined;
  const ceremony = typeof method === "string" && Object.hasOwn(ceremonies, method) ? ceremonies[method] : null;
  if (method === "envelope.seal") return sealLocally(frame);
  if (!ceremony) return enclave.handle(origin, frame);
  const id = Number.isInteger(frame.id) ? frame.id : null;
  if (frame.v !== PROTOCOL) {
    return { v: PROTOCOL, id, err: { code: "Unsupported", message: `protocol version ${frame.v} (this enclave speaks ${PROTOCOL})` } };
  }
  if (id === null || (frame.params !== undefined && (typeof frame.params !== "object" || frame.params === null))) {
    return { v: PROTOCOL, id, err: { code: "BadRequest", message: "frame: expected {v, id, method, params}" } };
  }
  const call = async (m, params) => {
    const reply = await enclave.handle(origin, { v: PROTOCOL, id: frame.id, method: m, params });
    if (reply.err) throw Object.assign(new Error(reply.err.message), { body: reply.err });
    return reply.ok;
  };
  try {
    const ok = await ceremony(call, frame.params || {}, origin, state);
    return { v: PROTOCOL, id: frame.id, ok };
  } catch (error) {
    if (error && error.body) return { v: PROTOCOL, id: frame.id, err: error.body };
    // WebAuthn failures: the user cancelled, no authenticator, PRF unsupported.
    const name = error && error.name;
    const code = name === "NotAllowedError" || name === "AbortError" ? "BadCredential" : "Unsupported";
    return { v: PROTOCOL, id: frame.id, err: { code, message: `passkey: ${name || "error"}: ${error && error.message}` } };
  }
}

const b64u = {
  encode(bytes) {
    let s = "";
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  },
};

// Browsers let a cross-origin iframe create a passkey only during a user gesture in that
// iframe, so every ceremony starts with the enclave's own prompt (the SDK shows the frame
// meanwhile). Styles are set through the CSSOM: the CSP allows no inline style.
function confirmInFrame(title, detail) {
  return new Promise((resolve, reject) => {
    const box = document.createElement("div");
    Object.assign(box.style, {
      font: "15px/1.4 system-ui, sans-serif", padding: "1rem", color: "#1b1d21",
      background: "#fff", height: "100%", boxSizing: "border-box",
    });
    const h = document.createElement("p");
    h.textContent = title;
    h.style.fontWeight = "600";
    const d = document.createElement("p");
    d.textContent = detail;
    const ok = document.createElement("button");
    ok.textContent = "Continue";
    const cancel = document.createElement("button");
    cancel.textContent = "Cancel";
    cancel.style.marginLeft = ".5rem";
    ok.addEventListener("click", () => { box.remove(); resolve(); }, { once: true });
    cancel.addEventListener("click", () => {
      box.remove();
      reject(Object.assign(new Error("the user cancelled"), { name: "NotAllowedError" }));
    }, { once: true });
    box.append(h, d, ok, cancel);
    document.body.style.margin = "0";
    document.body.append(box);
    ok.focus();
  });
}

function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

function prfFirst(credential) {
  const prf = credential.getClientExtensionResults().prf;
  return prf && prf.results && prf.results.first ? new Uint8Array(prf.results.first) : null;
}

function requireText(value, name, max = 64) {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > max) throw Object.assign(new Error(), {
    body: { code: "BadRequest", message: `${name}: expected a string of at most ${max} characters` },
  });
  return value;
}

async function addPrf(call, params, origin) {
  const label = requireText(params.label, "label");
  const { prfInput } = await call("methods.prfInput", undefined);
  const input = b64u.decode(prfInput);
  await confirmInFrame("Create a passkey to unlock your keys", `Requested by ${origin}.`);
  const credential = await navigator.credentials.create({
    publicKey: {
      rp: { id: location.hostname, name: "Key enclave" },
      user: { id: randomBytes(16), name: requireText(params.userName, "userName") || "enclave", displayName: label || "Key enclave" },
      challenge: randomBytes(32),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
      extensions: { prf: { eval: { first: input } } },
    },
  });
  let output = prfFirst(credential);
  if (!output) {
    // Many authenticators evaluate PRF only during an assertion.
    const assertion = await navigator.credentials.get({
      publicKey: {
        challenge: randomBytes(32),
        rpId: location.hostname,
        allowCredentials: [{ type: "public-key", id: credential.rawId }],
        userVerification: "required",
        extensions: { prf: { eval: { first: input } } },
      },
    });
    output = prfFirst(assertion);
  }
  if (!output) throw Object.assign(new Error(), { body: { code: "Unsupported", message: "this passkey does not support the PRF extension" } });
  try {
    return await call("methods.addPrf", { credentialId: new Uint8Array(credential.rawId), prfInput: input, prfOutput: output, label });
  } finally {
    output.fill(0);
  }
}

async function unlockPrf(call, params, origin) {
  const status = await call("status", undefined);
  const prf = status.methods.filter((m) => m.kind === "passkey-prf" && m.credentialId && m.prfInput);
  if (prf.length === 0) throw Object.assign(new Error(), { body: { code: "KeyNotFound", message: "no passkey-PRF unlock method is set up" } });
  const evalByCredential = {};
  for (const m of prf) evalByCredential[m.credentialId] = { first: b64u.decode(m.prfInput) };
  await confirmInFrame("Unlock your keys with your passkey", `Requested by ${origin}.`);
  const assertion = await navigator.credentials.get({
    publicKey: {
      challenge: randomBytes(32),
      rpId: location.hostname,
      allowCredentials: prf.map((m) => ({ type: "public-key", id: b64u.decode(m.credentialId) })),
      userVerification: "required",
      extensions: { prf: { evalByCredential } },
    },
  });
  const output = prfFirst(assertion);
  if (!output) throw Object.assign(new Error(), { body: { code: "Unsupported", message: "the passkey returned no PRF output" } });
  try {
    return await call("unlock.prf", { credentialId: new Uint8Array(assertion.rawId), prfOutput: output });
  } finally {
    output.fill(0);
  }
}

async function addGate(call, params, origin) {
  const label = requireText(params.label, "label");
  const challenge = await call("unlock.gateChallenge", undefined);
  await confirmInFrame("Create a passkey that opens 5-minute sessions", `Requested by ${origin}.`);
  const credential = await navigator.credentials.create({
    publicKey: {
      rp: { id: challenge.rpId, name: "Key enclave" },
      user: { id: randomBytes(16), name: requireText(params.userName, "userName") || "enclave", displayName: label || "Key enclave" },
      challenge: b64u.decode(challenge.challenge),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
      attestation: "none",
    },
  });
  return call("methods.addGate", {
    attestationObject: new Uint8Array(credential.response.attestationObject),
    clientDataJson: new Uint8Array(credential.response.clientDataJSON),
    label,
  });
}

async function unlockGate(call, params, origin) {
  const challenge = await call("unlock.gateChallenge", undefined);
  await confirmInFrame("Open a 5-minute session with your passkey", `Requested by ${origin}.`);
  const assertion = await navigator.credentials.get({
    publicKey: {
      challenge: b64u.decode(challenge.challenge),
      rpId: challenge.rpId,
      allowCredentials: challenge.credentialIds.map((id) => ({ type: "public-key", id: b64u.decode(id) })),
      userVerification: "required",
    },
  });
  return call("unlock.gate", {
    credentialId: new Uint8Array(assertion.rawId),
    authenticatorData: new Uint8Array(assertion.response.authenticatorData),
    clientDataJson: new Uint8Array(assertion.response.clientDataJSON),
    signature: new Uint8Array(assertion.response.signature),
  });
}

// Cross-site embedding: the browser withholds IndexedDB until the user grants this frame
// storage access (Storage Access API). On a grant, the enclave reopens its database through
// the granted handle; on a refusal the request fails with `StorageBlocked`.
async function requestStorageAccess(call, params, origin, state) {
  if (state.enclave.info().storageAvailable) return { type: "done" };
  if (typeof document.requestStorageAccess !== "function") {
    throw Object.assign(new Error(), { body: { code: "StorageBlocked", message: "this browser has no Storage Access API" } });
  }
  await confirmInFrame("Allow this app to use your keys", `${origin} is on another site and asks for access to the enclave's storage.`);
  let handle;
  try {
    handle = await document.requestStorageAccess({ indexedDB: true });
  } catch (error) {
    throw Object.assign(new Error(), { body: { code: "StorageBlocked", message: `storage access was not granted: ${error && error.name}` } });
  }
  const reopened = await Enclave.open(state.options, handle && handle.indexedDB ? handle.indexedDB : undefined);
  if (!reopened.info().storageAvailable) {
    throw Object.assign(new Error(), { body: { code: "StorageBlocked", message: "storage access was granted but IndexedDB is still unavailable" } });
  }
  state.enclave = reopened;
  return { type: "done" };
}

// `envelope.seal` needs no key and no storage: it verifies the vended prekey against its
// owner's identity key and seals to it, for pages that want the enclave's implementation.
function sealLocally(frame) {
  const id = Number.isInteger(frame.id) ? frame.id : null;
  if (frame.v !== PROTOCOL) {
    return { v: PROTOCOL, id, err: { code: "Unsupported", message: `protocol version ${frame.v} (this enclave speaks ${PROTOCOL})` } };
  }
  const p = frame.params;
  if (id === null || !p || typeof p !== "object" || typeof p.identityKey !== "string" || !p.prekey || typeof p.prekey !== "object") {
    return { v: PROTOCOL, id, err: { code: "BadRequest", message: "envelope.seal: expected {identityKey, prekey, plaintext}" } };
  }
  const plaintext = typeof p.plaintext === "string" ? new TextEncoder().encode(p.plaintext) : p.plaintext;
  if (!(plaintext instanceof Uint8Array)) {
    return { v: PROTOCOL, id, err: { code: "BadRequest", message: "envelope.seal: plaintext must be a string or a Uint8Array" } };
  }
  try {
    return { v: PROTOCOL, id, ok: { type: "envelopeSealed", envelope: sealEnvelope(p.identityKey, p.prekey, plaintext) } };
  } catch (error) {
    return { v: PROTOCOL, id, err: { code: "BadRequest", message: `envelope.seal: ${error && error.message}` } };
  }
}
