// Isolation: origins not on the allow list get no port, origin shards cannot see each
// other, and no reply ever carries a private key.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { ENCLAVE, loopbackFetch } from "../lib/browser.mjs";
import { ORIGINS, PASSPHRASE, dumpRecords, newContext, openHarness, run, setupByUser, unlockByUser } from "../lib/fixture.mjs";

test("a page on an origin that is not allowed gets no port", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context, ORIGINS.rogue);
    const refused = await page.evaluate(() => window.harness.connect().then(() => null, (e) => e.code));
    assert.equal(refused, "HandshakeFailed");
  } finally {
    await context.close();
  }
});

test("without frame-ancestors, the enclave itself still refuses an unknown origin", async () => {
  const context = await newContext();
  try {
    // Strip the CSP so the frame loads; the bootstrap's own allow list must still refuse.
    await context.route(`${ENCLAVE}**`, async (route) => {
      const response = await loopbackFetch(route);
      const headers = { ...response.headers() };
      delete headers["content-security-policy"];
      await route.fulfill({ response, headers });
    });
    const page = await openHarness(context, ORIGINS.rogue);
    const link = await page.evaluate(() => window.harness.rawLink());
    assert.equal(link, null, "no link, no port");
    const frameLoaded = page.frames().some((f) => f.url().startsWith(ENCLAVE));
    assert.ok(frameLoaded, "the frame did load: the refusal came from the bootstrap");
  } finally {
    await context.close();
  }
});

test("a second PWA origin cannot see or use the first origin's keys", async () => {
  const context = await newContext();
  try {
    const a = await openHarness(context, ORIGINS.app);
    await a.evaluate(() => window.harness.connect());
    await setupByUser(a);
    const aKey = (await run(a, "vapid.publicKey")).ok;
    const aKeys = (await run(a, "keys.list")).ok;

    const b = await openHarness(context, ORIGINS.app2);
    await b.evaluate(() => window.harness.connect());
    await unlockByUser(b);
    assert.deepEqual((await run(b, "keys.list")).ok, [], "b starts with an empty shard");
    const bKey = (await run(b, "vapid.publicKey")).ok;
    assert.notEqual(bKey.applicationServerKey, aKey.applicationServerKey);
    assert.notEqual(bKey.keyId, aKey.keyId, "key ids are random per key");
    const bIds = (await run(b, "keys.list")).ok.map((k) => k.id);
    assert.deepEqual(bIds, [bKey.keyId], "b lists only its own key");
    for (const k of aKeys) assert.ok(!bIds.includes(k.id), `a's key ${k.id} is visible to b`);
    assert.equal((await run(b, "keys.delete", aKey.keyId)).code, "KeyNotFound", "b cannot delete a's key");
    assert.equal((await run(a, "vapid.publicKey")).ok.applicationServerKey, aKey.applicationServerKey, "a's key untouched");
    const aLog = (await run(a, "audit.export")).ok.jsonl;
    assert.ok(!aLog.includes(ORIGINS.app2), "b's operations are not in a's audit log");
  } finally {
    await context.close();
  }
});

test("no reply contains private key bytes", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
    await run(page, "vapid.publicKey");
    await run(page, "vapid.authorization", { aud: "https://push.example.net" });
    const relay = (await run(page, "relay.createKey", { alg: "EdDSA" })).ok;
    await run(page, "relay.token", { kid: relay.kid, aud: "https://relay.example.net" });
    await run(page, "signal.bundle", { oneTime: true });
    await run(page, "signal.oneTimePrekeys");
    await run(page, "signal.sign", "aGVsbG8");
    const { identityKey, prekeys } = (await run(page, "envelope.prekeys", { count: 1, hybrid: true })).ok;
    const envelope = (await run(page, "envelope.seal", { identityKey, prekey: prekeys[0], plaintext: "x" })).ok;
    await run(page, "envelope.open", envelope);
    await run(page, "audit.export");
    await run(page, "keys.list");

    // Recover every private key from the stored records with the passphrase, outside the
    // browser, and look for each one in everything the page received.
    const records = await dumpRecords(page);
    const secrets = JSON.parse(execFileSync(process.env.UNWRAP_BIN, {
      input: JSON.stringify({ passphrase: PASSPHRASE, records }),
    }));
    assert.ok(secrets.length >= 6, `recovered ${secrets.length} secrets`);
    const received = await page.evaluate(() => window.harness.received.join("\n"));
    assert.ok(received.length > 1000);
    for (const s of secrets) {
      for (const form of [s.b64u, s.b64, s.hex]) {
        assert.ok(!received.includes(form), `a reply contains the private key of ${s.record}`);
      }
    }
    assert.ok(!received.includes(PASSPHRASE));
  } finally {
    await context.close();
  }
});
