//! `cargo xtask demo`: builds the enclave and the demo PWA, serves them on two origins and
//! says what to open. `--headless` drives the same demo in headless Chromium and prints
//! its transcript; `--native` runs the key service's walkthrough without a browser.

use crate::cmd::{command, exec, root};
use crate::setup;
use crate::site::{self, APP_HOST, APP_PORT, ENCLAVE_HOST, ENCLAVE_PORT};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut headless = false;
    for a in args {
        match a.as_str() {
            "--headless" => headless = true,
            "--native" => return native(),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if headless {
        setup::chromium()?;
    }
    site::build()?;
    site::serve()?;
    println!();
    println!("  demo PWA   http://{APP_HOST}:{APP_PORT}/");
    println!(
        "  enclave    http://{ENCLAVE_HOST}:{ENCLAVE_PORT}/  (embedded by the PWA; its own host)"
    );
    println!();
    println!(
        "  Two hosts under one registrable domain, as in a deployment: the PWA cannot use the\n  \
         enclave's passkey rpId. `*.localhost` resolves to loopback in Chromium and Firefox;\n  \
         the demo serves plain http (a secure context only on *.localhost), not https."
    );
    println!();
    if headless {
        let e2e = setup::npm("e2e")?;
        let mut c = command("node", &["demo-headless.mjs"]);
        c.current_dir(e2e)
            .env("KMS_APP_URL", format!("http://{APP_HOST}:{APP_PORT}/"))
            .env("CHROMIUM", setup::CHROMIUM);
        return exec(&mut c);
    }
    println!("Open the demo PWA in a browser. Ctrl-C stops the servers.");
    loop {
        std::thread::park();
    }
}

fn native() -> Result<(), String> {
    let mut c = command(
        "cargo",
        &[
            "run",
            "--quiet",
            "--locked",
            "--release",
            "-p",
            "kms-core",
            "--example",
            "walkthrough",
        ],
    );
    c.current_dir(root());
    exec(&mut c)
}
