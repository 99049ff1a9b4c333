//! The S3Upload task: upload the files of a folder that match patterns to
//! a bucket, with the AWS Toolkit's inputs and defaults.
//!
//! Unlike the toolkit, it uploads many files at once and large files in
//! parallel parts, can skip unchanged files and delete objects no file
//! matches, shows progress and a summary page, creates a bucket only when
//! it does not exist (never on a 403), and leaves no incomplete multipart
//! upload behind, whether a file fails or the pipeline is cancelled.
//!
//! - [`inputs`]: the inputs, checked before any S3 call;
//! - [`files`]: the file set (task-lib's matching rules) and the keys;
//! - [`settings`]: each object's content type, cache control and the rest;
//! - [`plan`]: upload, skip or delete, with the sync comparisons;
//! - [`transfer`]: the uploads, in parallel, with progress;
//! - [`report`]: the summary page and output variables.

pub mod files;
pub mod inputs;
pub mod plan;
pub mod report;
pub mod settings;
pub mod transfer;

use aws_clients::s3::bucket::{BucketState, ensure_bucket};
use aws_clients::s3::{Encryption, S3Options};
use aws_clients::wire::WireLog;
use aws_connection::connect;
use azp_task::env::names;
use azp_task::{TaskContext, TaskError};
use tokio::sync::Semaphore;

use crate::files::{Patterns, find_files, keys, source_root};
use crate::inputs::UploadInputs;
use crate::plan::{PlanOptions, Reason};
use crate::report::{Summary, human_bytes};
use crate::settings::SettingsFor;
use crate::transfer::Outcome;

/// The task stopped because files failed; every one is listed.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} files failed to upload{}:\n{list}", not_started_note(*.not_started))]
pub struct FilesFailed {
    failed: usize,
    total: usize,
    not_started: usize,
    list: String,
}

fn not_started_note(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(
            " and {n} were not started after the first failure (stopOnFirstFailure; set it to false to try every \
             file)"
        )
    }
}

/// Deleting objects failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DeleteFailed(String);

/// The pipeline was cancelled during the uploads.
#[derive(Debug, thiserror::Error)]
#[error("cancelled during the uploads; the multipart uploads in flight were aborted")]
struct Cancelled;

