// Keys and the audit log survive reloads; lock wipes what is in memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PASSPHRASE, newContext, openHarness, run } from "../lib/fixture.mjs";

test("keys and audit log survive a reload; a reload starts locked", async () => {
  const context = await newContext();
  try {
    let page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await run(page, "setup", PASSPHRASE);
    const vapid = (await run(page, "vapid.publicKey")).ok.applicationServerKey;
    const bundle = (await run(page, "signal.bundle")).ok;
    const before = (await run(page, "audit.verify")).ok;
    await page.close();

    page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    const status = (await run(page, "status")).ok;
    assert.equal(status.initialized, true);
    assert.equal(status.unlocked, false, "a fresh enclave instance holds no key-encryption key");
    assert.equal((await run(page, "vapid.publicKey")).code, "Locked");
    assert.equal((await run(page, "unlock.passphrase", "wrong passphrase")).code, "BadCredential");
    await run(page, "unlock.passphrase", PASSPHRASE);
    assert.equal((await run(page, "vapid.publicKey")).ok.applicationServerKey, vapid);
    const again = (await run(page, "signal.bundle")).ok;
    assert.equal(again.identityKey, bundle.identityKey);
    const after = (await run(page, "audit.verify")).ok;
    assert.ok(after.size > before.size, "the log grew and still verifies from the start");
  } finally {
    await context.close();
  }
});

test("lock wipes: nothing signs until the next unlock", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await run(page, "setup", PASSPHRASE);
    await run(page, "relay.createKey", { alg: "EdDSA" });
    await run(page, "lock");
    for (const [path, arg] of [
      ["vapid.publicKey"],
      ["vapid.authorization", { aud: "https://push.example.net" }],
      ["signal.bundle", {}],
      ["signal.sign", "aGVsbG8"],
      ["audit.export"],
    ]) {
      assert.equal((await run(page, path, ...(arg ? [arg] : []))).code, "Locked", path);
    }
    await run(page, "unlock.passphrase", PASSPHRASE);
    assert.ok((await run(page, "signal.sign", "aGVsbG8")).ok);
  } finally {
    await context.close();
  }
});
