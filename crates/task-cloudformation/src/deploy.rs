//! Create or update: the stack's state decides the mode, then a direct
//! call or a change set, then the wait with live events.
//!
//! - No stack: create. A stack in `REVIEW_IN_PROGRESS` (only change sets so
//!   far) is created by a change set; a direct create first deletes it when
//!   `recreateFailedStack` allows.
//! - A stack in an `*_IN_PROGRESS` state: wait for it to settle, then look
//!   again.
//! - `ROLLBACK_COMPLETE`: deleted and created again with
//!   `recreateFailedStack`; otherwise an error saying why and what to do.
//! - `UPDATE_ROLLBACK_FAILED`, `ROLLBACK_FAILED`, `DELETE_FAILED`: an error
//!   saying what a person must do first.
//! - Otherwise: update.
//!
//! Every mutating call carries a client request token, so the SDK's
//! retries cannot run it twice.

use aws_clients::AwsError;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, OnFailure, OnStackFailure, Parameter, RollbackConfiguration,
    RollbackTrigger, Tag,
};
use azp_task::TaskContext;

use crate::changeset::{self, Change, ChangeSet, is_no_changes};
use crate::events::{self, Event, EventLog};
use crate::inputs::StackInputs;
use crate::stack::{self, Disposition, Stack, request_token};
use crate::template::TemplateRef;
use crate::wait::{WaitError, Waiter};

/// Everything the create and update calls share.
#[derive(Debug, Clone)]
pub struct Request {
    /// The template.
    pub template: TemplateRef,
    /// `Parameters`.
    pub parameters: Vec<Parameter>,
    /// `Capabilities`.
    pub capabilities: Vec<Capability>,
    /// `Tags`.
    pub tags: Vec<Tag>,
    /// `NotificationARNs`.
    pub notification_arns: Vec<String>,
    /// `ResourceTypes`.
    pub resource_types: Vec<String>,
    /// `RoleARN`.
    pub role_arn: Option<String>,
    /// `RollbackConfiguration`.
    pub rollback: Option<RollbackConfiguration>,
    /// The stack policy, as JSON.
    pub stack_policy: Option<String>,
}

impl Request {
    /// The SDK's rollback configuration for `minutes` and `alarms`.
    #[must_use]
    pub fn rollback_configuration(minutes: i32, alarms: &[String]) -> RollbackConfiguration {
        let triggers = alarms
            .iter()
            .map(|arn| {
                RollbackTrigger::builder()
                    .arn(arn)
                    .r#type("AWS::CloudWatch::Alarm")
                    .build()
            })
            .collect();
        RollbackConfiguration::builder()
            .monitoring_time_in_minutes(minutes)
            .set_rollback_triggers(Some(triggers))
            .build()
    }
}

/// The shared fields on a `CreateStack`, `UpdateStack` or
/// `CreateChangeSet` builder. Empty lists are left out, as the toolkit did:
/// moto (unlike CloudFormation) treats an empty `Parameters` list as
/// parameters given.
macro_rules! with_request {
    (create: $builder:expr, $r:expr) => {{
        let r: &Request = $r;
        // UsePreviousTemplate on a new stack was refused before this call.
        let b = match &r.template {
            TemplateRef::Body(t) => $builder.template_body(t),
            TemplateRef::Url(u) => $builder.template_url(u),
            TemplateRef::UsePrevious => $builder,
        };
        with_request!(@rest b, r)
    }};
    ($builder:expr, $r:expr) => {{
        let r: &Request = $r;
        let b = match &r.template {
            TemplateRef::Body(t) => $builder.template_body(t),
            TemplateRef::Url(u) => $builder.template_url(u),
            TemplateRef::UsePrevious => $builder.use_previous_template(true),
        };
        with_request!(@rest b, r)
    }};
    (@rest $b:expr, $r:expr) => {
        $b.set_parameters(nonempty(&$r.parameters))
            .set_capabilities(nonempty(&$r.capabilities))
            .set_tags(nonempty(&$r.tags))
            .set_notification_arns(nonempty(&$r.notification_arns))
            .set_resource_types(nonempty(&$r.resource_types))
            .set_role_arn($r.role_arn.clone())
            .set_rollback_configuration($r.rollback.clone())
    };
}

