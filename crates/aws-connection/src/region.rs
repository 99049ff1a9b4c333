//! The region a task works in.
//!
//! First hit wins: the task's `regionName` input, the `AWS.Region` variable
//! (which the agent exports as `AWS_REGION`, the same name the SDKs read),
//! `AWS_DEFAULT_REGION`, the `region` of the selected profile in the shared
//! config file (`AWS_PROFILE`, `AWS_CONFIG_FILE`; as the AWS CLI would read
//! it), then the EC2 instance metadata service (IMDSv2, short timeouts,
//! skipped when `AWS_EC2_METADATA_DISABLED` is true). Values are
//! lower-cased, as the toolkit does, and checked.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use azp_task::Env;
use azp_task::variables::Variables;

use crate::error::ConnectError;
use aws_clients::names;

/// A resolved region and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRegion {
    /// The region code.
    pub name: String,
    /// Where it came from, for the log.
    pub source: &'static str,
}

/// A source of a region that may have none: the shared config file, the
/// instance metadata service.
pub trait RegionLookup: Send + Sync {
    /// The region, if this source has one.
    fn region(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send + '_>>;
}

/// The `region` of the selected profile in the shared config file, read by
/// aws-config's `ProfileFileRegionProvider` (which follows `source_profile`).
#[derive(Debug, Default)]
pub struct ProfileRegion;

impl RegionLookup for ProfileRegion {
    fn region(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send + '_>> {
        Box::pin(async move {
            use aws_config::meta::region::ProvideRegion;
            aws_config::profile::ProfileFileRegionProvider::builder()
                .build()
                .region()
                .await
                .map(|r| r.as_ref().to_owned())
        })
    }
}

/// IMDSv2 through aws-config, with short timeouts.
#[derive(Debug)]
pub struct Imds {
    endpoint: Option<String>,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
}

impl Imds {
    /// An IMDS lookup honouring `AWS_EC2_METADATA_SERVICE_ENDPOINT`; `None`
    /// when `AWS_EC2_METADATA_DISABLED` is true.
    #[must_use]
    pub fn from_env(
        env: &Env,
        http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    ) -> Option<Self> {
        if env
            .get_non_empty(names::AWS_EC2_METADATA_DISABLED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return None;
        }
        Some(Self {
            endpoint: env
                .get_non_empty(names::AWS_EC2_METADATA_SERVICE_ENDPOINT)
                .map(str::to_owned),
            http,
        })
    }
}

impl RegionLookup for Imds {
    fn region(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send + '_>> {
        Box::pin(async move {
            let config = aws_config::provider_config::ProviderConfig::without_region()
                .with_http_client(self.http.clone());
            let mut builder = aws_config::imds::Client::builder()
                .configure(&config)
                .connect_timeout(Duration::from_secs(1))
                .read_timeout(Duration::from_secs(2))
                .max_attempts(2);
            if let Some(endpoint) = &self.endpoint {
                builder = builder.endpoint(endpoint).ok()?;
            }
            let provider = aws_config::imds::region::ImdsRegionProvider::builder()
                .imds_client(builder.build())
                .build();
            provider.region().await.map(|r| r.as_ref().to_owned())
        })
    }
}

fn check(value: &str, source: &'static str) -> Result<ResolvedRegion, ConnectError> {
    let name = value.trim().to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(ResolvedRegion { name, source })
    } else {
        Err(ConnectError::InvalidRegion {
            value: value.to_owned(),
            origin: source,
        })
    }
}

/// Find the region; `Ok(None)` when nothing configures one.
///
/// # Errors
/// [`ConnectError::InvalidRegion`] for a value that is not a region name.
pub async fn resolve(
    input: Option<&str>,
    env: &Env,
    profile: Option<&dyn RegionLookup>,
    imds: Option<&dyn RegionLookup>,
) -> Result<Option<ResolvedRegion>, ConnectError> {
    if let Some(v) = input.map(str::trim).filter(|v| !v.is_empty()) {
        return check(v, "the task's regionName input").map(Some);
    }
    if let Some(v) = Variables::new(env).get(crate::settings::vars::REGION) {
        return check(v, "the AWS.Region variable (AWS_REGION)").map(Some);
    }
    if let Some(v) = env.get_non_empty(names::AWS_DEFAULT_REGION) {
        return check(v, names::AWS_DEFAULT_REGION).map(Some);
    }
    if let Some(profile) = profile
        && let Some(v) = profile.region().await
    {
        return check(&v, "the profile in the AWS shared config file").map(Some);
    }
    if let Some(imds) = imds
        && let Some(v) = imds.region().await
    {
        return check(&v, "the EC2 instance metadata service").map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Option<&'static str>);
    impl RegionLookup for Fixed {
        fn region(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send + '_>> {
            Box::pin(async move { self.0.map(str::to_owned) })
        }
    }

    async fn r(
        input: Option<&str>,
        env: &[(&str, &str)],
        imds: Option<&'static str>,
    ) -> Result<Option<ResolvedRegion>, ConnectError> {
        resolve(
            input,
            &Env::from_pairs(env.iter().copied()),
            Some(&Fixed(None)),
            Some(&Fixed(imds)),
        )
        .await
    }

    #[tokio::test]
    async fn order_of_sources() {
        let all = [
            ("AWS_REGION", "eu-west-2"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
        ];
        assert_eq!(
            r(Some("EU-WEST-1"), &all, Some("us-east-2"))
                .await
                .unwrap()
                .unwrap()
                .name,
            "eu-west-1"
        );
        assert_eq!(
            r(None, &all, Some("us-east-2"))
                .await
                .unwrap()
                .unwrap()
                .name,
            "eu-west-2"
        );
        assert_eq!(
            r(None, &all[1..], Some("us-east-2"))
                .await
                .unwrap()
                .unwrap()
                .name,
            "eu-west-3"
        );
        let imds = r(None, &[], Some("us-east-2")).await.unwrap().unwrap();
        assert_eq!(
            (imds.name.as_str(), imds.source),
            ("us-east-2", "the EC2 instance metadata service")
        );
        assert_eq!(r(None, &[], None).await.unwrap(), None);
        assert_eq!(
            r(None, &[("SECRET_AWS_REGION", "ap-south-1")], None)
                .await
                .unwrap()
                .unwrap()
                .name,
            "ap-south-1"
        );
    }

    #[tokio::test]
    async fn the_shared_config_profile_comes_before_imds() {
        let env = Env::default();
        let got = resolve(
            None,
            &env,
            Some(&Fixed(Some("eu-south-2"))),
            Some(&Fixed(Some("us-east-2"))),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            (got.name.as_str(), got.source),
            ("eu-south-2", "the profile in the AWS shared config file")
        );
    }

    #[tokio::test]
    async fn invalid_regions_are_errors() {
        let err = r(Some("Europe (Ireland)"), &[], None).await.unwrap_err();
        assert!(err.to_string().contains("regionName"), "{err}");
    }
}
