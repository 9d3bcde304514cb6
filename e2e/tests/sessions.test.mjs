// Signal sessions between two enclaves: two PWA origins in two browser profiles converse
// through a tiny in-test relay, and no reply ever carries key material; two tabs of one
// user decrypting the same incoming message: exactly one succeeds, the other gets a typed
// error, and the session goes on from either tab; what an attacker in the page can and
// cannot do to trust.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { answerPrompt } from "../lib/browser.mjs";
import { ORIGINS, PASSPHRASE, dumpRecords, enclaveFrame, newContext, openHarness, run, runWithUser, setupByUser, unlockByUser } from "../lib/fixture.mjs";

const ALICE = { name: "alice", deviceId: 1 };
const BOB = { name: "bob", deviceId: 1 };
const b64u = (s) => Buffer.from(s).toString("base64url");
const utf8 = (s) => Buffer.from(s, "base64url").toString();

/** The tiny relay: a mailbox per address name, holding `{from, message, messageType}`. */
function relay() {
  const boxes = new Map();
  return {
    send(from, to, { message, messageType }) {
      if (!boxes.has(to.name)) boxes.set(to.name, []);
      boxes.get(to.name).push({ from, message, messageType });
    },
    take(to) {
      const box = boxes.get(to.name) ?? [];
      boxes.set(to.name, []);
      return box;
    },
  };
}

/** Encrypts `text` from `page` (as `from`) to `to` and posts it to the relay. */
async function say(page, net, from, to, text) {
  const m = await run(page, "signal.encrypt", { address: to, plaintext: b64u(text) });
  assert.ok(m.ok, JSON.stringify(m));
  net.send(from, to, m.ok);
  return m.ok;
}

/** Decrypts every message waiting for `me` on `page`; returns the texts. */
async function read(page, net, me) {
  const texts = [];
  for (const { from, message, messageType } of net.take(me)) {
    const r = await run(page, "signal.decrypt", { address: from, message, messageType });
    assert.ok(r.ok, JSON.stringify(r));
    texts.push(utf8(r.ok.plaintext));
  }
  return texts;
}

/**
 * The user, in the enclave's prompt on `page`, trusts `peer`'s identity key (`button`:
 * "Trust" or "Numbers match"; `identityKey`: a changed key). Resolves to the identity.
 */
async function trustByUser(page, me, peer, { button = "Trust", identityKey } = {}) {
  const r = await runWithUser(page, "signal.trust",
    [{ address: peer, localName: me.name, remoteName: peer.name, identityKey }], [{ button }]);
  assert.ok(r.ok, JSON.stringify(r));
  return r.ok;
}

/** Runs `trust()` and reads the safety number the enclave's prompt shows meanwhile. */
async function shownSafetyNumber(page, trust) {
  const done = trust();
  const code = enclaveFrame(page).locator("form p", { hasText: /^(\d{5} ){11}\d{5}$/ });
  await code.waitFor({ timeout: 15_000 });
  const text = await code.textContent();
  await done;
  return text.replace(/ /g, "");
}

/** An app page of `origin` in a fresh profile (its own enclave), set up by the user. */
async function enclaveUser(origin) {
  const context = await newContext();
  const page = await openHarness(context, origin);
  await page.evaluate(() => window.harness.connect());
  await setupByUser(page);
  return { context, page };
}

/** Every private key the page's enclave stores, in the encodings a leak would take. */
async function storedSecrets(page) {
  const records = await dumpRecords(page);
  return JSON.parse(execFileSync(process.env.UNWRAP_BIN, {
    input: JSON.stringify({ passphrase: PASSPHRASE, records }),
  }));
}

