//! Every `AWS_*` environment variable the tasks read, set or remove.
//!
//! These are the AWS CLI's and SDKs' standard settings (AWS SDKs and Tools
//! reference guide, "Environment variables"), which the tasks honour and
//! pass to the processes they start. Keeping them in one place means a typo
//! is a compile error; the agent's own names are in `azp_task::env::names`.

/// The prefix every one of these names has.
pub const AWS_PREFIX: &str = "AWS_";
/// Access key id.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// Secret access key.
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Session token of temporary credentials.
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// The old name of [`AWS_SESSION_TOKEN`], still read by some SDKs.
pub const AWS_SECURITY_TOKEN: &str = "AWS_SECURITY_TOKEN";
/// The old name of [`AWS_ACCESS_KEY_ID`] (boto, AWS CLI v1).
pub const AWS_ACCESS_KEY: &str = "AWS_ACCESS_KEY";
/// The old name of [`AWS_SECRET_ACCESS_KEY`].
pub const AWS_SECRET_KEY: &str = "AWS_SECRET_KEY";
/// Expiry of the credentials in the environment (read by some SDKs).
pub const AWS_CREDENTIAL_EXPIRATION: &str = "AWS_CREDENTIAL_EXPIRATION";
/// Region, read first by the SDKs and AWS CLI v2.
pub const AWS_REGION: &str = "AWS_REGION";
/// Region, read by the AWS CLI v1 and as a fallback by the SDKs.
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// Named profile.
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// Named profile (older SDKs).
pub const AWS_DEFAULT_PROFILE: &str = "AWS_DEFAULT_PROFILE";
/// Web identity token file of the SDKs' own web identity provider.
pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// Role of the SDKs' own web identity provider.
pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";
/// Session name of the SDKs' own web identity provider.
pub const AWS_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
/// Container credentials path (ECS), relative to 169.254.170.2.
pub const AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
/// Container credentials URL (any loopback or ECS/EKS address).
pub const AWS_CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The `Authorization` header for [`AWS_CONTAINER_CREDENTIALS_FULL_URI`].
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/// A file holding [`AWS_CONTAINER_AUTHORIZATION_TOKEN`].
pub const AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// Set by the tasks to `VSTS-<task>`; the CLI and SDKs add it to their user agent.
pub const AWS_EXECUTION_ENV: &str = "AWS_EXECUTION_ENV";
/// `true` turns off the EC2 instance metadata service.
pub const AWS_EC2_METADATA_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";
/// Another address for the EC2 instance metadata service.
pub const AWS_EC2_METADATA_SERVICE_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// One endpoint URL for every service.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// A PEM file of the CA certificates the AWS CLI and SDKs trust, instead of
/// their own (botocore's `ca_bundle`).
pub const AWS_CA_BUNDLE: &str = "AWS_CA_BUNDLE";
/// Prefix of the per-service endpoint URLs, e.g. `AWS_ENDPOINT_URL_STS`.
pub const AWS_ENDPOINT_URL_PREFIX: &str = "AWS_ENDPOINT_URL_";
/// The shared config file.
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// The shared credentials file.
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// Variables that make a child process use other credentials than the ones
/// the task injects, in the SDKs' default chain; removed whenever keys or a
/// credentials endpoint are injected.
pub const OVERRIDING_CREDENTIALS: &[&str] = &[
    AWS_PROFILE,
    AWS_DEFAULT_PROFILE,
    AWS_WEB_IDENTITY_TOKEN_FILE,
    AWS_ROLE_ARN,
    AWS_ROLE_SESSION_NAME,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
    AWS_CONTAINER_CREDENTIALS_FULL_URI,
    AWS_CONTAINER_AUTHORIZATION_TOKEN,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    AWS_SECURITY_TOKEN,
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    AWS_CREDENTIAL_EXPIRATION,
];

/// The three variables of injected keys.
pub const KEYS: &[&str] = &[AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN];
