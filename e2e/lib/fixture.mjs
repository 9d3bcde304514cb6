// Shared set-up of the browser suite: one Chromium per test file, a fresh profile
// (context) per test, and helpers to reach the enclave frame's IndexedDB.
import { after, before } from "node:test";
import { ENCLAVE, LAYOUT, answerPrompt, launch } from "./browser.mjs";
import { flipRecordByte, readRecords } from "./records.mjs";

/** The app origins of the layout `cargo xtask e2e` serves. */
export const ORIGINS = {
  app: LAYOUT.app,
  app2: LAYOUT.app2,
  rogue: LAYOUT.rogue,
  crossSite: LAYOUT.crossSite,
};
export const PASSPHRASE = "correct horse battery staple";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A fresh browser profile. */
export function newContext() {
  return browser.newContext();
}

/** Opens the test harness on `origin` and waits until it is ready. */
export async function openHarness(context, origin = ORIGINS.app) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`(page error on ${origin}) ${e.message}`));
  await page.goto(`${origin}/harness.html`);
  await page.waitForFunction(() => window.harness !== undefined);
  return page;
}

/** `kms.<path>(...args)` in the page: {ok} or {code, message}. */
export function run(page, path, ...args) {
  return page.evaluate(([p, a]) => window.harness.run(p, ...a), [path, args]);
}

/** The enclave frame of a page. */
export function enclaveFrame(page) {
  const frame = page.frames().find((f) => f.url().startsWith(ENCLAVE));
  if (!frame) throw new Error("no enclave frame");
  return frame;
}

/** Every record of the enclave's database: {key: number[]}. */
export function dumpRecords(page) {
  return enclaveFrame(page).evaluate(readRecords);
}

/** Flips one byte of a stored record, in the enclave's own origin. */
export function flipByte(page, key, index) {
  return enclaveFrame(page).evaluate(flipRecordByte, [key, index]);
}

/**
 * `kms.<path>(...args)` with the user answering the enclave's prompts in turn (`answers`:
 * `{passphrase, button}` each; default: type PASSPHRASE and click the first button). Stops
 * answering when the call settles (an error before any prompt, say). Resolves like `run`.
 */
export async function runWithUser(page, path, args = [], answers = [{ passphrase: PASSPHRASE }]) {
  let settled = false;
  const result = run(page, path, ...args).finally(() => { settled = true; });
  for (const answer of answers) {
    if ((await answerPrompt(page, answer, () => settled)) === null) break;
  }
  return result;
}

/** The user sets the enclave up with `passphrase` in its own form. */
export function setupByUser(page, passphrase = PASSPHRASE) {
  return runWithUser(page, "setup", [], [{ passphrase }]);
}

/** The user unlocks with `passphrase` in the enclave's own form. */
export function unlockByUser(page, passphrase = PASSPHRASE) {
  return runWithUser(page, "unlock", [], [{ passphrase, button: "Unlock" }]);
}
