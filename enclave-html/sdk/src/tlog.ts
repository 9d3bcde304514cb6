// The release-log verifier: C2SP signed notes, checkpoints and `cosignature/v1`, RFC 6962
// tree hashing and tlog-tiles entry bundles, and the `kms-release-v1` statement; the formats
// are in docs/formats/tlog.md and witness.md. A release log holds one entry per release, so
// the verifier reads every entry and recomputes the tree: that one pass proves the inclusion
// of a manifest and the consistency with an earlier checkpoint, without proofs.

import { KmsError, type ClientErrorCode } from "./errors.js";

/** Most entries the verifier reads from a log; a larger checkpoint is `LogTooLarge`. */
export const MAX_LOG_SIZE = 1 << 16;
/** Largest signed note accepted, in bytes. */
export const MAX_NOTE_LEN = 1 << 20;
/** Most signature lines on one note. */
export const MAX_SIGNATURES = 100;
/** Signature type of an Ed25519 note key. */
export const ALG_ED25519 = 0x01;
/** Signature type of an Ed25519 `cosignature/v1` witness key. */
export const ALG_COSIGNATURE_V1 = 0x04;
/** Entries in a full entry bundle. */
export const TILE_WIDTH = 256;
/** First line of a release statement. */
export const STATEMENT_FORMAT = "kms-release-v1";

const SIG_PREFIX = "\u2014 ";
const MAX_TIMESTAMP = (1n << 63n) - 1n;

function fail(code: ClientErrorCode, message: string): never {
  throw new KmsError(code, message);
}

/** Standard padded base64 (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Decodes standard padded base64 strictly (canonical encodings only); null otherwise. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    return null;
  }
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return toBase64(out) === text ? out : null;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte strings are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** SHA-256 through WebCrypto. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", Uint8Array.from(bytes)));
}

// ---- Keys and signed notes (C2SP signed-note) ----

/** A verifier key: an Ed25519 public key with its name and key id. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly alg: number;
  readonly publicKey: Uint8Array;
  readonly key: CryptoKey;
}

/** Whether `name` is a valid key name: non-empty, no spaces, no `+`, no control characters. */
export function isKeyName(name: string): boolean {
  return /^[^\s+\p{Cc}]+$/u.test(name);
}

/** The key id of a key of type `alg`: `SHA-256(name ‖ 0x0A ‖ alg ‖ key)[..4]`, big-endian. */
export async function keyId(name: string, alg: number, publicKey: Uint8Array): Promise<number> {
  const d = await sha256(concat(utf8(name), Uint8Array.of(0x0a, alg), publicKey));
  return new DataView(d.buffer).getUint32(0);
}

/**
 * Parses a verifier key string `<name>+<8 hex digits key id>+<base64(alg ‖ public key)>`:
 * `alg` 0x01 for a log key, 0x04 for a witness key. Throws `InvalidLogConfig`.
 */
