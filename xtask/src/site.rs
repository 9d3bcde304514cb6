//! Building the two origins the browser runs: the enclave (wasm, glue, bootstrap page,
//! deployment config) and the app (the demo PWA, the test pages and the compiled SDK).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};

use crate::cmd::{command, exec, root, target_dir};
use crate::push::PushSender;
use crate::serve::{self, Site};
use crate::setup;
use crate::tasks::dist::CONFIG_FILE;
use crate::tls::TestCertificate;

/// How the test servers present the origins: every origin is a host of its own on a
/// loopback port, and the app hosts share a registrable domain with the enclave's host but
/// are never it or under it (so no page can claim the enclave's passkey rpId).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `http://*.kms.localhost`: opens in any browser without set-up (`*.localhost`
    /// resolves to loopback and is a secure context). Plain http: the demo for a person.
    Localhost,
    /// `https://*.kms.test` with a certificate the servers make at start-up, the names
    /// resolved to loopback by the browser's host rules: the layout a deployment has. The
    /// browser suite runs on it.
    Https,
}

/// The origins the test servers play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The PWA (the demo, and the browser suite's main app).
    App,
    /// A second allow-listed app origin (shard isolation tests).
    App2,
    /// An app origin that is not on the enclave's allow list.
    Rogue,
    /// An allow-listed app on another site: the enclave frame is third-party there.
    CrossSite,
    /// The enclave, development build.
    Enclave,
    /// The enclave, release build (`dist/`, from `cargo xtask dist`).
    DistEnclave,
}

impl Role {
    /// Every role, in a fixed order.
    pub(crate) const ALL: [Role; 6] = [
        Role::App,
        Role::App2,
        Role::Rogue,
        Role::CrossSite,
        Role::Enclave,
        Role::DistEnclave,
    ];

    /// The loopback port that serves it (the servers tell origins apart by port).
    pub(crate) fn port(self) -> u16 {
        match self {
            Role::App | Role::CrossSite => 8080,
            Role::Enclave => 8081,
            Role::App2 => 8082,
            Role::Rogue => 8083,
            Role::DistEnclave => 8084,
        }
    }

    /// Its name in the browser suite's `KMS_LAYOUT`.
    fn key(self) -> &'static str {
        match self {
            Role::App => "app",
            Role::App2 => "app2",
            Role::Rogue => "rogue",
            Role::CrossSite => "crossSite",
            Role::Enclave => "enclave",
            Role::DistEnclave => "distEnclave",
        }
    }
}

