//! CloudFormationCreateOrUpdateStack run by the agent harness against moto
//! over the loopback OIDC endpoint: create, update and no change, directly
//! and by change set; parameters in every form; outputs; templates through
//! S3; and, through the fault proxy, what moto cannot show (stacks in
//! progress or rolled back, per-resource and nested failure events).

use std::path::Path;

use azp_testkit::cloudformation::{Stacks, failed_nested_create, status_rewrite};
use azp_testkit::fault_proxy::{Fault, FaultProxy, Rule};
use azp_testkit::fixtures::{self, oidc_server as oidc};
use azp_testkit::s3::Bucket;
use azp_testkit::{Agent, Moto, OidcServer, StepResult, TaskRun};

const TASK: &str = env!("CARGO_BIN_EXE_CloudFormationCreateOrUpdateStack");

const V1: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: a topic
Parameters:
  Env:
    Type: String
    Default: dev
  # String, not Number: moto keeps Number parameters as numbers and then
  # never sees that an update changes nothing.
  Size:
    Type: String
    Default: "1"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-${Env}"
Outputs:
  TopicArn:
    Description: the topic
    Value: !Ref Topic
  Greeting:
    Value: !Sub "hello ${Env}"
"#;

/// V1 plus a queue.
fn v2() -> String {
    V1.replace(
        "Outputs:",
        "  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub \"${AWS::StackName}-q\"\nOutputs:",
    )
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", fastrand::u32(..))
}

fn stacks() -> Stacks {
    Stacks::new(&Moto::shared().endpoint())
}

/// A step deploying `template` (written to a file) as `stack`.
fn step(oidc: &OidcServer, dir: &Path, stack: &str, template: &str) -> Agent {
    let path = dir.join(format!("{stack}.yaml"));
    std::fs::write(&path, template).unwrap();
    fixtures::oidc_step(
        fixtures::task_dir("CloudFormationCreateOrUpdateStack"),
        oidc,
    )
    .input("stackName", stack)
    .input("templateFile", &path.display().to_string())
}

#[track_caller]
fn assert_logged(run: &TaskRun, needle: &str) {
    let log = run.log_text();
    assert!(
        log.contains(needle),
        "expected {needle:?} in the log:\n{log}"
    );
}

#[track_caller]
fn assert_error(run: &TaskRun, needle: &str) {
    let errors = run.errors().join("\n");
    assert!(
        errors.contains(needle),
        "expected {needle:?} in the errors:\n{errors}\n--- log:\n{}",
        run.log_text()
    );
}

/// `task.setvariable` values by name (the last one set), and whether each
/// had an `isoutput=true` copy.
fn variable(run: &TaskRun, name: &str) -> Option<(String, bool, bool)> {
    let sets: Vec<_> = run
        .commands
        .iter()
        .filter(|c| c.name() == "task.setvariable" && c.property("variable") == Some(name))
        .collect();
    let last = sets.last()?;
    Some((
        last.data.clone(),
        sets.iter().any(|c| c.property("isoutput") == Some("true")),
        last.property("issecret") == Some("true"),
    ))
}

