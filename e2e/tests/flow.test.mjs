// The whole story through the SDK, in a real browser across two origins: setup, lock and
// unlock, passkey registration and PRF unlock, a passkey gate session, VAPID, Signal,
// relay tokens and the audit log.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addPasskeyAuthenticator, answerPrompt, autoConfirm, enclaveFrames } from "../lib/browser.mjs";
import { PASSPHRASE, newContext, openHarness, run, runWithUser, setupByUser } from "../lib/fixture.mjs";

test("full flow with passphrase, passkey PRF and gate", async () => {
  const context = await newContext();
  const page = await openHarness(context);
  await addPasskeyAuthenticator(page);
  const stop = autoConfirm(page);
  try {
    const info = await page.evaluate(() => window.harness.connect());
    assert.equal(info.storageAvailable, true);
    assert.equal(info.deviceKeyAvailable, true);
    assert.deepEqual(info.engines, { pbkdf2: "webCrypto", es256: "webCrypto", eddsa: "wasm" }, "where the keys work, in Chromium");

    assert.equal((await run(page, "status")).ok.initialized, false);
    assert.equal((await run(page, "vapid.publicKey")).code, "Locked");
    // Setup happens in the enclave's own form: a too-short passphrase is refused there and
    // the form asks again; the page only learns the outcome.
    const pending = run(page, "setup", { hint: "to keep your keys" });
    assert.match(await answerPrompt(page, { passphrase: "short" }), /Set up/);
    const alert = await enclaveFrames(page)[0].locator("[role=alert]").textContent();
    assert.match(alert, /passphrase/i);
    await answerPrompt(page, { passphrase: PASSPHRASE });
    const setup = await pending;
    assert.equal(setup.ok.type, "unlocked", JSON.stringify(setup));

    const vapid = (await run(page, "vapid.publicKey")).ok;
    assert.equal(Buffer.from(vapid.applicationServerKey, "base64url").length, 65);
    const auth = (await run(page, "vapid.authorization", { aud: "https://push.example.net", sub: "mailto:a@example.com" })).ok;
    assert.match(auth.header, /^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/);
    const claims = JSON.parse(Buffer.from(auth.token.split(".")[1], "base64url"));
    assert.equal(claims.aud, "https://push.example.net");
    assert.ok(claims.exp > Date.now() / 1000 && claims.exp <= Date.now() / 1000 + 24 * 3600);

    // Passkey with PRF, registered and used inside the cross-origin enclave frame.
    const prf = (await run(page, "methods.addPasskey", { label: "laptop" })).ok;
    assert.equal(prf.kind, "passkey-prf");
    await run(page, "lock");
    assert.equal((await run(page, "vapid.authorization", { aud: "https://push.example.net" })).code, "Locked");
    const unlocked = (await run(page, "unlock.passkey")).ok;
    assert.equal(unlocked.methodId, prf.id);
    assert.equal((await run(page, "vapid.publicKey")).ok.applicationServerKey, vapid.applicationServerKey);

    // Passkey gate: a 5-minute session, the KEK under the non-extractable device key.
    const gate = (await run(page, "methods.addGate", { label: "gate" })).ok;
    assert.equal(gate.kind, "passkey-gate");
    await run(page, "lock");
    const session = (await run(page, "unlock.gate")).ok;
    assert.equal(session.methodId, gate.id);
    const remaining = session.sessionExpiresMs - Date.now();
    assert.ok(remaining > 4.5 * 60_000 && remaining <= 5 * 60_000, `session ${remaining} ms`);

    const bundle = (await run(page, "signal.bundle", { oneTime: true })).ok;
    assert.equal(Buffer.from(bundle.identityKey, "base64url")[0], 5);
    assert.equal(typeof bundle.preKeyId, "number");
    const replenished = (await run(page, "signal.replenish", { target: 120 })).ok;
    assert.equal(replenished.available, 120);

    const key = (await run(page, "relay.createKey", { alg: "ES256" })).ok;
    const token = (await run(page, "relay.token", { kid: key.kid, aud: "https://relay.example.net" })).ok;
    assert.equal(JSON.parse(Buffer.from(token.token.split(".")[0], "base64url")).kid, key.kid);

    const methods = (await run(page, "methods.list")).ok;
    assert.deepEqual(methods.map((m) => m.kind).sort(), ["passkey-gate", "passkey-prf", "passphrase"]);
    assert.deepEqual(methods.map((m) => m.protection).sort(), ["authenticator-secret", "passphrase", "profile-at-rest"]);
    assert.ok(methods.every((m) => m.prfInput === undefined || m.prfInput === null), "no PRF input reaches the page");

    // A second passphrase, then removing it: both confirmed by the user in the enclave.
    const second = await runWithUser(page, "methods.addPassphrase", [{ label: "spare" }], [{ passphrase: "a second passphrase" }]);
    assert.equal(second.ok?.kind, "passphrase", JSON.stringify(second));
    const removed = await runWithUser(page, "methods.remove", [second.ok.id], [{ button: "Remove" }]);
    assert.ok(!removed.code, JSON.stringify(removed));
    assert.equal((await run(page, "methods.list")).ok.length, 3);

    const exported = (await run(page, "audit.export")).ok;
    const lines = exported.jsonl.trim().split("\n");
    assert.equal(lines.length, exported.size + 1, "entries plus the checkpoint line");
    const verified = (await run(page, "audit.verify")).ok;
    assert.equal(verified.size, exported.size);
  } finally {
    await stop();
    await context.close();
  }
});

test("sealed envelopes: seal to a vended prekey, open once, the key is shredded", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
    const { identityKey, prekeys } = (await run(page, "envelope.prekeys", { count: 2, hybrid: true })).ok;
    assert.equal(prekeys.length, 2);
    assert.ok(prekeys[0].pqc_pub_key, "hybrid prekeys carry an ML-KEM-768 key");
    const envelope = (await run(page, "envelope.seal", { identityKey, prekey: prekeys[0], plaintext: "hello, forward secrecy" })).ok;
    assert.equal(envelope.format, "hybrid-mlkem768-aesgcm-v1");
    assert.equal(envelope.kid, prekeys[0].kid);

    // A forged prekey (signature of another key) is refused by the sender side.
    const forged = { ...prekeys[1], pub_key: prekeys[0].pub_key };
    assert.equal((await run(page, "envelope.seal", { identityKey, prekey: forged, plaintext: "x" })).code, "BadRequest");

    // A damaged envelope does not open and does not burn the key.
    const damaged = { ...envelope, ct: envelope.ct.slice(0, -4) + (envelope.ct.endsWith("AAAA") ? "BBBB" : "AAAA") };
    assert.ok((await run(page, "envelope.open", damaged)).code);
    const opened = (await run(page, "envelope.open", envelope)).ok;
    assert.equal(Buffer.from(opened.plaintext, "base64url").toString(), "hello, forward secrecy");
    assert.equal(opened.shredded, true);
    assert.equal((await run(page, "envelope.open", envelope)).code, "KeyConsumed");
  } finally {
    await context.close();
  }
});
