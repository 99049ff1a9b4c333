//! The migration script, run as a user runs it, against the loopback
//! emulation of the Azure DevOps REST API: a project with an OIDC
//! connection, a key connection, a YAML pipeline in an Azure Repos Git
//! repository, a YAML pipeline on GitHub, a classic build definition, a
//! release definition and a task group.

use std::process::{Command, Output};

use azp_testkit::devops::{DevOpsServer, DevOpsState};
use extension_checks::flavour;
use serde_json::{Value, json};

const PAT: &str = "pat-52charactersofpersonalaccesstokenabcdefghijklmno";
const PROJECT: &str = "Web Shop";
const PROJECT_ID: &str = "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c";
const OIDC_ID: &str = "e0000000-0000-4000-8000-000000000001";
const KEYS_ID: &str = "e0000000-0000-4000-8000-000000000002";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const CMDLINE_GUID: &str = "d9bafed4-0b18-4f58-968d-86655b4d2ce9";
const YAML: &str = "trigger: [main]\nsteps:\n- script: make\n- task: AWSCLI@1\n  inputs:\n    awsCredentials: aws-prod\n    awsCommand: s3\n";

fn toolkit(task: &str) -> &'static str {
    flavour::TOOLKIT_TASKS
        .iter()
        .find(|(n, _)| *n == task)
        .map(|(_, g)| *g)
        .expect("a toolkit task")
}

/// This extension's GUID of `task` in the flavour named `name`.
fn ours(task: &str, name: &str) -> String {
    let text = std::fs::read_to_string(
        azp_testkit::workspace_root().join(format!("tasks/{task}/task.json")),
    )
    .expect("task.json");
    let source: Value = serde_json::from_str(&text).expect("task.json is JSON");
    let f = flavour::by_name(name).expect("flavour");
    f.task_guid(source["id"].as_str().expect("id"))
}

fn endpoint(id: &str, name: &str, parameters: Value) -> Value {
    json!({
        "id": id,
        "name": name,
        "type": "AWS",
        "url": "https://aws.amazon.com/",
        "description": "deployments",
        "authorization": { "scheme": "UsernamePassword", "parameters": parameters },
        "isShared": false,
        "isReady": true,
        "owner": "library",
        "serviceEndpointProjectReferences": [{
            "projectReference": { "id": PROJECT_ID, "name": PROJECT },
            "name": name,
            "description": "deployments"
        }]
    })
}

fn step(task_id: &str, display: &str, connection: &str) -> Value {
    json!({
        "displayName": display,
        "enabled": true,
        "task": { "id": task_id, "versionSpec": "1.*", "definitionType": "task" },
        "inputs": { "awsCredentials": connection, "regionName": "eu-west-1" }
    })
}

