// `cargo xtask demo --headless`: runs the demo PWA in headless Chromium, with a virtual
// passkey authenticator, and prints what the page shows.
import { APP, addPasskeyAuthenticator, autoConfirm, launch } from "./lib/browser.mjs";

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
  // Stand in for the user: confirm the enclave's passkey prompts.
  const stop = autoConfirm(page);
  failures = await page.evaluate(() => window.kmsDemo.runAll());
  await stop();
} finally {
  await browser.close();
}
console.log(failures === 0 ? "demo: every step worked" : `demo: ${failures} step(s) failed`);
process.exit(failures === 0 ? 0 : 1);