test("two enclaves on two origins converse through a relay; no reply carries key material", async () => {
  const alice = await enclaveUser(ORIGINS.app);
  const bob = await enclaveUser(ORIGINS.app2);
  try {
    const net = relay();
    const bundle = (await run(bob.page, "signal.bundle", { oneTime: true })).ok;
    const started = await run(alice.page, "signal.startSession", { address: BOB, bundle });
    assert.equal(started.ok.identityChange, "new", JSON.stringify(started));
    assert.equal(started.ok.trust, "unconfirmed");

    // Nothing goes to a key until the user confirms it in the enclave's prompt, which shows
    // the safety number; cancelling leaves it unconfirmed.
    const early = await run(alice.page, "signal.encrypt", { address: BOB, plaintext: b64u("too soon") });
    assert.equal(early.code, "UntrustedIdentity", JSON.stringify(early));
    const cancelled = await runWithUser(alice.page, "signal.trust",
      [{ address: BOB, localName: "alice", remoteName: "bob" }], [{ button: "Cancel" }]);
    assert.ok(cancelled.code, JSON.stringify(cancelled));
    assert.equal((await run(alice.page, "signal.identity", BOB)).ok.trust, "unconfirmed");
    const shown = await shownSafetyNumber(alice.page, () =>
      trustByUser(alice.page, ALICE, BOB));
    assert.equal((await run(alice.page, "signal.identity", BOB)).ok.trust, "confirmed");

    const first = await say(alice.page, net, ALICE, BOB, "hello bob");
    assert.equal(first.messageType, 3, "a PreKey message until Bob answers");
    assert.deepEqual(await read(bob.page, net, BOB), ["hello bob"]);
    assert.equal((await trustByUser(bob.page, BOB, ALICE, { button: "Numbers match" })).trust, "verified");
    const reply = await say(bob.page, net, BOB, ALICE, "hi alice");
    assert.equal(reply.messageType, 2);
    assert.deepEqual(await read(alice.page, net, ALICE), ["hi alice"]);
    for (let turn = 0; turn < 3; turn++) {
      await say(alice.page, net, ALICE, BOB, `a${turn}`);
      await say(alice.page, net, ALICE, BOB, `a${turn}'`);
      assert.deepEqual(await read(bob.page, net, BOB), [`a${turn}`, `a${turn}'`]);
      await say(bob.page, net, BOB, ALICE, `b${turn}`);
      assert.deepEqual(await read(alice.page, net, ALICE), [`b${turn}`]);
    }

    // The session is listed with public data only; both sides see one safety number.
    const sessions = (await run(alice.page, "signal.sessions")).ok;
    assert.equal(sessions.length, 1);
    assert.deepEqual(sessions[0].address, BOB);
    assert.equal(sessions[0].awaitingReply, false);
    assert.equal(sessions[0].remoteIdentityKey, bundle.identityKey);
    const ours = (await run(alice.page, "signal.safetyNumber", { address: BOB, localName: "alice", remoteName: "bob" })).ok;
    const theirs = (await run(bob.page, "signal.safetyNumber", { address: ALICE, localName: "bob", remoteName: "alice" })).ok;
    assert.match(ours.safetyNumber, /^\d{60}$/);
    assert.equal(ours.safetyNumber, theirs.safetyNumber);
    assert.equal(shown, ours.safetyNumber, "the prompt showed the number both users see");

    // A replayed message is refused, typed.
    const again = await run(bob.page, "signal.decrypt", { address: ALICE, ...first });
    assert.equal(again.code, "DuplicateMessage", JSON.stringify(again));

    // Every key either enclave stores (session keys included), looked for in everything
    // its page received.
    for (const side of [alice, bob]) {
      const secrets = await storedSecrets(side.page);
      assert.ok(secrets.filter((s) => s.record.includes("/signal-session/")).length >= 4,
        "the scan covers the keys inside the session record");
      const received = await side.page.evaluate(() => window.harness.received.join("\n"));
      for (const s of secrets) {
        for (const form of [s.b64u, s.b64, s.hex]) {
          assert.ok(!received.includes(form), `a reply contains a secret of ${s.record}`);
        }
      }
      assert.ok(!received.includes(PASSPHRASE));
    }
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test("two tabs decrypting one incoming message: one succeeds, the other gets DuplicateMessage", async () => {
  const alice = await enclaveUser(ORIGINS.app);
  const context = await newContext();
  try {
    const tab1 = await openHarness(context, ORIGINS.app2);
    const tab2 = await openHarness(context, ORIGINS.app2);
    await tab1.evaluate(() => window.harness.connect());
    await tab2.evaluate(() => window.harness.connect());
    await setupByUser(tab1);
    await unlockByUser(tab2);
    const net = relay();
    const bundle = (await run(tab1, "signal.bundle", { oneTime: true })).ok;
    assert.ok((await run(alice.page, "signal.startSession", { address: BOB, bundle })).ok);
    await trustByUser(alice.page, ALICE, BOB);

    // The session's first message (it shreds a one-time prekey), then a plain one: each
    // decrypted by both tabs at once.
    const first = await say(alice.page, net, ALICE, BOB, "first");
    net.take(BOB);
    const race = async (m, text) => {
      const [a, b] = await Promise.all([
        run(tab1, "signal.decrypt", { address: ALICE, ...m }),
        run(tab2, "signal.decrypt", { address: ALICE, ...m }),
      ]);
      const winners = [a, b].filter((r) => r.ok);
      assert.equal(winners.length, 1, JSON.stringify([a, b]));
      assert.equal(utf8(winners[0].ok.plaintext), text);
      assert.equal([a, b].find((r) => !r.ok).code, "DuplicateMessage", JSON.stringify([a, b]));
    };
    await race(first, "first");
    await trustByUser(tab1, BOB, ALICE);
    const reply = await say(tab2, net, BOB, ALICE, "from tab 2");
    assert.deepEqual(await read(alice.page, net, ALICE), ["from tab 2"]);
    const second = await say(alice.page, net, ALICE, BOB, "second");
    net.take(BOB);
    await race(second, "second");
    assert.equal(reply.messageType, 2);

    // The state stays consistent: either tab goes on, and the shared audit log verifies.
    await say(tab1, net, BOB, ALICE, "from tab 1");
    assert.deepEqual(await read(alice.page, net, ALICE), ["from tab 1"]);
    await say(alice.page, net, ALICE, BOB, "third");
    assert.deepEqual(await read(tab2, net, BOB), ["third"]);
    assert.ok((await run(tab1, "audit.verify")).ok);
    const log = (await run(tab2, "audit.export")).ok.jsonl;
    assert.equal(log.split("\n").filter((l) => l.includes('"signal.decrypt"')).length, 3, "one entry per message");
  } finally {
    await alice.context.close();
    await context.close();
  }
});

test("a failed message changes nothing stored; a changed identity needs the user", async () => {
  const alice = await enclaveUser(ORIGINS.app);
  const bob = await enclaveUser(ORIGINS.app2);
  const newBob = await enclaveUser(ORIGINS.app2);
  try {
    const net = relay();
    const bundle = (await run(bob.page, "signal.bundle", { oneTime: true })).ok;
    await run(alice.page, "signal.startSession", { address: BOB, bundle });
    await trustByUser(alice.page, ALICE, BOB);
    const first = await say(alice.page, net, ALICE, BOB, "hello");
    net.take(BOB);

    // A damaged message: a typed error, and the enclave's records are byte-identical.
    const before = await dumpRecords(bob.page);
    const bytes = Buffer.from(first.message, "base64url");
    bytes[bytes.length - 1] ^= 1;
    const bad = await run(bob.page, "signal.decrypt", { address: ALICE, message: bytes.toString("base64url"), messageType: 3 });
    assert.equal(bad.code, "DecryptFailed", JSON.stringify(bad));
    assert.deepEqual(await dumpRecords(bob.page), before, "a failed decrypt wrote nothing");
    assert.equal(utf8((await run(bob.page, "signal.decrypt", { address: ALICE, ...first })).ok.plaintext), "hello");

    // Someone else claims Bob's address with a new identity key: refused in both directions.
    const other = (await run(newBob.page, "signal.bundle", { oneTime: true })).ok;
    const claim = await run(alice.page, "signal.startSession", { address: BOB, bundle: other });
    assert.equal(claim.code, "UntrustedIdentity", JSON.stringify(claim));
    await run(newBob.page, "signal.startSession", { address: ALICE, bundle: (await run(alice.page, "signal.bundle", {})).ok });
    await trustByUser(newBob.page, BOB, ALICE);
    const forged = (await run(newBob.page, "signal.encrypt", { address: ALICE, plaintext: b64u("trust me") })).ok;
    const refused = await run(alice.page, "signal.decrypt", { address: BOB, ...forged });
    assert.equal(refused.code, "UntrustedIdentity");

    // An attacker in the page cannot accept the new key: signal.trust is the enclave UI's;
    // deleting the session keeps the trusted key; the trusted key is not a deletable key.
    const trust = await run(alice.page, "call", "signal.trust", { address: BOB, identityKey: other.identityKey });
    assert.equal(trust.code, "NotPermitted", JSON.stringify(trust));
    await run(alice.page, "signal.deleteSession", BOB);
    assert.equal((await run(alice.page, "signal.startSession", { address: BOB, bundle: other })).code, "UntrustedIdentity");
    const identity = (await run(alice.page, "signal.identity", BOB)).ok;
    assert.equal(identity.identityKey, bundle.identityKey, "still the first key");
    const records = Object.keys(await dumpRecords(alice.page));
    const peer = records.find((k) => k.includes("/signal-peer/"));
    const keyId = peer.slice(peer.indexOf("/signal-peer/") + 1);
    assert.equal((await run(alice.page, "keys.delete", keyId)).code, "BadRequest");

    // The user accepts the new key in the enclave's prompt, which says it changed.
    const accepted = run(alice.page, "signal.trust",
      { address: BOB, localName: "alice", remoteName: "bob", identityKey: other.identityKey });
    const title = await answerPrompt(alice.page, { button: "Trust" });
    assert.equal(title, "Safety number changed");
    assert.equal((await accepted).ok.identityKey, other.identityKey);
    assert.equal(utf8((await run(alice.page, "signal.decrypt", { address: BOB, ...forged })).ok.plaintext), "trust me");
  } finally {
    await alice.context.close();
    await bob.context.close();
    await newBob.context.close();
  }
});
