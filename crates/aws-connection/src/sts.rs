//! The STS exchanges: `AssumeRoleWithWebIdentity` with the job's OIDC token,
//! and `AssumeRole` with keys or ambient credentials.
//!
//! The SDK's own retries are off for these calls so that every failure is
//! classified here (STS API reference, "Errors" of each operation, and
//! "Common Errors"):
//! - retried with jittered backoff, a bounded number of times: throttling,
//!   5xx, timeouts, connection failures, `IDPCommunicationError`, and an
//!   `InvalidIdentityToken` that says the issuer could not be reached;
//! - a token older than five minutes (Azure DevOps tokens live about ten) is
//!   replaced before the next attempt, and an expired (`ExpiredTokenException`)
//!   or unverifiable one right away;
//! - a duration longer than the role allows is retried once at 3600 s, with
//!   a warning, and the shorter duration is kept for later refreshes; role
//!   chaining is capped at one hour by AWS whatever the role allows;
//! - credentials that AWS rejects (`InvalidClientTokenId`,
//!   `SignatureDoesNotMatch`, an expired stored session token) fail at once
//!   with advice about the fields to change ([`crate::signer`]);
//! - `AccessDenied` and validation errors fail at once; a denied web
//!   identity prints the token's `iss`, `aud`, `sub` and a trust policy that
//!   would allow them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_clients::AwsError;
use aws_clients::error::{AwsErrorKind, is_credentials_error, is_throttling};
use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use azp_task::Logger;
use azp_task::jwt::JwtClaims;
use azp_task::oidc::{OidcToken, OidcTokenRequest, RetryPolicy};
use azp_task::time::Backoff;

use crate::error::ConnectError;
use crate::provider::{BoxFuture, Clock, CredentialSource};
use crate::settings::{DEFAULT_DURATION, RoleArn, RoleSpec, vars};
use crate::signer::Signer;

/// A token older than this is replaced before the next STS attempt.
pub const TOKEN_MAX_AGE: Duration = Duration::from_secs(300);

/// The retry bounds of the STS exchanges: five attempts, 1 s doubling to
/// at most 20 s, with jitter.
#[must_use]
pub fn default_sts_backoff() -> Backoff {
    Backoff {
        max_attempts: 5,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(20),
    }
}

/// What a failed STS call means for the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Try again after a pause.
    Transient(String),
    /// Try again after a pause, with a new token.
    NeedsNewToken(String),
    /// The duration is longer than the role, or role chaining, allows.
    DurationTooLong {
        /// STS's answer.
        error: AwsError,
        /// AWS's one-hour cap for role chaining, not the role's maximum.
        chaining: bool,
    },
    /// Access denied: the trust policy does not match.
    Denied(AwsError),
    /// The credentials the call was signed with are not valid.
    Rejected(AwsError),
    /// Anything else: retrying will not help.
    Fatal(AwsError),
}

/// Classify an STS failure. `signed` is false for the unsigned
/// `AssumeRoleWithWebIdentity`, whose `ExpiredTokenException` is about the
/// OIDC token, and true for calls signed with credentials.
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
    signed: bool,
) -> Failure {
    let e = aws_clients::describe(err);
    match e.kind {
        AwsErrorKind::Service => classify_service(e, signed),
        AwsErrorKind::Construction | AwsErrorKind::Certificate => Failure::Fatal(e),
        AwsErrorKind::Timeout | AwsErrorKind::Dispatch | AwsErrorKind::Response => {
            Failure::Transient(e.to_string())
        }
    }
}

