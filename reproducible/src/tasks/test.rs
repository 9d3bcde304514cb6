//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use crate::cmd::{command, exec};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("unexpected argument {a:?}"));
    }
    // The pinned toolchain (rust-toolchain.toml) brings rustfmt, clippy and the wasm target.
    exec(&mut command("cargo", &["fmt", "--all", "--", "--check"]))?;
    exec(&mut command(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    ))?;
    exec(&mut command("cargo", &["test", "--workspace", "--locked"]))?;
    super::relay::test()?;
    wasm_check()?;
    super::browser_unit::run()?;
    super::types::run(&["--check".to_owned()])?;
    super::dist::run(&["--check".to_owned()])?;
    super::interop::run_all()?;
    super::e2e::run(&[])?;
    println!("xtask test: all checks passed");
    Ok(())
}

/// kms-core must build for the browser without any browser dependency. Randomness comes in
/// through a trait, so the core never needs a working `getrandom` backend: the check builds
/// with the `unsupported` backend to prove it.
fn wasm_check() -> Result<(), String> {
    let mut c = command(
        "cargo",
        &[
            "build",
            "-p",
            "kms-core",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
        ],
    );
    c.env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "--cfg getrandom_backend=\"unsupported\"",
    );
    exec(&mut c)
}