fn nonempty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// The context, client and waiter every step of a deploy uses.
#[derive(Debug, Clone, Copy)]
struct Api<'a> {
    ctx: &'a TaskContext,
    client: &'a Client,
    waiter: &'a Waiter,
}

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The stack is created.
    Create,
    /// The stack is updated.
    Update,
}

/// How a deploy ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Created or updated.
    Deployed,
    /// Nothing to change.
    NoChanges,
    /// A change set waits for review (`autoExecuteChangeSet: false`).
    ChangeSetReady,
}

/// What happened, for the log, the variables and the summary, filled in as
/// the deploy goes, so that a failure still has it.
#[derive(Debug, Default)]
pub struct Report {
    /// Create or update, once known.
    pub mode: Option<Mode>,
    /// The stack at the end (or when it failed).
    pub stack: Option<Stack>,
    /// The change set, when one was used.
    pub change_set: Option<ChangeSet>,
    /// Every event printed.
    pub events: Vec<Event>,
    /// The first failure, when the stack failed.
    pub root_cause: Option<Event>,
    /// Whether a stack in `ROLLBACK_COMPLETE` was deleted first.
    pub recreated: bool,
}

/// Why a deploy failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Reading the stack failed (not "does not exist").
    #[error("reading stack {stack} failed: {source}")]
    Describe {
        /// The stack name.
        stack: String,
        /// CloudFormation's answer.
        source: AwsError,
    },
    /// A CloudFormation call failed.
    #[error("{action} for stack {stack} failed: {source}")]
    Call {
        /// The API action.
        action: &'static str,
        /// The stack name.
        stack: String,
        /// CloudFormation's answer.
        source: AwsError,
    },
    /// `usePrevious` on a stack that does not exist.
    #[error(
        "Template source 'Use previous template' is invalid when stack does not exist: stack {0} has no previous \
         template. Set templateSource to file, url or s3 for its first deploy"
    )]
    NoPreviousTemplate(String),
    /// `ROLLBACK_COMPLETE` without `recreateFailedStack`.
    #[error(
        "stack {stack} is in ROLLBACK_COMPLETE: its first creation failed and was rolled back{why}, so it holds no \
         resources and CloudFormation cannot update it. Set recreateFailedStack: true to have the task delete it \
         and create it again, or delete it yourself (aws cloudformation delete-stack --stack-name {stack})"
    )]
    RolledBackCreate {
        /// The stack name.
        stack: String,
        /// CloudFormation's reason, as ` (reason)`.
        why: String,
    },
    /// `REVIEW_IN_PROGRESS` with a direct create, without
    /// `recreateFailedStack`.
    #[error(
        "stack {0} is in REVIEW_IN_PROGRESS: it was only ever the target of change sets and holds no resources, \
         and CreateStack cannot create it. Set useChangeSet: true, or recreateFailedStack: true to delete it and \
         create it directly"
    )]
    ReviewOnly(String),
    /// A status a person must resolve first.
    #[error("stack {stack} is in {status}{why}. {advice}")]
    Stuck {
        /// The stack name.
        stack: String,
        /// Its status.
        status: String,
        /// CloudFormation's reason, as `: reason`.
        why: String,
        /// What to do.
        advice: &'static str,
    },
    /// The stack ended in a failed state.
    #[error("stack {stack} ended in {status}. {cause}")]
    Failed {
        /// The stack name.
        stack: String,
        /// Its final status.
        status: String,
        /// The first failure, or the stack's reason.
        cause: String,
    },
    /// The change set failed for a reason other than "no changes".
    #[error(
        "change set {name} for stack {stack} could not be created: {reason}. The failed change set was deleted"
    )]
    ChangeSetFailed {
        /// The change set name.
        name: String,
        /// The stack name.
        stack: String,
        /// CloudFormation's `StatusReason`.
        reason: String,
    },
    /// Waiting failed.
    #[error(transparent)]
    Wait(#[from] WaitError),
}

