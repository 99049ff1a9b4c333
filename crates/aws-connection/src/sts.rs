//! The STS exchanges: `AssumeRoleWithWebIdentity` with the job's OIDC token,
//! and `AssumeRole` with keys or ambient credentials.
//!
//! The SDK's own retries are off for these calls so that every failure is
//! classified here:
//! - retried with jittered backoff, a bounded number of times: throttling,
//!   5xx, timeouts, connection failures, `IDPCommunicationError`, and an
//!   `InvalidIdentityToken` that says the issuer could not be reached;
//! - a token older than five minutes (Azure DevOps tokens live about ten) is
//!   replaced before the next attempt, and an expired or unverifiable one
//!   right away;
//! - a duration longer than the role's `MaxSessionDuration` is retried once
//!   at 3600 s, with a warning;
//! - `AccessDenied` and validation errors fail at once; a denied web
//!   identity prints the token's `iss`, `aud`, `sub` and a trust policy that
//!   would allow them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use azp_task::jwt::JwtClaims;
use azp_task::oidc::{OidcToken, OidcTokenRequest, RetryPolicy};
use azp_task::{Env, Logger};

use crate::error::CredentialsError;
use crate::provider::{BoxFuture, Clock, CredentialSource};
use crate::settings::{RoleArn, RoleSpec};

/// A token older than this is replaced before the next STS attempt.
pub const TOKEN_MAX_AGE: Duration = Duration::from_secs(300);

/// Retry bounds of the STS exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StsRetry {
    /// Attempts in all.
    pub max_attempts: u32,
    /// First delay; doubles each time.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for StsRetry {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl StsRetry {
    fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        exp / 2 + exp.mul_f64(fastrand::f64() / 2.0)
    }
}

/// What a failed STS call means for the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Try again after a pause.
    Transient(String),
    /// Try again after a pause, with a new token.
    NeedsNewToken(String),
    /// The duration is longer than the role allows.
    DurationTooLong(String),
    /// Access denied: the trust policy does not match.
    Denied {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
    /// Anything else: retrying will not help.
    Fatal {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

/// Classify an STS failure.
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> Failure {
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("Unknown").to_owned();
            let message = ctx.err().message().unwrap_or_default().to_owned();
            let status = ctx.raw().status().as_u16();
            classify_service(&code, &message, status)
        }
        SdkError::TimeoutError(_) => Failure::Transient("the request timed out".into()),
        SdkError::DispatchFailure(d) if d.is_user() => Failure::Fatal {
            code: "ClientError".into(),
            message: azp_task::render_error(err),
        },
        SdkError::DispatchFailure(_) => Failure::Transient(format!(
            "the request could not be sent: {}",
            azp_task::render_error(err)
        )),
        SdkError::ResponseError(_) => Failure::Transient(format!(
            "the response could not be read: {}",
            azp_task::render_error(err)
        )),
        _ => Failure::Fatal {
            code: "ClientError".into(),
            message: azp_task::render_error(err),
        },
    }
}

/// Classify an STS service error by code, message and HTTP status.
#[must_use]
pub fn classify_service(code: &str, message: &str, status: u16) -> Failure {
    let lower = message.to_lowercase();
    match code {
        "AccessDenied" | "AccessDeniedException" => Failure::Denied {
            code: code.into(),
            message: message.into(),
        },
        "IDPCommunicationError" => Failure::NeedsNewToken(format!("{code}: {message}")),
        "InvalidIdentityToken"
            if lower.contains("verification key")
                || lower.contains("could not be reached")
                || lower.contains("unable to reach")
                || lower.contains("couldn't retrieve") =>
        {
            Failure::NeedsNewToken(format!("{code}: {message}"))
        }
        "ExpiredTokenException" => Failure::NeedsNewToken(format!("{code}: {message}")),
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "SlowDown"
        | "RequestThrottled" => Failure::Transient(format!("{code}: {message}")),
        "ValidationError"
            if lower.contains("durationseconds")
                && (lower.contains("maxsessionduration") || lower.contains("session limit")) =>
        {
            Failure::DurationTooLong(message.into())
        }
        _ if status >= 500 => Failure::Transient(format!("HTTP {status} {code}: {message}")),
        _ => Failure::Fatal {
            code: code.into(),
            message: message.into(),
        },
    }
}

/// A trust policy that allows exactly this token to assume a role in the
/// role's account, for the error message.
#[must_use]
pub fn trust_policy(role: &RoleArn, claims: &JwtClaims) -> String {
    let host = issuer_host(&claims.iss);
    let aud = claims.aud.first().cloned().unwrap_or_default();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": format!("arn:{}:iam::{}:oidc-provider/{host}", role.partition, role.account) },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": { "StringEquals": { format!("{host}:aud"): aud, format!("{host}:sub"): claims.sub } }
        }]
    });
    serde_json::to_string_pretty(&policy).unwrap_or_default()
}

