// The release build (`cargo xtask dist`, served from dist/ on its own enclave origin): every
// script and the wasm load under Subresource Integrity, a tampered artifact is refused, and the
// SDK's release pinning refuses a page that is not the pinned one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { LAYOUT, loopbackFetch } from "../lib/browser.mjs";
import { ORIGINS, newContext, setupByUser } from "../lib/fixture.mjs";

const DIST = `${LAYOUT.distEnclave}/`;
const manifest = JSON.parse(readFileSync(new URL("../../dist/sri-manifest.json", import.meta.url)));
const PAGE_HASH = manifest.page.sri;
const artifact = (suffix) => manifest.artifacts.find((a) => a.name.startsWith("kms-") && a.name.endsWith(suffix)).name;

/** The harness on the app origin, pointed at the release enclave. */
async function harness(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`${ORIGINS.app}/harness.html?enclave=${encodeURIComponent(DIST)}`);
  await page.waitForFunction(() => window.harness !== undefined);
  return { page, errors };
}

/** `harness.connect(options)`: {ok: info} or {code, message}; and how many iframes remain. */
async function connect(page, options = {}) {
  return page.evaluate(async (o) => {
    try {
      return { ok: await window.harness.connect(o) };
    } catch (e) {
      return { code: e.code, message: e.message, frames: document.querySelectorAll("iframe").length };
    }
  }, options);
}

/** Serves `name` from dist with one byte flipped. */
async function tamper(context, name) {
  await context.route(`${DIST}${name}`, async (route) => {
    const response = await loopbackFetch(route);
    const body = Buffer.from(await response.body());
    body[body.length >> 1] ^= 0x01;
    await route.fulfill({ response, body });
  });
}

test("the release enclave loads under SRI, pinned, and works", async () => {
  const context = await newContext();
  try {
    const { page, errors } = await harness(context);
    const linked = await connect(page, { expectedPageHash: PAGE_HASH });
    assert.ok(linked.ok, JSON.stringify(linked));
    const csp = await page.evaluate(() => document.querySelector("iframe").getAttribute("csp"));
    assert.match(csp, new RegExp(manifest.csp_script_hashes[0].replace(/[+/=]/g, "\\$&")));
    const setup = await setupByUser(page);
    assert.equal(setup.ok?.type, "unlocked", JSON.stringify(setup));
    const frame = page.frames().find((f) => f.url().startsWith(DIST));
    // The hashed files are what ran: the import map and the wasm pin are in the page.
    const html = await frame.content();
    for (const a of manifest.artifacts) assert.ok(html.includes(a.sri), a.name);
    assert.deepEqual(errors.filter((e) => /Content Security Policy|integrity/i.test(e)), []);
  } finally {
    await context.close();
  }
});

test("a tampered wasm is refused: the enclave does not start, createKms rejects", async () => {
  const context = await newContext();
  try {
    await tamper(context, artifact(".wasm"));
    const { page } = await harness(context);
    const r = await connect(page);
    assert.equal(r.code, "HandshakeFailed", JSON.stringify(r));
    assert.match(r.message, /failed to start/);
  } finally {
    await context.close();
  }
});

test("a tampered script is refused: no link", async () => {
  const context = await newContext();
  try {
    await tamper(context, artifact(".js"));
    const { page } = await harness(context);
    const r = await connect(page);
    assert.equal(r.code, "HandshakeFailed", JSON.stringify(r));
    assert.equal(r.frames, 0);
  } finally {
    await context.close();
  }
});

test("release pinning refuses a page that is not the pinned one, before mounting it", async () => {
  const context = await newContext();
  try {
    const { page } = await harness(context);
    const wrong = await connect(page, { expectedPageHash: `sha384-${"A".repeat(64)}` });
    assert.equal(wrong.code, "IntegrityMismatch", JSON.stringify(wrong));
    assert.equal(wrong.frames, 0);
    await context.route(DIST, async (route) => {
      const response = await loopbackFetch(route);
      const body = (await response.text()).replace("<title>", "<title>x");
      await route.fulfill({ response, body });
    });
    const modified = await connect(page, { expectedPageHash: PAGE_HASH });
    assert.equal(modified.code, "IntegrityMismatch", JSON.stringify(modified));
    assert.equal(modified.frames, 0);
  } finally {
    await context.close();
  }
});

test("CSP Embedded Enforcement is in force: a pin the enclave's policy does not meet blocks it", async () => {
  const context = await newContext();
  try {
    const { page } = await harness(context);
    const required = ["script-src 'self' 'wasm-unsafe-eval'", `'sha256-${"A".repeat(43)}='`].join(" ");
    await page.evaluate(([src, csp]) => new Promise((resolve) => {
      const f = document.createElement("iframe");
      f.setAttribute("csp", csp);
      f.addEventListener("load", resolve, { once: true });
      f.src = src;
      document.body.append(f);
    }), [DIST, required]);
    // The browser refuses to render a document whose own policy does not subsume the pin.
    const urls = page.frames().map((f) => f.url());
    assert.ok(!urls.some((u) => u.startsWith(DIST)), JSON.stringify(urls));
  } finally {
    await context.close();
  }
});
