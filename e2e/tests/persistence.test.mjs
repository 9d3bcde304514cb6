// Keys and the audit log survive reloads; lock wipes what is in memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answerPrompt } from "../lib/browser.mjs";
import { PASSPHRASE, newContext, openHarness, run, setupByUser, unlockByUser } from "../lib/fixture.mjs";

test("keys and audit log survive a reload; a reload starts locked", async () => {
  const context = await newContext();
  try {
    let page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
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
    // A wrong passphrase in the enclave's form: it says so and asks again.
    const pending = run(page, "unlock");
    await answerPrompt(page, { passphrase: "wrong passphrase", button: "Unlock" });
    await answerPrompt(page, { passphrase: PASSPHRASE, button: "Unlock" });
    assert.equal((await pending).ok?.type, "unlocked");
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
    await setupByUser(page);
    await run(page, "relay.createKey", { alg: "EdDSA" });
    await run(page, "lock");
    for (const [path, arg] of [
      ["vapid.publicKey"],
      ["vapid.authorization", { aud: "https://push.example.net" }],
      ["signal.bundle", {}],
      ["signal.sign", "aGVsbG8"],
    ]) {
      assert.equal((await run(page, path, ...(arg ? [arg] : []))).code, "Locked", path);
    }
    // The audit log stays readable while locked (the evidence), under its stored checkpoint.
    const exported = (await run(page, "audit.export")).ok;
    assert.ok(exported.size > 0 && !exported.tampered, JSON.stringify(exported).slice(0, 200));
    await unlockByUser(page);
    assert.ok((await run(page, "signal.sign", "aGVsbG8")).ok);
  } finally {
    await context.close();
  }
});
