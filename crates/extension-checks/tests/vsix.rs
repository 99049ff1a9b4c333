//! The packaged extension, checked as tfx-cli, the Marketplace and the agent
//! would use it. Needs a VSIX: `scripts/package` (run by `scripts/test`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use azp_task::TaskInputs;
use azp_testkit::fixtures::{self, oidc_server};
use azp_testkit::{StepResult, workspace_root};
use extension_checks::{
    Manifest, dir_size, input_problems, read_json, task_json_problems, unzip, vsix_path,
};

fn root() -> PathBuf {
    workspace_root()
}

/// The unzipped VSIX: the extension's files at its root, beside
/// `extension.vsixmanifest`.
struct Unzipped {
    _dir: tempfile::TempDir,
    extension: PathBuf,
    manifest: Manifest,
}

fn unzipped() -> Unzipped {
    let dir = unzip(&vsix_path(&root()));
    let extension = dir.path().to_path_buf();
    assert!(
        extension.join("extension.vsixmanifest").is_file(),
        "not a VSIX layout"
    );
    let manifest = Manifest::load(&root());
    Unzipped {
        _dir: dir,
        extension,
        manifest,
    }
}

#[test]
fn every_task_folder_in_the_vsix_is_complete() {
    let u = unzipped();
    let folders = u.manifest.task_folders();
    assert!(!folders.is_empty());
    for folder in folders {
        let dir = u.extension.join(&folder);
        let name = Path::new(&folder)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for file in ["task.json", "icon.png", "launcher.js"] {
            assert!(
                dir.join(file).is_file(),
                "{folder}/{file} is missing from the VSIX"
            );
        }
        let bins: Vec<String> = std::fs::read_dir(dir.join("bin"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            bins.contains(&"linux-x64".to_owned()),
            "{folder} has no linux-x64 binary: {bins:?}"
        );
        for platform in bins {
            let exe = if platform.starts_with("win-") {
                format!("{name}.exe")
            } else {
                name.clone()
            };
            assert!(
                dir.join("bin").join(&platform).join(&exe).is_file(),
                "{folder}/bin/{platform}/{exe} is missing"
            );
        }
    }
}

#[test]
fn every_task_json_follows_the_rules_of_tfx_and_the_agent() {
    let u = unzipped();
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for folder in u.manifest.task_folders() {
        let dir = u.extension.join(&folder);
        let problems = task_json_problems(&dir, Some(u.manifest.version()));
        assert!(problems.is_empty(), "{folder}/task.json: {problems:#?}");
        let t = read_json(&dir.join("task.json"));
        assert!(
            ids.insert(t["id"].as_str().unwrap().to_lowercase()),
            "{folder}: duplicate task id"
        );
        assert!(
            names.insert(t["name"].as_str().unwrap().to_owned()),
            "{folder}: duplicate task name"
        );
        assert_eq!(
            Path::new(&folder).file_name().unwrap().to_string_lossy(),
            t["name"].as_str().unwrap(),
            "folder and task name differ"
        );
    }
}

#[test]
fn the_source_manifest_lists_every_task_folder() {
    let m = Manifest::load(&root());
    let listed: BTreeSet<String> = m.task_folders().into_iter().collect();
    let files: BTreeSet<String> = m.files().into_iter().collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("tasks"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("task.json").is_file())
        .map(|e| format!("tasks/{}", e.file_name().to_string_lossy()))
        .collect();
    assert_eq!(listed, on_disk, "task contributions in vss-extension.json");
    assert!(
        on_disk.is_subset(&files),
        "every task folder must be in vss-extension.json files"
    );
    for folder in &on_disk {
        let problems = task_json_problems(&root().join(folder), None)
            .into_iter()
            .filter(|p| !p.contains("launcher.js")) // the launcher is copied in at packaging
            .collect::<Vec<_>>();
        assert!(problems.is_empty(), "{folder}/task.json: {problems:#?}");
    }
}

#[test]
fn task_inputs_match_the_rust_input_structs() {
    let cases: [(&str, &[azp_task::InputSpec]); 2] = [
        ("AWSShellScript", task_aws_shell_script::ShellInputs::INPUTS),
        ("AWSCLI", task_aws_cli::CliInputs::INPUTS),
    ];
    assert_eq!(
        cases.len(),
        Manifest::load(&root()).task_folders().len(),
        "a task is missing from this check"
    );
    for (task, declared) in cases {
        let json = read_json(&root().join("tasks").join(task).join("task.json"));
        let problems = input_problems(&json, declared);
        assert!(problems.is_empty(), "{task}: {problems:#?}");
    }
}

#[test]
fn the_aws_endpoint_type_matches_the_credentials_crate() {
    let m = Manifest::load(&root());
    let endpoints = m.contributions("ms.vss-endpoint.service-endpoint-type");
    assert_eq!(endpoints.len(), 1);
    let props = &endpoints[0]["properties"];
    assert_eq!(props["name"], "AWS", "tasks use connectedService:AWS");
    let schemes = props["authenticationSchemes"].as_array().unwrap();
    assert_eq!(schemes.len(), 1);
    assert_eq!(
        schemes[0]["type"],
        "ms.vss-endpoint.endpoint-auth-scheme-basic"
    );
    let descriptors = schemes[0]["inputDescriptors"].as_array().unwrap();
    let ids: Vec<&str> = descriptors
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        aws_connection::settings::params::ALL,
        "endpoint parameter keys"
    );
    let by_id = |id: &str| descriptors.iter().find(|d| d["id"] == id).unwrap();
    assert_eq!(by_id("useOIDC")["inputMode"], "checkbox");
    assert!(
        by_id("useOIDC")["description"]
            .as_str()
            .unwrap()
            .contains("trust policy")
    );
    for secret in ["password", "sessionToken"] {
        assert_eq!(by_id(secret)["isConfidential"], true, "{secret}");
    }
    for d in descriptors {
        assert_eq!(
            d["validation"]["isRequired"], false,
            "{} must be optional: OIDC needs no keys",
            d["id"]
        );
    }
    assert_ne!(
        m.json["id"], "aws-vsts-tools",
        "the extension must not reuse the toolkit's id"
    );
}

