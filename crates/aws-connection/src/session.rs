//! From the task's connection input to a working AWS session.
//!
//! [`connect`] plans (see [`crate::settings`]), resolves the region, builds
//! the HTTPS client with the agent's proxy, obtains the first credentials
//! (which registers them as secrets), verifies them with
//! `sts:GetCallerIdentity` unless `AWS.VerifyIdentity` is false, and returns
//! an [`AwsSession`]: SDK configuration whose credentials refresh
//! themselves, and the environment for child processes.
//!
//! The SDK configuration honours the standard endpoint settings
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), retry and profile
//! settings, so private links, S3-compatible stores and local test servers
//! work for every client a task builds.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use aws_config::BehaviorVersion;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::app_name::AppName;
use aws_types::region::Region;
use azp_task::oidc::RetryPolicy;
use azp_task::proxy::AgentProxy;
use azp_task::{Env, Logger, TaskContext};

use crate::error::CredentialsError;
use crate::http::sdk_http_client;
use crate::provider::{
    AmbientSource, Clock, CredentialSource, RefreshingCredentials, StaticSource, SystemClock,
    format_time,
};
use crate::region::{Imds, MetadataRegion, ResolvedRegion};
use crate::settings::{Origin, Plan, RoleSpec, vars};
use crate::sts::{AssumeRoleSource, StsRetry, WebIdentitySource};

/// What a task tells [`connect`].
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The `awsCredentials` input: the selected connection's id, if any.
    pub connection: Option<String>,
    /// The `regionName` input, if any.
    pub region: Option<String>,
    /// Fail when no region can be found.
    pub region_required: bool,
    /// The task's name, for the user agent and `AWS_EXECUTION_ENV`
    /// (`VSTS-<name>`, as the toolkit sets it).
    pub task_name: String,
    /// STS retry bounds (tests shorten them).
    pub sts_retry: StsRetry,
    /// OIDC token request retry bounds (tests shorten them).
    pub token_retry: RetryPolicy,
}

/// The identity the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// ARN, e.g. `arn:aws:sts::123456789012:assumed-role/deploy/aws-vsts-tools`.
    pub arn: String,
    /// Account.
    pub account: String,
}

/// A connected session.
#[derive(Debug, Clone)]
pub struct AwsSession {
    sdk_config: SdkConfig,
    region: Option<ResolvedRegion>,
    identity: Option<CallerIdentity>,
    credentials: RefreshingCredentials,
    inject: bool,
    proxy: Option<AgentProxy>,
    task_name: String,
}

/// Ends a log group however the function returns.
struct Group<'a>(&'a Logger);

impl Drop for Group<'_> {
    fn drop(&mut self) {
        self.0.end_group();
    }
}

/// Connect with the system clock.
///
/// # Errors
/// Any [`CredentialsError`]; an explicitly configured method that fails is
/// an error, never a fallback to another method.
pub async fn connect(
    ctx: &TaskContext,
    options: &ConnectOptions,
) -> Result<AwsSession, CredentialsError> {
    connect_with_clock(ctx, options, Arc::new(SystemClock)).await
}

/// Load the SDK configuration once (endpoint, retry and profile settings from
/// the environment and shared config) with no credentials; STS
/// `AssumeRoleWithWebIdentity` is unsigned.
async fn load_anonymous(http: &SharedHttpClient, region: &str, app: &str) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .region(Region::new(region.to_owned()));
    if let Ok(name) = AppName::new(format!("azp-{app}")) {
        loader = loader.app_name(name);
    }
    loader.no_credentials().load().await
}

/// `base` signing with `credentials`.
fn signed_with(base: &SdkConfig, credentials: SharedCredentialsProvider) -> SdkConfig {
    base.to_builder()
        .credentials_provider(credentials)
        // Our provider does its own caching and refresh with a 5-minute margin.
        .identity_cache(IdentityCache::no_cache())
        .build()
}

/// What every STS exchange of one connection shares.
struct StsSetup<'a> {
    log: &'a Logger,
    base: &'a SdkConfig,
    retry: StsRetry,
}

impl StsSetup<'_> {
    /// `AssumeRole` signed with `base`.
    fn assume(
        &self,
        role: RoleSpec,
        base: SharedCredentialsProvider,
        described_as: &'static str,
    ) -> Box<dyn CredentialSource> {
        let signed = signed_with(self.base, base);
        Box::new(AssumeRoleSource {
            log: self.log.clone(),
            role,
            sts: sts_without_retries(&signed),
            retry: self.retry,
            base: described_as,
            described: AtomicBool::new(false),
        })
    }
}

/// STS calls are small: an attempt that takes longer than this is stuck (a
/// stalled proxy, a black-holed private link) and is retried as a timeout.
fn sts_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .operation_attempt_timeout(std::time::Duration::from_secs(20))
        .build()
}

fn sts_without_retries(config: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(sts_timeouts())
            .build(),
    )
}

