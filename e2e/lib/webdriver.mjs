// A small W3C WebDriver client (classic, over HTTP) for the engine suite: the same calls
// reach ChromeDriver, geckodriver and WebKitWebDriver, so one test drives Chromium, Firefox
// and WebKit. Playwright cannot drive Debian's Firefox or WebKit (it needs its own
// patched builds), and this is all the suite needs: navigate, run script, type and click
// in a frame, and the WebAuthn virtual authenticator.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

/** The engine under test: `chromium`, `firefox` or `webkit` (set by `cargo xtask e2e`). */
export const ENGINE = process.env.KMS_ENGINE || "chromium";

/** A W3C WebDriver error with its error code (`no such element`, …). */
export class WebDriverError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/**
 * Chromium's flags in every suite: no sandbox (root in CI containers), no GPU, and nothing
 * that reaches the network on its own (the test machines have none).
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The driver binary, its arguments for `port`, and the capabilities for `engine`. */
function driverFor(engine, port, { prefs = {} } = {}) {
  switch (engine) {
    case "chromium":
      return {
        bin: process.env.CHROMEDRIVER || "/usr/bin/chromedriver",
        args: [`--port=${port}`],
        capabilities: {
          browserName: "chrome",
          "goog:chromeOptions": {
            binary: process.env.CHROMIUM || "/usr/bin/chromium",
            args: ["--headless=new", ...CHROMIUM_ARGS],
          },
        },
      };
    case "firefox":
      return {
        bin: process.env.GECKODRIVER || "geckodriver",
        args: ["--port", String(port)],
        capabilities: {
          browserName: "firefox",
          "moz:firefoxOptions": {
            binary: process.env.FIREFOX || "/usr/bin/firefox-esr",
            args: ["-headless"],
            prefs: {
              "datareporting.policy.dataSubmissionEnabled": false,
              "browser.shell.checkDefaultBrowser": false,
              // WebAuthn answered by WebDriver's virtual authenticators, not USB tokens.
              "security.webauth.webauthn_enable_softtoken": true,
              "security.webauth.webauthn_enable_usbtoken": false,
              ...prefs,
            },
          },
        },
      };
    case "webkit":
      // WebKitWebDriver starts WebKitGTK's MiniBrowser on `DISPLAY` (an Xvfb of xtask's).
      return {
        bin: process.env.WEBKITWEBDRIVER || "/usr/bin/WebKitWebDriver",
        args: [`--port=${port}`],
        capabilities: {},
      };
    default:
      throw new Error(`unknown engine ${engine}`);
  }
}

/** One browser (a fresh profile) driven over WebDriver. */
export class Browser {
  /** Starts the engine's driver and a session; `prefs` are Firefox preferences. */
  static async start(engine = ENGINE, options = {}) {
    const port = await freePort();
    const { bin, args, capabilities } = driverFor(engine, port, options);
    const driver = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    driver.stderr.on("data", (d) => { log = (log + d).slice(-4000); });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`${base}/status`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || driver.exitCode !== null) {
        driver.kill();
        throw new Error(`${bin} did not start: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const browser = new Browser(engine, base, driver);
    const session = await browser.#send("POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    browser.session = session.sessionId;
    browser.capabilities = session.capabilities;
    await browser.#send("POST", browser.#path("/timeouts"), { script: 60_000, pageLoad: 60_000 });
    return browser;
  }

  constructor(engine, base, driver) {
    this.engine = engine;
    this.base = base;
    this.driver = driver;
  }

  #path(p) {
    return `/session/${this.session}${p}`;
  }

  async #send(method, path, body) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebDriverError("invalid response", `${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
    }
    if (!r.ok || json.value?.error) {
      throw new WebDriverError(json.value?.error ?? String(r.status), json.value?.message ?? text.slice(0, 200));
    }
    return json.value;
  }

  /** Sends a session command (for extensions the methods below do not name). */
  command(method, path, body) {
    return this.#send(method, this.#path(path), body);
  }

  /** Navigates the top-level browsing context to `url` and waits for its load. */
  goto(url) {
    return this.command("POST", "/url", { url });
  }

  /**
   * Runs `fn(...args)` in the current browsing context and resolves to its (awaited)
   * result; a thrown error comes back as a rejection with its message.
   */
  async evaluate(fn, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (${fn.toString()})(...arguments[0]))
        .then((value) => done({ value }), (e) => done({ error: String(e && e.stack || e) }));`;
    const out = await this.command("POST", "/execute/async", { script, args: [args] });
    if (out && "error" in out) throw new Error(`in the page: ${out.error}`);
    return out?.value;
  }

  /** Waits until `fn(...args)` is truthy in the current context; resolves to its value. */
  async waitFor(fn, args = [], { timeoutMs = 15_000, what = "condition" } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate(fn, ...args).catch(() => undefined);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Elements matching `css` in the current browsing context. */
  async findAll(css) {
    const found = await this.command("POST", "/elements", { using: "css selector", value: css });
    return found.map((e) => e[ELEMENT]);
  }

  /** A real click on `element` (the driver's input, `isTrusted` in the page). */
  click(element) {
    return this.command("POST", `/element/${element}/click`, {});
  }

  /**
   * Types `text` into `element` after clearing it. WebKitWebDriver refuses to send keys to
   * an input in a cross-origin frame ("not focusable"); there the input is clicked (which
   * focuses it, as a person's click does) and the keys go through the actions API.
   */
  async type(element, text) {
    try {
      await this.command("POST", `/element/${element}/clear`, {});
      return await this.command("POST", `/element/${element}/value`, { text });
    } catch (e) {
      if (e.code !== "element not interactable") throw e;
    }
    await this.click(element);
    const keys = [...text].flatMap((value) => [{ type: "keyDown", value }, { type: "keyUp", value }]);
    await this.command("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions: keys }] });
    return this.command("DELETE", "/actions");
  }

  /** The element's rendered text. */
  text(element) {
    return this.command("GET", `/element/${element}/text`);
  }

  /** Enters the frame `element` of the current context (null: the top-level context). */
  frame(element) {
    return this.command("POST", "/frame", { id: element === null ? null : { [ELEMENT]: element } });
  }

  /**
   * Adds a virtual CTAP2 authenticator (WebDriver's WebAuthn extension): internal, resident
   * keys, user verification, and PRF (`hmac-secret`). ChromeDriver takes PRF as the
   * extension `prf`; geckodriver's authenticator has it without asking (and fails every
   * ceremony when asked for `prf`). Resolves to its id, or rejects with the driver's error
   * where the engine has no virtual authenticator.
   */
  addVirtualAuthenticator(options = {}) {
    return this.command("POST", "/webauthn/authenticator", {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserConsenting: true,
      isUserVerified: true,
      ...(this.engine === "chromium" ? { extensions: ["prf"] } : {}),
      ...options,
    });
  }

  /** Ends the session and stops the driver. */
  async quit() {
    try {
      if (this.session) await this.#send("DELETE", this.#path(""));
    } catch {
      // the browser may already be gone
    } finally {
      this.driver.kill();
    }
  }
}
