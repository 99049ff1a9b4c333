//! A loopback HTTP proxy in front of moto that injects faults: chosen
//! requests get an error answer, a dropped connection, or a delay, the way
//! S3 and the networks in between misbehave and moto never does. Every
//! request is recorded; the rest are forwarded unchanged (moto does not
//! check signatures, so the changed host does not matter).
//!
//! Point a task at it with `AWS_ENDPOINT_URL_S3` (or
//! `AWS_ENDPOINT_URL_CLOUDFORMATION`) and keep `AWS_ENDPOINT_URL` on moto
//! for STS.
//!
//! CloudFormation's Query API sends its action and parameters as a form
//! body (`Action=DescribeStacks&StackName=web`); rules can match those
//! fields, answer with a scripted body in CloudFormation's documented
//! shape, or forward to moto and rewrite its answer. That is how tests show
//! what moto cannot: `*_IN_PROGRESS` states, per-resource failure events,
//! nested stacks.

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
    /// Answer with this status and XML body, without forwarding.
    Reply(u16, String),
    /// Forward it, then replace every match of the regex (first) in the
    /// answer's body with the replacement (second, `$1` allowed). Counts
    /// against `times` only when something was replaced.
    Rewrite(String, String),
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
    /// Form fields (`name=value`, decoded) the request body must have;
    /// `name~=text` matches a value containing `text`.
    pub form: Vec<String>,
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
    /// The `Action` form field of a Query API request (CloudFormation,
    /// STS), if any.
    pub action: Option<String>,
    /// The decoded form fields.
    pub form: Vec<(String, String)>,
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

/// The fields of a form body, decoded.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn form_matches(wanted: &[String], form: &[(String, String)]) -> bool {
    wanted.iter().all(|w| {
        if let Some((k, v)) = w.split_once("~=") {
            form.iter().any(|(fk, fv)| fk == k && fv.contains(v))
        } else {
            let (k, v) = w.split_once('=').unwrap_or((w.as_str(), ""));
            form.iter().any(|(fk, fv)| fk == k && fv == v)
        }
    })
}

fn matches(rule: &Rule, method: &str, path: &str, query: &str, form: &[(String, String)]) -> bool {
    let params: Vec<&str> = query.split('&').collect();
    rule.times > 0
        && rule.method.eq_ignore_ascii_case(method)
        && form_matches(&rule.form, form)
        && path.ends_with(rule.path_suffix)
        && rule.query.iter().all(|q| {
            params
                .iter()
                .any(|p| p == q || (!q.contains('=') && p.split('=').next() == Some(q.as_str())))
        })
}

