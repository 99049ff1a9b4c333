//! The migration kit from the AWS Toolkit for Azure DevOps.
//!
//! [`inventory`] reads, through the Azure DevOps REST API (7.1), what uses
//! the toolkit in one project: service connections of type `AWS`, YAML
//! pipelines whose file names a toolkit task, classic build and release
//! definitions and task groups that hold a toolkit task. [`plan`] turns that
//! into changes:
//! - an OIDC or role-only connection is renamed (`<name>-toolkit`) and one
//!   of this extension's type is created under the **original name** with
//!   the same role, session name, external id and Use OIDC, on the scheme
//!   without keys, and with the old one's pipeline permissions. The OIDC
//!   subject `sc://<org>/<project>/<name>` is unchanged, so IAM trust
//!   policies need no edit;
//! - a connection with keys cannot be moved (the API never returns a
//!   secret): the plan says exactly what to re-enter;
//! - classic definitions and task groups get this extension's task GUIDs in
//!   place of the toolkit's;
//! - YAML files are listed with what to change, if anything.
//!
//! [`apply`] makes the changes one by one and records, after each, how to
//! undo it in a [`Rollback`] file; [`rollback`] undoes them in reverse
//! order. The caller runs a dry run by default.

use std::path::Path;

use base64::Engine as _;
use extension_checks::flavour::{self, Flavour};
use serde_json::{Value, json};

include!(concat!(env!("OUT_DIR"), "/tasks.rs"));

/// The toolkit's endpoint type.
pub const TOOLKIT_TYPE: &str = flavour::TOOLKIT_ENDPOINT_TYPE;
/// What a renamed toolkit connection's name ends with.
pub const RENAMED_SUFFIX: &str = "-toolkit";
/// The REST API version of a call to `url`: 7.1, but the preview of it for
/// the two APIs that are still previews there (pipeline permissions; task
/// groups, whose pages and clients disagree), since the service refuses a
/// preview API called without `-preview`.
fn api_version(url: &str) -> &'static str {
    if url.contains("/pipelines/pipelinePermissions/")
        || url.contains("/distributedtask/taskgroups")
    {
        "7.1-preview.1"
    } else {
        "7.1"
    }
}

