//! A probe task for the tests of `aws-connection`: resolves credentials and
//! region exactly as the shipped tasks do, in a real process started by the
//! agent harness, and reports what it got. Not shipped.
//!
//! With `virtualTime`, the probe runs on a clock that moves forward at once
//! when something waits on it, so that no test waits in real time for a
//! retry backoff, while the delays and the log stay as they would be.

use std::process::ExitCode;
use std::sync::Arc;

use aws_connection::inputs::{self, CommonInputs};
use aws_connection::{ChildCredentials, connect};
use azp_task::time::ManualClock;
use azp_task::{InputError, InputKind, InputSpec, Inputs, TaskContext, TaskError, TaskInputs};

#[derive(Debug)]
struct ProbeInputs {
    common: CommonInputs,
    require_region: bool,
    forced_refreshes: i64,
    show_child_env: bool,
    virtual_time: bool,
}

impl TaskInputs for ProbeInputs {
    const INPUTS: &'static [InputSpec] = &[
        inputs::AWS_CREDENTIALS,
        InputSpec::new("regionName", "AWS Region", InputKind::String),
        InputSpec::new("requireRegion", "Require a region", InputKind::Boolean),
        InputSpec::new("forcedRefreshes", "Forced refreshes", InputKind::Int),
        InputSpec::new(
            "showChildEnv",
            "Show the child environment",
            InputKind::Boolean,
        ),
        InputSpec::new("virtualTime", "Virtual time", InputKind::Boolean),
    ];

    fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        Ok(Self {
            common: CommonInputs::parse(i)?,
            require_region: i.boolean("requireRegion")?,
            forced_refreshes: i.integer("forcedRefreshes")?.unwrap_or(0),
            show_child_env: i.boolean("showChildEnv")?,
            virtual_time: i.boolean("virtualTime")?,
        })
    }
}

fn main() -> ExitCode {
    azp_task::run(body)
}

async fn body(ctx: TaskContext) -> Result<String, TaskError> {
    let inputs: ProbeInputs = ctx.inputs()?;
    let ctx = if inputs.virtual_time {
        let start = ctx.clock().now();
        ctx.with_clock(Arc::new(ManualClock::new(start)))
    } else {
        ctx
    };
    let options = inputs
        .common
        .connect_options("Probe", inputs.require_region);
    let session = connect(&ctx, &options).await?;
    let log = ctx.log();
    for _ in 0..inputs.forced_refreshes {
        session.credentials().refresh().await?;
        let sts = aws_sdk_sts::Client::new(session.sdk_config());
        let id = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_clients::describe(&e))?;
        log.info(&format!("After refresh: {}", id.arn().unwrap_or_default()));
    }
    if inputs.show_child_env {
        let env = session
            .child_env(&ctx.child_env(), ChildCredentials::Keys)
            .await?;
        for (k, v) in env.iter().filter(|(k, _)| {
            k.starts_with(aws_clients::names::AWS_PREFIX)
                || k.to_ascii_uppercase().ends_with("_PROXY")
        }) {
            log.info(&format!("child {k}={v}"));
        }
    }
    let identity = session
        .identity()
        .map_or_else(|| "unverified".to_owned(), |i| i.arn.clone());
    Ok(format!("Connected as {identity}"))
}
