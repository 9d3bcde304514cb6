// The demo PWA: every step goes through the client SDK; the page only ever sees public
// keys, signatures, tokens and the audit log. Setup and unlocking happen in the enclave's
// own form, inside its frame: this page never sees a passphrase.
import { createKms, KmsError, verifyPageSignature } from "./sdk/index.js";
import { ENCLAVE_URL as LAYOUT_ENCLAVE_URL } from "./layout.js";

const params = new URLSearchParams(location.search);
const ENCLAVE_URL = params.get("enclave") || LAYOUT_ENCLAVE_URL;
const logList = document.getElementById("log");
document.getElementById("enclave-origin").textContent = new URL(ENCLAVE_URL).origin;

let kms = null;
let failures = 0;

function log(ok, text) {
  const li = document.createElement("li");
  li.className = ok === null ? "" : ok ? "ok" : "fail";
  li.textContent = text;
  logList.appendChild(li);
  if (ok === false) failures++;
  console.log(`[demo] ${ok === null ? "·" : ok ? "✓" : "✗"} ${text}`);
}

function short(s, n = 48) {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
}

async function expectError(code, what, fn) {
  try {
    await fn();
    log(false, `${what}: expected ${code}, but it succeeded`);
  } catch (e) {
    log(e instanceof KmsError && e.code === code, `${what} → ${e.code}: ${e.message}`);
  }
}

/** Resolves as `promise` does, or rejects with a TimeoutError after `ms`. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new DOMException(`${what} in ${ms / 1000} s`, "TimeoutError")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const fromB64uBytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** Options of the push step: `audience`, the push service's public origin when it differs
 * from its endpoints' (a local push service behind no TLS, in the headless demo). */
let pushOptions = {};

