//! The logging-command writer: the only way output leaves a task.
//!
//! The agent reads a task's stdout line by line and turns `##vso[...]`
//! lines into commands (`task.setsecret`, `task.complete`, ...) and `##[...]`
//! lines into formatting. [`Logger`] writes both with the agent's escaping,
//! remembers every registered secret and masks it in everything written
//! afterwards (defence in depth: the agent masks too, but only what it has
//! been told), and makes sure `task.complete` is written exactly once.
//!
//! Escaping follows the agent's decoder (`CommandStringConvertor`): in
//! property values `%`, CR, LF, `]` and `;` are escaped; in the data `%`,
//! CR and LF. `%` goes first so that a literal `%0A` in a message cannot turn
//! into a line break.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

/// What a masked secret is replaced with, as the agent does.
pub const MASK: &str = "***";

/// Escape a logging-command property value: `%`, CR, LF, `]` and `;`.
#[must_use]
pub fn escape_property(value: &str) -> String {
    escape(value, true)
}

/// Escape a logging-command's data (the part after `]`): `%`, CR and LF.
#[must_use]
pub fn escape_data(value: &str) -> String {
    escape(value, false)
}

/// task-lib `taskcommand.ts` escaping; `%` first, so that a literal `%0A`
/// cannot turn into a line break when the agent decodes it.
fn escape(value: &str, property: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%AZP25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ']' if property => out.push_str("%5D"),
            ';' if property => out.push_str("%3B"),
            c => out.push(c),
        }
    }
    out
}

/// A step result, spelled as the agent parses it (case-sensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskResult {
    /// The task did its job.
    Succeeded,
    /// The task did its job but raised warnings or errors on the way.
    SucceededWithIssues,
    /// The task failed.
    Failed,
    /// The task was cancelled. The agent spells it with one `l`.
    Canceled,
    /// The task skipped its work.
    Skipped,
}

impl TaskResult {
    /// The spelling the agent accepts.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::SucceededWithIssues => "SucceededWithIssues",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Skipped => "Skipped",
        }
    }
}

/// The kind of a `task.logissue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// Shown red on the summary page; does not by itself fail the step.
    Error,
    /// Shown yellow; a task that raised one ends `SucceededWithIssues`.
    Warning,
}

/// A timeline issue: a message plus where it points, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub kind: IssueKind,
    /// What happened and what to do about it.
    pub message: String,
    /// A file the issue is about.
    pub source_path: Option<String>,
    /// Line in `source_path`, 1-based.
    pub line: Option<u32>,
    /// Column in `source_path`, 1-based.
    pub column: Option<u32>,
    /// A short machine-readable code.
    pub code: Option<String>,
}

impl Issue {
    /// An error issue with only a message.
    #[must_use]
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(IssueKind::Error, message)
    }

    /// A warning issue with only a message.
    #[must_use]
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(IssueKind::Warning, message)
    }

    fn new(kind: IssueKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source_path: None,
            line: None,
            column: None,
            code: None,
        }
    }

    /// Point the issue at a file and, optionally, a line.
    #[must_use]
    pub fn at(mut self, path: impl Into<String>, line: Option<u32>) -> Self {
        self.source_path = Some(path.into());
        self.line = line;
        self
    }
}

/// Options of `task.setvariable`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VariableOptions {
    /// Mask the value and pass it to later steps only as a secret.
    pub secret: bool,
    /// Make it an output variable (`<step>.<name>`).
    pub output: bool,
    /// Later steps may not overwrite it.
    pub readonly: bool,
}

/// Counts of what a run has reported so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssueCounts {
    /// Error issues logged.
    pub errors: u32,
    /// Warning issues logged.
    pub warnings: u32,
}

struct Inner {
    out: Box<dyn Write + Send>,
    secrets: BTreeSet<String>,
    completed: Option<TaskResult>,
    counts: IssueCounts,
    debug: bool,
}

/// The logging-command writer. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger").finish_non_exhaustive()
    }
}