/// Classify an STS service error by code, message and HTTP status.
#[must_use]
pub fn classify_service(e: AwsError, signed: bool) -> Failure {
    let lower = e.message.to_lowercase();
    match e.code() {
        "AccessDenied" | "AccessDeniedException" => Failure::Denied(e),
        "IDPCommunicationError" => Failure::NeedsNewToken(e.to_string()),
        "InvalidIdentityToken"
            if lower.contains("verification key")
                || lower.contains("could not be reached")
                || lower.contains("unable to reach")
                || lower.contains("couldn't retrieve") =>
        {
            Failure::NeedsNewToken(e.to_string())
        }
        "ExpiredTokenException" | "ExpiredToken" if !signed => {
            Failure::NeedsNewToken(e.to_string())
        }
        c if signed && is_credentials_error(c) => Failure::Rejected(e),
        c if is_throttling(c) => Failure::Transient(e.to_string()),
        "ValidationError"
            if lower.contains("durationseconds")
                && (lower.contains("maxsessionduration") || lower.contains("session limit")) =>
        {
            Failure::DurationTooLong {
                chaining: lower.contains("role chaining"),
                error: e,
            }
        }
        _ if e.status.is_some_and(|s| s >= 500) => Failure::Transient(e.to_string()),
        _ => Failure::Fatal(e),
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
) -> Result<Credentials, ConnectError> {
    let c = out.ok_or_else(|| ConnectError::Http("STS answered without credentials".into()))?;
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
    Denied(AwsError),
    /// The signing credentials were rejected: the caller gives advice.
    Rejected(AwsError),
    /// Not retryable: the caller adds a hint.
    Fatal(AwsError),
    /// A finished error.
    Error(ConnectError),
}

/// The session length of a role, lowered once to 3600 s when the role (or
/// role chaining) does not allow more, and kept lowered for later refreshes.
#[derive(Debug)]
struct SessionLength {
    current: AtomicU64,
}

impl SessionLength {
    fn new(configured: Duration) -> Self {
        Self {
            current: AtomicU64::new(configured.as_secs()),
        }
    }

    fn get(&self) -> Duration {
        Duration::from_secs(self.current.load(Ordering::SeqCst))
    }
}

/// The retry state of one exchange.
struct Attempts<'a> {
    log: &'a Logger,
    clock: &'a dyn Clock,
    retry: Backoff,
    role: &'a RoleSpec,
    length: &'a SessionLength,
    operation: &'static str,
    attempt: u32,
}

impl<'a> Attempts<'a> {
    fn fatal(&self, error: AwsError, hint: String) -> ConnectError {
        let lower = error.message.to_lowercase();
        let hint = match error.code() {
            "ValidationError" if hint.is_empty() && lower.contains("role chaining") => format!(
                " AWS limits a role assumed with another role's credentials (role chaining) to one-hour sessions, \
                 whatever the role allows: lower the variable {} to 3600 or less.",
                vars::MAX_DURATION
            ),
            "ValidationError" if hint.is_empty() && lower.contains("durationseconds") => format!(
                " Raise the role's maximum session duration, or lower the variable {}.",
                vars::MAX_DURATION
            ),
            code if hint.is_empty() => aws_clients::error::advice(code)
                .map(|a| format!(" {a}"))
                .unwrap_or_default(),
            _ => hint,
        };
        ConnectError::Sts {
            operation: self.operation,
            role: self.role.arn.describe(),
            error: Box::new(error),
            hint,
        }
    }

    /// What to do after `failure`: `Ok(new_token)` to try again (after a
    /// pause, unless only the duration changed), or why to stop.
    async fn next(&mut self, failure: Failure) -> Result<bool, Stop> {
        match failure {
            Failure::DurationTooLong { error, chaining }
                if self.length.get() > DEFAULT_DURATION =>
            {
                let why = if chaining {
                    format!(
                        "AWS limits a role assumed with another role's credentials (role chaining) to one-hour \
                         sessions, whatever the role allows ({error}); using 3600 s. Lower the variable {} to 3600 \
                         or less.",
                        vars::MAX_DURATION
                    )
                } else {
                    format!(
                        "The {} does not allow {} s sessions ({error}); using 3600 s. Raise the role's maximum \
                         session duration or lower the variable {}.",
                        self.role.arn.describe(),
                        self.length.get().as_secs(),
                        vars::MAX_DURATION
                    )
                };
                self.log.warning(why);
                self.length
                    .current
                    .store(DEFAULT_DURATION.as_secs(), Ordering::SeqCst);
                Ok(false)
            }
            Failure::DurationTooLong { error, .. } | Failure::Fatal(error) => {
                Err(Stop::Fatal(error))
            }
            Failure::Denied(error) => Err(Stop::Denied(error)),
            Failure::Rejected(error) => Err(Stop::Rejected(error)),
            Failure::Transient(reason) => self.pause(reason).await.map(|()| false),
            Failure::NeedsNewToken(reason) => self.pause(reason).await.map(|()| true),
        }
    }

