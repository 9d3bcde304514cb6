// `cargo xtask demo --headless`: runs the demo PWA in headless Chromium, with a virtual
// passkey authenticator, and prints what the page shows.
import { APP, LAYOUT, SETTLE_MS, addPasskeyAuthenticator, enclaveFrames, launch } from "./lib/browser.mjs";

/** Stands in for the user at the enclave's prompts: types the passphrase into its form
 * and clicks its first button (Save, Unlock, Continue) — real input in the enclave frame. */
function actAsUser(page, passphrase) {
  let running = true;
  const loop = (async () => {
    while (running && !page.isClosed()) {
      for (const frame of enclaveFrames(page)) {
        const form = frame.locator("form");
        if (!(await form.count().catch(() => 0))) continue;
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        for (const input of await form.locator("input[type=password]").all().catch(() => [])) {
          await input.fill(passphrase).catch(() => {});
        }
        await form.locator("button").first().click({ timeout: 2000 }).catch(() => {});
        await form.first().waitFor({ state: "detached", timeout: 2000 }).catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/**
 * A short Signal conversation between this enclave and a second one: another browser
 * profile on the second PWA origin. The messages travel through this script, a stand-in
 * for a server that sees ciphertext only. Returns the number of failures.
 */
async function conversation(alicePage) {
  console.log(`demo: a conversation with a second enclave (another profile, ${LAYOUT.app2})`);
  const context = await browser.newContext();
  try {
    const bobPage = await context.newPage();
    bobPage.on("console", (m) => {
      const t = m.text();
      if (t.startsWith("[demo] ")) console.log(`  [bob] ${t.slice(7)}`);
    });
    await bobPage.goto(`${LAYOUT.app2}/`);
    const stop = actAsUser(bobPage, "correct horse battery staple");
    const ok = await bobPage.evaluate(() => window.kmsDemo.peer.open());
    await stop();
    if (!ok) return 1;
    const alice = (f, ...a) => alicePage.evaluate(([f, a]) => window.kmsDemo.peer[f](...a), [f, a]);
    const bob = (f, ...a) => bobPage.evaluate(([f, a]) => window.kmsDemo.peer[f](...a), [f, a]);
    const [A, B] = [{ name: "alice", deviceId: 1 }, { name: "bob", deviceId: 1 }];
    const before = [await alice("failures"), await bob("failures")];
    await alice("startSession", B, await bob("bundle"));
    // Trusting a new contact is the user's: the enclave shows the safety number in its own
    // prompt, and the person clicks "Trust" there.
    const [stopAlice, stopBob] = [actAsUser(alicePage, ""), actAsUser(bobPage, "")];
    await alice("trust", B, "alice", "bob");
    const first = await alice("send", B, "Hi Bob, it's Alice. Keys stay in our enclaves.");
    const got = await bob("receive", A, first);
    await bob("trust", A, "bob", "alice");
    await stopAlice();
    await stopBob();
    const reply = await bob("send", A, "Hi Alice! Only ciphertext went past the relay.");
    await alice("receive", B, reply);
    const third = await alice("send", B, "Let's compare safety numbers.");
    await bob("receive", A, third);
    await bob("replay", A, third);
    const [na, nb] = [await alice("safetyNumber", B, "alice", "bob"), await bob("safetyNumber", A, "bob", "alice")];
    console.log(na === nb ? "  both sides show the same safety number" : "  ✗ the safety numbers differ");
    const after = [await alice("failures"), await bob("failures")];
    return (after[0] - before[0]) + (after[1] - before[1]) + (na === nb && got.startsWith("Hi Bob") ? 0 : 1);
  } catch (e) {
    console.log(`  ✗ conversation: ${e.message}`);
    return 1;
  } finally {
    await context.close();
  }
}

const browser = await launch();
let failures = 1;
try {
  // The person allows notifications, so the push step goes as far as Chromium's push
  // service (Google's, which a machine without the Internet cannot reach).
  const context = await browser.newContext();
  await context.grantPermissions(["notifications"]);
  const page = await context.newPage();
  page.on("console", (m) => {
    const t = m.text();
    if (t.startsWith("[demo] ")) console.log(`  ${t.slice(7)}`);
    else if (m.type() === "error") console.log(`  (browser) ${t}`);
  });
  page.on("pageerror", (e) => console.log(`  (page error) ${e.message}`));
  await addPasskeyAuthenticator(page);
  console.log(`demo: opening ${APP}`);
  await page.goto(APP);
  const stop = actAsUser(page, "correct horse battery staple");
  failures = await page.evaluate(() => window.kmsDemo.runAll());
  await stop();
  failures += await conversation(page);
} finally {
  await browser.close();
}
console.log(failures === 0 ? "demo: every step worked" : `demo: ${failures} step(s) failed`);
process.exit(failures === 0 ? 0 : 1);