impl Logger {
    /// A writer on standard output, where the agent reads commands.
    #[must_use]
    pub fn stdout(debug: bool) -> Self {
        Self::new(Box::new(std::io::stdout()), debug)
    }

    /// A writer on any sink (tests use an in-memory buffer).
    #[must_use]
    pub fn new(out: Box<dyn Write + Send>, debug: bool) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                out,
                secrets: BTreeSet::new(),
                completed: None,
                counts: IssueCounts::default(),
                debug,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the writer usable: the state
        // is a set of strings and counters, never half-updated in a way that
        // matters for output.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `##[debug]` lines are written (`system.debug`).
    #[must_use]
    pub fn debug_enabled(&self) -> bool {
        self.lock().debug
    }

    /// Register a secret with the agent (`task.setsecret`) and mask it in
    /// everything this writer prints afterwards. Blank values are ignored;
    /// a multi-line value is registered line by line, because the agent
    /// refuses multi-line secrets but masks each line it is given.
    pub fn set_secret(&self, value: &str) {
        let mut inner = self.lock();
        for part in value.split(['\r', '\n']) {
            if part.trim().is_empty() || inner.secrets.contains(part) {
                continue;
            }
            let line = format!("##vso[task.setsecret]{}", escape_data(part));
            inner.secrets.insert(part.to_owned());
            write_line(&mut inner, &line);
        }
    }

    /// `task.setvariable`. A secret value is registered first.
    pub fn set_variable(&self, name: &str, value: &str, options: VariableOptions) {
        if options.secret {
            self.set_secret(value);
        }
        let mut props = vec![("variable", name.to_owned())];
        if options.secret {
            props.push(("issecret", "true".to_owned()));
        }
        if options.output {
            props.push(("isoutput", "true".to_owned()));
        }
        if options.readonly {
            props.push(("isreadonly", "true".to_owned()));
        }
        let mut inner = self.lock();
        // The value of a secret variable is the one place a secret is
        // written unmasked: the agent needs it and masks it in the log.
        let data = if options.secret {
            value.to_owned()
        } else {
            mask(&inner.secrets, value)
        };
        let line = command_line("task.setvariable", &props, &data);
        write_line(&mut inner, &line);
    }

    /// Set a variable the way existing pipelines read it and the way later
    /// jobs and stages can: the plain `task.setvariable` the AWS Toolkit
    /// writes (`$(name)` in later steps of the job), then an `isoutput=true`
    /// copy (`$(step.name)`, `dependencies.job.outputs['step.name']`). The
    /// names are not declared in task.json `outputVariables`, which would
    /// make the agent keep only the output form (agent-contract.md §9.4).
    pub fn set_variable_and_output(&self, name: &str, value: &str, secret: bool) {
        self.set_variable(
            name,
            value,
            VariableOptions {
                secret,
                ..VariableOptions::default()
            },
        );
        self.set_variable(
            name,
            value,
            VariableOptions {
                secret,
                output: true,
                readonly: false,
            },
        );
    }

    /// `task.logissue`: an error or warning on the timeline.
    pub fn issue(&self, issue: &Issue) {
        let mut inner = self.lock();
        match issue.kind {
            IssueKind::Error => inner.counts.errors += 1,
            IssueKind::Warning => inner.counts.warnings += 1,
        }
        let kind = match issue.kind {
            IssueKind::Error => "error",
            IssueKind::Warning => "warning",
        };
        let mut props = vec![("type", kind.to_owned())];
        if let Some(path) = &issue.source_path {
            props.push(("sourcepath", mask(&inner.secrets, path)));
        }
        if let Some(line) = issue.line {
            props.push(("linenumber", line.to_string()));
        }
        if let Some(column) = issue.column {
            props.push(("columnnumber", column.to_string()));
        }
        if let Some(code) = &issue.code {
            props.push(("code", code.clone()));
        }
        let line = command_line(
            "task.logissue",
            &props,
            &mask(&inner.secrets, &issue.message),
        );
        write_line(&mut inner, &line);
    }

