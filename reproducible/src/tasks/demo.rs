//! `cargo xtask demo`: a native walkthrough of the key service.

use crate::cmd::{command, exec};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("unexpected argument {a:?}"));
    }
    exec(&mut command(
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
    ))
}