export async function parseVerifierKey(text: string, alg: number): Promise<VerifierKey> {
  const bad = (why: string): never => fail("InvalidLogConfig", `invalid verifier key ${JSON.stringify(text)}: ${why}`);
  const i = text.indexOf("+");
  const j = i < 0 ? -1 : text.indexOf("+", i + 1);
  if (j < 0) bad("expected <name>+<key id>+<key>");
  const [name, id, b64] = [text.slice(0, i), text.slice(i + 1, j), text.slice(j + 1)];
  if (!isKeyName(name)) bad("invalid key name");
  if (!/^[0-9a-f]{8}$/.test(id)) bad("expected 8 lowercase hex digits of key id");
  const raw = fromBase64(b64);
  if (!raw || raw.length !== 33) bad("expected base64 of 33 bytes");
  if (raw![0] !== alg) bad(`expected signature type ${alg}, got ${raw![0]}`);
  const publicKey = raw!.slice(1);
  const computed = await keyId(name, alg, publicKey);
  if (computed !== parseInt(id, 16)) bad("the key id is not the one of this name and key");
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return bad("not an Ed25519 public key");
  }
  return { name, keyId: computed, alg, publicKey, key };
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The bytes after the key id. */
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** A signed note, parsed but not verified. */
export interface Note {
  /** The signed text, final newline included. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/**
 * Parses a signed note without verifying it: the text, a blank line, then 1 to 100 lines
 * `— <name> <base64(key id ‖ signature)>`. Throws `LogUnavailable` for a malformed note.
 */
export function parseNote(msg: Uint8Array): Note {
  const bad = (why: string): never => fail("LogUnavailable", `malformed signed note: ${why}`);
  if (msg.length > MAX_NOTE_LEN) bad("too long");
  let s = "";
  try {
    s = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(msg);
  } catch {
    bad("not UTF-8");
  }
  if (!s.endsWith("\n")) bad("no final newline");
  if (/[\x00-\x09\x0b-\x1f]/.test(s)) bad("control character");
  const split = s.lastIndexOf("\n\n");
  if (split < 0) bad("no blank line before the signatures");
  const lines = s.slice(split + 2).split("\n");
  lines.pop();
  if (lines.length === 0) bad("no signature lines");
  if (lines.length > MAX_SIGNATURES) bad("too many signatures");
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIG_PREFIX)) bad("signature line must start with an em dash and a space");
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) bad("expected a key name and a signature");
    const name = rest.slice(0, space);
    if (!isKeyName(name)) bad("invalid key name");
    const blob = fromBase64(rest.slice(space + 1));
    if (!blob || blob.length < 5) bad("signature is not base64 of at least 5 bytes");
    return { name, keyId: new DataView(blob!.buffer).getUint32(0), signature: blob!.slice(4) };
  });
  return { text: s.slice(0, split + 1), signatures };
}

async function ed25519Verify(key: CryptoKey, signature: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<boolean> {
  if (signature.length !== 64) return false;
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch {
    return false;
  }
}

function checkDistinct(keys: readonly VerifierKey[]): void {
  keys.forEach((a, i) => {
    if (keys.slice(i + 1).some((b) => a.name === b.name && a.keyId === b.keyId)) {
      fail("InvalidLogConfig", `two keys named ${a.name} share a key id`);
    }
  });
}

const sameKey = (k: VerifierKey, s: NoteSignature) => k.name === s.name && k.keyId === s.keyId;

/**
 * Verifies a note's signatures by known keys: lines of unknown keys are ignored, a known
 * key's signature that fails rejects the note, and at least one must verify. Throws
 * `LogUnavailable`.
 */
export async function verifyNote(note: Note, keys: readonly VerifierKey[]): Promise<void> {
  checkDistinct(keys);
  let verified = 0;
  for (const sig of note.signatures) {
    const key = keys.find((k) => sameKey(k, sig));
    if (!key) continue;
    if (!(await ed25519Verify(key.key, sig.signature, utf8(note.text)))) {
      fail("LogUnavailable", `the signature by ${sig.name} does not verify`);
    }
    verified++;
  }
  if (verified === 0) fail("LogUnavailable", "the note has no signature by a known key");
}

/**
 * Counts the distinct configured witnesses whose `cosignature/v1` on the note verifies.
 * Lines by other keys are ignored; a configured witness's line that fails (wrong length,
 * timestamp above 2^63 − 1, bad signature) throws `QuorumNotMet`.
 */
export async function countCosignatures(note: Note, witnesses: readonly VerifierKey[]): Promise<number> {
  checkDistinct(witnesses);
  const found = new Set<number>();
  for (const sig of note.signatures) {
    const i = witnesses.findIndex((w) => sameKey(w, sig));
    if (i < 0) continue;
    const bad = () => fail("QuorumNotMet", `the cosignature by witness ${sig.name} does not verify`);
    if (sig.signature.length !== 72) bad();
    const time = new DataView(sig.signature.buffer).getBigUint64(0);
    if (time > MAX_TIMESTAMP) bad();
    const message = utf8(`cosignature/v1\ntime ${time}\n${note.text}`);
    if (!(await ed25519Verify(witnesses[i]!.key, sig.signature.slice(8), message))) bad();
    found.add(i);
  }
  return found.size;
}

// ---- Checkpoints (C2SP tlog-checkpoint) ----

/** The body of a checkpoint. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** The RFC 6962 root of the first `size` entries. */
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

/**
 * Parses a checkpoint note text: origin, decimal size without leading zeroes, base64 root,
 * then non-empty extension lines. Throws `LogUnavailable`, or `LogTooLarge` above
 * {@link MAX_LOG_SIZE}.
 */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string): never => fail("LogUnavailable", `malformed checkpoint: ${why}`);
  if (!text.endsWith("\n")) bad("no final newline");
  const [origin, size, root, ...extensions] = text.slice(0, -1).split("\n");
  if (root === undefined) bad("expected origin, size and root hash lines");
  const line = (l: string) => l.length > 0 && !/\p{Cc}/u.test(l);
  if (!line(origin!)) bad("origin must be a non-empty line");
  if (!/^(0|[1-9][0-9]*)$/.test(size!) || BigInt(size!) >= 1n << 64n) bad("size must be decimal without leading zeroes");
  const hash = fromBase64(root!);
  if (!hash || hash.length !== 32) bad("root must be base64 of 32 bytes");
  if (!extensions.every(line)) bad("extension lines must be non-empty lines");
  if (BigInt(size!) > BigInt(MAX_LOG_SIZE)) {
    fail("LogTooLarge", `the log has ${size} entries, more than the ${MAX_LOG_SIZE} this verifier reads`);
  }
  return { origin: origin!, size: Number(size), root: hash!, extensions };
}

