// The client SDK: mounts the enclave iframe, performs the handshake and exposes the RPC as
// typed methods. The request and response types, and which reply each method gives, are
// generated from the Rust method table (`generated/rpc.ts`); nothing here restates them.

import {
  RPC_VERSION,
  RESULT_TYPE,
  CEREMONY_RESULT_TYPE,
  type ErrorBody,
  type Bytes,
  type Reply,
  type Response,
  type ResponseOf,
  type Method,
  type ParamsOf,
  type ResultOf,
  type MethodInfo,
  type Envelope,
  type SignedPrekey,
  type Ceremony,
  type CeremonyResultOf,
} from "./generated/rpc.js";
import { KmsError } from "./errors.js";
import { verifyRelease, type LogTrust } from "./tlog.js";

export * from "./generated/rpc.js";

export { KmsError, type ClientErrorCode } from "./errors.js";
export { MAX_LOG_SIZE, type LogTrust } from "./tlog.js";

/** The release transparency log a page checks the enclave against ({@link KmsOptions.log}). */
export interface LogOptions extends LogTrust {
  /** URL of the log's directory (C2SP tlog-tiles: `checkpoint`, `tile/entries/…`). */
  url: string;
}

/** Options of {@link createKms}. */
export interface KmsOptions {
  /** URL of the enclave page, on its own origin of the same site. */
  enclaveUrl: string;
  /** Where to mount the (invisible) iframe; default `document.body`. */
  container?: HTMLElement;
  /** Per-request timeout; default 30 s (passkey ceremonies get 5 minutes). */
  timeoutMs?: number;
  /** How long to wait for the enclave's `link`; default 15 s. */
  handshakeTimeoutMs?: number;
  /** Called with every frame sent and received (debugging, auditing the traffic). */
  trace?: (direction: "send" | "receive", frame: unknown) => void;
  /**
   * Pins the release: the SRI hash (`sha384-…`) of the enclave page, `page.sri` of its
   * `sri-manifest.json`. The page is fetched and hashed first, and the SDK refuses to mount
   * it (`IntegrityMismatch`) unless the hash matches; the page in turn pins every script and
   * the wasm with SRI. The iframe then also requires, through CSP Embedded Enforcement (its
   * `csp` attribute, where supported), that the enclave runs no script but its own files and
   * the page's inline import map.
   */
  expectedPageHash?: string;
  /**
   * Checks the release in its transparency log before mounting: the log's `checkpoint` must
   * be signed by `key` and cosigned by `quorum` of `witnesses`; the enclave's
   * `sri-manifest.json` (next to the page) must be one of the log's entries; the log must
   * extend the checkpoint this origin stored before (else `Rollback` or `Fork`); and the page
   * must have the manifest's page hash (`IntegrityMismatch`). Only then is the checkpoint
   * stored (`localStorage`, under `kms-log-checkpoint:<log origin>`) and the frame mounted,
   * pinned to that page hash as with {@link expectedPageHash}.
   */
  log?: LogOptions;
}

/** What the enclave reported when it linked. */
export interface EnclaveInfo {
  storageAvailable: boolean;
  deviceKeyAvailable: boolean;
  schemaVersion: number;
  rpcVersion: number;
  /**
   * Where the enclave runs each kind of key operation in this browser: WebCrypto (with a
   * non-extractable key) or WebAssembly (the pure-Rust reference), found out once at start.
   */
  engines: { pbkdf2: Engine; es256: Engine; eddsa: Engine };
  /** What this browser offers the enclave, found by trying it (never by user agent). */
  platform: Platform;
}

