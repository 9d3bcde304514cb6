// Test harness for the browser suite: the SDK plus a raw handshake for sending frames the
// SDK would never send. Every received frame is recorded for the secret scan.
import { createKms, KmsError } from "./sdk/index.js";
import { ENCLAVE_URL as LAYOUT_ENCLAVE_URL } from "./layout.js";

const params = new URLSearchParams(location.search);
const ENCLAVE_URL = params.get("enclave") || LAYOUT_ENCLAVE_URL;
const received = [];

window.harness = {
  received,
  KmsError,
  async connect(options = {}) {
    const kms = await createKms({
      enclaveUrl: ENCLAVE_URL,
      handshakeTimeoutMs: 5000,
      trace: (dir, frame) => { if (dir === "receive") received.push(JSON.stringify(frame)); },
      ...options,
    });
    window.kms = kms;
    return kms.info;
  },
  /** Runs `kms.<path>(...args)` and returns {ok} or {code, message}. */
  async run(path, ...args) {
    let target = window.kms;
    const names = path.split(".");
    const last = names.pop();
    for (const n of names) target = target[n];
    try {
      return { ok: await target[last](...args) };
    } catch (e) {
      return { code: e.code ?? e.name, message: e.message };
    }
  },
  /** A handshake without the SDK; returns a function that sends one raw frame. */
  async rawLink() {
    const iframe = document.createElement("iframe");
    iframe.src = ENCLAVE_URL;
    iframe.setAttribute("sandbox", "allow-scripts allow-same-origin");
    const loaded = new Promise((r) => iframe.addEventListener("load", r, { once: true }));
    document.body.append(iframe);
    await loaded;
    const channel = new MessageChannel();
    const replies = [];
    let waiting = null;
    channel.port1.onmessage = (e) => {
      received.push(JSON.stringify(e.data));
      replies.push(e.data);
      if (waiting) { const w = waiting; waiting = null; w(); }
    };
    iframe.contentWindow.postMessage({ kms: "hello", v: 1 }, new URL(ENCLAVE_URL).origin, [channel.port2]);
    const next = async (ms = 5000) => {
      if (!replies.length) {
        await Promise.race([
          new Promise((r) => { waiting = r; }),
          new Promise((r) => setTimeout(r, ms)),
        ]);
      }
      return replies.shift() ?? null;
    };
    const link = await next();
    window.raw = {
      link,
      async send(frame, transfer = []) { channel.port1.postMessage(frame, transfer); return next(); },
    };
    return link;
  },
  /** Web Push through this page's Service Worker (push-sw.js). */
  push: {
    /** Payloads the Service Worker was woken with, in order. */
    received: [],
    /** What this browser has of the Push API. */
    support() {
      return {
        serviceWorker: "serviceWorker" in navigator,
        pushManager: typeof PushManager === "function",
        notification: typeof Notification === "function" ? Notification.permission : null,
      };
    },
    /**
     * Registers the Service Worker and subscribes with `applicationServerKey` (base64url):
     * {ok: PushSubscription.toJSON()} or {code: DOMException name, message}; a push
     * service that does not answer in `timeoutMs` gives {code: "TimeoutError"}.
     */
    async subscribe(applicationServerKey, timeoutMs = 20000) {
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve({ code: "TimeoutError", message: `no answer from the push service in ${timeoutMs} ms` }), timeoutMs);
      });
      return Promise.race([this.subscribeNow(applicationServerKey), timeout]).finally(() => clearTimeout(timer));
    },
    async subscribeNow(applicationServerKey) {
      try {
        const registration = await navigator.serviceWorker.register("push-sw.js");
        await navigator.serviceWorker.ready;
        const key = Uint8Array.from(atob(applicationServerKey.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
        const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        return { ok: subscription.toJSON() };
      } catch (e) {
        return { code: e.name, message: e.message };
      }
    },
  },
};
navigator.serviceWorker?.addEventListener("message", (e) => {
  if (e.data && "push" in e.data) window.harness.push.received.push(e.data.push);
});
document.getElementById("ready").textContent = "ready";