fn seed(st: &mut DevOpsState) {
    st.endpoints.insert(
        OIDC_ID.into(),
        endpoint(
            OIDC_ID,
            "aws-prod",
            json!({
                "username": "", "password": null, "sessionToken": null,
                "assumeRoleArn": "arn:aws:iam::123456789012:role/deploy",
                "roleSessionName": "azp-deploy", "externalId": "", "useOIDC": "true"
            }),
        ),
    );
    st.endpoints.insert(
        KEYS_ID.into(),
        endpoint(
            KEYS_ID,
            "aws-legacy",
            json!({
                "username": "AKIAIOSFODNN7EXAMPLE", "password": SECRET_KEY,
                "assumeRoleArn": "arn:aws:iam::123456789012:role/legacy", "externalId": "ext-7", "useOIDC": "false"
            }),
        ),
    );
    let other = "e0000000-0000-4000-8000-000000000003";
    st.endpoints.insert(
        other.into(),
        json!({ "id": other, "name": "azure", "type": "azurerm", "authorization": { "scheme": "WorkloadIdentityFederation", "parameters": {} } }),
    );
    st.permissions.insert(
        OIDC_ID.into(),
        json!({ "resource": { "type": "endpoint", "id": OIDC_ID }, "pipelines": [
            { "id": 11, "authorized": true, "authorizedOn": "2026-01-05T10:00:00Z" },
            { "id": 12, "authorized": true, "authorizedOn": "2026-01-05T10:00:00Z" },
            { "id": 14, "authorized": false }
        ] }),
    );
    st.definitions.insert(
        11,
        json!({ "id": 11, "name": "web-deploy", "revision": 5,
            "process": { "type": 2, "yamlFilename": "pipelines/deploy.yml" },
            "repository": { "id": "r-1", "type": "TfsGit", "name": "web", "defaultBranch": "refs/heads/main" } }),
    );
    st.files
        .insert(("r-1".into(), "pipelines/deploy.yml".into()), YAML.into());
    st.definitions.insert(
        12,
        json!({ "id": 12, "name": "legacy-build", "revision": 3,
            "process": { "type": 1, "phases": [{ "name": "Agent job 1", "steps": [
                step(toolkit("AWSShellScript"), "Deploy site", OIDC_ID),
                step(toolkit("AWSCLI"), "Sync bucket", KEYS_ID),
                step(CMDLINE_GUID, "Build", "")
            ] }] },
            "repository": { "id": "r-1", "type": "TfsGit", "name": "web" } }),
    );
    st.definitions.insert(
        13,
        json!({ "id": 13, "name": "github-deploy", "revision": 1,
            "process": { "type": 2, "yamlFilename": "azure-pipelines.yml" },
            "repository": { "id": "contoso/site", "type": "GitHub", "name": "contoso/site" } }),
    );
    st.releases.insert(
        1,
        json!({ "id": 1, "name": "prod-release", "revision": 2, "environments": [{ "name": "Prod", "deployPhases": [{
            "workflowTasks": [
                { "name": "Deploy", "taskId": toolkit("AWSCLI"), "version": "1.*", "inputs": { "awsCredentials": OIDC_ID } },
                { "name": "Notify", "taskId": CMDLINE_GUID, "version": "2.*", "inputs": {} }
            ] }] }] }),
    );
    st.task_groups.insert(
        "g-1".into(),
        json!({ "id": "g-1", "name": "aws-steps", "revision": 1, "tasks": [
            step(toolkit("AWSShellScript"), "Shell", "$(awsConnection)")
        ] }),
    );
}

fn server() -> DevOpsServer {
    let server = DevOpsServer::start("contoso", PROJECT, PROJECT_ID, PAT);
    server.with(seed);
    server
}

fn migrate(server: &DevOpsServer, args: &[&str], token: Option<&str>) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-toolkit-migrate"));
    cmd.env_clear()
        .args([
            "--organization",
            &server.org_url(),
            "--project",
            PROJECT,
            "--release-url",
            &server.org_url(),
        ])
        .args(args);
    if let Some(t) = token {
        cmd.env("AZURE_DEVOPS_EXT_PAT", t);
    }
    let out = cmd.output().expect("run aws-toolkit-migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(PAT), "the PAT was printed:\n{text}");
    assert!(
        !text.contains(SECRET_KEY),
        "a secret key was printed:\n{text}"
    );
    (out, text)
}

fn assert_says(text: &str, expected: &str) {
    assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
}

fn without_revisions(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("revision");
    }
    v
}

/// The project's state, revisions aside, for before/after comparisons.
fn snapshot(server: &DevOpsServer) -> Value {
    server.with(|st| {
        json!({
            "endpoints": st.endpoints.values().cloned().collect::<Vec<_>>(),
            "permissions": st.permissions.clone(),
            "definitions": st.definitions.values().cloned().map(without_revisions).collect::<Vec<_>>(),
            "releases": st.releases.values().cloned().map(without_revisions).collect::<Vec<_>>(),
            "task_groups": st.task_groups.values().cloned().map(without_revisions).collect::<Vec<_>>(),
        })
    })
}