impl Layout {
    fn scheme(self) -> &'static str {
        match self {
            Layout::Localhost => "http",
            Layout::Https => "https",
        }
    }

    /// The host that plays `role`.
    pub(crate) fn host(self, role: Role) -> &'static str {
        match (self, role) {
            (Layout::Localhost, Role::App) => "app.kms.localhost",
            (Layout::Localhost, Role::App2) => "app2.kms.localhost",
            (Layout::Localhost, Role::Rogue) => "rogue.kms.localhost",
            (Layout::Localhost, Role::CrossSite) => "127.0.0.1",
            (Layout::Localhost, Role::Enclave | Role::DistEnclave) => "enclave.kms.localhost",
            (Layout::Https, Role::App) => "app.kms.test",
            (Layout::Https, Role::App2) => "app2.kms.test",
            (Layout::Https, Role::Rogue) => "rogue.kms.test",
            (Layout::Https, Role::CrossSite) => "app.elsewhere.test",
            (Layout::Https, Role::Enclave | Role::DistEnclave) => "enclave.kms.test",
        }
    }

    /// The origin of `role`, e.g. `https://app.kms.test:8080`.
    pub(crate) fn origin(self, role: Role) -> String {
        format!("{}://{}:{}", self.scheme(), self.host(role), role.port())
    }

    /// The host names the certificate must carry (https layout).
    fn tls_names(self) -> Vec<String> {
        let mut names: Vec<String> = Role::ALL.iter().map(|r| self.host(*r).to_owned()).collect();
        // Node's own fetches (Playwright's `route.fetch`) go to the loopback address.
        names.push("127.0.0.1".to_owned());
        names.sort();
        names.dedup();
        names
    }

    /// Chromium's `--host-resolver-rules`: the layout's names go to loopback, nothing else
    /// is resolved differently.
    pub(crate) fn host_rules(self) -> Option<String> {
        match self {
            Layout::Localhost => None,
            Layout::Https => Some(
                self.tls_names()
                    .iter()
                    .filter(|h| h.parse::<std::net::IpAddr>().is_err())
                    .map(|h| format!("MAP {h} 127.0.0.1"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        }
    }

    /// The enclave's deployment config (`kms.config.json`) for this layout: the app
    /// origins allowed to embed it.
    pub(crate) fn enclave_config(self) -> String {
        let origins: Vec<String> = [Role::App, Role::App2, Role::CrossSite]
            .iter()
            .map(|r| self.origin(*r))
            .collect();
        let mut json =
            serde_json::to_string_pretty(&serde_json::json!({ "allowedOrigins": origins }))
                .unwrap_or_default();
        json.push('\n');
        json
    }

    /// The origins as the browser suite and the app pages read them (`KMS_LAYOUT`).
    fn describe(self, spki_sha256: Option<&str>) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for role in Role::ALL {
            map.insert(role.key().into(), self.origin(role).into());
        }
        if let Some(rules) = self.host_rules() {
            map.insert("hostRules".into(), rules.into());
        }
        if let Some(spki) = spki_sha256 {
            map.insert("spki".into(), spki.into());
        }
        serde_json::Value::Object(map)
    }
}

/// What [`serve`] started: the layout's description for the browser's side.
pub(crate) struct Served {
    /// `KMS_LAYOUT` for the Node scripts: every origin, and for https the host rules and
    /// the certificate's SPKI hash.
    pub(crate) layout_json: String,
    /// The certificate as PEM (https layout), for `NODE_EXTRA_CA_CERTS`.
    pub(crate) ca_file: Option<PathBuf>,
    /// base64 SHA-256 of the certificate's key (https layout), for Chromium's
    /// `--ignore-certificate-errors-spki-list`.
    pub(crate) spki_sha256: Option<String>,
}

impl Served {
    /// Sets the environment a Node script needs to reach the servers.
    pub(crate) fn apply(&self, c: &mut std::process::Command) {
        c.env("KMS_LAYOUT", &self.layout_json);
        if let Some(ca) = &self.ca_file {
            c.env("NODE_EXTRA_CA_CERTS", ca);
        }
    }
}

/// Where the built origins go.
pub(crate) fn out_dir() -> PathBuf {
    root().join("target/site")
}

/// Builds the enclave and the app into [`out_dir`], configured for `layout`.
pub(crate) fn build(layout: Layout) -> Result<()> {
    build_with(layout, &[])
}

/// As [`build`], with extra kms-wasm `features` (`bench` for the benchmark page).
pub(crate) fn build_with(layout: Layout, features: &[&str]) -> Result<()> {
    setup::wasm_toolchain()?;
    let out = out_dir();
    let enclave = out.join("enclave");
    let app = out.join("app");
    for d in [&enclave, &app] {
        if d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("clearing {}", d.display()))?;
        }
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }

    let features = features.join(",");
    let mut cargo = crate::tasks::dist::WASM_BUILD.to_vec();
    if !features.is_empty() {
        cargo.extend(["--features", &features]);
    }
    exec(&mut command("cargo", &cargo))?;
    bindgen(&release_wasm(), &enclave)?;
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
    write(&enclave.join(CONFIG_FILE), &layout.enclave_config())?;
    write(
        &app.join("layout.js"),
        &format!(
            "// Where this layout's enclaves are (written by `cargo xtask`).\n\
             export const ENCLAVE_URL = \"{}/\";\n\
             export const DIST_ENCLAVE_URL = \"{}/\";\n",
            layout.origin(Role::Enclave),
            layout.origin(Role::DistEnclave)
        ),
    )
}

