//! An agent harness: runs a task binary the way the Azure Pipelines agent does.
//!
//! [`Agent`] reads a task's `task.json`, takes the step's inputs, variables,
//! secret variables and service connections, and builds the environment the
//! agent's Node handler builds: `INPUT_*` for every declared input (default
//! first, then the step's value, trimmed; `filePath` inputs rooted, empty
//! ones set to the sources directory), public variables normalised plus
//! `VSTS_PUBLIC_VARIABLES`, `SECRET_*` plus `VSTS_SECRET_VARIABLES`,
//! `ENDPOINT_*` for every connection an input references and always for
//! `SystemVssConnection`, and the `SYSTEM_*`, `AGENT_*` and `BUILD_*` job
//! variables. It runs the task, parses its output into logging commands by
//! the agent's rules, masks secrets as the agent does, and decides the step
//! result as the agent does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_clients::names;

use crate::commands::{Command, Parsed, parse_line};
use crate::oidc_server::OidcServer;

/// A service connection as the agent exports it.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// `ENDPOINT_URL_<ID>`.
    pub url: String,
    /// Runtime auth scheme.
    pub scheme: String,
    /// Auth parameters.
    pub parameters: BTreeMap<String, String>,
    /// Parameters the endpoint type marks confidential (true secrets).
    pub confidential: Vec<String>,
    /// Endpoint data.
    pub data: BTreeMap<String, String>,
}

impl Endpoint {
    /// An `AWS` service connection as the toolkit's endpoint type defines it
    /// (basic scheme; `password` and `sessionToken` confidential).
    #[must_use]
    pub fn aws() -> Self {
        Self {
            url: "https://aws.amazon.com/".into(),
            scheme: "UsernamePassword".into(),
            confidential: vec!["password".into(), "sessionToken".into()],
            ..Self::default()
        }
    }

    /// Set an auth parameter.
    #[must_use]
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }

    /// Set an endpoint data entry.
    #[must_use]
    pub fn data(mut self, key: &str, value: &str) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}

/// The step result, as the agent orders results when merging them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepResult {
    /// Succeeded.
    Succeeded,
    /// SucceededWithIssues.
    SucceededWithIssues,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
    /// Skipped.
    Skipped,
}

impl std::fmt::Display for StepResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Succeeded => "Succeeded",
            Self::SucceededWithIssues => "SucceededWithIssues",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Skipped => "Skipped",
        })
    }
}

impl StepResult {
    fn parse(s: &str) -> Option<Self> {
        // The agent parses case-sensitively.
        Some(match s {
            "Succeeded" => Self::Succeeded,
            "SucceededWithIssues" => Self::SucceededWithIssues,
            "Failed" => Self::Failed,
            "Canceled" => Self::Canceled,
            "Skipped" => Self::Skipped,
            _ => return None,
        })
    }
}

/// A `task.setvariable` the task wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVariable {
    /// The value.
    pub value: String,
    /// `issecret`.
    pub secret: bool,
    /// `isoutput`.
    pub output: bool,
    /// `isreadonly`.
    pub readonly: bool,
}

/// A timeline issue the task logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIssue {
    /// `error` or `warning`.
    pub kind: String,
    /// The message.
    pub message: String,
    /// All properties.
    pub properties: BTreeMap<String, String>,
}

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct TaskRun {
    /// Raw standard output.
    pub stdout: String,
    /// Raw standard error.
    pub stderr: String,
    /// Exit code; `None` when killed by a signal or the timeout.
    pub exit_code: Option<i32>,
    /// The harness killed the task at its timeout.
    pub timed_out: bool,
    /// Every command, in order (stdout first, then stderr).
    pub commands: Vec<Command>,
    /// The log as a pipeline page shows it: commands consumed, issues shown
    /// as `##[error]`/`##[warning]`, secrets masked.
    pub log: Vec<String>,
    /// The step result the agent would record.
    pub result: StepResult,
    /// How many `task.complete` commands the task wrote.
    pub completions: usize,
    /// Variables set, by name.
    pub variables: BTreeMap<String, SetVariable>,
    /// Issues logged.
    pub issues: Vec<LoggedIssue>,
    /// Every value masked in this run: the agent's own plus `task.setsecret`.
    pub masked: Vec<String>,
    /// True secrets of the run (for the leak check): secret variables,
    /// confidential endpoint parameters, the job token, and every value the
    /// task registered.
    pub secrets: Vec<String>,
    /// Lines with a malformed `##vso[` command.
    pub malformed: Vec<String>,
}

