// RPC benchmarks from the PWA's side, each beside the browser's native WebCrypto doing the
// same cryptography in this page.
import { createKms } from "./sdk/index.js";
import { ENCLAVE_URL as LAYOUT_ENCLAVE_URL } from "./layout.js";

const ENCLAVE_URL = new URLSearchParams(location.search).get("enclave") || LAYOUT_ENCLAVE_URL;
const PASSPHRASE = "correct horse battery staple";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function time(f) {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function pbkdf2Native() {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(PASSPHRASE), "PBKDF2", false, ["deriveBits"]);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 600_000 }, key, 256);
}

window.benchResult = (async () => {
  // Cold start: mount a new enclave frame until it links.
  const starts = [];
  for (let i = 0; i < 5; i++) {
    let k;
    starts.push(await time(async () => { k = await createKms({ enclaveUrl: ENCLAVE_URL }); }));
    k.close();
  }
  const kms = await createKms({ enclaveUrl: ENCLAVE_URL });
  await kms.setup(); // the bench runner types PASSPHRASE into the enclave's form

  for (let i = 0; i < 50; i++) await kms.ping();
  const pings = [];
  for (let i = 0; i < 500; i++) pings.push(await time(() => kms.ping()));

  const unlocks = [];
  const native = [];
  for (let i = 0; i < 5; i++) {
    await kms.lock();
    unlocks.push(await time(() => kms.unlock.passphrase(PASSPHRASE)));
    native.push(await time(pbkdf2Native));
  }

  const aud = "https://push.example.net";
  for (let i = 0; i < 10; i++) await kms.vapid.authorization({ aud });
  const vapidN = 200;
  const vapids = [];
  for (let i = 0; i < vapidN; i++) vapids.push(await time(() => kms.vapid.authorization({ aud })));
  // Relay tokens, EdDSA and ES256: the other signed operations.
  const relayTokenRpcMs = {};
  for (const alg of ["EdDSA", "ES256"]) {
    const { kid } = await kms.relay.createKey({ alg });
    const token = () => kms.relay.token({ kid, aud: "https://relay.example.net", scope: ["prekeys:upload"] });
    for (let i = 0; i < 10; i++) await token();
    const times = [];
    for (let i = 0; i < vapidN; i++) times.push(await time(token));
    relayTokenRpcMs[alg] = { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
  }
  const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const jwtInput = new TextEncoder().encode("x".repeat(220));
  for (let i = 0; i < 10; i++) await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, jwtInput);
  const ecdsaMs = await time(async () => {
    for (let i = 0; i < vapidN; i++) await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, jwtInput);
  });

  await kms.signal.bundle();
  const before = (await kms.signal.replenish({})).available;
  const replenishMs = await time(() => kms.signal.replenish({ target: before + 100 }));

  // A Signal session with this shard itself under two addresses: each round trip encrypts
  // to "bench-peer" and decrypts as from "bench-self", both through the RPC (session record,
  // audit entry and checkpoint written by each). One reply first, so the messages are the
  // steady-state kind (type 2), not the session's first ones.
  const peer = { name: "bench-peer", deviceId: 1 };
  const self = { name: "bench-self", deviceId: 1 };
  await kms.signal.startSession({ address: peer, bundle: await kms.signal.bundle({ oneTime: true }) });
  const roundTrip = async (from, to, plaintext) => {
    const m = await kms.signal.encrypt({ address: to, plaintext });
    await kms.signal.decrypt({ address: from, ...m });
  };
  // The user trusts each new key in the enclave's prompt (bench.mjs clicks "Trust").
  await kms.signal.trust({ address: peer, localName: self.name, remoteName: peer.name });
  await roundTrip(self, peer, "aGVsbG8");
  await kms.signal.trust({ address: self, localName: peer.name, remoteName: self.name });
  await roundTrip(peer, self, "aGVsbG8");
  for (let i = 0; i < 10; i++) await roundTrip(self, peer, "aGVsbG8");
  const trips = [];
  for (let i = 0; i < 200; i++) trips.push(await time(() => roundTrip(self, peer, "aGVsbG8gd29ybGQ")));

  return {
    engines: kms.info.engines,
    signalRoundTripMs: { p50: percentile(trips, 0.5), p99: percentile(trips, 0.99) },
    coldStartMs: { first: starts[0], median: median(starts) },
    pingMs: { p50: percentile(pings, 0.5), p99: percentile(pings, 0.99) },
    unlockPassphraseMs: median(unlocks),
    webcryptoPbkdf2Ms: median(native),
    vapidAuthorizationRpcMs: { p50: percentile(vapids, 0.5), p99: percentile(vapids, 0.99) },
    relayTokenRpcMs,
    webcryptoEcdsaSignMs: ecdsaMs / vapidN,
    replenish100Ms: replenishMs,
  };
})();
