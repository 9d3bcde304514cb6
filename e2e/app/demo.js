// The demo PWA: every step goes through the client SDK; the page only ever sees public
// keys, signatures, tokens and the audit log.
import { createKms, KmsError } from "./sdk/index.js";

const params = new URLSearchParams(location.search);
const ENCLAVE_URL = params.get("enclave") || "http://localhost:8081/";
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

const passphrase = () => document.getElementById("passphrase").value;

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
      const r = await kms.setup(passphrase());
      log(true, `set up with a passphrase (method ${r.methodId}); the enclave is unlocked`);
    } else if (!status.unlocked) {
      const r = await kms.unlock.passphrase(passphrase());
      log(true, `unlocked with the passphrase (method ${r.methodId})`);
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
    await expectError("BadCredential", "unlock with a wrong passphrase", () =>
      kms.unlock.passphrase("not the passphrase"));
    const r = await kms.unlock.passphrase(passphrase());
    log(true, `unlocked again with the right passphrase (method ${r.methodId})`);
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
window.kmsDemo = { runAll };
