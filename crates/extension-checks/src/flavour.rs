//! Build flavours: one source tree, three extensions that can each be
//! published.
//!
//! Service connection type names form one namespace across the whole
//! Marketplace, owned by the first extension that publishes a name (the
//! AWS Toolkit owns `AWS`); a `connectedService:<type>` input accepts
//! connections of exactly one type; and two installed extensions that
//! contribute tasks of the same name make every bare YAML reference to that
//! name ambiguous. So each flavour has its own extension id, its own
//! endpoint type name and its own task GUIDs:
//!
//! | Flavour | For | Task names | Endpoint type |
//! | --- | --- | --- | --- |
//! | `replacement` | organisations that uninstall the AWS Toolkit: YAML stays unchanged | the toolkit's (`AWSCLI`) | `AzpAwsTasksAWS` |
//! | `side-by-side` | moving pipeline by pipeline with the toolkit still installed | `…Native` (`AWSCLINative`) | `AzpAwsTasksAWSSideBySide` |
//! | `dev` | private test publishing; never claims a production name | `…Dev` | `AzpAwsTasksAWSDev` |
//!
//! The sources describe the replacement flavour; [`Flavour::apply_to_task`] and [`Flavour::apply_to_manifest`] turn
//! a staged manifest and task.json into another flavour's. The GUIDs of the
//! other flavours are UUID version 5 (RFC 9562) of the source GUID and the
//! flavour's name, so they never change from one build to the next.

use serde_json::Value;

/// The endpoint type name of the sources (the replacement flavour).
pub const SOURCE_ENDPOINT_TYPE: &str = "AzpAwsTasksAWS";

/// The AWS Toolkit's task GUIDs (toolkit 1.23.0, every task's task.json),
/// lower case. No flavour may reuse one: an organisation refuses a second
/// task with a GUID it already has, and classic pipelines would bind to
/// the wrong task.
pub const TOOLKIT_TASK_GUIDS: &[&str] = &[
    "081ccf10-2f14-48dd-9bd0-892b8975d24f",
    "37dda93c-8427-4372-9b7b-9b6e10f3f744",
    "3aea39d2-803c-43c7-b8d6-8e71b670f816",
    "d531ff03-d75a-41e5-92e8-7b4680e02eb4",
    "1399d161-270d-4ee9-b913-78b177165406",
    "7ef7cdfa-aa45-42c5-93c8-d7603643dd99",
    "089bda61-367d-4d7c-a06b-88f7e2f20f22",
    "019b0650-1f0e-4376-ad37-1498abef311e",
    "2ff35748-7800-409d-9511-a0a37ff0d348",
    "ff19b049-2efa-4d42-ae91-630fee8c5e1f",
    "467d1870-1a00-4755-b00d-9642129fe759",
    "ec87c253-756f-4a7a-be91-4f1c60f9d8fe",
    "c9e49f96-6c7d-4420-97f1-5e0dfd816354",
    "0c632a66-60d4-498a-88c8-1c69cc057ef1",
    "30f6a876-1d27-450c-b2bb-9f390a592082",
    "3a219265-181c-4ed2-9a51-75a7f308f0d5",
    "3d6cb0c8-d1f9-465f-957a-a02c776646a0",
    "b6d19a53-dc5f-4b71-a49c-63e87f49e9ab",
    "67d18db7-e637-48f8-80b3-91f440db4931",
    "57ef2af4-cd99-4298-bf77-2feb5dc51863",
    "bc6233ad-6a33-41c0-b2af-9d71898008d0",
    "3c47544d-0c9b-49e1-89a4-3c94d0586c89",
];

/// The AWS Toolkit's tasks that this extension replaces, by name, with
/// their GUIDs (toolkit-compat.md §10). The migration kit swaps these GUIDs
/// in classic definitions for the GUIDs of the tasks of the same name here.
pub const TOOLKIT_TASKS: &[(&str, &str)] = &[
    ("AWSShellScript", "3aea39d2-803c-43c7-b8d6-8e71b670f816"),
    ("AWSCLI", "081ccf10-2f14-48dd-9bd0-892b8975d24f"),
    ("S3Upload", "3a219265-181c-4ed2-9a51-75a7f308f0d5"),
    (
        "CloudFormationCreateOrUpdateStack",
        "7ef7cdfa-aa45-42c5-93c8-d7603643dd99",
    ),
];

/// The toolkit's extension id as a YAML reference starts with it:
/// `AmazonWebServices.aws-vsts-tools.<Task>.<Task>@1`.
pub const TOOLKIT_QUALIFIER: &str = "AmazonWebServices.aws-vsts-tools.";

