//! AWS credentials and region for Azure Pipelines tasks, from the `AWS`
//! service connection, the job's variables, or the agent's own setup.
//!
//! Sources, in order (see [`settings`]):
//! 1. **OIDC**: the connection has Use OIDC and a role. The job's Azure
//!    DevOps OIDC token is exchanged through STS `AssumeRoleWithWebIdentity`.
//!    If that fails the task fails, with the token's `iss`/`aud`/`sub` and a
//!    trust policy when access is denied; it never falls back silently.
//! 2. **Keys** on the connection, optionally exchanged through `AssumeRole`
//!    (with `ExternalId`).
//! 3. **A role only**: `AssumeRole` with the agent's ambient credentials.
//! 4. **No connection**: the `AWS.*` variables, else the SDK's default chain.
//!
//! Sessions last `aws.rolecredential.maxduration` seconds (default 3600) and
//! refresh themselves five minutes before expiry ([`provider`]), for SDK
//! clients and for child processes started later. Every key and token is
//! registered as a secret before anything else is printed. This crate knows
//! no particular task.

pub mod child;
pub mod container;
pub mod error;
pub mod iam;
pub mod inputs;
pub mod provider;
pub mod region;
mod session;
pub mod settings;
pub mod signer;
mod sources;
pub mod sts;

pub use child::ChildCredentials;
pub use error::ConnectError;
pub use provider::{Clock, ManualClock, RefreshingCredentials, SystemClock};
pub use region::ResolvedRegion;
pub use session::{AwsSession, CallerIdentity, ConnectOptions, connect, connect_with_clock};
pub use sources::AmbientCredentials;
