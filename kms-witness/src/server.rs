//! The witness's HTTP service: `POST /add-checkpoint` (c2sp.org/tlog-witness), served with
//! `tiny_http` on a few threads.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use kms_tlog::witness::{
    ADD_CHECKPOINT_PATH, MAX_REQUEST_LEN, SIZE_CONTENT_TYPE, encode_cosignatures, encode_size,
};
use tiny_http::{Header, Method, Request, Response};

use crate::witness::Witness;

/// Threads answering requests.
pub const THREADS: usize = 4;

/// The service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The listener is not on an IP address.
    #[error("cannot listen on {0}: not an IP listener")]
    NotIp(SocketAddr),
}

/// A running witness service; stops when [`RunningWitness::stop`] is called or it is dropped.
pub struct RunningWitness {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunningWitness({})", self.addr)
    }
}

impl RunningWitness {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The submission prefix, `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks until the service stops.
    pub fn join(mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }

    /// Stops the service and waits for its threads, which releases the witness and its
    /// state directory.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for RunningWitness {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves `witness` on `addr` (port 0 picks a free port).
///
/// # Errors
/// [`StartError`] if the address cannot be bound.
pub fn start(witness: Witness, addr: SocketAddr) -> Result<RunningWitness, StartError> {
    let server =
        tiny_http::Server::http(addr).map_err(|source| StartError::Bind { addr, source })?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or(StartError::NotIp(addr))?;
    let server = Arc::new(server);
    let witness = Arc::new(witness);
    let workers = (0..THREADS)
        .map(|_| {
            let server = Arc::clone(&server);
            let witness = Arc::clone(&witness);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    handle(&witness, request);
                }
            })
        })
        .collect();
    Ok(RunningWitness {
        addr: bound,
        server,
        workers,
    })
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn reply(status: u16, content_type: &str, body: String) -> Reply {
    let mut r = Response::from_data(body.into_bytes()).with_status_code(status);
    if let Ok(h) = Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        r.add_header(h);
    }
    r
}

fn text(status: u16, message: &str) -> Reply {
    reply(status, "text/plain; charset=utf-8", format!("{message}\n"))
}

fn handle(witness: &Witness, mut request: Request) {
    let response = answer(witness, &mut request);
    // The client may have gone away; there is no one to tell.
    let _ = request.respond(response);
}

fn answer(witness: &Witness, request: &mut Request) -> Reply {
    if request.url() != ADD_CHECKPOINT_PATH {
        return text(404, "not found");
    }
    if *request.method() != Method::Post {
        return text(405, "expected POST");
    }
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_REQUEST_LEN).unwrap_or(u64::MAX) + 1;
    if request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .is_err()
    {
        return text(400, "cannot read the request body");
    }
    if body.len() > MAX_REQUEST_LEN {
        return text(413, "request too long");
    }
    match witness.add_checkpoint(&body) {
        Ok(lines) => reply(
            200,
            "text/plain; charset=utf-8",
            encode_cosignatures(&lines),
        ),
        Err(refusal) => match refusal.conflict_size() {
            Some(size) => reply(409, SIZE_CONTENT_TYPE, encode_size(size)),
            None => text(refusal.status(), &error_chain(&refusal)),
        },
    }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
