//! The agent's proxy settings, in one form every HTTP client can use.
//!
//! A self-hosted agent configured with `--proxyurl` passes `Agent.ProxyUrl`,
//! `Agent.ProxyUsername`, `Agent.ProxyPassword` (secret) and
//! `Agent.ProxyBypassList` (a JSON array of regular expressions matched
//! against the whole request URL, case-insensitively, as task-lib's HTTP
//! client does) to every task. [`AgentProxy`] turns them into a proxy URL with
//! credentials, a bypass test, and the `HTTPS_PROXY`/`NO_PROXY` values that
//! child processes and other clients understand.

use regex_lite::{Regex, RegexBuilder};
use url::Url;

use crate::env::{Env, names};
use crate::secret::Secret;
use crate::variables::Variables;

/// The agent's proxy.
#[derive(Debug, Clone)]
pub struct AgentProxy {
    url: Url,
    username: Option<String>,
    password: Option<Secret>,
    bypass: Vec<(String, Regex)>,
}

/// A proxy setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// `Agent.ProxyUrl` is not a URL.
    #[error(
        "The agent's proxy URL (Agent.ProxyUrl) '{0}' is not a valid URL. Fix the agent's proxy configuration (.proxy file or --proxyurl)."
    )]
    BadUrl(String),
    /// `Agent.ProxyBypassList` is not a JSON array of strings.
    #[error(
        "The agent's proxy bypass list (Agent.ProxyBypassList) is not a JSON array of strings: {0}"
    )]
    BadBypassList(String),
}

impl AgentProxy {
    /// The proxy configured for the agent, if any.
    ///
    /// # Errors
    /// [`ProxyError`] when the URL or the bypass list cannot be read.
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
        if let Some(list) = vars.get(names::AGENT_PROXYBYPASSLIST) {
            let patterns: Vec<String> =
                serde_json::from_str(list).map_err(|e| ProxyError::BadBypassList(e.to_string()))?;
            for p in patterns {
                let p = p.trim().to_owned();
                if p.is_empty() {
                    continue;
                }
                let re = RegexBuilder::new(&p)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| {
                        ProxyError::BadBypassList(format!("'{p}' is not a regular expression: {e}"))
                    })?;
                bypass.push((p, re));
            }
        }
        Ok(Some(Self {
            url,
            username,
            password,
            bypass,
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

    /// Whether a request to `url` goes direct, per the bypass list.
    #[must_use]
    pub fn bypasses(&self, url: &Url) -> bool {
        self.bypass.iter().any(|(_, re)| re.is_match(url.as_str()))
    }

    /// The bypass list as `NO_PROXY` host entries, for clients that only
    /// understand host names. Patterns that are not a plain host or a
    /// `.*.domain` suffix cannot be expressed and are returned separately so
    /// the caller can say so.
    #[must_use]
    pub fn no_proxy(&self) -> (Vec<String>, Vec<String>) {
        let mut hosts = Vec::new();
        let mut skipped = Vec::new();
        for (pattern, _) in &self.bypass {
            match regex_to_host(pattern) {
                Some(h) => hosts.push(h),
                None => skipped.push(pattern.clone()),
            }
        }
        (hosts, skipped)
    }

    /// A reqwest proxy that applies the bypass list per request.
    #[must_use]
    pub fn reqwest_proxy(&self) -> reqwest::Proxy {
        let this = self.clone();
        let target = self.url.clone();
        let mut proxy =
            reqwest::Proxy::custom(move |u| (!this.bypasses(u)).then(|| target.clone()));
        if let (Some(user), Some(pass)) = (&self.username, &self.password) {
            proxy = proxy.basic_auth(user, pass.expose());
        }
        proxy
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
        assert!(p.bypasses(&Url::parse("https://dev.azure.com/org").unwrap()));
        assert!(p.bypasses(&Url::parse("https://DEV.AZURE.COM/org").unwrap()));
        assert!(!p.bypasses(&Url::parse("https://sts.amazonaws.com/").unwrap()));
        let (hosts, skipped) = p.no_proxy();
        assert_eq!(hosts, vec![".internal.corp", "dev.azure.com"]);
        assert_eq!(skipped.len(), 1);
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
        assert!(
            AgentProxy::from_env(&Env::from_pairs([
                ("AGENT_PROXYURL", "http://p:1"),
                ("AGENT_PROXYBYPASSLIST", "nope")
            ]))
            .is_err()
        );
    }
}