#[test]
fn dry_run_reports_everything_and_changes_nothing() {
    let server = server();
    let before = snapshot(&server);
    let (out, text) = migrate(&server, &[], Some(PAT));
    assert!(out.status.success(), "{text}");
    assert!(
        server.writes().is_empty(),
        "a dry run wrote: {:?}",
        server.writes()
    );
    assert_eq!(snapshot(&server), before);
    for expected in [
        "Service connections of type AWS: 2",
        "aws-prod (OIDC): rename it to aws-prod-toolkit; create aws-prod of type AzpAwsTasksAWS",
        "The OIDC subject sc://contoso/Web Shop/aws-prod does not change",
        "aws-legacy (access keys): cannot be moved through the API",
        "Access Key ID = AKIAIOSFODNN7EXAMPLE; Secret Access Key = (re-enter it",
        "Role to Assume = arn:aws:iam::123456789012:role/legacy; External ID = ext-7",
        "web-deploy (web:pipelines/deploy.yml, line 4): AWSCLI@1: no edit",
        "github-deploy: its YAML is in GitHub repository contoso/site, azure-pipelines.yml",
        "build definition legacy-build:",
        "its connection aws-prod is re-pointed to the new aws-prod",
        "its connection aws-legacy has keys: once you have created the new aws-legacy, choose it in this step",
        "release definition prod-release:\n    step \"Deploy\": AWSCLI",
        "task group aws-steps:",
        "its connection is the variable $(awsConnection)",
        "Dry run: nothing was changed. 4 changes would be made",
    ] {
        assert_says(&text, expected);
    }
    assert!(
        !text.contains("  azure"),
        "a connection of another type was listed:\n{text}"
    );
    assert!(
        !text.contains("Build\""),
        "a step of another task was listed:\n{text}"
    );
    // Every call carried the PAT and an api-version (the emulation refuses
    // others), and the YAML was read at the default branch.
    let item = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/items"))
        .expect("the YAML file was read");
    assert_eq!(
        item.query
            .get("versionDescriptor.version")
            .map(String::as_str),
        Some("main")
    );
}

