//! The AWSShellScript task: run a bash script (a file or inline) with AWS
//! credentials from the service connection in its environment.
//!
//! Inputs and defaults match the AWS Toolkit's task. Beyond it: the keys
//! are masked, a stale `AWS_SESSION_TOKEN` cannot leak into the script,
//! cancellation stops the script's whole process group, and with
//! `refreshCredentials` the script gets credentials from a loopback endpoint
//! that renews them instead of fixed keys.

use std::path::{Path, PathBuf};

use aws_connection::container::ContainerCredentialsProvider;
use aws_connection::inputs::{self, CommonInputs};
use aws_connection::{ChildCredentials, connect};
use azp_process::{ChildSpec, find_program, run_child};
use azp_task::{Env, InputError, InputKind, InputSpec, Inputs, TaskContext, TaskError, TaskInputs};

#[derive(Debug, PartialEq, Eq)]
enum Script {
    File(PathBuf),
    Inline(String),
}

/// The default of `inlineScript` in task.json (the toolkit's).
pub const DEFAULT_INLINE_SCRIPT: &str = "# You can write your script inline here";

/// The task's inputs, as its task.json declares them.
#[derive(Debug)]
pub struct ShellInputs {
    common: CommonInputs,
    arguments: Vec<String>,
    /// `arguments` came out differently than task-lib alone splits it.
    arguments_extended: bool,
    script: Script,
    working_directory: Option<PathBuf>,
    fail_on_standard_error: bool,
    refresh_credentials: bool,
}

impl TaskInputs for ShellInputs {
    const INPUTS: &'static [InputSpec] = &[
        inputs::AWS_CREDENTIALS,
        inputs::REGION_NAME,
        InputSpec::new("arguments", "Arguments", InputKind::String),
        InputSpec::new(
            "scriptType",
            "Script Source",
            InputKind::Radio {
                options: &["filePath", "inline"],
            },
        ),
        InputSpec::new("filePath", "Script Path", InputKind::FilePath),
        InputSpec::new("inlineScript", "Inline Script", InputKind::MultiLine),
        InputSpec::new(
            "disableAutoCwd",
            "Specify Working Directory",
            InputKind::Boolean,
        ),
        InputSpec::new("workingDirectory", "Working Directory", InputKind::FilePath),
        InputSpec::new(
            "failOnStandardError",
            "Fail on Standard Error",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "refreshCredentials",
            "Refresh credentials while the script runs",
            InputKind::Boolean,
        ),
    ];

    fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        let script = match i.choice("scriptType")?.as_deref() {
            Some("inline") => {
                if i.file_path("filePath")?.is_some() {
                    i.warn(
                        "Script Path (filePath) is set, but Script Source (scriptType) is inline, so it has no \
                         effect: the inline script runs.",
                    );
                }
                Script::Inline(i.multi_line("inlineScript")?.ok_or_else(|| {
                    InputError::Required {
                        name: "inlineScript".into(),
                        label: "Inline Script".into(),
                    }
                })?)
            }
            _ => {
                if i.multi_line("inlineScript")?
                    .is_some_and(|s| s.trim() != DEFAULT_INLINE_SCRIPT)
                {
                    i.warn(
                        "Inline Script (inlineScript) is set, but Script Source (scriptType) is filePath, so it has \
                         no effect: the script file runs. Set scriptType: inline to run the inline script.",
                    );
                }
                Script::File(i.required_file_path("filePath")?)
            }
        };
        // Split as the toolkit did (task-lib's rule), so existing pipelines
        // pass the same words to their scripts, plus single-quoted words.
        let arguments = azp_process::arguments(&i.string("arguments")?.unwrap_or_default());
        // Not given (the agent then passes the sources directory) means the
        // default working directory, as with the toolkit.
        let given_directory = i.file_path("workingDirectory")?;
        let working_directory = if i.boolean("disableAutoCwd")? {
            given_directory
        } else {
            if given_directory.is_some() {
                i.warn(
                    "Working Directory (workingDirectory) is set, but Specify Working Directory (disableAutoCwd) is \
                     not, so it has no effect: the script runs in $(System.DefaultWorkingDirectory), as with the AWS \
                     Toolkit. Set disableAutoCwd: true to use it.",
                );
            }
            None
        };
        Ok(Self {
            common: CommonInputs::parse(i)?,
            arguments: arguments.words,
            arguments_extended: arguments.differs_from_task_lib,
            script,
            working_directory,
            fail_on_standard_error: i.boolean("failOnStandardError")?,
            refresh_credentials: i.boolean("refreshCredentials")?,
        })
    }
}

/// Why the script cannot run.
#[derive(Debug, thiserror::Error)]
enum ShellError {
    #[error(
        "The script file {0} does not exist (Script Path, filePath). Use a fully qualified path or one relative to $(System.DefaultWorkingDirectory)."
    )]
    ScriptMissing(String),
    #[error("The working directory {0} does not exist (Working Directory, workingDirectory).")]
    NoWorkingDirectory(String),
    #[error("{0}")]
    NoBash(String),
    #[error("The inline script could not be written to {path}: {source}")]
    WriteScript {
        path: String,
        source: std::io::Error,
    },
}