#[test]
fn create_update_and_no_change_by_direct_calls() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("direct");
    let run = step(&oidc, dir.path(), &name, V1)
        .input("templateParametersSource", "inline")
        .input("templateParameters", "Env=prod\nSize=3")
        .input("outputVariable", "stackArn")
        .input("tags", "team=web\ncost-centre = 42")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "switching to create stack mode");
    assert_logged(&run, "CREATE_COMPLETE");
    let s = stacks().get(&name).unwrap();
    assert_eq!(s.status, "CREATE_COMPLETE");
    assert_eq!(s.parameters["Env"], "prod");
    assert_eq!(s.parameters["Size"], "3");
    assert_eq!(s.tags["team"], "web");
    assert_eq!(s.tags["cost-centre"], "42");
    let (arn, output, secret) = variable(&run, "stackArn").unwrap();
    assert_eq!(arn, s.id);
    assert!(output && !secret);
    fixtures::assert_no_leaks(&run, &oidc);

    let run = step(&oidc, dir.path(), &name, &v2())
        .input("templateParametersSource", "inline")
        .input("templateParameters", "Env=prod\nSize=3")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "switching to update stack mode");
    assert_logged(&run, "transitioned to update complete status");
    assert_eq!(stacks().get(&name).unwrap().status, "UPDATE_COMPLETE");

    // The same template and parameters: "No updates are to be performed."
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("templateParametersSource", "inline")
        .input("templateParameters", "Env=prod\nSize=3")
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert!(
        run.warnings()
            .iter()
            .any(|w| w.contains("no changes were detected")),
        "{}",
        run.log_text()
    );
    // Quietly with warnWhenNoWorkNeeded off.
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("templateParametersSource", "inline")
        .input("templateParameters", "Env=prod\nSize=3")
        .input("warnWhenNoWorkNeeded", "false")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "No changes were detected");
}

#[test]
fn create_update_and_both_no_change_shapes_by_change_set() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("changes");
    let cs = |a: Agent| {
        a.input("useChangeSet", "true")
            .input("changeSetName", "deploy")
            .input("description", "from the pipeline")
    };
    let run = cs(step(&oidc, dir.path(), &name, V1)).run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "Creating change set deploy (CREATE)");
    assert_logged(&run, "Add     Topic");
    assert_eq!(stacks().get(&name).unwrap().status, "CREATE_COMPLETE");

    let run = cs(step(&oidc, dir.path(), &name, &v2())).run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "Creating change set deploy (UPDATE)");
    assert_logged(&run, "Add     Queue");
    assert_eq!(stacks().get(&name).unwrap().status, "UPDATE_COMPLETE");

    // No parameters: the change set is created and ends FAILED with "didn't
    // contain changes"; it must be deleted, not left behind.
    let proxy = FaultProxy::start(Moto::shared().port(), vec![]);
    let run = cs(step(&oidc, dir.path(), &name, &v2()))
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert_logged(&run, "no changes were detected");
    let actions = proxy.actions();
    assert!(
        actions.iter().any(|a| a == "DeleteChangeSet"),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a == "ExecuteChangeSet"),
        "{actions:?}"
    );
    assert!(
        stacks().change_sets(&name).is_empty(),
        "{:?}",
        stacks().change_sets(&name)
    );

    // With parameters, moto refuses CreateChangeSet itself with "No updates
    // are to be performed." (AWS creates it and fails it, as above).
    let proxy = FaultProxy::start(Moto::shared().port(), vec![]);
    let run = cs(step(&oidc, dir.path(), &name, &v2()))
        .input("templateParametersSource", "inline")
        .input("templateParameters", "Env=dev\nSize=1")
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert_logged(&run, "no changes were detected");
    // The refusal is the answer: nothing is waited for, deleted or executed.
    let actions = proxy.actions();
    let created = actions.iter().position(|a| a == "CreateChangeSet").unwrap();
    assert!(
        actions[created + 1..].iter().all(|a| a == "DescribeStacks"),
        "{actions:?}"
    );
    assert!(stacks().change_sets(&name).is_empty());
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn without_auto_execute_the_changes_are_printed_and_set_as_a_variable() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("review");
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("useChangeSet", "true")
        .input("changeSetName", "review-me")
        .input("autoExecuteChangeSet", "false")
        .input("outputVariable", "stackArn")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "Action  Logical ID  Type");
    assert_logged(&run, "Add     Queue       AWS::SQS::Queue");
    let (changes, output, _) = variable(&run, "changeSetChanges").unwrap();
    assert!(output);
    let changes: serde_json::Value = serde_json::from_str(&changes).unwrap();
    let mut ids: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["action"], "Add");
            c["logicalResourceId"].as_str().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["Queue", "Topic"]);
    assert_eq!(variable(&run, "changeSetName").unwrap().0, "review-me");
    let s = stacks().get(&name).unwrap();
    assert_eq!(s.status, "REVIEW_IN_PROGRESS");
    assert_eq!(variable(&run, "stackArn").unwrap().0, s.id);
    assert_eq!(
        stacks().change_sets(&name),
        [("review-me".to_owned(), "CREATE_COMPLETE".to_owned())]
    );

    // The next run replaces the change set of the same name and executes
    // it: REVIEW_IN_PROGRESS is create mode for a change set.
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("useChangeSet", "true")
        .input("changeSetName", "review-me")
        .input("outputVariable", "stackArn")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "has only change sets so far (REVIEW_IN_PROGRESS)");
    assert_logged(&run, "Deleted the existing change set review-me");
    // CloudFormation keeps the stack id; moto makes a second stack of the
    // same name, so look it up by the id the task reports.
    let id = variable(&run, "stackArn").unwrap().0;
    assert_eq!(stacks().get(&id).unwrap().status, "CREATE_COMPLETE");
}

