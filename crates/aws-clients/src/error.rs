//! AWS SDK errors, rendered for a pipeline log.
//!
//! The SDK's own `Display` of a service error is "service error", and its
//! source chain ends in the debug rendering of the error metadata
//! (`Error { code: Some(..), message: .., aws_request_id: .. }`). [`describe`]
//! reads the same facts through the SDK's accessors instead: the service's
//! error code and message (`ProvideErrorMetadata`), the HTTP status, and the
//! request id (`x-amzn-requestid`, or `x-amz-request-id` for S3; aws-types
//! `RequestId`), which AWS Support asks for. Failures before an answer
//! (timeouts, connection errors, unreadable answers) keep their cause chain,
//! rendered with `Display` only.
//!
//! [`advice`] holds what to do about the common codes, worded once for every
//! task.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

/// What kind of failure an SDK call had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The service answered with an error.
    Service,
    /// The call timed out (connect, attempt or operation timeout).
    Timeout,
    /// The request could not be sent: DNS, connection refused or reset, a
    /// TLS failure other than a certificate's.
    Dispatch,
    /// The server's certificate could not be verified, or the server refused
    /// the client certificate ([`azp_task::tls::TlsFailure`]): the message
    /// holds the host, the problem and the advice. Never transient.
    Certificate,
    /// An answer came but could not be read.
    Response,
    /// The request could not be built (a bad parameter or configuration),
    /// or the client refused it before sending.
    Construction,
}

/// An SDK failure, as a pipeline author needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// What kind of failure.
    pub kind: AwsErrorKind,
    /// The service's error code (`AccessDenied`, `NoSuchBucket`, ...), for
    /// service errors; `Unknown` when the answer had none.
    pub code: Option<String>,
    /// The service's message, or the cause chain of a transport failure.
    pub message: String,
    /// The HTTP status of an answer.
    pub status: Option<u16>,
    /// The request id AWS Support asks for.
    pub request_id: Option<String>,
}

impl AwsError {
    /// The service's error code, or `""` when the service did not answer.
    #[must_use]
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or_default()
    }

    /// Whether a retry might succeed: throttling, a 5xx answer, a timeout,
    /// a connection failure or an unreadable answer. Credentials, permission
    /// and validation errors are not.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self.kind {
            AwsErrorKind::Timeout | AwsErrorKind::Dispatch | AwsErrorKind::Response => true,
            AwsErrorKind::Construction | AwsErrorKind::Certificate => false,
            AwsErrorKind::Service => {
                is_throttling(self.code()) || self.status.is_some_and(|s| s >= 500)
            }
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            AwsErrorKind::Service => {
                f.write_str(self.code.as_deref().unwrap_or("Unknown"))?;
                if !self.message.is_empty() {
                    write!(f, ": {}", self.message)?;
                }
                let mut extra = Vec::new();
                if let Some(s) = self.status {
                    extra.push(format!("HTTP {s}"));
                }
                if let Some(id) = &self.request_id {
                    extra.push(format!("request id {id}"));
                }
                if !extra.is_empty() {
                    write!(f, " ({})", extra.join(", "))?;
                }
                Ok(())
            }
            AwsErrorKind::Timeout => write!(f, "the request timed out: {}", self.message),
            AwsErrorKind::Certificate => f.write_str(&self.message),
            AwsErrorKind::Dispatch => {
                write!(f, "the request could not be sent: {}", self.message)
            }
            AwsErrorKind::Response => {
                write!(f, "the answer could not be read: {}", self.message)
            }
            AwsErrorKind::Construction => {
                write!(f, "the request could not be made: {}", self.message)
            }
        }
    }
}

impl std::error::Error for AwsError {}

/// Read an SDK error into an [`AwsError`]. Works for every operation of
/// every service client.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let request_id = err.request_id().map(str::to_owned);
    let cause = |e: &(dyn std::error::Error + 'static)| {
        e.source()
            .map_or_else(|| "no further detail".to_owned(), azp_task::render_error)
    };
    let (kind, code, message, status) = match err {
        SdkError::ServiceError(ctx) => (
            AwsErrorKind::Service,
            Some(ctx.err().code().unwrap_or("Unknown").to_owned()),
            ctx.err().message().unwrap_or_default().trim().to_owned(),
            Some(ctx.raw().status().as_u16()),
        ),
        SdkError::TimeoutError(_) => (AwsErrorKind::Timeout, None, cause(err), None),
        SdkError::DispatchFailure(d) if d.is_user() => {
            (AwsErrorKind::Construction, None, cause(err), None)
        }
        SdkError::DispatchFailure(_) => match azp_task::tls::TlsFailure::find(err, None) {
            Some(failure) => (AwsErrorKind::Certificate, None, failure.to_string(), None),
            None => (AwsErrorKind::Dispatch, None, cause(err), None),
        },
        SdkError::ResponseError(r) => (
            AwsErrorKind::Response,
            None,
            cause(err),
            Some(r.raw().status().as_u16()),
        ),
        _ => (AwsErrorKind::Construction, None, cause(err), None),
    };
    AwsError {
        kind,
        code,
        message,
        status,
        request_id,
    }
}

