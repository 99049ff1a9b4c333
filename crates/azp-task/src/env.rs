//! The task's view of its process environment.
//!
//! The agent hands a task everything (inputs, variables, endpoints, secrets)
//! through environment variables. [`Env`] is an immutable snapshot taken once
//! at start-up; everything else in the workspace reads through it, so tests
//! can build one from a slice instead of mutating the real process
//! environment. [`names`] lists every variable name the contract uses.

use std::collections::BTreeMap;

/// Every environment variable name (or prefix) of the agent contract.
///
/// Keeping them in one place means a typo is a compile error and a reviewer
/// can see the whole surface at once.
pub mod names {
    /// Prefix of task inputs: `INPUT_<NORMALISED NAME>`.
    pub const INPUT_PREFIX: &str = "INPUT_";
    /// Prefix of secret variables: `SECRET_<NORMALISED NAME>`.
    pub const SECRET_PREFIX: &str = "SECRET_";
    /// JSON array of the original names of the public variables.
    pub const VSTS_PUBLIC_VARIABLES: &str = "VSTS_PUBLIC_VARIABLES";
    /// JSON array of the original names of the secret variables.
    pub const VSTS_SECRET_VARIABLES: &str = "VSTS_SECRET_VARIABLES";
    /// Prefix of task variables (`task.settaskvariable`).
    pub const VSTS_TASKVARIABLE_PREFIX: &str = "VSTS_TASKVARIABLE_";
    /// `ENDPOINT_URL_<ID>`.
    pub const ENDPOINT_URL_PREFIX: &str = "ENDPOINT_URL_";
    /// `ENDPOINT_AUTH_<ID>` (JSON) and the longer `ENDPOINT_AUTH_*` keys below.
    pub const ENDPOINT_AUTH_PREFIX: &str = "ENDPOINT_AUTH_";
    /// `ENDPOINT_AUTH_SCHEME_<ID>`.
    pub const ENDPOINT_AUTH_SCHEME_PREFIX: &str = "ENDPOINT_AUTH_SCHEME_";
    /// `ENDPOINT_AUTH_PARAMETER_<ID>_<KEY>`.
    pub const ENDPOINT_AUTH_PARAMETER_PREFIX: &str = "ENDPOINT_AUTH_PARAMETER_";
    /// `ENDPOINT_DATA_<ID>_<KEY>`.
    pub const ENDPOINT_DATA_PREFIX: &str = "ENDPOINT_DATA_";
    /// Secure file tickets, scrubbed from child environments.
    pub const SECUREFILE_TICKET_PREFIX: &str = "SECUREFILE_TICKET_";
    /// The endpoint id of the job's own connection to Azure DevOps.
    pub const SYSTEM_VSS_CONNECTION: &str = "SYSTEMVSSCONNECTION";
    /// The job access token (OAuth) of `SystemVssConnection`.
    pub const SYSTEM_ACCESS_TOKEN_PARAMETER: &str =
        "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN";
    /// `System.OidcRequestUri`: the short form of the OIDC token URL.
    pub const SYSTEM_OIDCREQUESTURI: &str = "SYSTEM_OIDCREQUESTURI";
    /// `System.CollectionUri`.
    pub const SYSTEM_COLLECTIONURI: &str = "SYSTEM_COLLECTIONURI";
    /// `System.TeamFoundationServerUri`, the older name of the collection URI.
    pub const SYSTEM_TEAMFOUNDATIONSERVERURI: &str = "SYSTEM_TEAMFOUNDATIONSERVERURI";
    /// `System.TeamProjectId`.
    pub const SYSTEM_TEAMPROJECTID: &str = "SYSTEM_TEAMPROJECTID";
    /// `System.HostType` (`build`, `release`, ...).
    pub const SYSTEM_HOSTTYPE: &str = "SYSTEM_HOSTTYPE";
    /// `System.PlanId`.
    pub const SYSTEM_PLANID: &str = "SYSTEM_PLANID";
    /// `System.JobId`.
    pub const SYSTEM_JOBID: &str = "SYSTEM_JOBID";
    /// `System.Debug`: enables `##[debug]` lines.
    pub const SYSTEM_DEBUG: &str = "SYSTEM_DEBUG";
    /// `System.DefaultWorkingDirectory`.
    pub const SYSTEM_DEFAULTWORKINGDIRECTORY: &str = "SYSTEM_DEFAULTWORKINGDIRECTORY";
    /// `Build.SourcesDirectory`.
    pub const BUILD_SOURCESDIRECTORY: &str = "BUILD_SOURCESDIRECTORY";
    /// `Agent.TempDirectory`.
    pub const AGENT_TEMPDIRECTORY: &str = "AGENT_TEMPDIRECTORY";
    /// `Agent.CAInfo`: a PEM file of extra trusted CA certificates (the
    /// agent's `--sslcacert`).
    pub const AGENT_CAINFO: &str = "AGENT_CAINFO";
    /// `Agent.ClientCert`: the client certificate, PEM (`--sslclientcert`).
    pub const AGENT_CLIENTCERT: &str = "AGENT_CLIENTCERT";
    /// `Agent.ClientCertKey`: its private key, PEM (`--sslclientcertkey`).
    pub const AGENT_CLIENTCERTKEY: &str = "AGENT_CLIENTCERTKEY";
    /// `Agent.ClientCertArchive`: certificate and key as PKCS#12
    /// (`--sslclientcertarchive`).
    pub const AGENT_CLIENTCERTARCHIVE: &str = "AGENT_CLIENTCERTARCHIVE";
    /// `Agent.ClientCertPassword`: the key's and the archive's password (a
    /// secret variable, so usually `SECRET_AGENT_CLIENTCERTPASSWORD`).
    pub const AGENT_CLIENTCERTPASSWORD: &str = "AGENT_CLIENTCERTPASSWORD";
    /// `Agent.ProxyUrl`.
    pub const AGENT_PROXYURL: &str = "AGENT_PROXYURL";
    /// `Agent.ProxyUsername`.
    pub const AGENT_PROXYUSERNAME: &str = "AGENT_PROXYUSERNAME";
    /// `Agent.ProxyPassword` (a secret variable, so usually `SECRET_AGENT_PROXYPASSWORD`).
    pub const AGENT_PROXYPASSWORD: &str = "AGENT_PROXYPASSWORD";
    /// `Agent.ProxyBypassList`: a JSON array of regular expressions.
    pub const AGENT_PROXYBYPASSLIST: &str = "AGENT_PROXYBYPASSLIST";
    /// Set by the agent for every task process.
    pub const TF_BUILD: &str = "TF_BUILD";
    /// Hosts that bypass any proxy, as curl, the AWS CLI and SDKs read it.
    pub const NO_PROXY: &str = "NO_PROXY";
    /// The lower-case spelling of [`NO_PROXY`], which many tools prefer.
    pub const NO_PROXY_LOWER: &str = "no_proxy";
    /// The proxy for HTTPS requests, as curl, the AWS CLI and SDKs read it.
    pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
    /// The proxy for HTTP requests.
    pub const HTTP_PROXY: &str = "HTTP_PROXY";
    /// The lower-case spelling of [`HTTPS_PROXY`].
    pub const HTTPS_PROXY_LOWER: &str = "https_proxy";
    /// The lower-case spelling of [`HTTP_PROXY`].
    pub const HTTP_PROXY_LOWER: &str = "http_proxy";
}

