//! One credential source per [`Plan`], built before any credentials are
//! fetched.
//!
//! - [`Plan::WebIdentity`]: [`WebIdentitySource`], a new OIDC token and
//!   `AssumeRoleWithWebIdentity` per fetch.
//! - [`Plan::Keys`]: the keys as they are, or [`AssumeRoleSource`] signed
//!   with them.
//! - [`Plan::Ambient`]: the SDK's default chain ([`AmbientCredentials`]), as
//!   it is or as the base of [`AssumeRoleSource`].
//!
//! A long-term access key (`AKIA…`) never takes a session token; the agent's
//! own credentials that carry one anyway (a stale `AWS_SESSION_TOKEN` left in
//! the agent's environment) lose it here, with a warning, before anything
//! is signed with them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::region::Region;
use azp_task::Logger;
use azp_task::oidc::{OidcTokenRequest, RetryPolicy};

use crate::error::{AmbientNeed, ConnectError};
use crate::provider::{BoxFuture, Clock, CredentialSource, StaticSource};
use crate::settings::{Origin, Plan};
use crate::signer::Signer;
use crate::sts::{AssumeRoleSource, WebIdentitySettings, WebIdentitySource};
use azp_task::time::Backoff;

/// What building a source needs from the connection steps before it.
pub(crate) struct Setup<'a> {
    pub log: &'a Logger,
    /// SDK configuration without credentials (endpoints, region, HTTP).
    pub anonymous: &'a SdkConfig,
    pub http: SharedHttpClient,
    pub sts_region: String,
    pub sts_retry: Backoff,
    /// The OIDC token request, built and checked before any network call.
    pub token_request: Option<OidcTokenRequest>,
    pub token_http: Option<reqwest::Client>,
    pub token_retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
}

/// A source, and what it means for child processes.
pub(crate) struct Built {
    pub source: Box<dyn CredentialSource>,
    /// Children get these credentials (false: they resolve the agent's own).
    pub inject: bool,
    /// What signs calls made with these credentials.
    pub signer: Signer,
}

/// Build the source for `plan`.
pub(crate) async fn build(
    plan: Plan,
    origin: &Origin,
    setup: Setup<'_>,
) -> Result<Built, ConnectError> {
    let log = setup.log;
    match plan {
        Plan::WebIdentity {
            connection_id,
            role,
        } => {
            log.info(&format!(
                "Using OIDC federation from service connection {connection_id}."
            ));
            let (Some(request), Some(http)) = (setup.token_request, setup.token_http) else {
                return Err(ConnectError::Http(
                    "the OIDC token request was not prepared".into(),
                ));
            };
            let source = WebIdentitySource::new(
                WebIdentitySettings {
                    request,
                    http,
                    token_retry: setup.token_retry,
                    connection_id,
                    role,
                    sts: crate::session::sts_without_retries(setup.anonymous),
                    retry: setup.sts_retry,
                },
                log.clone(),
                setup.clock,
            );
            Ok(Built {
                source: Box::new(source),
                inject: true,
                signer: Signer::Session,
            })
        }
        Plan::Keys { keys, role } => {
            // The keys themselves are registered before anything mentions them.
            log.set_secret(keys.access_key_id.expose());
            log.set_secret(keys.secret_access_key.expose());
            if let Some(t) = &keys.session_token {
                log.set_secret(t.expose());
            }
            let signer = Signer::keys(origin, &keys);
            let static_creds = Credentials::new(
                keys.access_key_id.expose(),
                keys.secret_access_key.expose(),
                keys.session_token.as_ref().map(|t| t.expose().to_owned()),
                None,
                "AzurePipelinesKeys",
            );
            match role {
                None => {
                    log.info(&format!("Using {}.", signer.whose()));
                    Ok(Built {
                        source: Box::new(StaticSource(static_creds)),
                        inject: true,
                        signer,
                    })
                }
                Some(role) => {
                    log.info(&format!("Using {} to assume a role.", signer.whose()));
                    Ok(assume_role(
                        &setup,
                        role,
                        SharedCredentialsProvider::new(static_creds),
                        signer,
                    ))
                }
            }
        }
        Plan::Ambient { role } => {
            let need = match origin {
                Origin::Connection(id) => AmbientNeed::ConnectionRoleOnly {
                    connection: id.clone(),
                },
                Origin::Variables => AmbientNeed::VariableRoleOnly,
                Origin::Ambient => AmbientNeed::NothingConfigured,
            };
            let ambient = AmbientCredentials::new(&setup.http, &setup.sts_region, log, need).await;
            match role {
                None => {
                    log.info("No service connection or AWS.* credential variables: using the agent's own AWS credentials (environment, profile, web identity token file, container or instance role).");
                    Ok(Built {
                        source: Box::new(ambient),
                        inject: false,
                        signer: Signer::Ambient,
                    })
                }
                Some(role) => {
                    // Fail here, clearly, rather than inside the signed STS call.
                    ambient.fetch().await?;
                    Ok(assume_role(
                        &setup,
                        role,
                        SharedCredentialsProvider::new(ambient),
                        Signer::Ambient,
                    ))
                }
            }
        }
    }
}