/// An error and its causes on one line, as `azp_task::render_error` gives
/// them, except that AWS error metadata anywhere in the chain is shown as
/// its code and message instead of the SDK's debug rendering. For errors
/// that wrap SDK errors without exposing their type, such as the SDK's
/// credentials providers'.
#[must_use]
pub fn render_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = match s.downcast_ref::<aws_smithy_types::error::ErrorMetadata>() {
            Some(meta) => {
                let code = meta.code().unwrap_or("Unknown");
                match meta.message() {
                    Some(m) if !m.is_empty() => format!("{code}: {m}"),
                    _ => code.to_owned(),
                }
            }
            None => azp_task::http::cause_text(s),
        };
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        if s.is::<aws_smithy_types::error::ErrorMetadata>() {
            break;
        }
        source = s.source();
    }
    out
}

/// Throttling codes across AWS services (the SDK's standard retry list).
#[must_use]
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
    )
}

/// Codes that say the credentials themselves are wrong or stale, on any
/// service: retrying with the same credentials cannot help.
#[must_use]
pub fn is_credentials_error(code: &str) -> bool {
    matches!(
        code,
        "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "InvalidAccessKeyId"
            | "InvalidToken"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "TokenRefreshRequired"
            | "AuthFailure"
            | "RequestExpired"
            | "RequestTimeTooSkewed"
    )
}

/// What to do about a common error code, worded for a pipeline author;
/// `None` for codes that need the caller's context.
#[must_use]
pub fn advice(code: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            "The identity the task runs as is not allowed to make this call: grant it the permission in its IAM \
             policy, and check service control policies, permission boundaries and the resource's own policy."
        }
        "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
            "AWS does not know the access key id: it was deleted or deactivated, belongs to another partition \
             (China, GovCloud), or is a temporary key whose session token is missing. Replace the key."
        }
        "SignatureDoesNotMatch" | "IncompleteSignature" => {
            "The secret access key does not belong to the access key id (a copy-and-paste error, or a key that \
             was rotated). Enter the secret that was issued with the key."
        }
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" | "InvalidToken" => {
            "The session token has expired or is not valid. Temporary keys with a session token stop working \
             when their session ends; use a role (OIDC, or keys that assume a role) instead of stored temporary keys."
        }
        "RequestExpired" | "RequestTimeTooSkewed" => {
            "The agent's clock is too far from AWS's (more than 5 minutes). Synchronise the agent's clock (NTP)."
        }
        "RegionDisabledException" => {
            "STS is not activated in this region for the account. Activate the region in the account's IAM \
             settings, or choose another region."
        }
        c if is_throttling(c) => {
            "AWS is throttling the account's requests. The SDK retried with backoff; run again later, or lower \
             the number of parallel jobs calling this API."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(
        status: u16,
        code: &str,
        message: &str,
    ) -> SdkError<GetCallerIdentityError, HttpResponse> {
        let mut raw = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        raw.headers_mut()
            .insert("x-amzn-requestid", "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
        let err = GetCallerIdentityError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        );
        SdkError::service_error(err, raw)
    }

    #[test]
    fn service_errors_show_code_message_status_and_request_id() {
        let e = describe(&service_error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ));
        assert_eq!(
            e.to_string(),
            "InvalidClientTokenId: The security token included in the request is invalid. \
             (HTTP 403, request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)"
        );
        assert_eq!(e.code(), "InvalidClientTokenId");
        assert!(!e.is_transient());
        assert!(is_credentials_error(e.code()));
    }

    #[test]
    fn the_sdks_own_rendering_is_what_this_avoids() {
        let err = service_error(400, "ValidationError", "bad");
        let sdk = azp_task::render_error(&err);
        assert!(sdk.contains("Error {"), "{sdk}");
        let ours = describe(&err).to_string();
        assert!(
            !ours.contains("Error {") && !ours.contains("Some("),
            "{ours}"
        );
    }

    #[test]
    fn chains_show_error_metadata_as_code_and_message() {
        let err = service_error(
            400,
            "InvalidIdentityToken",
            "No OpenIDConnect provider found",
        );
        let text = render_chain(&err);
        assert!(
            text.contains("InvalidIdentityToken: No OpenIDConnect provider found"),
            "{text}"
        );
        assert!(!text.contains("Error {"), "{text}");
    }

    #[test]
    fn throttling_and_5xx_are_transient() {
        assert!(describe(&service_error(400, "Throttling", "Rate exceeded")).is_transient());
        assert!(describe(&service_error(503, "ServiceUnavailable", "")).is_transient());
        assert!(!describe(&service_error(403, "AccessDenied", "no")).is_transient());
        assert_eq!(
            describe(&service_error(503, "ServiceUnavailable", "")).to_string(),
            "ServiceUnavailable (HTTP 503, request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE)"
        );
    }

    #[test]
    fn transport_failures_keep_their_cause() {
        let err: SdkError<GetCallerIdentityError, HttpResponse> = SdkError::timeout_error(
            std::io::Error::new(std::io::ErrorKind::TimedOut, "attempt timeout after 20s"),
        );
        let e = describe(&err);
        assert_eq!(e.kind, AwsErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            "the request timed out: attempt timeout after 20s"
        );
        assert!(e.is_transient());
    }

    #[test]
    fn advice_for_common_codes() {
        assert!(advice("AccessDenied").unwrap().contains("IAM policy"));
        assert!(advice("SlowDown").unwrap().contains("throttling"));
        assert!(advice("NoSuchBucket").is_none());
    }
}
