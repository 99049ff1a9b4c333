//! The example task run through the agent harness, as the agent runs it.

use azp_testkit::{Agent, Endpoint, StepResult, fixtures};

const TASK: &str = env!("CARGO_BIN_EXE_azp-example-task");
const CONNECTION: &str = fixtures::CONNECTION_ID;
const PASSWORD: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SECRET_VAR: &str = "s3cr3t-variable-value";

fn agent() -> Agent {
    Agent::new(concat!(env!("CARGO_MANIFEST_DIR"), "/task"))
}

fn connection() -> Endpoint {
    Endpoint {
        url: "https://example.invalid/".into(),
        scheme: "UsernamePassword".into(),
        confidential: vec!["password".into()],
        ..Endpoint::default()
    }
    .param("username", "deploy-bot")
    .param("password", PASSWORD)
}

#[test]
fn secrets_are_registered_before_any_other_output() {
    let step = agent()
        .input("message", "hello")
        .service_connection("connection", CONNECTION, connection())
        .secret_variable("Example.Secret", SECRET_VAR);
    let token = step.access_token().to_owned();
    let run = step.run(TASK);
    run.secrets_registered_first(&[&token, SECRET_VAR, PASSWORD])
        .unwrap();
    run.assert_no_leaks(&[]);
    run.expect(StepResult::Succeeded);
    assert_eq!(run.exit_code, Some(0));
    assert_eq!(run.completions, 1);
    // The task printed the password and the secret variable on purpose; both are masked.
    assert!(
        run.log.contains(&"password = ***".to_owned()),
        "{}",
        run.log_text()
    );
    assert!(
        run.log.contains(&"The secret variable is ***".to_owned()),
        "{}",
        run.log_text()
    );
    assert!(
        run.log.contains(&"username = deploy-bot".to_owned())
            || run.log.contains(&"username = ***".to_owned())
    );
    assert_eq!(run.variables["greeting"].value, "hello");
    assert!(run.variables["greeting"].output);
}

#[test]
fn a_warning_gives_succeeded_with_issues_and_exit_zero() {
    let run = agent()
        .input("message", "careful")
        .input("outcome", "warn")
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert_eq!(run.exit_code, Some(0));
    assert_eq!(run.completions, 1);
    assert_eq!(run.warnings(), vec!["A warning about careful"]);
    run.assert_no_leaks(&[]);
}

#[test]
fn an_error_fails_with_an_issue_and_exit_one() {
    let run = agent()
        .input("message", "boom")
        .input("outcome", "fail")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(run.completions, 1);
    assert_eq!(run.errors(), vec!["The example failed as asked: boom"]);
    run.assert_no_leaks(&[]);
}

#[test]
fn a_panic_fails_cleanly_without_a_backtrace() {
    let run = agent()
        .input("message", "x")
        .input("outcome", "panic")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_ne!(run.exit_code, Some(0));
    assert_eq!(run.completions, 1);
    assert_eq!(run.errors().len(), 1);
    assert!(
        run.errors()[0].starts_with("Internal error in this task"),
        "{:?}",
        run.errors()
    );
    assert!(!run.stderr.contains("panicked at"), "{}", run.stderr);
    assert!(!run.stderr.contains("backtrace"), "{}", run.stderr);
}

#[test]
fn a_missing_required_input_names_label_and_input() {
    let run = agent().run(TASK);
    run.expect(StepResult::Failed);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(run.completions, 1);
    assert!(
        run.errors()[0].contains("'Message' (message)"),
        "{:?}",
        run.errors()
    );
}

#[test]
fn a_pick_list_value_outside_the_options_is_refused() {
    let run = agent()
        .input("message", "x")
        .input("outcome", "explode")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert!(
        run.errors()[0].contains("not one of: succeed, warn, fail, panic"),
        "{:?}",
        run.errors()
    );
}

#[test]
fn debug_lines_appear_only_with_system_debug() {
    let quiet = agent().input("message", "x").run(TASK);
    assert!(!quiet.stdout.contains("##[debug]"));
    let loud = agent().input("message", "x").debug(true).run(TASK);
    assert!(loud.stdout.contains("##[debug]Inputs:"), "{}", loud.stdout);
}

fn oidc_run(long_form: bool) {
    let server = fixtures::oidc_server();
    let mut step = agent()
        .input("message", "federate")
        .input("requestOidcToken", "true")
        .service_connection("connection", CONNECTION, connection())
        .oidc(&server)
        .debug(true);
    if long_form {
        step = step.without_oidc_request_uri();
    }
    let run = step.run(TASK);
    run.expect(StepResult::Succeeded);
    let issued = server.issued_tokens();
    assert_eq!(issued.len(), 1);
    run.assert_no_leaks(&[&issued[0]]);
    let log = run.log_text();
    assert!(
        log.contains(
            "OIDC token issuer: https://vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b"
        ),
        "{log}"
    );
    assert!(
        log.contains("OIDC token audience: api://AzureADTokenExchange"),
        "{log}"
    );
    assert!(
        log.contains("OIDC token subject: sc://contoso/Web Shop/aws-prod"),
        "{log}"
    );
    assert!(
        log.contains("##[debug]OIDC token (must be masked): ***"),
        "{log}"
    );
    let req = &server.requests()[0];
    let expected = if long_form { "7.1-preview.1" } else { "7.1" };
    assert_eq!(req.query["api-version"], expected);
}

#[test]
fn the_oidc_token_is_fetched_masked_and_described_short_form() {
    oidc_run(false);
}

#[test]
fn the_oidc_token_is_fetched_masked_and_described_long_form() {
    oidc_run(true);
}
