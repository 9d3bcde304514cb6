// Web Push end to end: the enclave's VAPID key and header, kms-relay's sender (RFC 8291
// aes128gcm) and a local push service (kms-pushd) that checks each header as a real one
// does. In Firefox the push service is replaceable (`dom.push.serverURL`), so a real
// subscription from the PWA's Service Worker receives the payload the browser decrypted;
// every engine drives the sender against the same service with a subscription of the
// service's own (the user agent's keys held by the test, decrypting independently).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { webcrypto } from "node:crypto";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  ENGINE, connect, openHarness, run, setupByUser, typedUnsupported, withBrowser,
} from "../lib/engine.mjs";
import { firefoxPushPrefs, pushService } from "../lib/pushd.mjs";
import { decrypt, encrypt, userAgentKeys } from "../lib/webpush.mjs";

/** The origin the push service is known by (behind TLS in a deployment): the VAPID `aud`. */
const AUDIENCE = "https://push.kms.localhost";
const SUB = "mailto:ops@example.com";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = mkdtempSync(join(tmpdir(), "kms-push-"));

/** `kms-relay push send`: {exit, status, outcome, body}. */
function send(subscription, authorization, payload, ttl = 60) {
  const file = join(work, `sub-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(subscription));
  const r = spawnSync(process.env.KMS_RELAY_BIN, [
    "push", "send", "--subscription", file, "--authorization", authorization, "--payload", payload, "--ttl", String(ttl),
  ], { encoding: "utf8" });
  assert.ok(r.stdout.trim(), `push send printed nothing: ${r.stderr}`);
  return { exit: r.status, ...JSON.parse(r.stdout.trim().split("\n").pop()) };
}

/** A well-formed VAPID header for AUDIENCE signed by a key that is not the enclave's. */
async function strangerHeader() {
  const { privateKey, publicKey } = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${enc({ typ: "JWT", alg: "ES256" })}.${enc({ aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600, sub: SUB })}`;
  const sig = Buffer.from(await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, Buffer.from(input)));
  const k = Buffer.from(await webcrypto.subtle.exportKey("raw", publicKey)).toString("base64url");
  return `vapid t=${input}.${sig.toString("base64url")}, k=${k}`;
}

/** POSTs a raw body to a push endpoint as a sender would; resolves to the status. */
async function post(endpoint, authorization, body) {
  const r = await fetch(endpoint, {
    method: "POST",
    headers: { authorization, ttl: "60", "content-encoding": "aes128gcm", "content-type": "application/octet-stream" },
    body,
  });
  await r.text();
  return r.status;
}

/** The enclave set up by the user in a fresh browser page; resolves to its VAPID key. */
async function enclave(browser) {
  await openHarness(browser);
  await connect(browser);
  assert.equal((await setupByUser(browser)).ok?.type, "unlocked");
  return (await run(browser, "vapid.publicKey")).ok.applicationServerKey;
}

const vapid = async (browser, params = {}) => {
  const r = await run(browser, "vapid.authorization", { aud: AUDIENCE, sub: SUB, ...params });
  assert.ok(r.ok, JSON.stringify(r));
  return r.ok.header;
};

test("the push service accepts the enclave's VAPID header and refuses bad ones", async () => {
  const push = await pushService(AUDIENCE);
  try {
    await withBrowser(async (browser) => {
      const key = await enclave(browser);
      const { id, endpoint } = await push.json("/subscriptions", { method: "POST", body: JSON.stringify({ applicationServerKey: key }) });
      const ua = userAgentKeys();
      const subscription = { endpoint, expirationTime: null, keys: ua.keys };
      const header = await vapid(browser);

      const delivered = send(subscription, header, "hello from the enclave's key");
      assert.equal(delivered.exit, 0, JSON.stringify(delivered));
      assert.equal(delivered.status, 201);
      const [message] = await push.json(`/subscriptions/${id}/messages`);
      assert.equal(message.headers.vapidKey, key);
      assert.equal(message.headers.contentEncoding, "aes128gcm");
      assert.equal(decrypt(ua, Buffer.from(message.body, "base64url")), "hello from the enclave's key", "an independent RFC 8291 decrypts it");

      // A header from another key: well formed, signed, and not the subscription's key.
      const stranger = send(subscription, await strangerHeader(), "from a stranger");
      assert.deepEqual([stranger.exit, stranger.status], [2, 403], JSON.stringify(stranger));
      // A header for another push service.
      const elsewhere = send(subscription, await vapid(browser, { aud: "https://push.example.net" }), "elsewhere");
      assert.deepEqual([elsewhere.exit, elsewhere.status], [2, 403], JSON.stringify(elsewhere));
      // A header past its expiry.
      const shortLived = await vapid(browser, { exp: Math.floor(Date.now() / 1000) + 2 });
      await sleep(3500);
      const expired = send(subscription, shortLived, "too late");
      assert.deepEqual([expired.exit, expired.status], [2, 401], JSON.stringify(expired));
      // A header whose claims were edited after signing.
      const [, t, k] = /^vapid t=([^,]+), k=(.+)$/.exec(header);
      const [h, , s] = t.split(".");
      const forged = Buffer.from(JSON.stringify({ aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 20 * 3600, sub: SUB })).toString("base64url");
      assert.equal(await post(endpoint, `vapid t=${h}.${forged}.${s}, k=${k}`, encrypt(ua.keys, "x")), 401);
      // Over 4096 bytes.
      assert.equal(await post(endpoint, header, encrypt(ua.keys, "x".repeat(4090))), 413);
      // A tampered ciphertext passes the service (it cannot read it) and fails at the user agent.
      const body = encrypt(ua.keys, "tampered in transit");
      body[body.length - 20] ^= 0x01;
      assert.equal(await post(endpoint, header, body), 201);
      const messages = await push.json(`/subscriptions/${id}/messages`);
      assert.throws(() => decrypt(ua, Buffer.from(messages.at(-1).body, "base64url")), /authenticate/);
      // Gone once unsubscribed.
      await push.json(`/subscriptions/${id}`, { method: "DELETE" });
      const gone = send(subscription, header, "after unsubscribe");
      assert.deepEqual([gone.exit, gone.status], [2, 410], JSON.stringify(gone));
      assert.equal((await push.json(`/subscriptions/${id}/messages`)).length, 2, "only the two accepted bodies were kept");

      const reasons = (await push.log()).filter((e) => e.status >= 400).map((e) => `${e.status} ${e.reason}`);
      console.log(`${ENGINE}: push service refusals: ${JSON.stringify(reasons)}`);
      assert.equal(reasons.length, 6);
    });
  } finally {
    push.stop();
  }
});

