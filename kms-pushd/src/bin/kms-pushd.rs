//! `kms-pushd`: the local push service (`kms-pushd --help`).
//!
//! ```text
//! kms-pushd [--ws-port 0] [--http-port 0] [--audience <origin>]
//! ```
//!
//! Prints one line on stdout once both ports listen,
//! `{"ws":"ws://127.0.0.1:P/","http":"http://127.0.0.1:Q"}`, then serves until killed;
//! what it does with each request goes to stderr.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use kms_pushd::Config;

/// A local Web Push service: Firefox's push WebSocket protocol and VAPID-checked delivery.
#[derive(Parser)]
#[command(name = "kms-pushd", version)]
struct Cli {
    /// WebSocket port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    ws_port: u16,
    /// HTTP port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    http_port: u16,
    /// The `aud` VAPID tokens must name (default: the HTTP origin, http://127.0.0.1:Q).
    #[arg(long, value_name = "ORIGIN")]
    audience: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = Config {
        ws_bind: SocketAddr::from(([127, 0, 0, 1], cli.ws_port)),
        http_bind: SocketAddr::from(([127, 0, 0, 1], cli.http_port)),
        audience: cli.audience,
    };
    let running = match kms_pushd::start(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "kms-pushd: {e}: {}",
                std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", running.startup_line())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    eprintln!(
        "kms-pushd: WebSocket {}, HTTP {}, VAPID aud {}",
        running.ws_url(),
        running.http_url(),
        running.audience()
    );
    running.join();
    ExitCode::SUCCESS
}
