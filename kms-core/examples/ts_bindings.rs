//! Prints the TypeScript declarations of the RPC types, for the client SDK.
//!
//! `cargo run -p kms-core --features ts --example ts_bindings > rpc.ts`
//! (`cargo xtask types` writes and checks the SDK's copy).

use kms_core::envelope::{Envelope, PrekeyUse, SignedPrekey};
use kms_core::error::{ErrorBody, ErrorCode};
use kms_core::jwk::{Jwk, Jwks};
use kms_core::rpc::ceremony::Ceremony;
use kms_core::rpc::frame::{Outcome, Reply};
use kms_core::rpc::{Bytes, RelayAlg, Request, SecretInput};
use kms_core::service::{KeyInfo, KeyKind, MethodInfo, OneTimePrekeyInfo, Protection, Response};
use kms_core::signal::bundle::PreKeyBundle;
use ts_rs::{Config, TS};

fn decl<T: TS>(cfg: &Config, out: &mut String) {
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

fn main() {
    // JavaScript numbers carry every integer the RPC uses (ids, millisecond times).
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust RPC types by `cargo xtask types`. Do not edit.\n\n",
    );
    out.push_str(&format!(
        "/** Protocol version of the RPC. */\nexport const RPC_VERSION = {};\n\n",
        kms_core::rpc::RPC_VERSION
    ));
    decl::<Bytes>(&cfg, &mut out);
    decl::<SecretInput>(&cfg, &mut out);
    decl::<RelayAlg>(&cfg, &mut out);
    decl::<Request>(&cfg, &mut out);
    decl::<Ceremony>(&cfg, &mut out);
    decl::<KeyKind>(&cfg, &mut out);
    decl::<KeyInfo>(&cfg, &mut out);
    decl::<Protection>(&cfg, &mut out);
    decl::<MethodInfo>(&cfg, &mut out);
    decl::<OneTimePrekeyInfo>(&cfg, &mut out);
    decl::<Jwk>(&cfg, &mut out);
    decl::<Jwks>(&cfg, &mut out);
    decl::<PreKeyBundle>(&cfg, &mut out);
    decl::<PrekeyUse>(&cfg, &mut out);
    decl::<SignedPrekey>(&cfg, &mut out);
    decl::<Envelope>(&cfg, &mut out);
    decl::<Response>(&cfg, &mut out);
    decl::<ErrorCode>(&cfg, &mut out);
    decl::<ErrorBody>(&cfg, &mut out);
    decl::<Outcome>(&cfg, &mut out);
    decl::<Reply>(&cfg, &mut out);
    print!("{}", out.trim_end());
    println!();
}
