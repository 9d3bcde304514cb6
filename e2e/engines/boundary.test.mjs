// The boundary in this engine, attacked from the page: a hostile script in an
// allow-listed PWA, with the enclave unlocked by the user, asks for authority it must not
// have, looks for key material in everything it received, and tampers with a stored record
// (as another script on the enclave's origin would); each is refused with a typed error and
// loses nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import {
  LAYOUT, PASSPHRASE, connect, dumpRecords, flipByte, openHarness, run, setupByUser,
  typedUnsupported, unlockByUser, withBrowser,
} from "../lib/engine.mjs";

const bytes32 = Array.from({ length: 32 }, (_, i) => i + 1);

test("a hostile page gets NotPermitted for authority, and no reply carries a key", () => withBrowser(async (browser) => {
  await openHarness(browser);
  await connect(browser);
  const setup = (await setupByUser(browser)).ok;
  // The attacker's own port, next to the SDK's.
  assert.equal((await browser.evaluate(() => window.harness.rawLink())).kms, "link");
  const frames = [
    { method: "setup", params: { passphrase: "attacker passphrase" } },
    { method: "unlock.passphrase", params: { passphrase: PASSPHRASE } },
    { method: "unlock.prf", params: { credentialId: "AQID", prfOutput: bytes32 } },
    { method: "methods.addPassphrase", params: { passphrase: "attacker passphrase" } },
    { method: "methods.changePassphrase", params: { methodId: setup.methodId, passphrase: "attacker passphrase" } },
    { method: "methods.prfInput" },
    { method: "methods.remove", params: { methodId: setup.methodId } },
  ];
  let id = 100;
  for (const f of frames) {
    const reply = await browser.evaluate((frame) => window.raw.send(frame), { v: 1, id: ++id, ...f });
    assert.equal(reply?.err?.code, "NotPermitted", `${f.method}: ${JSON.stringify(reply)}`);
  }

  // What the service gives while unlocked: signatures and public keys, never a key.
  await run(browser, "vapid.authorization", { aud: "https://push.example.net" });
  const relay = (await run(browser, "relay.createKey", { alg: "EdDSA" })).ok;
  await run(browser, "relay.token", { kid: relay.kid, aud: "https://relay.example.net" });
  await run(browser, "signal.bundle", { oneTime: true });
  await run(browser, "signal.sign", "aGVsbG8");
  const { identityKey, prekeys } = (await run(browser, "envelope.prekeys", { count: 1, hybrid: true })).ok;
  const envelope = (await run(browser, "envelope.seal", { identityKey, prekey: prekeys[0], plaintext: "x" })).ok;
  const opened = (await run(browser, "envelope.open", envelope)).ok;
  assert.equal(Buffer.from(opened.plaintext, "base64url").toString(), "x");
  await run(browser, "audit.export");

  // Every private key, recovered outside the browser from the stored records with the
  // passphrase, looked for in everything the page received.
  const records = await dumpRecords(browser);
  const secrets = JSON.parse(execFileSync(process.env.UNWRAP_BIN, {
    input: JSON.stringify({ passphrase: PASSPHRASE, records }),
  }));
  assert.ok(secrets.length >= 5, `recovered ${secrets.length} secrets`);
  const received = await browser.evaluate(() => window.harness.received.join("\n"));
  assert.ok(received.length > 1000);
  for (const s of secrets) {
    for (const form of [s.b64u, s.b64, s.hex]) {
      assert.ok(!received.includes(form), `a reply contains the private key of ${s.record}`);
    }
  }
  assert.ok(!received.includes(PASSPHRASE));
  assert.deepEqual((await run(browser, "methods.list")).ok.map((m) => m.id), [setup.methodId]);
}));

test("a tampered record is detected and not used; the others still sign", () => withBrowser(async (browser) => {
  await openHarness(browser);
  await connect(browser);
  await setupByUser(browser);
  const vapid = (await run(browser, "vapid.publicKey")).ok;
  const relay = (await run(browser, "relay.createKey", { alg: "ES256" })).ok;
  await flipByte(browser, `k/${LAYOUT.app}/${vapid.keyId}`, 60);
  // A fresh instance reads from storage.
  await openHarness(browser);
  await connect(browser);
  assert.equal((await unlockByUser(browser)).ok?.type, "unlocked");
  const used = await run(browser, "vapid.authorization", { aud: "https://push.example.net" });
  assert.equal(used.code, "Tampered", JSON.stringify(used));
  const token = await run(browser, "relay.token", { kid: relay.kid, aud: "https://relay.example.net" });
  assert.ok(token.ok, `the untouched relay key still signs: ${JSON.stringify(token)}`);
}));

test("a second PWA origin cannot see or use the first origin's keys", () => withBrowser(async (browser) => {
  await openHarness(browser, LAYOUT.app);
  await connect(browser);
  await setupByUser(browser);
  const aKey = (await run(browser, "vapid.publicKey")).ok;
  const aKeys = (await run(browser, "keys.list")).ok;

  // The same enclave (same site, same storage), linked from another allow-listed origin.
  await openHarness(browser, LAYOUT.app2);
  await connect(browser);
  if (!(await run(browser, "status")).ok.initialized) {
    // This engine partitions the frame's storage by the top-level host, not the site: app2
    // has an enclave of its own (stronger isolation than asked for; the user sets it up).
    assert.equal((await unlockByUser(browser)).code, "NotInitialized");
    assert.equal((await setupByUser(browser)).ok?.type, "unlocked");
    typedUnsupported("a second PWA origin cannot see or use the first origin's keys",
      "the enclave frame's storage is partitioned by top-level host: app2's enclave is a fresh one (NotInitialized)");
  } else {
    assert.equal((await unlockByUser(browser)).ok?.type, "unlocked");
  }
  assert.deepEqual((await run(browser, "keys.list")).ok, [], "app2 starts with an empty shard");
  const bKey = (await run(browser, "vapid.publicKey")).ok;
  assert.notEqual(bKey.applicationServerKey, aKey.applicationServerKey);
  const bIds = (await run(browser, "keys.list")).ok.map((k) => k.id);
  for (const k of aKeys) assert.ok(!bIds.includes(k.id), `app's key ${k.id} is visible to app2`);
  assert.equal((await run(browser, "keys.delete", aKey.keyId)).code, "KeyNotFound", "app2 cannot delete app's key");

  await openHarness(browser, LAYOUT.app);
  await connect(browser);
  assert.equal((await unlockByUser(browser)).ok?.type, "unlocked");
  assert.equal((await run(browser, "vapid.publicKey")).ok.applicationServerKey, aKey.applicationServerKey, "app's key untouched");
  const log = (await run(browser, "audit.export")).ok.jsonl;
  assert.ok(!log.includes(LAYOUT.app2), "app2's operations are not in app's audit log");
}));
