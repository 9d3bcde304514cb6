// Cross-site embedding: the browser refuses the enclave its storage; the enclave says so
// with a typed error instead of failing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { autoConfirm } from "../lib/browser.mjs";
import { ORIGINS, newContext, openHarness, run, setupByUser, unlockByUser } from "../lib/fixture.mjs";

test("a cross-site embedder gets StorageBlocked, not a crash", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context, ORIGINS.crossSite);
    const info = await page.evaluate(() => window.harness.connect());
    assert.equal(info.storageAvailable, false);
    assert.equal((await run(page, "status")).code, "StorageBlocked");
    assert.equal((await setupByUser(page)).code, "StorageBlocked");
    assert.equal((await unlockByUser(page)).code, "StorageBlocked");
    // A page-held passphrase is refused before storage is even tried.
    assert.equal((await run(page, "unlock.passphrase", "correct horse battery staple")).code, "NotPermitted");
    // Key operations need an unlock first, which cannot happen here.
    assert.equal((await run(page, "vapid.publicKey")).code, "Locked");

    // The Storage Access API path: the enclave asks inside its frame; whatever the browser
    // decides, the answer is typed and the enclave keeps serving.
    const stop = autoConfirm(page);
    const access = await run(page, "requestStorageAccess");
    await stop();
    if (access.code) {
      assert.equal(access.code, "StorageBlocked", JSON.stringify(access));
      assert.equal((await run(page, "status")).code, "StorageBlocked");
    } else {
      assert.equal((await run(page, "status")).ok.type, "status");
    }
    console.log(`storage access: ${JSON.stringify(access)}`);
    assert.equal((await run(page, "ping")).code, undefined, "still serving");
  } finally {
    await context.close();
  }
});
