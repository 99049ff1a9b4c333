//! The packaged extension, checked as tfx-cli, the Marketplace and the agent
//! would use it. Needs a VSIX: `scripts/package` (run by `scripts/test`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use azp_testkit::fixtures::{self, oidc_server};
use azp_testkit::{StepResult, workspace_root};
use extension_checks::{
    Manifest, dir_size, flavour, read_json, stage, task_json_problems, unzip, vsix_path,
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
    let manifest = Manifest::from_vsix(&extension);
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
        let packed = unpack_all(&dir);
        let platforms: Vec<&str> = packed.iter().map(|(p, _, _)| p.as_str()).collect();
        assert!(
            platforms.contains(&"linux-x64"),
            "{folder} has no linux-x64 binary: {platforms:?}"
        );
        for (platform, file, bytes) in &packed {
            let exe = if platform.starts_with("win-") {
                format!("{name}.exe")
            } else {
                name.clone()
            };
            assert_eq!(file, &exe, "{folder}: the {platform} binary's name");
            // What scripts/package built in this clone is what the launcher
            // unpacks (not checked for a VSIX from elsewhere, AZP_VSIX).
            let built = root().join("target/dist-bin").join(platform).join(&exe);
            if built.is_file() && vsix_path(&root()).starts_with(root().join("dist")) {
                assert!(
                    std::fs::read(&built).unwrap() == *bytes,
                    "{folder}: the packed {platform} binary differs from {}",
                    built.display()
                );
            }
        }
        let in_bin: BTreeSet<String> = std::fs::read_dir(dir.join("bin"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            in_bin,
            BTreeSet::from([stage::ARCHIVE.to_owned(), stage::INDEX.to_owned()]),
            "{folder}/bin holds only the packed binaries"
        );
    }
}

