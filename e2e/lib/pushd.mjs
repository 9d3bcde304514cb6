// A local push service for the tests and the headless demo: `kms-pushd` (from `PUSHD_BIN`)
// on free loopback ports, speaking Firefox's push WebSocket protocol on `ws` and taking
// senders' requests on `http`, each VAPID header checked as a push service does.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Starts kms-pushd known by `audience` (its VAPID `aud`); resolves to {ws, http, json, log, acks, stop}. */
export async function pushService(audience) {
  const child = spawn(process.env.PUSHD_BIN, ["--audience", audience], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => { log = (log + d).slice(-8000); });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`kms-pushd exited (${code}): ${log}`)));
  });
  const { ws, http } = JSON.parse(line);
  const json = async (path, init) => {
    const r = await fetch(`${http}${path}`, init);
    return r.status === 204 ? null : r.json();
  };
  return { ws, http, json, log: () => json("/log"), stop: () => child.kill(), stderr: () => log };
}

/** Firefox preferences that make `push` its push service. */
export function firefoxPushPrefs(push) {
  return {
    "dom.push.serverURL": push.ws,
    "dom.push.testing.allowInsecureServerURL": true,
    "permissions.default.desktop-notification": 1,
    // geckodriver's profile turns the push connection off.
    "dom.push.connection.enabled": true,
  };
}
