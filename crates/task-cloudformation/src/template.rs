//! The template: read and checked before any AWS call, then sent as
//! `TemplateBody`, or uploaded to S3 and sent as `TemplateURL`.
//!
//! CloudFormation takes a `TemplateBody` of at most 51,200 bytes and a
//! template in S3 of at most 1 MB (CloudFormation User Guide, "Quotas").
//! A local template over the first limit goes through `s3BucketName`,
//! under `<stackName>/<SHA-256 of the template>.<json|yaml>`: two deploys
//! of different stacks, or of different versions of one stack, never
//! overwrite each other's template, which the toolkit's key (the file's
//! base name) did.

use std::path::Path;

use aws_clients::AwsError;
use aws_clients::s3::{ObjectSettings, put_object};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest as _, Sha256};

use crate::inputs::TemplateSource;
use crate::syntax::{self, TemplateFormat};

/// The largest `TemplateBody`, in bytes.
pub const MAX_BODY_BYTES: usize = 51_200;
/// The largest template CloudFormation reads from S3, in bytes.
pub const MAX_S3_BYTES: usize = 1_048_576;

/// How the template reaches CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// `TemplateBody`.
    Body(String),
    /// `TemplateURL`.
    Url(String),
    /// `UsePreviousTemplate`.
    UsePrevious,
}

/// A template ready to send, or one to upload first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// Nothing to upload.
    Ready(TemplateRef),
    /// An object already in S3 (`templateSource: s3`); its URL depends on
    /// the region, known once connected.
    InS3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// Upload `body` to `bucket`/`key`, then send its URL.
    Upload {
        /// The bucket (`s3BucketName`).
        bucket: String,
        /// The content-addressed key.
        key: String,
        /// The template.
        body: String,
    },
}

/// Why the template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// `templateFile` does not exist or cannot be read.
    #[error(
        "the template file {path} could not be read: {reason}. Check templateFile (paths are relative to the working directory)"
    )]
    Unreadable {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Not JSON or YAML.
    #[error(transparent)]
    Syntax(#[from] syntax::SyntaxError),
    /// Over 51,200 bytes without a bucket.
    #[error(
        "the template {path} is {size} bytes; CloudFormation takes at most 51,200 bytes in a request \
         (TemplateBody). Set s3BucketName to a bucket the pipeline can write to: the template is uploaded there \
         and passed by URL"
    )]
    TooLargeForBody {
        /// The path.
        path: String,
        /// Its size in bytes.
        size: usize,
    },
    /// Over 1 MB.
    #[error(
        "the template {path} is {size} bytes; CloudFormation reads at most 1,048,576 bytes from S3. Split it \
         into nested stacks or modules"
    )]
    TooLarge {
        /// The path.
        path: String,
        /// Its size in bytes.
        size: usize,
    },
    /// `templateUrl` is not an HTTPS URL.
    #[error(
        "templateUrl '{0}' is not an https:// URL. Give the template's S3 URL, such as \
         https://my-bucket.s3.eu-west-1.amazonaws.com/stack.yaml"
    )]
    BadUrl(String),
    /// The upload failed.
    #[error(
        "uploading the template to s3://{bucket}/{key} failed: {source}. The role needs s3:PutObject on the bucket"
    )]
    Upload {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// S3's answer.
        source: Box<AwsError>,
    },
}

/// Read and check the template of `source` for stack `stack_name`; no AWS
/// call is made.
///
/// # Errors
/// [`TemplateError`]: an unreadable file, a syntax error (with line), a
/// file too large for its route, or a URL that is not HTTPS.
pub fn prepare(source: &TemplateSource, stack_name: &str) -> Result<Prepared, TemplateError> {
    match source {
        TemplateSource::UsePrevious => Ok(Prepared::Ready(TemplateRef::UsePrevious)),
        TemplateSource::Url(url) => {
            if url.starts_with("https://") && url.len() > "https://".len() {
                Ok(Prepared::Ready(TemplateRef::Url(url.clone())))
            } else {
                Err(TemplateError::BadUrl(url.clone()))
            }
        }
        TemplateSource::S3 { bucket, key } => Ok(Prepared::InS3 {
            bucket: bucket.clone(),
            key: key.clone(),
        }),
        TemplateSource::File { path, bucket } => {
            let (body, format) = read(path)?;
            let shown = path.display().to_string();
            if body.len() > MAX_S3_BYTES {
                return Err(TemplateError::TooLarge {
                    path: shown,
                    size: body.len(),
                });
            }
            match bucket {
                Some(bucket) => {
                    let digest = Sha256::digest(body.as_bytes());
                    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    let ext = match format {
                        TemplateFormat::Json => "json",
                        TemplateFormat::Yaml => "yaml",
                    };
                    Ok(Prepared::Upload {
                        bucket: bucket.clone(),
                        key: format!("{stack_name}/{hex}.{ext}"),
                        body,
                    })
                }
                None if body.len() > MAX_BODY_BYTES => Err(TemplateError::TooLargeForBody {
                    path: shown,
                    size: body.len(),
                }),
                None => Ok(Prepared::Ready(TemplateRef::Body(body))),
            }
        }
    }
}

