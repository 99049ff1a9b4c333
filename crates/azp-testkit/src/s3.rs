//! A blocking S3 client for test assertions: what a bucket on moto (or
//! any S3 endpoint) holds after a task ran. Each call runs on its own
//! small runtime, so tests stay plain `#[test]` functions.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

/// An object as `HeadObject` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes.
    pub etag: String,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// Storage class (`None` for STANDARD).
    pub storage_class: Option<String>,
    /// `x-amz-server-side-encryption`.
    pub sse: Option<String>,
    /// The KMS key.
    pub kms_key: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// `LastModified`, in seconds since the epoch.
    pub last_modified: i64,
}

/// A bucket on an S3 endpoint.
#[derive(Debug, Clone)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    /// Its name.
    pub name: String,
}

/// Run `f` on a small runtime of its own, for blocking test helpers.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A client for `endpoint` (path style, test credentials, eu-west-1).
#[must_use]
pub fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("eu-west-1"))
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "testkit",
        ))
        .http_client(sdk_http_client())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The SDK HTTP client the tasks use, without a proxy, for test clients.
///
/// # Panics
/// When it cannot be built.
#[must_use]
pub fn sdk_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_clients::http::sdk_http_client(
        None,
        None,
        &azp_task::Logger::new(Box::new(std::io::sink()), false),
    )
    .expect("http client")
}

impl Bucket {
    /// A new bucket with a random name on `endpoint`, in eu-west-1.
    ///
    /// # Panics
    /// When it cannot be created.
    #[must_use]
    pub fn create(endpoint: &str) -> Self {
        let b = Self::named(endpoint, &format!("azp-test-{:08x}", fastrand::u32(..)));
        block_on(
            b.client
                .create_bucket()
                .bucket(&b.name)
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::EuWest1)
                        .build(),
                )
                .send(),
        )
        .expect("create bucket");
        b
    }

    /// A handle on bucket `name`, which may not exist.
    #[must_use]
    pub fn named(endpoint: &str, name: &str) -> Self {
        Self {
            client: client(endpoint),
            name: name.to_owned(),
        }
    }

    /// Whether it exists.
    #[must_use]
    pub fn exists(&self) -> bool {
        block_on(self.client.head_bucket().bucket(&self.name).send()).is_ok()
    }

    /// Every key, sorted.
    ///
    /// # Panics
    /// When the listing fails.
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> =
            block_on(aws_clients::s3::list_objects(&self.client, &self.name, ""))
                .expect("list objects")
                .into_iter()
                .map(|o| o.key)
                .collect();
        keys.sort();
        keys
    }

    /// `HeadObject` of `key`, `None` when it does not exist.
    #[must_use]
    pub fn head(&self, key: &str) -> Option<Head> {
        let h = block_on(self.client.head_object().bucket(&self.name).key(key).send()).ok()?;
        Some(Head {
            size: u64::try_from(h.content_length().unwrap_or_default()).unwrap_or_default(),
            etag: h.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
            content_type: h.content_type().map(str::to_owned),
            content_encoding: h.content_encoding().map(str::to_owned),
            cache_control: h.cache_control().map(str::to_owned),
            storage_class: h.storage_class().map(|s| s.as_str().to_owned()),
            sse: h.server_side_encryption().map(|s| s.as_str().to_owned()),
            kms_key: h.ssekms_key_id().map(str::to_owned),
            metadata: h
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            last_modified: h.last_modified().map(|t| t.secs()).unwrap_or_default(),
        })
    }

    /// The bytes of `key`.
    ///
    /// # Panics
    /// When it cannot be read.
    #[must_use]
    pub fn get(&self, key: &str) -> Vec<u8> {
        block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.name)
                .key(key)
                .send()
                .await
                .expect("get object");
            out.body
                .collect()
                .await
                .expect("body")
                .into_bytes()
                .to_vec()
        })
    }

    /// Put `body` at `key`.
    ///
    /// # Panics
    /// When it cannot be put.
    pub fn put(&self, key: &str, body: &[u8]) {
        block_on(
            self.client
                .put_object()
                .bucket(&self.name)
                .key(key)
                .body(body.to_vec().into())
                .send(),
        )
        .expect("put object");
    }

    /// The incomplete multipart uploads: `(key, upload id)`.
    ///
    /// # Panics
    /// When they cannot be listed.
    #[must_use]
    pub fn incomplete_uploads(&self) -> Vec<(String, String)> {
        block_on(
            self.client
                .list_multipart_uploads()
                .bucket(&self.name)
                .send(),
        )
        .expect("list multipart uploads")
        .uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().to_owned(),
                u.upload_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
    }
}