/// An inline script on disk, removed when dropped (also on failure).
struct TempScript(PathBuf);

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_inline(dir: &Path, content: &str) -> Result<TempScript, ShellError> {
    let path = dir.join(format!(
        "awsshellscript_{}_{:08x}.sh",
        std::process::id(),
        // Uniqueness only (create_new refuses collisions); not a secret.
        fastrand::u32(..)
    ));
    // Windows editors leave CRLF, which bash reads as part of each command.
    let content = content.replace("\r\n", "\n");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o700);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut f = options.open(&path)?;
        std::io::Write::write_all(&mut f, content.as_bytes())
    };
    write().map_err(|source| ShellError::WriteScript {
        path: path.display().to_string(),
        source,
    })?;
    Ok(TempScript(path))
}

/// bash: Git Bash on Windows, else the first on PATH.
fn find_bash(env: &Env) -> Result<PathBuf, ShellError> {
    if cfg!(windows) {
        for root in [
            "ProgramFiles",
            "ProgramW6432",
            "ProgramFiles(x86)",
            "LocalAppData",
        ]
        .iter()
        .filter_map(|v| env.get_non_empty(v))
        {
            for rel in ["Git\\bin\\bash.exe", "Programs\\Git\\bin\\bash.exe"] {
                let p = Path::new(root).join(rel);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
    }
    find_program("bash", env.get("PATH"), env.get("PATHEXT")).ok_or_else(|| {
        ShellError::NoBash(if cfg!(windows) {
            "No bash was found: install Git for Windows (it provides Git Bash) on the agent, or put bash on PATH.".into()
        } else {
            format!("No bash was found on PATH ({}). Install bash on the agent, or run the job in a container that has it.", env.get("PATH").unwrap_or(""))
        })
    })
}

/// bash on Windows takes forward slashes.
fn script_arg(path: &Path) -> String {
    let s = path.display().to_string();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s
    }
}

/// The task: the whole of its `main`.
///
/// # Errors
/// Anything that stops the task; `azp_task::run` reports it.
pub async fn run(ctx: TaskContext) -> Result<String, TaskError> {
    let inputs: ShellInputs = ctx.inputs()?;
    let env = ctx.env();

    // Check what can be checked before asking anyone for credentials.
    if let Script::File(path) = &inputs.script
        && !path.is_file()
    {
        return Err(ShellError::ScriptMissing(path.display().to_string()).into());
    }
    let cwd = match &inputs.working_directory {
        Some(dir) => dir.clone(),
        None => env
            .get_non_empty(azp_task::env::names::SYSTEM_DEFAULTWORKINGDIRECTORY)
            .map(PathBuf::from)
            .or_else(|| match &inputs.script {
                Script::File(p) => p.parent().map(Path::to_path_buf),
                Script::Inline(_) => None,
            })
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    if !cwd.is_dir() {
        return Err(ShellError::NoWorkingDirectory(cwd.display().to_string()).into());
    }
    let base_env = ctx.child_env();
    let bash = find_bash(&base_env)?;

    let session = connect(
        &ctx,
        &inputs.common.connect_options("AWSShellScript", false),
    )
    .await?;

    let _temp;
    let script_path = match &inputs.script {
        Script::File(p) => p.clone(),
        Script::Inline(content) => {
            let t = write_inline(&ctx.temp_dir(), content)?;
            let p = t.0.clone();
            _temp = t;
            p
        }
    };

    let provider = if inputs.refresh_credentials {
        let p =
            ContainerCredentialsProvider::start(session.credentials().clone(), ctx.log()).await?;
        ctx.log().info("The script gets its credentials from a local container credentials provider that refreshes them (AWS_CONTAINER_CREDENTIALS_FULL_URI).");
        Some(p)
    } else {
        None
    };
    let child_env = session
        .child_env(
            &base_env,
            provider
                .as_ref()
                .map_or(ChildCredentials::Keys, ChildCredentials::Provider),
        )
        .await?;
    if inputs.arguments_extended {
        ctx.log().debug(&azp_process::args::extension_note(
            "arguments",
            &inputs.arguments,
        ));
    }

    let mut args = vec![script_arg(&script_path)];
    args.extend(inputs.arguments.iter().cloned());
    ctx.log().command(&format!(
        "{} {}",
        bash.display(),
        args.iter()
            .map(|a| azp_process::args::quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let spec = ChildSpec {
        program: bash,
        args,
        cwd,
        env: child_env,
        watch_stderr: inputs.fail_on_standard_error,
    };
    let finished = run_child(&ctx, &spec).await;
    if let Some(p) = provider {
        p.stop().await;
    }
    finished?.into_result("The bash script", inputs.fail_on_standard_error)?;
    Ok("The bash script completed successfully.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rust_inputs_match_task_json() {
        extension_checks::assert_inputs_match("AWSShellScript", ShellInputs::INPUTS);
    }

    #[test]
    fn inline_scripts_lose_crlf_and_are_removed() {
        let dir = std::env::temp_dir();
        let path = {
            let t = write_inline(&dir, "echo a\r\necho b\r\n").unwrap();
            assert_eq!(std::fs::read_to_string(&t.0).unwrap(), "echo a\necho b\n");
            t.0.clone()
        };
        assert!(!path.exists());
    }
}