/// Why the migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// Neither `AZURE_DEVOPS_EXT_PAT` nor `SYSTEM_ACCESSTOKEN` is set.
    #[error(
        "No credentials for Azure DevOps: set AZURE_DEVOPS_EXT_PAT to a personal access token with the scopes \
         Service Connections (Read, query and manage), Build (Read and execute), Release (Read, write and execute), \
         Task Groups (Read, create and manage) and Code (Read). It is read from the environment only, never from an \
         argument, so that it stays out of shell history and process lists."
    )]
    NoToken,
    /// A REST call failed.
    #[error("{method} {url} failed with HTTP {status}: {message}")]
    Http {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The request could not be sent.
    #[error("{method} {url} could not be sent: {detail}")]
    Transport {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// A rollback plan could not be read or written.
    #[error("the rollback plan {path}: {detail}")]
    Plan {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

/// An Azure DevOps REST client for one organisation and project.
#[derive(Debug, Clone)]
pub struct DevOps {
    org_url: String,
    release_url: String,
    project: String,
    auth: String,
    http: reqwest::Client,
}

impl DevOps {
    /// A client for `org_url` (`https://dev.azure.com/<org>`) and `project`,
    /// authenticating with `AZURE_DEVOPS_EXT_PAT` (Basic, as `az devops`
    /// reads it) or else `SYSTEM_ACCESSTOKEN` (Bearer, inside a pipeline).
    /// Release definitions live on `vsrm.dev.azure.com` (or
    /// `<org>.vsrm.visualstudio.com`); elsewhere on the same host, unless
    /// `release_url` says otherwise.
    ///
    /// # Errors
    /// [`MigrationError::NoToken`] without a token.
    pub fn new(
        env: &azp_task::Env,
        org_url: &str,
        project: &str,
        release_url: Option<&str>,
    ) -> Result<Self, MigrationError> {
        let auth = if let Some(pat) = env.get_non_empty("AZURE_DEVOPS_EXT_PAT") {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(":{pat}"))
            )
        } else if let Some(token) = env.get_non_empty("SYSTEM_ACCESSTOKEN") {
            format!("Bearer {token}")
        } else {
            return Err(MigrationError::NoToken);
        };
        let org_url = org_url.trim_end_matches('/').to_owned();
        let release_url = release_url.map_or_else(|| default_release_url(&org_url), str::to_owned);
        azp_task::http::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(azp_task::http::USER_AGENT)
            .build()
            .map_err(|e| MigrationError::Transport {
                method: "build".into(),
                url: org_url.clone(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            org_url,
            release_url,
            project: project.to_owned(),
            auth,
            http,
        })
    }

    /// The project's name.
    #[must_use]
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The organisation's name: the last segment of its URL.
    #[must_use]
    pub fn org_name(&self) -> &str {
        self.org_url.rsplit('/').next().unwrap_or_default()
    }

    fn project_url(&self, path: &str) -> String {
        format!("{}/{}/_apis/{path}", self.org_url, encode(&self.project))
    }

    /// Release definitions (`id` none) or one of them, on the release host.
    fn release_definitions_url(&self, id: Option<u64>) -> String {
        let base = format!(
            "{}/{}/_apis/release/definitions",
            self.release_url,
            encode(&self.project)
        );
        id.map_or(base.clone(), |id| format!("{base}/{id}"))
    }

    async fn call(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, MigrationError> {
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}api-version={}", api_version(url));
        let method_v: reqwest::Method = method.parse().unwrap_or(reqwest::Method::GET);
        let mut req = self
            .http
            .request(method_v, &url)
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| MigrationError::Transport {
            method: method.into(),
            url: url.clone(),
            detail: azp_task::render_error(&e),
        })?;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(MigrationError::Http {
                method: method.into(),
                url,
                status,
                message,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get_list(&self, url: &str) -> Result<Vec<Value>, MigrationError> {
        Ok(self.call("GET", url, None).await?["value"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn default_release_url(org_url: &str) -> String {
    if let Some(rest) = org_url.strip_prefix("https://dev.azure.com/") {
        format!("https://vsrm.dev.azure.com/{rest}")
    } else if let Some(host) = org_url
        .strip_prefix("https://")
        .and_then(|h| h.strip_suffix(".visualstudio.com"))
    {
        format!("https://{host}.vsrm.visualstudio.com")
    } else {
        org_url.to_owned()
    }
}

/// How a toolkit connection authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionKind {
    /// Use OIDC with a role.
    Oidc,
    /// A role assumed with the agent's own credentials.
    RoleOnly,
    /// Stored access keys (their secret cannot be read back).
    Keys,
    /// Nothing usable.
    Empty,
}

/// A connection of type `AWS`.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The endpoint as the API returned it.
    pub endpoint: Value,
    /// How it authenticates.
    pub kind: ConnectionKind,
}

impl Connection {
    fn name(&self) -> &str {
        self.endpoint["name"].as_str().unwrap_or_default()
    }

    fn param(&self, key: &str) -> Option<String> {
        self.endpoint["authorization"]["parameters"][key]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }
}

/// A place that uses a toolkit task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// A line of a YAML pipeline.
    Yaml {
        /// The pipeline.
        pipeline: String,
        /// Repository and file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The task reference found (`AWSCLI@1`, or the qualified form).
        reference: String,
        /// The toolkit task's name.
        task: String,
    },
    /// A YAML pipeline whose file the API cannot read (a GitHub or Bitbucket
    /// repository).
    YamlElsewhere {
        /// The pipeline.
        pipeline: String,
        /// Where its YAML is.
        location: String,
    },
}

/// What uses the toolkit in the project.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Connections of type `AWS`.
    pub connections: Vec<Connection>,
    /// Names of the connections of the flavour's own type (already moved
    /// or made by hand).
    pub ours: Vec<String>,
    /// YAML usages.
    pub usages: Vec<Usage>,
    /// Classic build definitions with toolkit tasks (the full definitions).
    pub builds: Vec<Value>,
    /// Release definitions with toolkit tasks.
    pub releases: Vec<Value>,
    /// Task groups with toolkit tasks.
    pub task_groups: Vec<Value>,
}

fn classify(endpoint: &Value) -> ConnectionKind {
    let p = &endpoint["authorization"]["parameters"];
    let set = |k: &str| p[k].as_str().is_some_and(|v| !v.trim().is_empty());
    let oidc = p["useOIDC"]
        .as_str()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    match (oidc, set("assumeRoleArn"), set("username")) {
        (true, true, _) => ConnectionKind::Oidc,
        (_, _, true) => ConnectionKind::Keys,
        (false, true, false) => ConnectionKind::RoleOnly,
        _ => ConnectionKind::Empty,
    }
}

/// The toolkit GUID of a task id, if it is one this extension replaces:
/// (toolkit name, toolkit GUID).
fn toolkit_task(id: &str) -> Option<(&'static str, &'static str)> {
    flavour::TOOLKIT_TASKS
        .iter()
        .copied()
        .find(|(_, g)| g.eq_ignore_ascii_case(id))
        .filter(|(name, _)| OUR_TASKS.iter().any(|(n, _)| n == name))
}

/// Toolkit task references in one YAML text: `(line, reference, task)`.
#[must_use]
pub fn yaml_references(text: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or_default();
        let Some(value) = code
            .trim_start()
            .trim_start_matches("- ")
            .trim_start()
            .strip_prefix("task:")
        else {
            continue;
        };
        let reference = value
            .trim()
            .trim_matches(|c| c == '\'' || c == '"')
            .to_owned();
        let unqualified = reference
            .strip_prefix(flavour::TOOLKIT_QUALIFIER)
            .map_or(reference.as_str(), |r| {
                r.split('.').next_back().unwrap_or(r)
            });
        let name = unqualified.split('@').next().unwrap_or_default();
        let by_guid = toolkit_task(name).map(|(n, _)| n);
        let by_name = flavour::TOOLKIT_TASKS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, _)| *n);
        if let Some(task) = by_guid.or(by_name) {
            found.push((i + 1, reference, task.to_owned()));
        }
    }
    found
}

/// The steps of a classic definition of `kind` (`build`, `release`,
/// `taskgroup`) that run a toolkit task this extension replaces, with that
/// task's name.
fn toolkit_steps<'a>(def: &'a Value, kind: &str) -> Vec<(&'static str, &'a Value)> {
    let steps: Box<dyn Iterator<Item = &'a Value>> = match kind {
        "build" => Box::new(
            def["process"]["phases"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["steps"].as_array().into_iter().flatten()),
        ),
        "release" => Box::new(
            def["environments"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["deployPhases"].as_array().into_iter().flatten())
                .flat_map(|p| p["workflowTasks"].as_array().into_iter().flatten()),
        ),
        _ => Box::new(def["tasks"].as_array().into_iter().flatten()),
    };
    steps
        .filter_map(|s| {
            let id = if kind == "release" {
                &s["taskId"]
            } else {
                &s["task"]["id"]
            };
            toolkit_task(id.as_str()?).map(|(name, _)| (name, s))
        })
        .collect()
}

