// The layout the suite runs is the one a deployment has — https, the app and the enclave on
// hosts of their own under one registrable domain — and the deployment option that lets a
// page hold the passphrase is off unless the enclave's pinned page turns it on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ENCLAVE, LAYOUT, enclaveFrames, loopbackFetch } from "../lib/browser.mjs";
import { ORIGINS, PASSPHRASE, newContext, openHarness, run, setupByUser } from "../lib/fixture.mjs";

test("the suite runs on https: a valid certificate, a secure context, two hosts", async () => {
  const context = await newContext();
  try {
    const page = await context.newPage();
    const response = await page.goto(`${ORIGINS.app}/harness.html`);
    assert.equal(new URL(page.url()).protocol, "https:");
    // The browser accepted the servers' own certificate: the connection has TLS details.
    const tls = await response.securityDetails();
    assert.ok(tls, "no TLS on the app origin");
    assert.match(tls.protocol, /^TLS 1\.[23]$/);
    assert.equal(tls.subjectName, "kms test servers");
    await page.waitForFunction(() => window.harness !== undefined);
    await page.evaluate(() => window.harness.connect());
    const [frame] = enclaveFrames(page);
    assert.equal(new URL(frame.url()).origin, new URL(ENCLAVE).origin);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    assert.equal(await frame.evaluate(() => window.isSecureContext), true);
    // The app's host is neither the enclave's host nor under it: it cannot claim the rpId.
    const app = new URL(ORIGINS.app).hostname;
    const enclave = new URL(ENCLAVE).hostname;
    assert.notEqual(app, enclave);
    assert.ok(!app.endsWith(`.${enclave}`));
    assert.equal(app.split(".").slice(1).join("."), enclave.split(".").slice(1).join("."));
    // Plain http to the same origin's port is not served.
    const plain = await page.evaluate((u) => fetch(u).then(() => "served", () => "refused"), ORIGINS.app.replace("https:", "http:"));
    assert.equal(plain, "refused");
    assert.ok(LAYOUT.spki && LAYOUT.hostRules);
  } finally {
    await context.close();
  }
});

/** Serves the enclave page with `policy` in its `kms-policy` meta (what a deployment pins). */
async function withEnclavePolicy(context, policy) {
  await context.route((url) => url.origin === new URL(ENCLAVE).origin && (url.pathname === "/" || url.pathname === "/index.html"), async (route) => {
    const response = await loopbackFetch(route);
    const body = (await response.text()).replace(
      '<meta charset="utf-8">',
      `<meta charset="utf-8">\n<meta name="kms-policy" content='${JSON.stringify(policy)}'>`,
    );
    assert.ok(body.includes("kms-policy"), "the enclave page has no charset meta to extend");
    await route.fulfill({ response, body });
  });
}

test("a page-held passphrase unlocks only where the deployment allows it, and grants no authority", async () => {
  // The default deployment: refused.
  const strict = await newContext();
  try {
    const page = await openHarness(strict);
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
    assert.equal((await run(page, "lock")).code, undefined);
    assert.equal((await run(page, "unlock.passphrase", PASSPHRASE)).code, "NotPermitted");
    assert.equal((await run(page, "status")).ok.unlocked, false);
  } finally {
    await strict.close();
  }

  // A deployment that opts in (named as weaker in the threat model).
  const weak = await newContext();
  try {
    await withEnclavePolicy(weak, { pagePassphraseUnlock: true });
    const page = await openHarness(weak);
    await page.evaluate(() => window.harness.connect());
    const setup = (await setupByUser(page)).ok;
    assert.equal((await run(page, "lock")).code, undefined);
    assert.equal((await run(page, "unlock.passphrase", "not the passphrase")).code, "BadCredential");
    assert.equal((await run(page, "status")).ok.unlocked, false);
    const unlocked = (await run(page, "unlock.passphrase", PASSPHRASE)).ok;
    assert.equal(unlocked.methodId, setup.methodId);
    assert.ok((await run(page, "vapid.publicKey")).ok.applicationServerKey);
    // Unlocked by the page, the enclave still takes no authority from it.
    assert.equal((await run(page, "call", "methods.addPassphrase", { passphrase: "attacker passphrase" })).code, "NotPermitted");
    assert.equal((await run(page, "call", "setup", { passphrase: "attacker passphrase" })).code, "NotPermitted");
    assert.deepEqual((await run(page, "methods.list")).ok.map((m) => m.id), [setup.methodId]);
  } finally {
    await weak.close();
  }
});