#[test]
fn apply_moves_oidc_connections_swaps_guids_and_rolls_back() {
    let server = server();
    let before = snapshot(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let rollback = dir.path().join("rollback.json");
    let rollback_arg = rollback.to_str().expect("utf-8");
    let (out, text) = migrate(
        &server,
        &["--apply", "--rollback-file", rollback_arg],
        Some(PAT),
    );
    assert!(out.status.success(), "{text}");

    let (new_id, new) = server.with(|st| {
        let old = &st.endpoints[OIDC_ID];
        assert_eq!(old["name"], "aws-prod-toolkit");
        assert_eq!(old["type"], "AWS");
        assert_eq!(
            old["serviceEndpointProjectReferences"][0]["name"],
            "aws-prod-toolkit"
        );
        let (id, new) = st
            .endpoints
            .iter()
            .find(|(_, e)| e["name"] == "aws-prod")
            .map(|(k, v)| (k.clone(), v.clone()))
            .expect("a connection under the original name");
        assert_eq!(
            st.endpoints[KEYS_ID]["name"], "aws-legacy",
            "a key connection was moved"
        );
        assert_eq!(
            st.endpoints[KEYS_ID]["authorization"]["parameters"]["password"],
            SECRET_KEY
        );
        let permitted: Vec<u64> = st.permissions[&id]["pipelines"]
            .as_array()
            .expect("pipelines")
            .iter()
            .filter(|p| p["authorized"] == true)
            .filter_map(|p| p["id"].as_u64())
            .collect();
        assert_eq!(permitted, vec![11, 12]);
        (id, new)
    });
    assert_eq!(new["type"], "AzpAwsTasksAWS");
    assert_eq!(
        new["authorization"],
        json!({ "scheme": "None", "parameters": {
            "assumeRoleArn": "arn:aws:iam::123456789012:role/deploy",
            "roleSessionName": "azp-deploy",
            "useOIDC": "true"
        } })
    );
    assert_eq!(
        new["serviceEndpointProjectReferences"][0]["projectReference"]["id"],
        PROJECT_ID
    );

    server.with(|st| {
        let steps = &st.definitions[&12]["process"]["phases"][0]["steps"];
        assert_eq!(
            steps[0]["task"]["id"],
            ours("AWSShellScript", "replacement")
        );
        assert_eq!(steps[0]["inputs"]["awsCredentials"], new_id.as_str());
        assert_eq!(steps[1]["task"]["id"], ours("AWSCLI", "replacement"));
        assert_eq!(
            steps[1]["inputs"]["awsCredentials"], KEYS_ID,
            "a key connection's steps keep it"
        );
        assert_eq!(steps[2]["task"]["id"], CMDLINE_GUID);
        assert_eq!(st.definitions[&12]["revision"], 4);
        let tasks = &st.releases[&1]["environments"][0]["deployPhases"][0]["workflowTasks"];
        assert_eq!(tasks[0]["taskId"], ours("AWSCLI", "replacement"));
        assert_eq!(tasks[0]["inputs"]["awsCredentials"], new_id.as_str());
        assert_eq!(tasks[1]["taskId"], CMDLINE_GUID);
        let group = &st.task_groups["g-1"]["tasks"][0];
        assert_eq!(group["task"]["id"], ours("AWSShellScript", "replacement"));
        assert_eq!(group["inputs"]["awsCredentials"], "$(awsConnection)");
        assert_eq!(
            st.files[&("r-1".to_owned(), "pipelines/deploy.yml".to_owned())],
            YAML
        );
    });
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&rollback).expect("rollback plan"))
            .expect("rollback plan is JSON");
    let undo: Vec<&str> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["undo"].as_str())
        .collect();
    assert_eq!(undo, ["rename", "create", "swap", "swap", "swap"]);

    // A second run finds nothing left to do, and says why.
    let (out, again) = migrate(&server, &[], Some(PAT));
    assert!(out.status.success(), "{again}");
    assert!(again.contains("aws-prod-toolkit: moved already"), "{again}");
    assert!(
        again.contains("Dry run: nothing was changed. 0 changes would be made"),
        "{again}"
    );
    let (out, nothing) = migrate(
        &server,
        &["--apply", "--rollback-file", rollback_arg],
        Some(PAT),
    );
    assert!(
        out.status.success() && nothing.contains("Nothing to change."),
        "{nothing}"
    );

    let (out, text) = migrate(&server, &["--rollback", rollback_arg], Some(PAT));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Rolled back."), "{text}");
    assert_eq!(
        snapshot(&server),
        before,
        "the rollback did not restore the project"
    );
}

