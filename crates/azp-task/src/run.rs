//! The one entry point a task's `main` calls, and the context it hands over.
//!
//! [`run`] snapshots the environment, registers every secret the agent gave
//! the task before anything else is printed, starts the async runtime, runs
//! the task body, and turns its outcome into exactly one `task.complete`:
//! `Succeeded`, `SucceededWithIssues` when warnings or errors were logged, or
//! `Failed` with a `task.logissue` error and exit code 1 when the body
//! returned an error or panicked. A panic never reaches the user as a
//! backtrace. SIGINT/SIGTERM (a cancelled pipeline) are passed to the body
//! through [`TaskContext::cancelled`], and the body gets a grace period to
//! clean up before the task gives up on it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::child::child_env;
use crate::endpoint::{EndpointError, ServiceEndpoint, secret_parameter_values};
use crate::env::{Env, names};
use crate::inputs::{InputError, Inputs, TaskInputs};
use crate::log::{Issue, Logger, TaskResult};
use crate::oidc::{OidcError, OidcToken, OidcTokenRequest, RetryPolicy};
use crate::proxy::{AgentProxy, ProxyError};
use crate::time::{Clock, SystemClock};
use crate::tls::{AgentTls, TlsSettingsError};
use crate::variables::Variables;

/// The error type a task body returns. Libraries use typed errors; the body
/// only needs to carry them to [`run`], which reports them.
pub type TaskError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure that ends the task with a particular exit code, such as the
/// exit code of the script or CLI the task ran.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TaskFailure {
    /// What failed.
    pub message: String,
    /// The process exit code (1–255; 0 is turned into 1).
    pub exit_code: u8,
}

type AbortHook = Box<dyn Fn() + Send + Sync>;

/// Work that must happen even when a panic ends the process at once (release
/// builds abort on panic, without running destructors).
static ABORT_HOOKS: std::sync::Mutex<Vec<AbortHook>> = std::sync::Mutex::new(Vec::new());

/// Run `hook` if the task panics, before the process ends; for example to
/// stop child processes that would otherwise outlive it.
pub fn on_abort(hook: impl Fn() + Send + Sync + 'static) {
    ABORT_HOOKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Box::new(hook));
}

/// Threads for blocking work (file reads through `tokio::fs`, hashing).
/// Tokio's default of 512 lets a task reading 32 file parts at once spread
/// them over dozens of threads, each keeping its own allocator cache; a
/// few threads keep up with any disk and keep memory flat.
const BLOCKING_THREADS: usize = 8;

/// How long the body may take to wind down after a cancellation signal. The
/// agent sends SIGINT, waits 7.5 s, then SIGTERM and 2.5 s, then kills.
const CANCEL_GRACE: Duration = Duration::from_secs(6);

/// What a task body works with: environment, writer, clock and cancellation.
#[derive(Debug, Clone)]
pub struct TaskContext {
    env: Env,
    log: Logger,
    clock: Arc<dyn Clock>,
    cancel: watch::Receiver<bool>,
    proxy: Result<Option<AgentProxy>, ProxyError>,
    tls: Result<Option<Arc<AgentTls>>, TlsSettingsError>,
}

impl TaskContext {
    /// A context over `env` writing to `log`. Registers every secret found
    /// in `env` (secret variables, secret endpoint parameters, the job access
    /// token, secure-file tickets, the proxy password, the client
    /// certificate's password) before returning, so nothing printed later
    /// can show them. Reads the agent's proxy and certificate settings once
    /// (the certificate files too), and warns about bypass entries it has to
    /// skip.
    #[must_use]
    pub fn new(env: Env, log: Logger) -> Self {
        let proxy = AgentProxy::from_env(&env);
        register_known_secrets(&env, &log, proxy.as_ref().ok().and_then(Option::as_ref));
        let tls = AgentTls::from_env(&env).map(|t| t.map(Arc::new));
        if let Ok(Some(p)) = &proxy {
            for skipped in p.skipped_bypass_entries() {
                log.warning(skipped_bypass_warning(&skipped.pattern, &skipped.reason));
            }
        }
        let (_tx, cancel) = watch::channel(false);
        Self {
            env,
            log,
            clock: Arc::new(SystemClock),
            cancel,
            proxy,
            tls,
        }
    }

    /// The same context on another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock every wait and expiry check of the task uses.
    #[must_use]
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    fn with_cancel(mut self, cancel: watch::Receiver<bool>) -> Self {
        self.cancel = cancel;
        self
    }

    /// The environment snapshot.
    #[must_use]
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The logging-command writer.
    #[must_use]
    pub fn log(&self) -> &Logger {
        &self.log
    }

