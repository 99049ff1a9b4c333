//! What to do with each file and each object: upload, skip as unchanged,
//! or delete.
//!
//! Without `skipUnchanged` every file is uploaded, as in the toolkit. With
//! it, a file is skipped only when an object with its key has the same
//! size, the same content and the same settings:
//! - content: the object's ETag equals the ETag the file would get (hex
//!   MD5, or the multipart ETag with this task's part size, see
//!   `aws_clients::s3::etag`), or its `x-amz-meta-md5chksum` (the base64
//!   MD5 this task stores with every object it uploads in this mode, as
//!   rclone does) equals the file's MD5. The second rule covers objects
//!   whose ETag is not an MD5 (SSE-KMS, SSE-C, another tool's part size).
//!   Size and modification time alone never decide: a file whose content
//!   changed is uploaded even when both are the same;
//! - settings: `Content-Type`, `Content-Encoding`, `Cache-Control`, the
//!   storage class and the encryption, as `HeadObject` reports them. The
//!   ACL cannot be read back without `s3:GetObjectAcl` and is not compared.
//!
//! With `deleteUnmatched`, objects under the target folder whose keys no
//! matched file has are deleted after the uploads.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aws_clients::s3::etag::{LocalDigest, local_etag};
use aws_clients::s3::{Encryption, Listed, ObjectSettings};
use aws_clients::{AwsError, describe};
use base64::Engine as _;
use futures_util::StreamExt as _;
use tokio::sync::Semaphore;

use crate::files::LocalFile;

/// The user metadata name of the whole file's base64 MD5.
pub const MD5_METADATA: &str = "md5chksum";

/// Why a file is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Every file is uploaded (`skipUnchanged` is off).
    Always,
    /// No object has the key.
    New,
    /// The object has another size.
    Size {
        /// The object's size in bytes.
        was: u64,
    },
    /// Same size, other content.
    Content,
    /// Same content, another setting.
    Setting {
        /// The header, for example `Content-Type`.
        field: &'static str,
        /// The object's value.
        was: String,
        /// The file's value.
        now: String,
    },
    /// The object could not be compared (`HeadObject` failed).
    Unknown(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Always => f.write_str("upload"),
            Self::New => f.write_str("new"),
            Self::Size { was } => write!(f, "size changed (was {was} bytes)"),
            Self::Content => f.write_str("content changed"),
            Self::Setting { field, was, now } => write!(f, "{field} changed ('{was}' → '{now}')"),
            Self::Unknown(why) => write!(f, "cannot compare: {why}"),
        }
    }
}

/// One file of the plan.
#[derive(Debug, Clone)]
pub struct Item {
    /// The file.
    pub file: LocalFile,
    /// Its key.
    pub key: String,
    /// Its settings.
    pub settings: Arc<ObjectSettings>,
    /// `Some(reason)` to upload it, `None` to skip it as unchanged.
    pub upload: Option<Reason>,
    /// User metadata to store with it.
    pub metadata: Vec<(String, String)>,
}

/// The plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every file, in path order.
    pub items: Vec<Item>,
    /// Keys to delete, sorted.
    pub deletes: Vec<String>,
    /// Files whose object could not be compared.
    pub not_compared: usize,
}

/// How to plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key prefix the objects are under (the target folder), empty for
    /// the whole bucket.
    pub prefix: &'a str,
    /// `skipUnchanged`.
    pub skip_unchanged: bool,
    /// `deleteUnmatched`.
    pub delete_unmatched: bool,
    /// The bucket exists (a dry run of `createBucket` on a missing one
    /// plans against an empty bucket).
    pub bucket_exists: bool,
}

/// Why planning failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The objects under the prefix could not be listed.
    #[error(
        "Listing the objects under '{prefix}' in bucket {bucket} failed: {error}. skipUnchanged and deleteUnmatched \
         need s3:ListBucket on the bucket."
    )]
    List {
        /// The bucket.
        bucket: String,
        /// The prefix.
        prefix: String,
        /// S3's answer.
        error: AwsError,
    },
    /// A file could not be read to compute its MD5.
    #[error("{path} could not be read: {error}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        error: String,
    },
}

