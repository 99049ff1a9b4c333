//! The job's OIDC token for a service connection (workload identity federation).
//!
//! Azure DevOps issues a short-lived JWT for a service connection used by the
//! job: `POST {System.OidcRequestUri}?api-version=7.1&serviceConnectionId={id}`
//! with the job access token as bearer. Agents that predate that variable
//! get the long form,
//! `{collectionUri}{projectId}/_apis/distributedtask/hubs/{hostType}/plans/{planId}/jobs/{jobId}/oidctoken`.
//!
//! Timeouts, connection failures, 408, 429 and 5xx are retried with jittered
//! exponential backoff inside a total budget of about two minutes; 401, 403
//! and 404 are not, and their errors say what to check. The token is
//! registered as a secret the moment it arrives.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::env::{Env, names};
use crate::jwt::{JwtClaims, decode_claims};
use crate::log::Logger;
use crate::secret::Secret;
use crate::time::{Backoff, Clock};

/// How the token request retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts and delays.
    pub backoff: Backoff,
    /// No retry starts once this much time has passed since the first attempt.
    pub budget: Duration,
    /// Time limit of one attempt.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            backoff: Backoff {
                max_attempts: 6,
                base_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(30),
            },
            budget: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

/// Where and how to ask for the token.
#[derive(Debug, Clone)]
pub struct OidcTokenRequest {
    url: Url,
    access_token: Secret,
    connection_id: String,
}

/// A job OIDC token and its decoded claims.
#[derive(Debug, Clone)]
pub struct OidcToken {
    /// The JWT.
    pub token: Secret,
    /// Its claims, decoded without verification.
    pub claims: JwtClaims,
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The job access token is missing.
    #[error(
        "The job access token (SystemVssConnection) is not available, so no OIDC token can be requested. \
         In a classic pipeline, enable 'Allow scripts to access the OAuth token' on the agent job."
    )]
    NoAccessToken,
    /// Neither the short nor the long form of the URL can be built.
    #[error(
        "The OIDC token endpoint is unknown: System.OidcRequestUri is not set, and neither are all of \
         System.CollectionUri, System.TeamProjectId, System.HostType, System.PlanId and System.JobId (missing: {missing}). \
         Use an agent of version 3.225 or newer."
    )]
    NoEndpoint {
        /// The variables that were missing.
        missing: String,
    },
    /// The service connection id is not a GUID; Azure DevOps would silently
    /// return a pipeline token instead of a service-connection token.
    #[error(
        "The service connection id '{0}' is not a GUID, so Azure DevOps cannot issue a token for it. Select the service connection in the task's input."
    )]
    InvalidConnectionId(String),
    /// 401 or 403.
    #[error(
        "Azure DevOps refused the OIDC token request for service connection {connection_id} (HTTP {status}{detail}). \
         Check that this pipeline is authorised to use the service connection, that the job access token is \
         enabled (classic pipelines: 'Allow scripts to access the OAuth token'), and that the job's authorization \
         scope can see the project that owns the connection.{diagnostics}"
    )]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// The service connection id.
        connection_id: String,
        /// The server's message, if any.
        detail: String,
        /// Correlation headers for a support request.
        diagnostics: String,
    },
    /// 404.
    #[error(
        "Azure DevOps found no OIDC token for service connection {connection_id} (HTTP 404{detail}). \
         The connection must exist in this project and be referenced by an input of a task in this job.{diagnostics}"
    )]
    NotFound {
        /// The service connection id.
        connection_id: String,
        /// The server's message, if any.
        detail: String,
        /// Correlation headers for a support request.
        diagnostics: String,
    },
    /// Another status that retrying cannot fix.
    #[error("The OIDC token request failed with HTTP {status}{detail}.{diagnostics}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The server's message, if any.
        detail: String,
        /// Correlation headers for a support request.
        diagnostics: String,
    },
    /// Every attempt failed with a transient error.
    #[error(
        "The OIDC token request failed {attempts} times over {seconds} s; the last failure was: {last}. \
         Azure DevOps may be degraded, or a proxy or firewall blocks the agent; check the agent's network and proxy settings and run again."
    )]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// Seconds spent.
        seconds: u64,
        /// The last failure.
        last: String,
    },
    /// 200 without an `oidcToken`.
    #[error(
        "Azure DevOps answered the OIDC token request without a token (no 'oidcToken' in the response).{diagnostics}"
    )]
    MissingToken {
        /// Correlation headers for a support request.
        diagnostics: String,
    },
    /// An answer that is not the JSON the API returns: a sign-in page (HTTP
    /// 203), or an HTML page from a proxy or a server in front of Azure DevOps.
    #[error(
        "The OIDC token request got {what} (HTTP {status}) instead of a JSON answer from Azure DevOps. {advice}{diagnostics}"
    )]
    NotJson {
        /// The HTTP status.
        status: u16,
        /// What came back, e.g. "an HTML page".
        what: String,
        /// What to check.
        advice: String,
        /// Correlation headers for a support request.
        diagnostics: String,
    },
    /// The token is not a JWT.
    #[error("Azure DevOps returned an OIDC token that cannot be read: {0}")]
    BadToken(#[from] crate::jwt::JwtError),
    /// The HTTP client could not be built.
    #[error("The HTTP client for the OIDC token request could not be created: {0}")]
    Client(String),
    /// A TLS certificate failure: never retried.
    #[error("The OIDC token request failed: {0}.")]
    Tls(crate::tls::TlsFailure),
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(rename = "oidcToken", default)]
    oidc_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    message: Option<String>,
}

