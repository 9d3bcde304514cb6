// Cross-site embedding in this engine: the enclave frame is third-party on the page's site
// (127.0.0.1 embedding *.kms.localhost). Each engine partitions or blocks third-party
// storage in its own way; the enclave reports what it got and answers with typed errors,
// and the Storage Access API path ends in a typed answer whatever the browser decides.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ENGINE, LAYOUT, connect, openHarness, run, runWithUser, setupByUser, typedUnsupported,
  unlockByUser, withBrowser,
} from "../lib/engine.mjs";

test("a cross-site embedder gets typed answers about storage", () => withBrowser(async (browser) => {
  const name = "a cross-site embedder gets typed answers about storage";
  // The user's enclave, first-party (same site as the app).
  await openHarness(browser);
  await connect(browser);
  assert.equal((await setupByUser(browser)).ok?.type, "unlocked");

  await openHarness(browser, LAYOUT.crossSite);
  const info = await connect(browser);
  console.log(`${ENGINE} cross-site: storageAvailable ${info.storageAvailable}`);
  if (info.storageAvailable) {
    // Partitioned: the frame under another top-level site has a database of its own, and
    // the user's enclave is not in it.
    const status = (await run(browser, "status")).ok;
    assert.equal(status.initialized, false, "third-party storage is partitioned by top-level site");
  }
  assert.equal((await run(browser, "unlock.passphrase", "correct horse battery staple")).code, "NotPermitted");
  assert.equal((await run(browser, "vapid.publicKey")).code, "Locked");
  if (!info.storageAvailable) {
    assert.equal((await run(browser, "status")).code, "StorageBlocked");
    assert.equal((await setupByUser(browser)).code, "StorageBlocked");
    assert.equal((await unlockByUser(browser)).code, "StorageBlocked");
  }
  const access = await runWithUser(browser, "requestStorageAccess", [], [{ button: "Continue" }]);
  console.log(`${ENGINE} storage access: ${JSON.stringify(access)}`);
  if (access.code) {
    assert.equal(access.code, "StorageBlocked", JSON.stringify(access));
    assert.equal((await run(browser, "status")).code, "StorageBlocked");
    typedUnsupported(name, `requestStorageAccess: ${access.message}`);
  } else {
    assert.equal((await run(browser, "status")).ok.type, "status");
  }
  assert.equal((await run(browser, "ping")).code, undefined, "still serving");
}));
