//! `cargo xtask demo`: builds the enclave and the demo PWA, serves them on two origins and
//! says what to open. The PWA's origins also send Web Push messages (`POST /push/send`,
//! through `kms-relay push send`). `--headless` drives the same demo in headless Chromium
//! and prints its transcript, then shows a push message arriving in headless Firefox from a
//! local push service (`kms-pushd`); `--https` serves the browser suite's https layout
//! instead of plain http on `*.localhost`; `--native` runs the key service's walkthrough
//! without a browser.

use std::sync::Arc;

use anyhow::Result;

use crate::cmd::{command, exec, root, target_dir};
use crate::engines::{self, Engine};
use crate::push::PushSender;
use crate::setup;
use crate::site::{self, Layout, Role};

/// `cargo xtask demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Drive the demo in headless Chromium and print its transcript, then show a push
    /// message arriving in headless Firefox.
    #[arg(long)]
    headless: bool,
    /// Serve the browser suite's https layout (`*.kms.test`) instead of http `*.localhost`.
    #[arg(long)]
    https: bool,
    /// Run the key service's walkthrough natively, without a browser.
    #[arg(long, conflicts_with_all = ["headless", "https"])]
    native: bool,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    if args.native {
        return native();
    }
    let headless = args.headless;
    let layout = if args.https {
        Layout::Https
    } else {
        Layout::Localhost
    };
    if headless {
        setup::chromium()?;
        Engine::Firefox.install()?;
    }
    site::build(layout)?;
    // The push sender, and for the headless demo the local push service Firefox uses.
    exec(&mut command(
        "cargo",
        &[
            "build",
            "--quiet",
            "--locked",
            "-p",
            "kms-relay",
            "-p",
            "kms-pushd",
            "--bins",
        ],
    ))?;
    let debug = target_dir().join("debug");
    let sender = PushSender::new(debug.join("kms-relay"));
    let served = site::serve_with(layout, Some(Arc::new(sender)))?;
    let app = format!("{}/", layout.origin(Role::App));
    println!();
    println!("  demo PWA   {app}");
    println!(
        "  enclave    {}/  (embedded by the PWA; its own host)",
        layout.origin(Role::Enclave)
    );
    println!();
    match (&served.spki_sha256, layout.host_rules()) {
        (Some(spki), Some(rules)) => println!(
            "  https on *.kms.test, resolved to loopback only by the browser's host rules, with a\n  \
             certificate made now. Open it in a Chromium of its own (the flags trust exactly\n  \
             this certificate's key):\n\n    \
             chromium --user-data-dir=\"$(mktemp -d)\" --host-resolver-rules=\"{rules}\" \\\n      \
             --ignore-certificate-errors-spki-list={spki} {app}"
        ),
        _ => println!(
            "  Two hosts under one registrable domain, as in a deployment: the PWA cannot use the\n  \
             enclave's passkey rpId. `*.localhost` resolves to loopback in Chromium and Firefox;\n  \
             this serves plain http (a secure context only on *.localhost), not https. The\n  \
             browser suite runs the deployment's layout instead (https on *.kms.test, a\n  \
             certificate made at start-up): `cargo xtask demo --https` serves that one."
        ),
    }
    println!();
    if headless {
        let e2e = setup::npm("e2e")?;
        let mut c = command("node", &["demo-headless.mjs"]);
        served.apply(&mut c);
        c.current_dir(&e2e).env("CHROMIUM", setup::CHROMIUM);
        exec(&mut c)?;
        let mut c = command("node", &["demo-push.mjs"]);
        served.apply(&mut c);
        c.current_dir(&e2e)
            .env("KMS_ENGINE", Engine::Firefox.name())
            .env("FIREFOX", engines::FIREFOX)
            .env("GECKODRIVER", engines::geckodriver()?)
            .env("PUSHD_BIN", debug.join("kms-pushd"));
        return exec(&mut c);
    }
    println!("Open the demo PWA in a browser. Ctrl-C stops the servers.");
    loop {
        std::thread::park();
    }
}

fn native() -> Result<()> {
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