    /// The job's variables.
    #[must_use]
    pub fn variables(&self) -> Variables<'_> {
        Variables::new(&self.env)
    }

    /// Parse the task's inputs, and log a warning for every value that is
    /// read as task-lib reads it but is probably not what was meant. The
    /// values of secret inputs ([`crate::InputSpec::secret`]) are
    /// registered as secrets first.
    ///
    /// # Errors
    /// Any [`InputError`].
    pub fn inputs<T: TaskInputs>(&self) -> Result<T, InputError> {
        let reader = Inputs::new(&self.env, T::INPUTS);
        for spec in T::INPUTS.iter().filter(|s| s.secret) {
            if let Ok(Some(value)) = reader.string(spec.name) {
                self.log.set_secret(&value);
            }
        }
        let (inputs, warnings) = Inputs::parse_with_warnings::<T>(&self.env)?;
        for w in warnings {
            self.log.warning(w);
        }
        Ok(inputs)
    }

    /// The service connection with this id.
    ///
    /// # Errors
    /// Any [`EndpointError`].
    pub fn endpoint(&self, id: &str) -> Result<ServiceEndpoint, EndpointError> {
        ServiceEndpoint::load(&self.env, id)
    }

    /// The agent's proxy, if one is configured (read once, when the context
    /// was made).
    ///
    /// # Errors
    /// Any [`ProxyError`].
    pub fn proxy(&self) -> Result<Option<&AgentProxy>, ProxyError> {
        self.proxy
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    /// The agent's certificate settings (`Agent.CAInfo`, the client
    /// certificate), if any: read once, when the context was made.
    ///
    /// # Errors
    /// Any [`TlsSettingsError`].
    pub fn agent_tls(&self) -> Result<Option<&AgentTls>, TlsSettingsError> {
        self.tls
            .as_ref()
            .map(|t| t.as_deref())
            .map_err(Clone::clone)
    }

    /// The environment for a child process, scrubbed of task-only values.
    #[must_use]
    pub fn child_env(&self) -> Env {
        child_env(&self.env)
    }

    /// A directory for temporary files: `Agent.TempDirectory` (cleaned by
    /// the agent after every job), else the system's.
    #[must_use]
    pub fn temp_dir(&self) -> PathBuf {
        self.env
            .get_non_empty(names::AGENT_TEMPDIRECTORY)
            .map_or_else(std::env::temp_dir, PathBuf::from)
    }

    /// Attach `markdown` to the run as a summary page
    /// (`##vso[task.uploadsummary]`): written to [`TaskContext::temp_dir`]
    /// as `<stem>-<random hex>.md`, so two steps of one job never share a
    /// file. A page that cannot be written is a warning, never a failure.
    pub fn upload_summary(&self, stem: &str, markdown: &str) {
        let path = self
            .temp_dir()
            .join(format!("{stem}-{:016x}.md", fastrand::u64(..)));
        match std::fs::write(&path, markdown) {
            Ok(()) => self.log.upload_summary(&path.display().to_string()),
            Err(e) => self.log.warning(format!(
                "The summary page could not be written to {}: {e}",
                path.display()
            )),
        }
    }

    /// The job's OIDC token for service connection `connection_id`, with the
    /// default retry policy, through the agent's proxy. The token is
    /// registered as a secret before this returns.
    ///
    /// # Errors
    /// Any [`OidcError`].
    pub async fn oidc_token(&self, connection_id: &str) -> Result<OidcToken, OidcError> {
        self.oidc_token_with(connection_id, &RetryPolicy::default())
            .await
    }

    /// The request for the job's OIDC token for service connection
    /// `connection_id`, checked without any network call: a GUID id, a job
    /// access token, a token URL in the short or long form.
    ///
    /// # Errors
    /// [`OidcError::InvalidConnectionId`], [`OidcError::NoAccessToken`] or
    /// [`OidcError::NoEndpoint`].
    pub fn oidc_token_request(&self, connection_id: &str) -> Result<OidcTokenRequest, OidcError> {
        OidcTokenRequest::from_env(&self.env, connection_id)
    }

    /// As [`TaskContext::oidc_token`], with an explicit retry policy.
    ///
    /// # Errors
    /// Any [`OidcError`].
    pub async fn oidc_token_with(
        &self,
        connection_id: &str,
        policy: &RetryPolicy,
    ) -> Result<OidcToken, OidcError> {
        let request = self.oidc_token_request(connection_id)?;
        let proxy = self.proxy().map_err(|e| OidcError::Client(e.to_string()))?;
        let tls = self
            .agent_tls()
            .map_err(|e| OidcError::Client(e.to_string()))?;
        let client =
            crate::http::client(proxy, tls).map_err(|e| OidcError::Client(e.to_string()))?;
        request
            .fetch(&client, &self.log, policy, self.clock.as_ref())
            .await
    }

    /// Whether the pipeline asked the task to stop.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Resolves when the pipeline asks the task to stop (SIGINT or SIGTERM).
    /// Never resolves if no signal arrives.
    pub async fn cancelled(&self) {
        let mut rx = self.cancel.clone();
        // An Err means the sender is gone: no signal can come any more.
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The warning for a bypass list entry the agent's rules skip.
fn skipped_bypass_warning(pattern: &str, reason: &str) -> String {
    let hint = if pattern.starts_with('*') {
        format!(
            " For a domain and its subdomains, write it as a regular expression such as '.{pattern}'."
        )
    } else {
        String::new()
    };
    format!(
        "The agent's proxy bypass list (Agent.ProxyBypassList) has an entry that is not a regular expression, \
         '{pattern}' ({reason}). It is skipped, as the agent skips it, so requests it was meant to match go \
         through the proxy; the other entries apply. Fix it in the agent's .proxybypass file.{hint}"
    )
}

fn register_known_secrets(env: &Env, log: &Logger, proxy: Option<&AgentProxy>) {
    for value in Variables::new(env).secret_values() {
        log.set_secret(value);
    }
    for value in secret_parameter_values(env) {
        log.set_secret(&value);
    }
    for (_, ticket) in env.with_prefix(names::SECUREFILE_TICKET_PREFIX) {
        log.set_secret(ticket);
    }
    // A secret variable already, unless a pipeline variable replaced it.
    if let Some(password) = Variables::new(env).get_untrimmed(names::AGENT_CLIENTCERTPASSWORD) {
        log.set_secret(password);
    }
    // The proxy password also travels percent-encoded inside proxy URLs.
    for s in proxy.map(AgentProxy::secrets).unwrap_or_default() {
        log.set_secret(&s);
    }
}

/// Run a task: the whole of a task binary's `main`.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     azp_task::run(|ctx| async move {
///         ctx.log().info("hello");
///         Ok("Done.".to_owned())
///     })
/// }
/// ```
pub fn run<F, Fut>(body: F) -> ExitCode
where
    F: FnOnce(TaskContext) -> Fut,
    Fut: Future<Output = Result<String, TaskError>>,
{
    let env = Env::from_process();
    let debug = Variables::new(&env).agent_flag("system.debug");
    run_with(env, Logger::stdout(debug), body)
}

/// [`run`] with an explicit environment and writer.
pub fn run_with<F, Fut>(env: Env, log: Logger, body: F) -> ExitCode
where
    F: FnOnce(TaskContext) -> Fut,
    Fut: Future<Output = Result<String, TaskError>>,
{
    install_panic_hook(log.clone());
    crate::http::install_crypto_provider();
    let ctx = TaskContext::new(env, log.clone());

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &log,
                &format!("The task could not start its async runtime: {e}"),
            );
        }
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let ctx = ctx.with_cancel(cancel_rx.clone());
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            tokio::spawn(forward_signals(cancel_tx));
            let fut = body(ctx);
            tokio::pin!(fut);
            // The body may notice the cancellation and return before the branch
            // below does; its outcome is still a cancellation.
            let cancelled = cancel_rx.clone();
            let mut rx = cancel_rx;
            tokio::select! {
                r = &mut fut => (r, *cancelled.borrow()),
                _ = rx.wait_for(|c| *c) => {
                    log.info("The pipeline cancelled this task; stopping.");
                    match tokio::time::timeout(CANCEL_GRACE, &mut fut).await {
                        Ok(r) => (r, true),
                        Err(_) => (Err("the task did not stop within its cancellation grace period".into()), true),
                    }
                }
            }
        })
    }));
    runtime.shutdown_timeout(Duration::from_secs(1));

    match outcome {
        // The panic hook has already reported it.
        Err(_) => ExitCode::FAILURE,
        Ok((Err(_), true)) => {
            log.complete(TaskResult::Canceled, "The task was cancelled.");
            ExitCode::FAILURE
        }
        Ok((Err(e), false)) => {
            let code = e
                .downcast_ref::<TaskFailure>()
                .map_or(1, |f| f.exit_code.max(1));
            fail(&log, &render_error(e.as_ref()));
            ExitCode::from(code)
        }
        Ok((Ok(message), _)) => {
            let counts = log.counts();
            let result = if counts.errors + counts.warnings > 0 {
                TaskResult::SucceededWithIssues
            } else {
                TaskResult::Succeeded
            };
            log.complete(result, &message);
            // A body may have completed the task itself; the first result stands.
            match log.completed() {
                Some(TaskResult::Failed | TaskResult::Canceled) => ExitCode::FAILURE,
                _ => ExitCode::SUCCESS,
            }
        }
    }
}

