// In-page verification before mount (`createKms({enclaveUrl, log})`) against the release
// enclave: the SDK mounts it only after its release log proved the served manifest is
// logged, cosigned by the witness, consistent with what this app origin saw before, and the
// page is the manifest's. Each refusal has its own code and leaves no enclave frame.
//
// The logs are made for the served manifest by kms-tools' `tlog-vectors e2e-log` (a test log
// key and witness) and served by this test on the release enclave's origin under `/log/`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { LAYOUT, loopbackFetch } from "../lib/browser.mjs";
import { ORIGINS, newContext } from "../lib/fixture.mjs";

const DIST = `${LAYOUT.distEnclave}/`;
const LOG_URL = `${DIST}log/`;
const MANIFEST = fileURLToPath(new URL("../../dist/sri-manifest.json", import.meta.url));

let temp;
let logs;
let keys;
before(() => {
  if (!process.env.TLOG_VECTORS_BIN) throw new Error("TLOG_VECTORS_BIN is not set: run this through `cargo xtask e2e`");
  temp = mkdtempSync(join(tmpdir(), "kms-verified-"));
  logs = join(temp, "logs");
  const out = execFileSync(process.env.TLOG_VECTORS_BIN, ["e2e-log", "--manifest", MANIFEST, "--out", logs], { encoding: "utf8" });
  keys = JSON.parse(out);
});
after(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

/** The `log` option of createKms for the test log and its witness. */
const logOption = () => ({ url: LOG_URL, key: keys.key, witnesses: keys.witnesses });
const STORAGE_KEY = () => `kms-log-checkpoint:${keys.key.split("+")[0]}`;

/**
 * Serves a log under `${DIST}log/` to every page of `context`: the entry bundles of
 * `state.log` (`release` or `fork`) and, as `checkpoint`, the file `state.checkpoint` of
 * `checkpoints/`. Change `state` to serve another log.
 */
async function serveLog(context, state) {
  await context.route(`${LOG_URL}**`, async (route) => {
    const path = decodeURIComponent(new URL(route.request().url()).pathname).replace(/^\/log\//, "");
    const file = path === "checkpoint" ? join(logs, "checkpoints", state.checkpoint) : join(logs, state.log, path);
    const headers = { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" };
    if (path.split("/").includes("..") || !existsSync(file)) {
      await route.fulfill({ status: 404, headers, body: "not found\n" });
    } else {
      await route.fulfill({ status: 200, headers, contentType: "application/octet-stream", body: readFileSync(file) });
    }
  });
}

/** The harness on the app origin, pointed at the release enclave. */
async function harness(context) {
  const page = await context.newPage();
  await page.goto(`${ORIGINS.app}/harness.html?enclave=${encodeURIComponent(DIST)}`);
  await page.waitForFunction(() => window.harness !== undefined);
  return page;
}

/** `harness.connect(options)` in `page`: {ok} or {code, message}. */
function link(page, options) {
  return page.evaluate(async (o) => {
    try {
      return { ok: await window.harness.connect(o) };
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, options);
}

/** `harness.connect({log})` in a new page: {ok} or {code, message}, the frames, the stored checkpoint. */
async function connect(context, extra = {}) {
  const page = await harness(context);
  const r = await link(page, { log: logOption(), ...extra });
  r.iframes = await page.evaluate(() => document.querySelectorAll("iframe").length);
  r.enclaveFrames = page.frames().filter((f) => f.url().startsWith(DIST)).length;
  r.stored = await page.evaluate((k) => localStorage.getItem(k), STORAGE_KEY());
  r.csp = r.ok ? await page.evaluate(() => document.querySelector("iframe").getAttribute("csp")) : null;
  return r;
}

const checkpoint = (name) => readFileSync(join(logs, "checkpoints", name), "utf8");

/** Asserts a refusal with `code` and that nothing was mounted. */
function refused(r, code) {
  assert.equal(r.code, code, JSON.stringify(r));
  assert.equal(r.iframes, 0, "an iframe was mounted");
  assert.equal(r.enclaveFrames, 0, "the enclave frame was loaded");
}

test("the release enclave mounts after full verification, and its checkpoint is stored", async () => {
  const context = await newContext();
  try {
    await serveLog(context, { log: "release", checkpoint: "release-3" });
    const r = await connect(context);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.enclaveFrames, 1);
    assert.match(r.csp ?? "", /^script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
    assert.equal(r.stored, checkpoint("release-3"));
  } finally {
    await context.close();
  }
});

test("a manifest that is not in the log is refused before mounting: NotInLog", async () => {
  const context = await newContext();
  try {
    await serveLog(context, { log: "release", checkpoint: "release-3" });
    await context.route(`${DIST}sri-manifest.json`, async (route) => {
      const response = await loopbackFetch(route);
      await route.fulfill({ response, body: `${await response.text()}\n` });
    });
    const r = await connect(context);
    refused(r, "NotInLog");
    assert.equal(r.stored, null);
  } finally {
    await context.close();
  }
});

test("a checkpoint without the witness's cosignature is refused: QuorumNotMet", async () => {
  const context = await newContext();
  try {
    await serveLog(context, { log: "release", checkpoint: "release-3-uncosigned" });
    const r = await connect(context);
    refused(r, "QuorumNotMet");
    assert.equal(r.stored, null);
  } finally {
    await context.close();
  }
});

test("an older checkpoint after a newer one was stored is refused: Rollback", async () => {
  const context = await newContext();
  try {
    const state = { log: "release", checkpoint: "release-3" };
    await serveLog(context, state);
    const first = await connect(context);
    assert.ok(first.ok, JSON.stringify(first));
    state.checkpoint = "release-2";
    const r = await connect(context);
    refused(r, "Rollback");
    assert.equal(r.stored, checkpoint("release-3"));
  } finally {
    await context.close();
  }
});

test("a forked log is refused after the real one was seen: Fork", async () => {
  const context = await newContext();
  try {
    const state = { log: "fork", checkpoint: "fork-4" };
    await serveLog(context, state);
    // On its own, the fork verifies (same key, cosigned, the manifest is in it).
    const alone = await newContext();
    try {
      await serveLog(alone, state);
      const r = await connect(alone);
      assert.ok(r.ok, JSON.stringify(r));
    } finally {
      await alone.close();
    }
    state.log = "release";
    state.checkpoint = "release-3";
    const first = await connect(context);
    assert.ok(first.ok, JSON.stringify(first));
    state.log = "fork";
    state.checkpoint = "fork-4";
    const r = await connect(context);
    refused(r, "Fork");
    assert.equal(r.stored, checkpoint("release-3"));
  } finally {
    await context.close();
  }
});

test("a page that is not the logged manifest's is refused: IntegrityMismatch", async () => {
  const context = await newContext();
  try {
    await serveLog(context, { log: "release", checkpoint: "release-3" });
    await context.route(DIST, async (route) => {
      const response = await loopbackFetch(route);
      const body = (await response.text()).replace("<title>", "<title>x");
      await route.fulfill({ response, body });
    });
    const r = await connect(context);
    refused(r, "IntegrityMismatch");
    assert.equal(r.stored, null);
  } finally {
    await context.close();
  }
});

test("a pinned page hash that is not the logged release's is refused: IntegrityMismatch", async () => {
  const context = await newContext();
  try {
    await serveLog(context, { log: "release", checkpoint: "release-3" });
    const r = await connect(context, { expectedPageHash: `sha384-${"A".repeat(64)}` });
    refused(r, "IntegrityMismatch");
    assert.equal(r.stored, null);
  } finally {
    await context.close();
  }
});

// The enclave's own account of its release: with a log named in its `kms.config.json`, the
// enclave checks, from its own origin, the release it runs and shows the result in every
// prompt, whether or not the page checked anything.

const ENCLAVE_STORAGE_KEY = () => `kms-release-checkpoint:${keys.key}`;

/** Serves the release enclave's `kms.config.json` with `log` added (none: as deployed). */
async function serveConfig(context, log = { url: LOG_URL, key: keys.key, witnesses: keys.witnesses }) {
  await context.route(`${DIST}kms.config.json`, async (route) => {
    const response = await loopbackFetch(route);
    const config = { ...(await response.json()), log };
    await route.fulfill({ response, body: JSON.stringify(config) });
  });
}

/**
 * Connects a new harness page without the SDK's check, asks for a ceremony, and returns the
 * release line of the prompt the enclave shows ({state, text}) and the checkpoint the
 * enclave stored on its own origin.
 */
async function releaseShown(context) {
  const page = await harness(context);
  const linked = await link(page, {});
  assert.ok(linked.ok, JSON.stringify(linked));
  page.evaluate(() => window.harness.run("setup")).catch(() => {});
  const frame = page.frames().find((f) => f.url().startsWith(DIST));
  const line = frame.locator('form [data-kms="release"]');
  await line.waitFor({ timeout: 15_000 });
  await frame.waitForFunction(() => document.querySelector('[data-kms="release"]')?.dataset.state !== "checking");
  const shown = { state: await line.getAttribute("data-state"), text: await line.textContent() };
  shown.stored = await frame.evaluate((k) => localStorage.getItem(k), ENCLAVE_STORAGE_KEY());
  await page.close();
  return shown;
}

test("the enclave shows the release it runs, as it checked it in its log itself", async () => {
  const context = await newContext();
  try {
    await serveLog(context, { log: "release", checkpoint: "release-3" });
    await serveConfig(context);
    const shown = await releaseShown(context);
    const manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
    const origin = keys.key.split("+")[0];
    assert.equal(shown.state, "verified", shown.text);
    assert.ok(shown.text.includes(`Release ${keys.version} · entry 1 of 3 in ${origin}`), shown.text);
    assert.ok(shown.text.includes("cosigned by 1 of 1 witness ·"), shown.text);
    assert.ok(shown.text.endsWith(`page sha256 ${manifest.page.sha256}`), shown.text);
    assert.equal(shown.stored, checkpoint("release-3"));
  } finally {
    await context.close();
  }
});

test("the enclave tells the user when its own release does not check out, with the SDK's codes", async () => {
  const context = await newContext();
  try {
    const state = { log: "release", checkpoint: "release-3-uncosigned" };
    await serveLog(context, state);
    await serveConfig(context);
    const uncosigned = await releaseShown(context);
    assert.equal(uncosigned.state, "refused");
    assert.match(uncosigned.text, /not verified \(QuorumNotMet\)/);
    assert.equal(uncosigned.stored, null, "an unverified checkpoint was stored");

    state.checkpoint = "release-3";
    assert.equal((await releaseShown(context)).state, "verified");
    state.checkpoint = "release-2";
    const rolledBack = await releaseShown(context);
    assert.match(rolledBack.text, /not verified \(Rollback\): the log shrank from 3 to 2 entries/);
    assert.equal(rolledBack.stored, checkpoint("release-3"), "the rollback replaced the stored checkpoint");

    state.log = "fork";
    state.checkpoint = "fork-4";
    assert.match((await releaseShown(context)).text, /not verified \(Fork\)/);

    state.log = "release";
    state.checkpoint = "release-3";
    await context.route(`${DIST}sri-manifest.json`, async (route) => {
      const response = await loopbackFetch(route);
      const manifest = await response.json();
      manifest.page.sha256 = "0".repeat(64);
      await route.fulfill({ response, body: JSON.stringify(manifest) });
    });
    assert.match((await releaseShown(context)).text, /not verified \(IntegrityMismatch\): this page \(sha256 [0-9a-f]{64}\)/);
  } finally {
    await context.close();
  }
});

test("an enclave whose deployment names no log says its release is not verified", async () => {
  const context = await newContext();
  try {
    const shown = await releaseShown(context);
    assert.equal(shown.state, "unlogged");
    assert.match(shown.text, /names no release log/);
  } finally {
    await context.close();
  }
});
