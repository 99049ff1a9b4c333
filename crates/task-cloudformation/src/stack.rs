//! A stack as `DescribeStacks` shows it, and what its status allows.
//!
//! The toolkit took any `DescribeStacks` error for "the stack does not
//! exist" and then tried to create it. Here only CloudFormation's own
//! answer for a missing stack (`ValidationError`, "Stack with id … does not
//! exist") means create mode; access denied, throttling and network
//! failures are errors with their cause.

use aws_clients::{AwsError, describe};
use aws_sdk_cloudformation::Client;

/// One stack output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `OutputKey`.
    pub key: String,
    /// `OutputValue` (empty when CloudFormation gives none).
    pub value: String,
    /// `Description`.
    pub description: Option<String>,
    /// `ExportName`.
    pub export_name: Option<String>,
}

/// What the task needs of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The stack id (ARN).
    pub id: String,
    /// The stack name.
    pub name: String,
    /// `StackStatus`, such as `CREATE_COMPLETE`.
    pub status: String,
    /// `StackStatusReason`.
    pub reason: Option<String>,
    /// `Outputs`, in CloudFormation's order.
    pub outputs: Vec<Output>,
    /// `EnableTerminationProtection`.
    pub termination_protection: bool,
}

/// What a stack's status lets the task do (CloudFormation User Guide,
/// "Stack status codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// An operation is running; wait for it to end.
    InProgress,
    /// A stack that only ever had change sets (`REVIEW_IN_PROGRESS`): it
    /// holds no resources; a change set creates it.
    Review,
    /// The first creation failed and was rolled back (`ROLLBACK_COMPLETE`):
    /// no resources, and it cannot be updated, only deleted.
    RolledBackCreate,
    /// A rollback or deletion failed: a person must act first.
    Stuck,
    /// It can be updated.
    Updatable,
}

impl Stack {
    /// What its status allows.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        disposition(&self.status)
    }
}

/// What `status` allows; see [`Disposition`].
#[must_use]
pub fn disposition(status: &str) -> Disposition {
    match status {
        "REVIEW_IN_PROGRESS" => Disposition::Review,
        "ROLLBACK_COMPLETE" => Disposition::RolledBackCreate,
        "ROLLBACK_FAILED" | "DELETE_FAILED" | "UPDATE_ROLLBACK_FAILED" | "DELETE_COMPLETE" => {
            Disposition::Stuck
        }
        s if s.ends_with("_IN_PROGRESS") => Disposition::InProgress,
        _ => Disposition::Updatable,
    }
}

/// Whether `status` is final: no operation is running on the stack.
#[must_use]
pub fn is_settled(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS"
}

/// Whether an error from `DescribeStacks` is CloudFormation saying the
/// stack does not exist.
#[must_use]
pub fn is_missing(e: &AwsError) -> bool {
    e.code() == "ValidationError" && e.message.contains("does not exist")
}

/// The stack named (or with the id) `name`, or `None` when CloudFormation
/// says it does not exist.
///
/// # Errors
/// Any other failure, with CloudFormation's code, message and request id:
/// `AccessDenied` when the role lacks `cloudformation:DescribeStacks`,
/// throttling once the SDK's retries are spent, network failures.
pub async fn find(client: &Client, name: &str) -> Result<Option<Stack>, AwsError> {
    match client.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().map(|s| Stack {
            id: s.stack_id().unwrap_or_default().to_owned(),
            name: s.stack_name().unwrap_or_default().to_owned(),
            status: s
                .stack_status()
                .map(|st| st.as_str().to_owned())
                .unwrap_or_default(),
            reason: s.stack_status_reason().map(str::to_owned),
            outputs: s
                .outputs()
                .iter()
                .map(|o| Output {
                    key: o.output_key().unwrap_or_default().to_owned(),
                    value: o.output_value().unwrap_or_default().to_owned(),
                    description: o.description().map(str::to_owned),
                    export_name: o.export_name().map(str::to_owned),
                })
                .collect(),
            termination_protection: s.enable_termination_protection().unwrap_or(false),
        })),
        Err(e) => {
            let e = describe(&e);
            if is_missing(&e) { Ok(None) } else { Err(e) }
        }
    }
}

/// A `ClientRequestToken` (or change set `ClientToken`) for one mutating
/// call: the SDK resends the same request on a retry, so CloudFormation
/// runs the call once however often it arrives (CloudFormation API
/// reference, `ClientRequestToken`: `[a-zA-Z0-9][-a-zA-Z0-9]*`, 1–128).
#[must_use]
pub fn request_token(action: &str) -> String {
    format!(
        "azp-{}-{:016x}{:016x}",
        action.to_ascii_lowercase(),
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_task_may_do() {
        for (status, d) in [
            ("CREATE_COMPLETE", Disposition::Updatable),
            ("UPDATE_COMPLETE", Disposition::Updatable),
            ("UPDATE_ROLLBACK_COMPLETE", Disposition::Updatable),
            ("IMPORT_COMPLETE", Disposition::Updatable),
            ("CREATE_FAILED", Disposition::Updatable),
            ("UPDATE_FAILED", Disposition::Updatable),
            ("CREATE_IN_PROGRESS", Disposition::InProgress),
            (
                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                Disposition::InProgress,
            ),
            ("UPDATE_ROLLBACK_IN_PROGRESS", Disposition::InProgress),
            ("REVIEW_IN_PROGRESS", Disposition::Review),
            ("ROLLBACK_COMPLETE", Disposition::RolledBackCreate),
            ("UPDATE_ROLLBACK_FAILED", Disposition::Stuck),
            ("ROLLBACK_FAILED", Disposition::Stuck),
            ("DELETE_FAILED", Disposition::Stuck),
        ] {
            assert_eq!(disposition(status), d, "{status}");
        }
        assert!(is_settled("UPDATE_ROLLBACK_COMPLETE"));
        assert!(is_settled("REVIEW_IN_PROGRESS"));
        assert!(!is_settled("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
    }

    #[test]
    fn request_tokens_have_cloudformations_shape() {
        let t = request_token("CreateStack");
        assert!(t.len() <= 128);
        assert!(t.starts_with("azp-createstack-"));
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_ne!(t, request_token("CreateStack"));
    }
}
