//! AWSShellScript run by the agent harness with real bash and the real AWS
//! CLI, against moto and the loopback OIDC endpoint.

use std::path::Path;
use std::time::Duration;

use azp_task::time::{Clock, SystemClock};

use azp_testkit::fixtures::{self, oidc_server as oidc};
use azp_testkit::scripted::{Match, ScriptedServer, sts};
use azp_testkit::{Agent, OidcServer, StepResult};

const TASK: &str = env!("CARGO_BIN_EXE_AWSShellScript");

/// A step using an OIDC connection, moto as AWS, and the AWS CLI on PATH.
fn step(oidc: &OidcServer) -> Agent {
    fixtures::oidc_step(fixtures::task_dir("AWSShellScript"), oidc)
}

fn inline(oidc: &OidcServer, script: &str) -> Agent {
    step(oidc)
        .input("scriptType", "inline")
        .input("inlineScript", script)
}

#[test]
fn a_script_calling_the_cli_gets_the_assumed_role() {
    let oidc = oidc();
    let run = inline(&oidc, "set -e\naws sts get-caller-identity --query Arn --output text\necho \"region=$AWS_REGION default=$AWS_DEFAULT_REGION env=$AWS_EXECUTION_ENV\"").run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(run.completions, 1);
    assert!(
        run.log
            .contains(&"arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools".to_owned()),
        "{}",
        run.log_text()
    );
    assert!(
        run.log
            .contains(&"region=eu-west-1 default=eu-west-1 env=VSTS-AWSShellScript".to_owned()),
        "{}",
        run.log_text()
    );
    assert!(run.log_text().contains("##[command]"), "{}", run.log_text());
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn the_script_sees_masked_keys_and_no_task_secrets() {
    let oidc = oidc();
    let s = step(&oidc);
    let job_token = s.access_token().to_owned();
    let run = s
        .input("scriptType", "inline")
        .input("inlineScript", "echo \"key=$AWS_ACCESS_KEY_ID\"\necho \"job-token=${ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN:-absent}\"\necho \"inputs=$(env | grep -c '^INPUT_' || true)\"")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    let log = run.log_text();
    // The agent masks the key the script printed, because the task registered it.
    assert!(log.contains("key=***"), "{log}");
    assert!(log.contains("job-token=absent"), "{log}");
    assert!(log.contains("inputs=0"), "{log}");
    // The script printed a key on purpose; the agent's log masks it.
    run.assert_log_masked();
    assert!(!run.stdout.contains(&format!("job-token={job_token}")));
}

#[test]
fn a_file_script_gets_its_arguments_and_working_directory() {
    let oidc = oidc();
    let agent = step(&oidc);
    let sources = agent.sources_dir();
    std::fs::create_dir_all(sources.join("scripts")).unwrap();
    std::fs::create_dir_all(sources.join("work/here")).unwrap();
    std::fs::write(
        sources.join("scripts/show.sh"),
        "echo \"args=[$1][$2][$#]\"\necho \"cwd=$(pwd)\"\n",
    )
    .unwrap();
    // Keep the step (and its work folders) alive while checking.
    let agent = agent
        .input("scriptType", "filePath")
        .input("filePath", "scripts/show.sh")
        .input("arguments", "first \"second arg\"")
        .input("disableAutoCwd", "true")
        .input("workingDirectory", "work/here");
    let run = agent.run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log.contains(&"args=[first][second arg][2]".to_owned()),
        "{}",
        run.log_text()
    );
    let expected = format!(
        "cwd={}",
        Path::new(&sources)
            .join("work/here")
            .canonicalize()
            .unwrap()
            .display()
    );
    assert!(
        run.log.contains(&expected),
        "{expected}\n{}",
        run.log_text()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn an_inline_script_runs_in_the_default_working_directory_and_is_removed() {
    let oidc = oidc();
    let agent = inline(&oidc, "pwd\necho \"script=$0\"");
    let sources = agent.sources_dir().canonicalize().unwrap();
    let temp = agent.temp_dir();
    let run = agent.run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log.contains(&sources.display().to_string()),
        "{}",
        run.log_text()
    );
    let script = run
        .log
        .iter()
        .find_map(|l| l.strip_prefix("script="))
        .unwrap()
        .to_owned();
    assert!(script.starts_with(&temp.display().to_string()), "{script}");
    assert!(
        !Path::new(&script).exists(),
        "the inline script must be deleted"
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn the_exit_code_fails_the_task() {
    let oidc = oidc();
    let run = inline(&oidc, "echo before\nexit 3").run(TASK);
    run.expect(StepResult::Failed);
    assert_eq!(run.exit_code, Some(3));
    assert_eq!(run.completions, 1);
    assert_eq!(run.errors(), vec!["The bash script exited with code 3."]);
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn fail_on_standard_error() {
    let oidc = oidc();
    let run = inline(&oidc, "echo oops >&2")
        .input("failOnStandardError", "true")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert!(
        run.errors()[0].contains("wrote to standard error"),
        "{:?}",
        run.errors()
    );
    assert!(run.stderr.contains("oops"), "stderr is still shown");
    fixtures::assert_no_leaks(&run, &oidc);
    let run = inline(&oidc, "echo oops >&2").run(TASK);
    assert_eq!(
        run.result,
        StepResult::Succeeded,
        "without the option stderr is just output"
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn logging_commands_from_the_script_reach_the_agent() {
    let oidc = oidc();
    let run = inline(
        &oidc,
        "echo '##vso[task.setvariable variable=fromScript;isOutput=true]hello from bash'",
    )
    .run(TASK);
    run.expect(StepResult::Succeeded);
    let v = &run.variables["fromScript"];
    assert_eq!(v.value, "hello from bash");
    assert!(v.output);
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn cancellation_leaves_no_process_behind() {
    let oidc = oidc();
    let agent = inline(&oidc, "");
    let pids = agent.temp_dir().join("pids");
    let script = format!(
        "echo $$ > {p}\nsleep 300 &\necho $! >> {p}\n( sleep 300 ) &\necho $! >> {p}\necho READY\nwait",
        p = pids.display()
    );
    let agent = agent
        .input("inlineScript", &script)
        .cancel_when("READY")
        .timeout(Duration::from_secs(30));
    let run = agent.run(TASK);
    assert!(!run.timed_out, "the task must stop on cancellation");
    let complete: Vec<_> = run
        .commands
        .iter()
        .filter(|c| c.name() == "task.complete")
        .collect();
    assert_eq!(complete.len(), 1);
    assert_eq!(complete[0].property("result"), Some("Canceled"));
    let pids = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<&str> = pids.lines().collect();
    assert_eq!(pids.len(), 3);
    for pid in pids {
        assert!(
            fixtures::process_ended(pid),
            "process {pid} outlived the cancelled task"
        );
    }
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn a_missing_script_file_is_a_clear_error() {
    let oidc = oidc();
    let run = step(&oidc)
        .input("scriptType", "filePath")
        .input("filePath", "nope/deploy.sh")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert!(
        run.errors()[0].contains("nope/deploy.sh does not exist"),
        "{:?}",
        run.errors()
    );
    assert!(
        oidc.requests().is_empty(),
        "no credentials are requested for a task that cannot run"
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn missing_bash_is_a_clear_error() {
    let oidc = oidc();
    let empty = tempfile::tempdir().unwrap();
    let run = inline(&oidc, "echo hi")
        .env("PATH", empty.path().to_str().unwrap())
        .run(TASK);
    run.expect(StepResult::Failed);
    assert!(
        run.errors()[0].starts_with("No bash was found on PATH"),
        "{:?}",
        run.errors()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn the_credentials_endpoint_hands_out_refreshed_credentials() {
    let oidc = oidc();
    let stsd = ScriptedServer::start();
    // Every set expires in two minutes, inside the five-minute refresh margin,
    // so each request to the endpoint refreshes. The task reads the real
    // clock, so the expiry is set by it too.
    let soon = SystemClock.now() + Duration::from_secs(120);
    for n in 1..=10 {
        stsd.on(
            Match::body("Action=AssumeRoleWithWebIdentity"),
            sts::credentials_expiring("AssumeRoleWithWebIdentity", n, soon),
            Some(1),
        );
    }
    stsd.on(
        Match::body("Action=GetCallerIdentity"),
        sts::caller_identity("arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools"),
        None,
    );
    let python = azp_testkit::moto::venv_bin("python");
    let fetch = format!(
        r#"{py} -c 'import json,os,urllib.request as u; r=u.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers={{"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}}); print("key " + json.load(u.urlopen(r))["AccessKeyId"])'"#,
        py = python.display()
    );
    let script = format!(
        "[ -z \"${{AWS_ACCESS_KEY_ID:-}}\" ] && echo NO_STATIC_KEYS\n{fetch}\n{fetch}\naws sts get-caller-identity --query Arn --output text\ncurl_status=$({py} -c 'import os,urllib.request as u,urllib.error as e\ntry: u.urlopen(os.environ[\"AWS_CONTAINER_CREDENTIALS_FULL_URI\"])\nexcept e.HTTPError as x: print(x.code)')\necho \"without token: $curl_status\"",
        py = python.display()
    );
    let run = inline(&oidc, &script)
        .env("AWS_ENDPOINT_URL_STS", &stsd.url())
        .input("refreshCredentials", "true")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    let log = run.log_text();
    assert!(log.contains("NO_STATIC_KEYS"), "{log}");
    // The task registered every set as secrets, so the agent masks the key ids.
    let keys: Vec<&str> = run
        .log
        .iter()
        .filter_map(|l| l.strip_prefix("key "))
        .collect();
    assert_eq!(keys, ["***", "***"], "{log}");
    let raw_keys: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("key "))
        .collect();
    assert_eq!(raw_keys.len(), 2);
    assert_ne!(
        raw_keys[0], raw_keys[1],
        "the script must see the credentials change"
    );
    assert!(
        log.contains("arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools"),
        "{log}"
    );
    assert!(log.contains("without token: 401"), "{log}");
    assert!(log.contains("Refreshed the AWS credentials"), "{log}");
    run.assert_log_masked();
}

#[test]
fn toolkit_argument_splitting_and_an_empty_working_directory() {
    let oidc = oidc();
    let agent = step(&oidc);
    let sources = agent.sources_dir();
    std::fs::write(sources.join("args.sh"), "printf '[%s]' \"$@\"; echo\npwd\n").unwrap();
    // As with the toolkit: single quotes are ordinary, backslashes stay,
    // and Specify Working Directory without a directory means the default.
    let agent = agent
        .input("scriptType", "filePath")
        .input("filePath", "args.sh")
        .input("arguments", r#"it's C:\temp\x "two words""#)
        .input("disableAutoCwd", "true");
    let run = agent.run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log
            .contains(&r"[it's][C:\temp\x][two words]".to_owned()),
        "{}",
        run.log_text()
    );
    assert!(
        run.log
            .contains(&sources.canonicalize().unwrap().display().to_string()),
        "{}",
        run.log_text()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn the_credentials_endpoint_serves_keys_that_never_expire() {
    // Keys without a role have no expiry; SDKs still need one in the answer.
    let oidc = oidc();
    let agent = fixtures::isolated(fixtures::task_dir("AWSShellScript"))
        .with_test_tools()
        .env("AWS_ENDPOINT_URL", &azp_testkit::Moto::shared().endpoint())
        .service_connection(
            "awsCredentials",
            fixtures::CONNECTION_ID,
            azp_testkit::Endpoint::aws()
                .param("username", "AKIAIOSFODNN7EXAMPLE")
                .param("password", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        )
        .input("regionName", "eu-west-1")
        .input("scriptType", "inline")
        .input(
            "inlineScript",
            "aws sts get-caller-identity --query Arn --output text",
        )
        .input("refreshCredentials", "true");
    let run = agent.run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log
            .contains(&"arn:aws:sts::123456789012:user/moto".to_owned()),
        "{}",
        run.log_text()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

// --- Issue 8: arguments as task-lib splits them plus single-quoted words,
// and inputs that have no effect are said to have none. ---

#[test]
fn arguments_follow_task_libs_rule_plus_single_quoted_words() {
    let oidc = oidc();
    let agent = step(&oidc).debug(true);
    let sources = agent.sources_dir();
    std::fs::write(sources.join("args.sh"), "printf '[%s]' \"$@\"; echo\n").unwrap();
    // Expected words from task-lib's _argStringToArray, plus the extension
    // for a single-quoted word: '{"a": 1}' and 'two words' lose their quotes.
    let run = agent
        .input("scriptType", "filePath")
        .input("filePath", "args.sh")
        .input(
            "arguments",
            r#"'{"a": 1}' Type=='x' \\srv\share 'two words' "q \"x\"" ''"#,
        )
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(
        run.log
            .contains(&r#"[{"a": 1}][Type=='x'][\\srv\share][two words][q "x"][]"#.to_owned()),
        "{}",
        run.log_text()
    );
    assert!(
        run.log_text()
            .contains("##[debug]arguments has single-quoted words, read as these words: "),
        "{}",
        run.log_text()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn a_working_directory_without_specify_working_directory_is_warned_about() {
    let oidc = oidc();
    let agent = inline(&oidc, "pwd");
    let sources = agent.sources_dir();
    std::fs::create_dir_all(sources.join("elsewhere")).unwrap();
    let default_dir = sources.canonicalize().unwrap().display().to_string();
    let run = agent.input("workingDirectory", "elsewhere").run(TASK);
    // The toolkit's behaviour is kept (the default directory), and said.
    run.expect(StepResult::SucceededWithIssues);
    assert_eq!(
        run.warnings(),
        vec![
            "Working Directory (workingDirectory) is set, but Specify Working Directory (disableAutoCwd) is not, so \
             it has no effect: the script runs in $(System.DefaultWorkingDirectory), as with the AWS Toolkit. Set \
             disableAutoCwd: true to use it."
        ]
    );
    assert!(run.log.contains(&default_dir), "{}", run.log_text());
}

#[test]
fn a_script_path_with_an_inline_script_is_warned_about() {
    let oidc = oidc();
    let run = inline(&oidc, "echo inline-ran")
        .input("filePath", "scripts/deploy.sh")
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert!(run.log.contains(&"inline-ran".to_owned()));
    assert_eq!(
        run.warnings(),
        vec![
            "Script Path (filePath) is set, but Script Source (scriptType) is inline, so it has no effect: the inline script runs."
        ]
    );
}