#[test]
fn every_parameter_form_reaches_cloudformation_as_strings() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    // The files in tests/forms, which tests/schema.rs also checks against
    // the published JSON Schema: file, Env, Size.
    let forms = [
        ("array.json", "json-array", "2"),
        ("object.json", "json-object", "3"),
        ("array.yaml", "yaml-array", "4"),
        ("object.yml", "yaml-object", "5"),
        ("config.json", "codepipeline", "6"),
        ("lines.txt", "key-value", "7"),
    ];
    let forms_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/forms");
    for (file, env, size) in forms {
        let name = unique("params");
        let path = forms_dir.join(file);
        let run = step(&oidc, dir.path(), &name, V1)
            .input("templateParametersFile", &path.display().to_string())
            .run(TASK);
        run.expect(StepResult::Succeeded);
        let s = stacks().get(&name).unwrap();
        assert_eq!(s.parameters["Env"], env, "{file}");
        assert_eq!(s.parameters["Size"], size, "{file}");
        if file == "config.json" {
            assert_eq!(s.tags["team"], "web");
        }
    }
    // The agent fills an empty filePath input with the sources folder: no file.
    let name = unique("params");
    let agent = step(&oidc, dir.path(), &name, V1);
    let sources = agent.sources_dir().display().to_string();
    let run = agent.input("templateParametersFile", &sources).run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(stacks().get(&name).unwrap().parameters["Env"], "dev");
}

#[test]
fn outputs_become_variables_or_json_secret_or_not() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("outputs");
    let run = step(&oidc, dir.path(), &name, V1)
        .input("captureStackOutputs", "asVariables")
        .input("captureAsSecuredVars", "false")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    let (greeting, output, secret) = variable(&run, "Greeting").unwrap();
    assert_eq!(greeting, "hello dev");
    assert!(output && !secret);
    assert!(
        variable(&run, "TopicArn")
            .unwrap()
            .0
            .starts_with("arn:aws:sns:")
    );

    // The agent deletes its temp folder, and the summary page in it, with
    // the step.
    let agent = step(&oidc, dir.path(), &name, &v2()).input("captureStackOutputs", "asJSON");
    let run = agent.run(TASK);
    run.expect(StepResult::Succeeded);
    let (json, output, secret) = variable(&run, &format!("{name}Outputs")).unwrap();
    assert!(output && secret);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let greeting = v
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["OutputKey"] == "Greeting")
        .unwrap();
    assert_eq!(greeting["OutputValue"], "hello dev");
    // A secret output is registered before it is set, never written in
    // plain text outside its own setvariable, and masked on the summary page.
    run.assert_no_leaks(&["hello dev"]);
    let page = run
        .commands
        .iter()
        .find(|c| c.name() == "task.uploadsummary")
        .map(|c| std::fs::read_to_string(&c.data).unwrap())
        .unwrap();
    assert!(page.contains("| Greeting | *** |"), "{page}");
    assert!(!page.contains("hello dev"), "{page}");
    fixtures::assert_no_leaks(&run, &oidc);
}

