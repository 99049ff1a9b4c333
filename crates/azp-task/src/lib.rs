//! The Azure Pipelines agent/task contract for native task binaries.
//!
//! A task binary is started by the agent (through the Node launcher) with
//! everything it needs in environment variables, and talks back through
//! logging commands on stdout. This crate is that contract and nothing else:
//! it knows nothing of AWS.
//!
//! - [`env`](mod@env): the environment snapshot and every variable name used.
//! - [`inputs`]: `INPUT_*` into a typed struct declared once per task.
//! - [`variables`]: public and secret pipeline variables.
//! - [`endpoint`]: service connections (`ENDPOINT_*`).
//! - [`log`]: the logging-command writer, escaping and secret masking.
//! - [`oidc`] and [`jwt`]: the job's OIDC token for a service connection.
//! - [`proxy`], [`tls`] and [`http`]: the agent's proxy and certificate
//!   settings, and the shared HTTP client.
//! - [`child`]: the scrubbed environment for child processes.
//! - [`time`]: the injectable clock, and the one backoff type of every retry.
//! - [`run()`]: the entry point a task's `main` calls.

pub mod child;
pub mod endpoint;
pub mod env;
pub mod http;
pub mod inputs;
pub mod jwt;
pub mod log;
pub mod oidc;
pub mod proxy;
mod run;
pub mod secret;
pub mod time;
pub mod tls;
pub mod variables;

pub use env::Env;
pub use inputs::{InputError, InputKind, InputSpec, Inputs, TaskInputs};
pub use log::{Issue, IssueKind, Logger, TaskResult, VariableOptions};
pub use run::{TaskContext, TaskError, TaskFailure, on_abort, render_error, run, run_with};
pub use secret::Secret;
