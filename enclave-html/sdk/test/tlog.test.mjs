// The SDK's release-log verifier against the vectors kms-tlog makes
// (kms-tlog/tests/vectors/sdk-verifier.json): every verdict, hash and parse must agree.
// Runs over the compiled SDK (`npm test` compiles it first).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { KmsError } from "../dist/errors.js";
import * as tlog from "../dist/tlog.js";

const V = JSON.parse(readFileSync(new URL("../../../kms-tlog/tests/vectors/sdk-verifier.json", import.meta.url), "utf8"));
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const b64 = (u8) => Buffer.from(u8).toString("base64");
const utf8 = (s) => new TextEncoder().encode(s);

/** "ok" and the value, or the KmsError code. */
async function verdict(f) {
  try {
    return ["ok", await f()];
  } catch (e) {
    if (!(e instanceof KmsError)) throw e;
    return [e.code, e.message];
  }
}

test("the vector file is the one this verifier reads", () => {
  assert.equal(V.format, "kms-tlog-sdk-vectors-v1");
  assert.equal(V.max_log_size, tlog.MAX_LOG_SIZE);
});

test("verifier keys and key ids", async () => {
  for (const c of V.keys) {
    const [got, key] = await verdict(() => tlog.parseVerifierKey(c.text, c.alg));
    assert.equal(got, c.verdict, c.case);
    if (got === "ok") {
      assert.equal(key.name, c.name, c.case);
      assert.equal(key.keyId.toString(16).padStart(8, "0"), c.key_id, c.case);
    }
  }
});

test("signed notes", async () => {
  for (const c of V.notes) {
    const keys = await Promise.all(c.keys.map((k) => tlog.parseVerifierKey(k, tlog.ALG_ED25519)));
    const [got, note] = await verdict(async () => {
      const note = tlog.parseNote(utf8(c.note));
      await tlog.verifyNote(note, keys);
      return note;
    });
    assert.equal(got, c.verdict, `${c.case}: ${got === "ok" ? "" : note}`);
    if (got === "ok") assert.equal(note.text, c.text, c.case);
  }
});

test("checkpoints", async () => {
  for (const c of V.checkpoints) {
    const key = await tlog.parseVerifierKey(c.key, tlog.ALG_ED25519);
    const [got, r] = await verdict(() => tlog.openCheckpoint(utf8(c.note), key));
    assert.equal(got, c.verdict, `${c.case}: ${got === "ok" ? "" : r}`);
    if (got === "ok") {
      assert.equal(r.checkpoint.origin, c.origin, c.case);
      assert.equal(r.checkpoint.size, c.size, c.case);
      assert.equal(b64(r.checkpoint.root), c.root, c.case);
      assert.deepEqual(r.checkpoint.extensions, c.extensions, c.case);
    }
  }
});

test("cosignatures: distinct configured witnesses counted, a bad one rejects", async () => {
  for (const c of V.cosignatures) {
    const witnesses = await Promise.all(c.witnesses.map((w) => tlog.parseVerifierKey(w, tlog.ALG_COSIGNATURE_V1)));
    const [got, count] = await verdict(() => tlog.countCosignatures(tlog.parseNote(utf8(c.note)), witnesses));
    assert.equal(got === "ok" ? count : got, c.verdict, c.case);
  }
});

test("RFC 6962 leaf hashes and the root of every size", async () => {
  for (const t of V.trees) {
    const leaves = await Promise.all(t.entries.map((e) => tlog.leafHash(bytes(e))));
    assert.deepEqual(leaves.map(b64), t.leaf_hashes);
    for (let n = 0; n <= leaves.length; n++) assert.equal(b64(await tlog.treeRoot(leaves, n)), t.roots[n], `size ${n}`);
  }
});

test("entry bundle paths and parsing", () => {
  for (const c of V.tile_paths) assert.equal(tlog.entryBundlePath(c.index, c.width), c.path);
  for (const c of V.bundles) {
    const got = tlog.splitBundle(bytes(c.bundle));
    assert.deepEqual(got === null ? null : got.map(b64), c.entries, c.bundle);
  }
});

test("release statements", async () => {
  for (const c of V.statements) {
    assert.equal(new TextDecoder().decode(await tlog.releaseStatement(c.version, bytes(c.manifest))), c.entry);
  }
  for (const c of V.statement_parsing) {
    const s = tlog.parseStatement(utf8(c.entry));
    assert.deepEqual(s && { version: s.version, hash: b64(s.manifestSha256) }, c.version === null ? null : { version: c.version, hash: c.manifest_sha256 }, c.entry);
  }
});

test("whole releases: inclusion, quorum, rollback, fork, size bound", async () => {
  for (const c of V.releases) {
    const read = async (path) => {
      if (!(path in c.files)) throw new Error(`404 ${path}`);
      return bytes(c.files[path]);
    };
    const trust = { key: c.key, witnesses: c.witnesses, quorum: c.quorum ?? undefined };
    const [got, r] = await verdict(() => tlog.verifyRelease(trust, bytes(c.manifest), c.stored, read));
    assert.equal(got, c.verdict, `${c.case}: ${got === "ok" ? "" : r}`);
    if (got === "ok") {
      assert.equal(r.index, c.index, c.case);
      assert.equal(r.version, c.version, c.case);
      assert.equal(r.signed, new TextDecoder().decode(bytes(c.files.checkpoint)), c.case);
    }
  }
});
