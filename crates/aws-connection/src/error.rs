//! Everything that can stop a task from getting AWS credentials, with
//! messages that say what failed, why it probably failed, and what to change.
//!
//! Messages never repeat a service connection's field values: the agent
//! masks every one of them, so they would show as `***`. They name the field
//! and describe what is wrong with it instead.

use aws_clients::AwsError;
use azp_task::endpoint::EndpointError;
use azp_task::oidc::OidcError;
use azp_task::proxy::ProxyError;
use azp_task::variables::VariableError;

/// Why no credentials (or no region) could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The selected connection could not be read.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// A variable the credentials read has an unusable value.
    #[error(transparent)]
    Variable(#[from] VariableError),
    /// Only one of the two keys is set.
    #[error(
        "Need to define or omit both \"Access Key ID\" and \"Secret Access Key\", not just one: {missing} is empty."
    )]
    PartialKeys {
        /// Where the settings came from.
        origin: String,
        /// The missing half, as [`crate::settings::Origin::field`] names it.
        missing: String,
    },
    /// A checkbox field of the connection holds neither `true` nor `false`.
    #[error(
        "The {label} ({param}) field of service connection {connection} is neither true nor false, so the task \
         cannot tell which way to authenticate. Edit the connection and tick or clear {label}, or set {param} to \
         true or false through the REST API."
    )]
    InvalidCheckbox {
        /// The connection id.
        connection: String,
        /// The field's label.
        label: &'static str,
        /// The field's parameter id.
        param: &'static str,
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
        "{field} is not a valid IAM role ARN: {problem}. Copy the role's ARN from the IAM console; it has the form \
         arn:<partition>:iam::<12-digit account>:role/<name>."
    )]
    InvalidRoleArn {
        /// The field, as [`crate::settings::Origin::field`] names it.
        field: String,
        /// Which rule failed and where, without the value.
        problem: String,
    },
    /// A session name STS would reject.
    #[error("{field} is not a valid role session name: {problem}.")]
    InvalidSessionName {
        /// The field, as [`crate::settings::Origin::field`] names it.
        field: String,
        /// Which rule failed and where, without the value.
        problem: String,
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
        "AWS refused to let {caller} assume {role} ({error}). The role's trust policy must allow that \
         principal to call sts:AssumeRole{external_id_hint}; check the Role to Assume, and the caller's permission \
         to call sts:AssumeRole on it."
    )]
    AssumeRoleDenied {
        /// The role, as `RoleArn::describe` names it.
        role: String,
        /// Who asked, when known.
        caller: String,
        /// STS's answer.
        error: Box<AwsError>,
        /// A note about the external id, if one was sent.
        external_id_hint: String,
    },
    /// AWS rejected the credentials a call was signed with: unknown key,
    /// wrong secret, expired session token. Retrying cannot help.
    #[error("{operation} failed because AWS rejected {whose} ({error}). {advice}")]
    CredentialsRejected {
        /// The operation, e.g. `AssumeRole` or `sts:GetCallerIdentity`.
        operation: &'static str,
        /// Whose credentials: "the access keys of service connection …".
        whose: String,
        /// AWS's answer.
        error: Box<AwsError>,
        /// What to change, naming the fields.
        advice: String,
    },
    /// Another STS error that retrying cannot fix.
    #[error("{operation} for {role} failed ({error}).{hint}")]
    Sts {
        /// The STS operation.
        operation: &'static str,
        /// The role, as `RoleArn::describe` names it.
        role: String,
        /// STS's answer.
        error: Box<AwsError>,
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
    /// The agent's own credentials are needed but there are none.
    // The SDK's detail may end with its own full stop.
    #[error("{}: {}. {}", context.what(), detail.trim_end_matches('.'), context.advice())]
    NoAmbientCredentials {
        /// Why the agent's credentials were needed.
        context: AmbientNeed,
        /// What the SDK's default chain reported.
        detail: String,
    },
    /// `sts:GetCallerIdentity` with the new credentials failed.
    #[error(
        "The AWS credentials could not be verified with sts:GetCallerIdentity ({error}). {advice}"
    )]
    Verification {
        /// AWS's answer.
        error: Box<AwsError>,
        /// What to change.
        advice: String,
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
    /// The agent's certificate settings cannot be used.
    #[error(transparent)]
    Tls(#[from] azp_task::tls::TlsSettingsError),
    /// The SDK's HTTP client could not be built.
    #[error("The HTTP client for AWS could not be configured: {0}")]
    Http(String),
}

/// Why the task looked for the agent's own AWS credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmbientNeed {
    /// Nothing was configured.
    NothingConfigured,
    /// A service connection has a Role to Assume and nothing else.
    ConnectionRoleOnly {
        /// The connection id.
        connection: String,
    },
    /// `AWS.AssumeRoleArn` is set without keys.
    VariableRoleOnly,
}

impl AmbientNeed {
    fn what(&self) -> String {
        match self {
            Self::NothingConfigured => "No AWS credentials were found: no service connection is selected, the \
                AWS.AccessKeyID/AWS.SecretAccessKey variables are not set, and the agent has no ambient credentials \
                (environment, shared config, web identity token file, container or EC2 instance role)"
                .to_owned(),
            Self::ConnectionRoleOnly { connection } => format!(
                "Service connection {connection} has a Role to Assume but no keys and no Use OIDC, so the role is \
                 assumed with the agent's own AWS credentials, and this agent has none (environment, shared config, \
                 web identity token file, container or EC2 instance role)"
            ),
            Self::VariableRoleOnly => "The variable AWS.AssumeRoleArn is set without AWS.AccessKeyID, so the role is \
                assumed with the agent's own AWS credentials, and this agent has none (environment, shared config, \
                web identity token file, container or EC2 instance role)"
                .to_owned(),
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            Self::NothingConfigured => "Select an AWS service connection in the task.",
            Self::ConnectionRoleOnly { .. } => {
                "Tick Use OIDC on the connection (recommended), or give it an Access Key ID and Secret Access Key, \
                 or run the job on an agent that has AWS credentials of its own (an EC2 instance role, for example)."
            }
            Self::VariableRoleOnly => {
                "Set AWS.AccessKeyID and AWS.SecretAccessKey, or select an AWS service connection with Use OIDC, or \
                 run the job on an agent that has AWS credentials of its own."
            }
        }
    }
}

/// The details of a refused `AssumeRoleWithWebIdentity`: what the token
/// claimed, and a trust policy that would accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentityDenial {
    /// The role, as `RoleArn::describe` names it.
    pub role: String,
    /// The account of the role.
    pub account: String,
    /// STS's answer.
    pub error: AwsError,
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
            "AWS refused to let this pipeline assume {} with its OIDC token ({}).\n\
             The token presented:\n  iss: {}\n  aud: {}\n  sub: {}\n\
             The role's trust policy must allow exactly these values, and account {} must have an IAM OIDC \
             identity provider for {} with audience {}. A trust policy that does:\n{}",
            self.role,
            self.error,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_own_full_stop_is_not_doubled() {
        let e = ConnectError::NoAmbientCredentials {
            context: AmbientNeed::NothingConfigured,
            detail: "the caller has insufficient permissions.".to_owned(),
        };
        let text = e.to_string();
        assert!(
            text.contains("insufficient permissions. Select an AWS service connection"),
            "{text}"
        );
        assert!(!text.contains(".."), "{text}");
    }
}
