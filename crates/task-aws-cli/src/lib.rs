//! The AWSCLI task: run `aws <command> [<subcommand>] <options>` with AWS
//! credentials from the service connection.
//!
//! Inputs and defaults match the AWS Toolkit's task, except that
//! `awsSubCommand` is really optional, as its task.json always said. The
//! command and subcommand are split at whitespace (the toolkit passed each as
//! one word, which the CLI rejected when it held two), and the options by
//! task-lib's `ToolRunner.line()` rule as the toolkit did, plus single-quoted
//! words (see `azp_process::args`). The command line is shown (masked)
//! before it runs, a missing region is warned about before the CLI fails on
//! it, the CLI's exit code is the task's, and success is reported once.

use aws_connection::inputs::{self, CommonInputs};
use aws_connection::{ChildCredentials, connect};
use azp_process::{ChildSpec, find_program, run_child};
use azp_task::{InputError, InputKind, InputSpec, Inputs, TaskContext, TaskError, TaskInputs};

/// The task's inputs, as its task.json declares them.
#[derive(Debug)]
pub struct CliInputs {
    common: CommonInputs,
    /// `awsCommand`, `awsSubCommand` and `awsArguments`, split.
    args: Vec<String>,
    /// `awsArguments` came out differently than task-lib alone splits it.
    arguments_extended: bool,
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
        let mut args: Vec<String> = i
            .required_string("awsCommand")?
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        args.extend(
            i.string("awsSubCommand")?
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned),
        );
        let options = azp_process::arguments(&i.string("awsArguments")?.unwrap_or_default());
        args.extend(options.words);
        Ok(Self {
            common: CommonInputs::parse(i)?,
            args,
            arguments_extended: options.differs_from_task_lib,
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

    if inputs.arguments_extended {
        ctx.log().debug(&azp_process::args::extension_note(
            "awsArguments",
            &inputs.args,
        ));
    }

    let session = connect(&ctx, &inputs.common.connect_options("AWSCLI", false)).await?;
    let has_region_option = inputs
        .args
        .iter()
        .any(|a| a == "--region" || a.starts_with("--region="));
    if session.region().is_none() && !has_region_option {
        ctx.log().warning(
            "No AWS region is configured and the command has no --region option, so the AWS CLI will refuse most \
             commands (\"You must specify a region\"). Set the task's AWS Region (regionName) input, the pipeline \
             variable AWS.Region, AWS_REGION or AWS_DEFAULT_REGION on the agent, a region in the AWS CLI's profile, \
             or add --region to Options and parameters (awsArguments).",
        );
    }
    let env = session.child_env(&base_env, ChildCredentials::Keys).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rust_inputs_match_task_json() {
        extension_checks::assert_inputs_match("AWSCLI", CliInputs::INPUTS);
    }
}
