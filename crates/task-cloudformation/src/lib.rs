//! The CloudFormationCreateOrUpdateStack task: create or update a stack,
//! directly or through a change set, with the AWS Toolkit's inputs and
//! defaults.
//!
//! Unlike the toolkit, it checks the template and parameters before any
//! call, prints the stack's events (nested stacks included) while it
//! waits, names the first resource that failed and why, ends within
//! seconds of the stack settling, waits out an operation already running,
//! can recreate a stack whose creation failed, never leaves an empty change
//! set behind, and treats only "does not exist" as create mode.
//!
//! - [`inputs`]: the inputs, checked before any AWS call;
//! - [`syntax`] and [`template`]: the template, its syntax and its route
//!   (body, URL, upload to S3);
//! - [`params`]: parameters files in every form, and their JSON Schema;
//! - [`stack`]: a stack's state and what it allows;
//! - [`deploy`] and [`changeset`]: create or update, direct or by change set;
//! - [`events`] and [`wait`]: live events, the root cause, the wait;
//! - [`outputs`] and [`summary`]: variables and the summary page.

pub mod changeset;
pub mod deploy;
pub mod events;
pub mod inputs;
pub mod outputs;
pub mod params;
pub mod stack;
pub mod summary;
pub mod syntax;
pub mod template;
pub mod wait;

use aws_clients::s3::S3Options;
use aws_clients::wire::WireLog;
use aws_connection::connect;
use aws_sdk_cloudformation::types::{Capability, Parameter, Tag};
use azp_task::{TaskContext, TaskError};

use crate::deploy::{DeployError, Outcome, Report, Request};
use crate::inputs::{CaptureOutputs, ParametersSource, StackInputs, StackPolicySource};
use crate::params::ParameterSet;
use crate::template::{Prepared, TemplateRef};
use crate::wait::Waiter;

/// A parameters file, or the inline parameters, could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The parameters file could not be read.
    #[error("the parameters file {path} could not be read: {reason}. Check templateParametersFile")]
    ParametersUnreadable {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The parameters did not parse.
    #[error(transparent)]
    Parameters(#[from] params::ParamsError),
    /// The stack policy could not be read or is not JSON.
    #[error(
        "the stack policy {origin} {reason}. A stack policy is a JSON document with a Statement list"
    )]
    StackPolicy {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

fn read_text(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "does not exist".to_owned()
        } else {
            e.to_string()
        }
    })
}

/// The parameters of `inputs`, read and parsed.
///
/// # Errors
/// [`PrepareError`] naming the file (or input) and line.
pub fn read_parameters(source: &ParametersSource) -> Result<ParameterSet, PrepareError> {
    match source {
        ParametersSource::None => Ok(ParameterSet::default()),
        ParametersSource::File(path) => {
            let text = read_text(path).map_err(|reason| PrepareError::ParametersUnreadable {
                path: path.display().to_string(),
                reason,
            })?;
            Ok(params::parse(&text, &path.display().to_string())?)
        }
        ParametersSource::Inline(text) => Ok(params::parse(text, "the templateParameters input")?),
    }
}

fn read_policy(source: &StackPolicySource) -> Result<Option<String>, PrepareError> {
    let (text, origin) = match source {
        StackPolicySource::None => return Ok(None),
        StackPolicySource::File(path) => (
            read_text(path).map_err(|reason| PrepareError::StackPolicy {
                origin: format!("file {}", path.display()),
                reason,
            })?,
            format!("file {}", path.display()),
        ),
        StackPolicySource::Inline(text) => (text.clone(), "in stackPolicy".to_owned()),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v.get("Statement").is_some() => Ok(Some(text)),
        Ok(_) => Err(PrepareError::StackPolicy {
            origin,
            reason: "has no Statement".into(),
        }),
        Err(e) => Err(PrepareError::StackPolicy {
            origin,
            reason: format!(
                "is not JSON (line {}, column {}: {e})",
                e.line(),
                e.column()
            ),
        }),
    }
}