fn advice_for(status: &str) -> &'static str {
    match status {
        "UPDATE_ROLLBACK_FAILED" => {
            "An update failed and so did its rollback; CloudFormation takes no update until the rollback is \
             continued. Fix what the stack's events name (often a resource changed or deleted outside \
             CloudFormation), then run aws cloudformation continue-update-rollback --stack-name <stack> (with \
             --resources-to-skip for resources that cannot be restored), and run the pipeline again"
        }
        "ROLLBACK_FAILED" => {
            "Its first creation failed and so did the rollback. Delete the stack (aws cloudformation delete-stack, \
             with --retain-resources for what cannot be deleted) and run the pipeline again"
        }
        "DELETE_FAILED" => {
            "A deletion failed. Delete it again once what its events name is fixed (aws cloudformation \
             delete-stack, with --retain-resources if needed), then run the pipeline again"
        }
        _ => "It was deleted; run the pipeline again to create it",
    }
}

fn reason_suffix(stack: &Stack, sep: &str) -> String {
    stack
        .reason
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(|r| format!("{sep}{r}"))
        .unwrap_or_default()
}

/// The message naming the first failure.
#[must_use]
pub fn describe_cause(cause: Option<&Event>, stack: &Stack) -> String {
    match cause {
        Some(e) => {
            let place = if e.depth > 0 && !e.stack_name.is_empty() {
                format!(" in nested stack {}", e.stack_name)
            } else {
                String::new()
            };
            let reason = if e.reason.is_empty() {
                "no reason given".to_owned()
            } else {
                e.reason.clone()
            };
            format!(
                "The first resource to fail was {} ({}){place}: {} {reason}",
                e.logical_id, e.resource_type, e.status
            )
        }
        None => match stack.reason.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => format!("CloudFormation's reason: {r}"),
            None => {
                "CloudFormation gave no reason; see the stack's events in the console".to_owned()
            }
        },
    }
}

