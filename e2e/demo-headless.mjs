// `cargo xtask demo --headless`: runs the demo PWA in headless Chromium, with a virtual
// passkey authenticator, and prints what the page shows.
import { APP, SETTLE_MS, addPasskeyAuthenticator, enclaveFrames, launch } from "./lib/browser.mjs";

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

const browser = await launch();
let failures = 1;
try {
  const page = await browser.newPage();
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
} finally {
  await browser.close();
}
console.log(failures === 0 ? "demo: every step worked" : `demo: ${failures} step(s) failed`);
process.exit(failures === 0 ? 0 : 1);
