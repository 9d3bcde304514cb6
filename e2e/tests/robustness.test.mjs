// Robustness: malformed frames get typed errors and the enclave keeps serving; a tampered
// record is detected and not used; two tabs never consume one one-time prekey twice.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ORIGINS, flipByte, newContext, openHarness, run, setupByUser, unlockByUser } from "../lib/fixture.mjs";

const send = (page, frame) => page.evaluate((f) => window.raw.send(f), frame);

test("malformed frames get typed errors and the enclave keeps serving", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    const link = await page.evaluate(() => window.harness.rawLink());
    assert.equal(link.kms, "link");
    const cases = [
      [{ v: 1, id: 1, method: "no.such.method" }, 1, "BadRequest"],
      [{ v: 2, id: 2, method: "status" }, 2, "Unsupported"],
      [{ id: 3, method: "status" }, 3, "BadRequest"],
      [{ v: 1, method: "status" }, null, "BadRequest"],
      [{ v: 1, id: 5, method: "setup", params: { passphrase: 42 } }, 5, "BadRequest"],
      [{ v: 1, id: 6, method: "setup", params: "nope" }, 6, "BadRequest"],
      [{ v: 1, id: 7, method: "keys.delete", params: { keyId: "x", extra: true } }, 7, "BadRequest"],
      [{ v: 1, id: 8, method: "signal.sign", params: { message: "x".repeat(1 << 20) } }, 8, "BadRequest"],
      [{ v: 1, id: 9, method: "vapid.authorization", params: { aud: ["not", "a", "string"] } }, 9, "BadRequest"],
      [{ v: 1, id: 10, method: "passkey.addPrf", params: "x" }, 10, "BadRequest"],
      [{ v: 9, id: 11, method: "passkey.unlockPrf" }, 11, "Unsupported"],
      ["just a string", null, "BadRequest"],
      [null, null, "BadRequest"],
      [[1, 2, 3], null, "BadRequest"],
    ];
    for (const [frame, id, code] of cases) {
      const reply = await send(page, frame);
      assert.ok(reply, `a reply to ${JSON.stringify(frame).slice(0, 80)}`);
      assert.equal(reply.id, id, JSON.stringify(reply));
      assert.equal(reply.err?.code, code, JSON.stringify(reply).slice(0, 200));
    }
    // Binary payloads: a 1 MiB Uint8Array is refused too.
    const big = await page.evaluate(() =>
      window.raw.send({ v: 1, id: 20, method: "signal.sign", params: { message: new Uint8Array(1 << 20) } }));
    assert.equal(big.err.code, "BadRequest");
    const ok = await send(page, { v: 1, id: 21, method: "status" });
    assert.equal(ok.ok.type, "status", "still serving");
  } finally {
    await context.close();
  }
});

test("a tampered record is detected, not used, and other keys keep working", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
    const vapid = (await run(page, "vapid.publicKey")).ok;
    const relay = (await run(page, "relay.createKey", { alg: "ES256" })).ok;
    await flipByte(page, `k/${ORIGINS.app}/${vapid.keyId}`, 60);
    // A fresh instance reads from storage.
    await page.reload();
    await page.waitForFunction(() => window.harness !== undefined);
    await page.evaluate(() => window.harness.connect());
    await unlockByUser(page);
    const used = await run(page, "vapid.authorization", { aud: "https://push.example.net" });
    assert.equal(used.code, "Tampered", JSON.stringify(used));
    const token = await run(page, "relay.token", { kid: relay.kid, aud: "https://relay.example.net" });
    assert.ok(token.ok, "the untouched relay key still signs");
  } finally {
    await context.close();
  }
});

test("a tampered unlock record fails closed", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    const setup = (await setupByUser(page)).ok;
    await flipByte(page, `u/${setup.methodId}`, 200);
    await page.reload();
    await page.waitForFunction(() => window.harness !== undefined);
    await page.evaluate(() => window.harness.connect());
    const r = await unlockByUser(page);
    assert.ok(["Tampered", "BadCredential"].includes(r.code), JSON.stringify(r));
    const status = await run(page, "status");
    assert.ok(status.code === "Tampered" || status.ok.unlocked === false, JSON.stringify(status));
    assert.equal((await run(page, "vapid.publicKey")).code, "Locked");
  } finally {
    await context.close();
  }
});

test("two tabs at once do not double-consume a one-time prekey", async () => {
  const context = await newContext();
  try {
    const tab1 = await openHarness(context);
    const tab2 = await openHarness(context);
    await tab1.evaluate(() => window.harness.connect());
    await tab2.evaluate(() => window.harness.connect());
    await setupByUser(tab1);
    await unlockByUser(tab2);
    const { identityKey, prekeys } = (await run(tab1, "envelope.prekeys", { count: 1, hybrid: true })).ok;
    const envelope = (await run(tab1, "envelope.seal", { identityKey, prekey: prekeys[0], plaintext: "once" })).ok;
    const [a, b] = await Promise.all([run(tab1, "envelope.open", envelope), run(tab2, "envelope.open", envelope)]);
    const winners = [a, b].filter((r) => r.ok);
    const losers = [a, b].filter((r) => r.code);
    assert.equal(winners.length, 1, JSON.stringify([a, b]));
    assert.equal(Buffer.from(winners[0].ok.plaintext, "base64url").toString(), "once");
    assert.equal(losers[0].code, "KeyConsumed");
    assert.equal((await run(tab1, "envelope.open", envelope)).code, "KeyConsumed");
    assert.ok((await run(tab2, "audit.verify")).ok, "the shared audit log still verifies");
  } finally {
    await context.close();
  }
});
