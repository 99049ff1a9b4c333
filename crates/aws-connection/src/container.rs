//! A loopback container credentials provider for long-running child processes.
//!
//! Keys put into a script's environment are a copy: they expire with their
//! session. Instead, the AWS CLI and every AWS SDK can fetch credentials from
//! an HTTP endpoint named by `AWS_CONTAINER_CREDENTIALS_FULL_URI`, sending
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the `Authorization` header, and
//! fetch again before the credentials expire: what the SDKs call the
//! container credentials provider (AWS SDKs and Tools reference guide,
//! "Container credential provider"). [`ContainerCredentialsProvider`] serves
//! the task's [`RefreshingCredentials`] that way, so a Terraform apply of
//! several hours never sees expired keys.
//!
//! Threat model:
//! - It listens on 127.0.0.1 only, on a random port, so nothing off the
//!   agent machine can reach it.
//! - Every request must carry the token: 256 random bits from the operating
//!   system's generator, compared in constant time. The token lives only in
//!   the child's environment and is registered as a secret, so it is masked in
//!   the log. A process that can read the child's environment (the same user,
//!   or root) could equally read keys put there; the endpoint adds no exposure
//!   beyond that, and the token stops working when the task ends.
//! - It answers only while the child runs: the task stops it as soon as the
//!   child exits, and it serves nothing but `GET` of the credentials.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use ring::rand::SecureRandom;

use crate::provider::{RefreshingCredentials, format_time};
use aws_clients::names;
use azp_task::{Logger, Secret};

/// The path the credentials are served at.
const PATH: &str = "/credentials";

/// A running endpoint; stop it with [`ContainerCredentialsProvider::stop`].
#[derive(Debug)]
pub struct ContainerCredentialsProvider {
    addr: SocketAddr,
    token: Secret,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Set by `stop`: kept-alive connections must not go on answering.
    closed: Arc<AtomicBool>,
}

/// The provider could not start.
#[derive(Debug, thiserror::Error)]
pub enum ContainerCredentialsError {
    /// No loopback port could be bound.
    #[error("the container credentials provider could not listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// No random token could be made.
    #[error("the operating system's random number generator failed")]
    Random,
}

/// Compare without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ContainerCredentialsProvider {
    /// Start serving `credentials` on a random loopback port. The token is
    /// registered as a secret on `log` before this returns.
    ///
    /// # Errors
    /// [`ContainerCredentialsError`] when no port or no token can be had.
    pub async fn start(
        credentials: RefreshingCredentials,
        log: &Logger,
    ) -> Result<Self, ContainerCredentialsError> {
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| ContainerCredentialsError::Random)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        log.set_secret(&token);
        let token = Secret::new(token);

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(ContainerCredentialsError::Bind)?;
        let addr = listener
            .local_addr()
            .map_err(ContainerCredentialsError::Bind)?;
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let expected = token.clone();
        let log = log.clone();
        let closed = Arc::new(AtomicBool::new(false));
        let closed_in_server = closed.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let (credentials, expected, log, closed) = (credentials.clone(), expected.clone(), log.clone(), closed_in_server.clone());
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req| {
                                let (credentials, expected, log, closed) = (credentials.clone(), expected.clone(), log.clone(), closed.clone());
                                async move {
                                    if closed.load(Ordering::SeqCst) {
                                        return Ok::<_, Infallible>(reply(StatusCode::GONE, r#"{"code":"Gone","message":"the task has finished"}"#.into()));
                                    }
                                    Ok(answer(req, &credentials, &expected, &log).await)
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(Self {
            addr,
            token,
            shutdown: Some(tx),
            task: Some(task),
            closed,
        })
    }

    /// The variables that point a child at the provider.
    #[must_use]
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            (
                names::AWS_CONTAINER_CREDENTIALS_FULL_URI,
                format!("http://{}{PATH}", self.addr),
            ),
            (
                names::AWS_CONTAINER_AUTHORIZATION_TOKEN,
                self.token.expose().to_owned(),
            ),
        ]
    }

    /// Stop answering.
    pub async fn stop(mut self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

async fn answer(
    req: Request<Incoming>,
    credentials: &RefreshingCredentials,
    token: &Secret,
    log: &Logger,
) -> Response<Full<Bytes>> {
    let authorized = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .is_some_and(|v| constant_time_eq(v.as_bytes(), token.expose().as_bytes()));
    if !authorized {
        return reply(
            StatusCode::UNAUTHORIZED,
            r#"{"code":"Unauthorized","message":"missing or wrong authorization token"}"#.into(),
        );
    }
    if req.method() != Method::GET || req.uri().path() != PATH {
        return reply(
            StatusCode::NOT_FOUND,
            r#"{"code":"NotFound","message":"only GET /credentials is served"}"#.into(),
        );
    }
    match credentials.credentials().await {
        Ok(c) => {
            let body = serde_json::json!({
                "AccessKeyId": c.access_key_id(),
                "SecretAccessKey": c.secret_access_key(),
                "Token": c.session_token(),
                // SDKs require an expiry; keys that never expire get one an
                // hour ahead, and the same keys again when it comes.
                "Expiration": format_time(c.expiry().unwrap_or_else(|| credentials.now() + Duration::from_secs(3600))),
            });
            reply(StatusCode::OK, body.to_string())
        }
        Err(e) => {
            log.warning(format!(
                "The credentials endpoint could not hand out credentials: {}",
                azp_task::render_error(&e)
            ));
            reply(StatusCode::SERVICE_UNAVAILABLE, r#"{"code":"CredentialsUnavailable","message":"the task could not refresh the AWS credentials; see the task log"}"#.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
