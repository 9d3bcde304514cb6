// Launching Debian's Chromium through playwright-core (no browser download), and the CDP
// virtual authenticator that stands in for a passkey.
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "./webdriver.mjs";

// The origins come from `cargo xtask` (`KMS_LAYOUT`), which serves them: hosts of their own
// under one registrable domain, as a deployment has them, so the app cannot claim the
// enclave's passkey rpId and the frame is same-site (it keeps its storage). The browser
// suite runs on https (`*.kms.test`, resolved to loopback by the host rules below, with a
// certificate the servers made at start-up); the demo on http `*.kms.localhost`.
if (!process.env.KMS_LAYOUT) {
  throw new Error("KMS_LAYOUT is not set: run this through `cargo xtask e2e`, `demo` or `bench`");
}
/** Every origin of the layout, and for https its host rules and certificate key hash. */
export const LAYOUT = JSON.parse(process.env.KMS_LAYOUT);
export const APP = `${LAYOUT.app}/`;
export const ENCLAVE = `${LAYOUT.enclave}/`;

/** Chromium trusts the servers' certificate by its key (nothing else), and the layout's
 * names resolve to loopback. */
function layoutArgs() {
  const args = [];
  if (LAYOUT.hostRules) args.push(`--host-resolver-rules=${LAYOUT.hostRules}`);
  if (LAYOUT.spki) args.push(`--ignore-certificate-errors-spki-list=${LAYOUT.spki}`);
  return args;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      ...layoutArgs(),
      ...CHROMIUM_ARGS,
    ],
  });
}

/** Adds a CTAP2 platform authenticator with user verification and PRF to the page's tab. */
export async function addPasskeyAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      hasPrf: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/**
 * `route.fetch()` for a routed request to one of the layout's hosts: Playwright fetches
 * from Node, whose resolver knows neither the host rules nor `*.localhost`, so the request
 * goes to 127.0.0.1 (the test servers do not look at the Host header; the certificate
 * names 127.0.0.1 too, and Node trusts it through NODE_EXTRA_CA_CERTS).
 */
export function loopbackFetch(route) {
  const url = new URL(route.request().url());
  url.hostname = "127.0.0.1";
  return route.fetch({ url: url.href });
}

/** How long a just-shown enclave prompt is left before the stand-in user acts. */
export const SETTLE_MS = 1000;

/** The enclave frames of a page (the development and the release enclave origins). */
export function enclaveFrames(page) {
  const host = new URL(ENCLAVE).hostname;
  return page.frames().filter((f) => {
    try {
      return new URL(f.url()).hostname === host;
    } catch {
      return false;
    }
  });
}

/**
 * Stands in for the user at the enclave's own prompt: waits for its form, types
 * `passphrase` into every passphrase field and clicks `button` (default: the first one) —
 * real input events in the enclave frame, as a person's would be. Resolves to the prompt's
 * title, or to null when `stop()` turns true before a prompt appears.
 */
export async function answerPrompt(page, { passphrase, button } = {}, stop = () => false, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!stop()) {
    for (const frame of enclaveFrames(page)) {
      const form = frame.locator("form");
      if (!(await form.count().catch(() => 0))) continue;
      // Chromium drops input to a cross-origin frame that has just appeared or moved (a
      // click-jacking defence), so give the prompt the moment a person would.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const title = await form.locator("p").first().textContent();
      if (passphrase !== undefined) {
        for (const input of await form.locator("input[type=password]").all()) await input.fill(passphrase);
      }
      const target = button ? form.getByRole("button", { name: button, exact: true }) : form.locator("button").first();
      // The enclave ignores a click it cannot yet judge visible (a person clicks again);
      // once it counts, this prompt goes (or is replaced).
      const handle = await form.first().elementHandle();
      for (let attempt = 0; attempt < 4; attempt++) {
        await target.click({ timeout: 5000 }).catch(() => {});
        const gone = await handle.waitForElementState("hidden", { timeout: 1500 }).then(() => true, () => false);
        if (gone || !(await handle.evaluate((e) => e.isConnected).catch(() => false))) break;
      }
      return title;
    }
    if (Date.now() > deadline) throw new Error("the enclave showed no prompt");
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/**
 * Clicks "Continue" in the enclave's passkey prompt whenever it appears (a real click in
 * the enclave frame: browsers require that gesture). Returns a function that stops it.
 */
export function autoConfirm(page) {
  let running = true;
  const loop = (async () => {
    while (running && !page.isClosed()) {
      for (const frame of page.frames()) {
        if (!frame.url().startsWith(ENCLAVE)) continue;
        const button = frame.getByRole("button", { name: "Continue" });
        if (await button.count().catch(() => 0)) await button.first().click({ timeout: 2000 }).catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}
