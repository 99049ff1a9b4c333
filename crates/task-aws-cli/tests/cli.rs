//! AWSCLI run by the agent harness with the real AWS CLI (v1, from PyPI),
//! against moto and the loopback OIDC endpoint.

use azp_testkit::fixtures::{self, oidc_server as oidc};
use azp_testkit::{Agent, OidcServer, StepResult, TaskRun};

const TASK: &str = env!("CARGO_BIN_EXE_AWSCLI");

fn step(oidc: &OidcServer) -> Agent {
    fixtures::oidc_step(fixtures::task_dir("AWSCLI"), oidc)
}

#[test]
fn sts_get_caller_identity_through_oidc() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity")
        .run(TASK);
    run.expect(StepResult::Succeeded);
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
    fixtures::assert_no_leaks(&run, &oidc);
    insta::assert_snapshot!("sts_get_caller_identity_log", run.snapshot());
}

#[test]
fn arguments_are_split_like_a_shell_and_the_subcommand_is_optional() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("awsCommand", "sts get-caller-identity")
        .input("awsArguments", "--query \"Arn\" --output 'text'")
        .run(TASK);
    run.expect(StepResult::Succeeded);
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
    run.expect(StepResult::Failed);
    let code = run.exit_code.unwrap();
    assert_ne!(code, 0);
    assert_eq!(run.completions, 1);
    assert_eq!(
        run.errors(),
        vec![format!(
            "`aws sts no-such-operation` exited with code {code}."
        )]
    );
    fixtures::assert_no_leaks(&run, &oidc);
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
    run.expect(StepResult::Failed);
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
    run.expect(StepResult::Failed);
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
    run.expect(StepResult::Failed);
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
    run.expect(StepResult::Succeeded);
    let region = run
        .log
        .iter()
        .find(|l| l.trim_start().starts_with("region"))
        .unwrap();
    assert!(region.contains("eu-north-1"), "{}", run.log_text());
}

// --- Arguments split the way existing YAML expects (issue 8): task-lib's
// ToolRunner.line() rule, plus single-quoted words. Expected values come
// from that rule, not from this task's output. ---

/// Run `aws <args>` through the task and return the step, asserting success.
fn cli(oidc: &OidcServer, command: &str, sub: &str, arguments: &str) -> TaskRun {
    let run = step(oidc)
        .input("awsCommand", command)
        .input("awsSubCommand", sub)
        .input("awsArguments", arguments)
        .debug(true)
        .run(TASK);
    run.expect(StepResult::Succeeded);
    fixtures::assert_no_leaks(&run, oidc);
    run
}

fn parameter_value(oidc: &OidcServer, name: &str) -> String {
    let run = cli(
        oidc,
        "ssm",
        "get-parameter",
        &format!("--name {name} --query Parameter.Value --output text"),
    );
    let at = run
        .log
        .iter()
        .position(|l| l.starts_with("##[command]aws ssm get-parameter"))
        .unwrap();
    run.log[at + 1].clone()
}

#[test]
fn single_quotes_inside_a_word_reach_the_cli() {
    let oidc = oidc();
    let prefix = format!("/quotes-{:08x}", fastrand::u32(..));
    cli(
        &oidc,
        "ssm",
        "put-parameter",
        &format!("--name {prefix}/plain --type String --value p"),
    );
    cli(
        &oidc,
        "ssm",
        "put-parameter",
        &format!("--name {prefix}/secret --type SecureString --value s"),
    );
    // task-lib keeps the single quotes of Type=='SecureString', so the query
    // selects the secure one; stripping them would match nothing and
    // "succeed" with an empty result.
    let run = cli(
        &oidc,
        "ssm",
        "describe-parameters",
        &format!(
            "--parameter-filters Key=Path,Values={prefix} --query Parameters[?Type=='SecureString'].Name --output text"
        ),
    );
    assert!(
        run.log.contains(&format!("{prefix}/secret")),
        "{}",
        run.log_text()
    );
    // Words that merely contain a quote stay as they are: no debug line.
    assert!(!run.log_text().contains("single-quoted words"));
}

#[test]
fn apostrophes_backslashes_and_single_quoted_words() {
    let oidc = oidc();
    let prefix = format!("/words-{:08x}", fastrand::u32(..));
    cli(
        &oidc,
        "ssm",
        "put-parameter",
        &format!("--name {prefix}/a --type String --value It's-live"),
    );
    assert_eq!(parameter_value(&oidc, &format!("{prefix}/a")), "It's-live");
    cli(
        &oidc,
        "ssm",
        "put-parameter",
        &format!(r"--name {prefix}/b --type String --value \\server\share\app.zip"),
    );
    assert_eq!(
        parameter_value(&oidc, &format!("{prefix}/b")),
        r"\\server\share\app.zip"
    );
    // A single-quoted word groups and loses its quotes: one JSON argument.
    let run = cli(
        &oidc,
        "ssm",
        "put-parameter",
        &format!(
            r#"--cli-input-json '{{"Name": "{prefix}/c", "Type": "String", "Value": "two words"}}'"#
        ),
    );
    assert!(
        run.log_text().contains(&format!(
            r#"##[debug]awsArguments has single-quoted words, read as these words: ssm put-parameter --cli-input-json '{{"Name": "{prefix}/c", "Type": "String", "Value": "two words"}}'"#
        )),
        "{}",
        run.log_text()
    );
    assert_eq!(parameter_value(&oidc, &format!("{prefix}/c")), "two words");
}

#[test]
fn the_command_and_subcommand_split_at_whitespace_only() {
    let oidc = oidc();
    // The toolkit passed each as one word; quotes in them are ordinary.
    let run = step(&oidc)
        .input("awsCommand", "  sts   get-caller-identity ")
        .input("awsSubCommand", "")
        .input("awsArguments", "--output text --query Account")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log.contains(&"123456789012".to_owned()),
        "{}",
        run.log_text()
    );
}

#[test]
fn no_region_anywhere_is_warned_about_before_the_cli_runs() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("regionName", "")
        .input("awsCommand", "ssm")
        .input("awsSubCommand", "describe-parameters")
        .run(TASK);
    let warnings = run.warnings();
    assert!(
        warnings.first().is_some_and(|w| w
            .starts_with("No AWS region is configured and the command has no --region option")
            && w.contains("regionName")
            && w.contains("AWS.Region")),
        "{warnings:?}\n{}",
        run.log_text()
    );
    let warned_at = run
        .log
        .iter()
        .position(|l| l.starts_with("##[warning]No AWS region"))
        .unwrap();
    let ran_at = run
        .log
        .iter()
        .position(|l| l.starts_with("##[command]aws "))
        .unwrap();
    assert!(warned_at < ran_at);
    // With --region in the options, nothing to warn about.
    let run = step(&oidc)
        .input("regionName", "")
        .input("awsCommand", "ssm")
        .input("awsSubCommand", "describe-parameters")
        .input("awsArguments", "--region eu-west-3")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(run.warnings().is_empty(), "{:?}", run.warnings());
}

#[test]
fn a_boolean_input_that_is_neither_true_nor_false_is_warned_about() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity")
        .input("failOnStandardError", "yes")
        .run(TASK);
    // task-lib reads it as false: the CLI's stderr would not fail the step.
    run.expect(StepResult::SucceededWithIssues);
    assert_eq!(
        run.warnings(),
        vec![
            "Input 'Fail on Standard Error' (failOnStandardError) is 'yes', which is neither true nor false; it is \
             read as false, as azure-pipelines-task-lib reads it. Set it to true or false."
        ]
    );
}
