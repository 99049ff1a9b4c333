//! Running one child process for a task.
//!
//! The child gets the environment it is given (already scrubbed and
//! extended by the task), no stdin, and the task's stdout, so its output
//! streams to the agent as it is written. With `watch_stderr` its stderr
//! goes through a pipe that copies each chunk on at once and notes whether
//! anything but whitespace was written (for `failOnStandardError`).
//!
//! On Unix the child leads a new process group. When the pipeline cancels
//! the task, the whole group gets SIGINT, then SIGTERM after 3 s, then
//! SIGKILL after 2 more, so no descendant outlives the task; all of this
//! fits inside the agent's 7.5 s between its own SIGINT and SIGTERM. On
//! Windows the child is killed.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use azp_task::{Env, TaskContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to run.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// The program (an absolute path, from [`crate::find_program`]).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Its whole environment.
    pub env: Env,
    /// Pipe stderr to detect output on it.
    pub watch_stderr: bool,
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signaled(i32),
    /// The pipeline cancelled the task and the child was stopped.
    Cancelled,
}

/// The end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// How it ended.
    pub outcome: Outcome,
    /// Whether it wrote anything but whitespace to stderr (only known with
    /// `watch_stderr`).
    pub wrote_stderr: bool,
}

impl Finished {
    /// The task's verdict on this run: `Ok` when `what` exited 0 (and wrote
    /// nothing to stderr, when `fail_on_stderr`); otherwise a
    /// [`azp_task::TaskFailure`] that carries the child's exit code.
    /// A cancelled run is an error too, which `azp_task::run` reports as
    /// cancelled.
    ///
    /// # Errors
    /// As described.
    pub fn into_result(self, what: &str, fail_on_stderr: bool) -> Result<(), azp_task::TaskError> {
        let failure = |message: String, code: i32| {
            let exit_code = u8::try_from(code.clamp(1, 255)).unwrap_or(1);
            Err(Box::new(azp_task::TaskFailure { message, exit_code }) as azp_task::TaskError)
        };
        match self.outcome {
            Outcome::Exited(0) if fail_on_stderr && self.wrote_stderr => failure(
                format!(
                    "{what} wrote to standard error, and Fail on Standard Error (failOnStandardError) is set. Turn the option off, or keep diagnostics off stderr."
                ),
                1,
            ),
            Outcome::Exited(0) => Ok(()),
            Outcome::Exited(code) => failure(format!("{what} exited with code {code}."), code),
            Outcome::Signaled(signal) => failure(
                format!("{what} was ended by signal {signal}."),
                128 + signal,
            ),
            Outcome::Cancelled => {
                Err(format!("{what} was stopped because the pipeline was cancelled.").into())
            }
        }
    }
}

/// The child could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// It could not be started.
    #[error("{program} could not be started in {cwd}: {source}")]
    Start {
        /// The program.
        program: String,
        /// The working directory.
        cwd: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Waiting for it failed.
    #[error("waiting for {program} failed: {source}")]
    Wait {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Run the child to the end, or until the pipeline cancels the task.
///
/// # Errors
/// [`ChildError`] when it cannot be started or waited for.
pub async fn run_child(ctx: &TaskContext, spec: &ChildSpec) -> Result<Finished, ChildError> {
    let program = spec.program.display().to_string();
    let mut cmd = tokio::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(if spec.watch_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| ChildError::Start {
        program: program.clone(),
        cwd: spec.cwd.display().to_string(),
        source,
    })?;

    let pid = child.id();
    let _tracked = pid.map(Tracked::new);
    #[cfg(windows)]
    let mut tree = ProcessTree::contain(&child);
    let wrote = Arc::new(AtomicBool::new(false));
    let copier = child
        .stderr
        .take()
        .map(|err| tokio::spawn(copy_stderr(err, wrote.clone())));

    let outcome = tokio::select! {
        status = child.wait() => status_outcome(status.map_err(|source| ChildError::Wait { program: program.clone(), source })?),
        () = ctx.cancelled() => {
            stop(&mut child, pid).await;
            #[cfg(windows)]
            if let Some(tree) = tree.take() {
                tree.kill();
            }
            Outcome::Cancelled
        }
    };
    #[cfg(windows)]
    if let Some(tree) = tree {
        tree.release();
    }
    if let Some(copier) = copier {
        // A background process can keep the pipe open after the child exits;
        // do not wait for it forever.
        if tokio::time::timeout(Duration::from_secs(2), copier)
            .await
            .is_err()
        {
            ctx.log()
                .debug("stderr of the child stayed open after it exited; stopped reading it");
        }
    }
    Ok(Finished {
        outcome,
        wrote_stderr: wrote.load(Ordering::SeqCst),
    })
}

/// The process groups of running children, killed by the panic hook: a
/// panic aborts the task without running destructors, and a child in its own
/// group would otherwise outlive it.
static GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());
static HOOK: std::sync::Once = std::sync::Once::new();

/// A child's group, tracked while it runs.
struct Tracked(u32);

impl Tracked {
    fn new(pid: u32) -> Self {
        HOOK.call_once(|| azp_task::on_abort(kill_tracked));
        GROUPS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(pid);
        Self(pid)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        GROUPS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|p| *p != self.0);
    }
}

