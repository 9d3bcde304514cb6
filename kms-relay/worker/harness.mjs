// Runs the vending Worker on this machine: workerd (from npm, through Miniflare) with a
// local D1 database, no account and no network. The tests and the load test start it
// (kms_relay::workerd::LocalWorker); `node harness.mjs` with the variables below runs it by
// hand.
//
// Environment:
//   KMS_WORKER_VARS     JSON object of the Worker's vars (OWNER_IDENTITY, ISSUER, AUDIENCE,
//                       JWKS, RATE, RETRY_AFTER), as wrangler.toml's [vars] would set them
//   KMS_WORKER_PERSIST  optional: D1's directory on disk (as `wrangler --persist-to DIR`
//                       writes it); without it the database lives in memory
//   KMS_WORKER_PORT     optional: the loopback port (default 0: a free one)
//
// Protocol, one line each, prefixed "kms-worker: " on stdout (other lines are logs):
//   started: "kms-worker: ready <url>"
//   stdin "reset": the tables emptied, then "kms-worker: reset"
//   stdin closed: the Worker is stopped and the process exits.

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";

const here = dirname(fileURLToPath(import.meta.url));

/** The D1 database's id in wrangler.toml, so `wrangler d1 … --local` and this share a file. */
function databaseId() {
  const toml = readFileSync(join(here, "wrangler.toml"), "utf8");
  const id = /^database_id\s*=\s*"([^"]+)"/m.exec(toml);
  if (!id) throw new Error("wrangler.toml: no d1_databases database_id");
  return id[1];
}

/** The statements of the migration, in order. */
function migration() {
  const text = readFileSync(join(here, "migrations", "0001_vending.sql"), "utf8");
  return text
    .split("\n")
    .filter((l) => !l.startsWith("--"))
    .join("\n")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const persist = process.env.KMS_WORKER_PERSIST;
const mf = new Miniflare({
  host: "127.0.0.1",
  port: Number(process.env.KMS_WORKER_PORT ?? 0),
  modules: true,
  modulesRoot: here,
  scriptPath: join(here, "src", "index.js"),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-04-01",
  d1Databases: { DB: databaseId() },
  d1Persist: persist ? persist : false,
  bindings: JSON.parse(process.env.KMS_WORKER_VARS ?? "{}"),
  // No request.cf metadata: Miniflare would fetch it from Cloudflare.
  cf: false,
  log: new Log(LogLevel.WARN),
});

const url = await mf.ready;
const db = await mf.getD1Database("DB");
await db.batch(migration().map((s) => db.prepare(s)));
console.log(`kms-worker: ready ${url.origin}`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "reset") {
    await db.batch(
      ["kms_prekeys", "kms_epoch", "kms_token_ids"].map((t) => db.prepare(`DELETE FROM ${t}`)),
    );
    console.log("kms-worker: reset");
  }
}
await mf.dispose();
