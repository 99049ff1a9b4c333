//! The agent's proxy settings, in one form every HTTP client can use.
//!
//! A self-hosted agent configured with `--proxyurl` passes `Agent.ProxyUrl`,
//! `Agent.ProxyUsername`, `Agent.ProxyPassword` (secret) and
//! `Agent.ProxyBypassList` (a JSON array of regular expressions) to every
//! task. [`AgentProxy`] turns them into a proxy URL with credentials and a
//! bypass decision, and merges them with the job's own `NO_PROXY`.
//!
//! The rules, and where they come from:
//! - A bypass entry matches case-insensitively against `scheme://host` (with
//!   `:port` when the port is not the scheme's default), as the agent's
//!   `VstsAgentWebProxy.IsMatchInBypassList` does, or against the whole URL,
//!   as task-lib's HTTP client does. Loopback addresses always go direct
//!   (the agent's `Uri.IsLoopback` rule).
//! - An entry that is not a valid regular expression is skipped and
//!   reported, and the rest still apply, as the agent's `LoadProxySetting`
//!   skips it with a trace line.
//! - Settings are merged, never replaced: the hosts a job lists in
//!   `NO_PROXY`/`no_proxy` (machine environment or step `env:`) keep going
//!   direct, for the task's own clients and for child processes, together
//!   with the agent's bypass hosts and loopback.

use regex_lite::{Regex, RegexBuilder};
use url::{Host, Url};

use crate::env::{Env, names};
use crate::secret::Secret;
use crate::variables::Variables;

/// Hosts that are never proxied: loopback, which the agent always bypasses.
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1", "127.0.0.0/8"];

/// A bypass list entry that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedBypass {
    /// The entry as the agent gave it.
    pub pattern: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// The agent's proxy.
#[derive(Debug, Clone)]
pub struct AgentProxy {
    url: Url,
    username: Option<String>,
    password: Option<Secret>,
    bypass: Vec<(String, Regex)>,
    skipped: Vec<SkippedBypass>,
    inherited_no_proxy: Vec<String>,
}

/// A proxy setting that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// `Agent.ProxyUrl` is not a URL.
    #[error(
        "The agent's proxy URL (Agent.ProxyUrl) '{0}' is not a valid URL. Fix the agent's proxy configuration (.proxy file or --proxyurl)."
    )]
    BadUrl(String),
    /// `Agent.ProxyBypassList` is not JSON at all.
    #[error(
        "The agent's proxy bypass list (Agent.ProxyBypassList) is not a JSON array of strings ({0}). \
         The agent writes it from its .proxybypass file; check that file, or a pipeline variable of the same name that overrides it."
    )]
    BadBypassList(String),
}

impl AgentProxy {
    /// The proxy configured for the agent, if any.
    ///
    /// # Errors
    /// [`ProxyError`] when the URL cannot be read, or the bypass list is not
    /// a JSON array of strings. Entries that are not regular expressions are
    /// not errors: they are skipped and listed by
    /// [`AgentProxy::skipped_bypass_entries`].
    pub fn from_env(env: &Env) -> Result<Option<Self>, ProxyError> {
        let vars = Variables::new(env);
        let Some(raw) = vars.get(names::AGENT_PROXYURL) else {
            return Ok(None);
        };
        let raw = raw.trim();
        // Agents accept "host:port" too; assume http like the agent's own client.
        let with_scheme = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("http://{raw}")
        };
        let mut url =
            Url::parse(&with_scheme).map_err(|_| ProxyError::BadUrl(redact_userinfo(raw)))?;
        if url.host_str().is_none() {
            return Err(ProxyError::BadUrl(redact_userinfo(raw)));
        }
        // Credentials embedded in the URL are honoured when no separate ones are set.
        let url_user = (!url.username().is_empty()).then(|| percent_decode(url.username()));
        let url_pass = url.password().map(|p| Secret::new(percent_decode(p)));
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let username = vars
            .get(names::AGENT_PROXYUSERNAME)
            .map(str::to_owned)
            .or(url_user);
        let password = vars
            .get(names::AGENT_PROXYPASSWORD)
            .map(Secret::new)
            .or(url_pass);

