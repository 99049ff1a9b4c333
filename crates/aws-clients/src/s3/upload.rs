//! Uploading one file: a single `PutObject` below
//! [`MULTIPART_THRESHOLD`], else a multipart upload with several parts in
//! flight, streamed from the file so that memory does not grow with the
//! file's size.
//!
//! Every request waits for a permit of a shared [`Semaphore`], so a caller
//! uploading many files at once bounds the requests in flight across all of
//! them. Retries of throttling, 5xx answers and broken connections are the
//! SDK's standard retry strategy (bodies read from a file or memory can be
//! sent again). A multipart upload that fails is aborted before the error is
//! returned; every upload in progress is recorded in [`OpenUploads`], so
//! that a caller that stops early (a cancelled pipeline) can abort the rest:
//! no run leaves an incomplete multipart upload behind (S3 API reference,
//! "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
//! "AbortMultipartUpload").

use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::StreamExt as _;
use tokio::sync::Semaphore;

use super::etag::{is_multipart, parts};
use super::{ObjectSettings, Stored};
use crate::error::{AwsError, describe};

pub use super::etag::MULTIPART_THRESHOLD;

/// Files up to this size are read into memory and sent from there; larger
/// ones are streamed from disk.
const IN_MEMORY_LIMIT: u64 = 1024 * 1024;
/// The read buffer of a streamed body, in bytes.
const STREAM_BUFFER: usize = 256 * 1024;

/// How long [`OpenUploads::abort_all`] waits for `CreateMultipartUpload`
/// calls still in flight, so that their uploads are aborted too.
const PENDING_CREATE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Multipart uploads started and not yet completed or aborted: `(key,
/// upload id)`, and how many `CreateMultipartUpload` calls are in flight.
/// Those calls run as their own tasks, so that a caller that stops waiting
/// (a cancelled pipeline) still learns the id of an upload S3 created, and
/// can abort it.
#[derive(Debug, Default)]
pub struct OpenUploads {
    open: Mutex<Vec<(String, String)>>,
    pending: std::sync::atomic::AtomicUsize,
    settled: tokio::sync::Notify,
}

impl OpenUploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, key: &str, upload_id: &str) {
        self.lock().push((key.to_owned(), upload_id.to_owned()));
    }

    fn remove(&self, upload_id: &str) {
        self.lock().retain(|(_, id)| id != upload_id);
    }

    /// The uploads still open: `(key, upload id)`.
    #[must_use]
    pub fn list(&self) -> Vec<(String, String)> {
        self.lock().clone()
    }

    /// Abort every upload still open in `bucket`, after waiting (up to 3 s)
    /// for `CreateMultipartUpload` calls in flight; gives the ones that
    /// could not be aborted, with S3's answer.
    pub async fn abort_all(
        &self,
        client: &aws_sdk_s3::Client,
        bucket: &str,
    ) -> Vec<(String, AwsError)> {
        let settled = async {
            while self.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                let notified = self.settled.notified();
                if self.pending.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    break;
                }
                notified.await;
            }
        };
        // A call that outlasts the wait is left to the caller's sweep
        // (`abort_incomplete`).
        let _ = tokio::time::timeout(PENDING_CREATE_WAIT, settled).await;
        let mut failed = Vec::new();
        for (key, id) in self.list() {
            match abort(client, bucket, &key, &id).await {
                Ok(()) => self.remove(&id),
                Err(e) => failed.push((key, e)),
            }
        }
        failed
    }
}

async fn abort(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), AwsError> {
    match client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Already gone (completed or aborted by someone else): nothing left.
        Err(e) if describe(&e).code() == "NoSuchUpload" => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}

/// One file to upload.
#[derive(Debug, Clone, Copy)]
pub struct FileUpload<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The object key.
    pub key: &'a str,
    /// The file.
    pub path: &'a Path,
    /// Its size in bytes, as listed before the upload.
    pub size: u64,
    /// The object's settings.
    pub settings: &'a ObjectSettings,
    /// User metadata (`x-amz-meta-<name>`), names without the prefix.
    pub metadata: &'a [(String, String)],
}

