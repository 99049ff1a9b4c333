//! Making sure the target bucket exists, and creating it only when it
//! really does not.
//!
//! `HeadBucket` (S3 API reference, "HeadBucket") answers 200 when the
//! caller may use the bucket, 404 when no bucket has the name, 403 when it
//! exists and the caller may not use it (or the caller lacks
//! `s3:ListBucket`), and 301 when it is in another region. Only a 404 may
//! lead to `CreateBucket`: the AWS Toolkit tried to create on any failure,
//! which turns a permission problem into a confusing second error.

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::error::{AwsError, describe};

/// What [`ensure_bucket`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    /// The bucket was there.
    Existed,
    /// It was missing and has been created.
    Created,
}

/// Why the bucket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// No bucket has the name, and creating it was not asked for.
    #[error(
        "Bucket {bucket} does not exist (HeadBucket answered 404). Create it, or set the task's createBucket input \
         to true to let the task create it."
    )]
    Missing {
        /// The bucket.
        bucket: String,
    },
    /// The bucket exists, but these credentials may not use it.
    #[error(
        "Bucket {bucket} exists, but these credentials may not use it (HeadBucket answered 403 Forbidden). Allow \
         s3:ListBucket on arn:aws:s3:::{bucket} and s3:PutObject on arn:aws:s3:::{bucket}/* for the role or user, \
         and check the bucket policy. The task does not try to create a bucket that exists."
    )]
    Forbidden {
        /// The bucket.
        bucket: String,
    },
    /// The bucket is in another region than the client's.
    #[error(
        "Bucket {bucket} is in region {actual}, not {configured}. Set the task's regionName input to {actual}."
    )]
    OtherRegion {
        /// The bucket.
        bucket: String,
        /// Where it is, from the `x-amz-bucket-region` header.
        actual: String,
        /// The client's region.
        configured: String,
    },
    /// Another account owns the name.
    #[error(
        "The bucket name {bucket} belongs to another AWS account (CreateBucket answered BucketAlreadyExists). \
         Bucket names are global across all accounts: choose another bucketName."
    )]
    TakenByOther {
        /// The bucket.
        bucket: String,
    },
    /// A call failed for another reason.
    #[error("{operation} for bucket {bucket} failed: {error}")]
    Aws {
        /// `HeadBucket` or `CreateBucket`.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// S3's answer.
        error: AwsError,
    },
}

/// Check that `bucket` exists and may be used; with `create`, create it
/// when (and only when) `HeadBucket` answers 404, in `region` (a
/// `LocationConstraint` outside `us-east-1`, where S3 refuses one).
/// "Already owned by you" counts as created.
///
/// # Errors
/// A [`BucketError`] naming what to change.
pub async fn ensure_bucket(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
    create: bool,
) -> Result<BucketState, BucketError> {
    let head = client.head_bucket().bucket(bucket).send().await;
    let Err(e) = head else {
        return Ok(BucketState::Existed);
    };
    let status = e.raw_response().map(|r| r.status().as_u16());
    let bucket_region = e
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_owned);
    match status {
        Some(404) if create => {}
        Some(404) => {
            return Err(BucketError::Missing {
                bucket: bucket.to_owned(),
            });
        }
        Some(403) => {
            return Err(BucketError::Forbidden {
                bucket: bucket.to_owned(),
            });
        }
        Some(301) if bucket_region.is_some() => {
            return Err(BucketError::OtherRegion {
                bucket: bucket.to_owned(),
                actual: bucket_region.unwrap_or_default(),
                configured: region.to_owned(),
            });
        }
        _ => {
            return Err(BucketError::Aws {
                operation: "HeadBucket",
                bucket: bucket.to_owned(),
                error: describe(&e),
            });
        }
    }
    let mut req = client.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(BucketState::Created),
        Err(e) => {
            let error = describe(&e);
            match error.code() {
                "BucketAlreadyOwnedByYou" => Ok(BucketState::Existed),
                "BucketAlreadyExists" => Err(BucketError::TakenByOther {
                    bucket: bucket.to_owned(),
                }),
                _ => Err(BucketError::Aws {
                    operation: "CreateBucket",
                    bucket: bucket.to_owned(),
                    error,
                }),
            }
        }
    }
}