fn large_template() -> String {
    let mut t = String::from("Resources:\n");
    let mut i = 0;
    while t.len() <= 51_200 {
        t.push_str(&format!(
            "  Param{i}:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /big/p{i}\n      Type: String\n      Value: \"{}\"\n",
            "x".repeat(40)
        ));
        i += 1;
    }
    t
}

#[test]
fn a_large_template_goes_through_the_bucket_and_without_one_fails_before_any_call() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("large");
    let template = large_template();
    let bucket = Bucket::create(&Moto::shared().endpoint());
    let run = step(&oidc, dir.path(), &name, &template)
        .input("s3BucketName", &bucket.name)
        .run(TASK);
    run.expect(StepResult::Succeeded);
    let keys = bucket.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&format!("{name}/")) && keys[0].ends_with(".yaml"));
    assert_eq!(bucket.get(&keys[0]), template.as_bytes());
    assert_eq!(stacks().get(&name).unwrap().status, "CREATE_COMPLETE");

    let proxy = FaultProxy::start(Moto::shared().port(), vec![]);
    let run = step(&oidc, dir.path(), &unique("large"), &template)
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "51,200 bytes");
    assert_error(&run, "s3BucketName");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.actions());
}

#[test]
fn bad_inputs_fail_with_a_clear_error_and_no_aws_call() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(Moto::shared().port(), vec![]);
    let bad_params = dir.path().join("params.json");
    std::fs::write(
        &bad_params,
        // A missing comma between the entries, on line 5.
        "[\n  {\"ParameterKey\": \"Env\",\n   \"ParameterValue\": \"prod\"\n  }\n  {\"ParameterKey\": \"Size\", \"ParameterValue\": \"2\"}\n]",
    )
    .unwrap();
    let cases: Vec<(Agent, &str)> = vec![
        (
            step(&oidc, dir.path(), "missing", V1).input("templateFile", "/nonexistent/stack.yaml"),
            "does not exist",
        ),
        (
            step(
                &oidc,
                dir.path(),
                "syntax",
                "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n   Properties: {\n",
            ),
            "line 4",
        ),
        (
            step(&oidc, dir.path(), "params", V1)
                .input("templateParametersFile", &bad_params.display().to_string()),
            "params.json, line 5",
        ),
        (
            step(&oidc, dir.path(), "tags", V1).input("tags", "team=web\nowner"),
            "line 2 ('owner') is not Key=Value",
        ),
        (
            step(&oidc, dir.path(), "rollback", V1)
                .input("monitorRollbackTriggers", "true")
                .input("monitoringTimeInMinutes", "181"),
            "0 to 180",
        ),
        (
            step(&oidc, dir.path(), "bad_name", V1),
            "a stack name starts with a letter",
        ),
        (
            step(&oidc, dir.path(), "prev", V1)
                .input("templateSource", "url")
                .input("templateUrl", "http://example.com/t.yaml"),
            "is not an https:// URL",
        ),
    ];
    for (agent, needle) in cases {
        let run = agent.env("AWS_ENDPOINT_URL", &proxy.url()).run(TASK);
        run.expect(StepResult::Failed);
        assert_error(&run, needle);
        fixtures::assert_no_leaks(&run, &oidc);
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.actions());
}

