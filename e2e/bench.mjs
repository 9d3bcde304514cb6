// `cargo xtask bench`: runs the browser benchmarks in headless Chromium and prints their
// results as JSON on stdout.
import { APP, ENCLAVE, launch } from "./lib/browser.mjs";

const browser = await launch();
try {
  const results = {};
  for (const [name, url] of [["rpc", `${APP}bench.html`], ["primitives", `${ENCLAVE}enclave-bench.html`]]) {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error(`(page error) ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.benchResult !== undefined);
    results[name] = await page.evaluate(() => window.benchResult);
    await page.close();
  }
  results.browser = browser.version();
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