/// The AWS Toolkit's extension and endpoint type, which no flavour may use.
pub const TOOLKIT_EXTENSION_ID: &str = "aws-vsts-tools";
/// The AWS Toolkit's endpoint type name.
pub const TOOLKIT_ENDPOINT_TYPE: &str = "AWS";

/// One flavour of the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavour {
    /// Its name on the command line (`scripts/package --flavour NAME`).
    pub name: &'static str,
    /// Appended to the extension id.
    pub id_suffix: &'static str,
    /// Appended to the extension's display name.
    pub name_suffix: &'static str,
    /// The service endpoint type it contributes.
    pub endpoint_type: &'static str,
    /// The endpoint type's display name.
    pub endpoint_display_name: &'static str,
    /// Appended to every task name.
    pub task_suffix: &'static str,
}

/// Every flavour; the first is the default.
pub const FLAVOURS: &[Flavour] = &[
    Flavour {
        name: "replacement",
        id_suffix: "",
        name_suffix: "",
        endpoint_type: SOURCE_ENDPOINT_TYPE,
        endpoint_display_name: "AWS (native tasks)",
        task_suffix: "",
    },
    Flavour {
        name: "side-by-side",
        id_suffix: "-side-by-side",
        name_suffix: ", side by side",
        endpoint_type: "AzpAwsTasksAWSSideBySide",
        endpoint_display_name: "AWS (native tasks, side by side)",
        task_suffix: "Native",
    },
    Flavour {
        name: "dev",
        id_suffix: "-dev",
        name_suffix: ", dev",
        endpoint_type: "AzpAwsTasksAWSDev",
        endpoint_display_name: "AWS (native tasks, dev)",
        task_suffix: "Dev",
    },
];