/**
 * Parses a signed checkpoint and verifies it with the log key, whose name must be its
 * origin. Returns the note (for its cosignatures) and the checkpoint.
 */
export async function openCheckpoint(msg: Uint8Array, logKey: VerifierKey): Promise<{ note: Note; checkpoint: Checkpoint }> {
  const note = parseNote(msg);
  await verifyNote(note, [logKey]);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== logKey.name) {
    fail("LogUnavailable", `checkpoint origin ${checkpoint.origin} is not the log key's name ${logKey.name}`);
  }
  return { note, checkpoint };
}

// ---- RFC 6962 tree hashing ----

/** The leaf hash of an entry: `SHA-256(0x00 ‖ entry)`. */
export function leafHash(entry: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return sha256(concat(Uint8Array.of(0), entry));
}

/** The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** The Merkle Tree Hash of the first `size` of `leaves` (leaf hashes). */
export async function treeRoot(leaves: readonly Uint8Array[], size = leaves.length): Promise<Uint8Array> {
  if (size > leaves.length) throw new RangeError("size exceeds the leaves");
  const mth = async (lo: number, n: number): Promise<Uint8Array> => {
    if (n === 0) return sha256(new Uint8Array(0));
    if (n === 1) return leaves[lo]!;
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(await mth(lo, k), await mth(lo + k, n - k));
  };
  return mth(0, size);
}

// ---- tlog-tiles entry bundles ----

/** A tile index as a path: three-digit groups, all but the last prefixed by `x`. */
export function tileIndexPath(n: number): string {
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, "0"));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/** The path of entry bundle `index` holding `width` entries (`.p/<width>` when partial). */
export function entryBundlePath(index: number, width: number): string {
  return `tile/entries/${tileIndexPath(index)}${width < TILE_WIDTH ? `.p/${width}` : ""}`;
}

/** Splits an entry bundle (entries, each after its u16be length); null if it does not parse. */
export function splitBundle(bytes: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) return null;
    const len = (bytes[at]! << 8) | bytes[at + 1]!;
    if (at + 2 + len > bytes.length) return null;
    out.push(bytes.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

// ---- Release statements ----

/** What a release entry states. */
export interface ReleaseStatement {
  readonly version: string;
  /** SHA-256 of the release's `sri-manifest.json`. */
  readonly manifestSha256: Uint8Array;
}

/** The entry bytes of the release `version` whose manifest has these bytes. */
export async function releaseStatement(version: string, manifest: Uint8Array): Promise<Uint8Array> {
  return utf8(`${STATEMENT_FORMAT}\nversion ${version}\nsri-manifest sha256-${toBase64(await sha256(manifest))}\n`);
}

/** Parses a `kms-release-v1` entry; null if it is not one. */
export function parseStatement(entry: Uint8Array): ReleaseStatement | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(entry);
  } catch {
    return null;
  }
  const m = /^kms-release-v1\nversion ([0-9A-Za-z._+-]{1,64})\nsri-manifest sha256-([A-Za-z0-9+/=]+)\n$/.exec(text);
  const hash = m ? fromBase64(m[2]!) : null;
  return m && hash && hash.length === 32 ? { version: m[1]!, manifestSha256: hash } : null;
}

