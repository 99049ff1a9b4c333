//! Everything that can stop a task from getting AWS credentials, with
//! messages that say what failed, why it probably failed, and what to change.

use azp_task::endpoint::EndpointError;
use azp_task::oidc::OidcError;
use azp_task::proxy::ProxyError;

/// Why no credentials (or no region) could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The selected connection could not be read.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Only one of the two keys is set.
    #[error(
        "Need to define or omit both \"Access Key ID\" and \"Secret Access Key\", not just one: the {missing} is missing in {origin}."
    )]
    PartialKeys {
        /// Where the settings came from.
        origin: String,
        /// The missing half.
        missing: &'static str,
    },
    /// Use OIDC without a role.
    #[error(
        "Service connection {connection} has Use OIDC set but no Role to Assume. OIDC federation exchanges the \
         pipeline's token for a role's credentials: set Role to Assume to the ARN of an IAM role whose trust policy \
         allows this connection's token."
    )]
    OidcWithoutRole {
        /// The connection id.
        connection: String,
    },
    /// A connection with nothing in it.
    #[error(
        "Service connection {connection} has no credentials: set Role to Assume with Use OIDC (recommended), or an \
         Access Key ID and Secret Access Key. To use the agent's own AWS credentials instead, leave the task's AWS \
         Credentials input empty."
    )]
    EmptyConnection {
        /// The connection id.
        connection: String,
    },
    /// A role ARN that is not one.
    #[error(
        "The role to assume in {origin}, '{value}', is not an IAM role ARN. Use the full ARN, like arn:aws:iam::123456789012:role/deploy."
    )]
    InvalidRoleArn {
        /// The value given.
        value: String,
        /// Where it came from.
        origin: String,
    },
    /// A session name STS would reject.
    #[error(
        "The role session name in {origin}, '{value}', is not valid: it must be 2 to 64 characters of letters, \
         digits and _+=,.@-."
    )]
    InvalidSessionName {
        /// The value given.
        value: String,
        /// Where it came from.
        origin: String,
    },
    /// The OIDC token could not be obtained (never falls back).
    #[error(
        "OIDC federation for service connection {connection} failed: the Azure DevOps OIDC token could not be obtained. {source}"
    )]
    OidcToken {
        /// The connection id.
        connection: String,
        /// The cause.
        source: OidcError,
    },
    /// STS refused `AssumeRoleWithWebIdentity`.
    #[error("{0}")]
    WebIdentityDenied(Box<WebIdentityDenial>),
    /// STS refused `AssumeRole`.
    #[error(
        "AWS refused to let {caller} assume {role} ({code}: {detail}). The role's trust policy must allow that \
         principal to call sts:AssumeRole{external_id_hint}; check the Role to Assume, and the caller's permission \
         to call sts:AssumeRole on it."
    )]
    AssumeRoleDenied {
        /// The role, as `RoleArn::describe` names it.
        role: String,
        /// Who asked, when known.
        caller: String,
        /// STS's error code.
        code: String,
        /// STS's message.
        detail: String,
        /// A note about the external id, if one was sent.
        external_id_hint: String,
    },
    /// Another STS error that retrying cannot fix.
    #[error("{operation} for {role} failed ({code}: {detail}).{hint}")]
    Sts {
        /// The STS operation.
        operation: &'static str,
        /// The role, as `RoleArn::describe` names it.
        role: String,
        /// Error code.
        code: String,
        /// Message.
        detail: String,
        /// What to do about it.
        hint: String,
    },
    /// Transient STS failures until the retry budget ran out.
    #[error(
        "{operation} for {role} failed {attempts} times; the last failure was: {last}. AWS STS may be degraded or unreachable from this agent (check the proxy settings and AWS_ENDPOINT_URL_STS); run again later."
    )]
    StsExhausted {
        /// The STS operation.
        operation: &'static str,
        /// The role, as `RoleArn::describe` names it.
        role: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The default chain found nothing.
    #[error(
        "No AWS credentials were found: no service connection is selected, the AWS.AccessKeyID/AWS.SecretAccessKey \
         variables are not set, and the agent has no ambient credentials (environment, shared config, web identity \
         token file, container or EC2 instance role): {detail}. Select an AWS service connection in the task."
    )]
    NoAmbientCredentials {
        /// What the chain reported.
        detail: String,
    },
    /// `sts:GetCallerIdentity` with the new credentials failed.
    #[error(
        "The AWS credentials could not be verified with sts:GetCallerIdentity: {detail}. If the credentials are right \
         but this call is blocked (for example by an SCP), set the variable AWS.VerifyIdentity to false."
    )]
    Verification {
        /// The failure.
        detail: String,
    },
    /// No region anywhere.
    #[error(
        "No AWS region is configured: set the task's AWS Region (regionName) input, or the pipeline variable \
         AWS.Region, or AWS_REGION / AWS_DEFAULT_REGION in the agent's environment."
    )]
    NoRegion,
    /// A region that is not one.
    #[error("'{value}' (from {origin}) is not a valid AWS region name such as eu-west-1.")]
    InvalidRegion {
        /// The value.
        value: String,
        /// Where it came from.
        origin: &'static str,
    },
    /// The agent proxy settings are unusable.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// The SDK's HTTP client could not be built.
    #[error("The HTTP client for AWS could not be configured: {0}")]
    Http(String),
}

/// The details of a refused `AssumeRoleWithWebIdentity`: what the token
/// claimed, and a trust policy that would accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentityDenial {
    /// The role, as `RoleArn::describe` names it.
    pub role: String,
    /// The account of the role.
    pub account: String,
    /// STS's error code.
    pub code: String,
    /// STS's message.
    pub detail: String,
    /// Token issuer.
    pub iss: String,
    /// Issuer without scheme.
    pub issuer_host: String,
    /// Token audience.
    pub aud: String,
    /// Token subject.
    pub sub: String,
    /// A ready-to-paste trust policy.
    pub policy: String,
}

impl std::fmt::Display for WebIdentityDenial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AWS refused to let this pipeline assume {} with its OIDC token ({}: {}).\n\
             The token presented:\n  iss: {}\n  aud: {}\n  sub: {}\n\
             The role's trust policy must allow exactly these values, and account {} must have an IAM OIDC \
             identity provider for {} with audience {}. A trust policy that does:\n{}",
            self.role,
            self.code,
            self.detail,
            self.iss,
            self.aud,
            self.sub,
            self.account,
            self.issuer_host,
            self.aud,
            self.policy
        )
    }
}
