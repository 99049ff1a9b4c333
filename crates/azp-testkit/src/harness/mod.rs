//! An agent harness: runs a task binary the way the Azure Pipelines agent does.
//!
//! [`Agent`] reads a task's `task.json`, takes the step's inputs, variables,
//! secret variables and service connections, and builds the environment the
//! agent's Node handler builds: `INPUT_*` for every declared input (default
//! first, then the step's value, trimmed; `filePath` inputs rooted, empty
//! ones set to the sources directory), public variables normalised plus
//! `VSTS_PUBLIC_VARIABLES`, `SECRET_*` plus `VSTS_SECRET_VARIABLES`,
//! `ENDPOINT_*` for every connection an input references and always for
//! `SystemVssConnection`, and the `SYSTEM_*`, `AGENT_*` and `BUILD_*` job
//! variables. It runs the task, parses its output into logging commands by
//! the agent's rules, masks secrets as the agent does, and decides the step
//! result as the agent does.
//!
//! Modules by concern:
//! - `endpoint`: service connections as the agent exports them;
//! - `step`: the step being built, and the environment the agent builds for it;
//! - `process`: running the task's process, with cancellation and a timeout;
//! - `output`: reading its output back by the agent's rules, and the
//!   assertions tests make on it;
//! - `masking`: what the agent masks, and how;
//! - `host`: what the agent's own host contributes.

mod endpoint;
mod host;
mod masking;
mod output;
mod process;
mod step;

pub use endpoint::Endpoint;
pub(crate) use host::host_path;
pub use output::{LoggedIssue, SetVariable, StepResult, TaskRun};
pub use step::Agent;
