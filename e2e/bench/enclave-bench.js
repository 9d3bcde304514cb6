// Primitive benchmarks on the enclave origin: the same operation in the enclave (its
// WebAssembly, or its signer over WebCrypto) and in the browser's native WebCrypto,
// measured in one page, in alternating rounds so that both sides see the same machine.
import init, { benchAuditVerify, benchEd25519Sign, benchEs256Sign, benchSigner, benchX25519 } from "./kms_wasm.js";

const ROUNDS = 9;
const N = 100;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// `ours` and `native` each run `n` operations and resolve to the elapsed milliseconds. They
// alternate round by round; each side's median per operation and the median of the rounds'
// ratios come back.
async function paired(ours, native) {
  await ours(20);
  await native(20);
  const a = [];
  const b = [];
  const ratios = [];
  for (let i = 0; i < ROUNDS; i++) {
    const x = await ours(N);
    const y = await native(N);
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  return { oursUs: (median(a) / N) * 1000, webcryptoUs: (median(b) / N) * 1000, ratio: median(ratios) };
}

async function timed(n, op) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  return performance.now() - t0;
}

async function webcryptoEd25519() {
  const { privateKey } = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const message = new Uint8Array(220).fill(120);
  return (n) => timed(n, () => crypto.subtle.sign({ name: "Ed25519" }, privateKey, message));
}

async function webcryptoEs256() {
  const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const message = new Uint8Array(220).fill(120);
  const alg = { name: "ECDSA", hash: "SHA-256" };
  return (n) => timed(n, () => crypto.subtle.sign(alg, privateKey, message));
}

async function webcryptoX25519() {
  const a = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const b = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const params = { name: "X25519", public: b.publicKey };
  return (n) => timed(n, () => crypto.subtle.deriveBits(params, a.privateKey, 256));
}

// The enclave's signer for `alg`; reports where it signed.
function signer(alg, where) {
  return async (n) => {
    const { ms, engine } = await benchSigner(alg, n);
    where.engine = engine;
    return ms;
  };
}

// One IndexedDB commit of the shape a signature writes (a checkpoint put and an audit
// entry, then an explicit `commit()`, as the enclave does), `n` times with the given
// durability: p50 and p99 in milliseconds.
async function idbCommits(durability, n) {
  const name = `kms-bench-${durability}-${Math.random()}`;
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore("records");
      r.result.createObjectStore("audit");
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const value = new Uint8Array(300).fill(7);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      const t = db.transaction(["records", "audit"], "readwrite", { durability });
      t.objectStore("records").put(value, "c/https://app.example");
      t.objectStore("audit").put(value, i);
      t.commit();
      t.oncomplete = resolve;
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
    times.push(performance.now() - t0);
  }
  db.close();
  indexedDB.deleteDatabase(name);
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n / 2)], p99: times[Math.min(n - 1, Math.floor(n * 0.99))] };
}

// A wasm primitive as `paired` runs it.
const wasm = (f) => async (n) => f(n);

window.benchResult = (async () => {
  await init({ module_or_path: new URL("kms_wasm_bg.wasm", import.meta.url) });
  const es256Native = await webcryptoEs256();
  const ed25519Native = await webcryptoEd25519();
  const es256Where = {};
  const ed25519Where = {};
  const es256Signer = { ...(await paired(signer("ES256", es256Where), es256Native)), ...es256Where };
  const ed25519Signer = { ...(await paired(signer("EdDSA", ed25519Where), ed25519Native)), ...ed25519Where };
  const es256Sign = await paired(wasm(benchEs256Sign), es256Native);
  const ed25519Sign = await paired(wasm(benchEd25519Sign), ed25519Native);
  const x25519 = await paired(wasm(benchX25519), await webcryptoX25519());
  benchAuditVerify(1000);
  const audit = [benchAuditVerify(10000), benchAuditVerify(10000), benchAuditVerify(10000)].sort((p, q) => p - q)[1];
  const idbCommit = {};
  for (const d of ["strict", "relaxed", "default"]) idbCommit[d] = await idbCommits(d, 200);
  return { es256Signer, ed25519Signer, es256Sign, ed25519Sign, x25519, auditVerify10000Ms: audit, idbCommit };
})();