impl TaskRun {
    /// The masked log as one text.
    #[must_use]
    pub fn log_text(&self) -> String {
        self.log.join("\n")
    }

    /// Error issue messages.
    #[must_use]
    pub fn errors(&self) -> Vec<&str> {
        self.issues
            .iter()
            .filter(|i| i.kind == "error")
            .map(|i| i.message.as_str())
            .collect()
    }

    /// Warning issue messages.
    #[must_use]
    pub fn warnings(&self) -> Vec<&str> {
        self.issues
            .iter()
            .filter(|i| i.kind == "warning")
            .map(|i| i.message.as_str())
            .collect()
    }

    /// Places where a secret appears in plain text in the raw output. See
    /// [`crate::leak::find_leaks`].
    #[must_use]
    pub fn leaks(&self, extra: &[&str]) -> Vec<String> {
        let mut secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        secrets.extend_from_slice(extra);
        let mut found = crate::leak::find_leaks("stdout", &self.stdout, &secrets);
        found.extend(crate::leak::find_leaks("stderr", &self.stderr, &secrets));
        found
    }

    /// Panic when [`TaskRun::leaks`] finds anything.
    ///
    /// # Panics
    /// On a leak, naming where (never the secret itself).
    pub fn assert_no_leaks(&self, extra: &[&str]) {
        let leaks = self.leaks(extra);
        assert!(
            leaks.is_empty(),
            "secrets leaked in plain text:\n{}",
            leaks.join("\n")
        );
    }

    /// Log lines (issues included) that show a Rust debug rendering, such
    /// as the AWS SDK's `Error { code: Some(..), .. }`, instead of a message
    /// a pipeline author can read.
    #[must_use]
    pub fn debug_renderings(&self) -> Vec<String> {
        const MARKERS: &[&str] = &[
            "Error { ",
            "ErrorMetadata",
            "{ code: ",
            "Some(\"",
            "DispatchFailure(",
            "ServiceError(",
            "TimeoutError(",
            "ConstructionFailure(",
            "ResponseError(",
        ];
        self.log
            .iter()
            .chain(self.issues.iter().map(|i| &i.message))
            .filter(|l| MARKERS.iter().any(|m| l.contains(m)))
            .cloned()
            .collect()
    }

    /// Panic when [`TaskRun::debug_renderings`] finds anything.
    ///
    /// # Panics
    /// On a debug rendering, showing the lines.
    pub fn assert_no_debug_renderings(&self) {
        let found = self.debug_renderings();
        assert!(
            found.is_empty(),
            "debug renderings in the log:\n{}",
            found.join("\n")
        );
    }

    /// Panic when any secret of the run is visible in the log as the agent
    /// shows it. For tests whose child process prints secrets on purpose
    /// (the raw output then holds them, and only the agent's masking,
    /// which the task fed by registering them first, keeps them out of the log).
    ///
    /// # Panics
    /// When a secret is visible.
    pub fn assert_log_masked(&self) {
        let log = self.log_text();
        for (i, s) in self.secrets.iter().enumerate() {
            assert!(
                !log.contains(s.as_str()),
                "secret #{i} is visible in the masked log"
            );
        }
    }

    /// Check that each of `secrets` was registered with `task.setsecret`
    /// before the first stdout line that is not a `task.setsecret`.
    ///
    /// # Errors
    /// A description of the first secret registered late or not at all.
    pub fn secrets_registered_first(&self, secrets: &[&str]) -> Result<(), String> {
        let mut registered = Vec::new();
        for line in self.stdout.lines() {
            match parse_line(line) {
                Some(Parsed::Command(c)) if c.name() == "task.setsecret" => registered.push(c.data),
                _ => break,
            }
        }
        for (i, s) in secrets.iter().enumerate() {
            if !registered.iter().any(|r| r == s) {
                return Err(format!(
                    "secret #{i} was not registered before the first other output line"
                ));
            }
        }
        Ok(())
    }
}

