//! `cargo xtask dist [--check]`: the deterministic, content-addressed release build.
//!
//! Builds the enclave with the pinned toolchain (`rust-toolchain.toml`), `--locked`, every
//! build-machine path remapped and no debug info, post-processes it with the pinned
//! wasm-bindgen CLI, names each file by its hash and writes an enclave page that loads them
//! with Subresource Integrity. The result goes to `dist/`, its manifest to
//! `sri-manifest.json` at the repository root.
//!
//! `--config FILE` names the deployment config (`kms.config.json`: the PWA origins allowed
//! to embed the enclave); it is copied beside the page and fills `frame-ancestors` in the
//! release's `_headers`. The default is the config of the browser suite's https layout
//! (`site::Layout::Https`).
//!
//! `--check` builds twice, from the workspace and from a copy of it in another directory,
//! each with its own target directory; fails unless both give identical bytes; then fails
//! unless the manifest equals the committed `sri-manifest.json`. It writes `dist/` but never
//! the committed manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail, ensure};
use kms_verify::manifest::{
    FileEntry, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, PAGE_FILE, Source, Toolchain,
    content_name, csp_sha256,
};

use crate::cmd::{command, exec, root};
use crate::setup;

/// Where the release goes (gitignored; rebuilt, never committed).
pub(crate) const DIST_DIR: &str = "dist";
/// The enclave's response headers with the release's script hashes filled in.
pub(crate) const HEADERS_FILE: &str = "_headers";
/// Deployment config: copied as is, not hashed (see docs/decisions.md).
pub(crate) const CONFIG_FILE: &str = "kms.config.json";
/// The placeholder for the allowed PWA origins in `headers.conf`.
pub(crate) const FRAME_ANCESTORS: &str = "{{FRAME_ANCESTORS}}";
/// The line of the source page that loads the development bootstrap.
const BOOTSTRAP_TAG: &str = r#"<script type="module" src="bootstrap.js"></script>"#;
/// The specifier `bootstrap.js` imports the wasm-bindgen glue by.
const GLUE_SPECIFIER: &str = "./kms_wasm.js";
/// The file name wasm-bindgen gives the wasm.
const BINDGEN_WASM: &str = "kms_wasm_bg.wasm";
/// The placeholder for the page's inline-script hashes in `headers.conf`.
pub(crate) const SCRIPT_HASHES: &str = "{{SCRIPT_HASHES}}";

/// The cargo arguments that build the enclave's wasm (the release profile), here and for
/// the development site; `dist` adds its own target directory and path remapping.
pub(crate) const WASM_BUILD: &[&str] = &[
    "build",
    "-p",
    "kms-wasm",
    "--target",
    setup::WASM_TARGET,
    "--release",
    "--locked",
];

/// The inputs of the enclave build: the manifest's `source.commit` is the last commit that
/// changed one of them, so unrelated commits do not invalidate the committed manifest.
pub(crate) const INPUTS: &[&str] = &[
    "Cargo.lock",
    "Cargo.toml",
    "enclave-html/enclave/bootstrap.js",
    "enclave-html/enclave/index.html",
    "kms-core/Cargo.toml",
    "kms-core/src",
    "kms-tlog/Cargo.toml",
    "kms-tlog/src",
    "kms-wasm/Cargo.toml",
    "kms-wasm/src",
    "xtask/src/tasks/dist.rs",
    "rust-toolchain.toml",
];

