//! The HTTPS client of every AWS SDK client the tasks build.
//!
//! The SDK sends its requests through reqwest, the same client, TLS
//! configuration and proxy rules as the task's other requests
//! (`azp_task::http::client_builder`): rustls with ring; the operating
//! system's verifier plus the agent's `--sslcacert` roots; the agent's client
//! certificate; the agent's proxy with its whole bypass list (regular
//! expressions included) and, merged, the job's own `NO_PROXY`, loopback
//! and the AWS metadata addresses. Without an agent proxy,
//! `HTTPS_PROXY`/`NO_PROXY` from the environment apply, as in the AWS CLI.
//!
//! The SDK's own hyper client (`aws-smithy-http-client`) cannot present a
//! client certificate: it builds its rustls configuration itself, with no
//! client authentication. The adapter here is the SDK's connector contract
//! (`aws_smithy_runtime_api::client::http::HttpConnector`) on reqwest:
//! redirects are never followed (the SDK handles every status itself), the
//! connect timeout is reqwest's, and the read timeout runs until the
//! response headers arrive, on the SDK's sleep, as in the SDK's own client.
//! Errors are classified for the SDK's retry strategy: timeouts and broken
//! connections are transient; a certificate failure
//! ([`azp_task::tls::TlsFailure`]) is not, so it fails at once with advice.
//! The published reqwest adapters (`aws-smithy-http-client-reqwest` 0.1.0,
//! `smithy-transport-reqwest` 0.1.0) retry certificate failures or nothing
//! at all, which is why this one exists.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_async::rt::sleep::AsyncSleep as _;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use azp_task::Logger;
use azp_task::proxy::AgentProxy;
use azp_task::tls::{AgentTls, TlsFailure};

/// Hosts that never go through a proxy besides loopback: the EC2 instance
/// metadata and ECS container credential addresses, which only answer on
/// the machine itself (IMDSv2 even refuses proxied requests).
pub const METADATA_HOSTS: &[&str] = &["169.254.169.254", "169.254.170.2", "fd00:ec2::254"];

/// The SDK's HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("The HTTPS client for AWS requests cannot be created: {0}")]
pub struct HttpClientError(String);

/// The merged `NO_PROXY` entries for child processes: the job's own, the
/// agent's bypass hosts, loopback and [`METADATA_HOSTS`].
#[must_use]
pub fn no_proxy_entries(proxy: &AgentProxy) -> Vec<String> {
    proxy.no_proxy_entries(METADATA_HOSTS)
}

/// Build the SDK's HTTP client over the agent's `proxy` and certificate
/// settings `tls`. Logs the proxy in use on `log` (debug).
///
/// # Errors
/// [`HttpClientError`] when the TLS configuration cannot be built (the
/// agent's client key is of a kind rustls cannot sign with, or the platform
/// verifier refuses the extra roots).
pub fn sdk_http_client(
    proxy: Option<&AgentProxy>,
    tls: Option<&AgentTls>,
    log: &Logger,
) -> Result<SharedHttpClient, HttpClientError> {
    if let Some(p) = proxy {
        log.debug(&format!("AWS requests use the agent's proxy {}", p.url()));
    }
    // Built once here so that a bad setting fails now, not at the first call.
    let base = Base {
        proxy: proxy.cloned(),
        tls: tls.cloned(),
    };
    base.client(None)?;
    Ok(ReqwestHttpClient {
        base: Arc::new(base),
        connectors: Arc::default(),
    }
    .into_shared())
}

#[derive(Debug)]
struct Base {
    proxy: Option<AgentProxy>,
    tls: Option<AgentTls>,
}

impl Base {
    fn client(
        &self,
        connect_timeout: Option<Duration>,
    ) -> Result<reqwest::Client, HttpClientError> {
        // HTTP/1.1 only, as the SDK's own client: AWS's regional endpoints
        // do not all speak HTTP/2.
        let mut builder = azp_task::http::client_builder(
            self.proxy.as_ref(),
            METADATA_HOSTS,
            self.tls.as_ref(),
            &[b"http/1.1"],
        )
        .map_err(|e| HttpClientError(e.to_string()))?
        .redirect(reqwest::redirect::Policy::none())
        .http1_only();
        if let Some(t) = connect_timeout {
            builder = builder.connect_timeout(t);
        }
        builder.build().map_err(|e| HttpClientError(e.to_string()))
    }
}

/// The connect and read timeouts a connector was made for.
type Timeouts = (Option<Duration>, Option<Duration>);

/// One reqwest client (and connection pool) per distinct timeout setting.
#[derive(Debug, Clone)]
struct ReqwestHttpClient {
    base: Arc<Base>,
    connectors: Arc<Mutex<HashMap<Timeouts, SharedHttpConnector>>>,
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| {
                let client = self.base.client(key.0);
                ReqwestConnector {
                    client: client.map_err(|e| Arc::new(e.to_string())),
                    read_timeout: key.1,
                    sleep: components.sleep_impl(),
                }
                .into_shared()
            })
            .clone()
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("reqwest", None))
    }
}

#[derive(Debug)]
struct ReqwestConnector {
    // Built with settings `sdk_http_client` already built once, so an Err
    // here is only reported, per request.
    client: Result<reqwest::Client, Arc<String>>,
    read_timeout: Option<Duration>,
    sleep: Option<aws_smithy_async::rt::sleep::SharedAsyncSleep>,
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(c) => c.clone(),
            Err(e) => {
                let e = std::io::Error::other(e.to_string());
                return HttpConnectorFuture::ready(Err(ConnectorError::other(Box::new(e), None)));
            }
        };
        let read_timeout = self.read_timeout.zip(self.sleep.clone());
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let host = request.uri().host().map(str::to_owned);
            let (parts, body) = request.into_parts();
            let request = reqwest::Request::try_from(http::Request::from_parts(
                parts,
                reqwest::Body::wrap(body),
            ))
            .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let send = client.execute(request);
            let response = match read_timeout {
                None => send.await,
                Some((duration, sleep)) => {
                    let timer = sleep.sleep(duration);
                    tokio::pin!(send, timer);
                    tokio::select! {
                        r = &mut send => r,
                        () = &mut timer => {
                            let e = std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!("no response from {} within {} s", host.as_deref().unwrap_or("the server"), duration.as_secs_f64()),
                            );
                            return Err(ConnectorError::timeout(Box::new(e)));
                        }
                    }
                }
            }
            .map_err(|e| classify(e, host.as_deref()))?;
            let response: http::Response<reqwest::Body> = response.into();
            let (parts, body) = response.into_parts();
            HttpResponse::try_from(http::Response::from_parts(
                parts,
                SdkBody::from_body_1_x(body),
            ))
            .map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

/// The SDK's view of a transport failure: what its retry strategy does
/// with it. A certificate failure is final; a timeout, a refused or reset
/// connection is transient.
fn classify(e: reqwest::Error, host: Option<&str>) -> ConnectorError {
    if let Some(failure) = TlsFailure::find(&e, host) {
        return ConnectorError::other(Box::new(failure), None);
    }
    let e = e.without_url();
    if e.is_timeout() {
        ConnectorError::timeout(Box::new(e))
    } else if e.is_connect() {
        ConnectorError::io(Box::new(e)).never_connected()
    } else if e.is_request() || e.is_body() {
        ConnectorError::io(Box::new(e))
    } else {
        ConnectorError::other(Box::new(e), None)
    }
}