/// Read what uses the toolkit in the project.
///
/// # Errors
/// The first REST call that fails.
pub async fn inventory(devops: &DevOps, flavour: &Flavour) -> Result<Inventory, MigrationError> {
    let ours = devops
        .get_list(&devops.project_url(&format!(
            "serviceendpoint/endpoints?type={}",
            flavour.endpoint_type
        )))
        .await?
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect();
    let connections = devops
        .get_list(&devops.project_url(&format!("serviceendpoint/endpoints?type={TOOLKIT_TYPE}")))
        .await?
        .into_iter()
        .map(|e| Connection {
            kind: classify(&e),
            endpoint: e,
        })
        .collect();
    let mut inv = Inventory {
        connections,
        ours,
        ..Inventory::default()
    };

    for reference in devops
        .get_list(&devops.project_url("build/definitions"))
        .await?
    {
        let id = reference["id"].as_u64().unwrap_or_default();
        let def = devops
            .call(
                "GET",
                &devops.project_url(&format!("build/definitions/{id}")),
                None,
            )
            .await?;
        let name = def["name"].as_str().unwrap_or_default().to_owned();
        match def["process"]["type"].as_u64() {
            Some(2) => {
                let repo = &def["repository"];
                let file = def["process"]["yamlFilename"].as_str().unwrap_or_default();
                if repo["type"] != "TfsGit" {
                    inv.usages.push(Usage::YamlElsewhere {
                        pipeline: name,
                        location: format!(
                            "{} repository {}, {file}",
                            repo["type"].as_str().unwrap_or("another"),
                            repo["name"].as_str().unwrap_or_default()
                        ),
                    });
                    continue;
                }
                let repo_id = repo["id"].as_str().unwrap_or_default();
                let branch = repo["defaultBranch"]
                    .as_str()
                    .unwrap_or("refs/heads/main")
                    .trim_start_matches("refs/heads/");
                let item = devops
                    .call(
                        "GET",
                        &devops.project_url(&format!(
                            "git/repositories/{repo_id}/items?path={}&includeContent=true\
                             &versionDescriptor.version={}&versionDescriptor.versionType=branch",
                            encode(file),
                            encode(branch)
                        )),
                        None,
                    )
                    .await?;
                let text = item["content"].as_str().unwrap_or_default();
                for (line, reference, task) in yaml_references(text) {
                    inv.usages.push(Usage::Yaml {
                        pipeline: name.clone(),
                        file: format!("{}:{file}", repo["name"].as_str().unwrap_or_default()),
                        line,
                        reference,
                        task,
                    });
                }
            }
            _ => {
                if !toolkit_steps(&def, "build").is_empty() {
                    inv.builds.push(def);
                }
            }
        }
    }
    for reference in devops
        .get_list(&devops.release_definitions_url(None))
        .await?
    {
        let id = reference["id"].as_u64().unwrap_or_default();
        let def = devops
            .call("GET", &devops.release_definitions_url(Some(id)), None)
            .await?;
        if !toolkit_steps(&def, "release").is_empty() {
            inv.releases.push(def);
        }
    }
    inv.task_groups = devops
        .get_list(&devops.project_url("distributedtask/taskgroups"))
        .await?
        .into_iter()
        .filter(|g| !toolkit_steps(g, "taskgroup").is_empty())
        .collect();
    Ok(inv)
}

/// One change of the migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Create a connection of the flavour's type named `new_name` with the
    /// toolkit connection's settings and pipeline permissions; first rename
    /// the toolkit connection to `<name>-toolkit` when `new_name` is its
    /// name (the replacement flavour).
    MoveConnection {
        /// The toolkit connection's id.
        id: String,
        /// Its name.
        name: String,
        /// The new connection's name.
        new_name: String,
    },
    /// Swap toolkit task GUIDs for ours in a classic build definition.
    SwapBuild {
        /// The definition id.
        id: u64,
        /// Its name.
        name: String,
    },
    /// The same in a release definition.
    SwapRelease {
        /// The definition id.
        id: u64,
        /// Its name.
        name: String,
    },
    /// The same in a task group.
    SwapTaskGroup {
        /// The task group id.
        id: String,
        /// Its name.
        name: String,
    },
}

/// The migration, as a report and a list of changes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every line of the report.
    pub report: Vec<String>,
    /// The changes [`apply`] makes.
    pub changes: Vec<Change>,
}

