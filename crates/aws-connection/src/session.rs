//! From the task's connection input to a working AWS session.
//!
//! [`connect`] runs these steps, each a function of its own:
//! 1. [`plan_settings`]: read the connection (or the `AWS.*` variables) into
//!    a [`Plan`] and log its warnings ([`crate::settings`]);
//! 2. [`prepare_token_request`]: with OIDC, build the Azure DevOps token
//!    request now, so a bad connection id fails before any network call;
//! 3. [`resolve_region`] ([`crate::region`]);
//! 4. [`load_sdk_config`]: endpoint, retry and profile settings, once;
//! 5. [`crate::sources::build`]: the credential source for the plan;
//! 6. the first credentials, which registers them as secrets;
//! 7. [`verify`]: `sts:GetCallerIdentity`, unless `AWS.VerifyIdentity` is
//!    false.
//!
//! The result is an [`AwsSession`]: SDK configuration whose credentials
//! refresh themselves, and (see [`crate::child`]) the environment for child
//! processes. The SDK configuration honours the standard endpoint settings
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), so private links,
//! S3-compatible stores and local test servers work for every client a task
//! builds.

use std::sync::Arc;

use aws_clients::error::{AwsErrorKind, is_credentials_error};
use aws_config::BehaviorVersion;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::app_name::AppName;
use aws_types::region::Region;
use azp_task::oidc::{OidcTokenRequest, RetryPolicy};
use azp_task::proxy::AgentProxy;
use azp_task::{Logger, TaskContext};

use crate::error::ConnectError;
use crate::provider::{Clock, RefreshingCredentials, format_time};
use crate::region::{Imds, ProfileRegion, RegionLookup, ResolvedRegion};
use crate::settings::{Plan, Planned, vars};
use crate::signer::Signer;
use azp_task::time::Backoff;

/// What a task tells [`connect`].
#[derive(Debug, Clone)]
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
    pub sts_retry: Backoff,
    /// OIDC token request retry bounds (tests shorten them).
    pub token_retry: RetryPolicy,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            connection: None,
            region: None,
            region_required: false,
            task_name: String::new(),
            sts_retry: crate::sts::default_sts_backoff(),
            token_retry: RetryPolicy::default(),
        }
    }
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
    ca_bundle: Option<std::path::PathBuf>,
    task_name: String,
}

/// Ends a log group however the function returns.
struct Group<'a>(&'a Logger);

impl Drop for Group<'_> {
    fn drop(&mut self) {
        self.0.end_group();
    }
}

/// Connect, on the task's clock.
///
/// # Errors
/// Any [`ConnectError`]; an explicitly configured method that fails is
/// an error, never a fallback to another method.
pub async fn connect(
    ctx: &TaskContext,
    options: &ConnectOptions,
) -> Result<AwsSession, ConnectError> {
    connect_with_clock(ctx, options, ctx.clock()).await
}

/// [`connect`] with an explicit clock (tests move time instead of sleeping).
///
/// # Errors
/// As [`connect`].
pub async fn connect_with_clock(
    ctx: &TaskContext,
    options: &ConnectOptions,
    clock: Arc<dyn Clock>,
) -> Result<AwsSession, ConnectError> {
    let log = ctx.log();
    log.group("AWS credentials");
    let _group = Group(log);

    let planned = plan_settings(ctx, options)?;
    let token_request = prepare_token_request(ctx, &planned.plan)?;
    let proxy = ctx.proxy()?.cloned();
    let tls = ctx.agent_tls()?;
    let http = aws_clients::http::sdk_http_client(proxy.as_ref(), tls, log)
        .map_err(|e| ConnectError::Http(e.to_string()))?;
    let region = resolve_region(ctx, options, &http, &planned.plan).await?;
    let sts_region = region
        .as_ref()
        .map_or(fallback_region(&planned.plan), |r| r.name.as_str())
        .to_owned();
    let anonymous = load_sdk_config(&http, &sts_region, &options.task_name).await;

    let token_http = match &token_request {
        Some(_) => Some(
            azp_task::http::client(proxy.as_ref(), tls)
                .map_err(|e| ConnectError::Http(e.to_string()))?,
        ),
        None => None,
    };
    let built = crate::sources::build(
        planned.plan,
        &planned.origin,
        crate::sources::Setup {
            log,
            anonymous: &anonymous,
            http: http.clone(),
            sts_region,
            sts_retry: options.sts_retry,
            token_request,
            token_http,
            token_retry: options.token_retry,
            clock: clock.clone(),
        },
    )
    .await?;

    let credentials = RefreshingCredentials::new(built.source, clock, log.clone());
    let first = credentials.credentials().await?;
    if let Some(exp) = first.expiry() {
        log.info(&format!(
            "The credentials are valid until {}; they are refreshed automatically 5 minutes before.",
            format_time(exp)
        ));
    }
    let sdk_config = signed_with(
        &anonymous,
        SharedCredentialsProvider::new(credentials.clone()),
    );
    let identity = verify(ctx, &sdk_config, &built.signer).await?;
    let ca_bundle = tls.and_then(|t| write_ca_bundle(ctx, t));
    Ok(AwsSession {
        sdk_config,
        region,
        identity,
        credentials,
        inject: built.inject,
        proxy,
        ca_bundle,
        task_name: options.task_name.clone(),
    })
}

