// Passkeys inside the cross-origin enclave frame, through WebDriver's WebAuthn extension
// (a virtual CTAP2 authenticator with PRF): register, lock, unlock with the PRF output,
// and the gate's 5-minute session. Where the engine has no virtual authenticator, or the
// authenticator no PRF, the enclave's typed answer is asserted and nothing is lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ENGINE, openHarness, connect, run, runWithUser, setupByUser, typedUnsupported, withBrowser,
} from "../lib/engine.mjs";

const CONTINUE = [{ button: "Continue" }];

/** A virtual authenticator with PRF, or the driver's reason there is none. */
async function authenticator(browser) {
  try {
    return { id: await browser.addVirtualAuthenticator() };
  } catch (e) {
    return { reason: e.message };
  }
}

test("passkey PRF unlock in the enclave frame", () => withBrowser(async (browser) => {
  const name = "passkey PRF unlock in the enclave frame";
  await openHarness(browser);
  await connect(browser);
  assert.equal((await setupByUser(browser)).ok?.type, "unlocked");
  const key = (await run(browser, "vapid.publicKey")).ok.applicationServerKey;
  const { id, reason } = await authenticator(browser);
  console.log(`${ENGINE}: virtual authenticator ${id ? "added" : `refused: ${reason}`}`);

  const added = await runWithUser(browser, "methods.addPasskey", [{ label: "laptop" }], CONTINUE);
  if (added.ok) {
    assert.equal(added.ok.kind, "passkey-prf");
    await run(browser, "lock");
    const unlocked = await runWithUser(browser, "unlock.passkey", [], CONTINUE);
    assert.equal(unlocked.ok?.methodId, added.ok.id, JSON.stringify(unlocked));
    assert.equal((await run(browser, "vapid.publicKey")).ok.applicationServerKey, key);
  } else {
    // No authenticator with PRF here: a typed refusal, and the enclave as it was.
    assert.ok(["Unsupported", "BadCredential"].includes(added.code), JSON.stringify(added));
    assert.match(added.message, id ? /passkey|PRF/i : /no WebAuthn|passkey/i);
    const methods = (await run(browser, "methods.list")).ok;
    assert.deepEqual(methods.map((m) => m.kind), ["passphrase"]);
    assert.equal((await run(browser, "vapid.publicKey")).ok.applicationServerKey, key, "still unlocked, same keys");
    typedUnsupported(name, `${added.code}: ${added.message}`);
  }
}));

test("passkey gate opens a five-minute session", () => withBrowser(async (browser) => {
  const name = "passkey gate opens a five-minute session";
  await openHarness(browser);
  const info = await connect(browser);
  assert.equal((await setupByUser(browser)).ok?.type, "unlocked");
  const { id } = await authenticator(browser);
  const gate = await runWithUser(browser, "methods.addGate", [{ label: "gate" }], CONTINUE);
  if (gate.ok) {
    assert.equal(info.deviceKeyAvailable, true, "a gate needs the device key");
    assert.equal(gate.ok.kind, "passkey-gate");
    await run(browser, "lock");
    const session = (await runWithUser(browser, "unlock.gate", [], CONTINUE)).ok;
    assert.equal(session?.methodId, gate.ok.id);
    const remaining = session.sessionExpiresMs - Date.now();
    assert.ok(remaining > 4.5 * 60_000 && remaining <= 5 * 60_000, `session ${remaining} ms`);
  } else {
    assert.ok(!id || !info.deviceKeyAvailable, `with an authenticator and a device key the gate works: ${JSON.stringify(gate)}`);
    assert.ok(["Unsupported", "BadCredential"].includes(gate.code), JSON.stringify(gate));
    assert.deepEqual((await run(browser, "methods.list")).ok.map((m) => m.kind), ["passphrase"]);
    typedUnsupported(name, `${gate.code}: ${gate.message}`);
  }
}));
