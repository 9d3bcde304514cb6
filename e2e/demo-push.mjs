// `cargo xtask demo --headless`, second part: a push message arriving in headless Firefox.
// Firefox takes its push service from a preference, so here it is a local one (kms-pushd)
// that checks each VAPID header as a real push service does; the demo page subscribes with
// the enclave's key and the demo server sends the message with the header the enclave
// signed. Prints what the page shows.
import { ENGINE, LAYOUT, PASSPHRASE, answerPrompt } from "./lib/engine.mjs";
import { firefoxPushPrefs, pushService } from "./lib/pushd.mjs";
import { Browser } from "./lib/webdriver.mjs";

/** The push service's public origin (its VAPID `aud`; behind TLS in a deployment). */
const AUDIENCE = "https://push.kms.localhost";

console.log(`demo: Web Push in headless ${ENGINE}, with a local push service (kms-pushd)`);
const push = await pushService(AUDIENCE);
let failures = 1;
let browser;
try {
  browser = await Browser.start(ENGINE, { prefs: firefoxPushPrefs(push) });
  await browser.goto(`${LAYOUT.app}/`);
  await browser.waitFor(() => window.kmsDemo !== undefined, [], { what: "the demo page" });
  await browser.evaluate((audience) => {
    window.__demo = null;
    window.kmsDemo.run(["connect", "setupOrUnlock", "push"], { push: { audience } })
      .then((f) => { window.__demo = f; });
  }, AUDIENCE);
  // The person sets the enclave up in its own form.
  await answerPrompt(browser, { passphrase: PASSPHRASE }, () => browser.evaluate(() => window.__demo !== null), 30_000);
  await browser.waitFor(() => window.__demo !== null, [], { timeoutMs: 90_000, what: "the demo's steps" });
  failures = await browser.evaluate(() => window.__demo);
  const lines = await browser.evaluate(() => [...document.querySelectorAll("#log li")]
    .map((li) => `${li.className === "ok" ? "✓" : li.className === "fail" ? "✗" : "·"} ${li.textContent}`));
  for (const line of lines) console.log(`  ${line}`);
  const arrived = lines.some((l) => l.startsWith("✓ a push message arrived"));
  const acks = await push.json("/acks");
  console.log(`  the push service saw Firefox acknowledge ${acks.filter((a) => a.kind === "ack").length} message(s)`);
  if (!arrived) failures = Math.max(failures, 1);
} catch (e) {
  console.log(`  ✗ ${e.message}`);
  failures = Math.max(failures, 1);
} finally {
  await browser?.quit();
  push.stop();
}
console.log(failures === 0 ? "demo: a push message arrived" : "demo: the push message did not arrive");
process.exit(failures === 0 ? 0 : 1);