async fn digest(file: &LocalFile) -> Result<LocalDigest, PlanError> {
    let path = file.path.clone();
    let size = file.size;
    tokio::task::spawn_blocking(move || local_etag(&path, size))
        .await
        .map_err(|e| PlanError::Read {
            path: file.path.display().to_string(),
            error: e.to_string(),
        })?
        .map_err(|e| PlanError::Read {
            path: file.path.display().to_string(),
            error: e.to_string(),
        })
}

fn setting(field: &'static str, was: Option<&str>, now: Option<&str>) -> Option<Reason> {
    (was.unwrap_or_default() != now.unwrap_or_default()).then(|| Reason::Setting {
        field,
        was: was.unwrap_or_default().to_owned(),
        now: now.unwrap_or_default().to_owned(),
    })
}

/// The first setting of `head` that differs from `settings`.
fn changed_setting(
    head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
    settings: &ObjectSettings,
) -> Option<Reason> {
    let class = |c: Option<&aws_sdk_s3::types::StorageClass>| {
        c.map_or("STANDARD", |c| c.as_str()).to_owned()
    };
    let sse = head.server_side_encryption().map(|s| s.as_str());
    setting(
        "Content-Type",
        head.content_type(),
        settings.content_type.as_deref(),
    )
    .or_else(|| {
        setting(
            "Content-Encoding",
            head.content_encoding(),
            settings.content_encoding.as_deref(),
        )
    })
    .or_else(|| {
        setting(
            "Cache-Control",
            head.cache_control(),
            settings.cache_control.as_deref(),
        )
    })
    .or_else(|| {
        let (was, now) = (
            class(head.storage_class()),
            class(settings.storage_class.as_ref()),
        );
        setting("storage class", Some(&was), Some(&now))
    })
    .or_else(|| match &settings.encryption {
        Encryption::BucketDefault => None,
        Encryption::S3Managed => setting("encryption", sse, Some("AES256")),
        Encryption::Kms { key_id } => setting("encryption", sse, Some("aws:kms")).or_else(|| {
            // S3 reports the key's ARN; an alias cannot be compared.
            let reported = head.ssekms_key_id().unwrap_or_default();
            key_id
                .as_deref()
                .filter(|k| !k.starts_with("alias/") && !k.contains(":alias/"))
                .filter(|k| reported != *k && !reported.ends_with(&format!("/{k}")))
                .map(|k| Reason::Setting {
                    field: "KMS key",
                    was: reported.to_owned(),
                    now: k.to_owned(),
                })
        }),
        Encryption::Customer(k) => setting(
            "SSE-C key",
            head.sse_customer_key_md5().or(Some("none")),
            Some(k.md5_base64()),
        )
        .map(|_| Reason::Setting {
            field: "encryption",
            was: head.sse_customer_algorithm().map_or_else(
                || sse.unwrap_or("none").to_owned(),
                |_| "another SSE-C key".to_owned(),
            ),
            now: "SSE-C".to_owned(),
        }),
    })
}

async fn compare(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    file: &LocalFile,
    local: &LocalDigest,
    remote: &Listed,
    settings: &ObjectSettings,
) -> Option<Reason> {
    let _ = file;
    let mut req = client.head_object().bucket(bucket).key(key);
    if let Encryption::Customer(k) = &settings.encryption {
        req = req
            .sse_customer_algorithm("AES256")
            .sse_customer_key(k.key_base64().expose())
            .sse_customer_key_md5(k.md5_base64());
    }
    let head = match req.send().await {
        Ok(h) => h,
        // An SSE-C object asked for without its key, or with another key.
        Err(e)
            if matches!(describe(&e).status, Some(400 | 403))
                && matches!(settings.encryption, Encryption::Customer(_)) =>
        {
            return Some(Reason::Setting {
                field: "encryption",
                was: "another key".into(),
                now: "SSE-C".into(),
            });
        }
        Err(e) => return Some(Reason::Unknown(describe(&e).to_string())),
    };
    let md5 = base64::engine::general_purpose::STANDARD.encode(local.md5);
    let stored_md5 = head.metadata().and_then(|m| m.get(MD5_METADATA));
    let same_content = remote.etag == local.etag || stored_md5 == Some(&md5);
    if !same_content {
        return Some(Reason::Content);
    }
    changed_setting(&head, settings)
}