/// The issuer without its scheme and trailing slash, as IAM names providers.
#[must_use]
pub fn issuer_host(iss: &str) -> String {
    iss.trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

fn credentials_from(
    out: Option<aws_sdk_sts::types::Credentials>,
    provider: &'static str,
) -> Result<Credentials, CredentialsError> {
    let c = out.ok_or_else(|| CredentialsError::Http("STS answered without credentials".into()))?;
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        expiry,
        provider,
    ))
}

fn duration_secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(3600)
}

/// Why an exchange stops.
enum Stop {
    /// Access denied: the caller words the message.
    Denied { code: String, message: String },
    /// Not retryable: the caller adds a hint.
    Fatal { code: String, message: String },
    /// A finished error.
    Error(CredentialsError),
}

/// The retry state of one exchange: attempts made, and the session length,
/// which is lowered once to 3600 s when the role does not allow more.
struct Attempts<'a> {
    log: &'a Logger,
    retry: StsRetry,
    role: &'a RoleSpec,
    operation: &'static str,
    attempt: u32,
    duration: Duration,
    shortened: bool,
}

impl<'a> Attempts<'a> {
    fn new(log: &'a Logger, retry: StsRetry, role: &'a RoleSpec, operation: &'static str) -> Self {
        Self {
            log,
            retry,
            role,
            operation,
            attempt: 1,
            duration: role.duration,
            shortened: false,
        }
    }

    fn fatal(&self, code: String, message: String, hint: String) -> CredentialsError {
        let hint = match code.as_str() {
            "RegionDisabledException" => " Activate STS for this region in the account's IAM settings, or choose another region.".to_owned(),
            "ValidationError" if hint.is_empty() && message.contains("DurationSeconds") => " Raise the role's maximum session duration.".to_owned(),
            _ => hint,
        };
        CredentialsError::Sts {
            operation: self.operation,
            role: self.role.arn.describe(),
            code,
            detail: message,
            hint,
        }
    }

    /// What to do after `failure`: `Ok(new_token)` to try again (after a
    /// pause, unless only the duration changed), or why to stop.
    async fn next(&mut self, failure: Failure) -> Result<bool, Stop> {
        match failure {
            Failure::DurationTooLong(msg)
                if !self.shortened && self.duration > crate::settings::DEFAULT_DURATION =>
            {
                self.log.warning(format!(
                    "The {} does not allow {} s sessions ({msg}); using 3600 s. Raise the role's maximum session duration or lower the variable {}.",
                    self.role.arn.describe(),
                    self.duration.as_secs(),
                    crate::settings::vars::MAX_DURATION
                ));
                self.duration = crate::settings::DEFAULT_DURATION;
                self.shortened = true;
                Ok(false)
            }
            Failure::DurationTooLong(message) => Err(Stop::Fatal {
                code: "ValidationError".into(),
                message,
            }),
            Failure::Denied { code, message } => Err(Stop::Denied { code, message }),
            Failure::Fatal { code, message } => Err(Stop::Fatal { code, message }),
            Failure::Transient(reason) => self.pause(reason).await.map(|()| false),
            Failure::NeedsNewToken(reason) => self.pause(reason).await.map(|()| true),
        }
    }

    /// Wait before the next attempt, or stop when the attempts are used up.
    async fn pause(&mut self, reason: String) -> Result<(), Stop> {
        if self.attempt >= self.retry.max_attempts {
            return Err(Stop::Error(CredentialsError::StsExhausted {
                operation: self.operation,
                role: self.role.arn.describe(),
                attempts: self.attempt,
                last: reason,
            }));
        }
        let delay = self.retry.delay(self.attempt);
        self.log.info(&format!(
            "{} failed ({reason}); retrying in {:.1} s (attempt {} of {}).",
            self.operation,
            delay.as_secs_f64(),
            self.attempt + 1,
            self.retry.max_attempts
        ));
        tokio::time::sleep(delay).await;
        self.attempt += 1;
        Ok(())
    }
}

/// `AssumeRoleWithWebIdentity` with the job's OIDC token.
#[derive(Debug)]
pub struct WebIdentitySource {
    /// The task environment (to build the token request).
    pub env: Env,
    /// The writer.
    pub log: Logger,
    /// HTTP client for the token request.
    pub http: reqwest::Client,
    /// Token request retries.
    pub token_retry: RetryPolicy,
    /// The connection id.
    pub connection_id: String,
    /// The role.
    pub role: RoleSpec,
    /// An STS client with retries off.
    pub sts: aws_sdk_sts::Client,
    /// STS retries.
    pub retry: StsRetry,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Whether the claims were shown already.
    pub described: AtomicBool,
}