/// Why a file did not upload.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file could not be read.
    #[error("{path} could not be read: {error}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        error: std::io::Error,
    },
    /// An S3 call failed after the SDK's retries.
    #[error("{operation}{} failed: {error}", part.map(|p| format!(" of part {p}")).unwrap_or_default())]
    Aws {
        /// The operation.
        operation: &'static str,
        /// The part, for `UploadPart`.
        part: Option<i32>,
        /// S3's answer.
        error: AwsError,
    },
}

/// Sets the per-object fields shared by `PutObject` and
/// `CreateMultipartUpload`, whose builders are different types.
macro_rules! with_settings {
    ($req:expr, $settings:expr, $metadata:expr) => {{
        let s: &$crate::s3::ObjectSettings = $settings;
        let mut req = $req
            .set_content_type(s.content_type.clone())
            .set_content_encoding(s.content_encoding.clone())
            .set_cache_control(s.cache_control.clone())
            .set_acl(s.acl.clone())
            .set_storage_class(s.storage_class.clone());
        for (k, v) in $metadata {
            req = req.metadata(k, v);
        }
        match &s.encryption {
            $crate::s3::Encryption::BucketDefault => req,
            $crate::s3::Encryption::S3Managed => {
                req.server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            }
            $crate::s3::Encryption::Kms { key_id } => req
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone()),
            $crate::s3::Encryption::Customer(k) => req
                .sse_customer_algorithm("AES256")
                .sse_customer_key(k.key_base64().expose())
                .sse_customer_key_md5(k.md5_base64()),
        }
    }};
}
pub(crate) use with_settings;

/// The SSE-C headers every request on an SSE-C object repeats.
macro_rules! with_customer_key {
    ($req:expr, $settings:expr) => {{
        match &$settings.encryption {
            $crate::s3::Encryption::Customer(k) => $req
                .sse_customer_algorithm("AES256")
                .sse_customer_key(k.key_base64().expose())
                .sse_customer_key_md5(k.md5_base64()),
            _ => $req,
        }
    }};
}

async fn body(path: &Path, offset: u64, length: u64) -> Result<ByteStream, UploadError> {
    let read_error = |error: std::io::Error| UploadError::Read {
        path: path.display().to_string(),
        error,
    };
    if length <= IN_MEMORY_LIMIT {
        let mut file = tokio::fs::File::open(path).await.map_err(read_error)?;
        let mut buf = vec![0u8; usize::try_from(length).unwrap_or(0)];
        use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
        if offset > 0 {
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(read_error)?;
        }
        file.read_exact(&mut buf).await.map_err(read_error)?;
        return Ok(ByteStream::from(buf));
    }
    ByteStream::read_from()
        .path(path)
        .offset(offset)
        .length(Length::Exact(length))
        .buffer_size(STREAM_BUFFER)
        .build()
        .await
        .map_err(|e| read_error(std::io::Error::other(e)))
}

/// Upload `file`. Each request holds a permit of `limiter` while it runs;
/// at most `parts_in_flight` parts of this file are sent at once.
/// `progress` is called with the bytes of each request that completes,
/// `started` with the upload id once a multipart upload has begun.
///
/// # Errors
/// The file cannot be read, or S3 refuses a request after the SDK's
/// retries; a multipart upload has been aborted by then (or, if the abort
/// failed too, is still listed in `open`).
pub async fn upload_file(
    client: &aws_sdk_s3::Client,
    file: FileUpload<'_>,
    limiter: &Semaphore,
    parts_in_flight: usize,
    open: &Arc<OpenUploads>,
    progress: &(dyn Fn(u64) + Sync),
    started: &(dyn Fn(&str) + Sync),
) -> Result<Stored, UploadError> {
    if !is_multipart(file.size) {
        let body = body(file.path, 0, file.size).await?;
        let _permit = limiter.acquire().await;
        let req = client
            .put_object()
            .bucket(file.bucket)
            .key(file.key)
            .content_length(i64::try_from(file.size).unwrap_or(i64::MAX))
            .body(body);
        let out = with_settings!(req, file.settings, file.metadata)
            .send()
            .await
            .map_err(|e| UploadError::Aws {
                operation: "PutObject",
                part: None,
                error: describe(&e),
            })?;
        progress(file.size);
        return Ok(Stored {
            etag: out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
            version_id: out.version_id().map(str::to_owned),
        });
    }

    let upload_id = {
        let _permit = limiter.acquire().await;
        let req = client
            .create_multipart_upload()
            .bucket(file.bucket)
            .key(file.key);
        let req = with_settings!(req, file.settings, file.metadata);
        let key = file.key.to_owned();
        let registry = Arc::clone(open);
        registry
            .pending
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let create = tokio::spawn(async move {
            let out = req.send().await;
            if let Ok(o) = &out {
                registry.add(&key, o.upload_id().unwrap_or_default());
            }
            registry
                .pending
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            registry.settled.notify_waiters();
            out
        });
        let created = create
            .await
            .map_err(|e| UploadError::Aws {
                operation: "CreateMultipartUpload",
                part: None,
                error: AwsError {
                    kind: crate::AwsErrorKind::Construction,
                    code: None,
                    message: e.to_string(),
                    status: None,
                    request_id: None,
                },
            })?
            .map_err(|e| UploadError::Aws {
                operation: "CreateMultipartUpload",
                part: None,
                error: describe(&e),
            })?;
        created.upload_id().unwrap_or_default().to_owned()
    };
    started(&upload_id);
    let result = upload_parts(client, file, &upload_id, limiter, parts_in_flight, progress).await;
    match result {
        Ok(stored) => {
            open.remove(&upload_id);
            Ok(stored)
        }
        Err(e) => {
            if abort(client, file.bucket, file.key, &upload_id)
                .await
                .is_ok()
            {
                open.remove(&upload_id);
            }
            Err(e)
        }
    }
}