/** What the enclave found this browser to offer when it opened. */
export interface Platform {
  /** The WebCrypto algorithms this browser has. */
  webCrypto: { pbkdf2: boolean; ecdsaP256: boolean; ed25519: boolean; x25519: boolean };
  /**
   * Whether a non-extractable `CryptoKey` (the passkey gate's device key) comes back from
   * IndexedDB; `null` without storage. Without it the passkey gate answers `Unsupported`;
   * passphrase and passkey-PRF unlock keep working (keys are stored as wrapped bytes).
   */
  storedCryptoKeys: boolean | null;
  /**
   * `navigator.storage.persisted()`: `"bestEffort"` storage may be evicted (Safari deletes
   * it after seven days without a visit), so offer the user a backup.
   */
  persistentStorage: "persisted" | "bestEffort" | "unsupported";
}

/** Where the enclave runs a kind of key operation. */
export type Engine = "webCrypto" | "wasm";

type ResponseType = Response["type"];

/** The arguments of {@link Kms.call} for method `M`: its params, none if it takes none. */
type CallArgs<M extends Method> =
  ParamsOf<M> extends undefined ? [params?: undefined] : [params: ParamsOf<M>];

/**
 * Ceremonies the page can ask the enclave's own UI to run (types generated from Rust). The
 * page passes a hint or a label, never a credential: the user types the passphrase or uses
 * the passkey inside the enclave frame.
 */
type CeremonyMethod = Ceremony["method"];
type CeremonyParams<M extends CeremonyMethod> =
  Extract<Ceremony, { method: M }> extends { params: infer P } ? P : undefined;

/** Options of the ceremonies that show a form. */
export interface PromptOptions {
  /** A short text the enclave shows above its form, marked as this page's words. */
  hint?: string;
}

interface PasskeyOptions {
  /** A label for the unlock method. */
  label?: string;
  /** The user name shown by the authenticator. */
  userName?: string;
}

interface Pending {
  resolve(r: Response): void;
  reject(e: KmsError): void;
  timer: ReturnType<typeof setTimeout>;
}

const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000;
const HIDDEN_FRAME = "position:absolute;width:0;height:0;border:0;visibility:hidden";
const VISIBLE_FRAME =
  "position:fixed;z-index:2147483647;left:calc(50% - 12rem);top:calc(30% - 5.1rem);" +
  "width:24rem;height:17rem;border:1px solid #8a94a6;border-radius:.5rem;" +
  "box-shadow:0 .5rem 2rem rgba(0,0,0,.3);background:#fff;visibility:visible";

/** A linked enclave. */
export class Kms {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /** @internal use {@link createKms} */
  constructor(
    private readonly port: MessagePort,
    private readonly iframe: HTMLIFrameElement,
    /** What the enclave reported when it linked. */
    readonly info: EnclaveInfo,
    private readonly timeoutMs: number,
    private readonly trace?: KmsOptions["trace"],
  ) {
    port.onmessage = (e: MessageEvent) => {
      this.trace?.("receive", e.data);
      this.onReply(e.data);
    };
  }

  /**
   * Calls `method`: resolves to its result (typed from the generated method table, and
   * checked at run time against {@link RESULT_TYPE}: another reply rejects with
   * `UnexpectedReply`). The wrappers below name the methods; this reaches every one.
   */
  call<M extends Method>(method: M, ...[params]: CallArgs<M>): Promise<ResultOf<M>> {
    const type: ResponseType = RESULT_TYPE[method];
    return this.expect(type, this.send(method, params, this.timeoutMs)) as Promise<ResultOf<M>>;
  }

