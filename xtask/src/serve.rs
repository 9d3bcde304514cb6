//! A small static HTTP/1.1 server for the demo and the browser tests: each origin is a
//! directory, served on its own loopback port (over TLS in the https layout), with the
//! response headers its deployment must send (the enclave's come from
//! `enclave-html/headers.conf`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::push::{self, PushSender};

/// One origin: a port, a directory and the headers every response carries.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) port: u16,
    pub(crate) root: PathBuf,
    pub(crate) headers: Vec<(String, String)>,
    /// Serve https with this configuration (plain http when `None`).
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// Answer `POST /push/send` with this sender (the demo's PWA origins).
    pub(crate) push: Option<Arc<PushSender>>,
}

/// Starts serving every site on 127.0.0.1 (and ::1 when the machine has it) in background
/// threads, which live until the process exits.
pub(crate) fn start(sites: Vec<Site>) -> Result<()> {
    for site in sites {
        let site = Arc::new(site);
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, site.port)))
            .with_context(|| format!("listening on port {}", site.port))?;
        spawn(v4, Arc::clone(&site));
        // `localhost` may resolve to ::1 first; serve there too when possible.
        if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, site.port))) {
            spawn(v6, site);
        }
    }
    Ok(())
}

fn spawn(listener: TcpListener, site: Arc<Site>) {
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let site = Arc::clone(&site);
            thread::spawn(move || {
                let _ = accept(stream, &site);
            });
        }
    });
}

/// One connection: a TLS session first when the site has one, then one request.
fn accept(stream: TcpStream, site: &Site) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    match &site.tls {
        None => handle(stream, site),
        Some(config) => {
            let conn =
                rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
            let mut tls = rustls::StreamOwned::new(conn, stream);
            handle(&mut tls, site)?;
            tls.conn.send_close_notify();
            tls.flush()
        }
    }
}

fn handle<S: Read + Write>(mut stream: S, site: &Site) -> std::io::Result<()> {
    let mut request_line = String::new();
    let mut body = Vec::new();
    {
        let mut reader = BufReader::new(&mut stream);
        reader.read_line(&mut request_line)?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(usize::MAX);
            }
        }
        if length > 0 && length <= push::MAX_BODY {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        } else if length > push::MAX_BODY {
            body = vec![0; push::MAX_BODY + 1];
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    if method == "POST"
        && target == "/push/send"
        && let Some(sender) = &site.push
    {
        let (status, answer) = if body.len() > push::MAX_BODY {
            (
                413,
                serde_json::json!({ "error": "the request is too large" }),
            )
        } else {
            sender.handle(&body)
        };
        let answer = answer.to_string();
        return respond(
            &mut stream,
            site,
            status,
            "application/json",
            answer.as_bytes(),
            false,
        );
    }
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            site,
            405,
            "text/plain",
            b"method not allowed\n",
            false,
        );
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let head_only = method == "HEAD";
    match resolve(&site.root, path).and_then(|f| Some((std::fs::read(&f).ok()?, f))) {
        Some((body, file)) => respond(
            &mut stream,
            site,
            200,
            content_type(&file),
            &body,
            head_only,
        ),
        None => respond(
            &mut stream,
            site,
            404,
            "text/plain",
            b"not found\n",
            head_only,
        ),
    }
}

/// Maps a URL path to a file under `root`; `None` for anything that escapes it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = url_path.trim_start_matches('/');
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn respond(
    stream: &mut impl Write,
    site: &Site,
    status: u16,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        400 => "Bad Request",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in &site.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// Parses a `_headers`-style file (a `/*` line, then indented `Name: value` lines) and
/// substitutes `{{FRAME_ANCESTORS}}`; a `{{SCRIPT_HASHES}}` still there (a development page,
/// which has no inline script) becomes nothing.
pub(crate) fn parse_headers(text: &str, frame_ancestors: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| l.starts_with(' ') || l.starts_with('\t'))
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(n, v)| {
            (
                n.trim().to_owned(),
                v.trim()
                    .replace("{{FRAME_ANCESTORS}}", frame_ancestors)
                    .replace(" {{SCRIPT_HASHES}}", "")
                    .replace("{{SCRIPT_HASHES}}", ""),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape_the_root() {
        let root = std::env::temp_dir();
        assert!(resolve(&root, "/../etc/passwd").is_none());
        assert!(resolve(&root, "/a/../../x").is_none());
    }

    #[test]
    fn headers_file_is_parsed_and_filled_in() {
        let h = parse_headers(
            "# c\n/*\n  A: x {{FRAME_ANCESTORS}}; y\n  B: z {{SCRIPT_HASHES}}\n",
            "http://a http://b",
        );
        assert_eq!(
            h,
            vec![
                ("A".into(), "x http://a http://b; y".into()),
                ("B".into(), "z".into())
            ]
        );
    }
}