enum Attempt {
    Done(Result<OidcToken, OidcError>),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
}

/// Whether `s` looks like a GUID (8-4-4-4-12 hex digits, braces allowed).
#[must_use]
pub fn is_guid(s: &str) -> bool {
    let s = s.trim().trim_start_matches('{').trim_end_matches('}');
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

impl OidcTokenRequest {
    /// Build the request for service connection `connection_id` from the
    /// job's variables.
    ///
    /// # Errors
    /// [`OidcError::NoAccessToken`], [`OidcError::NoEndpoint`] or
    /// [`OidcError::InvalidConnectionId`].
    pub fn from_env(env: &Env, connection_id: &str) -> Result<Self, OidcError> {
        let connection_id = connection_id.trim().to_owned();
        if !is_guid(&connection_id) {
            return Err(OidcError::InvalidConnectionId(connection_id));
        }
        let access_token = env
            .get_non_empty(names::SYSTEM_ACCESS_TOKEN_PARAMETER)
            .map(Secret::new)
            .ok_or(OidcError::NoAccessToken)?;
        let url = match env.get_non_empty(names::SYSTEM_OIDCREQUESTURI) {
            Some(short) => {
                let mut url = Url::parse(short).map_err(|_| OidcError::NoEndpoint {
                    missing: "a valid System.OidcRequestUri".into(),
                })?;
                url.query_pairs_mut()
                    .append_pair("api-version", "7.1")
                    .append_pair("serviceConnectionId", &connection_id);
                url
            }
            None => long_form(env, &connection_id)?,
        };
        Ok(Self {
            url,
            access_token,
            connection_id,
        })
    }

    /// The URL that will be called (it holds no secret).
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Ask for the token, retrying transient failures (waiting on `clock`),
    /// and register it as a secret on `log` before returning it.
    ///
    /// # Errors
    /// Any [`OidcError`].
    pub async fn fetch(
        &self,
        client: &reqwest::Client,
        log: &Logger,
        policy: &RetryPolicy,
        clock: &dyn Clock,
    ) -> Result<OidcToken, OidcError> {
        let start = clock.now();
        let backoff = &policy.backoff;
        let mut attempt = 1;
        loop {
            let (reason, after) = match self.attempt(client, log, policy).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { reason, after } => (reason, after),
            };
            let delay = after.map_or_else(|| backoff.delay(attempt), |a| a.min(backoff.max_delay));
            let elapsed = clock.now().duration_since(start).unwrap_or_default();
            if !backoff.allows_another(attempt) || elapsed + delay > policy.budget {
                return Err(OidcError::Exhausted {
                    attempts: attempt,
                    seconds: elapsed.as_secs(),
                    last: reason,
                });
            }
            log.info(&format!(
                "The OIDC token request failed ({reason}); retrying in {:.1} s (attempt {} of {}).",
                delay.as_secs_f64(),
                attempt + 1,
                backoff.max_attempts
            ));
            clock.sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        log: &Logger,
        policy: &RetryPolicy,
    ) -> Attempt {
        let request = client
            .post(self.url.clone())
            .bearer_auth(self.access_token.expose())
            .header("X-TFS-FedAuthRedirect", "Suppress")
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({}))
            .timeout(policy.attempt_timeout);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                if let Some(failure) = crate::tls::TlsFailure::find(&e, self.url.host_str()) {
                    return Attempt::Done(Err(OidcError::Tls(failure)));
                }
                return Attempt::Retry {
                    reason: describe_transport_error(&e),
                    after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let diagnostics = diagnostics(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    reason: describe_transport_error(&e),
                    after: None,
                };
            }
        };
        let retryable = matches!(status, 408 | 429 | 500..=599);
        if let Some(what) = not_json(status, &content_type, &body).filter(|_| !retryable) {
            return Attempt::Done(Err(OidcError::NotJson {
                status,
                advice: not_json_advice(status),
                what,
                diagnostics,
            }));
        }
        if status == 200 {
            let token = serde_json::from_slice::<TokenResponse>(&body)
                .ok()
                .and_then(|r| r.oidc_token)
                .filter(|t| !t.trim().is_empty());
            let Some(token) = token else {
                return Attempt::Done(Err(OidcError::MissingToken { diagnostics }));
            };
            log.set_secret(&token);
            return Attempt::Done(
                decode_claims(&token)
                    .map(|claims| OidcToken {
                        token: Secret::new(token),
                        claims,
                    })
                    .map_err(Into::into),
            );
        }
        let detail = server_message(&body);
        let connection_id = self.connection_id.clone();
        match status {
            408 | 429 | 500..=599 => Attempt::Retry {
                reason: format!("HTTP {status}{detail}"),
                after: retry_after,
            },
            401 | 403 => Attempt::Done(Err(OidcError::Unauthorized {
                status,
                connection_id,
                detail,
                diagnostics,
            })),
            404 => Attempt::Done(Err(OidcError::NotFound {
                connection_id,
                detail,
                diagnostics,
            })),
            _ => Attempt::Done(Err(OidcError::Http {
                status,
                detail,
                diagnostics,
            })),
        }
    }
}

