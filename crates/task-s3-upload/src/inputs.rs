//! The task's inputs: the AWS Toolkit's S3Upload inputs with their names,
//! defaults and meaning (toolkit-compat.md §8.3), plus parallelism, sync,
//! delete and dry run. Everything is checked here, before any S3 call, so
//! that a bad input fails the task with a message naming it and uploads
//! nothing.

use aws_clients::s3::{CustomerKey, Encryption};
use aws_connection::inputs::{self, CommonInputs};
use aws_sdk_s3::types::{ObjectCannedAcl, StorageClass};
use azp_task::{InputError, InputKind, InputSpec, Inputs, TaskInputs};
use base64::Engine as _;

/// The canned ACLs (S3 API reference, "PutObject", `x-amz-acl`).
const ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Every storage class `PutObject` takes today (S3 API reference,
/// "PutObject", `x-amz-storage-class`); the toolkit offered three.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
    "REDUCED_REDUNDANCY",
    "EXPRESS_ONEZONE",
    "OUTPOSTS",
    "SNOW",
    "FSX_OPENZFS",
    "FSX_ONTAP",
];

/// The default of `maxConcurrentRequests`.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// The largest `maxConcurrentRequests` accepted.
pub const MAX_CONCURRENCY: usize = 256;

/// One `cacheControl` line: `pattern=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRule {
    /// 1-based line number in the input.
    pub line: usize,
    /// The pattern, trimmed.
    pub pattern: String,
    /// The `Cache-Control` value, trimmed.
    pub value: String,
}

/// The task's inputs, checked.
#[derive(Debug)]
pub struct UploadInputs {
    /// `awsCredentials` and `regionName`.
    pub common: CommonInputs,
    /// `bucketName`.
    pub bucket: String,
    /// `sourceFolder` as given; `None` for the default working directory.
    pub source_folder: Option<String>,
    /// `globExpressions`, one entry per line as written (blank lines kept,
    /// so that messages can give line numbers).
    pub patterns: Vec<String>,
    /// `targetFolder` as a key prefix: `/`-separated, no leading or
    /// trailing `/`, empty for the bucket's root.
    pub target_prefix: String,
    /// `filesAcl`.
    pub acl: ObjectCannedAcl,
    /// `createBucket`.
    pub create_bucket: bool,
    /// `keyManagement`, `encryptionAlgorithm`, `kmsMasterKeyId`, `customerKey`.
    pub encryption: Encryption,
    /// `flattenFolders`.
    pub flatten: bool,
    /// `contentType`.
    pub content_type: Option<String>,
    /// `contentEncoding`.
    pub content_encoding: Option<String>,
    /// `cacheControl`.
    pub cache_rules: Vec<CacheRule>,
    /// `storageClass`.
    pub storage_class: StorageClass,
    /// `forcePathStyleAddressing`.
    pub force_path_style: bool,
    /// `maxConcurrentRequests`: S3 requests in flight at once.
    pub concurrency: usize,
    /// `stopOnFirstFailure`.
    pub stop_on_first_failure: bool,
    /// `skipUnchanged`.
    pub skip_unchanged: bool,
    /// `deleteUnmatched`.
    pub delete_unmatched: bool,
    /// `dryRun`.
    pub dry_run: bool,
    /// `logRequest`.
    pub log_request: bool,
    /// `logResponse`.
    pub log_response: bool,
}

/// The SSE-C key from `customerKey`: 64 hex digits (the toolkit's form) or
/// the base64 of 32 bytes.
fn customer_key(value: &str) -> Result<CustomerKey, String> {
    let v = value.trim();
    let bytes = if v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16).unwrap_or_default())
            .collect::<Vec<u8>>()
    } else if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(v) {
        b
    } else {
        return Err(format!(
            "an SSE-C key is 256 bits, written as 64 hex digits or as 44 base64 characters; this value has {} \
             characters and is neither. Generate one with `openssl rand -hex 32`.",
            v.chars().count()
        ));
    };
    CustomerKey::from_bytes(&bytes)
        .map_err(|e| format!("{e}. Generate one with `openssl rand -hex 32`."))
}

/// The `cacheControl` lines: `pattern=value`, the pattern before the first
/// `=`; blank lines and `#` comments skipped. A line whose `=` is missing,
/// first or last is an error naming the line, as in the toolkit (which only
/// noticed when it reached the line).
fn cache_rules(text: &str) -> Result<Vec<CacheRule>, String> {
    let mut rules = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.find('=') {
            Some(at) if at > 0 && at < line.len() - 1 => rules.push(CacheRule {
                line: i + 1,
                pattern: line[..at].trim().to_owned(),
                value: line[at + 1..].trim().to_owned(),
            }),
            _ => {
                return Err(format!(
                    "line {} ('{line}') is not pattern=value. Write one rule per line, for example \
                     `**/*.html=no-cache` or `assets/**=max-age=31536000, immutable`.",
                    i + 1
                ));
            }
        }
    }
    Ok(rules)
}