    /// A warning issue with only a message.
    pub fn warning(&self, message: impl AsRef<str>) {
        self.issue(&Issue::warning(message.as_ref()));
    }

    /// An error issue with only a message. It does not fail the task.
    pub fn error(&self, message: impl AsRef<str>) {
        self.issue(&Issue::error(message.as_ref()));
    }

    /// `task.complete`. Only the first call writes anything; it returns
    /// whether this call was the one that did.
    pub fn complete(&self, result: TaskResult, message: &str) -> bool {
        let mut inner = self.lock();
        if inner.completed.is_some() {
            return false;
        }
        inner.completed = Some(result);
        let line = command_line(
            "task.complete",
            &[("result", result.as_str().to_owned())],
            &mask(&inner.secrets, message),
        );
        write_line(&mut inner, &line);
        true
    }

    /// The result written by [`Logger::complete`], if any.
    #[must_use]
    pub fn completed(&self) -> Option<TaskResult> {
        self.lock().completed
    }

    /// The issues logged so far.
    #[must_use]
    pub fn counts(&self) -> IssueCounts {
        self.lock().counts
    }

    /// `task.setprogress`: percent (clamped to 0–100) and current operation.
    pub fn progress(&self, percent: u32, operation: &str) {
        let mut inner = self.lock();
        let line = command_line(
            "task.setprogress",
            &[("value", percent.min(100).to_string())],
            &mask(&inner.secrets, operation),
        );
        write_line(&mut inner, &line);
    }

    /// `task.uploadsummary`: attach a Markdown file to the run summary.
    pub fn upload_summary(&self, markdown_path: &str) {
        self.simple_command("task.uploadsummary", markdown_path);
    }

    /// `task.prependpath`: put a directory first on PATH for later steps.
    pub fn prepend_path(&self, dir: &str) {
        self.simple_command("task.prependpath", dir);
    }

    fn simple_command(&self, name: &str, data: &str) {
        let mut inner = self.lock();
        let line = command_line(name, &[], &mask(&inner.secrets, data));
        write_line(&mut inner, &line);
    }

    /// `##[group]`: start a collapsible group in the log.
    pub fn group(&self, title: &str) {
        self.formatted("##[group]", title);
    }

    /// `##[endgroup]`.
    pub fn end_group(&self) {
        self.formatted("##[endgroup]", "");
    }

    /// `##[section]`: a highlighted line.
    pub fn section(&self, text: &str) {
        self.formatted("##[section]", text);
    }

    /// `##[command]`: shows a command line that is about to run.
    pub fn command(&self, text: &str) {
        self.formatted("##[command]", text);
    }

    /// `##[warning]`: a yellow log line. Unlike [`Logger::warning`] it adds
    /// no timeline issue.
    pub fn warning_line(&self, text: &str) {
        self.formatted("##[warning]", text);
    }

    /// `##[error]`: a red log line; adds no issue and does not fail the task.
    pub fn error_line(&self, text: &str) {
        self.formatted("##[error]", text);
    }

    /// `##[debug]`: written only when `system.debug` is true.
    pub fn debug(&self, text: &str) {
        if self.debug_enabled() {
            self.formatted("##[debug]", text);
        }
    }

    /// A plain log line (or several, when `text` has line breaks).
    pub fn info(&self, text: &str) {
        self.formatted("", text);
    }

    fn formatted(&self, prefix: &str, text: &str) {
        let mut inner = self.lock();
        let masked = mask(&inner.secrets, text);
        // Every physical line gets the prefix, so a multi-line debug message
        // stays hidden and a multi-line warning stays yellow.
        let mut lines: Vec<&str> = masked
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        if lines.is_empty() {
            lines.push("");
        }
        for l in lines {
            let line = format!("{prefix}{}", defuse(l));
            write_line(&mut inner, &line);
        }
    }
}

