//! Change sets: replacing one of the same name, waiting for it, reading
//! its changes, and recognising an empty one.
//!
//! CloudFormation reports "nothing to change" in two shapes: a
//! `ValidationError` from the call itself ("No updates are to be
//! performed.", which moto also gives when parameters are sent), or a
//! change set that ends `FAILED` with "The submitted information didn't
//! contain changes." Both mean success. The empty change set is deleted:
//! the toolkit left it behind as `FAILED`.

use aws_clients::{AwsError, describe};
use aws_sdk_cloudformation::Client;
use azp_task::TaskContext;

use crate::wait::Waiter;

/// One change of a change set (`ResourceChange`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `Add`, `Modify`, `Remove`, `Import` or `Dynamic`.
    pub action: String,
    /// `LogicalResourceId`.
    pub logical_resource_id: String,
    /// `PhysicalResourceId`, when the resource exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_resource_id: Option<String>,
    /// `ResourceType`.
    pub resource_type: String,
    /// `Replacement` for a `Modify`: `True`, `False` or `Conditional`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// A change set as the task reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// Its name.
    pub name: String,
    /// Its id (ARN).
    pub id: String,
    /// The stack's id.
    pub stack_id: String,
    /// `Status`.
    pub status: String,
    /// `StatusReason`.
    pub reason: Option<String>,
    /// `ExecutionStatus`.
    pub execution_status: Option<String>,
    /// Every change, over all pages.
    pub changes: Vec<Change>,
}

/// Whether a message is one of CloudFormation's "nothing to change"
/// messages (the toolkit's rule, toolkit-compat.md §8.4).
#[must_use]
pub fn is_no_changes(message: &str) -> bool {
    message.contains("No updates are to be performed")
        || message.contains("didn't contain changes")
        || message.contains("did not contain changes")
}

/// The change set, or `None` when it does not exist.
///
/// # Errors
/// Failures other than `ChangeSetNotFound`.
pub async fn find(client: &Client, stack: &str, name: &str) -> Result<Option<ChangeSet>, AwsError> {
    let mut token: Option<String> = None;
    let mut found: Option<ChangeSet> = None;
    loop {
        let out = match client
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = describe(&e);
                if e.code().starts_with("ChangeSetNotFound")
                    || (e.code() == "ValidationError" && e.message.contains("does not exist"))
                {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        let set = found.get_or_insert_with(|| ChangeSet {
            name: out.change_set_name().unwrap_or(name).to_owned(),
            id: out.change_set_id().unwrap_or_default().to_owned(),
            stack_id: out.stack_id().unwrap_or_default().to_owned(),
            status: out
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: out.status_reason().map(str::to_owned),
            execution_status: out.execution_status().map(|s| s.as_str().to_owned()),
            changes: Vec::new(),
        });
        for c in out.changes() {
            if let Some(rc) = c.resource_change() {
                set.changes.push(Change {
                    action: rc
                        .action()
                        .map(|a| a.as_str().to_owned())
                        .unwrap_or_default(),
                    logical_resource_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    physical_resource_id: rc
                        .physical_resource_id()
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: rc.replacement().map(|r| r.as_str().to_owned()),
                });
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// Delete change set `name` of `stack` if it exists, and wait until it is
/// gone, so that a new one of the same name can be created.
///
/// # Errors
/// `DescribeChangeSet`/`DeleteChangeSet` failures, or the wait limit.
pub async fn delete(
    ctx: &TaskContext,
    client: &Client,
    waiter: &Waiter,
    stack: &str,
    name: &str,
) -> Result<bool, AwsError> {
    if find(client, stack, name).await?.is_none() {
        return Ok(false);
    }
    client
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let mut round = 0;
    while let Some(set) = find(client, stack, name).await? {
        match set.status.as_str() {
            "DELETE_COMPLETE" => break,
            "DELETE_FAILED" => {
                return Err(AwsError {
                    kind: aws_clients::AwsErrorKind::Service,
                    code: Some("DELETE_FAILED".into()),
                    message: format!(
                        "the existing change set {name} could not be deleted ({}); delete it by hand or choose \
                         another changeSetName",
                        set.reason.as_deref().unwrap_or("no reason given")
                    ),
                    status: None,
                    request_id: None,
                });
            }
            _ => {}
        }
        if !waiter.nap(ctx, round).await {
            break;
        }
        round += 1;
    }
    Ok(true)
}

/// Wait until change set `name` is no longer being created, and give it
/// with its changes.
///
/// # Errors
/// `DescribeChangeSet` failures; a change set that vanished is reported
/// as `ChangeSetNotFound`.
pub async fn settle(
    ctx: &TaskContext,
    client: &Client,
    waiter: &Waiter,
    stack: &str,
    name: &str,
) -> Result<Option<ChangeSet>, AwsError> {
    let mut round = 0;
    loop {
        let Some(set) = find(client, stack, name).await? else {
            return Ok(None);
        };
        if !matches!(set.status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS") {
            return Ok(Some(set));
        }
        if !waiter.nap(ctx, round).await {
            return Ok(Some(set));
        }
        round += 1;
    }
}

/// The changes as a plain-text table: action, logical id, type,
/// replacement.
#[must_use]
pub fn table(changes: &[Change]) -> String {
    let rows: Vec<[String; 4]> = changes
        .iter()
        .map(|c| {
            [
                c.action.clone(),
                c.logical_resource_id.clone(),
                c.resource_type.clone(),
                c.replacement.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "Action".to_owned(),
        "Logical ID".to_owned(),
        "Type".to_owned(),
        "Replacement".to_owned(),
    ];
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 4]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(&header)];
    out.extend(rows.iter().map(line));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_no_change_messages_are_recognised() {
        assert!(is_no_changes("No updates are to be performed."));
        assert!(is_no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(!is_no_changes(
            "Template format error: unresolved resource dependencies"
        ));
    }

    #[test]
    fn the_table_lines_up() {
        let t = table(&[
            Change {
                action: "Add".into(),
                logical_resource_id: "Queue".into(),
                physical_resource_id: None,
                resource_type: "AWS::SQS::Queue".into(),
                replacement: None,
            },
            Change {
                action: "Modify".into(),
                logical_resource_id: "Topic".into(),
                physical_resource_id: Some("arn:aws:sns:x".into()),
                resource_type: "AWS::SNS::Topic".into(),
                replacement: Some("True".into()),
            },
        ]);
        assert_eq!(
            t,
            "Action  Logical ID  Type             Replacement\n\
             Add     Queue       AWS::SQS::Queue  -\n\
             Modify  Topic       AWS::SNS::Topic  True"
        );
    }
}
