//! The AWS SDK plumbing every AWS task shares beyond credentials.
//!
//! - [`error`]: an SDK error as a pipeline author can read it: the
//!   service's code, message and request id, or what went wrong on the way
//!   there, never the SDK's debug rendering; and the advice that goes with
//!   the common codes, worded once for every task.
//! - [`names`]: every `AWS_*` environment variable the tasks use.
//! - [`http`]: the SDK's HTTPS client, with the agent's proxy and the job's
//!   `NO_PROXY` merged.
//! - [`s3`] and [`cloudformation`]: clients built from the session's SDK
//!   configuration, and the one-object upload with every per-object setting.
//! - [`wire`]: request and response lines for `logRequest`/`logResponse`.
//!
//! Credentials live in `aws-connection`; this crate knows no particular
//! task and no service connection.

pub mod cloudformation;
pub mod error;
pub mod http;
pub mod names;
pub mod s3;
pub mod wire;

pub use error::{AwsError, AwsErrorKind, describe};