        let mut bypass = Vec::new();
        let mut skipped = Vec::new();
        if let Some(list) = vars.get(names::AGENT_PROXYBYPASSLIST) {
            let patterns: Vec<String> =
                serde_json::from_str(list).map_err(|e| ProxyError::BadBypassList(e.to_string()))?;
            for p in patterns {
                let p = p.trim().to_owned();
                if p.is_empty() {
                    continue;
                }
                match RegexBuilder::new(&p).case_insensitive(true).build() {
                    Ok(re) => bypass.push((p, re)),
                    Err(e) => skipped.push(SkippedBypass {
                        pattern: p,
                        reason: e.to_string(),
                    }),
                }
            }
        }
        let inherited_no_proxy = [names::NO_PROXY, names::NO_PROXY_LOWER]
            .iter()
            .filter_map(|n| env.get(n))
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Some(Self {
            url,
            username,
            password,
            bypass,
            skipped,
            inherited_no_proxy,
        }))
    }

    /// The proxy URL without credentials (safe to print).
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The proxy username, if any.
    #[must_use]
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The proxy password, if any.
    #[must_use]
    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// Bypass list entries that are not regular expressions, with the
    /// reason; the task should warn about each (the agent skips them too).
    #[must_use]
    pub fn skipped_bypass_entries(&self) -> &[SkippedBypass] {
        &self.skipped
    }

    /// Every form in which the proxy password can appear: as given, percent-
    /// encoded, and inside the URL with credentials. Register them all as
    /// secrets: children see the encoded form in `HTTPS_PROXY`.
    #[must_use]
    pub fn secrets(&self) -> Vec<String> {
        match &self.password {
            Some(p) if !p.is_blank() => {
                vec![
                    p.expose().to_owned(),
                    percent_encode(p.expose()),
                    self.url_with_credentials().expose().to_owned(),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// The proxy URL with credentials, as `HTTPS_PROXY` wants it.
    #[must_use]
    pub fn url_with_credentials(&self) -> Secret {
        let mut url = self.url.clone();
        if let Some(user) = &self.username {
            let _ = url.set_username(&percent_encode(user));
            if let Some(pass) = &self.password {
                let _ = url.set_password(Some(&percent_encode(pass.expose())));
            }
        }
        Secret::new(url.as_str().trim_end_matches('/').to_owned())
    }

    /// Whether a request to `url` goes direct by the agent's rules: a
    /// loopback host, or a bypass entry matching `scheme://host[:port]` (the
    /// agent's form) or the whole URL (task-lib's form). The job's
    /// `NO_PROXY` is applied by the clients themselves, from
    /// [`AgentProxy::no_proxy_entries`].
    #[must_use]
    pub fn bypasses(&self, url: &Url) -> bool {
        if is_loopback(url) {
            return true;
        }
        let agent_form = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            (Some(host), None) => format!("{}://{host}", url.scheme()),
            (None, _) => url.as_str().to_owned(),
        };
        self.bypass
            .iter()
            .any(|(_, re)| re.is_match(&agent_form) || re.is_match(url.as_str()))
    }

    /// The merged `NO_PROXY` entries: the job's own `NO_PROXY` and
    /// `no_proxy` (in that order, duplicates dropped), the bypass entries
    /// that can be written as a host or domain suffix, [`LOOPBACK_HOSTS`],
    /// and `extra` (hosts the caller knows must go direct).
    #[must_use]
    pub fn no_proxy_entries(&self, extra: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let candidates = self
            .inherited_no_proxy
            .iter()
            .cloned()
            .chain(self.bypass.iter().filter_map(|(p, _)| regex_to_host(p)))
            .chain(LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()))
            .chain(extra.iter().map(|h| (*h).to_owned()));
        for entry in candidates {
            if !out.iter().any(|e| e.eq_ignore_ascii_case(&entry)) {
                out.push(entry);
            }
        }
        out
    }

    /// Bypass entries that cannot be written as a `NO_PROXY` host or domain
    /// suffix, so clients that only understand `NO_PROXY` (the AWS SDK's,
    /// child processes) still proxy what they match.
    #[must_use]
    pub fn bypass_entries_without_host_form(&self) -> Vec<String> {
        self.bypass
            .iter()
            .filter(|(p, _)| regex_to_host(p).is_none())
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// A reqwest proxy that applies the bypass list per request, and the
    /// merged `NO_PROXY` entries (see [`AgentProxy::no_proxy_entries`]),
    /// matched by hyper-util's `NO_PROXY` rules, the same ones the AWS SDK's
    /// client applies. (reqwest 0.13 ignores `Proxy::no_proxy` on a custom
    /// proxy, so the rules are applied in the closure.)
    #[must_use]
    pub fn reqwest_proxy(&self, extra_direct: &[&str]) -> reqwest::Proxy {
        let this = self.clone();
        let target = self.url.clone();
        let no_proxy = hyper_util::client::proxy::matcher::Matcher::builder()
            .all(target.to_string())
            .no(self.no_proxy_entries(extra_direct).join(","))
            .build();
        let mut proxy = reqwest::Proxy::custom(move |u| {
            if this.bypasses(u) {
                return None;
            }
            let uri: http::Uri = u.as_str().parse().ok()?;
            no_proxy.intercept(&uri).map(|_| target.clone())
        });
        if let (Some(user), Some(pass)) = (&self.username, &self.password) {
            proxy = proxy.basic_auth(user, pass.expose());
        }
        proxy
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `scheme://user:pass@host` → `scheme://***@host`, for error messages.
fn redact_userinfo(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    match raw[start..].find('@') {
        Some(at) => format!("{}***{}", &raw[..start], &raw[start + at..]),
        None => raw.to_owned(),
    }
}

/// `^(.*\.)?example\.com$`, `.*\.example\.com`, `example\.com` → a NO_PROXY entry.
fn regex_to_host(pattern: &str) -> Option<String> {
    let mut p = pattern.trim();
    p = p.strip_prefix('^').unwrap_or(p);
    p = p.strip_suffix('$').unwrap_or(p);
    for scheme in ["https?://", "http://", "https://"] {
        p = p.strip_prefix(scheme).unwrap_or(p);
    }
    let mut suffix = false;
    for wild in [r"(.*\.)?", r".*\.", r"*\.", r"*."] {
        if let Some(rest) = p.strip_prefix(wild) {
            p = rest;
            suffix = true;
            break;
        }
    }
    let host = p.replace(r"\.", ".");
    let host = host
        .strip_suffix("/.*")
        .unwrap_or(&host)
        .strip_suffix(".*")
        .map_or(host.clone(), str::to_owned);
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    plain.then(|| if suffix { format!(".{host}") } else { host })
}

fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(pairs: &[(&str, &str)]) -> Option<AgentProxy> {
        AgentProxy::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn no_proxy_configured() {
        assert!(proxy(&[]).is_none());
    }

    #[test]
    fn url_credentials_and_bypass() {
        let p = proxy(&[
            ("AGENT_PROXYURL", "http://proxy.corp:8080"),
            ("AGENT_PROXYUSERNAME", "svc user"),
            ("SECRET_AGENT_PROXYPASSWORD", "p@ss;w"),
            (
                "AGENT_PROXYBYPASSLIST",
                r#"["^(.*\\.)?internal\\.corp$", "dev\\.azure\\.com", "10\\.0\\.[0-9]+\\.[0-9]+"]"#,
            ),
        ])
        .unwrap();
        assert_eq!(p.url().as_str(), "http://proxy.corp:8080/");
        assert_eq!(
            p.url_with_credentials().expose(),
            "http://svc%20user:p%40ss%3Bw@proxy.corp:8080"
        );
        assert!(p.bypasses(&url("https://dev.azure.com/org")));
        assert!(p.bypasses(&url("https://DEV.AZURE.COM/org")));
        assert!(!p.bypasses(&url("https://sts.amazonaws.com/")));
        assert_eq!(
            p.no_proxy_entries(&[]),
            vec![
                ".internal.corp",
                "dev.azure.com",
                "localhost",
                "127.0.0.1",
                "::1",
                "127.0.0.0/8"
            ]
        );
        assert_eq!(
            p.bypass_entries_without_host_form(),
            vec![r"10\.0\.[0-9]+\.[0-9]+"]
        );
    }

    #[test]
    fn the_agents_match_form_and_task_libs() {
        // agent VstsAgentWebProxy.IsMatchInBypassList: "scheme://host" plus
        // ":port" when the port is not the default; an anchored entry matches
        // that form even though the whole URL has a path.
        let p = proxy(&[
            ("AGENT_PROXYURL", "http://proxy:3128"),
            (
                "AGENT_PROXYBYPASSLIST",
                r#"["^https://s3\\.eu-west-1\\.amazonaws\\.com$", "^http://build\\.corp:8443$", "/_apis/"]"#,
            ),
        ])
        .unwrap();
        assert!(p.bypasses(&url("https://s3.eu-west-1.amazonaws.com/bucket/key")));
        assert!(p.bypasses(&url("http://build.corp:8443/x")));
        assert!(!p.bypasses(&url("http://build.corp/x")));
        // task-lib matches the whole URL.
        assert!(p.bypasses(&url("https://dev.azure.com/org/_apis/x")));
        // Loopback always goes direct (Uri.IsLoopback).
        assert!(p.bypasses(&url("http://127.0.0.2:9000/")));
        assert!(p.bypasses(&url("http://localhost:9000/")));
        assert!(p.bypasses(&url("http://[::1]:9000/")));
    }

    #[test]
    fn an_invalid_bypass_entry_is_skipped_and_the_rest_apply() {
        let p = proxy(&[
            ("AGENT_PROXYURL", "http://proxy:3128"),
            (
                "AGENT_PROXYBYPASSLIST",
                r#"["*\\.corp\\.cloud", "git\\.corp\\.cloud"]"#,
            ),
        ])
        .unwrap();
        let skipped = p.skipped_bypass_entries();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].pattern, r"*\.corp\.cloud");
        assert!(p.bypasses(&url("https://git.corp.cloud/")));
        assert!(!p.bypasses(&url("https://other.corp.cloud/")));
    }

    #[test]
    fn the_jobs_no_proxy_is_merged_first() {
        let p = proxy(&[
            ("AGENT_PROXYURL", "http://proxy:3128"),
            ("AGENT_PROXYBYPASSLIST", r#"["internal\\.corp"]"#),
            ("NO_PROXY", " vpce.amazonaws.com , .svc.local,localhost"),
            ("no_proxy", "10.1.0.0/16,.SVC.LOCAL"),
        ])
        .unwrap();
        assert_eq!(
            p.no_proxy_entries(&["169.254.169.254"]),
            vec![
                "vpce.amazonaws.com",
                ".svc.local",
                "localhost",
                "10.1.0.0/16",
                "internal.corp",
                "127.0.0.1",
                "::1",
                "127.0.0.0/8",
                "169.254.169.254"
            ]
        );
    }

    #[test]
    fn host_port_without_scheme_and_embedded_credentials() {
        let p = proxy(&[("AGENT_PROXYURL", "http://u:pw@proxy:3128")]).unwrap();
        assert_eq!(p.username(), Some("u"));
        assert_eq!(p.password().unwrap().expose(), "pw");
        assert_eq!(p.url().as_str(), "http://proxy:3128/");
        let p = proxy(&[("AGENT_PROXYURL", "proxy:3128")]).unwrap();
        assert_eq!(p.url().as_str(), "http://proxy:3128/");
    }

    #[test]
    fn password_forms_are_secrets_and_errors_hide_credentials() {
        let p = proxy(&[
            ("AGENT_PROXYURL", "http://proxy:8080"),
            ("AGENT_PROXYUSERNAME", "u"),
            ("SECRET_AGENT_PROXYPASSWORD", "p@ss;w"),
        ])
        .unwrap();
        assert_eq!(
            p.secrets(),
            vec!["p@ss;w", "p%40ss%3Bw", "http://u:p%40ss%3Bw@proxy:8080"]
        );
        let err = AgentProxy::from_env(&Env::from_pairs([("AGENT_PROXYURL", "http://u:hunter2@")]))
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(AgentProxy::from_env(&Env::from_pairs([("AGENT_PROXYURL", "http://")])).is_err());
        let err = AgentProxy::from_env(&Env::from_pairs([
            ("AGENT_PROXYURL", "http://p:1"),
            ("AGENT_PROXYBYPASSLIST", "nope"),
        ]))
        .unwrap_err();
        assert!(matches!(err, ProxyError::BadBypassList(_)));
    }
}
