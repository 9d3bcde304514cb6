//! Building the two origins the browser runs: the enclave (wasm, glue, bootstrap page,
//! deployment config) and the app (the demo PWA, the test pages and the compiled SDK).

use std::path::{Path, PathBuf};

use crate::cmd::{command, exec, root};
use crate::serve::{self, Site};
use crate::setup;

/// Host of the demo PWA: a host of its own under the same registrable domain as the
/// enclave's (`*.localhost` resolves to loopback in browsers and is a secure context), so
/// the page cannot claim the enclave's passkey rpId.
pub(crate) const APP_HOST: &str = "app.kms.localhost";
/// Host of the enclave origins.
pub(crate) const ENCLAVE_HOST: &str = "enclave.kms.localhost";
/// Port of the demo PWA (and of the e2e suite's main app origin).
pub(crate) const APP_PORT: u16 = 8080;
/// Port of the enclave origin.
pub(crate) const ENCLAVE_PORT: u16 = 8081;
/// A second allow-listed app origin (shard isolation tests).
pub(crate) const APP2_PORT: u16 = 8082;
/// An app origin that is not on the enclave's allow list.
pub(crate) const ROGUE_PORT: u16 = 8083;
/// The enclave origin serving the release build (`dist/`, from `cargo xtask dist`).
pub(crate) const DIST_PORT: u16 = 8084;

/// Where the built origins go.
pub(crate) fn out_dir() -> PathBuf {
    root().join("target/site")
}

/// Builds the enclave and the app into [`out_dir`].
pub(crate) fn build() -> Result<(), String> {
    build_with(&[])
}

/// As [`build`], with extra kms-wasm `features` (`bench` for the benchmark page).
pub(crate) fn build_with(features: &[&str]) -> Result<(), String> {
    setup::wasm_toolchain()?;
    let out = out_dir();
    let enclave = out.join("enclave");
    let app = out.join("app");
    for d in [&enclave, &app] {
        if d.exists() {
            std::fs::remove_dir_all(d).map_err(|e| format!("clearing {}: {e}", d.display()))?;
        }
        std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    }

    let features = features.join(",");
    let mut cargo = vec![
        "build",
        "-p",
        "kms-wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
        "--locked",
    ];
    if !features.is_empty() {
        cargo.extend(["--features", &features]);
    }
    exec(&mut command("cargo", &cargo))?;
    bindgen(
        &root().join("target/wasm32-unknown-unknown/release/kms_wasm.wasm"),
        &enclave,
    )?;
    copy_dir(&root().join("enclave-html/enclave"), &enclave)?;

    let sdk = setup::npm("enclave-html/sdk")?;
    let mut tsc = command(
        "node",
        &[
            "node_modules/typescript/bin/tsc",
            "-p",
            ".",
            "--outDir",
            &app.join("sdk").to_string_lossy(),
        ],
    );
    tsc.current_dir(&sdk);
    exec(&mut tsc)?;
    copy_dir(&root().join("e2e/app"), &app)?;
    Ok(())
}

/// Runs the pinned wasm-bindgen on `wasm`, writing the ES-module glue and the processed
/// module to `out`. Function names and the producers section are stripped: they are bulk,
/// and the producers section names the build machine's toolchain.
pub(crate) fn bindgen(wasm: &Path, out: &Path) -> Result<(), String> {
    exec(&mut command(
        "wasm-bindgen",
        &[
            &wasm.to_string_lossy(),
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
            "--out-dir",
            &out.to_string_lossy(),
        ],
    ))
}

/// Builds `examples` of kms-core (debug profile), for tools the test suites run.
pub(crate) fn build_examples(examples: &[&str]) -> Result<(), String> {
    let mut args = vec!["build", "--quiet", "--locked", "-p", "kms-core"];
    for e in examples {
        args.extend(["--example", e]);
    }
    exec(&mut command("cargo", &args))
}

/// Serves the built origins on their loopback ports (in background threads).
pub(crate) fn serve() -> Result<(), String> {
    let out = out_dir();
    let config = std::fs::read_to_string(out.join("enclave/kms.config.json"))
        .map_err(|e| format!("kms.config.json: {e}"))?;
    let ancestors = allowed_origins(&config)?.join(" ");
    let headers_conf = std::fs::read_to_string(root().join("enclave-html/headers.conf"))
        .map_err(|e| format!("headers.conf: {e}"))?;
    let enclave_headers = serve::parse_headers(&headers_conf, &ancestors);
    let enclave_origins =
        format!("http://{ENCLAVE_HOST}:{ENCLAVE_PORT} http://{ENCLAVE_HOST}:{DIST_PORT}");
    let app_headers = vec![
        (
            "Content-Security-Policy".to_owned(),
            format!(
                "default-src 'self'; frame-src {enclave_origins}; connect-src 'self' {enclave_origins}; base-uri 'none'; form-action 'none'"
            ),
        ),
        ("X-Content-Type-Options".to_owned(), "nosniff".to_owned()),
        ("Cache-Control".to_owned(), "no-cache".to_owned()),
    ];
    let app = |port| Site {
        port,
        root: out.join("app"),
        headers: app_headers.clone(),
    };
    let mut sites = vec![
        app(APP_PORT),
        Site {
            port: ENCLAVE_PORT,
            root: out.join("enclave"),
            headers: enclave_headers,
        },
        app(APP2_PORT),
        app(ROGUE_PORT),
    ];
    // The release build, when there is one, on its own enclave origin with its own headers
    // (its script hashes filled in).
    let dist = root().join(crate::tasks::dist::DIST_DIR);
    if let Ok(dist_headers) = std::fs::read_to_string(dist.join(crate::tasks::dist::HEADERS_FILE)) {
        sites.push(Site {
            port: DIST_PORT,
            root: dist,
            headers: serve::parse_headers(&dist_headers, &ancestors),
        });
    }
    serve::start(sites)
}

/// The `allowedOrigins` of the enclave's deployment config.
pub(crate) fn allowed_origins(config: &str) -> Result<Vec<String>, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Config {
        allowed_origins: Vec<String>,
    }
    serde_json::from_str::<Config>(config)
        .map(|c| c.allowed_origins)
        .map_err(|e| format!("kms.config.json: {e}"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("copying {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_allowed_origins() {
        let c = r#"{ "allowedOrigins": ["http://a:1", "http://b"], "x": true }"#;
        assert_eq!(
            super::allowed_origins(c).unwrap(),
            vec!["http://a:1".to_owned(), "http://b".to_owned()]
        );
    }
}
