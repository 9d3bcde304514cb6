// `cargo xtask bench`: runs the browser benchmarks in headless Chromium and prints their
// results as JSON on stdout.
import { APP, ENCLAVE, answerPrompt, launch } from "./lib/browser.mjs";

const PASSPHRASE = "correct horse battery staple";

const browser = await launch();
try {
  const results = {};
  for (const [name, url] of [["rpc", `${APP}bench.html`], ["primitives", `${ENCLAVE}enclave-bench.html`]]) {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error(`(page error) ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.benchResult !== undefined);
    let settled = false;
    const result = page.evaluate(() => window.benchResult).finally(() => { settled = true; });
    // The RPC benchmark sets the enclave up first and trusts its two Signal addresses:
    // answer the enclave's prompts like a person, until the results are in.
    if (name === "rpc") {
      while ((await answerPrompt(page, { passphrase: PASSPHRASE }, () => settled, 600_000)) !== null);
    }
    results[name] = await result;
    await page.close();
  }
  results.browser = browser.version();
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