/// The name of the connection of `flavour` that takes over the toolkit
/// connection `name`: the same name for the replacement flavour, so that
/// YAML and the OIDC subject stay as they are; `<name>-native` for the
/// side-by-side flavour, whose pipelines still using the toolkit keep the
/// original.
#[must_use]
pub fn new_connection_name(name: &str, flavour: &Flavour) -> String {
    if flavour.is_source() {
        name.to_owned()
    } else {
        format!("{name}-{}", flavour.task_suffix.to_lowercase())
    }
}

/// GUID of this extension's task `name` in `flavour`.
fn our_guid(name: &str, flavour: &Flavour) -> Option<String> {
    OUR_TASKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, g)| flavour.task_guid(g))
}

/// Turn an inventory into a report and changes for `flavour`.
#[must_use]
pub fn plan(devops: &DevOps, inv: &Inventory, flavour: &Flavour) -> Plan {
    let mut report = vec![format!(
        "Project {} of {}; moving to the {} flavour (endpoint type {}).",
        devops.project(),
        devops.org_url,
        flavour.name,
        flavour.endpoint_type
    )];
    let mut changes = Vec::new();
    report.push(String::new());
    report.push(format!(
        "Service connections of type {TOOLKIT_TYPE}: {}",
        inv.connections.len()
    ));
    for c in &inv.connections {
        let name = c.name();
        let id = c.endpoint["id"].as_str().unwrap_or_default();
        let has_ours = |n: &str| inv.ours.iter().any(|o| o.eq_ignore_ascii_case(n));
        let new_name = new_connection_name(name, flavour);
        if has_ours(&new_name) {
            report.push(format!(
                "  {name}: a connection of type {} named {new_name} already exists; nothing to move.",
                flavour.endpoint_type
            ));
            continue;
        }
        if let Some(base) = name.strip_suffix(RENAMED_SUFFIX)
            && has_ours(base)
        {
            report.push(format!(
                "  {name}: moved already (the new {base} is of type {}); delete it once no pipeline uses it.",
                flavour.endpoint_type
            ));
            continue;
        }
        match c.kind {
            ConnectionKind::Oidc | ConnectionKind::RoleOnly => {
                let how = if c.kind == ConnectionKind::Oidc {
                    "OIDC"
                } else {
                    "role only"
                };
                let subject =
                    |n: &str| format!("sc://{}/{}/{n}", devops.org_name(), devops.project());
                let (first, oidc) = if new_name == name {
                    (
                        format!("rename it to {name}{RENAMED_SUFFIX}; "),
                        format!(
                            "The OIDC subject {} does not change, so IAM trust policies need no edit.",
                            subject(name)
                        ),
                    )
                } else {
                    (
                        String::new(),
                        format!(
                            "Its OIDC subject is {}: add it next to {} in the role's trust policy (a list under \
                             StringEquals on <issuer>:sub) before a pipeline uses it.",
                            subject(&new_name),
                            subject(name)
                        ),
                    )
                };
                let oidc = if c.kind == ConnectionKind::Oidc {
                    oidc
                } else {
                    String::new()
                };
                report.push(format!(
                    "  {name} ({how}): {first}create {new_name} of type {} (scheme \"OIDC or role, no stored keys\") \
                     with the same role, session name, external id and Use OIDC; give it the same pipeline \
                     permissions. {oidc}",
                    flavour.endpoint_type,
                ));
                changes.push(Change::MoveConnection {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    new_name,
                });
            }
            ConnectionKind::Keys => {
                let key = c.param("username").unwrap_or_default();
                let mut fields = vec![
                    format!("Access Key ID = {key}"),
                    "Secret Access Key = (re-enter it: the API never returns it)".to_owned(),
                ];
                for (label, param) in [
                    ("Role to Assume", "assumeRoleArn"),
                    ("Role Session Name", "roleSessionName"),
                    ("External ID", "externalId"),
                ] {
                    if let Some(v) = c.param(param) {
                        fields.push(format!("{label} = {v}"));
                    }
                }
                let rename = if new_name == name {
                    format!("Rename it to {name}{RENAMED_SUFFIX} and create")
                } else {
                    "Create".to_owned()
                };
                report.push(format!(
                    "  {name} (access keys): cannot be moved through the API, which never returns a secret. {rename} \
                     a connection of type {} named {new_name} (scheme \"Access keys, optionally assuming a role\") \
                     with: {}. Better: give the role an OIDC trust policy and use the scheme without keys.",
                    flavour.endpoint_type,
                    fields.join("; ")
                ));
            }
            ConnectionKind::Empty => report.push(format!(
                "  {name}: has neither keys nor a role; nothing to move."
            )),
        }
    }

    report.push(String::new());
    let yaml: Vec<&Usage> = inv.usages.iter().collect();
    report.push(format!(
        "YAML pipelines and their references to toolkit tasks: {}",
        yaml.len()
    ));
    for u in yaml {
        match u {
            Usage::Yaml {
                pipeline,
                file,
                line,
                reference,
                task,
            } => {
                let ours = flavour.task_name(task);
                let connection = if flavour.is_source() {
                    String::new()
                } else {
                    format!(
                        ", and give awsCredentials the new connection's name ({})",
                        new_connection_name("<name>", flavour)
                    )
                };
                let advice = if reference.starts_with(flavour::TOOLKIT_QUALIFIER) {
                    format!("write {ours}@1 (or this extension's fully qualified name){connection}")
                } else if ours == *task {
                    "no edit: the name resolves to this extension once the toolkit is uninstalled".to_owned()
                } else {
                    format!("write {ours}@1{connection}")
                };
                report.push(format!("  {pipeline} ({file}, line {line}): {reference}: {advice}"));
            }
            Usage::YamlElsewhere { pipeline, location } => report.push(format!(
                "  {pipeline}: its YAML is in {location}, which the Azure DevOps API cannot read; check it for toolkit task names yourself"
            )),
        }
    }

    report.push(String::new());
    report.push(format!(
        "Classic definitions and task groups with toolkit tasks: {}",
        inv.builds.len() + inv.releases.len() + inv.task_groups.len()
    ));
    for (kind, label, items) in [
        ("build", "build definition", &inv.builds),
        ("release", "release definition", &inv.releases),
        ("taskgroup", "task group", &inv.task_groups),
    ] {
        for d in items {
            let name = d["name"].as_str().unwrap_or_default().to_owned();
            report.push(format!("  {label} {name}:"));
            for (task, step) in toolkit_steps(d, kind) {
                let (_, toolkit_guid) = flavour::TOOLKIT_TASKS
                    .iter()
                    .find(|(t, _)| *t == task)
                    .copied()
                    .unwrap_or_default();
                let ours = our_guid(task, flavour).unwrap_or_default();
                let used = step["inputs"][CONNECTION_INPUT]
                    .as_str()
                    .unwrap_or_default();
                let connection = inv.connections.iter().find(|c| {
                    c.endpoint["id"]
                        .as_str()
                        .is_some_and(|id| id.eq_ignore_ascii_case(used))
                });
                let about = match connection {
                    Some(c)
                        if matches!(c.kind, ConnectionKind::Oidc | ConnectionKind::RoleOnly) =>
                    {
                        format!(
                            "; its connection {} is re-pointed to the new {}",
                            c.name(),
                            c.name()
                        )
                    }
                    Some(c) => format!(
                        "; its connection {} has keys: once you have created the new {}, choose it in this step",
                        c.name(),
                        c.name()
                    ),
                    None if used.starts_with('$') => format!(
                        "; its connection is the variable {used}: give it the new connection's id"
                    ),
                    None if !used.is_empty() => {
                        format!("; its connection {used} is not of type {TOOLKIT_TYPE}: check it")
                    }
                    None => String::new(),
                };
                report.push(format!(
                    "    step \"{}\": {task} {toolkit_guid} → {} {ours}{about}",
                    step["displayName"]
                        .as_str()
                        .or(step["name"].as_str())
                        .unwrap_or(task),
                    flavour.task_name(task)
                ));
            }
            changes.push(match kind {
                "build" => Change::SwapBuild {
                    id: d["id"].as_u64().unwrap_or_default(),
                    name,
                },
                "release" => Change::SwapRelease {
                    id: d["id"].as_u64().unwrap_or_default(),
                    name,
                },
                _ => Change::SwapTaskGroup {
                    id: d["id"].as_str().unwrap_or_default().to_owned(),
                    name,
                },
            });
        }
    }
    Plan { report, changes }
}

