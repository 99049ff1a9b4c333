//! Staging the extension from its sources: the one place that turns the
//! task folders into what tfx-cli packages.
//!
//! The list of tasks is the folders of `tasks/` that hold a `task.json`;
//! nothing else lists them. For each task, staging:
//! - copies `task.json`, stamped with the extension's version (from
//!   `vss-extension.json`, the single source of the version) and with the
//!   region pick list from `tasks/regions.json` written into every
//!   `regionName` input;
//! - copies its icon and the launcher, and its binary for each platform from
//!   `target/dist-bin/<platform>/<Task>[.exe]` (the cargo bin target of the
//!   same name);
//! - adds the folder to the manifest's `files` and a task contribution whose
//!   id is the task name (so the fully qualified YAML name is
//!   `<publisher>.<extension>.<Task>.<Task>@1`, as with the AWS Toolkit).
//!
//! The source `vss-extension.json` therefore lists no task; the extension
//! checks compare what was staged with the task folders and the cargo bin
//! targets. A [`Flavour`] other than the replacement one renames the
//! extension, its endpoint type and its tasks as it is staged (see
//! [`crate::flavour`]).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::flavour::Flavour;

/// The contribution type of a pipeline task.
pub const TASK_CONTRIBUTION: &str = "ms.vss-distributed-task.task";

/// What to stage, and where.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// The workspace root (sources).
    pub root: PathBuf,
    /// The folder to write (emptied first).
    pub out: PathBuf,
    /// Platforms whose binaries go in (`linux-x64`, `win-x64`, ...).
    pub platforms: Vec<String>,
    /// Where the binaries are: `<bin_dir>/<platform>/<Task>[.exe]`.
    pub bin_dir: PathBuf,
    /// Which extension to make of the sources.
    pub flavour: Flavour,
}

/// The task names: every folder of `<root>/tasks` with a `task.json`, sorted.
///
/// # Errors
/// When `tasks/` cannot be read.
pub fn task_names(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("tasks");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("task.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The `regionName` options: code → `"Name [code]"`, in the order of
/// `tasks/regions.json`.
///
/// # Errors
/// When the file cannot be read or has no `regions` array.
pub fn region_options(root: &Path) -> Result<Map<String, Value>, String> {
    let path = root.join("tasks").join("regions.json");
    let doc = read(&path)?;
    let regions = doc["regions"]
        .as_array()
        .ok_or_else(|| format!("{}: no \"regions\" array", path.display()))?;
    let mut options = Map::new();
    for r in regions {
        let (Some(code), Some(name)) = (r["code"].as_str(), r["name"].as_str()) else {
            return Err(format!("{}: a region without code or name", path.display()));
        };
        options.insert(code.to_owned(), Value::from(format!("{name} [{code}]")));
    }
    Ok(options)
}

fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `task.json` as staged: the version stamped, region options filled in.
///
/// # Errors
/// When the version is not `major.minor.patch`.
pub fn staged_task_json(
    mut task: Value,
    version: &str,
    regions: &Map<String, Value>,
) -> Result<Value, String> {
    let parts: Vec<u64> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err(format!(
            "the extension version '{version}' is not major.minor.patch"
        ));
    };
    task["version"] = json!({ "Major": major, "Minor": minor, "Patch": patch });
    if let Some(inputs) = task["inputs"].as_array_mut() {
        for input in inputs.iter_mut().filter(|i| i["name"] == "regionName") {
            input["options"] = Value::Object(regions.clone());
        }
    }
    Ok(task)
}

/// Stage the extension; returns the staged manifest.
///
/// # Errors
/// A message naming the file or binary that is missing or unreadable.
pub fn stage(options: &StageOptions) -> Result<Value, String> {
    let root = &options.root;
    let out = &options.out;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("tasks")).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut manifest = read(&root.join("vss-extension.json"))?;
    options.flavour.apply_to_manifest(&mut manifest);
    let version = manifest["version"].as_str().unwrap_or_default().to_owned();
    let regions = region_options(root)?;

    let mut files = manifest["files"].as_array().cloned().unwrap_or_default();
    let mut contributions = manifest["contributions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if contributions.iter().any(|c| c["type"] == TASK_CONTRIBUTION) {
        return Err("vss-extension.json lists a task contribution; tasks are staged from tasks/, so list none".into());
    }
    for source_name in task_names(root)? {
        let src = root.join("tasks").join(&source_name);
        let name = options.flavour.task_name(&source_name);
        let dest = out.join("tasks").join(&name);
        let mut task = staged_task_json(read(&src.join("task.json"))?, &version, &regions)?;
        options.flavour.apply_to_task(&mut task);
        std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        write(&dest.join("task.json"), &task)?;
        copy(&src.join("icon.png"), &dest.join("icon.png"))?;
        copy(
            &root.join("launcher").join("launcher.js"),
            &dest.join("launcher.js"),
        )?;
        for platform in &options.platforms {
            let ext = if platform.starts_with("win-") {
                ".exe"
            } else {
                ""
            };
            // The launcher runs bin/<platform>/<task.json name>: the
            // flavour's task name, whatever the cargo bin target is called.
            let bin = options
                .bin_dir
                .join(platform)
                .join(format!("{source_name}{ext}"));
            let target = dest.join("bin").join(platform).join(format!("{name}{ext}"));
            copy(&bin, &target).map_err(|e| {
                format!("{e} (is {source_name} a cargo bin target, built for {platform} by scripts/build-target?)")
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| format!("{}: {e}", target.display()))?;
            }
        }
        files.push(json!({ "path": format!("tasks/{name}") }));
        contributions.push(json!({
            "id": name,
            "type": TASK_CONTRIBUTION,
            "targets": ["ms.vss-distributed-task.tasks"],
            "properties": { "name": format!("tasks/{name}") }
        }));
    }
    manifest["files"] = Value::Array(files);
    manifest["contributions"] = Value::Array(contributions);
    write(&out.join("vss-extension.json"), &manifest)?;
    let overview = std::fs::read_to_string(root.join("overview.md"))
        .map_err(|e| format!("{}: {e}", root.join("overview.md").display()))?;
    std::fs::write(
        out.join("overview.md"),
        options
            .flavour
            .apply_to_overview(&overview, &task_names(root)?),
    )
    .map_err(|e| format!("{}: {e}", out.join("overview.md").display()))?;
    copy_dir(&root.join("images"), &out.join("images"))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_json_is_stamped_and_gets_the_region_list() {
        let mut regions = Map::new();
        regions.insert("eu-west-1".into(), "Europe (Ireland) [eu-west-1]".into());
        let task = json!({
            "name": "AWSCLI",
            "inputs": [{ "name": "regionName", "type": "pickList" }, { "name": "awsCommand" }]
        });
        let staged = staged_task_json(task, "1.2.3", &regions).unwrap();
        assert_eq!(
            staged["version"],
            json!({ "Major": 1, "Minor": 2, "Patch": 3 })
        );
        assert_eq!(
            staged["inputs"][0]["options"]["eu-west-1"],
            "Europe (Ireland) [eu-west-1]"
        );
        assert!(staged["inputs"][1].get("options").is_none());
        assert!(staged_task_json(json!({}), "1.2", &regions).is_err());
    }
}