/// The region STS uses when none is configured: one in the role's partition.
fn fallback_region(plan: &Plan) -> &'static str {
    let partition = match plan {
        Plan::WebIdentity { role, .. }
        | Plan::Keys {
            role: Some(role), ..
        }
        | Plan::Ambient { role: Some(role) } => role.arn.partition.as_str(),
        _ => "aws",
    };
    match partition {
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// [`connect`] with an explicit clock (tests move time instead of sleeping).
///
/// # Errors
/// As [`connect`].
pub async fn connect_with_clock(
    ctx: &TaskContext,
    options: &ConnectOptions,
    clock: Arc<dyn Clock>,
) -> Result<AwsSession, CredentialsError> {
    let log = ctx.log();
    let env = ctx.env();
    log.group("AWS credentials");
    let _group = Group(log);

    let endpoint = options
        .connection
        .as_deref()
        .map(|id| ctx.endpoint(id))
        .transpose()?;
    let planned = crate::settings::plan(env, endpoint.as_ref())?;
    for w in &planned.warnings {
        log.warning(w);
    }
    let proxy = ctx.proxy()?;
    let http = sdk_http_client(proxy.as_ref(), log)?;
    let imds = Imds::from_env(env, http.clone());
    let region = crate::region::resolve(
        options.region.as_deref(),
        env,
        imds.as_ref().map(|i| i as &dyn MetadataRegion),
    )
    .await?;
    match &region {
        Some(r) => log.info(&format!("Region: {} (from {}).", r.name, r.source)),
        None if options.region_required => return Err(CredentialsError::NoRegion),
        None => log.info(&format!(
            "No AWS region is configured; STS calls use {}.",
            fallback_region(&planned.plan)
        )),
    }
    let sts_region = region
        .as_ref()
        .map_or(fallback_region(&planned.plan), |r| r.name.as_str())
        .to_owned();
    let app = options.task_name.as_str();
    let anonymous = load_anonymous(&http, &sts_region, app).await;
    let sts = StsSetup {
        log,
        base: &anonymous,
        retry: options.sts_retry,
    };

    let (source, inject): (Box<dyn CredentialSource>, bool) = match planned.plan {
        Plan::WebIdentity {
            connection_id,
            role,
        } => {
            log.info(&format!(
                "Using OIDC federation from service connection {connection_id}."
            ));
            let http_client = azp_task::http::client(proxy.as_ref())
                .map_err(|e| CredentialsError::Http(e.to_string()))?;
            let source = WebIdentitySource {
                env: env.clone(),
                log: log.clone(),
                http: http_client,
                token_retry: options.token_retry,
                connection_id,
                role,
                sts: sts_without_retries(&anonymous),
                retry: options.sts_retry,
                clock: clock.clone(),
                described: AtomicBool::new(false),
            };
            (Box::new(source), true)
        }
        Plan::Keys { keys, role } => {
            let from = match &planned.origin {
                Origin::Connection(id) => format!("service connection {id}"),
                _ => "the AWS.AccessKeyID and AWS.SecretAccessKey variables".to_owned(),
            };
            // The keys themselves are registered before anything mentions them.
            log.set_secret(keys.access_key_id.expose());
            log.set_secret(keys.secret_access_key.expose());
            if let Some(t) = &keys.session_token {
                log.set_secret(t.expose());
            }
            let static_creds = Credentials::new(
                keys.access_key_id.expose(),
                keys.secret_access_key.expose(),
                keys.session_token.as_ref().map(|t| t.expose().to_owned()),
                None,
                "AzurePipelinesKeys",
            );
            match role {
                None => {
                    log.info(&format!("Using the access keys of {from}."));
                    (Box::new(StaticSource(static_creds)), true)
                }
                Some(role) => {
                    log.info(&format!(
                        "Using the access keys of {from} to assume a role."
                    ));
                    let base = SharedCredentialsProvider::new(static_creds);
                    (
                        sts.assume(role, base, "the access keys of the connection"),
                        true,
                    )
                }
            }
        }
        Plan::Ambient { role } => {
            let chain =
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .region(Region::new(sts_region.clone()))
                    .configure(
                        aws_config::provider_config::ProviderConfig::without_region()
                            .with_http_client(http.clone()),
                    )
                    .build()
                    .await;
            match role {
                None => {
                    log.info("No service connection or AWS.* credential variables: using the agent's own AWS credentials (environment, profile, web identity token file, container or instance role).");
                    (Box::new(AmbientSource(chain)), false)
                }
                Some(role) => {
                    // Fail here, clearly, rather than inside the signed STS call.
                    chain.provide_credentials().await.map_err(|e| {
                        CredentialsError::NoAmbientCredentials {
                            detail: azp_task::render_error(&e),
                        }
                    })?;
                    let base = SharedCredentialsProvider::new(chain);
                    (
                        sts.assume(role, base, "the agent's own AWS credentials"),
                        true,
                    )
                }
            }
        }
    };

    let credentials = RefreshingCredentials::new(source, clock, log.clone());
    let first = credentials.credentials().await?;
    if let Some(exp) = first.expiry() {
        log.info(&format!("The credentials are valid until {}; they are refreshed automatically 5 minutes before.", format_time(exp)));
    }
    let sdk_config = signed_with(
        &anonymous,
        SharedCredentialsProvider::new(credentials.clone()),
    );

    let verify = ctx
        .variables()
        .get(vars::VERIFY_IDENTITY)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    let identity =
        if verify {
            let sts = aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&sdk_config)
                    .timeout_config(sts_timeouts())
                    .build(),
            );
            let out = sts.get_caller_identity().send().await.map_err(|e| {
                CredentialsError::Verification {
                    detail: azp_task::render_error(&e),
                }
            })?;
            let id = CallerIdentity {
                arn: out.arn().unwrap_or_default().to_owned(),
                account: out.account().unwrap_or_default().to_owned(),
            };
            log.info(&format!(
                "Authenticated as {} (account {}).",
                id.arn, id.account
            ));
            Some(id)
        } else {
            log.info(&format!(
                "Not verifying the credentials: the variable {} is false.",
                vars::VERIFY_IDENTITY
            ));
            None
        };
    Ok(AwsSession {
        sdk_config,
        region,
        identity,
        credentials,
        inject,
        proxy,
        task_name: options.task_name.clone(),
    })
}