/// Plan the upload of `files` with their `keys` and settings.
///
/// # Errors
/// [`PlanError`] when the listing fails or a file cannot be read.
pub async fn plan(
    client: &aws_sdk_s3::Client,
    files: Vec<(LocalFile, String, ObjectSettings)>,
    options: PlanOptions<'_>,
    limiter: &Semaphore,
    concurrency: usize,
) -> Result<Plan, PlanError> {
    let needs_listing =
        (options.skip_unchanged || options.delete_unmatched) && options.bucket_exists;
    let listing: HashMap<String, Listed> = if needs_listing {
        let list_prefix = if options.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", options.prefix)
        };
        aws_clients::s3::list_objects(client, options.bucket, &list_prefix)
            .await
            .map_err(|error| PlanError::List {
                bucket: options.bucket.to_owned(),
                prefix: list_prefix.clone(),
                error,
            })?
            .into_iter()
            .map(|o| (o.key.clone(), o))
            .collect()
    } else {
        HashMap::new()
    };
    let keys: HashSet<String> = files.iter().map(|(_, k, _)| k.clone()).collect();
    let mut deletes: Vec<String> = if options.delete_unmatched {
        listing
            .keys()
            .filter(|k| !keys.contains(*k))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    deletes.sort();

    let listing = &listing;
    let items = futures_util::stream::iter(files)
        .map(|(file, key, settings)| async move {
            if !options.skip_unchanged {
                return Ok::<_, PlanError>(Item {
                    file,
                    key,
                    settings: Arc::new(settings),
                    upload: Some(Reason::Always),
                    metadata: Vec::new(),
                });
            }
            let local = digest(&file).await?;
            let upload = match listing.get(&key) {
                None => Some(Reason::New),
                Some(remote) if remote.size != file.size => Some(Reason::Size { was: remote.size }),
                Some(remote) => {
                    let _permit = limiter.acquire().await;
                    compare(
                        client,
                        options.bucket,
                        &key,
                        &file,
                        &local,
                        remote,
                        &settings,
                    )
                    .await
                }
            };
            Ok(Item {
                metadata: vec![(
                    MD5_METADATA.to_owned(),
                    base64::engine::general_purpose::STANDARD.encode(local.md5),
                )],
                file,
                key,
                settings: Arc::new(settings),
                upload,
            })
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let not_compared = items
        .iter()
        .filter(|i| matches!(i.upload, Some(Reason::Unknown(_))))
        .count();
    Ok(Plan {
        items,
        deletes,
        not_compared,
    })
}

/// Delete `keys` from `bucket`, 1,000 per `DeleteObjects` call; gives the
/// keys that could not be deleted, with S3's reason.
///
/// # Errors
/// A `DeleteObjects` call failed as a whole.
pub async fn delete(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[String],
) -> Result<Vec<(String, String)>, AwsError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let mut failed = Vec::new();
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
            .collect::<Vec<_>>();
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| AwsError {
                kind: aws_clients::AwsErrorKind::Construction,
                code: None,
                message: e.to_string(),
                status: None,
                request_id: None,
            })?;
        let out = client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        failed.extend(out.errors().iter().map(|e| {
            (
                e.key().unwrap_or_default().to_owned(),
                format!(
                    "{}: {}",
                    e.code().unwrap_or("Unknown"),
                    e.message().unwrap_or_default()
                ),
            )
        }));
    }
    Ok(failed)
}