/// The template file as text, checked for syntax.
fn read(path: &Path) -> Result<(String, TemplateFormat), TemplateError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| TemplateError::Unreadable {
        path: shown.clone(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "it does not exist".to_owned()
        } else {
            e.to_string()
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|e| TemplateError::Unreadable {
        path: shown.clone(),
        reason: format!(
            "it is not UTF-8 text (byte {} is not valid); CloudFormation templates are UTF-8",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    let format = syntax::check(&text, &shown)?;
    Ok((text, format))
}

/// The path-style HTTPS URL of an S3 object, the form CloudFormation reads
/// (`https://s3.<region>.amazonaws.com/<bucket>/<key>`, `amazonaws.com.cn`
/// in the China regions), with the key's segments percent-encoded.
#[must_use]
pub fn s3_url(region: &str, bucket: &str, key: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let region = if region.is_empty() {
        "us-east-1"
    } else {
        region
    };
    let path: Vec<String> = key.split('/').map(encode_segment).collect();
    format!(
        "https://s3.{region}.{domain}/{}/{}",
        encode_segment(bucket),
        path.join("/")
    )
}

fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Upload a prepared template and give its URL.
///
/// # Errors
/// [`TemplateError::Upload`] with S3's answer.
pub async fn upload(
    client: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
    key: &str,
    body: String,
) -> Result<String, TemplateError> {
    let settings = ObjectSettings {
        content_type: Some("text/plain; charset=utf-8".into()),
        ..ObjectSettings::default()
    };
    put_object(
        client,
        bucket,
        key,
        ByteStream::from(body.into_bytes()),
        &settings,
    )
    .await
    .map_err(|source| TemplateError::Upload {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        source: Box::new(source),
    })?;
    Ok(s3_url(region, bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_are_path_style_and_encoded() {
        assert_eq!(
            s3_url("eu-west-1", "my-bucket", "web/abc.yaml"),
            "https://s3.eu-west-1.amazonaws.com/my-bucket/web/abc.yaml"
        );
        assert_eq!(
            s3_url("cn-north-1", "b", "a b/c+d.json"),
            "https://s3.cn-north-1.amazonaws.com.cn/b/a%20b/c%2Bd.json"
        );
    }

    #[test]
    fn a_large_template_needs_a_bucket_and_gets_a_content_addressed_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let mut text = String::from("Resources:\n");
        for i in 0..2000 {
            text.push_str(&format!("  Topic{i}:\n    Type: AWS::SNS::Topic\n"));
        }
        assert!(text.len() > MAX_BODY_BYTES);
        std::fs::write(&path, &text).unwrap();
        let e = prepare(
            &TemplateSource::File {
                path: path.clone(),
                bucket: None,
            },
            "web",
        )
        .unwrap_err();
        assert!(e.to_string().contains("51,200"), "{e}");
        assert!(e.to_string().contains("s3BucketName"), "{e}");
        let Prepared::Upload { key, bucket, .. } = prepare(
            &TemplateSource::File {
                path,
                bucket: Some("templates".into()),
            },
            "web",
        )
        .unwrap() else {
            panic!("expected an upload")
        };
        assert_eq!(bucket, "templates");
        assert!(
            key.starts_with("web/") && key.ends_with(".yaml") && key.len() == 4 + 64 + 5,
            "{key}"
        );
    }

    #[test]
    fn a_missing_file_and_a_plain_http_url_are_refused() {
        let e = prepare(
            &TemplateSource::File {
                path: "/nonexistent/t.yaml".into(),
                bucket: None,
            },
            "web",
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = prepare(&TemplateSource::Url("http://x/t.yaml".into()), "web").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
    }
}