fn fail(log: &Logger, message: &str) -> ExitCode {
    log.issue(&Issue::error(message));
    log.complete(TaskResult::Failed, message);
    ExitCode::FAILURE
}

/// An error and its causes on one line, skipping causes whose text the
/// outer message already contains (thiserror messages often embed them).
#[must_use]
pub fn render_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn install_panic_hook(log: Logger) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message =
            format!("Internal error in this task (a bug; please report it): {payload}{place}");
        log.issue(&Issue::error(&message));
        log.complete(TaskResult::Failed, &message);
        // try_lock: a panic inside a hook registration must not deadlock here.
        if let Ok(hooks) = ABORT_HOOKS.try_lock() {
            for hook in hooks.iter() {
                hook();
            }
        }
    }));
}

async fn forward_signals(tx: watch::Sender<bool>) {
    wait_for_signal().await;
    let _ = tx.send(true);
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::SharedBuffer;

    fn run_body<F, Fut>(pairs: &[(&str, &str)], body: F) -> (ExitCode, String)
    where
        F: FnOnce(TaskContext) -> Fut,
        Fut: Future<Output = Result<String, TaskError>>,
    {
        let buf = SharedBuffer::default();
        let log = Logger::new(Box::new(buf.clone()), false);
        let code = run_with(Env::from_pairs(pairs.iter().copied()), log, body);
        (code, buf.contents())
    }

    #[test]
    fn success_completes_once() {
        let (code, out) = run_body(&[], |ctx| async move {
            ctx.log().info("working");
            Ok("All done.".into())
        });
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(
            out,
            "working\n##vso[task.complete result=Succeeded;]All done.\n"
        );
    }

    #[test]
    fn warnings_give_succeeded_with_issues() {
        let (code, out) = run_body(&[], |ctx| async move {
            ctx.log().warning("careful");
            Ok("Done.".into())
        });
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            out.ends_with("##vso[task.complete result=SucceededWithIssues;]Done.\n"),
            "{out}"
        );
    }

    #[test]
    fn errors_fail_with_an_issue_and_exit_code() {
        let (code, out) = run_body(&[], |_| async move {
            let e: TaskError = Box::new(InputError::Required {
                name: "x".into(),
                label: "X".into(),
            });
            Err(e)
        });
        assert_eq!(code, ExitCode::FAILURE);
        assert!(
            out.starts_with("##vso[task.logissue type=error;]Input required: 'X' (x)"),
            "{out}"
        );
        assert_eq!(out.matches("##vso[task.complete").count(), 1);
        assert!(out.contains("##vso[task.complete result=Failed;]Input required"));
    }

    #[test]
    fn secrets_are_registered_before_the_body_runs() {
        let (_, out) = run_body(
            &[
                ("SECRET_MYPASS", "pa55word"),
                (
                    "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN",
                    "jobtoken123",
                ),
                ("SECUREFILE_TICKET_abc", "ticket456"),
            ],
            |ctx| async move {
                ctx.log().info("pa55word jobtoken123 ticket456");
                Ok("ok".into())
            },
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("##vso[task.setsecret]"))
                .count(),
            3
        );
        assert!(
            lines[..3]
                .iter()
                .all(|l| l.starts_with("##vso[task.setsecret]"))
        );
        assert_eq!(lines[3], "*** *** ***");
    }

    #[test]
    fn secret_inputs_are_masked_even_in_the_error_about_them() {
        struct KeyInput;
        impl TaskInputs for KeyInput {
            const INPUTS: &'static [crate::InputSpec] =
                &[
                    crate::InputSpec::new("customerKey", "Customer Key", crate::InputKind::String)
                        .secret(),
                ];
            fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
                let v = i.required_string("customerKey")?;
                Err(InputError::Invalid {
                    name: "customerKey".into(),
                    label: "Customer Key".into(),
                    value: v,
                    reason: "not 64 hex digits".into(),
                })
            }
        }
        let (code, out) = run_body(&[("INPUT_CUSTOMERKEY", "zz-my-key-zz")], |ctx| async move {
            ctx.inputs::<KeyInput>()?;
            Ok("unreachable".into())
        });
        assert_eq!(code, ExitCode::FAILURE);
        assert!(
            out.starts_with("##vso[task.setsecret]zz-my-key-zz\n"),
            "{out}"
        );
        assert_eq!(out.matches("zz-my-key-zz").count(), 1, "{out}");
        assert!(out.contains("has the value '***'"), "{out}");
    }

    #[test]
    fn a_body_that_completes_itself_keeps_its_result() {
        let (code, out) = run_body(&[], |ctx| async move {
            ctx.log()
                .complete(TaskResult::Failed, "script exited with 3");
            Ok("ignored".into())
        });
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(
            out,
            "##vso[task.complete result=Failed;]script exited with 3\n"
        );
    }

    #[test]
    fn render_error_skips_embedded_sources() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(render_error(&e), "outer: inner");
    }
}