    /// Wait before the next attempt, or stop when the attempts are used up.
    async fn pause(&mut self, reason: String) -> Result<(), Stop> {
        if !self.retry.allows_another(self.attempt) {
            return Err(Stop::Error(ConnectError::StsExhausted {
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
        self.clock.sleep(delay).await;
        self.attempt += 1;
        Ok(())
    }
}

/// `AssumeRoleWithWebIdentity` with the job's OIDC token.
#[derive(Debug)]
pub struct WebIdentitySource {
    log: Logger,
    request: OidcTokenRequest,
    http: reqwest::Client,
    token_retry: RetryPolicy,
    connection_id: String,
    role: RoleSpec,
    length: SessionLength,
    sts: aws_sdk_sts::Client,
    retry: Backoff,
    clock: Arc<dyn Clock>,
    described: AtomicBool,
}

/// What a [`WebIdentitySource`] needs.
#[derive(Debug)]
pub struct WebIdentitySettings {
    /// The token request, built (and its connection id checked) up front.
    pub request: OidcTokenRequest,
    /// HTTP client for the token request.
    pub http: reqwest::Client,
    /// Token request retries.
    pub token_retry: RetryPolicy,
    /// The connection id, for messages.
    pub connection_id: String,
    /// The role.
    pub role: RoleSpec,
    /// An STS client with retries off; the call is unsigned.
    pub sts: aws_sdk_sts::Client,
    /// STS retries.
    pub retry: Backoff,
}

impl WebIdentitySource {
    /// A source that exchanges a new OIDC token for the role's credentials
    /// on every fetch.
    #[must_use]
    pub fn new(settings: WebIdentitySettings, log: Logger, clock: Arc<dyn Clock>) -> Self {
        Self {
            log,
            length: SessionLength::new(settings.role.duration),
            request: settings.request,
            http: settings.http,
            token_retry: settings.token_retry,
            connection_id: settings.connection_id,
            role: settings.role,
            sts: settings.sts,
            retry: settings.retry,
            clock,
            described: AtomicBool::new(false),
        }
    }

    async fn token(&self) -> Result<(OidcToken, SystemTime), ConnectError> {
        let token = self
            .request
            .fetch(
                &self.http,
                &self.log,
                &self.token_retry,
                self.clock.as_ref(),
            )
            .await
            .map_err(|source| ConnectError::OidcToken {
                connection: self.connection_id.clone(),
                source,
            })?;
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
                self.length.get().as_secs()
            ));
        }
        Ok((token, self.clock.now()))
    }

    async fn exchange(&self) -> Result<Credentials, ConnectError> {
        let (mut token, mut fetched) = self.token().await?;
        let mut attempts = Attempts {
            log: &self.log,
            clock: self.clock.as_ref(),
            retry: self.retry,
            role: &self.role,
            length: &self.length,
            operation: "AssumeRoleWithWebIdentity",
            attempt: 1,
        };
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
                .duration_seconds(duration_secs(self.length.get()))
                .send()
                .await;
            let err = match result {
                Ok(out) => return credentials_from(out.credentials, "AzurePipelinesOidc"),
                Err(e) => e,
            };
            match attempts.next(classify(&err, false)).await {
                // Forces a new token before the next attempt.
                Ok(true) => fetched = SystemTime::UNIX_EPOCH,
                Ok(false) => {}
                Err(Stop::Denied(error)) => return Err(self.denied(&token.claims, error)),
                Err(Stop::Fatal(error) | Stop::Rejected(error)) => {
                    let c = &token.claims;
                    let hint = match error.code() {
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
                    return Err(attempts.fatal(error, hint));
                }
                Err(Stop::Error(e)) => return Err(e),
            }
        }
    }

    fn denied(&self, claims: &JwtClaims, error: AwsError) -> ConnectError {
        ConnectError::WebIdentityDenied(Box::new(crate::error::WebIdentityDenial {
            role: self.role.arn.describe(),
            account: self.role.arn.account.clone(),
            error,
            iss: claims.iss.clone(),
            issuer_host: issuer_host(&claims.iss),
            aud: claims.aud.join(", "),
            sub: claims.sub.clone(),
            policy: trust_policy(&self.role.arn, claims),
        }))
    }
}

impl CredentialSource for WebIdentitySource {
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, ConnectError>> {
        Box::pin(self.exchange())
    }
}

/// `AssumeRole` with base credentials (keys or the ambient chain).
#[derive(Debug)]
pub struct AssumeRoleSource {
    log: Logger,
    clock: Arc<dyn Clock>,
    role: RoleSpec,
    length: SessionLength,
    sts: aws_sdk_sts::Client,
    retry: Backoff,
    signer: Signer,
    described: AtomicBool,
}

impl AssumeRoleSource {
    /// A source that assumes `role` with the credentials `sts` signs with
    /// (described by `signer`) on every fetch, retrying with `retry` on
    /// `clock`.
    #[must_use]
    pub fn new(
        role: RoleSpec,
        sts: aws_sdk_sts::Client,
        retry: Backoff,
        signer: Signer,
        log: Logger,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            log,
            clock,
            length: SessionLength::new(role.duration),
            role,
            sts,
            retry,
            signer,
            described: AtomicBool::new(false),
        }
    }