async fn forward(
    upstream: u16,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, String> {
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
            form: Vec::new(),
            fault,
            times,
        }
    }

    /// A rule for Query API requests (POST) with `Action=<action>`.
    #[must_use]
    pub fn action(action: &str, fault: Fault, times: usize) -> Self {
        Self {
            method: "POST",
            path_suffix: "",
            query: Vec::new(),
            form: vec![format!("Action={action}")],
            fault,
            times,
        }
    }

    /// Only for requests whose form also has `field` (`name=value`, or
    /// `name~=text` for a value containing `text`).
    #[must_use]
    pub fn with_form(mut self, field: &str) -> Self {
        self.form.push(field.to_owned());
        self
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
        Self::start_with_tls(upstream, rules, None)
    }

    /// As [`FaultProxy::start`], serving HTTPS with `tls` (see
    /// [`crate::tls::TestPki::server_config`]): an HTTPS front for moto.
    #[must_use]
    pub fn start_with_tls(
        upstream: u16,
        rules: Vec<Rule>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let state = Arc::new(Mutex::new(State {
            rules,
            seen: Vec::new(),
        }));
        let st = state.clone();
        let server = Server::start_with_tls(
            move |req: Request<Incoming>| {
                let st = st.clone();
                async move {
                    let method = req.method().to_string();
                    let query = req.uri().query().unwrap_or_default().to_owned();
                    let path = req.uri().path().to_owned();
                    let uri = req.uri().to_string();
                    let (parts, body) = req.into_parts();
                    // Read the body first, as a server does before answering.
                    let body = body
                        .collect()
                        .await
                        .map(http_body_util::Collected::to_bytes)
                        .unwrap_or_default();
                    let is_form = parts
                        .headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                    let form = if is_form {
                        form_fields(&body)
                    } else {
                        Vec::new()
                    };
                    let action = form
                        .iter()
                        .find(|(k, _)| k == "Action")
                        .map(|(_, v)| v.clone());
                    let (index, fault) = {
                        let mut s = st.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        let found = s
                            .rules
                            .iter_mut()
                            .enumerate()
                            .find(|(_, r)| matches(r, &method, &path, &query, &form))
                            .map(|(i, r)| {
                                if !matches!(r.fault, Fault::Rewrite(..)) {
                                    r.times -= 1;
                                }
                                (Some(i), Some(r.fault.clone()))
                            });
                        let (index, fault) = found.unwrap_or((None, None));
                        s.seen.push(Seen {
                            method: method.clone(),
                            uri,
                            fault: fault.clone(),
                            action,
                            form,
                        });
                        (index, fault)
                    };
                    match fault {
                        Some(Fault::Status(status)) => Ok(s3_error(status)),
                        Some(Fault::Drop) => {
                            // An error makes hyper close the connection unanswered.
                            Err(std::io::Error::other("injected reset"))
                        }
                        Some(Fault::Reply(status, xml)) => Ok(Response::builder()
                            .status(status)
                            .header("content-type", "text/xml")
                            .header("x-amzn-requestid", "FAULTPROXY")
                            .body(Full::new(Bytes::from(xml)))
                            .unwrap_or_default()),
                        Some(Fault::Delay(d)) => {
                            #[allow(clippy::disallowed_methods)] // a slow network, in real time
                            tokio::time::sleep(d).await;
                            Ok(forward(upstream, parts, body)
                                .await
                                .unwrap_or_else(|_| s3_error(502)))
                        }
                        Some(Fault::Rewrite(pattern, replacement)) => {
                            let answer = forward(upstream, parts, body)
                                .await
                                .unwrap_or_else(|_| s3_error(502));
                            let (head, body) = answer.into_parts();
                            let text = body
                                .collect()
                                .await
                                .map(|c| String::from_utf8_lossy(&c.to_bytes()).into_owned())
                                .unwrap_or_default();
                            let re = regex_lite::Regex::new(&pattern)
                                .unwrap_or_else(|e| panic!("bad rewrite pattern {pattern}: {e}"));
                            let out = re.replace_all(&text, replacement.as_str()).into_owned();
                            if out != text
                                && let Some(i) = index
                            {
                                let mut s =
                                    st.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                                s.rules[i].times = s.rules[i].times.saturating_sub(1);
                            }
                            let mut head = head;
                            head.headers.remove("content-length");
                            Ok(Response::from_parts(head, Full::new(Bytes::from(out))))
                        }
                        None => Ok(forward(upstream, parts, body)
                            .await
                            .unwrap_or_else(|_| s3_error(502))),
                    }
                }
            },
            tls,
        );
        Self { server, state }
    }

    /// `http://127.0.0.1:{port}` (`https` over TLS).
    #[must_use]
    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// The TLS handshakes the proxy saw (none over plain HTTP).
    #[must_use]
    pub fn handshakes(&self) -> crate::serve::Handshakes {
        self.server.handshakes()
    }

    /// Replace the rules (the requests seen are kept).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .rules = rules;
    }

    /// The Query API actions seen so far, in order.
    #[must_use]
    pub fn actions(&self) -> Vec<String> {
        self.seen().into_iter().filter_map(|s| s.action).collect()
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