/// The task: the whole of its `main`.
///
/// # Errors
/// Anything that stops the task; `azp_task::run` reports it.
pub async fn run(ctx: TaskContext) -> Result<String, TaskError> {
    let inputs: UploadInputs = ctx.inputs()?;
    if let Encryption::Customer(k) = &inputs.encryption {
        ctx.log().set_secret(k.key_base64().expose());
    }
    let log = ctx.log().clone();

    let given = inputs
        .source_folder
        .clone()
        .or_else(|| {
            ctx.env()
                .get_non_empty(names::SYSTEM_DEFAULTWORKINGDIRECTORY)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| ".".to_owned());
    let root = source_root(&given)?;
    let patterns = Patterns::new(&inputs.patterns, &root, "globExpressions")?;
    let settings_for = SettingsFor::new(&inputs, &root)?;
    let found = find_files(&root, &patterns)?;
    for l in &found.loops {
        log.warning(format!(
            "{l} is a symbolic link back into a folder above it; its folder was not walked again."
        ));
    }
    let keys = keys(&found.files, &inputs.target_prefix, inputs.flatten)?;
    let target = if inputs.target_prefix.is_empty() {
        format!("s3://{}", inputs.bucket)
    } else {
        format!("s3://{}/{}", inputs.bucket, inputs.target_prefix)
    };
    let total_bytes: u64 = found.files.iter().map(|f| f.size).sum();
    log.info(&format!(
        "Uploading from {} to {target}: {} files, {} (patterns: {}).",
        root.display(),
        found.files.len(),
        human_bytes(total_bytes),
        inputs
            .patterns
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let session = connect(&ctx, &inputs.common.connect_options("S3Upload", true)).await?;
    let region = session.region().map(|r| r.name.clone()).unwrap_or_default();
    let client = aws_clients::s3::client(
        session.sdk_config(),
        &S3Options {
            force_path_style: inputs.force_path_style,
            wire_log: WireLog::new(&log, inputs.log_request, inputs.log_response),
        },
    );

    let bucket_exists = if inputs.dry_run {
        match ensure_bucket(&client, &inputs.bucket, &region, false).await {
            Ok(_) => true,
            Err(aws_clients::s3::bucket::BucketError::Missing { .. }) if inputs.create_bucket => {
                log.info(&format!(
                    "Dry run: bucket {} does not exist and would be created in {region}.",
                    inputs.bucket
                ));
                false
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        if ensure_bucket(&client, &inputs.bucket, &region, inputs.create_bucket).await?
            == BucketState::Created
        {
            log.info(&format!("Created bucket {} in {region}.", inputs.bucket));
        }
        true
    };

    let mut summary = Summary {
        target: target.clone(),
        matched: found.files.len(),
        dry_run: inputs.dry_run,
        ..Summary::default()
    };
    let delete_unmatched = if inputs.delete_unmatched && found.files.is_empty() {
        log.warning(
            "deleteUnmatched is set but no file matched, so nothing is deleted: an empty file set is far more often \
             a wrong pattern or folder than a wish to empty the target folder.",
        );
        false
    } else {
        inputs.delete_unmatched
    };
    if found.files.is_empty() {
        log.warning(format!(
            "No files found in folder \"{}\" that match the patterns \"{}\".",
            root.display(),
            inputs.patterns.join("\n")
        ));
        finish(&ctx, &summary);
        return Ok("No files matched; nothing was uploaded.".into());
    }

    let limiter = Semaphore::new(inputs.concurrency);
    let files: Vec<_> = found
        .files
        .into_iter()
        .zip(keys)
        .map(|(f, k)| {
            let s = settings_for.of(&f);
            (f, k, s)
        })
        .collect();
    let plan = plan::plan(
        &client,
        files,
        PlanOptions {
            bucket: &inputs.bucket,
            prefix: &inputs.target_prefix,
            skip_unchanged: inputs.skip_unchanged,
            delete_unmatched,
            bucket_exists,
        },
        &limiter,
        inputs.concurrency,
    )
    .await?;
    if plan.not_compared > 0 {
        log.warning(format!(
            "{} objects could not be compared (HeadObject failed; see the reasons below) and are uploaded again. \
             skipUnchanged needs s3:GetObject on the objects.",
            plan.not_compared
        ));
    }
    let to_upload: Vec<usize> = (0..plan.items.len())
        .filter(|&i| plan.items[i].upload.is_some())
        .collect();
    summary.skipped = plan.items.len() - to_upload.len();

    if inputs.skip_unchanged || inputs.dry_run {
        log.group(&format!(
            "Plan: {} to upload, {} unchanged, {} to delete",
            to_upload.len(),
            summary.skipped,
            plan.deletes.len()
        ));
        for item in &plan.items {
            match &item.upload {
                Some(Reason::Always) => log.info(&format!(
                    "upload {} ({})",
                    item.key,
                    human_bytes(item.file.size)
                )),
                Some(r) => log.info(&format!(
                    "upload {} ({}; {r})",
                    item.key,
                    human_bytes(item.file.size)
                )),
                None => log.info(&format!("skip   {} (unchanged)", item.key)),
            }
        }
        for key in &plan.deletes {
            log.info(&format!("delete {key}"));
        }
        log.end_group();
    }
    if inputs.dry_run {
        summary.uploaded = to_upload.len();
        summary.deleted = plan.deletes.len();
        summary.bytes = to_upload.iter().map(|&i| plan.items[i].file.size).sum();
        finish(&ctx, &summary);
        return Ok(format!(
            "Dry run: {} files would be uploaded ({}), {} skipped, {} objects deleted. Nothing was changed.",
            summary.uploaded,
            human_bytes(summary.bytes),
            summary.skipped,
            summary.deleted
        ));
    }

    let result = transfer::run(
        &ctx,
        &client,
        &inputs.bucket,
        &plan.items,
        &to_upload,
        inputs.concurrency,
        inputs.stop_on_first_failure,
    )
    .await;
    summary.bytes = result.bytes;
    summary.duration = result.elapsed;
    for (key, why) in &result.not_aborted {
        log.error_line(&format!(
            "The incomplete multipart upload of {key} could not be aborted ({why}); it is billed as storage until a \
             lifecycle rule or `aws s3api abort-multipart-upload` removes it."
        ));
    }
    if result.cancelled {
        finish(&ctx, &summary);
        return Err(Cancelled.into());
    }
    let mut failures = Vec::new();
    for (i, outcome) in &result.outcomes {
        match outcome {
            Outcome::Uploaded => summary.uploaded += 1,
            Outcome::Failed(e) => {
                failures.push((plan.items[*i].file.relative.clone(), e.to_string()))
            }
            Outcome::NotStarted => summary.not_started += 1,
        }
    }
    failures.sort();
    summary.failed = failures.len();
    summary.failures = failures.clone();

    if !failures.is_empty() {
        if !plan.deletes.is_empty() {
            log.warning(format!(
                "{} objects were not deleted because uploads failed.",
                plan.deletes.len()
            ));
        }
        finish(&ctx, &summary);
        return Err(FilesFailed {
            failed: failures.len(),
            total: to_upload.len(),
            not_started: summary.not_started,
            list: failures
                .iter()
                .map(|(f, e)| format!("  {f}: {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
        .into());
    }

    if !plan.deletes.is_empty() {
        log.info(&format!(
            "Deleting {} objects no file matches:",
            plan.deletes.len()
        ));
        for k in &plan.deletes {
            log.info(&format!("  s3://{}/{k}", inputs.bucket));
        }
        let failed = plan::delete(&client, &inputs.bucket, &plan.deletes).await.map_err(|e| {
            DeleteFailed(format!(
                "DeleteObjects in bucket {} failed: {e}. Deleting needs s3:DeleteObject on the objects.",
                inputs.bucket
            ))
        })?;
        summary.deleted = plan.deletes.len() - failed.len();
        if !failed.is_empty() {
            finish(&ctx, &summary);
            return Err(DeleteFailed(format!(
                "{} objects could not be deleted:\n{}",
                failed.len(),
                failed
                    .iter()
                    .map(|(k, e)| format!("  {k}: {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))
            .into());
        }
    }
    finish(&ctx, &summary);
    Ok(format!(
        "Uploaded {} files ({}) to {target} in {:.1} s; {} unchanged, {} deleted.",
        summary.uploaded,
        human_bytes(summary.bytes),
        summary.duration.as_secs_f64(),
        summary.skipped,
        summary.deleted
    ))
}

/// Attach the summary page and set the output variables.
fn finish(ctx: &TaskContext, summary: &Summary) {
    summary.set_outputs(ctx.log());
    ctx.upload_summary("s3upload-summary", &summary.markdown());
}