/// The enclave's wasm as [`crate::tasks::dist::WASM_BUILD`] leaves it (before wasm-bindgen).
pub(crate) fn release_wasm() -> PathBuf {
    target_dir().join("wasm32-unknown-unknown/release/kms_wasm.wasm")
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Runs the pinned wasm-bindgen on `wasm`, writing the ES-module glue and the processed
/// module to `out`. Function names and the producers section are stripped: they are bulk,
/// and the producers section names the build machine's toolchain.
pub(crate) fn bindgen(wasm: &Path, out: &Path) -> Result<()> {
    run_bindgen(wasm, out, false)
}

/// As [`bindgen`], with the glue's TypeScript declarations (`kms_wasm.d.ts`) beside it: what
/// the bootstrap is type-checked against. Never for a site or a release.
pub(crate) fn bindgen_declarations(wasm: &Path, out: &Path) -> Result<()> {
    run_bindgen(wasm, out, true)
}

fn run_bindgen(wasm: &Path, out: &Path, declarations: bool) -> Result<()> {
    let wasm = wasm.to_string_lossy();
    let out = out.to_string_lossy();
    let mut args = vec![&*wasm, "--target", "web"];
    if !declarations {
        args.push("--no-typescript");
    }
    args.extend([
        "--remove-name-section",
        "--remove-producers-section",
        "--out-dir",
        &out,
    ]);
    exec(&mut command("wasm-bindgen", &args))
}

/// Builds binaries of `kms-tools` (debug profile), the oracles and fixtures the test
/// suites run; returns the path of each.
pub(crate) fn build_tools(tools: &[&str]) -> Result<Vec<PathBuf>> {
    let mut args = vec!["build", "--quiet", "--locked", "-p", "kms-tools"];
    for t in tools {
        args.extend(["--bin", t]);
    }
    exec(&mut command("cargo", &args))?;
    let target = target_dir();
    Ok(tools
        .iter()
        .map(|t| {
            target
                .join("debug")
                .join(format!("{t}{}", std::env::consts::EXE_SUFFIX))
        })
        .collect())
}

/// Serves the built origins of `layout` on their loopback ports (in background threads);
/// for https with a certificate made now.
pub(crate) fn serve(layout: Layout) -> Result<Served> {
    serve_with(layout, None)
}

/// [`serve`], with the PWA's origins answering `POST /push/send` through `push`.
pub(crate) fn serve_with(layout: Layout, push: Option<Arc<PushSender>>) -> Result<Served> {
    let out = out_dir();
    let (tls, ca_file, spki) = match layout {
        Layout::Localhost => (None, None, None),
        Layout::Https => {
            let cert = TestCertificate::generate(&layout.tls_names())?;
            let ca = out.join("tls/cert.pem");
            cert.write_pem(&ca)?;
            (Some(cert.server), Some(ca), Some(cert.spki_sha256))
        }
    };
    let config = std::fs::read_to_string(out.join("enclave").join(CONFIG_FILE))
        .context("reading kms.config.json")?;
    let ancestors = allowed_origins(&config)?.join(" ");
    let headers_conf = std::fs::read_to_string(root().join("enclave-html/headers.conf"))
        .context("reading enclave-html/headers.conf")?;
    let enclave_headers = serve::parse_headers(&headers_conf, &ancestors);
    let enclave_origins = format!(
        "{} {}",
        layout.origin(Role::Enclave),
        layout.origin(Role::DistEnclave)
    );
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
    let site = |role: Role, root: PathBuf, headers: Vec<(String, String)>| Site {
        port: role.port(),
        root,
        headers,
        tls: tls.clone(),
        push: matches!(role, Role::App | Role::App2 | Role::Rogue)
            .then(|| push.clone())
            .flatten(),
    };
    let mut sites = vec![
        site(Role::App, out.join("app"), app_headers.clone()),
        site(Role::Enclave, out.join("enclave"), enclave_headers),
        site(Role::App2, out.join("app"), app_headers.clone()),
        site(Role::Rogue, out.join("app"), app_headers),
    ];
    // The release build, when there is one, on its own enclave origin with its own headers
    // (its script hashes filled in).
    let dist = root().join(crate::tasks::dist::DIST_DIR);
    if let Ok(dist_headers) = std::fs::read_to_string(dist.join(crate::tasks::dist::HEADERS_FILE)) {
        let headers = serve::parse_headers(&dist_headers, &ancestors);
        sites.push(site(Role::DistEnclave, dist, headers));
    }
    serve::start(sites)?;
    Ok(Served {
        layout_json: layout.describe(spki.as_deref()).to_string(),
        ca_file,
        spki_sha256: spki,
    })
}

/// The `allowedOrigins` of the enclave's deployment config.
pub(crate) fn allowed_origins(config: &str) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Config {
        allowed_origins: Vec<String>,
    }
    serde_json::from_str::<Config>(config)
        .map(|c| c.allowed_origins)
        .context("parsing kms.config.json")
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let listing = || format!("reading {}", from.display());
    for entry in std::fs::read_dir(from).with_context(listing)? {
        let entry = entry.with_context(listing)?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target)
                .with_context(|| format!("creating {}", target.display()))?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Layout, Role};

    #[test]
    fn no_app_host_can_claim_the_enclave_rpid() {
        for layout in [Layout::Localhost, Layout::Https] {
            let rp = layout.host(Role::Enclave);
            for role in [Role::App, Role::App2, Role::Rogue, Role::CrossSite] {
                let host = layout.host(role);
                assert!(host != rp && !host.ends_with(&format!(".{rp}")), "{host}");
            }
            let config = layout.enclave_config();
            let allowed = super::allowed_origins(&config).unwrap();
            assert_eq!(allowed.len(), 3);
            assert!(!allowed.contains(&layout.origin(Role::Rogue)));
        }
        assert_eq!(Layout::Https.origin(Role::App), "https://app.kms.test:8080");
        let rules = Layout::Https.host_rules().unwrap();
        assert!(rules.contains("MAP enclave.kms.test 127.0.0.1") && !rules.contains("MAP 127"));
    }

    #[test]
    fn reads_allowed_origins() {
        let c = r#"{ "allowedOrigins": ["http://a:1", "http://b"], "x": true }"#;
        assert_eq!(
            super::allowed_origins(c).unwrap(),
            vec!["http://a:1".to_owned(), "http://b".to_owned()]
        );
    }
}
