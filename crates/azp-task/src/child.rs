//! The environment a task passes to the processes it starts.
//!
//! A child (a user's script, the AWS CLI) must not inherit what the agent
//! gave only to the task: inputs, endpoint authorizations including the job
//! access token, secret variables, secure-file tickets and task variables.
//! task-lib removes them from its own process for the same reason. A task
//! that means to pass a value on sets it again on the returned [`Env`].

use crate::env::{Env, names};

/// Prefixes of variables a child never inherits.
const SCRUBBED_PREFIXES: &[&str] = &[
    names::INPUT_PREFIX,
    names::ENDPOINT_AUTH_PREFIX,
    names::SECRET_PREFIX,
    names::SECUREFILE_TICKET_PREFIX,
    names::VSTS_TASKVARIABLE_PREFIX,
];

/// Whole names a child never inherits.
const SCRUBBED_NAMES: &[&str] = &[names::VSTS_SECRET_VARIABLES];

/// A copy of `env` without what only the task may see.
#[must_use]
pub fn child_env(env: &Env) -> Env {
    let mut out = env.clone();
    out.retain(|name, _| {
        let upper = name.to_ascii_uppercase();
        !SCRUBBED_PREFIXES.iter().any(|p| upper.starts_with(p))
            && !SCRUBBED_NAMES.contains(&upper.as_str())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_task_only_variables() {
        let env = Env::from_pairs([
            ("INPUT_SCRIPT", "x"),
            (
                "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN",
                "job",
            ),
            ("ENDPOINT_AUTH_abc", "{}"),
            ("ENDPOINT_URL_abc", "https://aws.amazon.com/"),
            ("SECRET_MYPASS", "p"),
            ("SECUREFILE_TICKET_1", "t"),
            ("VSTS_TASKVARIABLE_X", "v"),
            ("VSTS_SECRET_VARIABLES", "[\"MyPass\"]"),
            ("PATH", "/usr/bin"),
            ("BUILD_BUILDID", "7"),
        ]);
        let child = child_env(&env);
        let names: Vec<&str> = child.iter().map(|(k, _)| k).collect();
        assert_eq!(names, vec!["BUILD_BUILDID", "ENDPOINT_URL_abc", "PATH"]);
    }
}