fn long_form(env: &Env, connection_id: &str) -> Result<Url, OidcError> {
    let get = |n: &str| env.get_non_empty(n);
    let collection =
        get(names::SYSTEM_COLLECTIONURI).or_else(|| get(names::SYSTEM_TEAMFOUNDATIONSERVERURI));
    let parts = [
        ("System.CollectionUri", collection),
        ("System.TeamProjectId", get(names::SYSTEM_TEAMPROJECTID)),
        ("System.HostType", get(names::SYSTEM_HOSTTYPE)),
        ("System.PlanId", get(names::SYSTEM_PLANID)),
        ("System.JobId", get(names::SYSTEM_JOBID)),
    ];
    let missing: Vec<&str> = parts
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(OidcError::NoEndpoint {
            missing: missing.join(", "),
        });
    }
    let [c, p, h, plan, job] = parts.map(|(_, v)| v.unwrap_or_default());
    let base = if c.ends_with('/') {
        c.to_owned()
    } else {
        format!("{c}/")
    };
    let mut url = Url::parse(&format!(
        "{base}{p}/_apis/distributedtask/hubs/{h}/plans/{plan}/jobs/{job}/oidctoken"
    ))
    .map_err(|_| OidcError::NoEndpoint {
        missing: "a valid System.CollectionUri".into(),
    })?;
    url.query_pairs_mut()
        .append_pair("serviceConnectionId", connection_id)
        .append_pair("api-version", "7.1-preview.1");
    Ok(url)
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection error"
    };
    // reqwest's Display includes the URL, which holds no secret here.
    let mut msg = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&crate::http::cause_text(s));
        source = s.source();
    }
    msg
}

/// What a response is when it is not the API's JSON: `Some("an HTML page")`
/// and the like for a success status (200, 203) whose body is no JSON, and
/// for any status whose body is HTML. `None` for JSON, plain-text errors and
/// empty error bodies, which [`server_message`] handles.
fn not_json(status: u16, content_type: &str, body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.trim_start();
    let html = content_type.contains("html")
        || start.starts_with('<')
        || start
            .get(..9)
            .is_some_and(|s| s.eq_ignore_ascii_case("<!doctype"));
    if html {
        return Some("an HTML page".to_owned());
    }
    let success = (200..300).contains(&status);
    if success && serde_json::from_slice::<serde_json::Value>(body).is_err() {
        return Some(if start.is_empty() {
            "an empty answer".to_owned()
        } else {
            format!(
                "an answer that is not JSON (content type '{}')",
                if content_type.is_empty() {
                    "none"
                } else {
                    content_type
                }
            )
        });
    }
    None
}

fn not_json_advice(status: u16) -> String {
    if status == 203 || status == 401 || status == 403 {
        "This is Azure DevOps' sign-in page: the job access token was not accepted. Check that the job may use \
         its access token (in a classic pipeline, enable 'Allow scripts to access the OAuth token' on the agent \
         job), and that no proxy between the agent and Azure DevOps removes or replaces the Authorization header."
            .to_owned()
    } else {
        "Something between the agent and Azure DevOps answered instead: check that System.OidcRequestUri (or \
         System.CollectionUri) points at Azure DevOps, and the agent's proxy settings."
            .to_owned()
    }
}

