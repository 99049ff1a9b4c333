//! A task's output read back by the agent's rules: logging commands
//! parsed, secrets masked, the step result decided as the agent decides it,
//! and the assertions tests make on a run.

use std::collections::BTreeMap;

use crate::commands::{Command, Parsed, parse_line};

use super::masking::mask;

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

    /// Check the step result the agent would record, that the task reported
    /// exactly one `task.complete`, and that no error is a debug rendering.
    /// A failure shows the whole log and stderr.
    ///
    /// # Panics
    /// When any of these does not hold.
    #[track_caller]
    pub fn expect(&self, result: StepResult) -> &Self {
        assert!(
            self.result == result,
            "the step ended {}, not {result}\n--- log ---\n{}\n--- stderr ---\n{}",
            self.result,
            self.log_text(),
            self.stderr
        );
        assert_eq!(
            self.completions,
            1,
            "task.complete must be written once\n{}",
            self.log_text()
        );
        self.assert_no_debug_renderings();
        self
    }

    /// [`TaskRun::expect`] `Failed` with exactly one error issue, whose
    /// message is returned.
    ///
    /// # Panics
    /// When the run did not fail that way.
    #[track_caller]
    #[must_use]
    pub fn expect_error(&self) -> String {
        self.expect(StepResult::Failed);
        let errors = self.errors();
        assert_eq!(
            errors.len(),
            1,
            "one error issue, not {}:\n{}",
            errors.len(),
            self.log_text()
        );
        errors[0].to_owned()
    }

    /// The log as a pipeline page shows it (secrets already masked), with
    /// what changes from run to run replaced: loopback ports, the step's
    /// work folder, times, retry delays, request ids and the unique ids of
    /// IAM principals. For snapshot assertions.
    #[must_use]
    pub fn snapshot(&self) -> String {
        snapshot_filters(&self.log_text())
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

/// Replace what differs between runs with placeholders.
fn snapshot_filters(text: &str) -> String {
    const FILTERS: &[(&str, &str)] = &[
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"/[^\s'\x22]*/azp-agent-[A-Za-z0-9]+", "[work]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[time]"),
        (r"retrying in \d+\.\d s", "retrying in [delay] s"),
        (r"request id [0-9a-fA-F-]{8,}", "request id [id]"),
        // Unique ids AWS (and moto) give roles and users.
        (r"\b(AROA|AIDA|AKIA|ASIA)[A-Z0-9]{12,}", "$1[id]"),
    ];
    let mut out = text.to_owned();
    for (pattern, replacement) in FILTERS {
        let re = regex_lite::Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        out = re.replace_all(&out, *replacement).into_owned();
    }
    out
}

/// How the run ended, as the harness saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ending {
    /// The exit code; `None` when killed.
    pub exit_code: Option<i32>,
    /// Killed at the timeout.
    pub timed_out: bool,
    /// The harness cancelled the step (SIGINT).
    pub cancelled: bool,
}

pub(super) fn interpret(
    stdout: String,
    stderr: String,
    ending: Ending,
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
    let Ending {
        exit_code,
        timed_out,
        cancelled,
    } = ending;
    // The agent records a cancelled step as Canceled whatever the task
    // said; a timeout fails it. Otherwise, for a Node handler, a non-zero
    // exit fails the step by assignment.
    let result = if cancelled && !timed_out {
        StepResult::Canceled
    } else if exit_code == Some(0) {
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
