//! The HTTPS client of every AWS SDK client the tasks build.
//!
//! rustls with ring and the operating system's trust store, and the agent's
//! proxy: `Agent.ProxyUrl` with its credentials, and, merged, the job's own
//! `NO_PROXY`, the agent's bypass hosts, loopback and the AWS metadata
//! addresses (see `azp_task::proxy`). Bypass entries that are not plain
//! hosts or domain suffixes cannot be expressed as `NO_PROXY` rules, which is
//! all the SDK's client understands, and are reported. Without an agent
//! proxy, `HTTPS_PROXY`/`NO_PROXY` from the environment apply, as in the AWS
//! CLI.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use azp_task::Logger;
use azp_task::proxy::AgentProxy;

/// Hosts that never go through a proxy besides loopback: the EC2 instance
/// metadata and ECS container credential addresses, which only answer on
/// the machine itself (IMDSv2 even refuses proxied requests).
pub const METADATA_HOSTS: &[&str] = &["169.254.169.254", "169.254.170.2", "fd00:ec2::254"];

/// The agent's proxy URL could not be used by the SDK's client.
#[derive(Debug, thiserror::Error)]
#[error("The agent's proxy URL cannot be used for AWS requests: {0}")]
pub struct ProxyConfigError(String);

/// The merged `NO_PROXY` entries for AWS clients and child processes: the
/// job's own, the agent's bypass hosts, loopback and [`METADATA_HOSTS`].
#[must_use]
pub fn no_proxy_entries(proxy: &AgentProxy) -> Vec<String> {
    proxy.no_proxy_entries(METADATA_HOSTS)
}

/// Build the SDK's HTTP client. Bypass entries that only the task's own
/// HTTP client can apply are reported on `log` as warnings.
///
/// # Errors
/// [`ProxyConfigError`] when the proxy URL is unusable.
pub fn sdk_http_client(
    proxy: Option<&AgentProxy>,
    log: &Logger,
) -> Result<SharedHttpClient, ProxyConfigError> {
    let config = match proxy {
        None => ProxyConfig::from_env(),
        Some(p) => {
            let mut c =
                ProxyConfig::all(p.url().as_str()).map_err(|e| ProxyConfigError(e.to_string()))?;
            if let (Some(user), Some(pass)) = (p.username(), p.password()) {
                c = c.with_basic_auth(user, pass.expose());
            }
            c = c.no_proxy(no_proxy_entries(p).join(","));
            for pattern in p.bypass_entries_without_host_form() {
                log.warning_line(&format!(
                    "The agent's proxy bypass entry '{pattern}' is not a host name or domain suffix; AWS requests matching it still go through the proxy."
                ));
            }
            log.debug(&format!("AWS requests use the agent's proxy {}", p.url()));
            c
        }
    };
    azp_task::http::install_crypto_provider();
    Ok(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                let mut builder = aws_smithy_http_client::Connector::builder()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
                builder.set_connector_settings(settings.cloned());
                if let Some(c) = components {
                    builder.set_sleep_impl(c.sleep_impl());
                }
                builder.proxy_config(config.clone()).build()
            },
        ),
    )
}