// ---- The whole check ----

/** Which log to trust: its key and the witnesses that must cosign it. */
export interface LogTrust {
  /** The log's verifier key (`<origin>+<key id>+<base64(0x01 ‖ key)>`); its name is the origin. */
  key: string;
  /** Witness verifier keys (`cosignature/v1`, type 0x04). */
  witnesses?: readonly string[];
  /** How many of `witnesses` must cosign; default all of them (0 without witnesses). */
  quorum?: number;
}

/** What {@link verifyRelease} established. */
export interface VerifiedRelease {
  /** The signed checkpoint, verbatim: what to store as the last one trusted. */
  readonly signed: string;
  readonly checkpoint: Checkpoint;
  /** The index of the manifest's entry. */
  readonly index: number;
  /** The release version of that entry. */
  readonly version: string;
}

/**
 * Verifies that `manifest` is a release in the log: reads the checkpoint (signed by the log
 * key, cosigned by a quorum of witnesses), every entry at or below its size (they must hash
 * to its root), finds the manifest's statement, and checks that the last checkpoint trusted
 * (`stored`, a signed note, or null) is a prefix of this tree. `read` fetches a file of the
 * log by its path (`checkpoint`, `tile/entries/…`) and throws when it cannot.
 */
export async function verifyRelease(
  trust: LogTrust,
  manifest: Uint8Array,
  stored: string | null,
  read: (path: string) => Promise<Uint8Array>,
): Promise<VerifiedRelease> {
  const logKey = await parseVerifierKey(trust.key, ALG_ED25519);
  const witnesses = await Promise.all((trust.witnesses ?? []).map((w) => parseVerifierKey(w, ALG_COSIGNATURE_V1)));
  checkDistinct(witnesses);
  const quorum = trust.quorum ?? witnesses.length;
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    fail("InvalidLogConfig", `quorum ${quorum} of ${witnesses.length} witnesses`);
  }
  const get = async (path: string) => {
    try {
      return await read(path);
    } catch (e) {
      return fail("LogUnavailable", `cannot read ${path} of the log: ${String(e)}`);
    }
  };
  const signedBytes = await get("checkpoint");
  const { note, checkpoint } = await openCheckpoint(signedBytes, logKey);
  if (quorum > 0) {
    const got = await countCosignatures(note, witnesses);
    if (got < quorum) fail("QuorumNotMet", `cosigned by ${got} of the configured witnesses, ${quorum} needed`);
  }
  const entries: Uint8Array[] = [];
  for (let start = 0; start < checkpoint.size; start += TILE_WIDTH) {
    const width = Math.min(TILE_WIDTH, checkpoint.size - start);
    const path = entryBundlePath(start / TILE_WIDTH, width);
    const bundle = splitBundle(await get(path));
    if (!bundle || bundle.length !== width) fail("LogUnavailable", `${path} does not hold ${width} entries`);
    entries.push(...bundle!);
  }
  const leaves = await Promise.all(entries.map(leafHash));
  if (!equalBytes(await treeRoot(leaves), checkpoint.root)) {
    fail("LogUnavailable", `the ${checkpoint.size} entries do not hash to the signed root`);
  }
  const digest = await sha256(manifest);
  const index = entries.findIndex((e) => {
    const s = parseStatement(e);
    return s !== null && equalBytes(s.manifestSha256, digest);
  });
  if (index < 0) fail("NotInLog", `no release in the log names sri-manifest sha256-${toBase64(digest)}`);
  if (stored !== null) {
    const old = (await openCheckpoint(utf8(stored), logKey)).checkpoint;
    if (old.size > checkpoint.size) {
      fail("Rollback", `the log has ${checkpoint.size} entries, but a checkpoint of ${old.size} was trusted before`);
    }
    if (!equalBytes(await treeRoot(leaves, old.size), old.root)) {
      fail("Fork", `the log does not extend the checkpoint of ${old.size} entries trusted before`);
    }
  }
  const version = parseStatement(entries[index]!)!.version;
  return { signed: new TextDecoder("utf-8", { ignoreBOM: true }).decode(signedBytes), checkpoint, index, version };
}