#[test]
fn access_denied_on_describe_is_an_error_not_create_mode() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![Rule::action(
            "DescribeStacks",
            Fault::Reply(
                403,
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
                 arn:aws:sts::123456789012:assumed-role/deploy/x is not authorized to perform: \
                 cloudformation:DescribeStacks</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
                    .into(),
            ),
            10,
        )],
    );
    let run = step(&oidc, dir.path(), &unique("denied"), V1)
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "AccessDenied");
    assert_error(&run, "cloudformation:DescribeStacks");
    assert!(!proxy.actions().iter().any(|a| a == "CreateStack"));

    // A role without DescribeStackEvents (the toolkit never needed it)
    // still deploys: a warning, and the wait follows the status alone.
    let denied = |action: &str| {
        Fault::Reply(
            403,
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to \
                 perform: cloudformation:{action}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>"
            ),
        )
    };
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![Rule::action(
            "DescribeStackEvents",
            denied("DescribeStackEvents"),
            100,
        )],
    );
    let name = unique("noevents");
    let run = step(&oidc, dir.path(), &name, V1)
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert!(
        run.warnings()
            .iter()
            .any(|w| w.contains("cloudformation:DescribeStackEvents")),
        "{}",
        run.log_text()
    );
    assert_eq!(stacks().get(&name).unwrap().status, "CREATE_COMPLETE");
}

#[test]
fn a_rolled_back_first_create_is_explained_or_recreated() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("rolledback");
    let _ = stacks().create(&name, V1);
    let rules = || {
        vec![Rule::action(
            "DescribeStacks",
            status_rewrite("ROLLBACK_COMPLETE"),
            1,
        )]
    };
    let proxy = FaultProxy::start(Moto::shared().port(), rules());
    let run = step(&oidc, dir.path(), &name, &v2())
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "ROLLBACK_COMPLETE");
    assert_error(&run, "recreateFailedStack");
    assert_eq!(proxy.actions(), ["DescribeStacks"]);

    let proxy = FaultProxy::start(Moto::shared().port(), rules());
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("recreateFailedStack", "true")
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    let actions = proxy.actions();
    let pos = |a: &str| actions.iter().position(|x| x == a).unwrap_or(usize::MAX);
    assert!(pos("DeleteStack") < pos("CreateStack"), "{actions:?}");
    let s = stacks().get(&name).unwrap();
    assert_eq!(s.status, "CREATE_COMPLETE");
    assert!(s.outputs.contains_key("TopicArn"));
    let create = proxy
        .seen()
        .into_iter()
        .find(|s| s.action.as_deref() == Some("CreateStack"))
        .unwrap();
    assert!(
        create
            .form
            .iter()
            .any(|(k, v)| k == "ClientRequestToken" && v.starts_with("azp-createstack-"))
    );
}

#[test]
fn a_stack_still_in_progress_is_waited_for_then_updated() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("busy");
    let _ = stacks().create(&name, V1);
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![Rule::action(
            "DescribeStacks",
            status_rewrite("UPDATE_IN_PROGRESS"),
            2,
        )],
    );
    let run = step(&oidc, dir.path(), &name, &v2())
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(
        &run,
        "is UPDATE_IN_PROGRESS; waiting for that operation to end",
    );
    let actions = proxy.actions();
    let update = actions.iter().position(|a| a == "UpdateStack").unwrap();
    assert_eq!(
        actions[..update]
            .iter()
            .filter(|a| *a == "DescribeStacks")
            .count(),
        4,
        "the first look, two rounds of waiting, the look after it: {actions:?}"
    );
    assert_eq!(stacks().get(&name).unwrap().status, "UPDATE_COMPLETE");
}

