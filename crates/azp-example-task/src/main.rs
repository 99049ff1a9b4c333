//! An example task that exercises the whole task contract.
//!
//! It is the reference for how a task binary is written (typed inputs, one
//! call to `azp_task::run`, every line through the writer) and the subject
//! of the agent harness's own tests. It is not shipped in the extension.

use std::process::ExitCode;

use azp_task::{
    InputError, InputKind, InputSpec, Inputs, TaskContext, TaskError, TaskInputs, VariableOptions,
};

#[derive(Debug)]
struct ExampleInputs {
    connection: Option<String>,
    message: String,
    outcome: String,
    request_oidc_token: bool,
    output_name: String,
}

impl TaskInputs for ExampleInputs {
    const INPUTS: &'static [InputSpec] = &[
        InputSpec::new(
            "connection",
            "Service connection",
            InputKind::ConnectedService("generic"),
        ),
        InputSpec::new("message", "Message", InputKind::String),
        InputSpec::new(
            "outcome",
            "Outcome",
            InputKind::PickList {
                options: &["succeed", "warn", "fail", "panic"],
                editable: false,
            },
        ),
        InputSpec::new(
            "requestOidcToken",
            "Request an OIDC token",
            InputKind::Boolean,
        ),
        InputSpec::new("outputName", "Output variable name", InputKind::String),
    ];

    fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        Ok(Self {
            connection: i.service_connection("connection")?,
            message: i.required_string("message")?,
            outcome: i.choice("outcome")?.unwrap_or_else(|| "succeed".into()),
            request_oidc_token: i.boolean("requestOidcToken")?,
            output_name: i.string("outputName")?.unwrap_or_else(|| "greeting".into()),
        })
    }
}

fn main() -> ExitCode {
    azp_task::run(body)
}

async fn body(ctx: TaskContext) -> Result<String, TaskError> {
    let inputs: ExampleInputs = ctx.inputs()?;
    let log = ctx.log();
    log.info(&format!("Message: {}", inputs.message));
    log.debug(&format!(
        "Inputs: connection {}, outcome {}, OIDC token {}, output variable {}",
        inputs.connection.as_deref().unwrap_or("(none)"),
        inputs.outcome,
        inputs.request_oidc_token,
        inputs.output_name
    ));

    if let Some(id) = &inputs.connection {
        let endpoint = ctx.endpoint(id)?;
        log.group("Service connection");
        log.info(&format!("Scheme: {}", endpoint.scheme));
        for (key, value) in endpoint.parameters() {
            // Values are printed on purpose: the writer masks registered secrets.
            log.info(&format!("{key} = {}", value.expose()));
        }
        log.end_group();
        if inputs.request_oidc_token {
            let token = ctx.oidc_token(id).await?;
            log.info(&format!("OIDC token issuer: {}", token.claims.iss));
            log.info(&format!(
                "OIDC token audience: {}",
                token.claims.aud.join(", ")
            ));
            log.info(&format!("OIDC token subject: {}", token.claims.sub));
            log.debug(&format!(
                "OIDC token (must be masked): {}",
                token.token.expose()
            ));
        }
    }
    if let Some(secret) = ctx.variables().get("Example.Secret") {
        log.info(&format!("The secret variable is {secret}"));
    }
    log.set_variable(
        &inputs.output_name,
        &inputs.message,
        VariableOptions {
            output: true,
            ..VariableOptions::default()
        },
    );

    match inputs.outcome.as_str() {
        "warn" => log.warning(format!("A warning about {}", inputs.message)),
        "fail" => return Err(format!("The example failed as asked: {}", inputs.message).into()),
        "panic" => panic!("the example panicked as asked"),
        _ => {}
    }
    Ok(format!("Example finished: {}", inputs.message))
}
