//! S3 clients and the uploads the tasks share.
//!
//! S3Upload puts many objects with per-object settings; CloudFormation puts
//! a template larger than 51,200 bytes into a bucket. Both build their
//! client with [`client`] from the session's SDK configuration (so the
//! credentials refresh themselves and `AWS_ENDPOINT_URL_S3` applies), make
//! sure of the bucket with [`bucket::ensure_bucket`], and put objects with
//! [`put_object`] (bytes in memory) or [`upload::upload_file`] (a file, in
//! parts when it is large), both taking [`ObjectSettings`], which map onto
//! `PutObject` and `CreateMultipartUpload` (S3 API reference). [`etag`]
//! computes part sizes and the ETag S3 will give a file; [`list_objects`]
//! lists what is under a prefix.

pub mod bucket;
pub mod etag;
pub mod upload;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectCannedAcl, StorageClass};
use aws_types::SdkConfig;
use azp_task::Secret;

use crate::error::{AwsError, describe};
use crate::wire::WireLog;

/// How an S3 client is built.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Path-style addressing (`https://host/bucket/key`) instead of
    /// virtual-hosted (`https://bucket.host/key`): for S3-compatible stores
    /// and bucket names with dots (toolkit input `forcePathStyleAddressing`).
    pub force_path_style: bool,
    /// Log every request and response line (`logRequest`, `logResponse`).
    pub wire_log: Option<WireLog>,
}

/// An S3 client on `config` (the session's `sdk_config()`).
#[must_use]
pub fn client(config: &SdkConfig, options: &S3Options) -> aws_sdk_s3::Client {
    let mut builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(options.force_path_style);
    if let Some(w) = &options.wire_log {
        builder = builder.interceptor(w.clone());
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Server-side encryption of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    /// The bucket's default.
    #[default]
    BucketDefault,
    /// SSE-S3 (`AES256`).
    S3Managed,
    /// SSE-KMS, with a key id or ARN, or the account's `aws/s3` key.
    Kms {
        /// The KMS key; `None` for the AWS managed key.
        key_id: Option<String>,
    },
    /// SSE-C: a customer-provided 256-bit key.
    Customer(CustomerKey),
}

/// A customer-provided SSE-C key: 32 bytes, sent base64-encoded with its
/// MD5 (S3 user guide, "Using server-side encryption with customer-provided
/// keys").
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerKey {
    key_base64: Secret,
    md5_base64: String,
}

impl std::fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerKey(***)")
    }
}

impl CustomerKey {
    /// A key from its 32 bytes.
    ///
    /// # Errors
    /// A message naming the length when it is not 32 bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, String> {
        use base64::Engine as _;
        if key.len() != 32 {
            return Err(format!(
                "an SSE-C key is 256 bits (32 bytes); this one has {} bytes",
                key.len()
            ));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let digest = md5_digest(key);
        Ok(Self {
            key_base64: Secret::new(b64.encode(key)),
            md5_base64: b64.encode(digest),
        })
    }

    /// The key, base64-encoded (a secret: register it before printing).
    #[must_use]
    pub fn key_base64(&self) -> &Secret {
        &self.key_base64
    }

    /// The key's MD5, base64-encoded.
    #[must_use]
    pub fn md5_base64(&self) -> &str {
        &self.md5_base64
    }
}

/// MD5 of `data` (RFC 1321), for SSE-C key digests and ETag comparisons.
#[must_use]
pub fn md5_digest(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}

/// The settings of one object, as `PutObject` (and `CreateMultipartUpload`)
/// take them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSettings {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// A canned ACL.
    pub acl: Option<ObjectCannedAcl>,
    /// The storage class.
    pub storage_class: Option<StorageClass>,
    /// Server-side encryption.
    pub encryption: Encryption,
}

/// What S3 answered for a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The ETag, without quotes.
    pub etag: String,
    /// The version id, on a versioned bucket.
    pub version_id: Option<String>,
}

/// Put one object from `body` with `settings`.
///
/// # Errors
/// S3's answer, as an [`AwsError`].
pub async fn put_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: ByteStream,
    settings: &ObjectSettings,
) -> Result<Stored, AwsError> {
    let req = client.put_object().bucket(bucket).key(key).body(body);
    let req = upload::with_settings!(req, settings, &[] as &[(String, String)]);
    let out = req.send().await.map_err(|e| describe(&e))?;
    Ok(Stored {
        etag: out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
        version_id: out.version_id().map(str::to_owned),
    })
}

/// An object as `ListObjectsV2` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// The ETag, without quotes.
    pub etag: String,
}

/// Every object under `prefix` in `bucket` (all pages of `ListObjectsV2`,
/// 1,000 keys each).
///
/// # Errors
/// S3's answer to a page.
pub async fn list_objects(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Listed>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        out.extend(page.contents().iter().filter_map(|o| {
            Some(Listed {
                key: o.key()?.to_owned(),
                size: u64::try_from(o.size().unwrap_or_default()).unwrap_or_default(),
                etag: o.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
            })
        }));
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_values() {
        // RFC 1321 test suite.
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(md5_digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(md5_digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn customer_keys_are_32_bytes_and_hidden() {
        assert!(
            CustomerKey::from_bytes(&[7; 16])
                .unwrap_err()
                .contains("16 bytes")
        );
        let k = CustomerKey::from_bytes(&[7; 32]).unwrap();
        assert_eq!(
            k.key_base64().expose(),
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
        );
        assert!(!format!("{k:?}").contains("Bwc"));
    }
}
