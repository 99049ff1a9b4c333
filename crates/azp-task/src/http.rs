//! The HTTP client every non-AWS request of a task uses.
//!
//! The workspace uses one TLS stack, rustls with the ring provider, for
//! reqwest and the AWS SDK alike: ring cross-compiles with a plain C cross
//! compiler, and one stack keeps binaries small. Certificates are checked
//! against the operating system's trust store (rustls-platform-verifier), so
//! a corporate root CA installed on the agent works. The agent's proxy is
//! applied with its bypass list and the job's own `NO_PROXY` (see
//! [`crate::proxy`]); without one, `HTTPS_PROXY`/`NO_PROXY` apply.

use std::time::Duration;

use crate::proxy::AgentProxy;

/// The user agent of every request, so server logs show who called.
pub const USER_AGENT: &str = concat!("azp-aws-tasks/", env!("CARGO_PKG_VERSION"));

/// Install ring as the process's rustls provider. Safe to call repeatedly.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Build the HTTP client, honouring the agent's proxy.
///
/// # Errors
/// When the TLS configuration cannot be built (no usable trust store).
pub fn client(proxy: Option<&AgentProxy>) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(15));
    // The agent's proxy replaces whatever HTTP(S)_PROXY the host has (its
    // NO_PROXY is merged in); without one, reqwest honours those variables
    // as curl and the AWS CLI do.
    if let Some(p) = proxy {
        builder = builder.no_proxy().proxy(p.reqwest_proxy(&[]));
    }
    builder.build()
}
