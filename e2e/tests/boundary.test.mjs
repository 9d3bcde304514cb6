// The boundary, attacked from the page: a hostile script in an allow-listed PWA, with the
// enclave set up and unlocked by the user, tries each way of walking away with something
// that outlives its compromise — through raw frames and through the SDK.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ENCLAVE, addPasskeyAuthenticator, answerPrompt, autoConfirm, enclaveFrames } from "../lib/browser.mjs";
import { ORIGINS, PASSPHRASE, dumpRecords, newContext, openHarness, run, runWithUser, setupByUser } from "../lib/fixture.mjs";

const send = (page, frame) => page.evaluate((f) => window.raw.send(f), frame);
const bytes32 = Array.from({ length: 32 }, (_, i) => i + 1);

test("a hostile page gets NotPermitted for every authority method, by raw frame and by SDK", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    const setup = (await setupByUser(page)).ok;
    // The attacker's own port, next to the SDK's.
    assert.equal((await page.evaluate(() => window.harness.rawLink())).kms, "link");
    const frames = [
      { method: "setup", params: { passphrase: "attacker passphrase" } },
      { method: "unlock.passphrase", params: { passphrase: PASSPHRASE } },
      { method: "unlock.prf", params: { credentialId: "AQID", prfOutput: bytes32 } },
      { method: "unlock.gateChallenge" },
      { method: "unlock.gate", params: { credentialId: "AQ", authenticatorData: "AQ", clientDataJson: "AQ", signature: "AQ" } },
      { method: "methods.addPassphrase", params: { passphrase: "attacker passphrase" } },
      { method: "methods.changePassphrase", params: { methodId: setup.methodId, passphrase: "attacker passphrase" } },
      { method: "methods.prfInput" },
      { method: "methods.addPrf", params: { credentialId: "AQID", prfInput: bytes32, prfOutput: bytes32 } },
      { method: "methods.addGate", params: { attestationObject: "AQ", clientDataJson: "AQ" } },
      { method: "methods.remove", params: { methodId: setup.methodId } },
    ];
    let id = 100;
    for (const f of frames) {
      const reply = await send(page, { v: 1, id: ++id, ...f });
      assert.equal(reply?.err?.code, "NotPermitted", `${f.method}: ${JSON.stringify(reply)}`);
    }
    // The PQXDH responder is off the page's surface altogether.
    const respond = await send(page, { v: 1, id: ++id, method: "signal.respond", params: {} });
    assert.equal(respond.err.code, "BadRequest");
    // Through the SDK: a page-held passphrase is refused; the escape hatch too.
    assert.equal((await run(page, "unlock.passphrase", PASSPHRASE)).code, "NotPermitted");
    assert.equal((await run(page, "call", "methods.addPassphrase", { passphrase: "attacker passphrase" })).code, "NotPermitted");
    // The user's method is intact and the only one; the refusals are in the audit log.
    const methods = (await run(page, "methods.list")).ok;
    assert.deepEqual(methods.map((m) => m.id), [setup.methodId]);
    const log = (await run(page, "audit.export")).ok.jsonl;
    assert.match(log, /"op":"methods\.add-prf".*"outcome":"denied"/);
  } finally {
    await context.close();
  }
});

test("signal.sign gives only page signatures, bound to the origin (checked by the SDK's verifier)", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
    const { identityKey, signedPreKeyPublic } = (await run(page, "signal.bundle", { oneTime: false })).ok;
    // The attacker asks for a signature over a signed prekey's exact bytes.
    const spk = Buffer.from(signedPreKeyPublic, "base64url").toString("base64url");
    const signature = (await run(page, "signal.sign", spk)).ok;
    const checks = await page.evaluate(async ([ik, m, sig, app, app2]) => {
      const { verifyPageSignature } = await import("./sdk/index.js");
      return {
        asPage: await verifyPageSignature({ identityKey: ik, origin: app, message: m, signature: sig }),
        otherOrigin: await verifyPageSignature({ identityKey: ik, origin: app2, message: m, signature: sig }),
        otherMessage: await verifyPageSignature({ identityKey: ik, origin: app, message: "aGk", signature: sig }),
      };
    }, [identityKey, spk, signature, ORIGINS.app, ORIGINS.app2]);
    assert.deepEqual(checks, { asPage: true, otherOrigin: false, otherMessage: false });
  } finally {
    await context.close();
  }
});

