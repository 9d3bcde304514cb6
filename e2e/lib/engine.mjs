// Shared set-up of the engine suite (`e2e/engines`): one browser per test over WebDriver
// (Chromium, Firefox or WebKit, from `KMS_ENGINE`), the test harness page, and the stand-in
// user at the enclave's own prompts. WebDriver classic runs one command at a time, so a
// call that waits for the user is started in the page and polled while the driver types
// and clicks in the enclave frame.
import { flipRecordByte, readRecords } from "./records.mjs";
import { Browser, ENGINE } from "./webdriver.mjs";

if (!process.env.KMS_LAYOUT) {
  throw new Error("KMS_LAYOUT is not set: run this through `cargo xtask engine-e2e`");
}
/** Every origin of the layout `cargo xtask engine-e2e` serves. */
export const LAYOUT = JSON.parse(process.env.KMS_LAYOUT);
export const ENCLAVE = `${LAYOUT.enclave}/`;
export const PASSPHRASE = "correct horse battery staple";
export { ENGINE };

/** How long a just-shown enclave prompt is left before the stand-in user acts. */
export const SETTLE_MS = 1000;

/**
 * Notes that `test` met something this engine lacks and asserted the enclave's typed
 * answer instead; the summary table shows it as `typed-unsupported`.
 */
export function typedUnsupported(test, reason) {
  console.log(`typed-unsupported: ${test}: ${reason}`);
}

/** A fresh browser (its own profile); `prefs` are Firefox preferences. */
export function start(options = {}) {
  return Browser.start(ENGINE, options);
}

/** Runs `body(browser)` in a fresh browser and always quits it. */
export async function withBrowser(body, options = {}) {
  const browser = await start(options);
  try {
    return await body(browser);
  } finally {
    await browser.quit();
  }
}

/** Opens the test harness on `origin` and waits until it is ready. */
export async function openHarness(browser, origin = LAYOUT.app) {
  await browser.goto(`${origin}/harness.html`);
  await browser.waitFor(() => window.harness !== undefined, [], { what: "the harness" });
}

/** `harness.connect()`: links the SDK to the enclave; resolves to `kms.info`. */
export function connect(browser) {
  return browser.evaluate(() => window.harness.connect());
}

/**
 * Starts `kms.<path>(...args)` in the page without waiting for it; `settle(browser, id)`
 * resolves to its `{ok}` or `{code, message}`.
 */
export function begin(browser, path, ...args) {
  return browser.evaluate((p, a) => {
    window.__calls ??= [];
    const id = window.__calls.length;
    window.__calls.push({ done: false });
    window.harness.run(p, ...a).then((result) => { window.__calls[id] = { done: true, result }; });
    return id;
  }, path, args);
}

/** Waits for the call `id` that `begin` started. */
export async function settle(browser, id, timeoutMs = 60_000) {
  const call = await browser.waitFor((i) => window.__calls[i].done && window.__calls[i], [id], {
    timeoutMs,
    what: `call ${id}`,
  });
  return call.result;
}

/** `kms.<path>(...args)` in the page: {ok} or {code, message}. */
export async function run(browser, path, ...args) {
  return settle(browser, await begin(browser, path, ...args));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The enclave frames of the current page. */
async function enclaveFrames(browser) {
  return browser.findAll(`iframe[src^="${LAYOUT.enclave}"]`);
}

/**
 * Stands in for the user at the enclave's own prompt: waits for its form, types
 * `passphrase` into every passphrase field and clicks `button` (default: the first one),
 * with the driver's real input in the enclave frame. Resolves to the prompt's title and
 * any alert it showed before the click (`{title, alert}`), or null when `stop()` (which
 * may be async) turns true first. Leaves the driver in the top-level context.
 */
export async function answerPrompt(browser, { passphrase, button } = {}, stop = () => false, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await stop())) {
    for (const frame of await enclaveFrames(browser)) {
      await browser.frame(frame);
      try {
        const forms = await browser.findAll("form");
        if (!forms.length) continue;
        // Engines drop input to a cross-origin frame that has just appeared (a
        // click-jacking defence), so give the prompt the moment a person would.
        await sleep(SETTLE_MS);
        const title = await browser.evaluate(() => document.querySelector("form p")?.textContent ?? "");
        const alert = await browser.evaluate(() => document.querySelector("[role=alert]")?.textContent ?? "");
        if (passphrase !== undefined) {
          for (const input of await browser.findAll("form input[type=password]")) await browser.type(input, passphrase);
        }
        const buttons = await browser.findAll("form button");
        let target = buttons[0];
        if (button) {
          target = undefined;
          for (const b of buttons) if ((await browser.text(b)).trim() === button) target = b;
          if (!target) throw new Error(`the prompt "${title}" has no button "${button}"`);
        }
        // The enclave ignores a click it cannot yet judge visible (a person clicks again);
        // once it counts, this prompt goes, changes or shows an alert.
        const unchanged = () => browser.evaluate((t, a) => {
          const form = document.querySelector("form");
          const alertNow = document.querySelector("[role=alert]")?.textContent ?? "";
          return Boolean(form && form.querySelector("p")?.textContent === t && alertNow === a);
        }, title, alert).catch(() => false);
        for (let attempt = 0; attempt < 4; attempt++) {
          await browser.click(target).catch(() => {});
          const clickAt = Date.now();
          let counted = false;
          while (Date.now() - clickAt < 1500) {
            if (!(await unchanged())) { counted = true; break; }
            await sleep(100);
          }
          if (counted) break;
        }
        return { title, alert };
      } finally {
        await browser.frame(null);
      }
    }
    if (Date.now() > deadline) throw new Error("the enclave showed no prompt");
    await sleep(100);
  }
  return null;
}

/**
 * `kms.<path>(...args)` with the user answering the enclave's prompts in turn (`answers`:
 * `{passphrase, button}` each). Stops answering when the call settles.
 */
export async function runWithUser(browser, path, args = [], answers = [{ passphrase: PASSPHRASE }]) {
  const id = await begin(browser, path, ...args);
  const settled = () => browser.evaluate((i) => window.__calls[i].done, id);
  for (const answer of answers) {
    if ((await answerPrompt(browser, answer, settled)) === null) break;
  }
  return settle(browser, id);
}

/** The user sets the enclave up with `passphrase` in its own form. */
export function setupByUser(browser, passphrase = PASSPHRASE) {
  return runWithUser(browser, "setup", [], [{ passphrase }]);
}

/** The user unlocks with `passphrase` in the enclave's own form. */
export function unlockByUser(browser, passphrase = PASSPHRASE) {
  return runWithUser(browser, "unlock", [], [{ passphrase, button: "Unlock" }]);
}

/** Runs `fn(...args)` inside the (first) enclave frame of the current page. */
export async function inEnclave(browser, fn, ...args) {
  const [frame] = await enclaveFrames(browser);
  if (!frame) throw new Error("no enclave frame");
  await browser.frame(frame);
  try {
    return await browser.evaluate(fn, ...args);
  } finally {
    await browser.frame(null);
  }
}

/** Every record of the enclave's database, read in its own origin: {key: number[]}. */
export function dumpRecords(browser) {
  return inEnclave(browser, readRecords);
}

/** Flips one byte of a stored record, in the enclave's own origin. */
export function flipByte(browser, key, index) {
  return inEnclave(browser, flipRecordByte, [key, index]);
}
