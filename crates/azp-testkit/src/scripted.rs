//! A scripted HTTP server on loopback, for failures real services will not
//! produce on demand: STS throttling, 5xx, `AccessDenied`, an unreachable
//! identity provider, or an EC2 instance metadata service.
//!
//! Rules match on method, path prefix and an optional body substring; each
//! answers a fixed number of times (or forever) with a canned response.
//! Every request is recorded.

use std::time::Duration;

use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;

pub use crate::oidc_server::RecordedRequest;
use crate::serve::{Emulation, Reply};

/// What a rule answers.
#[derive(Debug, Clone)]
pub struct Canned {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Canned {
    /// A response with a status and body.
    #[must_use]
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
        }
    }

    /// An XML response (the AWS query protocol).
    #[must_use]
    pub fn xml(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, body).header("content-type", "text/xml")
    }

    /// Add a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answer after a delay.
    #[must_use]
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// Which requests a rule answers.
#[derive(Debug, Clone, Default)]
pub struct Match {
    /// HTTP method, any when `None`.
    pub method: Option<String>,
    /// Path prefix.
    pub path_prefix: String,
    /// A substring the body must contain.
    pub body_contains: Option<String>,
}

impl Match {
    /// Any request whose body contains `needle` (e.g. `Action=AssumeRole&`).
    #[must_use]
    pub fn body(needle: &str) -> Self {
        Self {
            body_contains: Some(needle.to_owned()),
            ..Self::default()
        }
    }

    /// `method path_prefix`.
    #[must_use]
    pub fn path(method: &str, path_prefix: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_prefix: path_prefix.to_owned(),
            body_contains: None,
        }
    }
}

struct Rule {
    matcher: Match,
    response: Canned,
    remaining: Option<usize>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    requests: Vec<RecordedRequest>,
}

/// The running server. Stops when dropped.
#[derive(Debug)]
pub struct ScriptedServer {
    server: Emulation<State>,
}

impl Default for ScriptedServer {
    fn default() -> Self {
        Self::start()
    }
}

impl ScriptedServer {
    /// Start on a free loopback port with no rules (every request gets 404).
    #[must_use]
    pub fn start() -> Self {
        let server = Emulation::start(State::default(), handle);
        Self { server }
    }

    /// `http://127.0.0.1:{port}`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Answer matching requests `times` times (`None`: forever). Earlier
    /// rules win while they last.
    pub fn on(&self, matcher: Match, response: Canned, times: Option<usize>) {
        self.server.lock().rules.push(Rule {
            matcher,
            response,
            remaining: times,
        });
    }

    /// Every request received.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.lock().requests.clone()
    }
}

/// One request: the first rule that matches and has answers left.
fn handle(st: &mut State, recorded: RecordedRequest) -> Reply {
    let (method, path, body) = (
        recorded.method.clone(),
        recorded.path.clone(),
        recorded.body.clone(),
    );
    st.requests.push(recorded);
    let rule = st.rules.iter_mut().find(|r| {
        r.remaining != Some(0)
            && r.matcher
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&method))
            && path.starts_with(&r.matcher.path_prefix)
            && r.matcher
                .body_contains
                .as_deref()
                .is_none_or(|b| body.contains(b))
    });
    let canned = rule
        .map(|r| {
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            r.response.clone()
        })
        .unwrap_or_else(|| Canned::new(404, format!("no scripted answer for {method} {path}")));
    let mut builder = Response::builder().status(canned.status);
    for (k, v) in &canned.headers {
        builder = builder.header(k, v);
    }
    Reply {
        response: builder
            .body(Full::new(Bytes::from(canned.body)))
            .unwrap_or_default(),
        delay: canned.delay,
    }
}

/// Canned AWS STS answers (query protocol, XML).
pub mod sts {
    use super::Canned;

    /// A successful `AssumeRole` or `AssumeRoleWithWebIdentity` (`operation`)
    /// with credentials numbered `n`, expiring in 2030.
    #[must_use]
    pub fn credentials(operation: &str, n: u32) -> Canned {
        Canned::xml(
            200,
            format!(
                r#"<{operation}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{operation}Result><Credentials><AccessKeyId>ASIASCRIPTED{n:08}</AccessKeyId><SecretAccessKey>scriptedSecretAccessKey{n:08}</SecretAccessKey><SessionToken>scriptedSessionToken{n:08}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools</Arn><AssumedRoleId>AROASCRIPTED:aws-vsts-tools</AssumedRoleId></AssumedRoleUser></{operation}Result><ResponseMetadata><RequestId>req-{n}</RequestId></ResponseMetadata></{operation}Response>"#
            ),
        )
    }

    /// As [`credentials`], expiring at `expires`.
    #[must_use]
    pub fn credentials_expiring(operation: &str, n: u32, expires: std::time::SystemTime) -> Canned {
        let mut c = credentials(operation, n);
        c.body = c
            .body
            .replace("2030-01-01T00:00:00Z", &super::rfc3339(expires));
        c
    }

    /// A successful `GetCallerIdentity`.
    #[must_use]
    pub fn caller_identity(arn: &str) -> Canned {
        Canned::xml(
            200,
            format!(
                r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDASCRIPTED</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-id</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
            ),
        )
    }

    /// The request id the canned STS errors carry, in the body and in the
    /// `x-amzn-RequestId` header, as STS sends it.
    pub const ERROR_REQUEST_ID: &str = "4c8a2f1e-7d3b-4e5a-9f60-1b2c3d4e5f6a";

    /// An STS error.
    #[must_use]
    pub fn error(status: u16, code: &str, message: &str) -> Canned {
        Canned::xml(
            status,
            format!(
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{ERROR_REQUEST_ID}</RequestId></ErrorResponse>"#
            ),
        )
        .header("x-amzn-RequestId", ERROR_REQUEST_ID)
    }
}

/// `2026-11-25T21:00:00Z` for a time (UTC, whole seconds).
#[must_use]
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_640_400);
        assert_eq!(super::rfc3339(t), "2026-11-25T21:00:00Z");
        assert_eq!(
            super::rfc3339(std::time::UNIX_EPOCH),
            "1970-01-01T00:00:00Z"
        );
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(super::rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