test("a push message reaches the PWA's Service Worker, decrypted by the browser", async () => {
  const name = "a push message reaches the PWA's Service Worker, decrypted by the browser";
  const push = await pushService(AUDIENCE);
  const prefs = firefoxPushPrefs(push);
  try {
    await withBrowser(async (browser) => {
      const key = await enclave(browser);
      const support = await browser.evaluate(() => window.harness.push.support());
      console.log(`${ENGINE}: push support ${JSON.stringify(support)}`);
      if (ENGINE !== "firefox") {
        // The user's permission, where the driver can grant it (W3C Permissions extension),
        // so what the test meets is the engine's push service, not a permission prompt.
        await browser.command("POST", "/permissions", { descriptor: { name: "notifications" }, state: "granted" })
          .catch((e) => console.log(`${ENGINE}: no permission granted: ${e.message}`));
      }
      if (support.pushManager) {
        // The browser checks an applicationServerKey itself: a truncated one is refused at
        // once, the enclave's goes on to the push service.
        const bad = await browser.evaluate((k) => window.harness.push.subscribe(k), key.slice(0, 40));
        assert.equal(bad.code, "InvalidAccessError", JSON.stringify(bad));
      }
      const timeoutMs = ENGINE === "firefox" ? 30_000 : 10_000;
      const subscribed = await browser.evaluate((k, ms) => window.harness.push.subscribe(k, ms), key, timeoutMs);
      if (!subscribed.ok) {
        // This engine's push service is its vendor's, unreachable here (or it has none):
        // the browser's typed answer, and the enclave's key was what it was asked with.
        assert.notEqual(ENGINE, "firefox", JSON.stringify(subscribed));
        assert.match(subscribed.code, /^(AbortError|NotAllowedError|NotSupportedError|InvalidStateError|TimeoutError|TypeError|ReferenceError)$/, JSON.stringify(subscribed));
        typedUnsupported(name, `pushManager.subscribe: ${subscribed.code}: ${subscribed.message}`);
        return;
      }
      const subscription = subscribed.ok;
      assert.ok(subscription.endpoint.startsWith(`${push.http}/wpush/`), subscription.endpoint);
      const header = await vapid(browser);

      const delivered = send(subscription, header, "a notification from the enclave's key");
      assert.equal(delivered.status, 201, JSON.stringify(delivered));
      await browser.waitFor(() => window.harness.push.received.length > 0, [], { timeoutMs: 30_000, what: "the push event" });
      assert.deepEqual(await browser.evaluate(() => window.harness.push.received), ["a notification from the enclave's key"]);
      const acks = await push.json("/acks");
      assert.ok(acks.some((a) => a.kind === "ack" && a.code === 100), JSON.stringify(acks));

      // Refused at the push service: another key, an expired token.
      assert.equal(send(subscription, await strangerHeader(), "stranger").status, 403);
      const shortLived = await vapid(browser, { exp: Math.floor(Date.now() / 1000) + 2 });
      await sleep(3500);
      assert.equal(send(subscription, shortLived, "too late").status, 401);
      // Refused by the browser: a ciphertext tampered with in transit never reaches the worker.
      const body = encrypt(subscription.keys, "tampered in transit");
      body[body.length - 20] ^= 0x01;
      assert.equal(await post(subscription.endpoint, header, body), 201);
      const deadline = Date.now() + 20_000;
      let refused;
      while (!refused) {
        refused = (await push.json("/acks")).find((a) => a.code !== 100);
        assert.ok(Date.now() < deadline, `no refusal of the tampered message: ${JSON.stringify(await push.json("/acks"))}`);
        await sleep(200);
      }
      console.log(`firefox refused the tampered message: ${JSON.stringify(refused)}`);
      // And the subscription still works: an independent encryption arrives.
      assert.equal(await post(subscription.endpoint, header, encrypt(subscription.keys, "still here")), 201);
      await browser.waitFor(() => window.harness.push.received.length > 1, [], { timeoutMs: 30_000, what: "the second push" });
      assert.deepEqual(await browser.evaluate(() => window.harness.push.received), ["a notification from the enclave's key", "still here"]);
    }, { prefs });
  } finally {
    push.stop();
  }
});