/// The deploy: `client` against the stack of `inputs`, with `request`.
/// `report` is filled in as it goes.
///
/// # Errors
/// [`DeployError`], with the root cause when the stack failed.
pub async fn deploy(
    ctx: &TaskContext,
    client: &Client,
    inputs: &StackInputs,
    request: &Request,
    waiter: &Waiter,
    report: &mut Report,
) -> Result<Outcome, DeployError> {
    let log = ctx.log();
    let name = inputs.stack_name.as_str();
    let api = Api {
        ctx,
        client,
        waiter,
    };
    let mut existing = find(client, name).await?;

    // Wait out operations someone else started (an update may be followed
    // by its cleanup, or by another pipeline's update).
    while let Some(s) = existing
        .as_ref()
        .filter(|s| s.disposition() == Disposition::InProgress)
    {
        log.info(&format!(
            "Stack {name} is {}; waiting for that operation to end before deploying.",
            s.status
        ));
        let mut log_events = events::follow_from_now(client, &s.id, ctx.clock().now()).await;
        let settled = waiter
            .settle(ctx, client, (name, &s.id), None, &mut log_events)
            .await?;
        log.info(&format!("Stack {name} is now {}.", settled.status));
        existing = find(client, name).await?;
    }

    let mut mode = Mode::Update;
    match existing.as_ref().map(Stack::disposition) {
        None => mode = Mode::Create,
        Some(Disposition::Review) if inputs.change_set.is_some() => mode = Mode::Create,
        Some(d @ (Disposition::RolledBackCreate | Disposition::Review)) => {
            let s = existing.clone().unwrap_or_else(|| placeholder_stack(name));
            if !inputs.recreate_failed_stack {
                return Err(if d == Disposition::Review {
                    DeployError::ReviewOnly(name.to_owned())
                } else {
                    DeployError::RolledBackCreate {
                        stack: name.to_owned(),
                        why: s
                            .reason
                            .as_deref()
                            .filter(|r| !r.is_empty())
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default(),
                    }
                });
            }
            // Refuse what cannot follow before deleting anything.
            if request.template == TemplateRef::UsePrevious {
                return Err(DeployError::NoPreviousTemplate(name.to_owned()));
            }
            log.warning(format!(
                "Stack {name} is in {} and holds no resources; deleting it to create it again \
                 (recreateFailedStack).",
                s.status
            ));
            delete_stack(api, &s).await?;
            report.recreated = true;
            existing = None;
            mode = Mode::Create;
        }
        Some(Disposition::Stuck) => {
            let s = existing.clone().unwrap_or_else(|| placeholder_stack(name));
            return Err(DeployError::Stuck {
                stack: name.to_owned(),
                why: reason_suffix(&s, ": "),
                advice: advice_for(&s.status),
                status: s.status,
            });
        }
        Some(_) => {}
    }
    report.mode = Some(mode);
    if mode == Mode::Create && request.template == TemplateRef::UsePrevious {
        return Err(DeployError::NoPreviousTemplate(name.to_owned()));
    }
    log.info(&match (mode, existing.as_ref()) {
        (Mode::Create, Some(s)) if s.disposition() == Disposition::Review => format!(
            "Stack {name} has only change sets so far (REVIEW_IN_PROGRESS), switching to create stack mode."
        ),
        (Mode::Create, _) => format!("Stack {name} does not exist, switching to create stack mode."),
        (Mode::Update, _) => format!("Stack {name} exists, switching to update stack mode."),
    });

    match &inputs.change_set {
        Some(cs) => deploy_change_set(api, inputs, request, report, mode, existing, cs).await,
        None => deploy_direct(api, inputs, request, report, mode, existing).await,
    }
}

/// A stack known only by name (or id, when `name` is one), for reports made
/// before CloudFormation has described it.
fn placeholder_stack(name: &str) -> Stack {
    Stack {
        id: name.to_owned(),
        name: name.to_owned(),
        status: String::new(),
        reason: None,
        outputs: Vec::new(),
        termination_protection: false,
    }
}

async fn find(client: &Client, name: &str) -> Result<Option<Stack>, DeployError> {
    stack::find(client, name)
        .await
        .map_err(|source| DeployError::Describe {
            stack: name.to_owned(),
            source,
        })
}

fn call(action: &'static str, stack: &str) -> impl FnOnce(AwsError) -> DeployError {
    let stack = stack.to_owned();
    move |source| DeployError::Call {
        action,
        stack,
        source,
    }
}