/// The CA bundle for child processes when the agent has `Agent.CAInfo`
/// (see `AgentTls::child_ca_bundle`), written to the agent's temp folder,
/// which the agent empties after the job. A bundle that cannot be written
/// is a warning: the children then keep their own trust store.
fn write_ca_bundle(ctx: &TaskContext, tls: &azp_task::tls::AgentTls) -> Option<std::path::PathBuf> {
    let pem = tls.child_ca_bundle()?;
    let path = ctx
        .temp_dir()
        .join(format!("azp-aws-ca-bundle-{}.pem", std::process::id()));
    match std::fs::write(&path, pem) {
        Ok(()) => Some(path),
        Err(e) => {
            ctx.log().warning(format!(
                "The CA bundle for the AWS CLI and scripts (the system's roots and Agent.CAInfo's) cannot be written to {}: {e}. \
                 Child processes keep their own trust store and may not trust the agent's CA.",
                path.display()
            ));
            None
        }
    }
}

/// Step 1: the plan, with its warnings logged.
fn plan_settings(ctx: &TaskContext, options: &ConnectOptions) -> Result<Planned, ConnectError> {
    let endpoint = options
        .connection
        .as_deref()
        .map(|id| ctx.endpoint(id))
        .transpose()?;
    let planned = crate::settings::plan(ctx.env(), endpoint.as_ref())?;
    for w in &planned.warnings {
        ctx.log().warning(w);
    }
    Ok(planned)
}

/// Step 2: the OIDC token request of a web identity plan, checked up front.
fn prepare_token_request(
    ctx: &TaskContext,
    plan: &Plan,
) -> Result<Option<OidcTokenRequest>, ConnectError> {
    let Plan::WebIdentity { connection_id, .. } = plan else {
        return Ok(None);
    };
    ctx.oidc_token_request(connection_id)
        .map(Some)
        .map_err(|source| ConnectError::OidcToken {
            connection: connection_id.clone(),
            source,
        })
}

/// Step 3: the region, logged; an error when the task needs one and there
/// is none.
async fn resolve_region(
    ctx: &TaskContext,
    options: &ConnectOptions,
    http: &SharedHttpClient,
    plan: &Plan,
) -> Result<Option<ResolvedRegion>, ConnectError> {
    let imds = Imds::from_env(ctx.env(), http.clone());
    let region = crate::region::resolve(
        options.region.as_deref(),
        ctx.env(),
        Some(&ProfileRegion),
        imds.as_ref().map(|i| i as &dyn RegionLookup),
    )
    .await?;
    let log = ctx.log();
    match &region {
        Some(r) => log.info(&format!("Region: {} (from {}).", r.name, r.source)),
        None if options.region_required => return Err(ConnectError::NoRegion),
        None => log.info(&format!(
            "No AWS region is configured; STS calls use {}.",
            fallback_region(plan)
        )),
    }
    Ok(region)
}

/// Step 4: the SDK configuration (endpoint, retry and profile settings from
/// the environment and shared config), loaded once, with no credentials:
/// STS `AssumeRoleWithWebIdentity` is unsigned.
async fn load_sdk_config(http: &SharedHttpClient, region: &str, app: &str) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .region(Region::new(region.to_owned()));
    if let Ok(name) = AppName::new(format!("azp-{app}")) {
        loader = loader.app_name(name);
    }
    loader.no_credentials().load().await
}