fn kill_tracked() {
    if let Ok(groups) = GROUPS.try_lock() {
        for pid in groups.iter() {
            kill_group_now(*pid);
        }
    }
}

#[cfg(unix)]
fn kill_group_now(pid: u32) {
    if let Ok(p) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(not(unix))]
fn kill_group_now(_pid: u32) {}

async fn copy_stderr(mut from: tokio::process::ChildStderr, wrote: Arc<AtomicBool>) {
    let mut to = tokio::io::stderr();
    let mut buf = vec![0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if buf[..n].iter().any(|b| !b.is_ascii_whitespace()) {
                    wrote.store(true, Ordering::SeqCst);
                }
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                let _ = to.flush().await;
            }
        }
    }
}

fn status_outcome(status: std::process::ExitStatus) -> Outcome {
    if let Some(code) = status.code() {
        return Outcome::Exited(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Outcome::Signaled(sig);
        }
    }
    Outcome::Exited(-1)
}

#[cfg(unix)]
async fn stop(child: &mut tokio::process::Child, pid: Option<u32>) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw) else {
        let _ = child.kill().await;
        return;
    };
    for (signal, grace) in [
        (Signal::SIGINT, Duration::from_secs(3)),
        (Signal::SIGTERM, Duration::from_secs(2)),
    ] {
        let _ = killpg(pgid, signal);
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            break;
        }
    }
    // Whatever is left of the group (the leader, or descendants that
    // ignored the gentler signals) goes now.
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
}

/// On Windows the console's Ctrl+C reaches the child and its descendants
/// with the task; they get a grace period to stop, then the job object
/// ends the whole tree.
#[cfg(not(unix))]
async fn stop(child: &mut tokio::process::Child, _pid: Option<u32>) {
    if tokio::time::timeout(Duration::from_secs(3), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// A child and every process it starts, held in a job object with
/// `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` (Win32 "Job Objects"): closing the
/// job's only handle ends them all, whether the task closes it on
/// cancellation or the task process itself ends (a panic aborts it). This
/// is what the process group is on Unix.
#[cfg(windows)]
struct ProcessTree(win32job::Job);

#[cfg(windows)]
impl ProcessTree {
    /// Put `child` (just started) in a new job. `None` when Windows refuses,
    /// for example a job that forbids nesting on Windows before 8; the child
    /// then runs as before, stopped alone.
    fn contain(child: &tokio::process::Child) -> Option<Self> {
        let mut info = win32job::ExtendedLimitInfo::new();
        info.limit_kill_on_job_close();
        let job = win32job::Job::create_with_limit_info(&info).ok()?;
        // The handle's value, as the crate takes it; no pointer is followed.
        let handle = child.raw_handle()? as isize;
        job.assign_process(handle).ok()?;
        Some(Self(job))
    }

    /// End every process in the tree: the job's only handle closes.
    fn kill(self) {
        drop(self.0);
    }

    /// Let descendants that outlive a child that ended by itself go on
    /// running, as they do on Unix: clear the kill-on-close limit first.
    fn release(self) {
        let _ = self
            .0
            .set_extended_limit_info(&win32job::ExtendedLimitInfo::new());
    }
}