async fn delete_stack(api: Api<'_>, s: &Stack) -> Result<(), DeployError> {
    let Api {
        ctx,
        client,
        waiter,
    } = api;
    let mut log_events = events::follow_from_now(client, &s.id, ctx.clock().now()).await;
    client
        .delete_stack()
        .stack_name(&s.id)
        .client_request_token(request_token("DeleteStack"))
        .send()
        .await
        .map_err(|e| aws_clients::describe(&e))
        .map_err(call("DeleteStack", &s.name))?;
    let gone = waiter
        .settle(
            ctx,
            client,
            (&s.name, &s.id),
            Some(&s.status),
            &mut log_events,
        )
        .await;
    match gone {
        Ok(after) if after.status == "DELETE_COMPLETE" => Ok(()),
        Err(WaitError::Gone { .. }) => Ok(()),
        Ok(after) => Err(DeployError::Failed {
            stack: s.name.clone(),
            cause: describe_cause(events::root_cause(log_events.events()), &after),
            status: after.status,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Wait for the stack after the call that started `mode`, and judge the
/// result.
async fn follow(
    api: Api<'_>,
    report: &mut Report,
    (name, id): (&str, &str),
    (mut log_events, before): (EventLog, Option<&str>),
    mode: Mode,
) -> Result<Stack, DeployError> {
    let Api {
        ctx,
        client,
        waiter,
    } = api;
    let log = ctx.log();
    let (goal, verb) = match mode {
        Mode::Create => ("CREATE_COMPLETE", "create"),
        Mode::Update => ("UPDATE_COMPLETE", "update"),
    };
    log.info(&format!(
        "Waiting for stack {name} to reach {verb} complete status; its events follow."
    ));
    let settled = waiter
        .settle(ctx, client, (name, id), before, &mut log_events)
        .await;
    report.events = log_events.events().to_vec();
    report.root_cause = log_events.root_cause().cloned();
    let settled = settled?;
    report.stack = Some(settled.clone());
    if settled.status == goal {
        log.info(&format!(
            "Stack {name} transitioned to {verb} complete status."
        ));
        Ok(settled)
    } else {
        Err(DeployError::Failed {
            stack: name.to_owned(),
            cause: describe_cause(report.root_cause.as_ref(), &settled),
            status: settled.status,
        })
    }
}

async fn deploy_direct(
    api: Api<'_>,
    inputs: &StackInputs,
    request: &Request,
    report: &mut Report,
    mode: Mode,
    existing: Option<Stack>,
) -> Result<Outcome, DeployError> {
    let Api {
        ctx,
        client,
        waiter: _,
    } = api;
    let log = ctx.log();
    let name = inputs.stack_name.as_str();
    match mode {
        Mode::Create => {
            let mut b = with_request!(create: client.create_stack().stack_name(name), request)
                .client_request_token(request_token("CreateStack"))
                .set_stack_policy_body(request.stack_policy.clone())
                .set_timeout_in_minutes(inputs.stack_timeout_minutes);
            b = if inputs.disable_rollback {
                b.disable_rollback(true)
            } else {
                b.on_failure(OnFailure::from(inputs.on_failure.as_str()))
            };
            if inputs.termination_protection {
                b = b.enable_termination_protection(true);
            }
            let out = b
                .send()
                .await
                .map_err(|e| aws_clients::describe(&e))
                .map_err(call("CreateStack", name))?;
            let id = out.stack_id().unwrap_or(name).to_owned();
            report.stack = Some(Stack {
                id: id.clone(),
                ..placeholder_stack(name)
            });
            follow(
                api,
                report,
                (name, &id),
                (EventLog::new(&id, None), None),
                Mode::Create,
            )
            .await?;
            Ok(Outcome::Deployed)
        }
        Mode::Update => {
            let current = existing.unwrap_or_else(|| placeholder_stack(name));
            if inputs.stack_timeout_minutes.is_some() {
                log.warning(
                    "stackTimeoutInMinutes applies only when the stack is created; CloudFormation's UpdateStack has \
                     no such setting. timeoutInMins still bounds the task's wait.",
                );
            }
            report.stack = Some(current.clone());
            let log_events = events::follow_from_now(client, &current.id, ctx.clock().now()).await;
            let sent = with_request!(client.update_stack().stack_name(name), request)
                .client_request_token(request_token("UpdateStack"))
                .set_stack_policy_body(request.stack_policy.clone())
                .set_disable_rollback(inputs.disable_rollback.then_some(true))
                .send()
                .await
                .map_err(|e| aws_clients::describe(&e));
            match sent {
                Err(e) if e.code() == "ValidationError" && is_no_changes(&e.message) => {
                    Ok(Outcome::NoChanges)
                }
                Err(e) => Err(call("UpdateStack", name)(e)),
                Ok(_) => {
                    follow(
                        api,
                        report,
                        (name, &current.id),
                        (log_events, Some(&current.status)),
                        Mode::Update,
                    )
                    .await?;
                    Ok(Outcome::Deployed)
                }
            }
        }
    }
}

async fn deploy_change_set(
    api: Api<'_>,
    inputs: &StackInputs,
    request: &Request,
    report: &mut Report,
    mode: Mode,
    existing: Option<Stack>,
    cs: &crate::inputs::ChangeSetInputs,
) -> Result<Outcome, DeployError> {
    let Api {
        ctx,
        client,
        waiter,
    } = api;
    let log = ctx.log();
    let name = inputs.stack_name.as_str();
    if let Some(s) = &existing {
        report.stack = Some(s.clone());
        if changeset::delete(ctx, client, waiter, &s.id, &cs.name)
            .await
            .map_err(call("DeleteChangeSet", name))?
        {
            log.info(&format!(
                "Deleted the existing change set {} to replace it.",
                cs.name
            ));
        }
    }
    if inputs.stack_timeout_minutes.is_some() {
        log.warning(
            "stackTimeoutInMinutes applies only when CreateStack creates the stack; change sets have no such \
             setting. timeoutInMins still bounds the task's wait.",
        );
    }
    let kind = match mode {
        Mode::Create => ChangeSetType::Create,
        Mode::Update => ChangeSetType::Update,
    };
    log.info(&format!(
        "Creating change set {} ({}) for stack {name}.",
        cs.name,
        kind.as_str()
    ));
    let created = with_request!(
        client
            .create_change_set()
            .stack_name(name)
            .change_set_name(&cs.name)
            .change_set_type(kind),
        request
    )
    .client_token(request_token("CreateChangeSet"))
    .set_on_stack_failure((mode == Mode::Create).then(|| {
        if inputs.disable_rollback {
            OnStackFailure::DoNothing
        } else {
            OnStackFailure::from(inputs.on_failure.as_str())
        }
    }))
    .set_description(cs.description.clone())
    .set_include_nested_stacks(cs.include_nested_stacks.then_some(true))
    .send()
    .await
    .map_err(|e| aws_clients::describe(&e));
    let (set_id, stack_id) = match created {
        Err(e) if e.code() == "ValidationError" && is_no_changes(&e.message) => {
            return Ok(Outcome::NoChanges);
        }
        Err(e) => return Err(call("CreateChangeSet", name)(e)),
        Ok(out) => (
            out.id().unwrap_or_default().to_owned(),
            out.stack_id().unwrap_or(name).to_owned(),
        ),
    };
    log.info(&format!(
        "Waiting for change set {} to be validated for stack {name}.",
        cs.name
    ));
    let set = changeset::settle(ctx, client, waiter, &stack_id, &cs.name)
        .await
        .map_err(call("DescribeChangeSet", name))?;
    let Some(set) = set else {
        return Err(DeployError::ChangeSetFailed {
            name: cs.name.clone(),
            stack: name.to_owned(),
            reason: "it disappeared while it was being created (deleted by someone else?)".into(),
        });
    };
    report.change_set = Some(set.clone());
    if report.stack.is_none() {
        report.stack = Some(Stack {
            id: stack_id.clone(),
            status: "REVIEW_IN_PROGRESS".into(),
            ..placeholder_stack(name)
        });
    }
    if set.status == "FAILED" {
        let reason = set.reason.clone().unwrap_or_default();
        // Never leave a FAILED change set behind; the reason is in the log.
        let deleted = client
            .delete_change_set()
            .stack_name(&stack_id)
            .change_set_name(&set_id)
            .send()
            .await;
        if let Err(e) = deleted {
            log.warning(format!(
                "The failed change set {} could not be deleted: {}",
                cs.name,
                aws_clients::describe(&e)
            ));
        }
        if is_no_changes(&reason) {
            return Ok(Outcome::NoChanges);
        }
        // The CREATE change set made an empty REVIEW_IN_PROGRESS stack; it
        // is this run's, and of no use now.
        if mode == Mode::Create
            && existing.is_none()
            && let Err(e) = client
                .delete_stack()
                .stack_name(&stack_id)
                .client_request_token(request_token("DeleteStack"))
                .send()
                .await
        {
            log.warning(format!(
                "The empty stack {name} (REVIEW_IN_PROGRESS) that the failed change set created could not be \
                 deleted: {}",
                aws_clients::describe(&e)
            ));
        }
        return Err(DeployError::ChangeSetFailed {
            name: cs.name.clone(),
            stack: name.to_owned(),
            reason,
        });
    }
    if set.status != "CREATE_COMPLETE" {
        return Err(DeployError::ChangeSetFailed {
            name: cs.name.clone(),
            stack: name.to_owned(),
            reason: format!(
                "it is still {} (timeoutInMins passed, or the pipeline was cancelled)",
                set.status
            ),
        });
    }
    log.info("Change set successfully validated.");
    print_changes(ctx, &set.changes);

    if !cs.auto_execute {
        return Ok(Outcome::ChangeSetReady);
    }
    let before = existing
        .as_ref()
        .map_or("REVIEW_IN_PROGRESS", |s| s.status.as_str())
        .to_owned();
    let log_events = events::follow_from_now(client, &stack_id, ctx.clock().now()).await;
    log.info(&format!("Executing change set {}.", cs.name));
    client
        .execute_change_set()
        .stack_name(&stack_id)
        .change_set_name(&set_id)
        .client_request_token(request_token("ExecuteChangeSet"))
        // A CREATE change set carried OnStackFailure, which rules this out.
        .set_disable_rollback((inputs.disable_rollback && mode == Mode::Update).then_some(true))
        .send()
        .await
        .map_err(|e| aws_clients::describe(&e))
        .map_err(call("ExecuteChangeSet", name))?;
    follow(
        api,
        report,
        (name, &stack_id),
        (log_events, Some(&before)),
        mode,
    )
    .await?;
    Ok(Outcome::Deployed)
}

fn print_changes(ctx: &TaskContext, changes: &[Change]) {
    let log = ctx.log();
    if changes.is_empty() {
        log.info("The change set changes no resource (only outputs, tags or parameters).");
        return;
    }
    log.info(&format!("The change set has {} changes:", changes.len()));
    log.info(&changeset::table(changes));
}

/// Turn on termination protection when asked and the stack lacks it, and
/// apply the stack policy when `set_policy` (after a change set, which
/// cannot carry one, or when no update carried it).
///
/// # Errors
/// `UpdateTerminationProtection` or `SetStackPolicy` failures.
pub async fn protect(
    ctx: &TaskContext,
    client: &Client,
    inputs: &StackInputs,
    request: &Request,
    stack: &Stack,
    set_policy: bool,
) -> Result<(), DeployError> {
    let log = ctx.log();
    if inputs.termination_protection && !stack.termination_protection {
        client
            .update_termination_protection()
            .stack_name(&stack.id)
            .enable_termination_protection(true)
            .send()
            .await
            .map_err(|e| aws_clients::describe(&e))
            .map_err(call("UpdateTerminationProtection", &stack.name))?;
        log.info(&format!(
            "Termination protection is on for stack {}.",
            stack.name
        ));
    }
    if set_policy && let Some(policy) = &request.stack_policy {
        client
            .set_stack_policy()
            .stack_name(&stack.id)
            .stack_policy_body(policy)
            .send()
            .await
            .map_err(|e| aws_clients::describe(&e))
            .map_err(call("SetStackPolicy", &stack.name))?;
        log.info(&format!(
            "Applied the stack policy to stack {}.",
            stack.name
        ));
    }
    Ok(())
}