    async fn exchange(&self) -> Result<Credentials, ConnectError> {
        if !self.described.swap(true, Ordering::SeqCst) {
            self.log.info(&format!(
                "Assuming {} with {} (session name {}, {} s{}).",
                self.role.arn.describe(),
                self.signer.whose(),
                self.role.session_name,
                self.length.get().as_secs(),
                if self.role.external_id.is_some() {
                    ", with an external ID"
                } else {
                    ""
                }
            ));
        }
        let mut attempts = Attempts {
            log: &self.log,
            clock: self.clock.as_ref(),
            retry: self.retry,
            role: &self.role,
            length: &self.length,
            operation: "AssumeRole",
            attempt: 1,
        };
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
                .duration_seconds(duration_secs(self.length.get()))
                .send()
                .await;
            let err = match result {
                Ok(out) => return credentials_from(out.credentials, "AzurePipelinesAssumeRole"),
                Err(e) => e,
            };
            match attempts.next(classify(&err, true)).await {
                Ok(_) => {}
                Err(Stop::Denied(error)) => {
                    let caller = match self.sts.get_caller_identity().send().await {
                        Ok(id) => id.arn().unwrap_or("the caller").to_owned(),
                        Err(_) => self.signer.whose(),
                    };
                    let external_id_hint = if self.role.external_id.is_some() {
                        " with the condition sts:ExternalId equal to the External ID that was sent"
                            .to_owned()
                    } else {
                        String::new()
                    };
                    return Err(ConnectError::AssumeRoleDenied {
                        role: self.role.arn.describe(),
                        caller,
                        error: Box::new(error),
                        external_id_hint,
                    });
                }
                Err(Stop::Rejected(error)) => {
                    return Err(ConnectError::CredentialsRejected {
                        operation: "AssumeRole",
                        whose: self.signer.whose(),
                        advice: self.signer.advice(error.code()),
                        error: Box::new(error),
                    });
                }
                Err(Stop::Fatal(error)) => return Err(attempts.fatal(error, String::new())),
                Err(Stop::Error(e)) => return Err(e),
            }
        }
    }
}

impl CredentialSource for AssumeRoleSource {
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, ConnectError>> {
        Box::pin(self.exchange())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str, message: &str, status: u16) -> AwsError {
        AwsError {
            kind: AwsErrorKind::Service,
            code: Some(code.into()),
            message: message.into(),
            status: Some(status),
            request_id: None,
        }
    }

    fn classify_unsigned(code: &str, message: &str, status: u16) -> Failure {
        classify_service(service(code, message, status), false)
    }

    #[test]
    fn classification() {
        assert!(matches!(
            classify_unsigned(
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                403
            ),
            Failure::Denied(_)
        ));
        assert!(matches!(
            classify_unsigned("IDPCommunicationError", "x", 400),
            Failure::NeedsNewToken(_)
        ));
        assert!(matches!(
            classify_unsigned(
                "InvalidIdentityToken",
                "Couldn't retrieve verification key from your identity provider",
                400
            ),
            Failure::NeedsNewToken(_)
        ));
        assert!(matches!(
            classify_unsigned("InvalidIdentityToken", "Incorrect token audience", 400),
            Failure::Fatal(_)
        ));
        assert!(matches!(
            classify_unsigned("Throttling", "Rate exceeded", 400),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify_unsigned("InternalFailure", "", 500),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify_unsigned(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                400
            ),
            Failure::DurationTooLong {
                chaining: false,
                ..
            }
        ));
        assert!(matches!(
            classify_unsigned(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                400
            ),
            Failure::DurationTooLong { chaining: true, .. }
        ));
        assert!(matches!(
            classify_unsigned(
                "ValidationError",
                "1 validation error detected: roleSessionName",
                400
            ),
            Failure::Fatal(_)
        ));
    }

    #[test]
    fn an_expired_token_depends_on_what_expired() {
        // Unsigned AssumeRoleWithWebIdentity: the OIDC token expired, so a
        // new one may work. Signed AssumeRole: the stored session token
        // expired, and no retry can fix that (STS "Common Errors").
        assert!(matches!(
            classify_service(
                service("ExpiredTokenException", "Token expired", 400),
                false
            ),
            Failure::NeedsNewToken(_)
        ));
        for code in [
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
        ] {
            assert!(
                matches!(
                    classify_service(service(code, "x", 403), true),
                    Failure::Rejected(_)
                ),
                "{code}"
            );
        }
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
