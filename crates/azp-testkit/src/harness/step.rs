//! The step being built: the task, its inputs, variables, secret variables
//! and service connections, and the environment the agent's Node handler
//! builds from them (agent `Handler.cs`, `TaskRunner.cs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_clients::names;

use crate::oidc_server::OidcServer;

use super::endpoint::Endpoint;
use super::host::{agent_arch, agent_os, host_environment, host_path, normalize};

/// A pipeline step about to run one task.
#[derive(Debug)]
pub struct Agent {
    task_dir: PathBuf,
    task_json: serde_json::Value,
    inputs: BTreeMap<String, String>,
    variables: Vec<(String, String)>,
    pub(super) secret_variables: Vec<(String, String)>,
    pub(super) endpoints: BTreeMap<String, Endpoint>,
    env: Vec<(String, String)>,
    removed: Vec<String>,
    oidc: Option<(String, String, String)>,
    long_form: bool,
    pub(super) debug: bool,
    pub(super) timeout: Duration,
    pub(super) cancel_when: Option<String>,
    pub(super) access_token: String,
    work: tempfile::TempDir,
}

impl Agent {
    /// A step for the task whose `task.json` is in `task_dir`.
    ///
    /// # Panics
    /// When `task.json` cannot be read or parsed.
    #[must_use]
    pub fn new(task_dir: impl AsRef<Path>) -> Self {
        let task_dir = task_dir.as_ref().to_path_buf();
        let path = task_dir.join("task.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let task_json =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
        let work = tempfile::Builder::new()
            .prefix("azp-agent-")
            .tempdir()
            .expect("temp dir");
        for d in ["s", "a", "b", "_temp", "_tool"] {
            std::fs::create_dir_all(work.path().join(d)).expect("work folders");
        }
        Self {
            task_dir,
            task_json,
            inputs: BTreeMap::new(),
            variables: Vec::new(),
            secret_variables: Vec::new(),
            endpoints: BTreeMap::new(),
            env: Vec::new(),
            removed: Vec::new(),
            oidc: None,
            long_form: false,
            debug: false,
            timeout: Duration::from_secs(120),
            cancel_when: None,
            access_token: format!("job-access-token-{:016x}", fastrand::u64(..)),
            work,
        }
    }

    /// The task folder.
    #[must_use]
    pub fn task_dir(&self) -> &Path {
        &self.task_dir
    }

    /// The sources directory (`Build.SourcesDirectory`, the default working directory).
    #[must_use]
    pub fn sources_dir(&self) -> PathBuf {
        self.work.path().join("s")
    }

    /// `Agent.TempDirectory`.
    #[must_use]
    pub fn temp_dir(&self) -> PathBuf {
        self.work.path().join("_temp")
    }

    /// The job access token this step gets.
    #[must_use]
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// Set an input as the step's YAML would.
    #[must_use]
    pub fn input(mut self, name: &str, value: &str) -> Self {
        self.inputs.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Set a public variable.
    #[must_use]
    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.variables.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Set a secret variable.
    #[must_use]
    pub fn secret_variable(mut self, name: &str, value: &str) -> Self {
        self.secret_variables
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Select a service connection in input `input`.
    #[must_use]
    pub fn service_connection(mut self, input: &str, id: &str, endpoint: Endpoint) -> Self {
        self.inputs.insert(input.to_owned(), id.to_owned());
        self.endpoints.insert(id.to_lowercase(), endpoint);
        self
    }

    /// Set a raw environment variable (the step's `env:` mapping, or the
    /// agent host's environment).
    #[must_use]
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Put `dir` first on the task's `PATH`.
    #[must_use]
    pub fn prepend_path(self, dir: &Path) -> Self {
        let current = host_path();
        let sep = if cfg!(windows) { ';' } else { ':' };
        self.env("PATH", &format!("{}{sep}{current}", dir.display()))
    }

    /// Put the test tools (`aws` from `scripts/install-test-deps`) on `PATH`,
    /// as a hosted agent has the AWS CLI installed.
    #[must_use]
    pub fn with_test_tools(self) -> Self {
        let bin = crate::moto::venv_bin("aws");
        let dir = bin.parent().map(Path::to_path_buf).unwrap_or_default();
        self.prepend_path(&dir)
    }

    /// Remove a variable the harness would otherwise set.
    #[must_use]
    pub fn without_env(mut self, name: &str) -> Self {
        self.removed.push(name.to_owned());
        self
    }

    /// Point the job at an OIDC endpoint emulation; the job access token
    /// becomes the one the emulation accepts.
    #[must_use]
    pub fn oidc(mut self, server: &OidcServer) -> Self {
        let plan = "5c1b0a2e-1111-4222-8333-944455566677";
        let job = "12f1170f-54f2-53f3-20dd-22fc7dff55f9";
        self.access_token = server.config().access_token;
        self.oidc = Some((
            server.oidc_request_uri("build", plan, job),
            server.collection_uri(),
            server.config().project_id,
        ));
        self
    }

    /// Leave `System.OidcRequestUri` out, as agents before 3.225 do, so the
    /// task must build the long form.
    #[must_use]
    pub fn without_oidc_request_uri(mut self) -> Self {
        self.long_form = true;
        self
    }

    /// Set `system.debug`.
    #[must_use]
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// Cancel the step (SIGINT to the task's process, as the agent does)
    /// once its stdout contains `marker`.
    #[must_use]
    pub fn cancel_when(mut self, marker: &str) -> Self {
        self.cancel_when = Some(marker.to_owned());
        self
    }

    /// Kill the task after this long (default 120 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn declared_inputs(&self) -> Vec<serde_json::Value> {
        self.task_json
            .get("inputs")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    }

    /// The environment the agent would give the task.
    #[must_use]
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in host_environment() {
            env.insert(k, v);
        }
        let work = self.work.path();
        let s = work.join("s").display().to_string();
        let collection = self.oidc.as_ref().map_or_else(
            || "https://dev.azure.com/contoso/".to_owned(),
            |o| o.1.clone(),
        );
        let project_id = self.oidc.as_ref().map_or_else(
            || "8c1e5f0a-2b3c-4d5e-8f90-a1b2c3d4e5f6".to_owned(),
            |o| o.2.clone(),
        );
        let mut public: Vec<(String, String)> = vec![
            ("System.CollectionUri".into(), collection.clone()),
            (
                "System.TeamFoundationCollectionUri".into(),
                collection.clone(),
            ),
            ("System.TeamFoundationServerUri".into(), collection.clone()),
            ("System.TeamProject".into(), "Web Shop".into()),
            ("System.TeamProjectId".into(), project_id),
            ("System.HostType".into(), "build".into()),
            (
                "System.PlanId".into(),
                "5c1b0a2e-1111-4222-8333-944455566677".into(),
            ),
            (
                "System.JobId".into(),
                "12f1170f-54f2-53f3-20dd-22fc7dff55f9".into(),
            ),
            ("System.JobName".into(), "Deploy".into()),
            ("System.DefinitionId".into(), "42".into()),
            ("System.DefaultWorkingDirectory".into(), s.clone()),
            (
                "System.ArtifactsDirectory".into(),
                work.join("a").display().to_string(),
            ),
            (
                "System.Debug".into(),
                if self.debug { "true" } else { "false" }.into(),
            ),
            ("Agent.Name".into(), "Hosted Agent".into()),
            ("Agent.Version".into(), "4.266.2".into()),
            ("Agent.OS".into(), agent_os().into()),
            ("Agent.OSArchitecture".into(), agent_arch().into()),
            ("Agent.JobName".into(), "Deploy".into()),
            ("Agent.JobStatus".into(), "Succeeded".into()),
            ("Agent.WorkFolder".into(), work.display().to_string()),
            ("Agent.BuildDirectory".into(), work.display().to_string()),
            (
                "Agent.TempDirectory".into(),
                work.join("_temp").display().to_string(),
            ),
            (
                "Agent.ToolsDirectory".into(),
                work.join("_tool").display().to_string(),
            ),
            ("Build.BuildId".into(), "1234".into()),
            ("Build.BuildNumber".into(), "20261125.1".into()),
            ("Build.DefinitionName".into(), "deploy-web".into()),
            ("Build.Repository.Name".into(), "web-shop".into()),
            ("Build.SourceBranch".into(), "refs/heads/main".into()),
            (
                "Build.SourceVersion".into(),
                "4f6c1d2e3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9".into(),
            ),
            ("Build.SourcesDirectory".into(), s.clone()),
            (
                "Build.ArtifactStagingDirectory".into(),
                work.join("a").display().to_string(),
            ),
            (
                "Build.BinariesDirectory".into(),
                work.join("b").display().to_string(),
            ),
        ];
        if let Some((short, _, _)) = self.oidc.as_ref().filter(|_| !self.long_form) {
            public.push(("System.OidcRequestUri".into(), short.clone()));
        }
        public.extend(self.variables.iter().cloned());
        let mut public_names = Vec::new();
        for (name, value) in &public {
            env.insert(normalize(name), value.clone());
            public_names.push(name.clone());
        }
        env.insert("agent.jobstatus".into(), "Succeeded".into());
        env.insert(
            "VSTS_PUBLIC_VARIABLES".into(),
            serde_json::to_string(&public_names).unwrap_or_default(),
        );
        let mut secret_names = Vec::new();
        for (name, value) in &self.secret_variables {
            env.insert(format!("SECRET_{}", normalize(name)), value.clone());
            secret_names.push(name.clone());
        }
        env.insert(
            "VSTS_SECRET_VARIABLES".into(),
            serde_json::to_string(&secret_names).unwrap_or_default(),
        );

        // Inputs: every declared one, default first, then the step's value.
        let mut referenced_endpoints = Vec::new();
        for input in self.declared_inputs() {
            let Some(name) = input.get("name").and_then(|v| v.as_str()) else {
                continue;
            };
            let kind = input
                .get("type")
                .and_then(|v| v.as_str())
                .unwrap_or("string");
            let default = match input.get("defaultValue") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Bool(b)) => b.to_string(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let given = self
                .inputs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
            let mut value = given.unwrap_or(default).trim().to_owned();
            if kind == "filePath" {
                value = if value.is_empty() {
                    s.clone()
                } else if is_rooted(&value) {
                    value
                } else {
                    Path::new(&s).join(&value).display().to_string()
                };
            }
            if kind.starts_with("connectedService:") {
                referenced_endpoints.extend(
                    value
                        .split(',')
                        .map(|v| v.trim().to_lowercase())
                        .filter(|v| !v.is_empty()),
                );
            }
            env.insert(format!("INPUT_{}", normalize(name)), value);
        }
        // Inputs set for names the task does not declare still reach it.
        for (k, v) in &self.inputs {
            env.entry(format!("INPUT_{}", normalize(k)))
                .or_insert_with(|| v.trim().to_owned());
        }

        for id in referenced_endpoints {
            let Some(ep) = self.endpoints.get(&id) else {
                continue;
            };
            env.insert(format!("ENDPOINT_URL_{id}"), ep.url.clone());
            env.insert(
                format!("ENDPOINT_AUTH_{id}"),
                serde_json::json!({ "parameters": ep.parameters, "scheme": ep.scheme }).to_string(),
            );
            env.insert(format!("ENDPOINT_AUTH_SCHEME_{id}"), ep.scheme.clone());
            for (k, v) in &ep.parameters {
                env.insert(
                    format!("ENDPOINT_AUTH_PARAMETER_{id}_{}", normalize(k)),
                    v.clone(),
                );
            }
            for (k, v) in &ep.data {
                env.insert(format!("ENDPOINT_DATA_{id}_{}", normalize(k)), v.clone());
            }
        }
        env.insert(
            "ENDPOINT_URL_SYSTEMVSSCONNECTION".into(),
            collection.clone(),
        );
        env.insert(
            "ENDPOINT_AUTH_SYSTEMVSSCONNECTION".into(),
            serde_json::json!({ "parameters": { "AccessToken": self.access_token }, "scheme": "OAuth" }).to_string(),
        );
        env.insert(
            "ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION".into(),
            "OAuth".into(),
        );
        env.insert(
            "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN".into(),
            self.access_token.clone(),
        );
        env.insert("TF_BUILD".into(), "True".into());
        // Test agents are not EC2 instances: keep the AWS SDK and CLI from
        // probing the instance metadata address (tests that want IMDS point
        // AWS_EC2_METADATA_SERVICE_ENDPOINT at a loopback fake and clear this).
        env.insert(names::AWS_EC2_METADATA_DISABLED.into(), "true".into());
        for (k, v) in &self.env {
            env.insert(k.clone(), v.clone());
        }
        for k in &self.removed {
            env.remove(k);
        }
        env.into_iter().collect()
    }
}

/// Whether the agent takes a `filePath` value as rooted: absolute on this
/// machine, or a Windows path with a drive or a UNC share (which a Windows
/// agent roots; the Windows tier runs tasks under Wine on Linux).
fn is_rooted(value: &str) -> bool {
    let b = value.as_bytes();
    Path::new(value).is_absolute()
        || value.starts_with("\\\\")
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}