/// The flavour called `name`.
///
/// # Errors
/// A message listing the flavours when there is none of that name.
pub fn by_name(name: &str) -> Result<Flavour, String> {
    FLAVOURS
        .iter()
        .copied()
        .find(|f| f.name == name)
        .ok_or_else(|| {
            format!(
                "unknown flavour '{name}'; the flavours are {}",
                FLAVOURS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

impl Flavour {
    /// Whether this is the flavour the sources describe.
    #[must_use]
    pub fn is_source(&self) -> bool {
        self.task_suffix.is_empty() && self.endpoint_type == SOURCE_ENDPOINT_TYPE
    }

    /// A task's name in this flavour.
    #[must_use]
    pub fn task_name(&self, source_name: &str) -> String {
        format!("{source_name}{}", self.task_suffix)
    }

    /// A task's GUID in this flavour: the source GUID for the replacement
    /// flavour, else UUID v5 of it and the flavour's name.
    #[must_use]
    pub fn task_guid(&self, source_guid: &str) -> String {
        if self.is_source() {
            return source_guid.to_lowercase();
        }
        let namespace = uuid::Uuid::parse_str(source_guid).unwrap_or(uuid::Uuid::nil());
        uuid::Uuid::new_v5(&namespace, self.name.as_bytes()).to_string()
    }

    /// Turn a staged `task.json` of the sources into this flavour's.
    pub fn apply_to_task(&self, task: &mut Value) {
        if let Some(name) = task["name"].as_str() {
            task["name"] = Value::from(self.task_name(name));
        }
        if let Some(id) = task["id"].as_str() {
            task["id"] = Value::from(self.task_guid(id));
        }
        let source_type = format!("connectedService:{SOURCE_ENDPOINT_TYPE}");
        if let Some(inputs) = task["inputs"].as_array_mut() {
            for input in inputs
                .iter_mut()
                .filter(|i| i["type"] == source_type.as_str())
            {
                input["type"] = Value::from(format!("connectedService:{}", self.endpoint_type));
            }
        }
    }

    /// Turn the manifest of the sources into this flavour's (before task
    /// contributions are added).
    pub fn apply_to_manifest(&self, manifest: &mut Value) {
        if let Some(id) = manifest["id"].as_str() {
            manifest["id"] = Value::from(format!("{id}{}", self.id_suffix));
        }
        if let Some(name) = manifest["name"].as_str() {
            manifest["name"] = Value::from(format!("{name}{}", self.name_suffix));
        }
        if self.name == "dev" {
            manifest["public"] = Value::from(false);
        }
        if let Some(contributions) = manifest["contributions"].as_array_mut() {
            for c in contributions
                .iter_mut()
                .filter(|c| c["type"] == "ms.vss-endpoint.service-endpoint-type")
            {
                c["properties"]["name"] = Value::from(self.endpoint_type);
                c["properties"]["displayName"] = Value::from(self.endpoint_display_name);
            }
        }
    }
}

impl Flavour {
    /// The Marketplace overview (`overview.md`, Markdown) of this flavour,
    /// from the sources' overview `text` and the source names of the
    /// extension's `tasks`: unchanged for the replacement flavour; for the
    /// others a note on what differs comes first, and task references
    /// (`AWSCLI@1`) inside fenced YAML examples are written with this
    /// flavour's names. Prose keeps the source names, since it talks about
    /// the AWS Toolkit's tasks too.
    #[must_use]
    pub fn apply_to_overview(&self, text: &str, tasks: &[String]) -> String {
        if self.is_source() {
            return text.to_owned();
        }
        let names: Vec<String> = tasks
            .iter()
            .map(|t| format!("`{}@1`", self.task_name(t)))
            .collect();
        let purpose = if self.name == "dev" {
            "a private test build. Never install it where pipelines deploy to production."
        } else {
            "for organisations that keep the AWS Toolkit installed while they move pipeline by pipeline: \
             its task names and connection type differ from the toolkit's, so both install side by side and no \
             pipeline changes until you change it. To move a pipeline, rename its tasks as below and choose a \
             connection of this type; once no pipeline uses the toolkit, switch to the replacement edition, \
             whose task names are the toolkit's."
        };
        let mut out = format!(
            "> **This is the {} edition**, {purpose} Its tasks are {}; its service connection type is \
             **{}**.\n\n",
            self.name,
            names.join(", "),
            self.endpoint_display_name
        );
        let mut in_yaml = false;
        for line in text.split_inclusive('\n') {
            let fence = line.trim_start().starts_with("```");
            if fence {
                in_yaml = !in_yaml
                    && line
                        .trim_start()
                        .trim_start_matches('`')
                        .trim()
                        .eq_ignore_ascii_case("yaml");
                out.push_str(line);
                continue;
            }
            if in_yaml {
                let mut l = line.to_owned();
                for t in tasks {
                    l = l.replace(
                        &format!("task: {t}@"),
                        &format!("task: {}@", self.task_name(t)),
                    );
                }
                out.push_str(&l);
            } else {
                out.push_str(line);
            }
        }
        out
    }
}

/// What is wrong with a staged extension as a flavour: an endpoint type
/// named `AWS`, a task GUID of the AWS Toolkit, an input that names an
/// endpoint type the extension does not contribute, names of `flavour` not
/// applied, or a description the Marketplace refuses.
#[must_use]
pub fn problems(manifest: &Value, tasks: &[Value], flavour: &Flavour) -> Vec<String> {
    let mut p = Vec::new();
    let contributions = manifest["contributions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let types: Vec<String> = contributions
        .iter()
        .filter(|c| c["type"] == "ms.vss-endpoint.service-endpoint-type")
        .filter_map(|c| c["properties"]["name"].as_str().map(str::to_owned))
        .collect();
    for t in &types {
        if t.eq_ignore_ascii_case(TOOLKIT_ENDPOINT_TYPE) {
            p.push(format!(
                "the extension contributes the endpoint type '{t}', which the AWS Toolkit owns on the Marketplace"
            ));
        }
    }
    if types != [flavour.endpoint_type] {
        p.push(format!(
            "the {} flavour must contribute exactly the endpoint type {}, not {types:?}",
            flavour.name, flavour.endpoint_type
        ));
    }
    // tfx refuses to package such a manifest ("'description' must be less
    // than 200 characters").
    let description = manifest["description"].as_str().unwrap_or_default();
    if description.chars().count() >= 200 {
        p.push(format!(
            "the description has {} characters; the Marketplace takes fewer than 200",
            description.chars().count()
        ));
    }
    if manifest["id"].as_str() == Some(TOOLKIT_EXTENSION_ID) {
        p.push("the extension reuses the AWS Toolkit's extension id".to_owned());
    }
    for task in tasks {
        let name = task["name"].as_str().unwrap_or_default();
        let id = task["id"].as_str().unwrap_or_default().to_lowercase();
        if TOOLKIT_TASK_GUIDS.contains(&id.as_str()) {
            p.push(format!(
                "task {name} reuses the AWS Toolkit's task GUID {id}"
            ));
        }
        if !name.ends_with(flavour.task_suffix) {
            p.push(format!(
                "task {name} lacks the {} flavour's suffix '{}'",
                flavour.name, flavour.task_suffix
            ));
        }
        for input in task["inputs"].as_array().into_iter().flatten() {
            if let Some(t) = input["type"]
                .as_str()
                .and_then(|t| t.strip_prefix("connectedService:"))
            {
                let t = t.split(':').next().unwrap_or(t);
                if !types.iter().any(|c| c.eq_ignore_ascii_case(t)) {
                    p.push(format!(
                        "task {name}'s input {} takes connections of type '{t}', which this extension does not contribute",
                        input["name"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overviews_name_the_flavour_and_its_tasks_in_examples() {
        let text = "Uninstall the toolkit's `AWSCLI@1` first.\n```yaml\n- task: AWSCLI@1\n- task: Bash@3\n```\n- task: AWSCLI@1\n";
        let tasks = vec!["AWSCLI".to_owned(), "AWSShellScript".to_owned()];
        assert_eq!(FLAVOURS[0].apply_to_overview(text, &tasks), text);
        let side = FLAVOURS[1].apply_to_overview(text, &tasks);
        assert!(
            side.starts_with("> **This is the side-by-side edition**"),
            "{side}"
        );
        assert!(
            side.contains("`AWSCLINative@1`, `AWSShellScriptNative@1`"),
            "{side}"
        );
        assert!(
            side.contains(
                "```yaml\n- task: AWSCLINative@1\n- task: Bash@3\n```\n- task: AWSCLI@1\n"
            ),
            "{side}"
        );
        assert!(
            side.contains("Uninstall the toolkit's `AWSCLI@1` first."),
            "{side}"
        );
        assert!(
            FLAVOURS[2]
                .apply_to_overview(text, &tasks)
                .contains("private test build")
        );
    }
    use serde_json::json;

    const GUID: &str = "a959be3a-4ef8-4e9e-bde5-b5097685c72d";

    #[test]
    fn guids_are_the_sources_or_stable_and_distinct() {
        let r = by_name("replacement").unwrap();
        let s = by_name("side-by-side").unwrap();
        let d = by_name("dev").unwrap();
        assert_eq!(r.task_guid(GUID), GUID);
        assert_ne!(s.task_guid(GUID), GUID);
        assert_ne!(s.task_guid(GUID), d.task_guid(GUID));
        assert_eq!(s.task_guid(GUID), s.task_guid(&GUID.to_uppercase()));
        // Version 5 (name-based, SHA-1), RFC 9562 variant.
        let u = uuid::Uuid::parse_str(&s.task_guid(GUID)).unwrap();
        assert_eq!(u.get_version_num(), 5);
        assert!(
            by_name("beta")
                .unwrap_err()
                .contains("replacement, side-by-side, dev")
        );
    }

    #[test]
    fn a_flavour_renames_tasks_inputs_and_the_endpoint_type() {
        let s = by_name("side-by-side").unwrap();
        let mut task = json!({
            "id": GUID, "name": "AWSCLI",
            "inputs": [{ "name": "awsCredentials", "type": "connectedService:AzpAwsTasksAWS" }]
        });
        s.apply_to_task(&mut task);
        assert_eq!(task["name"], "AWSCLINative");
        assert_eq!(
            task["inputs"][0]["type"],
            "connectedService:AzpAwsTasksAWSSideBySide"
        );
        let mut manifest = json!({
            "id": "aws-native-tasks", "name": "AWS Tasks",
            "contributions": [{ "type": "ms.vss-endpoint.service-endpoint-type", "properties": { "name": "AzpAwsTasksAWS" } }]
        });
        s.apply_to_manifest(&mut manifest);
        assert_eq!(manifest["id"], "aws-native-tasks-side-by-side");
        assert!(problems(&manifest, &[task], &s).is_empty());
    }

    #[test]
    fn the_checks_catch_what_the_marketplace_would_refuse() {
        let r = by_name("replacement").unwrap();
        let manifest = json!({
            "id": "aws-native-tasks",
            "description": "x".repeat(200),
            "contributions": [{ "type": "ms.vss-endpoint.service-endpoint-type", "properties": { "name": "AWS" } }]
        });
        let task = json!({
            "id": "081CCF10-2F14-48DD-9BD0-892B8975D24F", "name": "AWSCLI",
            "inputs": [{ "name": "awsCredentials", "type": "connectedService:AzpAwsTasksAWS" }]
        });
        let p = problems(&manifest, &[task], &r);
        assert!(
            p.iter().any(|m| m.contains("which the AWS Toolkit owns")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("reuses the AWS Toolkit's task GUID")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("does not contribute")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("200 characters")), "{p:?}");
    }
}
