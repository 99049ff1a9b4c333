//! The summary page (`task.uploadsummary`): the stack's status, the
//! changes, the outputs (secret ones masked), the duration and the reasons
//! of any failure.

use std::time::Duration;

use crate::deploy::{Mode, Outcome, Report};

/// Escape a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// The page as Markdown. `outcome` is `None` for a failed deploy, with
/// `error` the task's error message; outputs are shown as `***` when
/// `secret_outputs`.
#[must_use]
pub fn markdown(
    stack_name: &str,
    report: &Report,
    outcome: Option<Outcome>,
    error: Option<&str>,
    secret_outputs: bool,
    elapsed: Duration,
) -> String {
    let mut md = format!("### Stack {}\n\n| | |\n|---|---|\n", cell(stack_name));
    let result = match (outcome, error) {
        (Some(Outcome::Deployed), _) => "deployed",
        (Some(Outcome::NoChanges), _) => "no changes",
        (Some(Outcome::ChangeSetReady), _) => "change set ready for review",
        (None, _) => "**failed**",
    };
    md.push_str(&format!("| Result | {result} |\n"));
    if let Some(stack) = &report.stack {
        if !stack.status.is_empty() {
            md.push_str(&format!("| Status | `{}` |\n", cell(&stack.status)));
        }
        md.push_str(&format!("| Stack id | `{}` |\n", cell(&stack.id)));
    }
    if let Some(mode) = report.mode {
        let how = match &report.change_set {
            Some(cs) => format!("change set `{}`", cell(&cs.name)),
            None => "direct".to_owned(),
        };
        let what = match mode {
            Mode::Create if report.recreated => "re-create (the failed stack was deleted first)",
            Mode::Create => "create",
            Mode::Update => "update",
        };
        md.push_str(&format!("| Operation | {what}, {how} |\n"));
    }
    md.push_str(&format!("| Duration | {:.1} s |\n", elapsed.as_secs_f64()));

    if let Some(e) = error {
        md.push_str(&format!("\n**Error:** {}\n", cell(e)));
    }
    let failures: Vec<_> = report.events.iter().filter(|e| e.is_failure()).collect();
    if !failures.is_empty() {
        md.push_str("\n#### Failures\n\n| Time (UTC) | Stack | Logical id | Type | Status | Reason |\n|---|---|---|---|---|---|\n");
        for e in failures {
            let first = report.root_cause.as_ref().is_some_and(|c| c.id == e.id);
            md.push_str(&format!(
                "| {} | {} | {}{} | {} | {} | {} |\n",
                e.time_text(),
                cell(&e.stack_name),
                if first { "**first:** " } else { "" },
                cell(&e.logical_id),
                cell(&e.resource_type),
                cell(&e.status),
                cell(&e.reason)
            ));
        }
    }
    if let Some(cs) = &report.change_set
        && !cs.changes.is_empty()
    {
        md.push_str(
            "\n#### Changes\n\n| Action | Logical id | Type | Replacement |\n|---|---|---|---|\n",
        );
        for c in &cs.changes {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&c.action),
                cell(&c.logical_resource_id),
                cell(&c.resource_type),
                cell(c.replacement.as_deref().unwrap_or("-"))
            ));
        }
    }
    // A failed or rolled-back stack's outputs are not the deploy's.
    if let Some(stack) = &report.stack
        && outcome.is_some()
        && !stack.outputs.is_empty()
    {
        md.push_str("\n#### Outputs\n\n| Key | Value | Description |\n|---|---|---|\n");
        for o in &stack.outputs {
            let value = if secret_outputs {
                "***".to_owned()
            } else {
                cell(&o.value)
            };
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&o.key),
                value,
                cell(o.description.as_deref().unwrap_or(""))
            ));
        }
    }
    md
}
