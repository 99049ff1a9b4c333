//! The HTTPS client of every AWS SDK client the tasks build.
//!
//! rustls with ring, the operating system's trust store, and the agent's
//! proxy: `Agent.ProxyUrl` with its credentials, and its bypass list turned
//! into `NO_PROXY` rules (patterns that are not plain hosts or domain
//! suffixes cannot be expressed there and are reported). Without an agent
//! proxy, `HTTPS_PROXY`/`NO_PROXY` from the environment apply, as in the AWS
//! CLI.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use azp_task::Logger;
use azp_task::proxy::AgentProxy;

use crate::error::CredentialsError;

/// Hosts that never go through a proxy: loopback, and the EC2 instance
/// metadata and ECS container credential addresses, which only answer on
/// the machine itself (IMDSv2 even refuses proxied requests).
pub const DIRECT_HOSTS: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "169.254.169.254",
    "169.254.170.2",
    "fd00:ec2::254",
];

/// `NO_PROXY` value: the agent's bypass hosts plus [`DIRECT_HOSTS`].
#[must_use]
pub fn no_proxy_list(bypass: &[String]) -> String {
    bypass
        .iter()
        .map(String::as_str)
        .chain(DIRECT_HOSTS.iter().copied())
        .collect::<Vec<_>>()
        .join(",")
}

/// Build the SDK's HTTP client.
///
/// # Errors
/// [`CredentialsError::Http`] when the proxy URL is unusable.
pub fn sdk_http_client(
    proxy: Option<&AgentProxy>,
    log: &Logger,
) -> Result<SharedHttpClient, CredentialsError> {
    let config = match proxy {
        None => ProxyConfig::from_env(),
        Some(p) => {
            let mut c = ProxyConfig::all(p.url().as_str())
                .map_err(|e| CredentialsError::Http(e.to_string()))?;
            if let (Some(user), Some(pass)) = (p.username(), p.password()) {
                c = c.with_basic_auth(user, pass.expose());
            }
            let (hosts, skipped) = p.no_proxy();
            c = c.no_proxy(no_proxy_list(&hosts));
            for pattern in skipped {
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
