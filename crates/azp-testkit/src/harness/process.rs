//! Running the task's process as the agent does: the environment from the
//! step, the sources directory as working directory, stdout and stderr
//! read as they come, SIGINT on cancellation, a kill at the timeout.

use std::io::Read;
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::masking::agent_secrets;
use super::output::{TaskRun, interpret};
use super::step::Agent;

impl Agent {
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
        // A descendant that outlived the task keeps the pipes open (the
        // agent stops reading when the task exits); give the pumps a moment
        // for what is buffered, then go on without them.
        let drained = Instant::now();
        while !(t_out.is_finished() && t_err.is_finished())
            && drained.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
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
        let (masked, secrets) =
            agent_secrets(&self.access_token, &self.secret_variables, &self.endpoints);
        interpret(
            stdout,
            stderr,
            super::output::Ending {
                exit_code,
                timed_out,
                cancelled,
            },
            masked,
            secrets,
            self.debug,
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
