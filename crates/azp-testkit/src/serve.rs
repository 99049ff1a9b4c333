//! A loopback HTTP/1.1 server on its own thread, shared by the emulations.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

/// What an emulation answers one request with, and how long it waits first.
pub(crate) struct Reply {
    /// The answer.
    pub response: Response<Full<Bytes>>,
    /// A wait before answering (a slow service).
    pub delay: Option<std::time::Duration>,
}

impl From<Response<Full<Bytes>>> for Reply {
    fn from(response: Response<Full<Bytes>>) -> Self {
        Self {
            response,
            delay: None,
        }
    }
}

/// A server with shared state, as every emulation is: each request is
/// recorded and handed, with the state, to the emulation's handler; its
/// reply is sent after its delay. Stops when dropped.
pub(crate) struct Emulation<S> {
    state: Arc<Mutex<S>>,
    server: Server,
}

impl<S> std::fmt::Debug for Emulation<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulation")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl<S: Send + 'static> Emulation<S> {
    /// Serve `handle` over `state` on a free loopback port.
    pub(crate) fn start(
        state: S,
        handle: fn(&mut S, crate::oidc_server::RecordedRequest) -> Reply,
    ) -> Self {
        Self::start_with_tls(state, handle, None)
    }

    /// As [`Emulation::start`], over TLS with `tls` if given.
    pub(crate) fn start_with_tls(
        state: S,
        handle: fn(&mut S, crate::oidc_server::RecordedRequest) -> Reply,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let state = Arc::new(Mutex::new(state));
        let st = state.clone();
        let server = Server::start_with_tls(move |req| answer(st.clone(), handle, req), tls);
        Self { state, server }
    }

    /// The address served.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://` or `https://` and the address served.
    pub(crate) fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The TLS handshakes so far.
    pub(crate) fn handshakes(&self) -> Handshakes {
        self.server.handshakes()
    }

    /// The state; a panic in a handler does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, S> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[allow(clippy::disallowed_methods)] // an emulated service delays in real time
async fn answer<S>(
    state: Arc<Mutex<S>>,
    handle: fn(&mut S, crate::oidc_server::RecordedRequest) -> Reply,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let recorded = record(req).await;
    let reply = {
        let mut st = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handle(&mut st, recorded)
    };
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    Ok(reply.response)
}

/// A server thread; stops when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    tls: bool,
    handshakes: Arc<Mutex<Handshakes>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The TLS handshakes a server saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handshakes {
    /// How many completed.
    pub completed: usize,
    /// Why the others failed, as the server's rustls saw it (e.g. the
    /// client's alert).
    pub failed: Vec<String>,
}

impl Server {
    /// Serve `handler` on a free loopback port, over TLS with `tls` if given.
    pub(crate) fn start_with_tls<F, Fut, E>(
        handler: F,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let handshakes = Arc::new(Mutex::new(Handshakes::default()));
        let seen = handshakes.clone();
        let is_tls = tls.is_some();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let handler = handler.clone();
                            let acceptor = acceptor.clone();
                            let seen = seen.clone();
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(handler);
                                let http = hyper::server::conn::http1::Builder::new();
                                match acceptor {
                                    None => {
                                        let _ = http
                                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                                            .await;
                                    }
                                    Some(acceptor) => {
                                        let tls = acceptor.accept(stream).await;
                                        {
                                            let mut h = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                                            match &tls {
                                                Err(e) => h.failed.push(e.to_string()),
                                                Ok(_) => h.completed += 1,
                                            }
                                        }
                                        if let Ok(tls) = tls {
                                            let _ = http
                                                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                                                .await;
                                        }
                                    }
                                }
                            });
                        }
                    }
                }
            });
        });
        Self {
            addr,
            tls: is_tls,
            handshakes,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:{port}`, or `https://` for a TLS server.
    pub(crate) fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The TLS handshakes so far (none for a plain server).
    pub(crate) fn handshakes(&self) -> Handshakes {
        self.handshakes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read a whole request into a [`crate::oidc_server::RecordedRequest`].
pub(crate) async fn record(req: Request<Incoming>) -> crate::oidc_server::RecordedRequest {
    use http_body_util::BodyExt as _;
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    crate::oidc_server::RecordedRequest {
        method,
        path,
        query,
        headers,
        body,
    }
}
