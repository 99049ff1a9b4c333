//! The AWSCLI task: run `aws <command> [<subcommand>] <options>` with AWS
//! credentials from the service connection.
//!
//! Inputs and defaults match the AWS Toolkit's task, except that
//! `awsSubCommand` is really optional, as its task.json always said. The
//! command, subcommand and options are split the way a shell would, the
//! command line is shown (masked) before it runs, the CLI's exit code is the
//! task's, and success is reported once.

use aws_connection::connect;
use aws_connection::inputs::{self, CommonInputs};
use azp_process::{ChildSpec, find_program, run_child};
use azp_task::{InputError, InputKind, InputSpec, Inputs, TaskContext, TaskError, TaskInputs};

/// The task's inputs, as its task.json declares them.
#[derive(Debug)]
pub struct CliInputs {
    common: CommonInputs,
    /// `awsCommand`, `awsSubCommand` and `awsArguments`, split.
    args: Vec<String>,
    fail_on_standard_error: bool,
}

impl TaskInputs for CliInputs {
    const INPUTS: &'static [InputSpec] = &[
        inputs::AWS_CREDENTIALS,
        inputs::REGION_NAME,
        InputSpec::new("awsCommand", "Command", InputKind::String),
        InputSpec::new("awsSubCommand", "Subcommand", InputKind::String),
        InputSpec::new("awsArguments", "Options and parameters", InputKind::String),
        InputSpec::new(
            "failOnStandardError",
            "Fail on Standard Error",
            InputKind::Boolean,
        ),
    ];

    fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        let split = |name: &str, label: &str, value: String| {
            azp_process::split(&value).map_err(|e| InputError::Invalid {
                name: name.into(),
                label: label.into(),
                value,
                reason: e.to_string(),
            })
        };
        let mut args = split("awsCommand", "Command", i.required_string("awsCommand")?)?;
        args.extend(split(
            "awsSubCommand",
            "Subcommand",
            i.string("awsSubCommand")?.unwrap_or_default(),
        )?);
        args.extend(split(
            "awsArguments",
            "Options and parameters",
            i.string("awsArguments")?.unwrap_or_default(),
        )?);
        Ok(Self {
            common: CommonInputs::parse(i)?,
            args,
            fail_on_standard_error: i.boolean("failOnStandardError")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "The AWS CLI (aws) was not found on PATH ({0}). Install the AWS CLI on the agent \
     (see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) or add its folder to PATH."
)]
struct CliMissing(String);

/// The task: the whole of its `main`.
///
/// # Errors
/// Anything that stops the task; `azp_task::run` reports it.
pub async fn run(ctx: TaskContext) -> Result<String, TaskError> {
    let inputs: CliInputs = ctx.inputs()?;
    let base_env = ctx.child_env();
    let aws = find_program("aws", base_env.get("PATH"), base_env.get("PATHEXT"))
        .ok_or_else(|| CliMissing(base_env.get("PATH").unwrap_or_default().to_owned()))?;

    let session = connect(&ctx, &inputs.common.connect_options("AWSCLI", false)).await?;
    let env = session.child_env(&base_env).await?;
    let cwd = ctx
        .env()
        .get_non_empty(azp_task::env::names::SYSTEM_DEFAULTWORKINGDIRECTORY)
        .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from);
    let line = std::iter::once("aws".to_owned())
        .chain(inputs.args.iter().map(|a| azp_process::args::quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    ctx.log().command(&line);
    let spec = ChildSpec {
        program: aws,
        args: inputs.args.clone(),
        cwd,
        env,
        watch_stderr: inputs.fail_on_standard_error,
    };
    run_child(&ctx, &spec)
        .await?
        .into_result(&format!("`{line}`"), inputs.fail_on_standard_error)?;
    Ok(format!("`{line}` completed successfully."))
}
