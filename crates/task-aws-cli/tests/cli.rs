//! AWSCLI run by the agent harness with the real AWS CLI (v1, from PyPI),
//! against moto and the loopback OIDC endpoint.

use azp_testkit::fixtures::{self, oidc_server as oidc};
use azp_testkit::{Agent, OidcServer, StepResult, TaskRun};

const TASK: &str = env!("CARGO_BIN_EXE_AWSCLI");

fn step(oidc: &OidcServer) -> Agent {
    fixtures::oidc_step(fixtures::task_dir("AWSCLI"), oidc)
}

fn no_leaks(run: &TaskRun, oidc: &OidcServer) {
    fixtures::assert_no_leaks(run, oidc);
}

#[test]
fn sts_get_caller_identity_through_oidc() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity")
        .run(TASK);
    assert_eq!(
        run.result,
        StepResult::Succeeded,
        "{}\n{}",
        run.log_text(),
        run.stderr
    );
    let log = run.log_text();
    assert!(
        log.contains("\"Arn\": \"arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools\""),
        "{log}"
    );
    assert!(
        log.contains("##[command]aws sts get-caller-identity"),
        "{log}"
    );
    let completes: Vec<_> = run
        .commands
        .iter()
        .filter(|c| c.name() == "task.complete")
        .collect();
    assert_eq!(completes.len(), 1, "success is reported once");
    assert_eq!(
        completes[0].data,
        "`aws sts get-caller-identity` completed successfully."
    );
    no_leaks(&run, &oidc);
}

#[test]
fn arguments_are_split_like_a_shell_and_the_subcommand_is_optional() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("awsCommand", "sts get-caller-identity")
        .input("awsArguments", "--query \"Arn\" --output 'text'")
        .run(TASK);
    assert_eq!(
        run.result,
        StepResult::Succeeded,
        "{}\n{}",
        run.log_text(),
        run.stderr
    );
    assert!(
        run.log
            .contains(&"arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools".to_owned()),
        "{}",
        run.log_text()
    );
    assert!(
        run.log_text()
            .contains("##[command]aws sts get-caller-identity --query Arn --output text"),
        "{}",
        run.log_text()
    );
}

#[test]
fn the_cli_exit_code_is_the_tasks() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "no-such-operation")
        .run(TASK);
    assert_eq!(run.result, StepResult::Failed);
    let code = run.exit_code.unwrap();
    assert_ne!(code, 0);
    assert_eq!(run.completions, 1);
    assert_eq!(
        run.errors(),
        vec![format!(
            "`aws sts no-such-operation` exited with code {code}."
        )]
    );
    no_leaks(&run, &oidc);
}

#[test]
fn fail_on_standard_error() {
    let oidc = oidc();
    // --debug logs to stderr and still exits 0.
    let run = step(&oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity")
        .input("awsArguments", "--debug")
        .input("failOnStandardError", "true")
        .run(TASK);
    assert_eq!(run.result, StepResult::Failed, "{}", run.log_text());
    assert!(
        run.errors()[0].contains("wrote to standard error"),
        "{:?}",
        run.errors()
    );
    // `--debug` makes the CLI itself print the session token; the task had
    // registered it before starting the CLI, so the agent's log masks it.
    for secret in run.secrets.iter().filter(|s| s.len() > 8) {
        assert!(
            !run.log_text().contains(secret.as_str()),
            "a secret is visible in the log"
        );
    }
}

#[test]
fn a_missing_cli_is_named_in_the_error() {
    let oidc = oidc();
    let run = step(&oidc)
        .env("PATH", "/nonexistent-bin")
        .input("awsCommand", "sts")
        .run(TASK);
    assert_eq!(run.result, StepResult::Failed);
    assert!(
        run.errors()[0].starts_with("The AWS CLI (aws) was not found on PATH (/nonexistent-bin)"),
        "{:?}",
        run.errors()
    );
    assert!(oidc.requests().is_empty());
}

#[test]
fn a_missing_command_names_the_input() {
    let oidc = oidc();
    let run = step(&oidc).run(TASK);
    assert_eq!(run.result, StepResult::Failed);
    assert!(
        run.errors()[0].contains("'Command' (awsCommand)"),
        "{:?}",
        run.errors()
    );
}

#[test]
fn an_inherited_aws_region_does_not_win_over_the_task_region() {
    let oidc = oidc();
    let run = step(&oidc)
        .env("AWS_REGION", "ap-south-1")
        .input("regionName", "eu-north-1")
        .input("awsCommand", "configure")
        .input("awsSubCommand", "list")
        .run(TASK);
    assert_eq!(
        run.result,
        StepResult::Succeeded,
        "{}\n{}",
        run.log_text(),
        run.stderr
    );
    let region = run
        .log
        .iter()
        .find(|l| l.trim_start().starts_with("region"))
        .unwrap();
    assert!(region.contains("eu-north-1"), "{}", run.log_text());
}