/// Text that is not meant as a command must not become one: the agent treats
/// `##vso[` anywhere in a line as a command, so break the marker up. The
/// zero-width space keeps the text readable.
fn defuse(line: &str) -> std::borrow::Cow<'_, str> {
    if line.to_ascii_lowercase().contains("##vso[") {
        let mut out = String::with_capacity(line.len() + 3);
        let mut rest = line;
        while let Some(pos) = rest.to_ascii_lowercase().find("##vso[") {
            out.push_str(&rest[..pos]);
            out.push_str("##\u{200b}");
            out.push_str(&rest[pos + 2..pos + 6]);
            rest = &rest[pos + 6..];
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

fn command_line(name: &str, props: &[(&str, String)], data: &str) -> String {
    let mut line = format!("##vso[{name}");
    let mut first = true;
    for (key, value) in props {
        if value.is_empty() {
            continue; // task-lib drops empty properties too
        }
        line.push(if first { ' ' } else { ';' });
        first = false;
        line.push_str(key);
        line.push('=');
        line.push_str(&escape_property(value));
    }
    if !first {
        line.push(';');
    }
    line.push(']');
    line.push_str(&escape_data(data));
    line
}

/// Secrets shorter than this are registered with the agent but not masked in
/// this writer's own output: masking every `a` of a one-letter secret would
/// garble every message, and such a value protects nothing.
const MIN_MASKED_LEN: usize = 3;

/// Replace every registered secret in `text` with [`MASK`]. Longer secrets
/// go first so that a secret containing a shorter one is masked whole.
fn mask(secrets: &BTreeSet<String>, text: &str) -> String {
    if secrets.is_empty() {
        return text.to_owned();
    }
    let mut ordered: Vec<&String> = secrets
        .iter()
        .filter(|s| s.chars().count() >= MIN_MASKED_LEN)
        .collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in ordered {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

fn write_line(inner: &mut Inner, line: &str) {
    // A closed stdout (the agent went away) leaves nobody to tell; ignore it.
    let _ = writeln!(inner.out, "{line}");
    let _ = inner.out.flush();
}

/// An in-memory sink for tests and for capturing output.
#[derive(Clone, Default, Debug)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far, as text.
    #[must_use]
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(debug: bool) -> (Logger, SharedBuffer) {
        let buf = SharedBuffer::default();
        (Logger::new(Box::new(buf.clone()), debug), buf)
    }

    #[test]
    fn escapes_percent_first() {
        // A literal "%0A" must survive decoding as text, not become a newline.
        assert_eq!(escape_data("100%0A"), "100%AZP250A");
        assert_eq!(escape_data("a%b\nc\rd"), "a%AZP25b%0Ac%0Dd");
        assert_eq!(escape_property("a;b]c%\n"), "a%3Bb%5Dc%AZP25%0A");
    }

    #[test]
    fn set_variable_writes_properties() {
        let (log, buf) = logger(false);
        log.set_variable(
            "out",
            "v;1",
            VariableOptions {
                output: true,
                readonly: true,
                ..Default::default()
            },
        );
        assert_eq!(
            buf.contents(),
            "##vso[task.setvariable variable=out;isoutput=true;isreadonly=true;]v;1\n"
        );
    }

    #[test]
    fn variables_are_set_plain_and_as_outputs() {
        let (log, buf) = logger(false);
        log.set_variable_and_output("stackId", "arn:aws:cloudformation:x", false);
        log.set_variable_and_output("dbPassword", "s3cr3t-value", true);
        assert_eq!(
            buf.contents(),
            "##vso[task.setvariable variable=stackId;]arn:aws:cloudformation:x\n\
             ##vso[task.setvariable variable=stackId;isoutput=true;]arn:aws:cloudformation:x\n\
             ##vso[task.setsecret]s3cr3t-value\n\
             ##vso[task.setvariable variable=dbPassword;issecret=true;]s3cr3t-value\n\
             ##vso[task.setvariable variable=dbPassword;issecret=true;isoutput=true;]s3cr3t-value\n"
        );
    }

    #[test]
    fn secret_variables_are_registered_first() {
        let (log, buf) = logger(false);
        log.set_variable(
            "tok",
            "s3cr3t-value",
            VariableOptions {
                secret: true,
                ..Default::default()
            },
        );
        assert_eq!(
            buf.contents(),
            "##vso[task.setsecret]s3cr3t-value\n##vso[task.setvariable variable=tok;issecret=true;]s3cr3t-value\n"
        );
    }

    #[test]
    fn registered_secrets_are_masked_everywhere() {
        let (log, buf) = logger(true);
        log.set_secret("hunter2");
        log.info("password is hunter2");
        log.warning("hunter2 again");
        log.debug("debug hunter2");
        log.complete(TaskResult::Failed, "failed with hunter2");
        let out = buf.contents();
        assert_eq!(out.matches("hunter2").count(), 1, "{out}");
        assert!(out.contains("password is ***"));
        assert!(out.contains("##vso[task.logissue type=warning;]*** again"));
        assert!(out.contains("##[debug]debug ***"));
        assert!(out.contains("##vso[task.complete result=Failed;]failed with ***"));
    }

    #[test]
    fn very_short_secrets_are_registered_but_do_not_garble_output() {
        let (log, buf) = logger(false);
        log.set_secret("a");
        log.info("a cat");
        assert_eq!(buf.contents(), "##vso[task.setsecret]a\na cat\n");
    }

    #[test]
    fn multi_line_secrets_are_registered_per_line() {
        let (log, buf) = logger(false);
        log.set_secret("line-one\nline-two\n");
        log.set_secret("line-one");
        assert_eq!(
            buf.contents(),
            "##vso[task.setsecret]line-one\n##vso[task.setsecret]line-two\n"
        );
    }

    #[test]
    fn complete_is_written_once() {
        let (log, buf) = logger(false);
        assert!(log.complete(TaskResult::Failed, "first"));
        assert!(!log.complete(TaskResult::Succeeded, "second"));
        assert_eq!(buf.contents(), "##vso[task.complete result=Failed;]first\n");
        assert_eq!(log.completed(), Some(TaskResult::Failed));
    }

    #[test]
    fn debug_lines_only_when_enabled() {
        let (log, buf) = logger(false);
        log.debug("hidden");
        assert_eq!(buf.contents(), "");
        let (log, buf) = logger(true);
        log.debug("a\nb");
        assert_eq!(buf.contents(), "##[debug]a\n##[debug]b\n");
    }

    #[test]
    fn plain_text_cannot_inject_commands() {
        let (log, buf) = logger(false);
        log.info(
            "evil ##vso[task.complete result=Succeeded]x and ##VSO[task.setvariable variable=a]b",
        );
        let out = buf.contents();
        assert!(!out.to_ascii_lowercase().contains("##vso["), "{out}");
        assert!(out.contains("task.complete result=Succeeded]x"));
    }

    #[test]
    fn issues_carry_source_and_line() {
        let (log, buf) = logger(false);
        log.issue(&Issue::error("bad template").at("cfn/stack.yml", Some(12)));
        assert_eq!(
            buf.contents(),
            "##vso[task.logissue type=error;sourcepath=cfn/stack.yml;linenumber=12;]bad template\n"
        );
        assert_eq!(
            log.counts(),
            IssueCounts {
                errors: 1,
                warnings: 0
            }
        );
    }

    #[test]
    fn formatting_commands() {
        let (log, buf) = logger(false);
        log.group("Resolve credentials");
        log.section("Section");
        log.command("aws sts get-caller-identity");
        log.warning_line("careful");
        log.error_line("broken");
        log.end_group();
        log.progress(150, "uploading");
        log.prepend_path("/opt/bin");
        log.upload_summary("/tmp/summary.md");
        assert_eq!(
            buf.contents(),
            "##[group]Resolve credentials\n##[section]Section\n##[command]aws sts get-caller-identity\n\
             ##[warning]careful\n##[error]broken\n##[endgroup]\n##vso[task.setprogress value=100;]uploading\n\
             ##vso[task.prependpath]/opt/bin\n##vso[task.uploadsummary]/tmp/summary.md\n"
        );
    }
}
