//! `cargo xtask bench`: native Criterion benchmarks of kms-core.

use crate::cmd::{command, exec};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut c = command("cargo", &["bench", "--locked", "-p", "kms-core"]);
    if !args.is_empty() {
        c.arg("--").args(args);
    }
    exec(&mut c)
}
