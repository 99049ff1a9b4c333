//! Child processes of pipeline tasks.
//!
//! - [`args`]: split argument inputs the way existing pipelines expect
//!   (task-lib's `ToolRunner.line()` rule, plus single-quoted words).
//! - [`which`]: find a program on `PATH` (skipping WSL's `bash.exe` stub).
//! - [`child`]: run a child with the task's environment, stream its output,
//!   watch stderr, forward cancellation to its whole process group, and
//!   report how it ended.
//!
//! A child's output is the one thing that does not go through the
//! logging-command writer: it is passed through as it comes, so the
//! script's own `##vso[...]` commands reach the agent untouched. The agent
//! masks registered secrets in it.

pub mod args;
pub mod child;
pub mod which;

pub use args::{Arguments, arguments};
pub use child::{ChildError, ChildSpec, Outcome, run_child};
pub use which::find_program;