/// A pipeline step about to run one task.
#[derive(Debug)]
pub struct Agent {
    task_dir: PathBuf,
    task_json: serde_json::Value,
    inputs: BTreeMap<String, String>,
    variables: Vec<(String, String)>,
    secret_variables: Vec<(String, String)>,
    endpoints: BTreeMap<String, Endpoint>,
    env: Vec<(String, String)>,
    removed: Vec<String>,
    oidc: Option<(String, String, String)>,
    long_form: bool,
    debug: bool,
    timeout: Duration,
    cancel_when: Option<String>,
    access_token: String,
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
                } else if Path::new(&value).is_absolute() {
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

    /// Values the agent masks before the task prints anything, and the
    /// subset that are true secrets.
    fn agent_secrets(&self) -> (Vec<String>, Vec<String>) {
        let mut masked = vec![self.access_token.clone()];
        let mut secrets = vec![self.access_token.clone()];
        for (_, v) in &self.secret_variables {
            masked.push(v.clone());
            secrets.push(v.clone());
        }
        for ep in self.endpoints.values() {
            for (k, v) in &ep.parameters {
                let lower = k.to_lowercase();
                let excluded = [
                    "idtoken",
                    "role",
                    "scope",
                    "tenantid",
                    "issuedat",
                    "expiresat",
                    "audience",
                    "authenticationtype",
                    "authorizationtype",
                ];
                // Deviation: boolean values are not masked here, so the log
                // stays readable; the agent would mask even "true".
                if !excluded.contains(&lower.as_str())
                    && !v.trim().is_empty()
                    && v != "true"
                    && v != "false"
                {
                    masked.push(v.clone());
                }
                if ep.confidential.iter().any(|c| c.eq_ignore_ascii_case(k)) && !v.trim().is_empty()
                {
                    secrets.push(v.clone());
                }
            }
        }
        (masked, secrets)
    }

    /// Run `program` as the task's process (the binary itself).
    #[must_use]
    pub fn run(&self, program: impl AsRef<Path>) -> TaskRun {
        self.run_process(program.as_ref(), &[])
    }

    /// Run `program args...` with the task's environment, e.g. `node launcher.js`.
    ///
    /// # Panics
    /// When the process cannot be started.
    #[must_use]
    #[allow(clippy::disallowed_methods)] // the harness is the agent: it times real processes
    pub fn run_process(&self, program: &Path, args: &[&str]) -> TaskRun {
        let mut child = Process::new(program)
            .args(args)
            .env_clear()
            .envs(self.environment())
            .current_dir(self.sources_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let out_buf = Arc::new(Mutex::new(Vec::new()));
        let err_buf = Arc::new(Mutex::new(Vec::new()));
        let t_out = pump(child.stdout.take().expect("stdout"), out_buf.clone());
        let t_err = pump(child.stderr.take().expect("stderr"), err_buf.clone());
        let start = Instant::now();
        let mut timed_out = false;
        let mut cancelled = false;
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Some(status);
            }
            if let Some(marker) = self.cancel_when.as_deref().filter(|_| !cancelled) {
                let seen = String::from_utf8_lossy(
                    &out_buf
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                )
                .contains(marker);
                if seen {
                    // The agent cancels a Node task with SIGINT to its process.
                    let _ = Process::new("kill")
                        .args(["-INT", &child.id().to_string()])
                        .status();
                    cancelled = true;
                }
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                timed_out = true;
                break child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = t_out.join();
        let _ = t_err.join();
        let t_out = || {
            std::mem::take(
                &mut *out_buf
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        };
        let t_err = || {
            std::mem::take(
                &mut *err_buf
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        };
        let stdout = String::from_utf8_lossy(&t_out()).into_owned();
        let stderr = String::from_utf8_lossy(&t_err()).into_owned();
        let exit_code = status.and_then(|s| s.code());
        let (masked, secrets) = self.agent_secrets();
        interpret(
            stdout, stderr, exit_code, timed_out, masked, secrets, self.debug,
        )
    }
}

/// Copy a pipe into a shared buffer as data arrives, so the harness can react
/// to output while the task runs.
fn pump(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(&buf[..n]),
            }
        }
    })
}

