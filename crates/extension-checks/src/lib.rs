//! Reading the extension the way the Marketplace, tfx-cli and the agent do,
//! for the checks in `tests/`.
//!
//! - [`Manifest`]: `vss-extension.json` and the task folders it contributes.
//! - [`task_json_problems`]: the rules tfx-cli and the agent apply to a
//!   `task.json` (tfx only warns about most of them, so they are checked here).
//! - [`input_problems`]: a task's declared Rust inputs against its `task.json`.
//! - [`unzip`]: a VSIX into a temporary folder.
//! - [`stage`]: the extension's staged layout, built from the task folders.
//! - [`flavour`]: the replacement, side-by-side and dev flavours, and the
//!   checks that keep each publishable.

pub mod flavour;
pub mod stage;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use azp_task::{InputKind, InputSpec};
use serde_json::Value;

/// Handlers on the end-of-life path; a task must not depend on them.
pub const EOL_HANDLERS: &[&str] = &["Node", "Node10", "Node16"];
/// Handlers every task declares.
pub const REQUIRED_HANDLERS: &[&str] = &["Node20_1", "Node24"];
/// The lowest `minimumAgentVersion` that knows `Node20_1` well (Microsoft's guidance).
pub const MIN_AGENT: (u32, u32, u32) = (4, 248, 0);

/// `vss-extension.json`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The parsed JSON.
    pub json: Value,
}

impl Manifest {
    /// Read `vss-extension.json` in `root`.
    ///
    /// # Panics
    /// When it cannot be read or parsed.
    #[must_use]
    pub fn load(root: &Path) -> Self {
        let path = root.join("vss-extension.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        Self {
            json: serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parse {}: {e}", path.display())),
        }
    }