/// `cargo xtask dist`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Build twice in two directories, require identical bytes, and require the manifest
    /// to equal the committed one (writes `dist/`, never the committed manifest).
    #[arg(long)]
    check: bool,
    /// The deployment's `kms.config.json` (default: the browser suite's https layout).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl Args {
    /// `--check` with the default config.
    pub(crate) fn check() -> Self {
        Self {
            check: true,
            config: None,
        }
    }
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let check = args.check;
    let config = match &args.config {
        Some(file) => {
            Some(std::fs::read(file).with_context(|| format!("reading {}", file.display()))?)
        }
        None => None,
    };
    let started = std::time::Instant::now();
    let a = build(
        &root(),
        &root().join("target/dist-build-a"),
        config.as_deref(),
    )?;
    if check {
        let copy = copy_workspace(&root().join("target/dist-build-b/src"))?;
        let b = build(
            &copy,
            &root().join("target/dist-build-b/target"),
            config.as_deref(),
        )?;
        compare(&a, &b)?;
        println!(
            "dist: two builds in two directories gave identical bytes ({} files)",
            a.files.len()
        );
        // The second build only had to exist: its tree is a full target directory.
        let b_dir = root().join("target/dist-build-b");
        std::fs::remove_dir_all(&b_dir).with_context(|| format!("clearing {}", b_dir.display()))?;
    }
    write_dir(&a, &root().join(DIST_DIR))?;
    let committed = root().join(MANIFEST_FILE);
    if check {
        let old = std::fs::read(&committed).unwrap_or_default();
        if old != a.manifest {
            bail!(
                "the committed {MANIFEST_FILE} does not match the build: run `cargo xtask dist` and commit it\n{}",
                diff_hint(&old, &a.manifest)
            );
        }
        println!("dist: {MANIFEST_FILE} matches the committed one");
    } else {
        std::fs::write(&committed, &a.manifest)
            .with_context(|| format!("writing {MANIFEST_FILE}"))?;
        println!("dist: wrote {MANIFEST_FILE}");
    }
    println!(
        "dist: release in {DIST_DIR}/ ({:.0?}); page {}",
        started.elapsed(),
        a.page_sri
    );
    Ok(())
}

/// Builds the release from the workspace into `dist/` (the manifest is not written): what
/// the browser suite serves.
pub(crate) fn build_into_dist() -> Result<PathBuf> {
    let a = build_release()?;
    let out = root().join(DIST_DIR);
    write_dir(&a, &out)?;
    Ok(out)
}

/// Builds the release from the workspace, in memory.
pub(crate) fn build_release() -> Result<Release> {
    build(&root(), &root().join("target/dist-build-a"), None)
}

/// A finished release: every file by name (sorted), and the manifest bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Release {
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    pub(crate) manifest: Vec<u8>,
    pub(crate) page_sri: String,
}

/// One reproducible build of the workspace at `src` with its own `target` directory, with
/// the deployment `config` (default: the browser suite's https layout).
fn build(src: &Path, target: &Path, config: Option<&[u8]>) -> Result<Release> {
    setup::wasm_toolchain()?;
    let sysroot = output(command("rustc", &["--print", "sysroot"]).current_dir(src))?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let remaps = [
        (src.to_path_buf(), "/build"),
        (target.to_path_buf(), "/target"),
        (cargo_home, "/cargo"),
        (PathBuf::from(sysroot.trim()), "/toolchain"),
    ];
    let mut flags = Vec::new();
    for (from, to) in &remaps {
        let from = from.to_string_lossy();
        if from.contains(char::is_whitespace) {
            bail!("cannot remap a path with whitespace: {from:?}");
        }
        flags.push(format!("--remap-path-prefix={from}={to}"));
    }
    flags.push("-C debuginfo=0".to_owned());
    let mut cargo = command("cargo", WASM_BUILD);
    cargo
        .current_dir(src)
        .env("CARGO_TARGET_DIR", target)
        // Only the wasm target: host build scripts and proc macros keep their own flags.
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            flags.join(" "),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env("CARGO_INCREMENTAL", "0");
    exec(&mut cargo)?;

    let bindgen = target.join("bindgen");
    if bindgen.exists() {
        std::fs::remove_dir_all(&bindgen).context("clearing bindgen")?;
    }
    crate::site::bindgen(
        &target.join("wasm32-unknown-unknown/release/kms_wasm.wasm"),
        &bindgen,
    )?;
    let read = |p: PathBuf| std::fs::read(&p).with_context(|| format!("reading {}", p.display()));
    let enclave = src.join("enclave-html/enclave");
    let inputs = Inputs {
        wasm: read(bindgen.join(BINDGEN_WASM))?,
        glue: read(bindgen.join("kms_wasm.js"))?,
        bootstrap: read(enclave.join("bootstrap.js"))?,
        page: read(enclave.join(PAGE_FILE))?,
        config: match config {
            Some(c) => c.to_vec(),
            None => crate::site::Layout::Https.enclave_config().into_bytes(),
        },
        headers: read(src.join("enclave-html/headers.conf"))?,
    };
    assemble(&inputs, source()?, toolchain()?)
}