fn interpret(
    stdout: String,
    stderr: String,
    exit_code: Option<i32>,
    timed_out: bool,
    mut masked: Vec<String>,
    mut secrets: Vec<String>,
    debug: bool,
) -> TaskRun {
    let mut commands = Vec::new();
    let mut log = Vec::new();
    let mut result: Option<StepResult> = None;
    let mut completions = 0;
    let mut variables = BTreeMap::new();
    let mut issues = Vec::new();
    let mut malformed = Vec::new();
    // The Node handler parses both streams for commands.
    for line in stdout.lines().chain(stderr.lines()) {
        match parse_line(line) {
            None => log.push(mask(line, &masked)),
            Some(Parsed::Malformed) => {
                malformed.push(mask(line, &masked));
                log.push(mask(line, &masked));
            }
            Some(Parsed::Command(c)) => {
                match c.name().as_str() {
                    "task.setsecret" if !c.data.trim().is_empty() => {
                        masked.push(c.data.clone());
                        secrets.push(c.data.clone());
                    }
                    "task.setvariable" => {
                        let name = c.property("variable").unwrap_or_default().to_owned();
                        let v = SetVariable {
                            value: c.data.clone(),
                            secret: c.flag("issecret"),
                            output: c.flag("isoutput"),
                            readonly: c.flag("isreadonly"),
                        };
                        if v.secret && !v.value.trim().is_empty() {
                            masked.push(v.value.clone());
                            secrets.push(v.value.clone());
                        }
                        variables.insert(name, v);
                    }
                    "task.logissue" | "task.issue" => {
                        let kind = c.property("type").unwrap_or("error").to_ascii_lowercase();
                        log.push(format!("##[{kind}]{}", mask(&c.data, &masked)));
                        issues.push(LoggedIssue {
                            kind,
                            message: mask(&c.data, &masked),
                            properties: c.properties.clone(),
                        });
                    }
                    "task.complete" => {
                        completions += 1;
                        match c.property("result").and_then(StepResult::parse) {
                            Some(r) => result = Some(result.map_or(r, |old| old.max(r))),
                            None => log.push("##[error]InvalidCommandResult".into()),
                        }
                    }
                    "task.debug" if debug => {
                        log.push(format!("##[debug]{}", mask(&c.data, &masked)));
                    }
                    _ => {}
                }
                commands.push(c);
            }
        }
    }
    // Node handler: a non-zero exit fails the step by assignment.
    let result = if exit_code == Some(0) {
        result.unwrap_or(StepResult::Succeeded)
    } else {
        StepResult::Failed
    };
    secrets.retain(|s| s.trim().len() >= 3);
    TaskRun {
        stdout,
        stderr,
        exit_code,
        timed_out,
        commands,
        log,
        result,
        completions,
        variables,
        issues,
        masked,
        secrets,
        malformed,
    }
}

fn mask(line: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = line.to_owned();
    for s in sorted {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// The agent's name normalisation, written independently of `azp-task`.
fn normalize(name: &str) -> String {
    name.replace(['.', ' '], "_").to_uppercase()
}

/// What the agent's own process environment contributes (PATH, HOME, ...).
#[allow(clippy::disallowed_methods)] // the harness is the agent: it reads its host
fn host_environment() -> Vec<(String, String)> {
    const KEEP: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "LANG",
        "LC_ALL",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "SystemRoot",
        "COMSPEC",
        "PATHEXT",
        "WINDIR",
    ];
    KEEP.iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect()
}

/// The host's `PATH`.
pub(crate) fn host_path() -> String {
    host_environment()
        .into_iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn agent_os() -> &'static str {
    if cfg!(windows) {
        "Windows_NT"
    } else if cfg!(target_os = "macos") {
        "Darwin"
    } else {
        "Linux"
    }
}

fn agent_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "ARM64"
    } else {
        "X64"
    }
}
