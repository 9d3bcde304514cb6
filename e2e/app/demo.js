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
  for (const name of ["connect", "setupOrUnlock", "lock", "passkey", "vapid", "signal", "relay", "audit"]) {
    await runStep(name);
  }
  log(failures === 0, failures === 0 ? "demo complete" : `demo finished with ${failures} failure(s)`);
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

window.kmsDemo = { runAll, peer };