#[test]
fn side_by_side_copies_connections_and_leaves_the_toolkit_working() {
    let server = server();
    let (out, text) = migrate(&server, &["--flavour", "side-by-side"], Some(PAT));
    assert!(out.status.success(), "{text}");
    for expected in [
        "aws-prod (OIDC): create aws-prod-native of type AzpAwsTasksAWSSideBySide",
        "Its OIDC subject is sc://contoso/Web Shop/aws-prod-native: add it next to sc://contoso/Web Shop/aws-prod",
        "AWSCLI@1: write AWSCLINative@1, and give awsCredentials the new connection's name (<name>-native)",
        "Create a connection of type AzpAwsTasksAWSSideBySide named aws-legacy-native",
    ] {
        assert_says(&text, expected);
    }
    assert!(
        !text.contains("rename it"),
        "side by side renames nothing:\n{text}"
    );
    assert!(server.writes().is_empty());

    let dir = tempfile::tempdir().expect("tempdir");
    let rollback = dir.path().join("rollback.json");
    let rollback_arg = rollback.to_str().expect("utf-8");
    let before = snapshot(&server);
    let (out, text) = migrate(
        &server,
        &[
            "--flavour",
            "side-by-side",
            "--apply",
            "--rollback-file",
            rollback_arg,
        ],
        Some(PAT),
    );
    assert!(out.status.success(), "{text}");
    server.with(|st| {
        assert_eq!(
            st.endpoints[OIDC_ID]["name"], "aws-prod",
            "the toolkit's connection must keep its name"
        );
        let (new_id, new) = st
            .endpoints
            .iter()
            .find(|(_, e)| e["name"] == "aws-prod-native")
            .expect("the side-by-side connection");
        assert_eq!(new["type"], "AzpAwsTasksAWSSideBySide");
        assert_eq!(
            new["serviceEndpointProjectReferences"][0]["name"],
            "aws-prod-native"
        );
        let step = &st.definitions[&12]["process"]["phases"][0]["steps"][0];
        assert_eq!(step["task"]["id"], ours("AWSShellScript", "side-by-side"));
        assert_eq!(step["inputs"]["awsCredentials"], new_id.as_str());
    });
    assert_ne!(
        ours("AWSShellScript", "side-by-side"),
        ours("AWSShellScript", "replacement")
    );
    let (out, text) = migrate(
        &server,
        &["--flavour", "side-by-side", "--rollback", rollback_arg],
        Some(PAT),
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(
        snapshot(&server),
        before,
        "the rollback did not restore the project"
    );

    let (out, text) = migrate(&server, &["--flavour", "dev"], Some(PAT));
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("the dev flavour is for test publishing"),
        "{text}"
    );
}

#[test]
fn the_token_comes_from_the_environment_only() {
    let server = server();
    let (out, text) = migrate(&server, &[], None);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("set AZURE_DEVOPS_EXT_PAT"), "{text}");

    let (out, text) = migrate(&server, &["--pat", "x"], Some(PAT));
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("never taken from an argument"), "{text}");
    assert!(server.requests().is_empty());

    let (out, text) = migrate(&server, &[], Some("a-revoked-token"));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("HTTP 401") && text.contains("TF400813"),
        "{text}"
    );
}

#[test]
fn a_failed_step_stops_and_says_how_to_undo() {
    let server = server();
    // Connections move first, in id order: aws-prod moves, then the rename
    // of aws-stage fails because its new name is taken.
    server.with(|st| {
        let second = "e0000000-0000-4000-8000-000000000004";
        st.endpoints.insert(
            second.into(),
            endpoint(second, "aws-stage", json!({ "assumeRoleArn": "arn:aws:iam::123456789012:role/stage", "useOIDC": "true" })),
        );
        let clash = "e0000000-0000-4000-8000-000000000005";
        st.endpoints.insert(
            clash.into(),
            json!({ "id": clash, "name": "aws-stage-toolkit", "type": "generic", "authorization": { "scheme": "None" } }),
        );
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let rollback = dir.path().join("rollback.json");
    let apply = [
        "--apply",
        "--rollback-file",
        rollback.to_str().expect("utf-8"),
    ];
    let (out, text) = migrate(&server, &apply, Some(PAT));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("HTTP 409") && text.contains("aws-stage-toolkit already exists"),
        "{text}"
    );
    assert!(
        text.contains("stopped part way") && text.contains("--rollback"),
        "{text}"
    );
    let plan = std::fs::read_to_string(&rollback).expect("rollback plan");
    assert!(
        plan.contains("\"rename\"") && plan.contains("\"create\""),
        "{plan}"
    );

    // Running again would overwrite the plan that undoes this run: refused.
    let (out, text) = migrate(&server, &apply, Some(PAT));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("exists, from an earlier run"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&rollback).expect("rollback plan"),
        plan
    );
}
