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
  return { es256Sign: es, ed25519Sign: ed, x25519: x, auditVerify10000Ms: audit };
})();