/// Every binary of the task folder `dir`, unpacked from `bin/binaries.br`
/// as `bin/binaries.json` describes it: (platform, file, bytes). Checks
/// that the entries tile the stream and that each SHA-256 matches.
fn unpack_all(dir: &Path) -> Vec<(String, String, Vec<u8>)> {
    use std::io::Read as _;
    let index = read_json(&dir.join("bin").join(stage::INDEX));
    assert_eq!(index["archive"], stage::ARCHIVE);
    let mut stream = Vec::new();
    brotli::Decompressor::new(
        std::fs::File::open(dir.join("bin").join(stage::ARCHIVE)).unwrap(),
        1 << 16,
    )
    .read_to_end(&mut stream)
    .unwrap();
    let mut offset = 0;
    let mut out = Vec::new();
    for b in index["binaries"].as_array().unwrap() {
        let size = usize::try_from(b["size"].as_u64().unwrap()).unwrap();
        assert_eq!(b["offset"].as_u64(), Some(offset as u64), "{b}");
        let bytes = stream[offset..offset + size].to_vec();
        assert_eq!(
            b["sha256"].as_str().unwrap(),
            sha256_hex(&bytes),
            "{}: SHA-256",
            b["platform"]
        );
        offset += size;
        out.push((
            b["platform"].as_str().unwrap().to_owned(),
            b["file"].as_str().unwrap().to_owned(),
            bytes,
        ));
    }
    assert_eq!(
        offset,
        stream.len(),
        "bytes in the stream outside every binary"
    );
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
fn every_toolkit_input_keeps_its_name_type_default_and_options() {
    let tasks = extension_checks::toolkit_tasks();
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    for name in tasks {
        let json = read_json(&root().join("tasks").join(&name).join("task.json"));
        let problems = extension_checks::toolkit_input_problems(&name, &json);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
    // The check can fail: a renamed input and a changed default are caught.
    let mut json = read_json(&root().join("tasks/CloudFormationCreateOrUpdateStack/task.json"));
    for i in json["inputs"].as_array_mut().unwrap() {
        match i["name"].as_str().unwrap() {
            "captureAsSecuredVars" => i["defaultValue"] = "false".into(),
            "tags" => i["name"] = "stackTags".into(),
            _ => {}
        }
    }
    let problems =
        extension_checks::toolkit_input_problems("CloudFormationCreateOrUpdateStack", &json);
    assert_eq!(problems.len(), 2, "{problems:?}");
}

/// The cargo bin targets of the workspace, from `cargo metadata`.
#[allow(clippy::disallowed_methods)] // cargo tells tests where it is
fn bin_targets() -> BTreeSet<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_task_folder_is_in_the_vsix_and_has_a_cargo_bin_target() {
    // The one list of tasks is tasks/; everything else is derived from it
    // (scripts/package) or checked against it (here, and each task crate's
    // own inputs test, extension_checks::assert_inputs_match).
    let names = stage::task_names(&root()).unwrap();
    assert!(!names.is_empty());
    let in_vsix: BTreeSet<String> = unzipped().manifest.task_folders().into_iter().collect();
    let expected: BTreeSet<String> = names.iter().map(|n| format!("tasks/{n}")).collect();
    assert_eq!(in_vsix, expected, "task contributions in the VSIX");
    let bins = bin_targets();
    for name in &names {
        assert!(
            bins.contains(name),
            "tasks/{name} has no cargo bin target named {name}"
        );
        let problems = task_json_problems(&root().join("tasks").join(name), None)
            .into_iter()
            .filter(|p| !p.contains("launcher.js")) // the launcher is copied in at packaging
            .collect::<Vec<_>>();
        assert!(problems.is_empty(), "tasks/{name}/task.json: {problems:#?}");
    }
    let source = Manifest::load(&root());
    assert!(
        source.task_folders().is_empty() && !source.files().iter().any(|f| f.starts_with("tasks/")),
        "vss-extension.json lists tasks itself; they are staged from tasks/"
    );
}

#[test]
fn every_region_pick_list_comes_from_the_one_list() {
    let u = unzipped();
    let regions = stage::region_options(&root()).unwrap();
    assert!(regions.contains_key("us-east-1") && regions.contains_key("cn-north-1"));
    for folder in u.manifest.task_folders() {
        let t = read_json(&u.extension.join(&folder).join("task.json"));
        let region = t["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "regionName")
            .unwrap_or_else(|| panic!("{folder} has no regionName input"));
        assert_eq!(
            region["options"],
            serde_json::Value::Object(regions.clone()),
            "{folder}"
        );
        let source = read_json(&root().join(&folder).join("task.json"));
        assert!(
            source["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["name"] != "regionName" || i.get("options").is_none()),
            "{folder}/task.json: the region list belongs in tasks/regions.json"
        );
    }
}

#[test]
fn the_aws_endpoint_type_matches_the_credentials_crate() {
    let m = unzipped().manifest;
    let endpoints = m.contributions("ms.vss-endpoint.service-endpoint-type");
    assert_eq!(endpoints.len(), 1);
    let props = &endpoints[0]["properties"];
    assert_eq!(
        props["name"],
        aws_connection::inputs::ENDPOINT_TYPE,
        "tasks use connectedService:{}",
        aws_connection::inputs::ENDPOINT_TYPE
    );
    let schemes = props["authenticationSchemes"].as_array().unwrap();
    let scheme = |t: &str| {
        schemes
            .iter()
            .find(|s| s["type"] == t)
            .unwrap_or_else(|| panic!("no {t} scheme"))
    };
    let ids = |s: &serde_json::Value| -> Vec<String> {
        s["inputDescriptors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // The toolkit's scheme and fields, so that connections made for it can
    // be recreated field for field.
    let basic = scheme("ms.vss-endpoint.endpoint-auth-scheme-basic");
    assert_eq!(
        ids(basic),
        aws_connection::settings::params::ALL,
        "endpoint parameter keys"
    );
    let descriptors = basic["inputDescriptors"].as_array().unwrap();
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
    // The scheme without key fields: switching to it discards stored keys.
    let keyless = scheme("ms.vss-endpoint.endpoint-auth-scheme-none");
    assert_eq!(
        ids(keyless),
        ["assumeRoleArn", "roleSessionName", "externalId", "useOIDC"]
    );
    assert_eq!(
        schemes[0], *keyless,
        "the keyless scheme is the one the editor offers first"
    );
    assert_ne!(
        m.json["id"], "aws-vsts-tools",
        "the extension must not reuse the toolkit's id"
    );
}

#[test]
fn every_flavour_stages_as_a_publishable_extension() {
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut types = BTreeSet::new();
    let mut extensions = BTreeSet::new();
    for f in flavour::FLAVOURS {
        let out = tempfile::tempdir().unwrap();
        let manifest = stage::stage(&stage::StageOptions {
            root: root(),
            out: out.path().to_path_buf(),
            platforms: Vec::new(),
            bin_dir: root().join("target").join("dist-bin"),
            flavour: *f,
            quality: stage::RELEASE_QUALITY,
        })
        .unwrap();
        let staged = Manifest {
            json: manifest.clone(),
        };
        let tasks: Vec<serde_json::Value> = staged
            .task_folders()
            .iter()
            .map(|f| read_json(&out.path().join(f).join("task.json")))
            .collect();
        let problems = flavour::problems(&manifest, &tasks, f);
        assert!(problems.is_empty(), "{}: {problems:#?}", f.name);
        for (folder, task) in staged.task_folders().iter().zip(&tasks) {
            let t = task_json_problems(&out.path().join(folder), Some(staged.version()))
                .into_iter()
                .filter(|p| !p.contains("launcher.js") || !p.contains("bin"))
                .collect::<Vec<_>>();
            assert!(t.is_empty(), "{}/{folder}: {t:#?}", f.name);
            assert!(
                ids.insert(task["id"].as_str().unwrap().to_owned()),
                "a GUID is reused across flavours"
            );
            assert!(
                names.insert(task["name"].as_str().unwrap().to_owned()),
                "a task name is reused across flavours"
            );
            assert_eq!(folder, &format!("tasks/{}", task["name"].as_str().unwrap()));
        }
        types.insert(f.endpoint_type);
        extensions.insert(manifest["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        types.len(),
        flavour::FLAVOURS.len(),
        "one endpoint type per flavour"
    );
    assert_eq!(
        extensions.len(),
        flavour::FLAVOURS.len(),
        "one extension id per flavour"
    );
}

#[test]
fn a_task_runs_from_the_unzipped_vsix_through_node() {
    let u = unzipped();
    caller_identity_through_node(&u.extension.join("tasks/AWSCLI"));
}

/// Run the AWSCLI task in `dir` (any edition) through `node launcher.js`
/// over OIDC: `sts get-caller-identity` answers with the assumed role, and
/// nothing secret is logged.
fn caller_identity_through_node(dir: &Path) {
    let oidc = oidc_server();
    let run = fixtures::oidc_step(dir, &oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity")
        .run_process(
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

/// The side-by-side edition, staged from the binaries `scripts/package`
/// built, runs under its own task name: the launcher finds
/// `bin/<platform>/AWSCLINative` by the staged task.json's name.
#[test]
fn a_side_by_side_task_runs_through_node() {
    let out = tempfile::tempdir().unwrap();
    stage::stage(&stage::StageOptions {
        root: root(),
        out: out.path().to_path_buf(),
        platforms: vec!["linux-x64".to_owned()],
        bin_dir: root().join("target").join("dist-bin"),
        flavour: flavour::by_name("side-by-side").unwrap(),
        // Faster than the release quality; the launcher reads any.
        quality: 5,
    })
    .expect("stage the side-by-side edition (run scripts/package first)");
    caller_identity_through_node(&out.path().join("tasks/AWSCLINative"));
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

/// A copy of the AWSCLI task folder of the VSIX, as the agent unpacks it
/// into `_work/_tasks`: (holder, folder).
fn task_copy(u: &Unzipped) -> (tempfile::TempDir, PathBuf) {
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path().join("AWSCLI");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let from = u.extension.join("tasks/AWSCLI");
    for f in [
        "task.json",
        "launcher.js",
        "icon.png",
        &format!("bin/{}", stage::ARCHIVE),
        &format!("bin/{}", stage::INDEX),
    ] {
        std::fs::copy(from.join(f), dir.join(f)).unwrap();
    }
    (copy, dir)
}

/// The entry of `binaries.json` for `platform`.
fn index_entry(dir: &Path, platform: &str) -> serde_json::Value {
    read_json(&dir.join("bin").join(stage::INDEX))["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["platform"] == platform)
        .cloned()
        .unwrap_or_else(|| panic!("no {platform} binary"))
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_launcher_unpacks_the_binary_once_and_reuses_it() {
    let u = unzipped();
    let (_copy, dir) = task_copy(&u);
    let entry = index_entry(&dir, "linux-x64");
    caller_identity_through_node(&dir);
    let exe = dir.join("bin/linux-x64/AWSCLI");
    let bytes = std::fs::read(&exe).expect("the launcher unpacks bin/linux-x64/AWSCLI");
    assert_eq!(Some(bytes.len() as u64), entry["size"].as_u64());
    assert_eq!(sha256_hex(&bytes), entry["sha256"].as_str().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&exe).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{mode:o}");
    }
    assert_eq!(
        files_in(&dir.join("bin/linux-x64")),
        BTreeSet::from(["AWSCLI".to_owned()]),
        "nothing else is left beside the binary"
    );
    // The next step uses the unpacked binary: the archive is not read again.
    std::fs::write(dir.join("bin").join(stage::ARCHIVE), b"not brotli").unwrap();
    caller_identity_through_node(&dir);
}

#[test]
fn a_wrong_file_where_the_binary_goes_is_replaced_not_run() {
    let u = unzipped();
    let (_copy, dir) = task_copy(&u);
    let entry = index_entry(&dir, "linux-x64");
    let size = usize::try_from(entry["size"].as_u64().unwrap()).unwrap();
    // The right size, the wrong content: a file cut short by a crash and
    // padded by the file system, or one put there by an earlier step.
    let mut planted = b"#!/bin/sh\necho PLANTED-BINARY-RAN\n".to_vec();
    planted.resize(size, b'#');
    let exe = dir.join("bin/linux-x64/AWSCLI");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::write(&exe, &planted).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    caller_identity_through_node(&dir);
    assert_eq!(
        sha256_hex(&std::fs::read(&exe).unwrap()),
        entry["sha256"].as_str().unwrap(),
        "the planted file was replaced by the listed binary"
    );
}

#[test]
fn the_launcher_unpacks_to_the_agent_temp_folder_when_the_task_folder_is_read_only() {
    let u = unzipped();
    let (_copy, dir) = task_copy(&u);
    let entry = index_entry(&dir, "linux-x64");
    // A file where the platform folder would go: the task folder cannot take
    // the binary (as with a container job's read-only tasks mount, which a
    // test running as root cannot make).
    std::fs::write(dir.join("bin/linux-x64"), b"").unwrap();
    let oidc = oidc_server();
    let step = fixtures::oidc_step(&dir, &oidc)
        .input("awsCommand", "sts")
        .input("awsSubCommand", "get-caller-identity");
    let unpacked = step
        .temp_dir()
        .join("azp-aws-tasks")
        .join(&entry["sha256"].as_str().unwrap()[..16])
        .join("AWSCLI");
    let run = step.run_process(
        &fixtures::node(),
        &[&dir.join("launcher.js").display().to_string()],
    );
    run.expect(StepResult::Succeeded);
    assert!(run.log_text().contains(fixtures::ASSUMED_ROLE_ARN));
    assert_eq!(
        std::fs::metadata(&unpacked).map(|m| m.len()).ok(),
        entry["size"].as_u64(),
        "{} holds the binary",
        unpacked.display()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn a_damaged_archive_fails_the_task_and_leaves_no_binary() {
    let u = unzipped();
    let run_damaged = |damage: &dyn Fn(&Path)| {
        let (copy, dir) = task_copy(&u);
        damage(&dir);
        let run = fixtures::isolated(&dir)
            .input("awsCommand", "sts")
            .run_process(
                &fixtures::node(),
                &[&dir.join("launcher.js").display().to_string()],
            );
        run.expect(StepResult::Failed);
        assert_eq!(run.exit_code, Some(1));
        assert_eq!(run.completions, 1);
        assert!(
            files_in(&dir.join("bin/linux-x64")).is_empty(),
            "a damaged binary was left: {:?}",
            files_in(&dir.join("bin/linux-x64"))
        );
        let error = run.errors()[0].to_owned();
        assert!(error.contains("Reinstall the extension"), "{error}");
        drop(copy);
        error
    };
    // Cut short inside the linux-x64 binary.
    let error = run_damaged(&|dir| {
        let archive = dir.join("bin").join(stage::ARCHIVE);
        let bytes = std::fs::read(&archive).unwrap();
        std::fs::write(&archive, &bytes[..bytes.len() / 8]).unwrap();
    });
    assert!(error.contains("cannot be unpacked"), "{error}");
    // Decompresses, but is not the binary the index lists.
    let error = run_damaged(&|dir| {
        let path = dir.join("bin").join(stage::INDEX);
        let mut index = read_json(&path);
        for b in index["binaries"].as_array_mut().unwrap() {
            b["sha256"] = "0".repeat(64).into();
        }
        std::fs::write(&path, index.to_string()).unwrap();
    });
    assert!(error.contains("has SHA-256"), "{error}");
    // No index at all.
    let error =
        run_damaged(&|dir| std::fs::remove_file(dir.join("bin").join(stage::INDEX)).unwrap());
    assert!(error.contains("binaries.json cannot be read"), "{error}");
}

#[test]
fn steps_starting_together_unpack_one_binary() {
    let u = unzipped();
    let (_copy, dir) = task_copy(&u);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| caller_identity_through_node(&dir));
        }
    });
    assert_eq!(
        files_in(&dir.join("bin/linux-x64")),
        BTreeSet::from(["AWSCLI".to_owned()])
    );
}

#[test]
fn the_launcher_fails_clearly_without_a_binary_for_the_platform() {
    let u = unzipped();
    let (_copy, dir) = task_copy(&u);
    let index = serde_json::json!({
        "archive": stage::ARCHIVE,
        "binaries": [{ "platform": "plan9-mips", "file": "AWSCLI", "offset": 0, "size": 1, "sha256": "0".repeat(64) }]
    });
    std::fs::write(dir.join("bin").join(stage::INDEX), index.to_string()).unwrap();
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