impl WebIdentitySource {
    async fn token(&self) -> Result<(OidcToken, SystemTime), CredentialsError> {
        let wrap = |source| CredentialsError::OidcToken {
            connection: self.connection_id.clone(),
            source,
        };
        let request = OidcTokenRequest::from_env(&self.env, &self.connection_id).map_err(wrap)?;
        let token = request
            .fetch(&self.http, &self.log, &self.token_retry)
            .await
            .map_err(wrap)?;
        let c = &token.claims;
        if self.described.swap(true, Ordering::SeqCst) {
            self.log
                .debug(&format!("Requested a new OIDC token (sub {}).", c.sub));
        } else {
            self.log.info(&format!(
                "OIDC token for service connection {}:",
                self.connection_id
            ));
            self.log.info(&format!("  iss: {}", c.iss));
            self.log.info(&format!("  aud: {}", c.aud.join(", ")));
            self.log.info(&format!("  sub: {}", c.sub));
            if let (Some(exp), Some(iat)) = (c.exp, c.iat) {
                self.log
                    .debug(&format!("OIDC token lifetime: {} s", exp - iat));
            }
            self.log.info(&format!(
                "Assuming {} with the OIDC token (session name {}, {} s).",
                self.role.arn.describe(),
                self.role.session_name,
                self.role.duration.as_secs()
            ));
        }
        Ok((token, self.clock.now()))
    }

    async fn exchange(&self) -> Result<Credentials, CredentialsError> {
        let (mut token, mut fetched) = self.token().await?;
        let mut attempts = Attempts::new(
            &self.log,
            self.retry,
            &self.role,
            "AssumeRoleWithWebIdentity",
        );
        loop {
            let age = self.clock.now().duration_since(fetched).unwrap_or_default();
            if age > TOKEN_MAX_AGE {
                (token, fetched) = self.token().await?;
            }
            let result = self
                .sts
                .assume_role_with_web_identity()
                .role_arn(&self.role.arn.arn)
                .role_session_name(&self.role.session_name)
                .web_identity_token(token.token.expose())
                .duration_seconds(duration_secs(attempts.duration))
                .send()
                .await;
            let err = match result {
                Ok(out) => return credentials_from(out.credentials, "AzurePipelinesOidc"),
                Err(e) => e,
            };
            match attempts.next(classify(&err)).await {
                // Forces a new token before the next attempt.
                Ok(true) => fetched = SystemTime::UNIX_EPOCH,
                Ok(false) => {}
                Err(Stop::Denied { code, message }) => {
                    return Err(self.denied(&token.claims, code, message));
                }
                Err(Stop::Fatal { code, message }) => {
                    let c = &token.claims;
                    let hint = match code.as_str() {
                        "InvalidIdentityToken" | "IDPRejectedClaim" => format!(
                            " The token (iss {}, aud {}, sub {}) was rejected: account {} needs an IAM OIDC identity provider for {} whose audiences include {}.",
                            c.iss,
                            c.aud.join(", "),
                            c.sub,
                            self.role.arn.account,
                            issuer_host(&c.iss),
                            c.aud.join(", ")
                        ),
                        _ => String::new(),
                    };
                    return Err(attempts.fatal(code, message, hint));
                }
                Err(Stop::Error(e)) => return Err(e),
            }
        }
    }

    fn denied(&self, claims: &JwtClaims, code: String, detail: String) -> CredentialsError {
        CredentialsError::WebIdentityDenied(Box::new(crate::error::WebIdentityDenial {
            role: self.role.arn.describe(),
            account: self.role.arn.account.clone(),
            code,
            detail,
            iss: claims.iss.clone(),
            issuer_host: issuer_host(&claims.iss),
            aud: claims.aud.join(", "),
            sub: claims.sub.clone(),
            policy: trust_policy(&self.role.arn, claims),
        }))
    }
}

impl CredentialSource for WebIdentitySource {
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.exchange())
    }
}

/// `AssumeRole` with base credentials (keys or the ambient chain).
#[derive(Debug)]
pub struct AssumeRoleSource {
    /// The writer.
    pub log: Logger,
    /// The role.
    pub role: RoleSpec,
    /// An STS client signing with the base credentials, retries off.
    pub sts: aws_sdk_sts::Client,
    /// STS retries.
    pub retry: StsRetry,
    /// What the base credentials are, for the log.
    pub base: &'static str,
    /// Whether the plan was shown already.
    pub described: AtomicBool,
}

