// The boundary in this engine, attacked from the page: a hostile script in an
// allow-listed PWA, with the enclave unlocked by the user, asks for authority it must not
// have, looks for key material in everything it received, and tampers with a stored record
// (as another script on the enclave's origin would); each is refused with a typed error and
// loses nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import {
  LAYOUT, PASSPHRASE, connect, dumpRecords, flipByte, openHarness, run, setupByUser, unlockByUser,
  withBrowser,
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