/// `AssumeRole` signed with `base` (described by `signer`); children get the
/// role's credentials.
fn assume_role(
    setup: &Setup<'_>,
    role: crate::settings::RoleSpec,
    base: SharedCredentialsProvider,
    signer: Signer,
) -> Built {
    let sts =
        crate::session::sts_without_retries(&crate::session::signed_with(setup.anonymous, base));
    Built {
        source: Box::new(AssumeRoleSource::new(
            role,
            sts,
            setup.sts_retry,
            signer,
            setup.log.clone(),
            setup.clock.clone(),
        )),
        inject: true,
        signer: Signer::Session,
    }
}

/// The SDK's default chain (environment, shared config and profile, web
/// identity token file, ECS container credentials, EC2 IMDSv2), without a
/// stale session token next to a long-term key.
#[derive(Debug, Clone)]
pub struct AmbientCredentials {
    chain: Arc<DefaultCredentialsChain>,
    log: Logger,
    need: AmbientNeed,
    warned: Arc<AtomicBool>,
}

impl AmbientCredentials {
    async fn new(http: &SharedHttpClient, region: &str, log: &Logger, need: AmbientNeed) -> Self {
        let chain = DefaultCredentialsChain::builder()
            .region(Region::new(region.to_owned()))
            .configure(
                aws_config::provider_config::ProviderConfig::without_region()
                    .with_http_client(http.clone()),
            )
            .build()
            .await;
        Self {
            chain: Arc::new(chain),
            log: log.clone(),
            need,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    async fn get(
        &self,
    ) -> Result<Credentials, aws_credential_types::provider::error::CredentialsError> {
        let c = self.chain.provide_credentials().await?;
        if !(c.access_key_id().starts_with("AKIA") && c.session_token().is_some()) {
            return Ok(c);
        }
        if !self.warned.swap(true, Ordering::SeqCst) {
            self.log.warning(
                "The agent's own AWS credentials have a session token next to a long-term access key (the key id \
                 starts with AKIA), as when AWS_SESSION_TOKEN is left over in the agent's environment. Long-term keys \
                 take no session token, so this one is stale; it is ignored and is not sent to AWS or to the script. \
                 Remove AWS_SESSION_TOKEN from the agent's environment.",
            );
        }
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            None,
            c.expiry(),
            "AzurePipelinesAmbient",
        ))
    }
}

impl ProvideCredentials for AmbientCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.get())
    }
}

impl CredentialSource for AmbientCredentials {
    fn fetch(&self) -> BoxFuture<'_, Result<Credentials, ConnectError>> {
        Box::pin(async move {
            self.get()
                .await
                .map_err(|e| ConnectError::NoAmbientCredentials {
                    context: self.need.clone(),
                    detail: aws_clients::error::render_chain(&e),
                })
        })
    }
}