#[test]
fn a_task_runs_from_the_unzipped_vsix_through_node() {
    let u = unzipped();
    let dir = u.extension.join("tasks/AWSCLI");
    let oidc = oidc_server();
    let step = fixtures::oidc_step(&dir, &oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity");
    let run = step.run_process(
        &fixtures::node(),
        &[&dir.join("launcher.js").display().to_string()],
    );
    run.expect(StepResult::Succeeded);
    assert!(
        run.log_text().contains(fixtures::ASSUMED_ROLE_ARN),
        "{}",
        run.log_text()
    );
    assert_eq!(run.completions, 1);
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn the_launcher_forwards_cancellation() {
    let u = unzipped();
    let dir = u.extension.join("tasks/AWSShellScript");
    let oidc = oidc_server();
    let step = fixtures::oidc_step(&dir, &oidc);
    let pids = step.temp_dir().join("pids");
    let script = format!(
        "echo $$ > {p}\nsleep 300 &\necho $! >> {p}\necho READY\nwait",
        p = pids.display()
    );
    let step = step
        .input("scriptType", "inline")
        .input("inlineScript", &script)
        .cancel_when("READY")
        .timeout(Duration::from_secs(30));
    let run = step.run_process(
        &fixtures::node(),
        &[&dir.join("launcher.js").display().to_string()],
    );
    assert!(!run.timed_out);
    let completes: Vec<_> = run
        .commands
        .iter()
        .filter(|c| c.name() == "task.complete")
        .collect();
    assert_eq!(completes.len(), 1);
    assert_eq!(completes[0].property("result"), Some("Canceled"));
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        assert!(
            fixtures::process_ended(pid),
            "process {pid} outlived the cancelled task"
        );
    }
}

#[test]
fn the_launcher_fails_clearly_without_a_binary_for_the_platform() {
    let u = unzipped();
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path().join("AWSCLI");
    std::fs::create_dir_all(dir.join("bin/plan9-mips")).unwrap();
    for f in ["task.json", "launcher.js", "icon.png"] {
        std::fs::copy(u.extension.join("tasks/AWSCLI").join(f), dir.join(f)).unwrap();
    }
    let step = fixtures::isolated(&dir).input("awsCommand", "sts");
    let run = step.run_process(
        &fixtures::node(),
        &[&dir.join("launcher.js").display().to_string()],
    );
    run.expect(StepResult::Failed);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(run.completions, 1);
    let error = run.errors()[0];
    assert!(
        error.contains("has no binary for this agent's platform, linux-x64"),
        "{error}"
    );
    assert!(error.contains("plan9-mips"), "{error}");
}

#[test]
#[allow(clippy::print_stdout)] // the figures are this test's report
fn vsix_and_task_folder_sizes() {
    let vsix = vsix_path(&root());
    let size = std::fs::metadata(&vsix).unwrap().len();
    println!("VSIX {}: {size} bytes", vsix.display());
    let u = unzipped();
    for folder in u.manifest.task_folders() {
        println!(
            "  {folder}: {} bytes unpacked",
            dir_size(&u.extension.join(&folder))
        );
    }
    assert!(
        size < 25 * 1024 * 1024,
        "the VSIX must stay under 25 MiB for Azure DevOps Server"
    );
}
