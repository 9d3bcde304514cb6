// The prekey vending service as a Cloudflare Worker over D1: the same HTTP API as
// `kms-relay serve` (docs/relay.md).
//
// This entry only moves bytes: it asks the wasm module (kms-relay compiled to wasm, see
// ../src/lib.rs) what to do with a request, runs the D1 statements the module gives it, hands
// their rows back and sends the module's answer. Token verification, prekey checks, the rate
// limit, the SQL and every answer's bytes are the module's.
//
// Bindings (wrangler.toml): DB (the D1 database), and the vars OWNER_IDENTITY, ISSUER,
// AUDIENCE, JWKS, RATE, RETRY_AFTER.

import { initSync, Vending } from "../build/kms_relay_worker.js";
import wasm from "../build/kms_relay_worker_bg.wasm";

initSync({ module: wasm });

/** One service per isolate, made from the first request's environment. */
let service;

function vending(env) {
  service ??= new Vending(
    JSON.stringify({
      ownerIdentity: String(env.OWNER_IDENTITY ?? ""),
      issuer: String(env.ISSUER ?? ""),
      audience: String(env.AUDIENCE ?? ""),
      jwks: typeof env.JWKS === "string" ? env.JWKS : JSON.stringify(env.JWKS ?? {}),
      rate: env.RATE === undefined ? null : String(env.RATE),
      retryAfter: env.RETRY_AFTER === undefined ? null : String(env.RETRY_AFTER),
    }),
  );
  return service;
}

/** The module's answer as a Response. */
function respond(reply) {
  const body = reply.status === 204 ? null : reply.body;
  return new Response(body, { status: reply.status, headers: reply.headers });
}

/** Runs the module's statements as one D1 batch (one transaction); their results in order. */
function run(db, statements) {
  return db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
}

/**
 * The request body, at most `max` bytes of it; null when it is larger. (Reading it also
 * keeps the connection usable when the answer is a refusal.)
 */
async function readBody(request, max) {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** The first row of a result, or null. */
function first(result) {
  return result.results?.[0] ?? null;
}

async function serve(request, env) {
  const v = vending(env);
  const db = env.DB;
  const routed = v.route(request.method, new URL(request.url).pathname);
  if (routed.reply) return respond(routed.reply);
  switch (routed.endpoint) {
    case "take": {
      const next = v.take(request.headers.get("CF-Connecting-IP"));
      if (next.reply) return respond(next.reply);
      // One statement: UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING kid, body.
      const [result] = await run(db, next.batch);
      const row = first(result);
      return respond(v.taken(row?.kid, row?.body));
    }
    case "count": {
      const [result] = await run(db, v.count().batch);
      const row = first(result) ?? {};
      return respond(v.counted(row.available ?? 0, row.consumed ?? 0));
    }
    case "epoch": {
      const [result] = await run(db, v.epoch().batch);
      const row = first(result);
      return respond(v.epochRead(row?.kid, row?.body));
    }
    case "upload":
    case "setEpoch": {
      const auth = v.authorize(request.headers.get("Authorization"));
      const body = await readBody(request, v.maxBody());
      if (auth.reply) return respond(auth.reply);
      const recorded = await run(db, auth.batch);
      if (recorded[recorded.length - 1].meta.changes === 0) return respond(v.replayed());
      if (body === null) return respond(v.tooLarge());
      if (routed.endpoint === "setEpoch") {
        const next = v.setEpoch(body);
        if (next.reply) return respond(next.reply);
        await run(db, next.batch);
        return respond(v.epochSet());
      }
      const next = v.upload(body);
      if (next.reply) return respond(next.reply);
      // The inserts and the count in one transaction; the last result is the count.
      const results = await run(db, next.upload.batch);
      const counts = first(results.pop()) ?? {};
      const changed = Float64Array.from(results, (r) => r.meta.changes ?? 0);
      return respond(v.uploaded(next.upload.prekeys, changed, counts.available ?? 0));
    }
    case "health":
      return respond(v.health());
    default:
      return respond(v.storageFailure());
  }
}

export default {
  async fetch(request, env) {
    try {
      return await serve(request, env);
    } catch (e) {
      // A failed statement or a bad setting: the details stay in the Worker's log.
      console.error("kms-relay worker:", e?.stack ?? String(e));
      return respond(service ? service.storageFailure() : { status: 500, headers: [], body: "" });
    }
  },
};
