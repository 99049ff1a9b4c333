//! A loopback HTTP proxy in front of moto that injects faults: chosen
//! requests get an error answer, a dropped connection, or a delay, the way
//! S3 and the networks in between misbehave and moto never does. Every
//! request is recorded; the rest are forwarded unchanged (moto does not
//! check signatures, so the changed host does not matter).
//!
//! Point a task at it with `AWS_ENDPOINT_URL_S3` and keep
//! `AWS_ENDPOINT_URL` on moto for STS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

use crate::serve::Server;

/// What a rule does to a request it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and an S3 error body (`InternalError`
    /// for 5xx, `SlowDown` for 503, `AccessDenied` for 403).
    Status(u16),
    /// Close the connection without answering (a reset).
    Drop,
    /// Forward it after this delay.
    Delay(Duration),
}

/// A rule: requests with `method`, a path ending in `path_suffix`, and a
/// query holding every one of `query` (`partNumber=2`, `uploads`) get
/// `fault`, `times` times.
#[derive(Debug, Clone)]
pub struct Rule {
    /// HTTP method.
    pub method: &'static str,
    /// The end of the path (`/big.bin`), or `""` for any.
    pub path_suffix: &'static str,
    /// Query parameters (`name` or `name=value`) the request must have.
    pub query: Vec<String>,
    /// What happens.
    pub fault: Fault,
    /// How many more requests it applies to.
    pub times: usize,
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Whether a fault was injected, and which.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

/// The running proxy. Stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    server: Server,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr())
            .finish()
    }
}

fn s3_error(status: u16) -> Response<Full<Bytes>> {
    let code = match status {
        503 => "SlowDown",
        403 => "AccessDenied",
        s if s >= 500 => "InternalError",
        _ => "InvalidRequest",
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test \
             proxy</Message><RequestId>FAULTPROXY</RequestId></Error>"
        ))))
        .unwrap_or_default()
}

fn matches(rule: &Rule, method: &str, path: &str, query: &str) -> bool {
    let params: Vec<&str> = query.split('&').collect();
    rule.times > 0
        && rule.method.eq_ignore_ascii_case(method)
        && path.ends_with(rule.path_suffix)
        && rule.query.iter().all(|q| {
            params
                .iter()
                .any(|p| p == q || (!q.contains('=') && p.split('=').next() == Some(q.as_str())))
        })
}

async fn forward(upstream: u16, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, String> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", upstream))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let out = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| e.to_string())?;
    let (parts, body) = out.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

impl Rule {
    /// A rule for `method` requests whose query has every one of `query`.
    #[must_use]
    pub fn new(method: &'static str, query: &[&str], fault: Fault, times: usize) -> Self {
        Self {
            method,
            path_suffix: "",
            query: query.iter().map(|q| (*q).to_owned()).collect(),
            fault,
            times,
        }
    }

    /// Only for paths ending in `suffix`.
    #[must_use]
    pub fn on_path(mut self, suffix: &'static str) -> Self {
        self.path_suffix = suffix;
        self
    }
}

impl FaultProxy {
    /// A proxy to `127.0.0.1:<upstream>` with these rules.
    #[must_use]
    pub fn start(upstream: u16, rules: Vec<Rule>) -> Self {
        let state = Arc::new(Mutex::new(State {
            rules,
            seen: Vec::new(),
        }));
        let st = state.clone();
        let server = Server::start(move |req: Request<Incoming>| {
            let st = st.clone();
            async move {
                let method = req.method().to_string();
                let query = req.uri().query().unwrap_or_default().to_owned();
                let path = req.uri().path().to_owned();
                let fault = {
                    let mut s = st.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let fault = s
                        .rules
                        .iter_mut()
                        .find(|r| matches(r, &method, &path, &query))
                        .map(|r| {
                            r.times -= 1;
                            r.fault.clone()
                        });
                    s.seen.push(Seen {
                        method: method.clone(),
                        uri: req.uri().to_string(),
                        fault: fault.clone(),
                    });
                    fault
                };
                match fault {
                    Some(Fault::Status(status)) => {
                        // Read the body first, as a server does before answering.
                        let _ = req.into_body().collect().await;
                        Ok(s3_error(status))
                    }
                    Some(Fault::Drop) => {
                        let _ = req.into_body().collect().await;
                        // An error makes hyper close the connection unanswered.
                        Err(std::io::Error::other("injected reset"))
                    }
                    Some(Fault::Delay(d)) => {
                        #[allow(clippy::disallowed_methods)] // a slow network, in real time
                        tokio::time::sleep(d).await;
                        Ok(forward(upstream, req)
                            .await
                            .unwrap_or_else(|_| s3_error(502)))
                    }
                    None => Ok(forward(upstream, req)
                        .await
                        .unwrap_or_else(|_| s3_error(502))),
                }
            }
        });
        Self { server, state }
    }

    /// `http://127.0.0.1:{port}`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Every request so far.
    #[must_use]
    pub fn seen(&self) -> Vec<Seen> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .seen
            .clone()
    }
}