    /// The manifest of an unzipped VSIX, as the Marketplace reads it: the
    /// contributions of `extension.vsomanifest`, and the id, publisher and
    /// version of `extension.vsixmanifest`'s `Identity`.
    ///
    /// # Panics
    /// When either file is missing or unreadable.
    #[must_use]
    pub fn from_vsix(dir: &Path) -> Self {
        let mut json = read_json(&dir.join("extension.vsomanifest"));
        let path = dir.join("extension.vsixmanifest");
        let xml = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let identity = xml
            .split("<Identity ")
            .nth(1)
            .and_then(|rest| rest.split("/>").next())
            .unwrap_or_else(|| panic!("{}: no Identity element", path.display()));
        for (attr, key) in [
            ("Id", "id"),
            ("Version", "version"),
            ("Publisher", "publisher"),
        ] {
            let value = identity
                .split(&format!("{attr}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_default();
            json[key] = Value::from(value);
        }
        Self { json }
    }

    /// The extension version.
    #[must_use]
    pub fn version(&self) -> &str {
        self.json["version"].as_str().unwrap_or_default()
    }

    /// Contributions of a type.
    #[must_use]
    pub fn contributions(&self, kind: &str) -> Vec<&Value> {
        self.json["contributions"]
            .as_array()
            .map(|a| a.iter().filter(|c| c["type"] == kind).collect())
            .unwrap_or_default()
    }

    /// The task folders (relative paths) contributed as tasks.
    #[must_use]
    pub fn task_folders(&self) -> Vec<String> {
        self.contributions("ms.vss-distributed-task.task")
            .iter()
            .filter_map(|c| c["properties"]["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// The paths listed in `files`.
    #[must_use]
    pub fn files(&self) -> Vec<String> {
        self.json["files"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Read a JSON file.
///
/// # Panics
/// When it cannot be read or parsed.
#[must_use]
pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn is_guid(s: &str) -> bool {
    azp_task::oidc::is_guid(s) && !s.starts_with('{')
}

fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

/// Names a `visibleRule` refers to: the words before each operator.
fn visible_rule_names(rule: &str) -> Vec<String> {
    rule.split("&&")
        .flat_map(|p| p.split("||"))
        .filter_map(|clause| {
            let clause = clause.trim();
            [
                "!=",
                "=",
                " NotEndsWith ",
                " EndsWith ",
                " NotContains ",
                " Contains ",
                " > ",
                " < ",
            ]
            .iter()
            .find_map(|op| clause.find(op).map(|i| clause[..i].trim().to_owned()))
        })
        .collect()
}

/// Every rule of tfx-cli and the agent that `task.json` in `dir` breaks.
#[must_use]
pub fn task_json_problems(dir: &Path, extension_version: Option<&str>) -> Vec<String> {
    let t = read_json(&dir.join("task.json"));
    let mut p = Vec::new();
    let name = t["name"].as_str().unwrap_or_default();
    if !is_guid(t["id"].as_str().unwrap_or_default()) {
        p.push("id is not a GUID".to_owned());
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        p.push(format!("name '{name}' does not match ^[A-Za-z0-9-]+$"));
    }
    let friendly = t["friendlyName"].as_str().unwrap_or_default();
    if friendly.is_empty() || friendly.chars().count() > 40 {
        p.push(format!(
            "friendlyName '{friendly}' must have 1 to 40 characters"
        ));
    }
    // A name declared in outputVariables is only reachable as
    // $(<step>.<name>), never as the plain $(<name>) the toolkit's pipelines
    // read; tasks set both forms instead (azp_task::log::Logger::
    // set_variable_and_output).
    if t["outputVariables"]
        .as_array()
        .is_some_and(|v| !v.is_empty())
    {
        p.push(
            "declares outputVariables, which hides the plain $(name) the toolkit's pipelines read; set the \
             variable and an isOutput copy instead"
                .to_owned(),
        );
    }
    if t["instanceNameFormat"].as_str().is_none_or(str::is_empty) {
        p.push("instanceNameFormat is missing".to_owned());
    }
    for key in ["Major", "Minor", "Patch"] {
        if !t["version"][key].is_u64() {
            p.push(format!("version.{key} is not a number"));
        }
    }
    if let Some(v) = extension_version {
        let tv = format!(
            "{}.{}.{}",
            t["version"]["Major"], t["version"]["Minor"], t["version"]["Patch"]
        );
        if tv != v {
            p.push(format!("version {tv} does not follow the extension's {v}"));
        }
    }
    match t["minimumAgentVersion"].as_str().and_then(parse_version) {
        Some(v) if v >= MIN_AGENT => {}
        _ => p.push(format!(
            "minimumAgentVersion must be at least {}.{}.{}",
            MIN_AGENT.0, MIN_AGENT.1, MIN_AGENT.2
        )),
    }
    let execution = t["execution"].as_object().cloned().unwrap_or_default();
    for h in REQUIRED_HANDLERS {
        if !execution.contains_key(*h) {
            p.push(format!("execution lacks the {h} handler"));
        }
    }
    for (h, v) in &execution {
        if EOL_HANDLERS.contains(&h.as_str()) {
            p.push(format!("execution uses the end-of-life handler {h}"));
        }
        let target = v["target"]
            .as_str()
            .unwrap_or_default()
            .replace("$(currentDirectory)", ".");
        if target.is_empty() || !dir.join(&target).is_file() {
            p.push(format!(
                "handler {h} targets '{target}', which is not in the task folder"
            ));
        }
    }
    let groups: BTreeSet<String> = t["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let inputs = t["inputs"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = inputs
        .iter()
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    if unique.len() != names.len() {
        p.push("input names are not unique".to_owned());
    }
    for i in &inputs {
        let n = i["name"].as_str().unwrap_or_default();
        if n.is_empty()
            || !n.starts_with(|c: char| c.is_ascii_alphabetic())
            || !n.chars().all(|c| c.is_ascii_alphanumeric())
        {
            p.push(format!(
                "input name '{n}' does not match ^[A-Za-z][A-Za-z0-9]*$"
            ));
        }
        if i["label"].as_str().is_none_or(str::is_empty) {
            p.push(format!("input {n} has no label"));
        }
        let ty = i["type"].as_str().unwrap_or_default();
        let known = [
            "boolean",
            "filePath",
            "multiLine",
            "pickList",
            "radio",
            "secureFile",
            "string",
            "int",
            "identities",
            "querycontrol",
        ];
        if !known.contains(&ty) && !ty.starts_with("connectedService:") {
            p.push(format!("input {n} has the unknown type '{ty}'"));
        }
        if let Some(rule) = i["visibleRule"].as_str() {
            for r in visible_rule_names(rule) {
                if !names.contains(&r) {
                    p.push(format!(
                        "input {n}'s visibleRule names '{r}', which is not an input"
                    ));
                }
            }
        }
        if let Some(g) = i["groupName"].as_str()
            && !groups.contains(g)
        {
            p.push(format!(
                "input {n} is in group '{g}', which is not declared"
            ));
        }
    }
    p
}

/// Panic unless the inputs task `name` declares in Rust match its
/// `tasks/<name>/task.json`: every task crate calls this in a test of its
/// own, so adding a task adds no entry to any list here.
///
/// # Panics
/// On any difference, listing them.
pub fn assert_inputs_match(name: &str, declared: &[InputSpec]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let json = read_json(&root.join("tasks").join(name).join("task.json"));
    let problems = input_problems(&json, declared);
    assert!(
        problems.is_empty(),
        "{name}: the Rust inputs and task.json differ:\n{}",
        problems.join("\n")
    );
}

/// The AWS Toolkit's inputs of the four tasks, with types, defaults and
/// options (toolkit-compat.md §8.1–8.4), the equivalent of the toolkit's own
/// guard (`build-scripts/resources/taskInputs.gen.ts`, #572).
const TOOLKIT_INPUTS: &str = include_str!("toolkit-inputs.json");

/// The toolkit tasks whose inputs this extension keeps.
#[must_use]
pub fn toolkit_tasks() -> Vec<String> {
    let data: Value = serde_json::from_str(TOOLKIT_INPUTS).unwrap_or_default();
    data["tasks"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// How a `task.json` (`task_json`, of toolkit task `name`) breaks the AWS
/// Toolkit's YAML: a toolkit input that is missing, or has another type
/// (`connectedService:*` counts as one type), another default, or lacks one
/// of the toolkit's pickList/radio options. Empty when YAML written for the
/// toolkit keeps its meaning.
#[must_use]
pub fn toolkit_input_problems(name: &str, task_json: &Value) -> Vec<String> {
    let data: Value = serde_json::from_str(TOOLKIT_INPUTS).unwrap_or_default();
    let Some(wanted) = data["tasks"][name].as_object() else {
        return vec![format!("{name} is not a toolkit task")];
    };
    let ours: BTreeMap<&str, &Value> = task_json["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(|n| (n, i)))
                .collect()
        })
        .unwrap_or_default();
    let mut p = Vec::new();
    for (input, w) in wanted {
        let Some(i) = ours.get(input.as_str()) else {
            p.push(format!("{name}: the toolkit's input '{input}' is missing"));
            continue;
        };
        let ty = i["type"].as_str().unwrap_or_default();
        let ty = if ty.starts_with("connectedService:") {
            "connectedService"
        } else {
            ty
        };
        if ty != w["type"].as_str().unwrap_or_default() {
            p.push(format!(
                "{name}: input '{input}' has type {ty}; the toolkit's is {}",
                w["type"]
            ));
        }
        let default = i["defaultValue"].as_str().unwrap_or_default();
        if default != w["defaultValue"].as_str().unwrap_or_default() {
            p.push(format!(
                "{name}: input '{input}' defaults to '{default}'; the toolkit's default is {}",
                w["defaultValue"]
            ));
        }
        for option in w["options"].as_array().into_iter().flatten() {
            let option = option.as_str().unwrap_or_default();
            if i["options"].get(option).is_none() {
                p.push(format!(
                    "{name}: input '{input}' lacks the toolkit's option '{option}'"
                ));
            }
        }
    }
    p
}

/// Differences between the inputs a task's Rust code declares and its `task.json`.
#[must_use]
pub fn input_problems(task_json: &Value, declared: &[InputSpec]) -> Vec<String> {
    let mut p = Vec::new();
    let json: BTreeMap<String, &Value> = task_json["inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(|n| (n.to_owned(), i)))
                .collect()
        })
        .unwrap_or_default();
    for spec in declared {
        let Some(i) = json.get(spec.name) else {
            p.push(format!(
                "the code reads input '{}', which task.json does not declare",
                spec.name
            ));
            continue;
        };
        let ty = i["type"].as_str().unwrap_or_default();
        if ty != spec.kind.task_json_type() {
            p.push(format!(
                "input '{}' is '{ty}' in task.json but {} in the code",
                spec.name,
                spec.kind.task_json_type()
            ));
        }
        if i["label"].as_str() != Some(spec.label) {
            p.push(format!(
                "input '{}' is labelled '{}' in task.json but '{}' in the code",
                spec.name,
                i["label"].as_str().unwrap_or_default(),
                spec.label
            ));
        }
        let options = match spec.kind {
            InputKind::PickList {
                options,
                editable: false,
            }
            | InputKind::Radio { options } => Some(options),
            _ => None,
        };
        if let Some(options) = options {
            let in_json: BTreeSet<&str> = i["options"]
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let in_code: BTreeSet<&str> = options.iter().copied().collect();
            if in_json != in_code {
                p.push(format!(
                    "input '{}' has options {in_json:?} in task.json but {in_code:?} in the code",
                    spec.name
                ));
            }
        }
    }
    for name in json.keys() {
        if !declared.iter().any(|s| s.name == name) {
            p.push(format!(
                "task.json declares input '{name}', which the code never reads"
            ));
        }
    }
    p
}

/// Unzip a VSIX into a new temporary folder.
///
/// # Panics
/// When the file is not a readable zip.
#[must_use]
pub fn unzip(vsix: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("vsix-")
        .tempdir()
        .expect("temp dir");
    let file = std::fs::File::open(vsix).unwrap_or_else(|e| panic!("open {}: {e}", vsix.display()));
    let mut archive = zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a zip: {e}", vsix.display()));
    archive
        .extract(dir.path())
        .unwrap_or_else(|e| panic!("unzip {}: {e}", vsix.display()));
    dir
}

/// The VSIX of the default (replacement) flavour that `scripts/package`
/// writes: `dist/<publisher>.<id>-<version>.vsix`, or `AZP_VSIX`.
///
/// # Panics
/// When it does not exist.
#[must_use]
#[allow(clippy::disallowed_methods)] // test configuration, read once
pub fn vsix_path(root: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("AZP_VSIX") {
        return PathBuf::from(p);
    }
    let m = Manifest::load(root);
    let name = format!(
        "{}.{}-{}.vsix",
        m.json["publisher"].as_str().unwrap_or_default(),
        m.json["id"].as_str().unwrap_or_default(),
        m.version()
    );
    let path = root.join("dist").join(name);
    assert!(
        path.is_file(),
        "{} does not exist: run scripts/package first (scripts/test does)",
        path.display()
    );
    path
}

/// Total size of the files under `dir`.
#[must_use]
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_output_variables_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tasks/AWSCLI/task.json"),
        )
        .expect("task.json");
        let mut task: Value = serde_json::from_str(&source).expect("JSON");
        std::fs::write(dir.path().join("task.json"), task.to_string()).expect("write");
        let before = task_json_problems(dir.path(), None);
        assert!(
            !before.iter().any(|p| p.contains("outputVariables")),
            "{before:?}"
        );
        task["outputVariables"] = serde_json::json!([{ "name": "stackId" }]);
        std::fs::write(dir.path().join("task.json"), task.to_string()).expect("write");
        let after = task_json_problems(dir.path(), None);
        assert!(
            after.iter().any(|p| p.contains("declares outputVariables")),
            "{after:?}"
        );
    }

    #[test]
    fn visible_rules() {
        assert_eq!(visible_rule_names("scriptType = filePath"), ["scriptType"]);
        assert_eq!(
            visible_rule_names("a != \"\" && b = x || c NotEndsWith y"),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn input_mismatches_are_named() {
        let json = serde_json::json!({"inputs": [
            {"name": "a", "type": "string", "label": "A"},
            {"name": "b", "type": "boolean", "label": "B"},
            {"name": "c", "type": "radio", "label": "C", "options": {"x": "X", "y": "Y"}}
        ]});
        let declared = [
            InputSpec::new("a", "A", InputKind::String),
            InputSpec::new("b", "B", InputKind::String),
            InputSpec::new("c", "C", InputKind::Radio { options: &["x"] }),
            InputSpec::new("d", "D", InputKind::String),
        ];
        let p = input_problems(&json, &declared);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("'b' is 'boolean'"));
        assert!(p[1].contains("options"));
        assert!(p[2].contains("'d'"));
        assert!(
            input_problems(&json, &declared[..1])
                .iter()
                .any(|m| m.contains("never reads"))
        );
    }
}