/// The server's error message for the log: the `message` of a JSON error,
/// or a short plain-text body on one line. Never an HTML page.
fn server_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<ErrorResponse>(body)
        .ok()
        .and_then(|r| r.message)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            if text.trim_start().starts_with('<') {
                String::new()
            } else {
                text.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(300)
                    .collect()
            }
        });
    let message = message.trim();
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn diagnostics(headers: &reqwest::header::HeaderMap) -> String {
    let found: Vec<String> = ["x-msedge-ref", "x-vss-e2eid", "activityid"]
        .iter()
        .filter_map(|h| {
            headers
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(|v| format!("{h}: {v}"))
        })
        .collect();
    if found.is_empty() {
        String::new()
    } else {
        format!(" ({})", found.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2b9c1e-0a4d-4c5e-9f00-1234567890ab";

    #[test]
    fn short_form_url() {
        let env = Env::from_pairs([
            (
                "SYSTEM_OIDCREQUESTURI",
                "https://dev.azure.com/org/proj/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken",
            ),
            (
                "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN",
                "tok",
            ),
        ]);
        let r = OidcTokenRequest::from_env(&env, ID).unwrap();
        assert_eq!(
            r.url().as_str(),
            format!(
                "https://dev.azure.com/org/proj/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken?api-version=7.1&serviceConnectionId={ID}"
            )
        );
    }

    #[test]
    fn long_form_url() {
        let env = Env::from_pairs([
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/org"),
            ("SYSTEM_TEAMPROJECTID", "pid"),
            ("SYSTEM_HOSTTYPE", "build"),
            ("SYSTEM_PLANID", "plan"),
            ("SYSTEM_JOBID", "job"),
            (
                "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN",
                "tok",
            ),
        ]);
        let r = OidcTokenRequest::from_env(&env, ID).unwrap();
        assert_eq!(
            r.url().as_str(),
            format!(
                "https://dev.azure.com/org/pid/_apis/distributedtask/hubs/build/plans/plan/jobs/job/oidctoken?serviceConnectionId={ID}&api-version=7.1-preview.1"
            )
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        let env = Env::from_pairs([
            (
                "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN",
                "tok",
            ),
            ("SYSTEM_PLANID", "p"),
        ]);
        let err = OidcTokenRequest::from_env(&env, ID)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "System.CollectionUri, System.TeamProjectId, System.HostType, System.JobId"
            ),
            "{err}"
        );
        let env = Env::from_pairs([("SYSTEM_OIDCREQUESTURI", "https://x/")]);
        assert!(matches!(
            OidcTokenRequest::from_env(&env, ID),
            Err(OidcError::NoAccessToken)
        ));
        assert!(matches!(
            OidcTokenRequest::from_env(&env, "my-connection"),
            Err(OidcError::InvalidConnectionId(_))
        ));
    }

    #[test]
    fn answers_that_are_not_json() {
        let page = b"<!DOCTYPE html><html><title>Sign In</title></html>";
        assert_eq!(
            not_json(203, "text/html; charset=utf-8", page).as_deref(),
            Some("an HTML page")
        );
        assert_eq!(not_json(200, "", page).as_deref(), Some("an HTML page"));
        assert_eq!(
            not_json(500, "text/html", b"<html>proxy error</html>").as_deref(),
            Some("an HTML page")
        );
        assert_eq!(
            not_json(200, "text/plain", b"ok").as_deref(),
            Some("an answer that is not JSON (content type 'text/plain')")
        );
        assert_eq!(
            not_json(200, "application/json", br#"{"oidcToken":"x"}"#),
            None
        );
        assert_eq!(not_json(404, "text/plain", b"Not Found"), None);
        assert_eq!(server_message(b"<html>secret page</html>"), "");
        assert_eq!(server_message(b"  Not\n Found "), ": Not Found");
        assert_eq!(
            server_message(br#"{"message":"TF400813: not authorized"}"#),
            ": TF400813: not authorized"
        );
    }

    #[test]
    fn guids() {
        assert!(is_guid(ID));
        assert!(is_guid(&format!("{{{}}}", ID.to_uppercase())));
        assert!(!is_guid("3f2b9c1e0a4d4c5e9f001234567890ab"));
        assert!(!is_guid("zf2b9c1e-0a4d-4c5e-9f00-1234567890ab"));
    }

    #[test]
    fn the_default_policy_keeps_within_about_two_minutes() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff.max_attempts, 6);
        assert_eq!(p.backoff.base_delay, Duration::from_secs(2));
        assert_eq!(p.backoff.max_delay, Duration::from_secs(30));
        assert_eq!(p.budget, Duration::from_secs(120));
    }
}