  private send(method: string, params: unknown, timeoutMs: number): Promise<Response> {
    if (this.closed) return Promise.reject(new KmsError("Closed", "the enclave connection is closed"));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new KmsError("Timeout", `${method}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const frame: Record<string, unknown> = { v: RPC_VERSION, id, method };
      if (params !== undefined) frame["params"] = params;
      this.trace?.("send", frame);
      this.port.postMessage(frame);
    });
  }

  private onReply(data: unknown): void {
    const reply = data as Reply;
    if (!reply || typeof reply !== "object" || typeof reply.id !== "number") return;
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    if ("ok" in reply) p.resolve(reply.ok);
    else p.reject(toError((reply as { err: ErrorBody }).err));
  }

  private async expect<T extends ResponseType>(
    type: T,
    pending: Promise<Response>,
  ): Promise<ResponseOf<T>> {
    const r = await pending;
    if (r.type !== type) throw new KmsError("UnexpectedReply", `expected ${type}, got ${r.type}`);
    return r as ResponseOf<T>;
  }

  private ceremony<M extends CeremonyMethod>(
    method: M,
    params: CeremonyParams<M>,
  ): Promise<CeremonyResultOf<M>> {
    // The enclave asks the user inside its own frame (a trusted click there while it is
    // visible), so the frame is shown while the ceremony runs.
    const hidden = this.iframe.style.cssText;
    this.iframe.style.cssText = VISIBLE_FRAME;
    const type: ResponseType = CEREMONY_RESULT_TYPE[method];
    const reply = this.expect(type, this.send(method, params, CEREMONY_TIMEOUT_MS)).finally(() => {
      this.iframe.style.cssText = hidden;
    });
    return reply as Promise<CeremonyResultOf<M>>;
  }

  /**
   * Embedded from another site, the enclave has no storage (`info.storageAvailable` is
   * false and requests fail with `StorageBlocked`). This asks the user, inside the enclave,
   * to grant it storage access (Storage Access API); it rejects with `StorageBlocked` when
   * the browser or the user refuses.
   */
  async requestStorageAccess(): Promise<void> {
    await this.ceremony("storage.requestAccess", undefined);
  }

  /** Round trip without any work in the enclave. */
  async ping(): Promise<void> {
    await this.call("ping");
  }

  /** Whether the enclave is set up and unlocked, and its unlock methods. */
  status(): Promise<ResponseOf<"status">> {
    return this.call("status");
  }

  /**
   * First use: the enclave shows its own form, where the user chooses a passphrase (this
   * page never sees it); resolves when the enclave is set up and unlocked.
   */
  setup(options: PromptOptions = {}): Promise<ResponseOf<"unlocked">> {
    return this.ceremony("ui.setup", options);
  }

  /** Wipes the key-encryption key and every unwrapped key from the enclave's memory. */
  async lock(): Promise<void> {
    await this.call("lock");
  }

  /**
   * Unlocking, in the enclave's own UI: `kms.unlock()` shows its form (the passphrase, or
   * a passkey); `kms.unlock.passkey()` and `kms.unlock.gate()` go straight to a passkey.
   */
  readonly unlock = Object.assign(
    (options: PromptOptions = {}) => this.ceremony("ui.unlock", options),
    {
      /** With a passkey's PRF output; the ceremony runs inside the enclave. */
      passkey: () => this.ceremony("passkey.unlockPrf", undefined),
      /** With a passkey assertion (gate): opens a 5-minute session. */
      gate: () => this.ceremony("passkey.unlockGate", undefined),
      /**
       * With a passphrase this page holds. Weaker, and refused (`NotPermitted`) unless the
       * enclave's deployment sets `pagePassphraseUnlock`: a compromised page records it.
       */
      passphrase: (passphrase: string) =>
        this.call("unlock.passphrase", { passphrase }),
    },
  );

  /** Unlock methods. */
  readonly methods = {
    list: (): Promise<MethodInfo[]> =>
      this.call("methods.list").then((r) => r.methods),
    /** Adds a method of `kind` in the enclave's UI (the user confirms with a current one). */
    add: (kind: "passphrase" | "passkey" | "gate", options: PasskeyOptions = {}) =>
      kind === "passphrase"
        ? this.methods.addPassphrase(options)
        : kind === "passkey"
          ? this.methods.addPasskey(options)
          : this.methods.addGate(options),
    /** The user adds a passphrase in the enclave's form. */
    addPassphrase: (options: { label?: string } = {}) =>
      this.ceremony("ui.addPassphrase", { label: options.label }).then((r) => r.method),
    /** The user types a new passphrase for `methodId` in the enclave's form. */
    changePassphrase: (methodId: string) =>
      this.ceremony("ui.changePassphrase", { methodId }).then(() => undefined),
    /** Registers a passkey and adds a PRF unlock method (needs the enclave unlocked). */
    addPasskey: (options: PasskeyOptions = {}) =>
      this.ceremony("passkey.addPrf", options).then((r) => r.method),
    /** Registers a passkey gate (needs the enclave unlocked and a device key). */
    addGate: (options: PasskeyOptions = {}) =>
      this.ceremony("passkey.addGate", options).then((r) => r.method),
    /** The user confirms removing `methodId` in the enclave's UI (never the last one). */
    remove: (methodId: string) =>
      this.ceremony("ui.removeMethod", { methodId }).then(() => undefined),
  };

  /** The caller's keys (public data only). */
  readonly keys = {
    list: () => this.call("keys.list").then((r) => r.keys),
    delete: (keyId: string) =>
      this.call("keys.delete", { keyId }).then(() => undefined),
  };

  /** Web Push (VAPID, RFC 8292). */
  readonly vapid = {
    /** The `applicationServerKey` for `pushManager.subscribe`. */
    publicKey: () => this.call("vapid.publicKey"),
    /** A signed `Authorization: vapid t=…, k=…` header for a push service origin. */
    authorization: (params: ParamsOf<"vapid.authorization">) =>
      this.call("vapid.authorization", params),
    rotate: () => this.call("vapid.rotate"),
  };

  /** Relay authorization tokens. */
  readonly relay = {
    createKey: (params: ParamsOf<"relay.createKey">) =>
      this.call("relay.createKey", params),
    token: (params: ParamsOf<"relay.token">) => this.call("relay.token", params),
    jwks: () => this.call("relay.jwks").then((r) => r.jwks),
  };

  /** Signal identity and prekeys. */
  readonly signal = {
    bundle: (params: ParamsOf<"signal.bundle"> = {}) =>
      this.call("signal.bundle", params).then((r) => r.bundle),
    oneTimePrekeys: () =>
      this.call("signal.oneTimePrekeys").then((r) => r.prekeys),
    replenish: (params: ParamsOf<"signal.replenish"> = {}) =>
      this.call("signal.replenish", params),
    rotateSignedPrekey: () =>
      this.call("signal.rotateSignedPrekey"),
    /**
     * An identity-key signature over this page's own `message`, under the page-signature
     * domain (bound to this page's origin; it certifies no key). Check it with
     * {@link verifyPageSignature}.
     */
    sign: (message: Bytes) =>
      this.call("signal.sign", { message }).then((r) => r.signature),
    /**
     * Starts a session with a peer device from its prekey bundle. A first identity key for
     * the address is stored unconfirmed (`trust: "unconfirmed"`): nothing is encrypted to
     * it until the user confirms it ({@link trust}). Another key for a known address is
     * refused (`UntrustedIdentity`) until the user accepts it the same way.
     */
    startSession: (params: ParamsOf<"signal.startSession">) =>
      this.call("signal.startSession", params),
    /**
     * Encrypts `plaintext` to `address` with the session: `{message, messageType}` to hand to
     * the transport (type 3 until the peer answers, then 2). The ratchet keys stay in the
     * enclave. Fails with `UntrustedIdentity` until the user confirmed the address's
     * identity key ({@link trust}).
     */
    encrypt: (params: ParamsOf<"signal.encrypt">) =>
      this.call("signal.encrypt", params).then(({ message, messageType }) => ({
        message,
        messageType,
      })),
    /**
     * Decrypts a message from `address`; `plaintext` is base64url (see {@link fromBase64Url}).
     * A replay, or a message another tab already decrypted, fails with `DuplicateMessage`;
     * a failed message changes nothing stored.
     */
    decrypt: (params: ParamsOf<"signal.decrypt">) => this.call("signal.decrypt", params),
    /** The shard's sessions: addresses and public data only. */
    sessions: () => this.call("signal.sessions").then((r) => r.sessions),
    /** Deletes the sessions with `address` (the trusted identity key stays). */
    deleteSession: (address: ParamsOf<"signal.deleteSession">["address"]) =>
      this.call("signal.deleteSession", { address }).then(() => undefined),
    /** The identity key stored for `address`, and how far the user trusts it. */
    identity: (address: ParamsOf<"signal.identity">["address"]) =>
      this.call("signal.identity", { address }),
    /**
     * The user decides, in the enclave's UI, whether to trust `address`'s identity key: the
     * stored one, or `identityKey` after an identity change. The enclave shows the safety
     * number of `localName` and `remoteName` and the user clicks "Trust" or "Numbers match"
     * (verified); resolves to the identity as now trusted, or fails if the user cancels.
     */
    trust: (params: CeremonyParams<"ui.trust">) => this.ceremony("ui.trust", params),
    /** The 60-digit safety number (and QR bytes) of our identity and the one stored for `address` (or `identityKey`). */
    safetyNumber: (params: ParamsOf<"signal.safetyNumber">) =>
      this.call("signal.safetyNumber", params),
  };

  /** Sealed envelopes to one-time prekeys (the pre-key vending machine's keys). */
  readonly envelope = {
    /** Generates `count` one-time prekeys, signed by the identity key, for upload. */
    prekeys: (params: ParamsOf<"envelope.prekeys">) =>
      this.call("envelope.prekeys", params),
    /** The epoch prekey senders fall back to when the vending service is exhausted. */
    epochKey: (params: ParamsOf<"envelope.epochKey"> = {}) =>
      this.call("envelope.epochKey", params),
    /** Opens an envelope sealed to one of this shard's prekeys; a one-time key is shredded. */
    open: (envelope: Envelope) => this.call("envelope.open", { envelope }),
    /**
     * Seals a message to a vended prekey after verifying its owner's signature (no key of
     * this enclave is involved).
     */
    seal: async (params: {
      identityKey: string;
      prekey: SignedPrekey;
      plaintext: string | Uint8Array;
    }): Promise<Envelope> => {
      const r = (await this.send("envelope.seal", params, this.timeoutMs)) as unknown as {
        type: string;
        envelope?: Envelope;
      };
      if (r.type !== "envelopeSealed" || !r.envelope) {
        throw new KmsError("UnexpectedReply", `expected envelopeSealed, got ${r.type}`);
      }
      return r.envelope;
    },
  };

  /** The hash-chained audit log of the caller's shard. */
  readonly audit = {
    export: () => this.call("audit.export"),
    verify: () => this.call("audit.verify"),
  };

  /** Says goodbye, rejects pending requests and removes the iframe. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.port.postMessage({ kms: "bye" });
    } catch {
      // the port may already be gone
    }
    this.port.close();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new KmsError("Closed", "the enclave connection was closed"));
    }
    this.pending.clear();
    this.iframe.remove();
  }
}

/** Label of the page-signature domain (`kms-core`'s `signal::page_signature::LABEL`). */
export const PAGE_SIGNATURE_LABEL = "kms:page-signature:v1";

const P = (1n << 255n) - 19n;

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** Decodes base64url (unpadded, as the enclave writes it), e.g. a decrypted `plaintext`. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesOf(b: Bytes): Uint8Array {
  if (typeof b !== "string") return b;
  const s = atob(b.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** `canonical(label, fields)`: each field as a 32-bit big-endian length and its bytes. */
function canonical(label: string, fields: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const parts = [new TextEncoder().encode(label), ...fields];
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/**
 * Checks a `signal.sign` signature: XEdDSA by `identityKey` (base64url `0x05 ‖ u`, as in
 * the bundle) over `canonical("kms:page-signature:v1", [origin, message])`. Verified with
 * WebCrypto's Ed25519 after converting the Montgomery key (the sign bit travels in the
 * signature's last byte, as libsignal does). Resolves to false for anything invalid.
 */
export async function verifyPageSignature(params: {
  identityKey: string;
  origin: string;
  message: Bytes;
  signature: Bytes;
}): Promise<boolean> {
  const key = bytesOf(params.identityKey);
  const sig = Uint8Array.from(bytesOf(params.signature));
  if (key.length !== 33 || key[0] !== 5 || sig.length !== 64) return false;
  let u = 0n;
  for (let i = 32; i >= 1; i--) u = (u << 8n) | BigInt(key[i]!);
  if (u >= P || (u + 1n) % P === 0n) return false;
  // Edwards y = (u - 1) / (u + 1) mod p.
  let y = (((u - 1n + P) % P) * modPow(u + 1n, P - 2n, P)) % P;
  const ed = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    ed[i] = Number(y & 0xffn);
    y >>= 8n;
  }
  ed[31] = (ed[31]! & 0x7f) | (sig[63]! & 0x80);
  sig[63] = sig[63]! & 0x7f;
  const signed = canonical(PAGE_SIGNATURE_LABEL, [new TextEncoder().encode(params.origin), Uint8Array.from(bytesOf(params.message))]);
  try {
    const k = await crypto.subtle.importKey("raw", ed, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, k, sig, signed);
  } catch {
    return false;
  }
}

function toError(e: ErrorBody): KmsError {
  return new KmsError(e.code, e.message, e.retryAfterMs);
}

/**
 * Mounts the enclave iframe and links to it.
 *
 * Rejects with `HandshakeFailed` when the enclave does not answer (this page's origin is
 * not on its allow list, the page was not found) or refuses. With `expectedPageHash` or
 * `log`, the release is checked before anything is mounted: a refusal (`IntegrityMismatch`,
 * `NotInLog`, `QuorumNotMet`, `Rollback`, `Fork`, `LogUnavailable`, `LogTooLarge`,
 * `InvalidLogConfig`) leaves no frame behind.
 */
export async function createKms(options: KmsOptions): Promise<Kms> {
  const url = new URL(options.enclaveUrl, location.href);
  if (url.origin === location.origin) {
    throw new KmsError("HandshakeFailed", "the enclave must be served from its own origin");
  }
  let pageHash = options.expectedPageHash;
  let trustCheckpoint: (() => void) | undefined;
  if (options.log) {
    const logged = await verifyLogged(url, options.log);
    if (pageHash !== undefined && pageHash !== logged.pageHash) {
      throw new KmsError("IntegrityMismatch", `the logged release has page ${logged.pageHash}, not the pinned ${pageHash}`);
    }
    pageHash = logged.pageHash;
    trustCheckpoint = logged.trust;
  }
  const requiredCsp = pageHash === undefined ? null : await checkPage(url, pageHash);
  trustCheckpoint?.();
  const iframe = document.createElement("iframe");
  if (requiredCsp) iframe.setAttribute("csp", requiredCsp);
  iframe.src = url.href;
  iframe.setAttribute("sandbox", "allow-scripts allow-same-origin");
  iframe.setAttribute("allow", "publickey-credentials-get; publickey-credentials-create");
  iframe.setAttribute("referrerpolicy", "no-referrer");
  iframe.title = "Key enclave";
  iframe.style.cssText = HIDDEN_FRAME;
  const loaded = new Promise<void>((resolve) => iframe.addEventListener("load", () => resolve(), { once: true }));
  (options.container ?? document.body).appendChild(iframe);
  const timeout = options.handshakeTimeoutMs ?? 15_000;
  try {
    await withTimeout(loaded, timeout, "the enclave page did not load");
    const channel = new MessageChannel();
    const linked = new Promise<EnclaveInfo>((resolve, reject) => {
      channel.port1.onmessage = (e: MessageEvent) => {
        const m = e.data as { kms?: string; code?: string; message?: string } & EnclaveInfo;
        if (m && m.kms === "link") resolve(m);
        else if (m && m.kms === "refused") reject(new KmsError("HandshakeFailed", `${m.code}: ${m.message}`));
      };
    });
    const target = iframe.contentWindow;
    if (!target) throw new KmsError("HandshakeFailed", "the enclave frame has no window");
    target.postMessage({ kms: "hello", v: RPC_VERSION }, url.origin, [channel.port2]);
    const info = await withTimeout(linked, timeout, "the enclave did not link (is this origin allowed?)");
    return new Kms(channel.port1, iframe, info, options.timeoutMs ?? 30_000, options.trace);
  } catch (e) {
    iframe.remove();
    throw e instanceof KmsError ? e : new KmsError("HandshakeFailed", String(e));
  }
}

const NO_CREDENTIALS: RequestInit = { credentials: "omit", cache: "no-store", redirect: "error" };

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const r = await fetch(url.href, NO_CREDENTIALS);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The `localStorage` key of the last checkpoint trusted for the log named `origin`. */
const storageKey = (origin: string) => `kms-log-checkpoint:${origin}`;

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * Verifies the enclave's release in the log (see {@link KmsOptions.log}); returns the page
 * hash its manifest names and a function that stores the checkpoint as trusted.
 */
async function verifyLogged(enclave: URL, log: LogOptions): Promise<{ pageHash: string; trust: () => void }> {
  let manifest: Uint8Array;
  let pageHash: unknown;
  try {
    manifest = await fetchBytes(new URL("sri-manifest.json", enclave));
    pageHash = (JSON.parse(new TextDecoder().decode(manifest)) as { page?: { sri?: unknown } }).page?.sri;
  } catch (e) {
    throw new KmsError("IntegrityMismatch", `cannot read the enclave's sri-manifest.json: ${String(e)}`);
  }
  if (typeof pageHash !== "string" || !pageHash.startsWith("sha384-")) {
    throw new KmsError("IntegrityMismatch", "the enclave's sri-manifest.json names no page hash");
  }
  const base = new URL(log.url.endsWith("/") ? log.url : `${log.url}/`, location.href);
  const origin = log.key.slice(0, Math.max(0, log.key.indexOf("+")));
  let stored: string | null = null;
  try {
    stored = storage()?.getItem(storageKey(origin)) ?? null;
  } catch {
    // no storage: nothing was trusted before
  }
  const verified = await verifyRelease(log, manifest, stored, (path) => fetchBytes(new URL(path, base)));
  return {
    pageHash,
    trust: () => {
      try {
        storage()?.setItem(storageKey(verified.checkpoint.origin), verified.signed);
      } catch {
        // storage blocked or full: the next visit checks no history
      }
    },
  };
}

function sri(algorithm: "SHA-256" | "SHA-384", digest: ArrayBuffer): string {
  let binary = "";
  for (const b of new Uint8Array(digest)) binary += String.fromCharCode(b);
  return `${algorithm.replace("-", "").toLowerCase()}-${btoa(binary)}`;
}

/**
 * Fetches the enclave page and checks it against the pinned SRI hash; returns the policy the
 * iframe must enforce: the enclave's scripts, pinned to the hashes of the page's inline
 * import maps.
 */
async function checkPage(url: URL, expected: string): Promise<string> {
  let bytes: ArrayBuffer;
  try {
    const r = await fetch(url.href, NO_CREDENTIALS);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    bytes = await r.arrayBuffer();
  } catch (e) {
    throw new KmsError("IntegrityMismatch", `cannot fetch the enclave page to check it: ${String(e)}`);
  }
  const got = sri("SHA-384", await crypto.subtle.digest("SHA-384", bytes));
  if (got !== expected) {
    throw new KmsError("IntegrityMismatch", `the enclave page is not the pinned release: expected ${expected}, got ${got}`);
  }
  const hashes: string[] = [];
  const text = new TextDecoder().decode(bytes);
  for (const m of text.matchAll(/<script type="importmap">([^<]*)<\/script>/g)) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(m[1]));
    hashes.push(`'${sri("SHA-256", digest)}'`);
  }
  return ["script-src 'self' 'wasm-unsafe-eval'", ...hashes].join(" ");
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new KmsError("HandshakeFailed", what)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
