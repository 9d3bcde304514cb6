// The enclave in this engine (Chromium, Firefox or WebKit, from KMS_ENGINE): the link and
// what it reports of the browser, first use in the enclave's own form, VAPID verified
// outside the browser, lock, unlock, a reload, and the refusals an attacker in the page
// meets.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";
import {
  ENGINE, LAYOUT, PASSPHRASE, answerPrompt, begin, connect, openHarness, run, settle,
  setupByUser, typedUnsupported, unlockByUser, withBrowser,
} from "../lib/engine.mjs";

const b64 = (s) => Buffer.from(s, "base64url");

/** Verifies an RFC 8292 token (`vapid t=…, k=…`) with Node's WebCrypto; resolves to its claims. */
async function verifyVapid(header) {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header);
  assert.ok(m, header);
  const [token, k] = [m[1], m[2]];
  const [h, p, s] = token.split(".");
  assert.deepEqual(JSON.parse(b64(h)), { typ: "JWT", alg: "ES256" });
  const key = await webcrypto.subtle.importKey("raw", b64(k), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64(s), Buffer.from(`${h}.${p}`));
  assert.ok(ok, "the VAPID signature verifies under k");
  return { claims: JSON.parse(b64(p)), k };
}

test("link reports what this browser does", () => withBrowser(async (browser) => {
  await openHarness(browser);
  const info = await connect(browser);
  assert.equal(info.storageAvailable, true);
  const { platform } = info;
  console.log(`${ENGINE} platform: ${JSON.stringify(platform)} engines: ${JSON.stringify(info.engines)}`);
  for (const alg of ["pbkdf2", "ecdsaP256", "ed25519", "x25519"]) {
    assert.equal(typeof platform.webCrypto[alg], "boolean", alg);
  }
  // What the enclave chose follows from what it found, not from the user agent.
  assert.equal(info.engines.pbkdf2, platform.webCrypto.pbkdf2 ? "webCrypto" : "wasm");
  // Ed25519 signs in WebAssembly in every engine: faster there than a WebCrypto round trip.
  assert.equal(info.engines.eddsa, "wasm");
  assert.ok(["persisted", "bestEffort", "unsupported"].includes(platform.persistentStorage));
  assert.ok(platform.storedCryptoKeys === null || typeof platform.storedCryptoKeys === "boolean");
  assert.equal(info.deviceKeyAvailable, platform.storedCryptoKeys === true);
  if (platform.persistentStorage === "unsupported") {
    typedUnsupported("link reports what this browser does", "no navigator.storage.persisted(): persistentStorage is \"unsupported\"");
  }
}));

test("first use, VAPID, lock and unlock in the enclave's own form", () => withBrowser(async (browser) => {
  await openHarness(browser);
  await connect(browser);
  assert.equal((await run(browser, "status")).ok.initialized, false);
  assert.equal((await run(browser, "vapid.publicKey")).code, "Locked");

  // A too-short passphrase is refused in the enclave's form, which asks again.
  const pending = await begin(browser, "setup", { hint: "to keep your keys" });
  const first = await answerPrompt(browser, { passphrase: "short" });
  assert.match(first.title, /Set up/);
  const second = await answerPrompt(browser, { passphrase: PASSPHRASE });
  assert.match(second.alert, /passphrase/i, "the form said why it asked again");
  assert.equal((await settle(browser, pending)).ok?.type, "unlocked");

  const { applicationServerKey } = (await run(browser, "vapid.publicKey")).ok;
  assert.equal(b64(applicationServerKey).length, 65);
  const aud = "https://push.example.net";
  const auth = (await run(browser, "vapid.authorization", { aud, sub: "mailto:ops@example.com" })).ok;
  const { claims, k } = await verifyVapid(auth.header);
  assert.equal(k, applicationServerKey);
  assert.equal(claims.aud, aud);
  assert.equal(claims.sub, "mailto:ops@example.com");
  const now = Date.now() / 1000;
  assert.ok(claims.exp > now && claims.exp <= now + 24 * 3600, `exp ${claims.exp}`);

  // Locked, nothing signs; the page cannot unlock with a passphrase it holds.
  await run(browser, "lock");
  assert.equal((await run(browser, "vapid.authorization", { aud })).code, "Locked");
  assert.equal((await run(browser, "unlock.passphrase", PASSPHRASE)).code, "NotPermitted");
  assert.equal((await run(browser, "vapid.authorization", { aud })).code, "Locked", "still locked");

  // A wrong passphrase in the form: told so there, asked again; the right one unlocks.
  const unlocking = await begin(browser, "unlock");
  await answerPrompt(browser, { passphrase: "not the passphrase", button: "Unlock" });
  const retry = await answerPrompt(browser, { passphrase: PASSPHRASE, button: "Unlock" });
  assert.ok(retry.alert.length > 0, "the form said the passphrase was wrong");
  assert.equal((await settle(browser, unlocking)).ok?.type, "unlocked");
  assert.equal((await run(browser, "vapid.publicKey")).ok.applicationServerKey, applicationServerKey);
}));

test("keys survive a reload, and a fresh page starts locked", () => withBrowser(async (browser) => {
  await openHarness(browser);
  await connect(browser);
  assert.equal((await setupByUser(browser)).ok?.type, "unlocked");
  const key = (await run(browser, "vapid.publicKey")).ok.applicationServerKey;
  const bundle = (await run(browser, "signal.bundle", { oneTime: false })).ok;

  await openHarness(browser);
  await connect(browser);
  const status = (await run(browser, "status")).ok;
  assert.equal(status.initialized, true);
  assert.equal(status.unlocked, false, "a new enclave instance holds no key-encryption key");
  assert.equal((await unlockByUser(browser)).ok?.type, "unlocked");
  assert.equal((await run(browser, "vapid.publicKey")).ok.applicationServerKey, key);
  assert.equal((await run(browser, "signal.bundle", { oneTime: false })).ok.identityKey, bundle.identityKey);
  const audit = (await run(browser, "audit.verify")).ok;
  assert.ok(audit.size > 0, JSON.stringify(audit));
}));

test("a page not on the allow list gets no link", () => withBrowser(async (browser) => {
  await openHarness(browser, LAYOUT.rogue);
  const refused = await browser.evaluate(() => window.harness.connect().then(() => null, (e) => e.code));
  assert.equal(refused, "HandshakeFailed");
}));