const steps = {
  async connect() {
    if (kms) return;
    const t0 = performance.now();
    kms = await createKms({ enclaveUrl: ENCLAVE_URL });
    log(true, `linked to the enclave at ${new URL(ENCLAVE_URL).origin} in ${Math.round(performance.now() - t0)} ms (storage ${kms.info.storageAvailable ? "available" : "BLOCKED"}, RPC v${kms.info.rpcVersion})`);
  },
  async setupOrUnlock() {
    const status = await kms.status();
    if (!status.initialized) {
      const r = await kms.setup({ hint: "for the demo" });
      log(true, `set up with a passphrase typed into the enclave's own form (method ${r.methodId}); the enclave is unlocked`);
    } else if (!status.unlocked) {
      const r = await kms.unlock({ hint: "for the demo" });
      log(true, `unlocked in the enclave's own form (method ${r.methodId})`);
    } else {
      log(true, "already unlocked");
    }
  },
  async lock() {
    await kms.lock();
    const s = await kms.status();
    log(!s.unlocked, `locked: status.unlocked = ${s.unlocked}`);
    await expectError("Locked", "VAPID signing while locked", () =>
      kms.vapid.authorization({ aud: "https://push.example.net" }));
    await expectError("NotPermitted", "unlock with a passphrase this page holds", () =>
      kms.unlock.passphrase("a passphrase the page knows"));
    await expectError("NotPermitted", "this page adding an unlock method itself", () =>
      kms.call("methods.addPassphrase", { passphrase: "a passphrase the page knows" }));
    const r = await kms.unlock();
    log(true, `unlocked again in the enclave's own form (method ${r.methodId})`);
  },
  async passkey() {
    const method = await kms.methods.addPasskey({ label: "demo passkey" });
    log(true, `registered a passkey (PRF) unlock method ${method.id}, credential ${short(method.credentialId ?? "", 22)}`);
    await kms.lock();
    log(true, "locked");
    const r = await kms.unlock.passkey();
    log(true, `unlocked with the passkey's PRF output (method ${r.methodId}); the PRF output never left the enclave`);
  },
  async vapid() {
    const key = await kms.vapid.publicKey();
    log(true, `VAPID applicationServerKey ${short(key.applicationServerKey)}`);
    const auth = await kms.vapid.authorization({ aud: "https://push.example.net", sub: "mailto:ops@example.com" });
    log(auth.header.startsWith("vapid t="), `Authorization: ${short(auth.header, 96)}`);
  },
  /**
   * Web Push: this page's Service Worker subscribes with the enclave's key, the enclave
   * signs a VAPID header for that push service, and the demo server sends a message with
   * it (`POST push/send`: a push service takes messages from servers, not pages).
   */
  async push() {
    if (!("serviceWorker" in navigator) || typeof PushManager !== "function") {
      log(null, "Web Push: this browser has no Push API on this page");
      return;
    }
    const permission = typeof Notification === "function" ? await Notification.requestPermission() : "default";
    if (permission !== "granted") {
      log(null, `Web Push: notifications are ${permission} for this page; allow them to see one arrive`);
      return;
    }
    const registration = await navigator.serviceWorker.register("push-sw.js");
    await navigator.serviceWorker.ready;
    const { applicationServerKey } = await kms.vapid.publicKey();
    // A subscription holds the key it was made with: start afresh with the enclave's.
    await (await registration.pushManager.getSubscription())?.unsubscribe();
    let subscription;
    try {
      subscription = await withTimeout(registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: fromB64uBytes(applicationServerKey),
      }), 10_000, "no answer from the browser's push service");
    } catch (e) {
      log(null, `Web Push: the browser took the enclave's key, but its push service did not subscribe (${e.name}: ${e.message})`);
      return;
    }
    const endpoint = new URL(subscription.endpoint);
    log(true, `subscribed at the push service ${endpoint.origin} with the enclave's applicationServerKey`);
    const aud = pushOptions.audience ?? endpoint.origin;
    const auth = await kms.vapid.authorization({ aud, sub: "mailto:demo@example.com" });
    const text = `Hello from the enclave's VAPID key, ${new Date().toLocaleTimeString()}`;
    const arrived = new Promise((resolve) => {
      const on = (e) => {
        if (!e.data || !("push" in e.data)) return;
        navigator.serviceWorker.removeEventListener("message", on);
        resolve(e.data);
      };
      navigator.serviceWorker.addEventListener("message", on);
    });
    const r = await fetch("push/send", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ subscription: subscription.toJSON(), authorization: auth.header, text }),
    });
    if (r.status === 404 || r.status === 405) {
      log(null, "Web Push: this server has no sender (`cargo xtask demo` serves one)");
      return;
    }
    const answer = await r.json();
    if (answer.outcome !== "delivered") {
      log(false, `the push service refused the message: ${JSON.stringify(answer)}`);
      return;
    }
    log(true, `the demo server encrypted it (RFC 8291) and sent it with the enclave's VAPID header for ${aud}: HTTP ${answer.status}`);
    const got = await withTimeout(arrived, 30_000, "no push message arrived");
    log(got.push === text, `a push message arrived in the Service Worker: "${got.push}" (its notification: ${got.notification})`);
  },
  async signal() {
    const b = await kms.signal.bundle({ oneTime: true });
    log(true, `Signal bundle: identity ${short(b.identityKey, 20)}, signed prekey #${b.signedPreKeyId}, Kyber prekey #${b.kyberPreKeyId}, one-time prekey #${b.preKeyId}`);
    const message = new TextEncoder().encode("hello from the demo");
    const signature = await kms.signal.sign(message);
    const valid = await verifyPageSignature({ identityKey: b.identityKey, origin: location.origin, message, signature });
    log(valid, `page signature over this page's own message verifies for ${location.origin} (it certifies no key)`);
  },
  async relay() {
    const key = await kms.relay.createKey({ alg: "EdDSA" });
    const t = await kms.relay.token({ kid: key.kid, aud: "https://relay.example.net", scope: ["prekeys:upload"] });
    const jwks = await kms.relay.jwks();
    log(true, `relay token ${short(t.token, 40)} (kid ${key.kid}, ${jwks.keys.length} key(s) in the JWKS)`);
  },
  async audit() {
    const exported = await kms.audit.export();
    const verified = await kms.audit.verify();
    log(verified.size === exported.size, `audit log: ${exported.size} entries, verified against its signed checkpoint; head ${short(verified.head, 20)}`);
  },
};