/// How to undo what [`apply`] did, step by step; written after every step.
#[derive(Debug, Clone, Default)]
pub struct Rollback {
    /// Undo steps, in the order they were done.
    pub steps: Vec<Value>,
}

impl Rollback {
    /// Write to `path`.
    ///
    /// # Errors
    /// [`MigrationError::Plan`] when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), MigrationError> {
        let text = serde_json::to_string_pretty(&json!({
            "about": "Undo steps of aws-toolkit-migrate, in the order they were done; run aws-toolkit-migrate --rollback with this file to undo them in reverse order.",
            "steps": self.steps
        }))
        .unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| MigrationError::Plan {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// Read from `path`.
    ///
    /// # Errors
    /// [`MigrationError::Plan`] when it cannot be read.
    pub fn load(path: &Path) -> Result<Self, MigrationError> {
        let bad = |detail: String| MigrationError::Plan {
            path: path.display().to_string(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            steps: v["steps"]
                .as_array()
                .cloned()
                .ok_or_else(|| bad("no steps".into()))?,
        })
    }
}

/// The name of the connection input of every toolkit task (and of ours).
const CONNECTION_INPUT: &str = "awsCredentials";

/// What a swap changes in a definition: task GUIDs, and the connection
/// input of the swapped steps, since classic definitions name a connection
/// by id and a moved connection has a new one. Both lists are lower-case
/// `(from, to)`.
#[derive(Debug, Clone, Default)]
struct Swaps {
    guids: Vec<(String, String)>,
    endpoints: Vec<(String, String)>,
}

impl Swaps {
    fn new(flavour: &Flavour, endpoints: &[(String, String)], forward: bool) -> Self {
        let guids = OUR_TASKS
            .iter()
            .filter_map(|(n, _)| {
                let (_, toolkit) = flavour::TOOLKIT_TASKS.iter().find(|(t, _)| t == n)?;
                let ours = our_guid(n, flavour)?;
                Some(if forward {
                    (toolkit.to_lowercase(), ours)
                } else {
                    (ours, toolkit.to_lowercase())
                })
            })
            .collect();
        let endpoints = endpoints
            .iter()
            .map(|(old, new)| {
                if forward {
                    (old.to_lowercase(), new.to_lowercase())
                } else {
                    (new.to_lowercase(), old.to_lowercase())
                }
            })
            .collect();
        Self { guids, endpoints }
    }

