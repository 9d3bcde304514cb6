// Primitive benchmarks on the enclave origin: the same operation in the enclave's
// WebAssembly and in the browser's native WebCrypto, measured in one page.
import init, { benchAuditVerify, benchEd25519Sign, benchEs256Sign, benchX25519 } from "./kms_wasm.js";

const N = 300;

async function webcryptoEd25519(n) {
  const { privateKey } = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const message = new Uint8Array(64).fill(42);
  for (let i = 0; i < 20; i++) await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await crypto.subtle.sign({ name: "Ed25519" }, privateKey, message);
  return performance.now() - t0;
}

async function webcryptoEs256(n) {
  const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const message = new Uint8Array(220).fill(120);
  const alg = { name: "ECDSA", hash: "SHA-256" };
  for (let i = 0; i < 20; i++) await crypto.subtle.sign(alg, privateKey, message);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await crypto.subtle.sign(alg, privateKey, message);
  return performance.now() - t0;
}

async function webcryptoX25519(n) {
  const a = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const b = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const params = { name: "X25519", public: b.publicKey };
  for (let i = 0; i < 20; i++) await crypto.subtle.deriveBits(params, a.privateKey, 256);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await crypto.subtle.deriveBits(params, a.privateKey, 256);
  return performance.now() - t0;
}

// One IndexedDB commit of the shape a signature writes (a checkpoint put and an audit
// entry), `n` times with the given durability: p50 and p99 in milliseconds.
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

window.benchResult = (async () => {
  await init({ module_or_path: new URL("kms_wasm_bg.wasm", import.meta.url) });
  benchEd25519Sign(20);
  benchX25519(20);
  const ed = { wasmUs: (benchEd25519Sign(N) / N) * 1000, webcryptoUs: ((await webcryptoEd25519(N)) / N) * 1000 };
  benchEs256Sign(20);
  const es = { wasmUs: (benchEs256Sign(N) / N) * 1000, webcryptoUs: ((await webcryptoEs256(N)) / N) * 1000 };
  const x = { wasmUs: (benchX25519(N) / N) * 1000, webcryptoUs: ((await webcryptoX25519(N)) / N) * 1000 };
  benchAuditVerify(1000);
  const audit = [benchAuditVerify(10000), benchAuditVerify(10000), benchAuditVerify(10000)].sort((p, q) => p - q)[1];
  const idbCommit = {};
  for (const d of ["strict", "relaxed", "default"]) idbCommit[d] = await idbCommits(d, 200);
  return { es256Sign: es, ed25519Sign: ed, x25519: x, auditVerify10000Ms: audit, idbCommit };
})();