/// An immutable snapshot of environment variables.
///
/// Lookups are case-insensitive on Windows and exact elsewhere, as the
/// agent's own environment handling is.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    // Values are mostly secrets; only the names are safe to show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// Snapshot the real process environment. Values that are not valid
    /// UTF-8 are converted lossily; the agent only writes UTF-8.
    #[must_use]
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the process environment
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }))
    }

    /// Build an environment from name/value pairs (tests, child environments).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (fold(k.into()), v.into()))
            .collect();
        Self { vars }
    }

    /// The value of `name`, if set.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(&fold(name.to_owned())).map(String::as_str)
    }

    /// The value of `name` if it is set and not empty after trimming.
    #[must_use]
    pub fn get_non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every variable, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every variable whose name starts with `prefix`, with the prefix removed.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        let folded = fold(prefix.to_owned());
        let len = folded.len();
        self.vars
            .range(folded.clone()..)
            .take_while(move |(k, _)| k.starts_with(&folded))
            .map(move |(k, v)| (&k[len..], v.as_str()))
    }

    /// Set or replace a variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(fold(name.into()), value.into());
    }

    /// Remove a variable.
    pub fn remove(&mut self, name: &str) {
        self.vars.remove(&fold(name.to_owned()));
    }

    /// Keep only the variables for which `keep(name, value)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.vars.retain(|k, v| keep(k, v));
    }
}

/// Windows environment names are case-insensitive; folding them to upper
/// case on Windows makes lookups behave the same way.
fn fold(name: String) -> String {
    if cfg!(windows) {
        name.to_uppercase()
    } else {
        name
    }
}

/// The agent's name normalisation (`VarUtil.ConvertToEnvVariableFormat`):
/// `.` and space become `_`, then the whole name is upper-cased. Nothing else
/// changes, so dashes survive.
#[must_use]
pub fn normalize_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| if c == '.' || c == ' ' { '_' } else { c })
        .collect::<String>()
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_the_agent() {
        assert_eq!(normalize_name("awsCredentials"), "AWSCREDENTIALS");
        assert_eq!(normalize_name("AWS.Region"), "AWS_REGION");
        assert_eq!(
            normalize_name("aws.rolecredential.maxduration"),
            "AWS_ROLECREDENTIAL_MAXDURATION"
        );
        assert_eq!(
            normalize_name("System.OidcRequestUri"),
            "SYSTEM_OIDCREQUESTURI"
        );
        assert_eq!(normalize_name("my var-name"), "MY_VAR-NAME");
    }

    #[test]
    fn prefix_iteration_strips_the_prefix() {
        let env = Env::from_pairs([
            ("INPUT_A", "1"),
            ("INPUT_B", "2"),
            ("INPUTX", "3"),
            ("X", "4"),
        ]);
        let got: Vec<_> = env.with_prefix("INPUT_").collect();
        assert_eq!(got, vec![("A", "1"), ("B", "2")]);
    }

    #[test]
    fn empty_values_are_unset_for_get_non_empty() {
        let env = Env::from_pairs([("A", "  "), ("B", " x ")]);
        assert_eq!(env.get("A"), Some("  "));
        assert_eq!(env.get_non_empty("A"), None);
        assert_eq!(env.get_non_empty("B"), Some("x"));
    }

    #[test]
    fn debug_never_shows_values() {
        let env = Env::from_pairs([("SECRET_X", "hunter2")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("SECRET_X"));
        assert!(!shown.contains("hunter2"));
    }
}