async fn upload_parts(
    client: &aws_sdk_s3::Client,
    file: FileUpload<'_>,
    upload_id: &str,
    limiter: &Semaphore,
    parts_in_flight: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Stored, UploadError> {
    let uploads = futures_util::stream::iter(parts(file.size))
        .map(|(number, offset, length)| async move {
            let body = body(file.path, offset, length).await?;
            let _permit = limiter.acquire().await;
            let req = client
                .upload_part()
                .bucket(file.bucket)
                .key(file.key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(i64::try_from(length).unwrap_or(i64::MAX))
                .body(body);
            let out = with_customer_key!(req, file.settings)
                .send()
                .await
                .map_err(|e| UploadError::Aws {
                    operation: "UploadPart",
                    part: Some(number),
                    error: describe(&e),
                })?;
            progress(length);
            Ok::<_, UploadError>(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
                    .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_owned))
                    .set_checksum_crc64_nvme(out.checksum_crc64_nvme().map(str::to_owned))
                    .set_checksum_sha1(out.checksum_sha1().map(str::to_owned))
                    .set_checksum_sha256(out.checksum_sha256().map(str::to_owned))
                    .build(),
            )
        })
        .buffer_unordered(parts_in_flight.max(1));
    futures_util::pin_mut!(uploads);
    let mut done = Vec::new();
    while let Some(part) = uploads.next().await {
        done.push(part?);
    }
    done.sort_by_key(|p| p.part_number());
    let _permit = limiter.acquire().await;
    let req = client
        .complete_multipart_upload()
        .bucket(file.bucket)
        .key(file.key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        );
    let out = with_customer_key!(req, file.settings)
        .send()
        .await
        .map_err(|e| UploadError::Aws {
            operation: "CompleteMultipartUpload",
            part: None,
            error: describe(&e),
        })?;
    Ok(Stored {
        etag: out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
        version_id: out.version_id().map(str::to_owned),
    })
}

/// Abort every incomplete multipart upload in `bucket` whose key is one of
/// `keys`, whoever started it: a sweep after a cancelled or failed run, for
/// uploads whose `CreateMultipartUpload` answer never arrived. Gives the
/// number aborted.
///
/// # Errors
/// `ListMultipartUploads` or an abort failed (for example without
/// `s3:ListBucketMultipartUploads`).
pub async fn abort_incomplete(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    keys: &std::collections::HashSet<String>,
) -> Result<usize, AwsError> {
    let mut aborted = 0;
    let mut key_marker: Option<String> = None;
    let mut id_marker: Option<String> = None;
    loop {
        let page = client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        for u in page.uploads() {
            if let (Some(key), Some(id)) = (u.key(), u.upload_id())
                && keys.contains(key)
            {
                abort(client, bucket, key, id).await?;
                aborted += 1;
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(aborted);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_upload_id_marker().map(str::to_owned);
    }
}