/// Check everything that needs no AWS call: template, parameters, policy.
fn prepare(ctx: &TaskContext, inputs: &StackInputs) -> Result<(Prepared, Request), TaskError> {
    let log = ctx.log();
    let prepared = template::prepare(&inputs.template, &inputs.stack_name)?;
    let set = read_parameters(&inputs.parameters)?;
    let mut policy = read_policy(&inputs.stack_policy)?;
    if let Some(from_file) = &set.stack_policy {
        if policy.is_some() {
            log.warning(
                "The parameters file has a StackPolicy and stackPolicySource is set too; the stackPolicy input wins.",
            );
        } else {
            policy = Some(from_file.clone());
        }
    }
    let mut tags = set.tags.clone();
    for (k, v) in &inputs.tags {
        if let Some(existing) = tags.iter_mut().find(|(key, _)| key == k) {
            existing.1 = v.clone();
        } else {
            tags.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in &tags {
        log.info(&format!("Adding tag. Key '{k}', Value '{v}'"));
    }
    for c in &inputs.capabilities {
        log.info(&format!("Setting capability {c} for stack"));
    }
    let request = Request {
        template: TemplateRef::UsePrevious,
        parameters: set
            .parameters
            .iter()
            .map(|p| {
                Parameter::builder()
                    .parameter_key(&p.key)
                    .set_parameter_value(p.value.clone())
                    .set_use_previous_value(p.use_previous_value.then_some(true))
                    .build()
            })
            .collect(),
        capabilities: inputs
            .capabilities
            .iter()
            .map(|c| Capability::from(c.as_str()))
            .collect(),
        tags: tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect(),
        notification_arns: inputs.notification_arns.clone(),
        resource_types: inputs.resource_types.clone(),
        role_arn: inputs.role_arn.clone(),
        rollback: inputs.rollback_triggers.as_ref().map(|r| {
            for arn in &r.alarm_arns {
                log.info(&format!(
                    "Adding AWS::CloudWatch::Alarm rollback trigger for ARN {arn}"
                ));
            }
            Request::rollback_configuration(r.monitoring_minutes, &r.alarm_arns)
        }),
        stack_policy: policy,
    };
    Ok((prepared, request))
}

/// The task: the whole of its `main`.
///
/// # Errors
/// Anything that stops the task; `azp_task::run` reports it.
pub async fn run(ctx: TaskContext) -> Result<String, TaskError> {
    let inputs: StackInputs = ctx.inputs()?;
    let (prepared, mut request) = prepare(&ctx, &inputs)?;
    let log = ctx.log().clone();
    let waiter = Waiter::new(ctx.clock(), inputs.timeout_minutes);
    if inputs.timeout_minutes != inputs::DEFAULT_TIMEOUT_MINUTES {
        log.info(&format!(
            "Setting maximum wait period for stack creation/update to {} minutes",
            inputs.timeout_minutes
        ));
    }

    let session = connect(
        &ctx,
        &inputs
            .common
            .connect_options("CloudFormationCreateOrUpdateStack", true),
    )
    .await?;
    let region = session.region().map(|r| r.name.clone()).unwrap_or_default();
    let wire = || WireLog::new(&log, inputs.log_request, inputs.log_response);
    let client = aws_clients::cloudformation::client(session.sdk_config(), wire());

    request.template = match prepared {
        Prepared::Ready(t) => t,
        Prepared::InS3 { bucket, key } => {
            TemplateRef::Url(template::s3_url(&region, &bucket, &key))
        }
        Prepared::Upload { bucket, key, body } => {
            let s3 = aws_clients::s3::client(
                session.sdk_config(),
                &S3Options {
                    force_path_style: false,
                    wire_log: wire(),
                },
            );
            log.info(&format!(
                "Uploading the template ({} bytes) to s3://{bucket}/{key}.",
                body.len()
            ));
            TemplateRef::Url(template::upload(&s3, &region, &bucket, &key, body).await?)
        }
    };

    let mut report = Report::default();
    let result = deploy::deploy(&ctx, &client, &inputs, &request, &waiter, &mut report).await;
    // Termination protection and a stack policy apply to the stack even when
    // the template changed nothing; change sets carry neither.
    let result = match result {
        Ok(outcome @ (Outcome::Deployed | Outcome::NoChanges)) => {
            if outcome == Outcome::NoChanges
                && let Ok(Some(s)) = stack::find(&client, &inputs.stack_name).await
            {
                report.stack = Some(s);
            }
            let set_policy = report.change_set.is_some() || outcome == Outcome::NoChanges;
            match report.stack.clone() {
                Some(s) => deploy::protect(&ctx, &client, &inputs, &request, &s, set_policy)
                    .await
                    .map(|()| outcome),
                None => Ok(outcome),
            }
        }
        other => other,
    };
    finish(&ctx, &inputs, &report, &result, &waiter);
    let outcome = result?;
    let stack_id = report
        .stack
        .as_ref()
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let name = &inputs.stack_name;
    Ok(match outcome {
        Outcome::Deployed => format!("Stack {name} processed successfully, stack ID {stack_id}"),
        Outcome::NoChanges => format!("Stack {name} is up to date: no changes were needed."),
        Outcome::ChangeSetReady => format!(
            "Change set {} for stack {name} is ready for review; it was not executed (autoExecuteChangeSet is \
             false).",
            inputs
                .change_set
                .as_ref()
                .map(|c| c.name.as_str())
                .unwrap_or_default()
        ),
    })
}

/// Variables, the summary page and the no-changes warning, for every end.
fn finish(
    ctx: &TaskContext,
    inputs: &StackInputs,
    report: &Report,
    result: &Result<Outcome, DeployError>,
    waiter: &Waiter,
) {
    let log = ctx.log();
    match result {
        Ok(Outcome::NoChanges) => {
            if inputs.warn_when_no_work {
                log.warning(
                    "WARNING: no changes were detected for the template or change set. The stack was not updated.",
                );
            } else {
                log.info("No changes were detected for the template or change set. The stack was not updated.");
            }
        }
        Ok(Outcome::ChangeSetReady) => {
            if let Some(cs) = &report.change_set {
                log.set_variable_and_output("changeSetName", &cs.name, false);
                log.set_variable_and_output("changeSetId", &cs.id, false);
                log.set_variable_and_output(
                    "changeSetChanges",
                    &serde_json::to_string(&cs.changes).unwrap_or_else(|_| "[]".into()),
                    false,
                );
                log.info(&format!(
                    "Review it, then run aws cloudformation execute-change-set --stack-name {} --change-set-name \
                     {} (or a CloudFormationExecuteChangeSet step).",
                    inputs.stack_name, cs.name
                ));
            }
        }
        _ => {}
    }
    if result.is_ok()
        && let Some(stack) = report.stack.clone()
    {
        if let Some(var) = &inputs.output_variable {
            log.info(&format!("Setting stack ID into task output variable {var}"));
            log.set_variable_and_output(var, &stack.id, false);
        }
        outputs::capture(
            log,
            &stack,
            inputs.capture_outputs,
            inputs.capture_as_secret,
        );
    }
    let error = result.as_ref().err().map(|e| azp_task::render_error(e));
    let md = summary::markdown(
        &inputs.stack_name,
        report,
        result.as_ref().ok().copied(),
        error.as_deref(),
        inputs.capture_outputs != CaptureOutputs::Ignore && inputs.capture_as_secret,
        waiter.elapsed(),
    );
    ctx.upload_summary(&format!("cloudformation-{}", inputs.stack_name), &md);
}