impl AssumeRoleSource {
    async fn exchange(&self) -> Result<Credentials, CredentialsError> {
        if !self.described.swap(true, Ordering::SeqCst) {
            self.log.info(&format!(
                "Assuming {} with {} (session name {}, {} s{}).",
                self.role.arn.describe(),
                self.base,
                self.role.session_name,
                self.role.duration.as_secs(),
                if self.role.external_id.is_some() {
                    ", with an external ID"
                } else {
                    ""
                }
            ));
        }
        let mut attempts = Attempts::new(&self.log, self.retry, &self.role, "AssumeRole");
        loop {
            let result = self
                .sts
                .assume_role()
                .role_arn(&self.role.arn.arn)
                .role_session_name(&self.role.session_name)
                .set_external_id(
                    self.role
                        .external_id
                        .as_ref()
                        .map(|e| e.expose().to_owned()),
                )
                .duration_seconds(duration_secs(attempts.duration))
                .send()
                .await;
            let err = match result {
                Ok(out) => return credentials_from(out.credentials, "AzurePipelinesAssumeRole"),
                Err(e) => e,
            };
            match attempts.next(classify(&err)).await {
                Ok(_) => {}
                Err(Stop::Denied { code, message }) => {
                    let caller = match self.sts.get_caller_identity().send().await {
                        Ok(id) => id.arn().unwrap_or("the caller").to_owned(),
                        Err(_) => format!("the {}", self.base),
                    };
                    let external_id_hint = if self.role.external_id.is_some() {
                        " with the condition sts:ExternalId equal to the External ID that was sent"
                            .to_owned()
                    } else {
                        String::new()
                    };
                    return Err(CredentialsError::AssumeRoleDenied {
                        role: self.role.arn.describe(),
                        caller,
                        code,
                        detail: message,
                        external_id_hint,
                    });
                }
                Err(Stop::Fatal { code, message }) => {
                    return Err(attempts.fatal(code, message, String::new()));
                }
                Err(Stop::Error(e)) => return Err(e),
            }
        }
    }
}

impl CredentialSource for AssumeRoleSource {
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.exchange())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(matches!(
            classify_service(
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                403
            ),
            Failure::Denied { .. }
        ));
        assert!(matches!(
            classify_service("IDPCommunicationError", "x", 400),
            Failure::NeedsNewToken(_)
        ));
        assert!(matches!(
            classify_service(
                "InvalidIdentityToken",
                "Couldn't retrieve verification key from your identity provider",
                400
            ),
            Failure::NeedsNewToken(_)
        ));
        assert!(matches!(
            classify_service("InvalidIdentityToken", "Incorrect token audience", 400),
            Failure::Fatal { .. }
        ));
        assert!(matches!(
            classify_service("Throttling", "Rate exceeded", 400),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify_service("InternalFailure", "", 500),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify_service(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                400
            ),
            Failure::DurationTooLong(_)
        ));
        assert!(matches!(
            classify_service(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                400
            ),
            Failure::DurationTooLong(_)
        ));
        assert!(matches!(
            classify_service(
                "ValidationError",
                "1 validation error detected: roleSessionName",
                400
            ),
            Failure::Fatal { .. }
        ));
    }

    #[test]
    fn trust_policy_for_both_issuers() {
        let role = RoleArn::parse("arn:aws:iam::123456789012:role/deploy", "t").unwrap();
        let claims = JwtClaims {
            iss: "https://vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b".into(),
            sub: "sc://contoso/Web Shop/aws-prod".into(),
            aud: vec!["api://AzureADTokenExchange".into()],
            iat: None,
            nbf: None,
            exp: None,
        };
        let p: serde_json::Value = serde_json::from_str(&trust_policy(&role, &claims)).unwrap();
        let st = &p["Statement"][0];
        assert_eq!(
            st["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b"
        );
        assert_eq!(st["Action"], "sts:AssumeRoleWithWebIdentity");
        let cond = &st["Condition"]["StringEquals"];
        assert_eq!(
            cond["vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b:aud"],
            "api://AzureADTokenExchange"
        );
        assert_eq!(
            cond["vstoken.dev.azure.com/0f6b8a52-6d5e-4c1b-9a39-1c2d3e4f5a6b:sub"],
            "sc://contoso/Web Shop/aws-prod"
        );

        let entra = JwtClaims {
            iss: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
                .into(),
            ..claims
        };
        let p: serde_json::Value = serde_json::from_str(&trust_policy(&role, &entra)).unwrap();
        assert_eq!(
            p["Statement"][0]["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        );
    }
}
