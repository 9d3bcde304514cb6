// Launching Debian's Chromium through playwright-core (no browser download), and the CDP
// virtual authenticator that stands in for a passkey.
import { chromium } from "playwright-core";

export const APP = process.env.KMS_APP_URL || "http://localhost:8080/";
export const ENCLAVE = process.env.KMS_ENCLAVE_URL || "http://localhost:8081/";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
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