#[test]
fn a_failed_create_streams_events_and_names_the_first_failure_in_a_nested_stack() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("failing");
    // The scenario's events: azp_testkit::cloudformation::failed_nested_create.
    let proxy = FaultProxy::start(Moto::shared().port(), failed_nested_create(&name));
    let run = step(&oidc, dir.path(), &name, V1)
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, &format!("stack {name} ended in ROLLBACK_COMPLETE"));
    assert_error(
        &run,
        &format!(
            "The first resource to fail was Assets (AWS::S3::Bucket) in nested stack {name}-Storage-1ABC: \
             CREATE_FAILED assets-prod already exists"
        ),
    );
    // Events are printed as they arrive, oldest first, nested ones
    // indented, failures in red.
    let log = run.log_text();
    let at = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the log:\n{log}"))
    };
    assert!(at("10:00:03Z  Queue  AWS::SQS::Queue  CREATE_IN_PROGRESS") < at("10:00:08Z  Assets"));
    assert!(
        at(
            "  2026-11-29T10:00:08Z  Assets  AWS::S3::Bucket  CREATE_FAILED  assets-prod already exists"
        ) > 0
    );
    assert!(log.contains("##[error]  2026-11-29T10:00:08Z  Assets"));
    assert!(at("10:00:08Z  Assets") < at("10:00:20Z"));
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn termination_protection_and_a_stack_policy_from_a_file_or_inline() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("guarded");
    let policy = r#"{"Statement": [{"Effect": "Deny", "Action": "Update:Replace", "Principal": "*", "Resource": "*"}]}"#;
    let policy_file = dir.path().join("policy.json");
    std::fs::write(&policy_file, policy).unwrap();
    let run = step(&oidc, dir.path(), &name, V1)
        .input("enableTerminationProtection", "true")
        .input("stackPolicySource", "file")
        .input("stackPolicyFile", &policy_file.display().to_string())
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert!(stacks().get(&name).unwrap().termination_protection);
    assert_eq!(stacks().policy(&name).as_deref(), Some(policy));

    // A change set carries no policy: it is set after the execution.
    let inline = r#"{"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}"#;
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("useChangeSet", "true")
        .input("changeSetName", "guarded")
        .input("stackPolicySource", "inline")
        .input("stackPolicy", inline)
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "Applied the stack policy");
    assert_eq!(stacks().policy(&name).as_deref(), Some(inline));

    // A policy that is not JSON fails before any call.
    let run = step(&oidc, dir.path(), &name, &v2())
        .input("stackPolicySource", "inline")
        .input("stackPolicy", "{\"Statement\": [")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "is not JSON (line 1");
}

#[test]
fn templates_from_s3_and_the_previous_template() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let bucket = Bucket::create(&Moto::shared().endpoint());
    bucket.put("stacks/topic.yaml", V1.as_bytes());
    let name = unique("froms3");
    let run = step(&oidc, dir.path(), &name, "unused: true")
        .input("templateSource", "s3")
        .input("s3BucketName", &bucket.name)
        .input("s3ObjectKey", "/stacks/topic.yaml")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(stacks().get(&name).unwrap().status, "CREATE_COMPLETE");

    // The previous template with new parameter values.
    let run = step(&oidc, dir.path(), &name, "unused: true")
        .input("templateSource", "usePrevious")
        .input("templateParametersSource", "inline")
        .input("templateParameters", "Env=staging")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    let s = stacks().get(&name).unwrap();
    assert_eq!(s.status, "UPDATE_COMPLETE");
    assert_eq!(s.parameters["Env"], "staging");

    // A stack that does not exist has no previous template.
    let run = step(&oidc, dir.path(), &unique("nothing"), "unused: true")
        .input("templateSource", "usePrevious")
        .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "invalid when stack does not exist");
}

#[test]
fn an_executed_change_set_is_followed_until_the_stack_leaves_review() {
    let oidc = oidc();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("lagging");
    // Right after ExecuteChangeSet, CloudFormation may still report the
    // stack as it was (moto completes at once): once REVIEW_IN_PROGRESS,
    // then CREATE_IN_PROGRESS, then moto's CREATE_COMPLETE.
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![
            Rule::action("DescribeStacks", status_rewrite("REVIEW_IN_PROGRESS"), 1),
            Rule::action("DescribeStacks", status_rewrite("CREATE_IN_PROGRESS"), 1),
        ],
    );
    let run = step(&oidc, dir.path(), &name, V1)
        .input("useChangeSet", "true")
        .input("changeSetName", "first")
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_logged(&run, "transitioned to create complete status");
    let actions = proxy.actions();
    let execute = actions
        .iter()
        .position(|a| a == "ExecuteChangeSet")
        .unwrap();
    assert_eq!(
        actions[execute..]
            .iter()
            .filter(|a| *a == "DescribeStacks")
            .count(),
        3,
        "{actions:?}"
    );
}