/// Variables that would make a child use other credentials than the ones
/// injected; removed whenever keys are injected.
pub const OVERRIDING_VARIABLES: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_EXPIRATION",
];

impl AwsSession {
    /// SDK configuration whose credentials refresh themselves; build every
    /// client (`aws_sdk_s3::Client::new(session.sdk_config())`) from it.
    #[must_use]
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }

    /// The region, when one was found.
    #[must_use]
    pub fn region(&self) -> Option<&ResolvedRegion> {
        self.region.as_ref()
    }

    /// The verified identity, unless verification was turned off.
    #[must_use]
    pub fn identity(&self) -> Option<&CallerIdentity> {
        self.identity.as_ref()
    }

    /// The refreshing credentials.
    #[must_use]
    pub fn credentials(&self) -> &RefreshingCredentials {
        &self.credentials
    }

    /// Whether child processes get these credentials as keys. False only
    /// when nothing was configured and the agent's own credentials are used:
    /// then children resolve them themselves, and keep any refresh their
    /// source offers (an instance role, for example).
    #[must_use]
    pub fn injects_credentials(&self) -> bool {
        self.inject
    }

    /// Environment variables that describe where and how to reach AWS,
    /// without credentials: region, `AWS_EXECUTION_ENV`, and the agent's
    /// proxy. `base` is the scrubbed task environment.
    #[must_use]
    pub fn child_env_without_credentials(&self, base: &Env) -> Env {
        let mut env = base.clone();
        if self.inject {
            for name in OVERRIDING_VARIABLES {
                env.remove(name);
            }
            for name in [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ] {
                env.remove(name);
            }
        }
        if let Some(r) = &self.region {
            env.set("AWS_REGION", &r.name);
            env.set("AWS_DEFAULT_REGION", &r.name);
        }
        env.set("AWS_EXECUTION_ENV", format!("VSTS-{}", self.task_name));
        if let Some(p) = &self.proxy {
            let url = p.url_with_credentials();
            for name in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
                env.set(name, url.expose());
            }
            let (hosts, _) = p.no_proxy();
            let joined = crate::http::no_proxy_list(&hosts);
            env.set("NO_PROXY", &joined);
            env.set("no_proxy", &joined);
        }
        env
    }

    /// The environment for a child process that fetches credentials from
    /// `endpoint` instead of holding keys: no keys and nothing else that
    /// would win over the container-credentials variables in the SDKs'
    /// default chain.
    #[must_use]
    pub fn child_env_with_endpoint(
        &self,
        base: &Env,
        endpoint: &crate::endpoint::CredentialsEndpoint,
    ) -> Env {
        let mut env = self.child_env_without_credentials(base);
        for name in OVERRIDING_VARIABLES.iter().chain(&[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ]) {
            env.remove(name);
        }
        for (k, v) in endpoint.env() {
            env.set(k, v);
        }
        env
    }

    /// The environment for a child process: [`Self::child_env_without_credentials`]
    /// plus current (refreshed if due) keys. `AWS_SESSION_TOKEN` is removed
    /// when the credentials have none, so a stale inherited token cannot
    /// survive. `AWS_ENDPOINT_URL*` pass through unchanged.
    ///
    /// # Errors
    /// When the credentials cannot be refreshed.
    pub async fn child_env(&self, base: &Env) -> Result<Env, CredentialsError> {
        let mut env = self.child_env_without_credentials(base);
        if self.inject {
            let c = self.credentials.credentials().await?;
            env.set("AWS_ACCESS_KEY_ID", c.access_key_id());
            env.set("AWS_SECRET_ACCESS_KEY", c.secret_access_key());
            match c.session_token() {
                Some(t) => env.set("AWS_SESSION_TOKEN", t),
                None => env.remove("AWS_SESSION_TOKEN"),
            }
        }
        Ok(env)
    }
}