async function runStep(name) {
  try {
    if (name !== "connect") await steps.connect();
    await steps[name]();
  } catch (e) {
    log(false, `${name}: ${e instanceof KmsError ? `${e.code}: ${e.message}` : e}`);
  }
}

async function runAll() {
  failures = 0;
  for (const name of ["connect", "setupOrUnlock", "lock", "passkey", "vapid", "push", "signal", "relay", "audit"]) {
    await runStep(name);
  }
  log(failures === 0, failures === 0 ? "demo complete" : `demo finished with ${failures} failure(s)`);
  return failures;
}

/** Runs the named steps (with the push step's `options`); resolves to the failures. */
async function run(names, options = {}) {
  failures = 0;
  pushOptions = options.push ?? {};
  for (const name of names) await runStep(name);
  return failures;
}

for (const b of document.querySelectorAll("button[data-step]")) {
  b.addEventListener("click", () => runStep(b.dataset.step));
}
document.getElementById("run-all").addEventListener("click", () => runAll());
const b64u = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64u = (s) => new TextDecoder().decode(Uint8Array.from(
  atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

/**
 * One side of a conversation with another enclave (the headless demo opens a second
 * profile on another PWA origin and carries the messages between the two pages): only
 * bundles, ciphertexts and plaintexts cross this page, never a session key.
 */
const peer = {
  async open() {
    await runStep("connect");
    await runStep("setupOrUnlock");
    return failures === 0;
  },
  bundle: () => kms.signal.bundle({ oneTime: true }),
  async startSession(address, bundle) {
    const r = await kms.signal.startSession({ address, bundle });
    log(true, `started a session with ${address.name} from their bundle (identity ${short(r.identityKey, 20)}: ${r.identityChange}, ${r.trust})`);
  },
  async trust(address, localName, remoteName) {
    await expectError("UntrustedIdentity", `a message to ${address.name} before the user trusts their key`, () =>
      kms.signal.encrypt({ address, plaintext: b64u("too soon") }));
    const r = await kms.signal.trust({ address, localName, remoteName });
    log(true, `the user compared the safety number in the enclave's prompt and trusted ${address.name} (${r.trust})`);
  },
  async send(to, text) {
    const m = await kms.signal.encrypt({ address: to, plaintext: b64u(text) });
    log(true, `→ ${to.name}: "${text}" as a type-${m.messageType} message (${m.message.length} base64url chars)`);
    return m;
  },
  async receive(from, m) {
    const r = await kms.signal.decrypt({ address: from, ...m });
    const text = fromB64u(r.plaintext);
    const used = r.preKeysUsed
      ? ` (it started the session: one-time prekey #${r.preKeysUsed.oneTimePreKeyId} shredded in the same commit)`
      : "";
    log(true, `← ${from.name}: "${text}"${used}`);
    return text;
  },
  async replay(from, m) {
    await expectError("DuplicateMessage", `the same message from ${from.name} again`, () =>
      kms.signal.decrypt({ address: from, ...m }));
  },
  async safetyNumber(address, localName, remoteName) {
    const n = await kms.signal.safetyNumber({ address, localName, remoteName });
    const groups = n.safetyNumber.match(/.{5}/g).join(" ");
    log(true, `safety number with ${address.name}: ${groups}`);
    return n.safetyNumber;
  },
  failures: () => failures,
};

window.kmsDemo = { runAll, run, peer };
