//! The environment of a process a task starts (a script, the AWS CLI).
//!
//! [`AwsSession::child_env`] is the one entry point. From the scrubbed task
//! environment it builds what a child needs to reach AWS:
//! - the credentials, as keys (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//!   `AWS_SESSION_TOKEN`, the last removed when the credentials have none, so
//!   a stale inherited token cannot survive) or as a loopback credentials
//!   provider (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), with every variable
//!   that would win over them in the SDKs' default chain removed; when the
//!   agent's own credentials are used, children resolve them themselves and
//!   keep any refresh their source offers, but lose a stale session token
//!   next to a long-term key;
//! - `AWS_REGION` and `AWS_DEFAULT_REGION` (both: CLI v1 reads one, v2 and
//!   the SDKs the other), and `AWS_EXECUTION_ENV=VSTS-<task>`, as the
//!   toolkit sets it;
//! - the agent's proxy as `HTTPS_PROXY`/`HTTP_PROXY` (with credentials), and
//!   `NO_PROXY`/`no_proxy` as the union of the job's own `NO_PROXY` and
//!   `no_proxy`, the agent's bypass hosts, loopback and the metadata
//!   addresses. Without an agent proxy the job's proxy settings pass
//!   through untouched, as with the toolkit;
//! - with the agent's `--sslcacert` (`Agent.CAInfo`), `AWS_CA_BUNDLE`: a
//!   file of the system's roots and the agent's, so the AWS CLI (whose own
//!   bundle the variable replaces) trusts what the task trusts. A job that
//!   sets `AWS_CA_BUNDLE` itself keeps its own.
//!
//! `AWS_ENDPOINT_URL*` pass through unchanged.

use aws_clients::names;
use azp_task::Env;
use azp_task::env::names as agent;

use crate::container::ContainerCredentialsProvider;
use crate::error::ConnectError;
use crate::session::AwsSession;

/// How a child gets its credentials.
#[derive(Debug, Clone, Copy)]
pub enum ChildCredentials<'a> {
    /// As keys in its environment, current when the child starts.
    Keys,
    /// From a loopback credentials provider that keeps them fresh.
    Provider(&'a ContainerCredentialsProvider),
}

impl AwsSession {
    /// The environment for a child process, from `base` (the scrubbed task
    /// environment, `TaskContext::child_env`). See the module documentation.
    ///
    /// # Errors
    /// When keys are injected and the credentials cannot be refreshed.
    pub async fn child_env(
        &self,
        base: &Env,
        credentials: ChildCredentials<'_>,
    ) -> Result<Env, ConnectError> {
        let mut env = base.clone();
        let replaces_credentials =
            self.injects_credentials() || matches!(credentials, ChildCredentials::Provider(_));
        if replaces_credentials {
            for name in names::OVERRIDING_CREDENTIALS.iter().chain(names::KEYS) {
                env.remove(name);
            }
        } else if env
            .get(names::AWS_ACCESS_KEY_ID)
            .is_some_and(|k| k.trim().starts_with("AKIA"))
        {
            // The same stale token the task dropped for its own calls.
            env.remove(names::AWS_SESSION_TOKEN);
        }
        if let Some(r) = self.region() {
            env.set(names::AWS_REGION, &r.name);
            env.set(names::AWS_DEFAULT_REGION, &r.name);
        }
        env.set(
            names::AWS_EXECUTION_ENV,
            format!("VSTS-{}", self.task_name()),
        );
        if let Some(p) = self.proxy() {
            let url = p.url_with_credentials();
            for name in [
                agent::HTTPS_PROXY,
                agent::HTTP_PROXY,
                agent::HTTPS_PROXY_LOWER,
                agent::HTTP_PROXY_LOWER,
            ] {
                env.set(name, url.expose());
            }
            let no_proxy = aws_clients::http::no_proxy_entries(p).join(",");
            env.set(agent::NO_PROXY, &no_proxy);
            env.set(agent::NO_PROXY_LOWER, &no_proxy);
        }
        if let Some(bundle) = self.ca_bundle()
            && env.get_non_empty(names::AWS_CA_BUNDLE).is_none()
        {
            env.set(names::AWS_CA_BUNDLE, bundle.display().to_string());
        }
        match credentials {
            ChildCredentials::Keys if self.injects_credentials() => {
                let c = self.credentials().credentials().await?;
                env.set(names::AWS_ACCESS_KEY_ID, c.access_key_id());
                env.set(names::AWS_SECRET_ACCESS_KEY, c.secret_access_key());
                match c.session_token() {
                    Some(t) => env.set(names::AWS_SESSION_TOKEN, t),
                    None => env.remove(names::AWS_SESSION_TOKEN),
                }
            }
            ChildCredentials::Keys => {}
            ChildCredentials::Provider(provider) => {
                for (k, v) in provider.env() {
                    env.set(k, v);
                }
            }
        }
        Ok(env)
    }
}
