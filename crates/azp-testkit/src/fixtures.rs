//! The usual setting of a task test: an `AWS` connection with Use OIDC, the
//! loopback OIDC endpoint, moto as AWS, and the AWS CLI on `PATH`.

use std::path::PathBuf;

use aws_clients::names;

use crate::{Agent, Endpoint, IssuerKind, Moto, OidcConfig, OidcServer, TaskRun};

/// The service connection id the fixtures use.
pub const CONNECTION_ID: &str = "6a0e3c52-8f1d-4b7a-9c2e-3d4f5a6b7c8d";
/// The service connection's name (in the token's `sub`).
pub const CONNECTION_NAME: &str = "aws-prod";
/// The role the connection assumes.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/deploy";
/// The assumed-role ARN moto reports for [`ROLE_ARN`] with the default session name.
pub const ASSUMED_ROLE_ARN: &str = "arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools";

/// `tasks/<name>` in the workspace.
#[must_use]
pub fn task_dir(name: &str) -> PathBuf {
    crate::workspace_root().join("tasks").join(name)
}

/// An OIDC endpoint emulation that knows [`CONNECTION_ID`].
#[must_use]
pub fn oidc_server() -> OidcServer {
    oidc_server_issued_by(IssuerKind::AzureDevOps)
}

/// As [`oidc_server`], with tokens of the given issuer.
#[must_use]
pub fn oidc_server_issued_by(issuer: IssuerKind) -> OidcServer {
    OidcServer::start(
        OidcConfig {
            issuer,
            ..OidcConfig::default()
        }
        .with_connection(CONNECTION_ID, CONNECTION_NAME),
    )
}

/// As [`oidc_server`], over HTTPS with a certificate from the test CA
/// ([`crate::tls::TestPki`]), which no system trusts; with
/// `require_client_certificate`, only a client presenting the test client
/// certificate gets through the handshake.
#[must_use]
pub fn https_oidc_server(require_client_certificate: bool) -> OidcServer {
    OidcServer::start_with_tls(
        OidcConfig::default().with_connection(CONNECTION_ID, CONNECTION_NAME),
        Some(crate::tls::TestPki::shared().server_config(require_client_certificate)),
    )
}

/// moto behind HTTPS with a certificate from the test CA, as
/// [`https_oidc_server`] serves it.
#[must_use]
pub fn https_moto(require_client_certificate: bool) -> crate::fault_proxy::FaultProxy {
    crate::fault_proxy::FaultProxy::start_with_tls(
        Moto::shared().port(),
        Vec::new(),
        Some(crate::tls::TestPki::shared().server_config(require_client_certificate)),
    )
}

/// A connection with Use OIDC and [`ROLE_ARN`] on the access-keys scheme
/// (keys left empty), as a connection moved from the AWS Toolkit or made on
/// that scheme has.
#[must_use]
pub fn oidc_connection() -> Endpoint {
    Endpoint::aws()
        .param("useOIDC", "true")
        .param("assumeRoleArn", ROLE_ARN)
}

/// As [`oidc_connection`], on the scheme without key fields ("OIDC or
/// role, no stored keys"), as a new connection of this extension's type.
#[must_use]
pub fn oidc_connection_without_keys() -> Endpoint {
    Endpoint::aws_without_keys()
        .param("useOIDC", "true")
        .param("assumeRoleArn", ROLE_ARN)
}

/// A step of task `dir` with no AWS config or credentials files of the
/// machine running the tests.
#[must_use]
pub fn isolated(dir: impl Into<PathBuf>) -> Agent {
    Agent::new(dir.into())
        .env(names::AWS_CONFIG_FILE, "/nonexistent/aws-config")
        .env(
            names::AWS_SHARED_CREDENTIALS_FILE,
            "/nonexistent/aws-credentials",
        )
}

/// A step of task `dir` using the OIDC connection in `awsCredentials`,
/// region eu-west-1, moto as every AWS endpoint, and the AWS CLI on `PATH`.
#[must_use]
pub fn oidc_step(dir: impl Into<PathBuf>, oidc: &OidcServer) -> Agent {
    isolated(dir)
        .with_test_tools()
        .env(names::AWS_ENDPOINT_URL, &Moto::shared().endpoint())
        .service_connection("awsCredentials", CONNECTION_ID, oidc_connection())
        .input("regionName", "eu-west-1")
        .oidc(oidc)
}

/// The leak check, with every token `oidc` issued counted as a secret, and
/// the check that no error is shown as a Rust debug rendering.
pub fn assert_no_leaks(run: &TaskRun, oidc: &OidcServer) {
    let tokens = oidc.issued_tokens();
    run.assert_no_leaks(&tokens.iter().map(String::as_str).collect::<Vec<_>>());
    run.assert_no_debug_renderings();
}

/// Whether process `pid` has ended. A zombie (state Z) has ended too: in
/// some sandboxes nothing reaps orphans.
#[must_use]
pub fn process_ended(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with('Z')
    })
}

/// `node` on the host's `PATH`, as the agent would run it.
///
/// # Panics
/// When there is none.
#[must_use]
pub fn node() -> PathBuf {
    let path = crate::harness::host_path();
    let sep = if cfg!(windows) { ';' } else { ':' };
    let exe = if cfg!(windows) { "node.exe" } else { "node" };
    path.split(sep)
        .map(|d| PathBuf::from(d).join(exe))
        .find(|p| p.is_file())
        .expect("node on PATH")
}