/// The raw outputs of a build and the files copied from the source.
pub(crate) struct Inputs {
    pub(crate) wasm: Vec<u8>,
    pub(crate) glue: Vec<u8>,
    pub(crate) bootstrap: Vec<u8>,
    pub(crate) page: Vec<u8>,
    pub(crate) config: Vec<u8>,
    pub(crate) headers: Vec<u8>,
}

/// Names every file by its hash and writes the page that pins them.
pub(crate) fn assemble(inputs: &Inputs, source: Source, toolchain: Toolchain) -> Result<Release> {
    let utf8 = |b: &[u8], what: &str| {
        String::from_utf8(b.to_vec()).with_context(|| format!("{what} is not UTF-8"))
    };
    let wasm_name = content_name("kms", "wasm", &inputs.wasm);
    let wasm = FileEntry::of(&wasm_name, &inputs.wasm);
    // The glue's default wasm URL (unused: the bootstrap passes the verified response).
    let glue_text = utf8(&inputs.glue, "kms_wasm.js")?.replace(BINDGEN_WASM, &wasm_name);
    let glue_name = content_name("kms", "js", glue_text.as_bytes());
    let glue = FileEntry::of(&glue_name, glue_text.as_bytes());
    let bootstrap_name = content_name("bootstrap", "js", &inputs.bootstrap);
    let bootstrap = FileEntry::of(&bootstrap_name, &inputs.bootstrap);

    // The bootstrap imports the glue by its development name; the import map sends that
    // specifier to the hashed file and gives the browser its integrity.
    let import_map = format!(
        r#"{{"imports":{{"{GLUE_SPECIFIER}":"./{glue_name}"}},"integrity":{{"./{glue_name}":"{}"}}}}"#,
        glue.sri
    );
    let script_hash = csp_sha256(&import_map);
    let pinned = format!(
        "<meta name=\"kms-wasm\" content=\"{wasm_name}\" data-integrity=\"{}\">\n\
         <script type=\"importmap\">{import_map}</script>\n\
         <script type=\"module\" src=\"{bootstrap_name}\" integrity=\"{}\"></script>",
        wasm.sri, bootstrap.sri
    );
    let page_src = utf8(&inputs.page, PAGE_FILE)?;
    if page_src.matches(BOOTSTRAP_TAG).count() != 1 {
        bail!("{PAGE_FILE}: expected exactly one `{BOOTSTRAP_TAG}` to replace");
    }
    let page_text = page_src.replace(BOOTSTRAP_TAG, &pinned);
    let page = FileEntry::of(PAGE_FILE, page_text.as_bytes());
    let ancestors = frame_ancestors(&inputs.config)?;
    let headers = utf8(&inputs.headers, "headers.conf")?
        .replace(SCRIPT_HASHES, &script_hash)
        .replace(FRAME_ANCESTORS, &ancestors);

    let manifest = Manifest {
        artifacts: vec![wasm.clone(), glue.clone(), bootstrap.clone()],
        csp_script_hashes: vec![script_hash],
        format: MANIFEST_FORMAT.to_owned(),
        page: page.clone(),
        source,
        toolchain,
    }
    .to_canonical_json()
    .context("encoding the manifest")?;

    let mut files = BTreeMap::new();
    files.insert(wasm_name, inputs.wasm.clone());
    files.insert(glue_name, glue_text.into_bytes());
    files.insert(bootstrap_name, inputs.bootstrap.clone());
    files.insert(PAGE_FILE.to_owned(), page_text.into_bytes());
    files.insert(CONFIG_FILE.to_owned(), inputs.config.clone());
    files.insert(HEADERS_FILE.to_owned(), headers.into_bytes());
    files.insert(MANIFEST_FILE.to_owned(), manifest.clone());
    Ok(Release {
        files,
        manifest,
        page_sri: page.sri,
    })
}

