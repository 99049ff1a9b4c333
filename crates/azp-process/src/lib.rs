//! Child processes of pipeline tasks.
//!
//! - [`args`]: split an argument string the way a POSIX shell would.
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

pub use args::{SplitError, split};
pub use child::{ChildError, ChildSpec, Outcome, run_child};
pub use which::find_program;
