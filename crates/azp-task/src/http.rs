//! The HTTP client every non-AWS request of a task uses.
//!
//! The workspace uses one TLS stack, rustls with the ring provider, for
//! reqwest and the AWS SDK alike: ring cross-compiles with a plain C cross
//! compiler, and one stack keeps binaries small. Certificates are checked
//! against the operating system's trust store (rustls-platform-verifier), so
//! a corporate root CA installed on the agent works, plus the agent's own
//! `--sslcacert` roots, and the agent's client certificate is presented
//! (see [`crate::tls`]). The agent's proxy is applied with its bypass list
//! and the job's own `NO_PROXY` (see [`crate::proxy`]); without one,
//! `HTTPS_PROXY`/`NO_PROXY` apply.

use std::time::Duration;

use crate::proxy::AgentProxy;
use crate::tls::{AgentTls, TlsSettingsError};

/// The user agent of every request, so server logs show who called.
pub const USER_AGENT: &str = concat!("azp-aws-tasks/", env!("CARGO_PKG_VERSION"));

/// Install ring as the process's rustls provider. Safe to call repeatedly.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent's certificate settings cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsSettingsError),
    /// reqwest refused the configuration.
    #[error("{0}")]
    Build(String),
}

/// Build the HTTP client, honouring the agent's proxy and its certificate
/// settings (`tls`, from [`crate::TaskContext::agent_tls`]).
///
/// # Errors
/// [`ClientError`] when the TLS configuration cannot be built.
pub fn client(
    proxy: Option<&AgentProxy>,
    tls: Option<&AgentTls>,
) -> Result<reqwest::Client, ClientError> {
    client_builder(proxy, &[], tls, &[b"http/1.1"]).and_then(|b| {
        b.connect_timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))
    })
}

/// The builder behind [`client`], for clients that set their own timeouts
/// and redirect policy (the AWS SDK's): the user agent, the TLS
/// configuration of [`crate::tls::client_config`] with `alpn`, and the
/// agent's proxy, which `extra_direct` hosts bypass besides its own list
/// (see [`AgentProxy::reqwest_proxy`]).
///
/// # Errors
/// [`ClientError::Tls`] when the TLS configuration cannot be built.
pub fn client_builder(
    proxy: Option<&AgentProxy>,
    extra_direct: &[&str],
    tls: Option<&AgentTls>,
    alpn: &[&[u8]],
) -> Result<reqwest::ClientBuilder, ClientError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .use_preconfigured_tls(crate::tls::client_config(tls, alpn)?);
    // The agent's proxy replaces whatever HTTP(S)_PROXY the host has (its
    // NO_PROXY is merged in); without one, reqwest honours those variables
    // as curl and the AWS CLI do.
    if let Some(p) = proxy {
        builder = builder.no_proxy().proxy(p.reqwest_proxy(extra_direct));
    }
    Ok(builder)
}

/// One cause of a transport failure as a log line shows it: its `Display`,
/// except for a TLS certificate error that rustls can only render with
/// `Debug` (`invalid peer certificate: Other(OtherError("…"))`, what the
/// Windows and macOS certificate verifiers report), which becomes
/// `invalid peer certificate: …` with the verifier's own message. Takes
/// any error of a source chain (an `std::io::Error` wrapping the rustls
/// error, as hyper passes it on, or the rustls error itself).
#[must_use]
pub fn cause_text(e: &(dyn std::error::Error + 'static)) -> String {
    match crate::tls::rustls_error(e) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => {
            format!("invalid peer certificate: {other}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_platform_verifier_failure_reads_without_debug_rendering() {
        let verifier = std::io::Error::other("OS Error -2146762482 (os error -2146762482)");
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
            rustls::OtherError(Arc::new(verifier)),
        ));
        // rustls itself renders it with Debug.
        assert!(tls.to_string().contains("Other(OtherError("), "{tls}");
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert_eq!(
            cause_text(&wrapped),
            "invalid peer certificate: OS Error -2146762482 (os error -2146762482)"
        );
        let other = std::io::Error::other("connection refused");
        assert_eq!(cause_text(&other), "connection refused");
    }
}