/// A `targetFolder` as a key prefix.
#[must_use]
pub fn key_prefix(target_folder: &str) -> String {
    target_folder
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl TaskInputs for UploadInputs {
    const INPUTS: &'static [InputSpec] = &[
        inputs::AWS_CREDENTIALS,
        inputs::REGION_NAME,
        InputSpec::new("bucketName", "Bucket Name", InputKind::String),
        InputSpec::new("sourceFolder", "Source Folder", InputKind::FilePath),
        InputSpec::new("globExpressions", "Filename Patterns", InputKind::MultiLine),
        InputSpec::new("targetFolder", "Target Folder", InputKind::String),
        InputSpec::new(
            "filesAcl",
            "Access Control (ACL)",
            InputKind::PickList {
                options: ACLS,
                editable: false,
            },
        ),
        InputSpec::new(
            "createBucket",
            "Create S3 bucket if it does not exist",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "keyManagement",
            "Encryption Key Management",
            InputKind::PickList {
                options: &["none", "awsManaged", "customerManaged"],
                editable: false,
            },
        ),
        InputSpec::new(
            "encryptionAlgorithm",
            "Encryption Algorithm",
            InputKind::Radio {
                options: &["KMS", "AES256"],
            },
        ),
        InputSpec::new("kmsMasterKeyId", "KMS Master Key ID", InputKind::String),
        InputSpec::new("customerKey", "Customer Key", InputKind::String).secret(),
        InputSpec::new("skipUnchanged", "Skip unchanged files", InputKind::Boolean),
        InputSpec::new(
            "deleteUnmatched",
            "Delete objects no file matches",
            InputKind::Boolean,
        ),
        InputSpec::new("dryRun", "Dry run", InputKind::Boolean),
        InputSpec::new("flattenFolders", "Flatten folders", InputKind::Boolean),
        InputSpec::new("contentType", "Content Type", InputKind::String),
        InputSpec::new("contentEncoding", "Content Encoding", InputKind::String),
        InputSpec::new("cacheControl", "Cache Control", InputKind::MultiLine),
        InputSpec::new(
            "storageClass",
            "Storage Class",
            InputKind::PickList {
                options: STORAGE_CLASSES,
                editable: false,
            },
        ),
        InputSpec::new(
            "forcePathStyleAddressing",
            "Force path style addressing",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "maxConcurrentRequests",
            "Parallel requests",
            InputKind::String,
        ),
        InputSpec::new(
            "stopOnFirstFailure",
            "Stop at the first failed file",
            InputKind::Boolean,
        ),
        InputSpec::new("logRequest", "Log request", InputKind::Boolean),
        InputSpec::new("logResponse", "Log response", InputKind::Boolean),
    ];

    fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        let key_management = i.choice("keyManagement")?.unwrap_or_else(|| "none".into());
        let algorithm = i
            .choice("encryptionAlgorithm")?
            .unwrap_or_else(|| "KMS".into());
        let kms_key = i.string("kmsMasterKeyId")?.map(|k| k.trim().to_owned());
        let encryption =
            match key_management.as_str() {
                "awsManaged" if algorithm == "AES256" => Encryption::S3Managed,
                "awsManaged" => Encryption::Kms {
                    key_id: kms_key.clone().filter(|k| !k.is_empty()),
                },
                "customerManaged" => {
                    let value = i.required_string("customerKey")?;
                    Encryption::Customer(customer_key(&value).map_err(|r| {
                        InputError::invalid("customerKey", "Customer Key", &value, r)
                    })?)
                }
                _ => Encryption::BucketDefault,
            };
        if key_management != "awsManaged" && kms_key.as_deref().is_some_and(|k| !k.is_empty()) {
            i.warn(format!(
                "kmsMasterKeyId is set but keyManagement is {key_management}, so the key is not used. Set \
                 keyManagement to awsManaged (and encryptionAlgorithm to KMS) to encrypt with it."
            ));
        }
        if key_management != "customerManaged" && i.string("customerKey")?.is_some() {
            i.warn(format!(
                "customerKey is set but keyManagement is {key_management}, so the key is not used. Set \
                 keyManagement to customerManaged to encrypt with it (SSE-C)."
            ));
        }

        let cache_text = i.multi_line("cacheControl")?.unwrap_or_default();
        let cache_rules = cache_rules(&cache_text)
            .map_err(|r| InputError::invalid("cacheControl", "Cache Control", &cache_text, r))?;

        let concurrency = match i.integer("maxConcurrentRequests")? {
            None => DEFAULT_CONCURRENCY,
            Some(n) if (1..=MAX_CONCURRENCY as i64).contains(&n) => {
                usize::try_from(n).unwrap_or(DEFAULT_CONCURRENCY)
            }
            Some(n) => {
                return Err(InputError::invalid(
                    "maxConcurrentRequests",
                    "Parallel requests",
                    &n.to_string(),
                    format!(
                        "expected 1 to {MAX_CONCURRENCY} requests in flight (default {DEFAULT_CONCURRENCY})."
                    ),
                ));
            }
        };
        let patterns: Vec<String> = i
            .multi_line("globExpressions")?
            .unwrap_or_else(|| "**".into())
            .lines()
            .map(str::to_owned)
            .collect();
        let stop_on_first_failure = if i.is_set("stopOnFirstFailure")? {
            i.boolean("stopOnFirstFailure")?
        } else {
            true
        };
        Ok(Self {
            common: CommonInputs::parse(i)?,
            bucket: i.required_string("bucketName")?.trim().to_owned(),
            source_folder: i.string("sourceFolder")?,
            patterns,
            target_prefix: key_prefix(&i.string("targetFolder")?.unwrap_or_default()),
            acl: ObjectCannedAcl::from(
                i.choice("filesAcl")?
                    .unwrap_or_else(|| "private".into())
                    .as_str(),
            ),
            create_bucket: i.boolean("createBucket")?,
            encryption,
            flatten: i.boolean("flattenFolders")?,
            content_type: i.string("contentType")?.map(|s| s.trim().to_owned()),
            content_encoding: i.string("contentEncoding")?.map(|s| s.trim().to_owned()),
            cache_rules,
            storage_class: StorageClass::from(
                i.choice("storageClass")?
                    .unwrap_or_else(|| "STANDARD".into())
                    .as_str(),
            ),
            force_path_style: i.boolean("forcePathStyleAddressing")?,
            concurrency,
            stop_on_first_failure,
            skip_unchanged: i.boolean("skipUnchanged")?,
            delete_unmatched: i.boolean("deleteUnmatched")?,
            dry_run: i.boolean("dryRun")?,
            log_request: i.boolean("logRequest")?,
            log_response: i.boolean("logResponse")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rust_inputs_match_task_json() {
        extension_checks::assert_inputs_match("S3Upload", UploadInputs::INPUTS);
    }

    #[test]
    fn customer_keys_in_hex_or_base64() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = customer_key(hex).unwrap();
        let b = customer_key(
            &base64::engine::general_purpose::STANDARD.encode(
                (0..32)
                    .map(|i| {
                        [
                            0x00u8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                            0xbb, 0xcc, 0xdd, 0xee, 0xff,
                        ][i % 16]
                    })
                    .collect::<Vec<u8>>(),
            ),
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(
            customer_key(&hex[..62])
                .unwrap_err()
                .contains("62 characters")
        );
        assert!(customer_key("c2hvcnQ=").unwrap_err().contains("5 bytes"));
        assert!(customer_key("not a key!").unwrap_err().contains("neither"));
        assert!(
            customer_key(&"z".repeat(64))
                .unwrap_err()
                .contains("48 bytes")
        );
    }

    #[test]
    fn cache_rules_are_pattern_value_lines() {
        let rules = cache_rules(
            "\n**/*.html = no-cache\n# long-lived\nassets/**=max-age=31536000, immutable\n",
        )
        .unwrap();
        assert_eq!(
            rules,
            vec![
                CacheRule {
                    line: 2,
                    pattern: "**/*.html".into(),
                    value: "no-cache".into()
                },
                CacheRule {
                    line: 4,
                    pattern: "assets/**".into(),
                    value: "max-age=31536000, immutable".into()
                },
            ]
        );
        for bad in ["no-cache", "=no-cache", "*.html="] {
            let e = cache_rules(&format!("*.css=max-age=60\n{bad}")).unwrap_err();
            assert!(e.starts_with(&format!("line 2 ('{bad}')")), "{e}");
        }
    }

    #[test]
    fn key_prefixes_have_no_leading_trailing_or_doubled_slashes() {
        assert_eq!(key_prefix(""), "");
        assert_eq!(key_prefix("/"), "");
        assert_eq!(key_prefix("/site//v2/"), "site/v2");
        assert_eq!(key_prefix("site\\v2\\"), "site/v2");
        assert_eq!(key_prefix("./site"), "site");
    }
}
