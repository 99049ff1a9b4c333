//! Test support shared by the workspace's tests.
//!
//! - [`harness`]: an agent harness that runs a task binary with the
//!   environment the Azure Pipelines agent builds, and reads its output back
//!   by the agent's rules;
//! - [`commands`]: the agent's logging-command parser, written independently
//!   of the writer under test;
//! - [`oidc_server`]: a loopback emulation of Azure DevOps' OIDC token endpoint;
//! - [`moto`]: a moto server on loopback as AWS;
//! - [`s3`]: a blocking S3 client for checking what a bucket holds;
//! - [`scripted`]: a scripted HTTP server for failures real services will
//!   not produce on demand;
//! - [`devops`]: a loopback emulation of the Azure DevOps REST endpoints the
//!   migration kit calls;
//! - [`fault_proxy`]: a proxy in front of moto that injects errors, dropped
//!   connections and delays, and answers or rewrites CloudFormation calls;
//! - [`cloudformation`]: CloudFormation answers in AWS's shape for that proxy;
//! - [`tls`]: a test PKI and HTTPS for the loopback servers;
//! - [`wine`]: the win-x64 task binaries under Wine;
//! - [`leak`]: the check that no secret appears in plain text.

pub mod cloudformation;
pub mod commands;
pub mod devops;
pub mod fault_proxy;
pub mod fixtures;
pub mod harness;
pub mod leak;
pub mod moto;
pub mod oidc_server;
pub mod s3;
pub mod scripted;
mod serve;
pub mod tls;
pub mod wine;

pub use harness::{Agent, Endpoint, StepResult, TaskRun};
pub use moto::Moto;
pub use oidc_server::{IssuerKind, OidcConfig, OidcServer};
pub use serve::Handshakes;

use std::path::PathBuf;

/// The workspace root.
#[must_use]
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Where `scripts/install-test-deps` puts the test tools: `AZP_TEST_TOOLS`,
/// else `<workspace>/.tools`.
#[must_use]
#[allow(clippy::disallowed_methods)] // test configuration, read once
pub fn tools_dir() -> PathBuf {
    std::env::var_os("AZP_TEST_TOOLS")
        .map_or_else(|| workspace_root().join(".tools"), PathBuf::from)
}

/// Runs the `sh` script `script` (with `args` as `$0`, `$1`, ...) when this
/// test process ends, however it ends: the script first waits on a pipe
/// whose writing end closes only with the process. For what statics hold
/// (a Wine prefix, the test PKI), which Rust never drops. Keep the child.
///
/// # Panics
/// When `sh` cannot be started.
pub(crate) fn at_exit(script: &str, args: &[&std::ffi::OsStr]) -> std::process::Child {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("read -r _ || true\n{script}"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the cleanup at exit")
}