test("the page never receives a passphrase or a PRF input, and cannot use the enclave's rpId", async () => {
  const context = await newContext();
  const page = await openHarness(context);
  await addPasskeyAuthenticator(page);
  const stop = autoConfirm(page);
  try {
    await page.evaluate(() => window.harness.connect());
    await setupByUser(page);
    assert.equal((await run(page, "methods.addPasskey", { label: "laptop" })).ok?.kind, "passkey-prf");
    await run(page, "lock");
    assert.equal((await run(page, "unlock.passkey")).ok?.type, "unlocked");
    await run(page, "status");
    await run(page, "methods.list");

    const records = await dumpRecords(page);
    const prfInputs = Object.entries(records)
      .filter(([k]) => k.startsWith("u/"))
      .map(([, v]) => JSON.parse(Buffer.from(v).toString()))
      .flatMap((r) => (r.params && r.params.prf_input ? [r.params.prf_input] : []));
    assert.equal(prfInputs.length, 1, JSON.stringify(Object.keys(records)));
    const received = await page.evaluate(() => window.harness.received.join("\n"));
    assert.ok(received.length > 500);
    assert.ok(!received.includes(PASSPHRASE), "a frame carried the passphrase");
    for (const input of prfInputs) {
      const forms = [input, Buffer.from(input, "base64url").toString("base64"), Buffer.from(input, "base64url").toString("hex")];
      for (const f of forms) assert.ok(!received.includes(f), "a frame carried the PRF input");
    }

    // The page's own WebAuthn calls with the enclave's rpId: the browser refuses them.
    const rpId = new URL(ENCLAVE).hostname;
    const refusals = await page.evaluate(async (rp) => {
      const challenge = crypto.getRandomValues(new Uint8Array(32));
      const name = (p) => p.then(() => "allowed", (e) => e.name);
      return {
        get: await name(navigator.credentials.get({ publicKey: { challenge, rpId: rp, userVerification: "discouraged" } })),
        create: await name(navigator.credentials.create({ publicKey: {
          rp: { id: rp, name: "x" }, user: { id: new Uint8Array(8), name: "x", displayName: "x" },
          challenge, pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        } })),
      };
    }, rpId);
    assert.deepEqual(refusals, { get: "SecurityError", create: "SecurityError" });
  } finally {
    await stop();
    await context.close();
  }
});

test("a confirmation in a covered or transparent enclave frame is refused", async () => {
  const context = await newContext();
  try {
    const page = await openHarness(context);
    await page.evaluate(() => window.harness.connect());
    for (const attack of ["cover", "transparent"]) {
      const pending = run(page, "setup");
      // Wait for the enclave's form, then the page restyles around it.
      await enclaveFrames(page)[0].locator("form input[type=password]").first().waitFor();
      await page.evaluate((how) => {
        const frame = document.querySelector("iframe");
        if (how === "transparent") {
          frame.style.opacity = "0.3";
        } else {
          const cover = document.createElement("div");
          cover.id = "cover";
          const r = frame.getBoundingClientRect();
          Object.assign(cover.style, {
            position: "fixed", left: `${r.left}px`, top: `${r.top}px`, width: `${r.width}px`,
            height: `${r.height}px`, background: "#fff", zIndex: "2147483647", pointerEvents: "none",
          });
          document.body.append(cover);
        }
      }, attack);
      await new Promise((r) => setTimeout(r, 300));
      await answerPrompt(page, { passphrase: PASSPHRASE });
      const r = await pending;
      assert.equal(r.code, "NotPermitted", `${attack}: ${JSON.stringify(r)}`);
      assert.match(r.message, /hidden|covered/);
      await page.evaluate(() => document.getElementById("cover")?.remove());
    }
    assert.equal((await run(page, "status")).ok.initialized, false, "nothing was set up");
    // Shown plainly, the same prompt works.
    assert.equal((await runWithUser(page, "setup")).ok?.type, "unlocked");
  } finally {
    await context.close();
  }
});