    /// Apply to `steps` (`key` is `""` for `task.id`, else the field
    /// holding the id); gives how many steps changed.
    fn steps(&self, steps: &mut [Value], key: &str) -> usize {
        let mut n = 0;
        for s in steps {
            let slot = if key.is_empty() {
                &mut s["task"]["id"]
            } else {
                &mut s[key]
            };
            let Some(id) = slot.as_str().map(str::to_lowercase) else {
                continue;
            };
            let Some((_, to)) = self.guids.iter().find(|(from, _)| *from == id) else {
                continue;
            };
            *slot = Value::from(to.clone());
            n += 1;
            let input = &mut s["inputs"][CONNECTION_INPUT];
            if let Some(current) = input.as_str().map(str::to_lowercase)
                && let Some((_, to)) = self.endpoints.iter().find(|(from, _)| *from == current)
            {
                *input = Value::from(to.clone());
            }
        }
        n
    }

    fn definition(&self, def: &mut Value, kind: &str) -> usize {
        match kind {
            "build" => def["process"]["phases"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .map(|p| p["steps"].as_array_mut().map_or(0, |s| self.steps(s, "")))
                .sum(),
            "release" => def["environments"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .flat_map(|e| e["deployPhases"].as_array_mut().into_iter().flatten())
                .map(|p| {
                    p["workflowTasks"]
                        .as_array_mut()
                        .map_or(0, |s| self.steps(s, "taskId"))
                })
                .sum(),
            _ => def["tasks"].as_array_mut().map_or(0, |s| self.steps(s, "")),
        }
    }
}

/// Read definition `id` of `kind` (`build`, `release`, `taskgroup`), apply
/// `swaps`, write it back; gives how many steps changed.
async fn swap(
    devops: &DevOps,
    kind: &str,
    id: &str,
    swaps: &Swaps,
) -> Result<usize, MigrationError> {
    match kind {
        "build" => {
            let url = devops.project_url(&format!("build/definitions/{id}"));
            let mut def = devops.call("GET", &url, None).await?;
            let n = swaps.definition(&mut def, kind);
            devops.call("PUT", &url, Some(&def)).await?;
            Ok(n)
        }
        "release" => {
            let number = id.parse::<u64>().unwrap_or_default();
            let mut def = devops
                .call("GET", &devops.release_definitions_url(Some(number)), None)
                .await?;
            let n = swaps.definition(&mut def, kind);
            devops
                .call("PUT", &devops.release_definitions_url(None), Some(&def))
                .await?;
            Ok(n)
        }
        _ => {
            let url = devops.project_url("distributedtask/taskgroups");
            let mut group = devops
                .get_list(&url)
                .await?
                .into_iter()
                .find(|g| g["id"].as_str() == Some(id))
                .ok_or_else(|| MigrationError::Http {
                    method: "GET".into(),
                    url: url.clone(),
                    status: 404,
                    message: format!("task group {id} is gone"),
                })?;
            let n = swaps.definition(&mut group, kind);
            devops
                .call(
                    "PUT",
                    &devops.project_url(&format!("distributedtask/taskgroups/{id}")),
                    Some(&group),
                )
                .await?;
            Ok(n)
        }
    }
}

/// The project references of `endpoint` for a connection named `name`: the
/// same projects and descriptions, with `name` as each project's name of it.
fn project_references(endpoint: &Value, name: &str) -> Value {
    let mut refs = endpoint["serviceEndpointProjectReferences"].clone();
    for r in refs.as_array_mut().into_iter().flatten() {
        r["name"] = Value::from(name);
    }
    refs
}

/// Make the changes of `plan`, writing `rollback_path` after every step.
/// `say` gets a line per change made.
///
/// # Errors
/// The first change that fails; the rollback file then holds every change
/// made before it.
pub async fn apply(
    devops: &DevOps,
    inv: &Inventory,
    plan: &Plan,
    flavour: &Flavour,
    rollback_path: &Path,
    say: &mut dyn FnMut(String),
) -> Result<Rollback, MigrationError> {
    let mut rollback = Rollback::default();
    // Old connection id → new, as connections are moved (they come first).
    let mut moved: Vec<(String, String)> = Vec::new();
    for change in &plan.changes {
        match change {
            Change::MoveConnection { id, name, new_name } => {
                let Some(c) = inv
                    .connections
                    .iter()
                    .find(|c| c.endpoint["id"].as_str() == Some(id))
                else {
                    continue;
                };
                if new_name == name {
                    let renamed = format!("{name}{RENAMED_SUFFIX}");
                    let mut old = c.endpoint.clone();
                    old["name"] = Value::from(renamed.clone());
                    for r in old["serviceEndpointProjectReferences"]
                        .as_array_mut()
                        .into_iter()
                        .flatten()
                    {
                        if r["name"] == name.as_str() {
                            r["name"] = Value::from(renamed.clone());
                        }
                    }
                    let put = format!("{}/_apis/serviceendpoint/endpoints/{id}", devops.org_url);
                    devops.call("PUT", &put, Some(&old)).await?;
                    rollback
                        .steps
                        .push(json!({ "undo": "rename", "endpoint": id, "name": name }));
                    rollback.save(rollback_path)?;
                    say(format!("Renamed connection {name} to {renamed}."));
                }

                let mut parameters = serde_json::Map::new();
                for key in ["assumeRoleArn", "roleSessionName", "externalId", "useOIDC"] {
                    if let Some(v) = c.param(key) {
                        parameters.insert(key.to_owned(), Value::from(v));
                    }
                }
                let created = devops
                    .call(
                        "POST",
                        &format!("{}/_apis/serviceendpoint/endpoints", devops.org_url),
                        Some(&json!({
                            "name": new_name,
                            "type": flavour.endpoint_type,
                            "url": c.endpoint["url"].as_str().unwrap_or("https://aws.amazon.com/"),
                            "description": c.endpoint["description"],
                            "authorization": { "scheme": "None", "parameters": parameters },
                            "isShared": c.endpoint["isShared"],
                            "owner": "library",
                            "serviceEndpointProjectReferences": project_references(&c.endpoint, new_name),
                        })),
                    )
                    .await?;
                let new_id = created["id"].as_str().unwrap_or_default().to_owned();
                moved.push((id.clone(), new_id.clone()));
                let project_ids: Vec<String> = c.endpoint["serviceEndpointProjectReferences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["projectReference"]["id"].as_str().map(str::to_owned))
                    .collect();
                rollback
                    .steps
                    .push(json!({ "undo": "create", "endpoint": new_id, "projects": project_ids }));
                rollback.save(rollback_path)?;
                say(format!(
                    "Created connection {new_name} of type {} ({new_id}).",
                    flavour.endpoint_type
                ));

                let perm_url = |eid: &str| {
                    devops.project_url(&format!("pipelines/pipelinePermissions/endpoint/{eid}"))
                };
                let perms = devops.call("GET", &perm_url(id), None).await?;
                let pipelines: Vec<Value> = perms["pipelines"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["authorized"] == true)
                    .map(|p| json!({ "id": p["id"], "authorized": true }))
                    .collect();
                let mut body = json!({ "pipelines": pipelines });
                if !perms["allPipelines"].is_null() {
                    body["allPipelines"] =
                        json!({ "authorized": perms["allPipelines"]["authorized"] });
                }
                devops
                    .call("PATCH", &perm_url(&new_id), Some(&body))
                    .await?;
                say(format!(
                    "Gave {new_name} the pipeline permissions of the toolkit connection ({} pipelines{}).",
                    pipelines.len(),
                    if perms["allPipelines"]["authorized"] == true {
                        ", and all pipelines"
                    } else {
                        ""
                    }
                ));
            }
            Change::SwapBuild { id, name } | Change::SwapRelease { id, name } => {
                let kind = if matches!(change, Change::SwapBuild { .. }) {
                    "build"
                } else {
                    "release"
                };
                let n = swap(
                    devops,
                    kind,
                    &id.to_string(),
                    &Swaps::new(flavour, &moved, true),
                )
                .await?;
                rollback.steps.push(json!({ "undo": "swap", "kind": kind, "id": id.to_string(), "name": name, "endpoints": moved }));
                rollback.save(rollback_path)?;
                say(format!(
                    "Swapped {n} task GUIDs in {kind} definition {name}."
                ));
            }
            Change::SwapTaskGroup { id, name } => {
                let n = swap(devops, "taskgroup", id, &Swaps::new(flavour, &moved, true)).await?;
                rollback.steps.push(json!({ "undo": "swap", "kind": "taskgroup", "id": id, "name": name, "endpoints": moved }));
                rollback.save(rollback_path)?;
                say(format!("Swapped {n} task GUIDs in task group {name}."));
            }
        }
    }
    Ok(rollback)
}

/// Undo the steps of `rollback` in reverse order.
///
/// # Errors
/// The first undo step that fails; the ones before it are done.
pub async fn rollback(
    devops: &DevOps,
    rollback: &Rollback,
    flavour: &Flavour,
    say: &mut dyn FnMut(String),
) -> Result<(), MigrationError> {
    for step in rollback.steps.iter().rev() {
        let s = |k: &str| step[k].as_str().unwrap_or_default().to_owned();
        match step["undo"].as_str().unwrap_or_default() {
            "create" => {
                let projects: Vec<String> = step["projects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect();
                devops
                    .call(
                        "DELETE",
                        &format!(
                            "{}/_apis/serviceendpoint/endpoints/{}?projectIds={}",
                            devops.org_url,
                            s("endpoint"),
                            projects.join(",")
                        ),
                        None,
                    )
                    .await?;
                say(format!("Deleted connection {}.", s("endpoint")));
            }
            "rename" => {
                let list = devops
                    .get_list(
                        &devops
                            .project_url(&format!("serviceendpoint/endpoints?type={TOOLKIT_TYPE}")),
                    )
                    .await?;
                if let Some(mut e) = list
                    .into_iter()
                    .find(|e| e["id"].as_str() == Some(&s("endpoint")))
                {
                    let current = e["name"].as_str().unwrap_or_default().to_owned();
                    e["name"] = Value::from(s("name"));
                    for r in e["serviceEndpointProjectReferences"]
                        .as_array_mut()
                        .into_iter()
                        .flatten()
                    {
                        if r["name"] == current.as_str() {
                            r["name"] = Value::from(s("name"));
                        }
                    }
                    devops
                        .call(
                            "PUT",
                            &format!(
                                "{}/_apis/serviceendpoint/endpoints/{}",
                                devops.org_url,
                                s("endpoint")
                            ),
                            Some(&e),
                        )
                        .await?;
                    say(format!(
                        "Renamed connection {current} back to {}.",
                        s("name")
                    ));
                }
            }
            "swap" => {
                let moved: Vec<(String, String)> =
                    serde_json::from_value(step["endpoints"].clone()).unwrap_or_default();
                let n = swap(
                    devops,
                    &s("kind"),
                    &s("id"),
                    &Swaps::new(flavour, &moved, false),
                )
                .await?;
                say(format!(
                    "Swapped {n} task GUIDs back in {} {}.",
                    s("kind"),
                    s("name")
                ));
            }
            other => say(format!("Skipped an unknown undo step '{other}'.")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_references_by_name_and_qualified() {
        let yaml = "steps:\n- task: AWSCLI@1\n  inputs: {}\n  # - task: AWSShellScript@1\n- task: 'AmazonWebServices.aws-vsts-tools.AWSShellScript.AWSShellScript@1'\n- task: Bash@3\n-   task: awscli@1\n";
        let refs = yaml_references(yaml);
        assert_eq!(
            refs,
            vec![
                (2, "AWSCLI@1".to_owned(), "AWSCLI".to_owned()),
                (
                    5,
                    "AmazonWebServices.aws-vsts-tools.AWSShellScript.AWSShellScript@1".to_owned(),
                    "AWSShellScript".to_owned()
                ),
                (7, "awscli@1".to_owned(), "AWSCLI".to_owned()),
            ]
        );
    }

    #[test]
    fn connections_are_classified_by_their_fields() {
        let e = |p: Value| json!({ "authorization": { "parameters": p } });
        assert_eq!(
            classify(&e(
                json!({"useOIDC": "true", "assumeRoleArn": "arn", "username": "AKIA"})
            )),
            ConnectionKind::Oidc
        );
        assert_eq!(
            classify(&e(json!({"assumeRoleArn": "arn"}))),
            ConnectionKind::RoleOnly
        );
        assert_eq!(
            classify(&e(json!({"username": "AKIA", "password": null}))),
            ConnectionKind::Keys
        );
        assert_eq!(classify(&e(json!({}))), ConnectionKind::Empty);
    }

    #[test]
    fn swaps_match_guids_in_any_case_and_go_back() {
        let replacement = flavour::by_name("replacement").expect("flavour");
        let (_, toolkit) = flavour::TOOLKIT_TASKS[1];
        let moved = vec![("E0-OLD".to_owned(), "e0-new".to_owned())];
        let mut group = json!({ "tasks": [
            { "task": { "id": toolkit.to_uppercase() }, "inputs": { "awsCredentials": "e0-old" } },
            { "task": { "id": "d9bafed4-0b18-4f58-968d-86655b4d2ce9" }, "inputs": { "awsCredentials": "e0-old" } }
        ] });
        assert_eq!(
            Swaps::new(&replacement, &moved, true).definition(&mut group, "taskgroup"),
            1
        );
        assert_eq!(
            group["tasks"][0]["task"]["id"],
            our_guid("AWSCLI", &replacement).expect("ours")
        );
        assert_eq!(group["tasks"][0]["inputs"]["awsCredentials"], "e0-new");
        assert_eq!(
            group["tasks"][1]["inputs"]["awsCredentials"], "e0-old",
            "another task's input is not ours to change"
        );
        assert_eq!(
            Swaps::new(&replacement, &moved, false).definition(&mut group, "taskgroup"),
            1
        );
        assert_eq!(group["tasks"][0]["task"]["id"], toolkit);
        assert_eq!(group["tasks"][0]["inputs"]["awsCredentials"], "e0-old");
    }

    #[test]
    fn preview_apis_are_called_as_previews() {
        assert_eq!(
            api_version("https://x/o/p/_apis/pipelines/pipelinePermissions/endpoint/1"),
            "7.1-preview.1"
        );
        assert_eq!(
            api_version("https://x/o/p/_apis/distributedtask/taskgroups/g"),
            "7.1-preview.1"
        );
        assert_eq!(
            api_version("https://x/o/_apis/serviceendpoint/endpoints"),
            "7.1"
        );
    }

    #[test]
    fn release_urls() {
        assert_eq!(
            default_release_url("https://dev.azure.com/contoso"),
            "https://vsrm.dev.azure.com/contoso"
        );
        assert_eq!(
            default_release_url("https://contoso.visualstudio.com"),
            "https://contoso.vsrm.visualstudio.com"
        );
        assert_eq!(
            default_release_url("https://tfs.corp/DefaultCollection"),
            "https://tfs.corp/DefaultCollection"
        );
    }
}