/// The `frame-ancestors` sources of a deployment config: its `allowedOrigins`, each a plain
/// `http(s)://host[:port]` origin (nothing that could end or widen the CSP directive).
fn frame_ancestors(config: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(config).context("kms.config.json is not UTF-8")?;
    let origins = crate::site::allowed_origins(text)?;
    ensure!(
        !origins.is_empty(),
        "kms.config.json: allowedOrigins is empty: no page could embed the enclave"
    );
    for o in &origins {
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
            .unwrap_or("");
        let (host, port) = rest.split_once(':').unwrap_or((rest, "1"));
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-".contains(&b));
        let port_ok =
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !host_ok || !port_ok {
            bail!("kms.config.json: allowed origin {o:?}: expected http(s)://host[:port]");
        }
    }
    Ok(origins.join(" "))
}

/// The last commit that changed an input of the build.
///
/// A shallow clone has no history to ask: every file seems to come from its one commit.
/// There the commit is taken from the committed manifest, with a note, and everything else
/// (every byte of every artifact) is still rebuilt and compared.
fn source() -> Result<Source> {
    let shallow = output(&mut command(
        "git",
        &["rev-parse", "--is-shallow-repository"],
    ))
    .map(|s| s.trim() == "true")
    .unwrap_or(false);
    if shallow && let Some(commit) = committed_source_commit() {
        println!(
            "dist: note: shallow clone, so the source commit {commit} is taken from the committed {MANIFEST_FILE} (fetch the full history to check it too)"
        );
        return Ok(Source {
            commit,
            inputs: INPUTS.iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    let mut args = vec!["log", "-1", "--format=%H", "--"];
    args.extend_from_slice(INPUTS);
    let commit = output(&mut command("git", &args))?.trim().to_owned();
    if commit.len() != 40 {
        bail!("git log gave no commit for the inputs: {commit:?}");
    }
    Ok(Source {
        commit,
        inputs: INPUTS.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// `source.commit` of the committed manifest, if there is one.
fn committed_source_commit() -> Option<String> {
    let text = std::fs::read(root().join(MANIFEST_FILE)).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let commit = json.get("source")?.get("commit")?.as_str()?;
    (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())).then(|| commit.to_owned())
}

fn toolchain() -> Result<Toolchain> {
    Ok(Toolchain {
        rustc: output(&mut command("rustc", &["--version"]))?
            .trim()
            .to_owned(),
        wasm_bindgen: setup::wasm_bindgen_version()?,
    })
}

fn output(c: &mut Command) -> Result<String> {
    let out = c
        .output()
        .with_context(|| format!("could not run {:?}", c.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            c.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout)
        .with_context(|| format!("the output of {:?} is not UTF-8", c.get_program()))
}

/// Copies the files git knows (tracked and untracked, not ignored) to `to`, so the second
/// build sees exactly the first one's sources at another path.
fn copy_workspace(to: &Path) -> Result<PathBuf> {
    if to.exists() {
        std::fs::remove_dir_all(to).with_context(|| format!("clearing {}", to.display()))?;
    }
    let list = output(&mut command(
        "git",
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    ))?;
    let src = root();
    for rel in list.split('\0').filter(|s| !s.is_empty()) {
        let from = src.join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree
        }
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&from, &dest).with_context(|| format!("copying {rel}"))?;
    }
    Ok(to.to_path_buf())
}

fn compare(a: &Release, b: &Release) -> Result<()> {
    let names_a: Vec<&String> = a.files.keys().collect();
    let names_b: Vec<&String> = b.files.keys().collect();
    if names_a != names_b {
        bail!("NOT REPRODUCIBLE: the two builds wrote different files: {names_a:?} vs {names_b:?}");
    }
    for (name, bytes) in &a.files {
        if b.files.get(name) != Some(bytes) {
            bail!("NOT REPRODUCIBLE: {name} differs between the two builds");
        }
    }
    Ok(())
}

fn write_dir(release: &Release, dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in &release.files {
        std::fs::write(dir.join(name), bytes).with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}

/// The first differing line of two manifests, to say what changed.
fn diff_hint(old: &[u8], new: &[u8]) -> String {
    let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    if old.is_empty() {
        return format!("(no committed {MANIFEST_FILE})");
    }
    let mut lines = old.lines().zip(new.lines());
    match lines.find(|(o, n)| o != n) {
        Some((o, n)) => format!(
            "first difference:\n  committed: {}\n  built:     {}",
            o.trim(),
            n.trim()
        ),
        None => "the manifests differ in length".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            wasm: b"\0asm wasm".to_vec(),
            glue:
                b"export default function init() { new URL('kms_wasm_bg.wasm', import.meta.url) }"
                    .to_vec(),
            bootstrap: b"import init from \"./kms_wasm.js\";".to_vec(),
            page: format!("<head>\n{BOOTSTRAP_TAG}\n</head>").into_bytes(),
            config: br#"{"allowedOrigins": ["https://app.example.com", "http://app.kms.localhost:8080"]}"#
                .to_vec(),
            headers: format!(
                "/*\n  Content-Security-Policy: script-src 'self' {SCRIPT_HASHES}; frame-ancestors {FRAME_ANCESTORS}\n"
            )
            .into_bytes(),
        }
    }

    fn meta() -> (Source, Toolchain) {
        (
            Source {
                commit: "a".repeat(40),
                inputs: vec!["x".to_owned()],
            },
            Toolchain {
                rustc: "rustc 1.95.0".to_owned(),
                wasm_bindgen: "0.2.130".to_owned(),
            },
        )
    }

    #[test]
    fn page_pins_every_artifact_and_headers_allow_the_import_map() {
        let (s, t) = meta();
        let r = assemble(&inputs(), s, t).unwrap();
        let m = Manifest::parse(&r.manifest).unwrap();
        let page = String::from_utf8(r.files[PAGE_FILE].clone()).unwrap();
        assert!(!page.contains("src=\"bootstrap.js\""));
        for a in &m.artifacts {
            assert!(a.matches(&r.files[&a.name]), "{}", a.name);
            assert!(
                page.contains(&a.name) && page.contains(&a.sri),
                "{}",
                a.name
            );
        }
        assert!(m.page.matches(page.as_bytes()));
        let glue = m
            .artifacts
            .iter()
            .find(|a| a.name.ends_with(".js") && a.name.starts_with("kms-"))
            .unwrap();
        let wasm = m
            .artifacts
            .iter()
            .find(|a| a.name.ends_with(".wasm"))
            .unwrap();
        assert!(String::from_utf8_lossy(&r.files[&glue.name]).contains(&wasm.name));
        let headers = String::from_utf8(r.files[HEADERS_FILE].clone()).unwrap();
        assert!(headers.contains(&m.csp_script_hashes[0]));
        assert!(
            headers
                .contains("frame-ancestors https://app.example.com http://app.kms.localhost:8080"),
            "{headers}"
        );
        assert!(!headers.contains("{{"), "a placeholder is left: {headers}");
        let map_start = page.find("<script type=\"importmap\">").unwrap() + 25;
        let map_end = map_start + page[map_start..].find("</script>").unwrap();
        assert_eq!(
            csp_sha256(&page[map_start..map_end]),
            m.csp_script_hashes[0]
        );
    }

    #[test]
    fn assembly_is_deterministic_and_content_addressed() {
        let (s, t) = meta();
        let a = assemble(&inputs(), s.clone(), t.clone()).unwrap();
        assert_eq!(a, assemble(&inputs(), s.clone(), t.clone()).unwrap());
        let mut changed = inputs();
        changed.wasm.push(0);
        let b = assemble(&changed, s, t).unwrap();
        assert_ne!(a.page_sri, b.page_sri);
        assert!(compare(&a, &b).is_err());
        assert!(a.files.keys().any(|k| !b.files.contains_key(k)));
    }

    #[test]
    fn a_config_that_could_widen_frame_ancestors_is_refused() {
        for bad in [
            r#"{"allowedOrigins": []}"#,
            r#"{"allowedOrigins": ["*"]}"#,
            r#"{"allowedOrigins": ["https://a.example; script-src *"]}"#,
            r#"{"allowedOrigins": ["https://a.example https://evil.example"]}"#,
            r#"{"allowedOrigins": ["https://a.example/path"]}"#,
            r#"{"allowedOrigins": ["javascript:x"]}"#,
            r#"{}"#,
        ] {
            let (s, t) = meta();
            let mut i = inputs();
            i.config = bad.as_bytes().to_vec();
            assert!(assemble(&i, s, t).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_page_without_the_bootstrap_tag_is_refused() {
        let (s, t) = meta();
        let mut i = inputs();
        i.page = b"<head></head>".to_vec();
        assert!(assemble(&i, s, t).is_err());
    }
}
