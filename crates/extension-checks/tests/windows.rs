//! The Windows tier: the shipped win-x64 task binaries, unmodified, under
//! Wine, against moto and the OIDC endpoint emulation, as a Windows agent
//! runs them (`scripts/test` builds them and installs Wine; nothing here is
//! skipped when Wine is missing).
//!
//! Child programs are `.cmd` stand-ins for `aws` and `bash`: Wine starts a
//! Linux program but cannot wait for it, and a real AWS CLI or Git Bash for
//! Windows is not installable here. The stand-ins report what they were
//! given (arguments, working folder, which credentials variables are set,
//! never their values) and exit with a chosen code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use azp_testkit::fixtures::{self, oidc_server as oidc};
use azp_testkit::wine::{Wine, task_exe, windows_path};
use azp_testkit::{Agent, Endpoint, Moto, OidcServer, StepResult, TaskRun};

/// A folder of `.cmd` stand-ins.
fn stand_ins(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let text = format!("@echo off\r\n{}\r\n", body.replace('\n', "\r\n"));
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// `aws.cmd` that reports what it got and exits with `code`.
fn aws_cmd(code: i32) -> String {
    format!(
        "echo aws-args: %*\n\
         echo region: %AWS_REGION% / %AWS_DEFAULT_REGION%\n\
         if defined AWS_ACCESS_KEY_ID echo has-access-key\n\
         if defined AWS_SECRET_ACCESS_KEY echo has-secret-key\n\
         if defined AWS_SESSION_TOKEN echo has-session-token\n\
         exit /b {code}"
    )
}

/// `bash.cmd` that reports its arguments and working folder.
const BASH_CMD: &str = "echo bash-args: %*\n\
                        echo cwd: %CD%\n\
                        if defined AWS_SESSION_TOKEN echo has-session-token\n\
                        exit /b 0";

fn step(task: &str, oidc: &OidcServer) -> Agent {
    fixtures::isolated(fixtures::task_dir(task))
        .env("AWS_ENDPOINT_URL", &Moto::shared().endpoint())
        .service_connection(
            "awsCredentials",
            fixtures::CONNECTION_ID,
            fixtures::oidc_connection(),
        )
        .input("regionName", "eu-west-1")
        .oidc(oidc)
}

fn run(agent: Agent, task: &str, path: &[&Path]) -> TaskRun {
    Wine::shared().run(agent, &task_exe(task), path)
}

#[track_caller]
fn assert_logged(run: &TaskRun, needle: &str) {
    let log = run.log_text();
    assert!(log.contains(needle), "expected {needle:?} in:\n{log}");
}

#[test]
fn awscli_over_oidc_registers_secrets_first_and_injects_the_session() {
    let oidc = oidc();
    let bin = stand_ins(&[("aws.cmd", &aws_cmd(0))]);
    let r = run(
        step("AWSCLI", &oidc)
            .input("awsCommand", "s3")
            .input("awsSubCommand", "ls")
            .input("awsArguments", "--summarize \"s3://my bucket/x\""),
        "AWSCLI",
        &[bin.path()],
    );
    r.expect(StepResult::Succeeded);
    assert_logged(&r, "aws-args: s3 ls --summarize \"s3://my bucket/x\"");
    assert_logged(&r, "region: eu-west-1 / eu-west-1");
    assert_logged(&r, "has-session-token");
    assert_eq!(oidc.issued_tokens().len(), 1);
    fixtures::assert_no_leaks(&r, &oidc);
}

#[test]
fn awscli_with_keys_and_with_keys_assuming_a_role() {
    let oidc = oidc();
    let bin = stand_ins(&[("aws.cmd", &aws_cmd(0))]);
    let keys = Endpoint::aws()
        .param("username", "AKIAIOSFODNN7EXAMPLE")
        .param("password", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let with = |endpoint: Endpoint| {
        run(
            step("AWSCLI", &oidc)
                .service_connection("awsCredentials", fixtures::CONNECTION_ID, endpoint)
                .input("awsCommand", "sts")
                .input("awsSubCommand", "get-caller-identity"),
            "AWSCLI",
            &[bin.path()],
        )
    };
    let r = with(keys.clone());
    r.expect(StepResult::Succeeded);
    assert_logged(&r, "has-secret-key");
    assert!(
        !r.log_text().contains("has-session-token"),
        "{}",
        r.log_text()
    );
    r.assert_no_leaks(&["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]);

    let r = with(keys.param("assumeRoleArn", fixtures::ROLE_ARN));
    r.expect(StepResult::Succeeded);
    assert_logged(&r, "has-session-token");
    assert_logged(&r, "Assuming role deploy");
    r.assert_no_leaks(&["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]);
}

#[test]
fn exit_codes_standard_error_and_a_missing_cli() {
    let oidc = oidc();
    let bin = stand_ins(&[("aws.cmd", &aws_cmd(3))]);
    let r = run(
        step("AWSCLI", &oidc).input("awsCommand", "sts"),
        "AWSCLI",
        &[bin.path()],
    );
    r.expect(StepResult::Failed);
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.completions, 1);

    let noisy = stand_ins(&[("aws.cmd", "echo careful 1>&2\nexit /b 0")]);
    let r = run(
        step("AWSCLI", &oidc)
            .input("awsCommand", "sts")
            .input("failOnStandardError", "true"),
        "AWSCLI",
        &[noisy.path()],
    );
    r.expect(StepResult::Failed);
    assert!(
        r.errors()
            .iter()
            .any(|e| e.contains("wrote to standard error")),
        "{}",
        r.log_text()
    );

    let empty = tempfile::tempdir().unwrap();
    let r = run(
        step("AWSCLI", &oidc).input("awsCommand", "sts"),
        "AWSCLI",
        &[empty.path()],
    );
    r.expect(StepResult::Failed);
    assert!(
        r.errors().iter().any(|e| e.contains("aws")),
        "{}",
        r.log_text()
    );
    fixtures::assert_no_leaks(&r, &oidc);
}

#[test]
fn shell_scripts_inline_and_from_a_file_with_arguments_and_a_working_folder() {
    let oidc = oidc();
    let bin = stand_ins(&[("bash.cmd", BASH_CMD)]);
    let r = run(
        step("AWSShellScript", &oidc)
            .input("scriptType", "inline")
            .input("inlineScript", "aws sts get-caller-identity"),
        "AWSShellScript",
        &[bin.path()],
    );
    r.expect(StepResult::Succeeded);
    assert_logged(&r, "has-session-token");
    // The script is handed to bash with forward slashes.
    let args = r
        .log
        .iter()
        .find_map(|l| l.strip_prefix("bash-args: "))
        .unwrap_or_else(|| panic!("{}", r.log_text()))
        .to_owned();
    assert!(
        args.contains('/') && !args.contains('\\') && args.ends_with(".sh"),
        "{args}"
    );

    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("deploy.sh");
    std::fs::write(&script, "echo hi\n").unwrap();
    let r = run(
        step("AWSShellScript", &oidc)
            .input("scriptType", "filePath")
            .input("filePath", &windows_path(&script))
            .input("arguments", "one \"two words\"")
            .input("disableAutoCwd", "true")
            .input(
                "workingDirectory",
                &format!("{}\\", windows_path(work.path())),
            ),
        "AWSShellScript",
        &[bin.path()],
    );
    r.expect(StepResult::Succeeded);
    assert_logged(&r, "deploy.sh one \"two words\"");
    assert_logged(&r, &format!("cwd: {}", windows_path(work.path())));
    fixtures::assert_no_leaks(&r, &oidc);
}

#[test]
fn a_missing_bash_is_a_clear_error() {
    let oidc = oidc();
    let empty = tempfile::tempdir().unwrap();
    let r = run(
        step("AWSShellScript", &oidc)
            .input("scriptType", "inline")
            .input("inlineScript", "true"),
        "AWSShellScript",
        &[empty.path()],
    );
    r.expect(StepResult::Failed);
    assert!(
        r.errors().iter().any(|e| e.contains("bash")),
        "{}",
        r.log_text()
    );
}

/// Linux processes whose command line holds `needle`: Wine runs every
/// Windows process as one.
fn processes_with(needle: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    std::fs::read(p.join("cmdline"))
                        .map(|c| {
                            String::from_utf8_lossy(&c)
                                .replace('\0', " ")
                                .contains(needle)
                        })
                        .unwrap_or(false)
                        && !fixtures::process_ended(
                            &p.file_name().unwrap_or_default().to_string_lossy(),
                        )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cancellation_stops_the_whole_tree() {
    let oidc = oidc();
    // The stand-in starts a grandchild that outlives it by design, then
    // waits itself; both must be gone once the task has stopped.
    let bin = stand_ins(&[(
        "bash.cmd",
        "echo script-started\n\
         start \"\" /b ping -n 617 127.0.0.1 > nul\n\
         ping -n 618 127.0.0.1 > nul\n\
         exit /b 0",
    )]);
    let r = run(
        step("AWSShellScript", &oidc)
            .input("scriptType", "inline")
            .input("inlineScript", "sleep 600")
            .cancel_when("script-started")
            .timeout(Duration::from_secs(90)),
        "AWSShellScript",
        &[bin.path()],
    );
    assert_eq!(r.result, StepResult::Canceled, "{}", r.log_text());
    let mut left = Vec::new();
    for _ in 0..50 {
        left = processes_with("-n 617")
            .into_iter()
            .chain(processes_with("-n 618"))
            .collect();
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(left.is_empty(), "still running: {left:?}\n{}", r.log_text());
}

#[test]
fn s3upload_takes_windows_paths_and_patterns() {
    let oidc = oidc();
    let site = tempfile::tempdir().unwrap();
    for (rel, body) in [
        ("index.html", "<html>home</html>"),
        ("about/index.html", "<html>about</html>"),
        ("css/site.css", "body{}"),
        ("notes.txt", "not matched"),
    ] {
        let p = site.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let bucket = azp_testkit::s3::Bucket::create(&Moto::shared().endpoint());
    // A drive-letter folder with a trailing backslash, backslash and
    // forward-slash patterns, a backslash target folder.
    let r = run(
        step("S3Upload", &oidc)
            .input("bucketName", &bucket.name)
            .input("sourceFolder", &format!("{}\\", windows_path(site.path())))
            .input("globExpressions", "**\\*.html\ncss/*.css")
            .input("targetFolder", "www\\v1\\")
            .input("forcePathStyleAddressing", "true"),
        "S3Upload",
        &[],
    );
    r.expect(StepResult::Succeeded);
    assert_eq!(
        bucket.keys(),
        [
            "www/v1/about/index.html",
            "www/v1/css/site.css",
            "www/v1/index.html"
        ]
    );
    let head = bucket.head("www/v1/index.html").unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/html"));
    fixtures::assert_no_leaks(&r, &oidc);
}

#[test]
fn cloudformation_takes_windows_paths_for_the_template_and_parameters() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("stack.yaml");
    std::fs::write(
        &template,
        "Parameters:\n  Env:\n    Type: String\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${AWS::StackName}-${Env}\"\n",
    )
    .unwrap();
    let params = dir.path().join("params.json");
    std::fs::write(&params, r#"{"Env": "win"}"#).unwrap();
    let name = format!("windows-{:08x}", fastrand::u32(..));
    let r = run(
        step("CloudFormationCreateOrUpdateStack", &oidc)
            .input("stackName", &name)
            .input("templateFile", &windows_path(&template))
            .input("templateParametersFile", &windows_path(&params)),
        "CloudFormationCreateOrUpdateStack",
        &[],
    );
    r.expect(StepResult::Succeeded);
    let stack = azp_testkit::cloudformation::Stacks::new(&Moto::shared().endpoint())
        .get(&name)
        .unwrap();
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert_eq!(stack.parameters["Env"], "win");
    fixtures::assert_no_leaks(&r, &oidc);
}

#[test]
fn agent_folders_in_windows_form_and_forward_slash_paths() {
    let oidc = oidc();
    let bin = stand_ins(&[("bash.cmd", BASH_CMD)]);
    let agent_temp = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    // A Windows agent gives its folders as C:\agent\_work\1\s and the like;
    // here they are on Wine's Z: drive.
    let r = run(
        step("AWSShellScript", &oidc)
            .env("AGENT_TEMPDIRECTORY", &windows_path(agent_temp.path()))
            .env(
                "SYSTEM_DEFAULTWORKINGDIRECTORY",
                &windows_path(sources.path()),
            )
            .env("BUILD_SOURCESDIRECTORY", &windows_path(sources.path()))
            // The agent fills empty filePath inputs with that folder.
            .input("filePath", &windows_path(sources.path()))
            .input("workingDirectory", &windows_path(sources.path()))
            .input("scriptType", "inline")
            .input("inlineScript", "echo hi"),
        "AWSShellScript",
        &[bin.path()],
    );
    r.expect(StepResult::Succeeded);
    assert_logged(&r, &format!("cwd: {}", windows_path(sources.path())));
    let args = r
        .log
        .iter()
        .find_map(|l| l.strip_prefix("bash-args: "))
        .unwrap_or_else(|| panic!("{}", r.log_text()))
        .to_owned();
    // The inline script went to the agent's temp folder, named for bash.
    let temp = windows_path(agent_temp.path()).replace('\\', "/");
    assert!(args.starts_with(&temp), "{args} not in {temp}");

    // A drive path written with forward slashes.
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("stack.json");
    std::fs::write(
        &template,
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#,
    )
    .unwrap();
    let name = format!("slashes-{:08x}", fastrand::u32(..));
    let r = run(
        step("CloudFormationCreateOrUpdateStack", &oidc)
            .input("stackName", &name)
            .input("templateFile", &windows_path(&template).replace('\\', "/")),
        "CloudFormationCreateOrUpdateStack",
        &[],
    );
    r.expect(StepResult::Succeeded);
    fixtures::assert_no_leaks(&r, &oidc);
}

#[test]
fn a_script_exit_code_and_standard_error_fail_the_step() {
    let oidc = oidc();
    let failing = stand_ins(&[("bash.cmd", "exit /b 7")]);
    let r = run(
        step("AWSShellScript", &oidc)
            .input("scriptType", "inline")
            .input("inlineScript", "exit 7"),
        "AWSShellScript",
        &[failing.path()],
    );
    r.expect(StepResult::Failed);
    assert_eq!(r.exit_code, Some(7));

    let noisy = stand_ins(&[("bash.cmd", "echo warning: disk 1>&2\nexit /b 0")]);
    let r = run(
        step("AWSShellScript", &oidc)
            .input("scriptType", "inline")
            .input("inlineScript", "echo warning: disk >&2")
            .input("failOnStandardError", "true"),
        "AWSShellScript",
        &[noisy.path()],
    );
    r.expect(StepResult::Failed);
    fixtures::assert_no_leaks(&r, &oidc);
}

/// The agent's CA and client certificate under Wine: the Windows
/// certificate verifier (CryptoAPI, through rustls-platform-verifier) with
/// the agent's extra root, and the client certificate presented to the OIDC
/// emulation and to an HTTPS front for moto, both of which require it.
#[test]
fn the_agents_ca_and_client_certificate_on_windows() {
    use azp_testkit::tls::{CLIENT_KEY_PASSWORD, TestPki};
    let pki = TestPki::shared();
    let oidc = fixtures::https_oidc_server(true);
    let aws = fixtures::https_moto(true);
    let bin = stand_ins(&[(
        "aws.cmd",
        "if defined AWS_CA_BUNDLE echo has-ca-bundle\nexit /b 0",
    )]);
    let r = run(
        step("AWSCLI", &oidc)
            .env("AWS_ENDPOINT_URL", &aws.url())
            .variable("Agent.CAInfo", &windows_path(&pki.ca))
            .variable("Agent.ClientCert", &windows_path(&pki.client_cert))
            .variable("Agent.ClientCertKey", &windows_path(&pki.client_key))
            .variable(
                "Agent.ClientCertArchive",
                &windows_path(&pki.client_archive),
            )
            .secret_variable("Agent.ClientCertPassword", CLIENT_KEY_PASSWORD)
            .input("awsCommand", "sts"),
        "AWSCLI",
        &[bin.path()],
    );
    r.expect(StepResult::Succeeded);
    assert_logged(&r, "has-ca-bundle");
    assert_eq!(oidc.requests().len(), 1);
    assert_eq!(
        aws.actions(),
        ["AssumeRoleWithWebIdentity", "GetCallerIdentity"]
    );
    assert!(!r.log_text().contains(CLIENT_KEY_PASSWORD));
    fixtures::assert_no_leaks(&r, &oidc);
}

/// Without the agent's CA, the Windows verifier's refusal fails the step at
/// once (one handshake) with the advice.
#[test]
fn an_untrusted_certificate_fails_at_once_on_windows() {
    let oidc = fixtures::https_oidc_server(false);
    let bin = stand_ins(&[("aws.cmd", &aws_cmd(0))]);
    let r = run(
        step("AWSCLI", &oidc).input("awsCommand", "sts"),
        "AWSCLI",
        &[bin.path()],
    );
    r.expect(StepResult::Failed);
    let error = r.errors().join("\n");
    assert!(
        error.contains(
            "The OIDC token request failed: the TLS certificate of 127.0.0.1 cannot be trusted"
        ) && error.contains("--sslcacert (Agent.CAInfo)"),
        "{error}"
    );
    assert_eq!(oidc.handshakes().failed.len(), 1, "{:?}", oidc.handshakes());
    fixtures::assert_no_leaks(&r, &oidc);
}