/// Step 7: `sts:GetCallerIdentity` with the new credentials, unless the
/// variable `AWS.VerifyIdentity` is false.
async fn verify(
    ctx: &TaskContext,
    sdk_config: &SdkConfig,
    signer: &Signer,
) -> Result<Option<CallerIdentity>, ConnectError> {
    let log = ctx.log();
    if !ctx
        .variables()
        .boolean(vars::VERIFY_IDENTITY)?
        .unwrap_or(true)
    {
        log.info(&format!(
            "Not verifying the credentials: the variable {} is false.",
            vars::VERIFY_IDENTITY
        ));
        return Ok(None);
    }
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk_config)
            .timeout_config(sts_timeouts())
            .build(),
    );
    let out = match sts.get_caller_identity().send().await {
        Ok(out) => out,
        Err(e) => {
            let error = aws_clients::describe(&e);
            if is_credentials_error(error.code()) {
                return Err(ConnectError::CredentialsRejected {
                    operation: "sts:GetCallerIdentity",
                    whose: signer.whose(),
                    advice: signer.advice(error.code()),
                    error: Box::new(error),
                });
            }
            let advice = match error.kind {
                // The certificate failure says what to do itself.
                AwsErrorKind::Certificate => String::new(),
                AwsErrorKind::Service => format!(
                    "If the credentials are right but this call is blocked (for example by a service control \
                     policy), set the variable {} to false.",
                    vars::VERIFY_IDENTITY
                ),
                _ => "AWS STS could not be reached from this agent: check the network, the agent's proxy settings \
                      and AWS_ENDPOINT_URL_STS, then run again."
                    .to_owned(),
            };
            return Err(ConnectError::Verification {
                error: Box::new(error),
                advice,
            });
        }
    };
    let id = CallerIdentity {
        arn: out.arn().unwrap_or_default().to_owned(),
        account: out.account().unwrap_or_default().to_owned(),
    };
    log.info(&format!(
        "Authenticated as {} (account {}).",
        id.arn, id.account
    ));
    Ok(Some(id))
}

/// `base` signing with `credentials`.
pub(crate) fn signed_with(base: &SdkConfig, credentials: SharedCredentialsProvider) -> SdkConfig {
    base.to_builder()
        .credentials_provider(credentials)
        // Our provider does its own caching and refresh with a 5-minute margin.
        .identity_cache(IdentityCache::no_cache())
        .build()
}

/// STS calls are small: an attempt that takes longer than this is stuck (a
/// stalled proxy, a black-holed private link) and is retried as a timeout.
fn sts_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .operation_attempt_timeout(std::time::Duration::from_secs(20))
        .build()
}

/// An STS client whose failures the caller classifies and retries itself.
pub(crate) fn sts_without_retries(config: &SdkConfig) -> aws_sdk_sts::Client {
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
        "aws-eusc" => "eusc-de-east-1",
        _ => "us-east-1",
    }
}

impl AwsSession {
    /// SDK configuration whose credentials refresh themselves; build every
    /// client (`aws_sdk_s3::Client::new(session.sdk_config())`) from it.
    #[must_use]
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }

    /// The CA bundle file children get as `AWS_CA_BUNDLE`: the system's
    /// roots and the agent's `Agent.CAInfo`, when the agent has one.
    #[must_use]
    pub fn ca_bundle(&self) -> Option<&std::path::Path> {
        self.ca_bundle.as_deref()
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

    /// Whether child processes get these credentials. False only when
    /// nothing was configured and the agent's own credentials are used: then
    /// children resolve them themselves, and keep any refresh their source
    /// offers (an instance role, for example).
    #[must_use]
    pub fn injects_credentials(&self) -> bool {
        self.inject
    }

    /// The agent's proxy, if any.
    #[must_use]
    pub fn proxy(&self) -> Option<&AgentProxy> {
        self.proxy.as_ref()
    }

    /// The task's name, as `AWS_EXECUTION_ENV` carries it.
    #[must_use]
    pub fn task_name(&self) -> &str {
        &self.task_name
    }
}
