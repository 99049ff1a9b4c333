//! Running the uploads: many files at once, large ones in parts, every
//! request under one bound (`maxConcurrentRequests`), progress while it
//! runs, and no incomplete multipart upload left behind whatever happens.
//!
//! Files are started in plan order, up to the bound at once; each file's
//! requests (one `PutObject`, or the parts of a multipart upload) take
//! permits of one shared semaphore, so the bound holds across files. With
//! `stopOnFirstFailure` no file is started after one has failed (the ones
//! in flight finish). When the pipeline is cancelled the uploads in flight
//! are dropped and every multipart upload still open is aborted.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_clients::s3::upload::{
    FileUpload, OpenUploads, UploadError, abort_incomplete, upload_file,
};
use azp_task::time::{Clock, Stopwatch};
use azp_task::{Logger, TaskContext};
use futures_util::StreamExt as _;
use tokio::sync::Semaphore;

use crate::plan::Item;
use crate::report::{human_bytes, human_rate};

/// At most this many parts of one file are sent at once (the rest of the
/// request budget goes to other files). More parts of one file add memory
/// and disk seeks, not speed: on the 1 GiB benchmark 8 parts in flight were
/// as fast as 32 with half the memory.
pub const PARTS_IN_FLIGHT_PER_FILE: usize = 8;

/// How often a progress line is printed.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// How one file ended.
#[derive(Debug)]
pub enum Outcome {
    /// Uploaded.
    Uploaded,
    /// Failed, with the reason.
    Failed(UploadError),
    /// Not started: an earlier file failed and `stopOnFirstFailure` is set.
    NotStarted,
}

/// The result of [`run`].
#[derive(Debug)]
pub struct TransferResult {
    /// `(item index, outcome)` of every file handed in.
    pub outcomes: Vec<(usize, Outcome)>,
    /// The pipeline was cancelled.
    pub cancelled: bool,
    /// Wall time.
    pub elapsed: Duration,
    /// Bytes sent.
    pub bytes: u64,
    /// Multipart uploads that could not be aborted: `(key, reason)`.
    pub not_aborted: Vec<(String, String)>,
}

/// Live counters for progress lines.
#[derive(Debug, Default)]
struct Counters {
    bytes: AtomicU64,
    files: AtomicU64,
}

fn progress_line(
    total_files: usize,
    total_bytes: u64,
    c: &Counters,
    elapsed: Duration,
) -> (u32, String) {
    let bytes = c.bytes.load(Ordering::Relaxed);
    let files = c.files.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = bytes as f64 / secs;
    let eta = if rate > 0.0 && total_bytes > bytes {
        format!(", about {:.0} s left", (total_bytes - bytes) as f64 / rate)
    } else {
        String::new()
    };
    let percent = (bytes * 100)
        .checked_div(total_bytes)
        .unwrap_or_else(|| files * 100 / (total_files.max(1) as u64));
    let percent = u32::try_from(percent).unwrap_or(100);
    (
        percent,
        format!(
            "{files} of {total_files} files, {} of {}, {}{eta}",
            human_bytes(bytes),
            human_bytes(total_bytes),
            human_rate(rate)
        ),
    )
}

async fn ticker(
    log: Logger,
    clock: Arc<dyn Clock>,
    total_files: usize,
    total_bytes: u64,
    counters: Arc<Counters>,
    watch: Stopwatch,
) {
    loop {
        clock.sleep(PROGRESS_EVERY).await;
        // A manual clock's sleep is ready at once: let the uploads run.
        tokio::task::yield_now().await;
        let (percent, line) = progress_line(total_files, total_bytes, &counters, watch.elapsed());
        log.progress(percent, &line);
        log.info(&format!("Progress: {line}"));
    }
}

/// Upload the files of `items` that the plan uploads (`indices` into it).
pub async fn run(
    ctx: &TaskContext,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    items: &[Item],
    indices: &[usize],
    concurrency: usize,
    stop_on_first_failure: bool,
) -> TransferResult {
    let log = ctx.log().clone();
    let limiter = Semaphore::new(concurrency);
    let open = Arc::new(OpenUploads::default());
    let stop = AtomicBool::new(false);
    let counters = Arc::new(Counters::default());
    let total_bytes: u64 = indices.iter().map(|&i| items[i].file.size).sum();
    let watch = Stopwatch::start();

    let uploads = futures_util::stream::iter(indices.iter().copied())
        .map(|i| {
            let item = &items[i];
            let (limiter, open, stop, counters, log) =
                (&limiter, &open, &stop, counters.clone(), &log);
            async move {
                if stop.load(Ordering::Relaxed) {
                    return (i, Outcome::NotStarted);
                }
                let file = FileUpload {
                    bucket,
                    key: &item.key,
                    path: &item.file.path,
                    size: item.file.size,
                    settings: &item.settings,
                    metadata: &item.metadata,
                };
                let c = counters.clone();
                let parts = aws_clients::s3::etag::parts(item.file.size).len();
                let started = |_: &str| {
                    log.info(&format!(
                        "Uploading {} to s3://{bucket}/{} in {parts} parts of {}",
                        item.file.relative,
                        item.key,
                        human_bytes(aws_clients::s3::etag::part_size(item.file.size))
                    ));
                };
                let result = upload_file(
                    client,
                    file,
                    limiter,
                    concurrency.min(PARTS_IN_FLIGHT_PER_FILE),
                    open,
                    &move |n| {
                        c.bytes.fetch_add(n, Ordering::Relaxed);
                    },
                    &started,
                )
                .await;
                counters.files.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(_) => {
                        log.info(&format!(
                            "Uploaded {} to s3://{bucket}/{} ({}, {})",
                            item.file.relative,
                            item.key,
                            human_bytes(item.file.size),
                            item.settings.content_type.as_deref().unwrap_or_default()
                        ));
                        (i, Outcome::Uploaded)
                    }
                    Err(e) => {
                        log.error_line(&format!(
                            "Failed: {} to s3://{bucket}/{}: {e}",
                            item.file.relative, item.key
                        ));
                        if stop_on_first_failure {
                            stop.store(true, Ordering::Relaxed);
                        }
                        (i, Outcome::Failed(e))
                    }
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>();

    log.info(&format!(
        "Starting {} uploads ({}), up to {concurrency} requests at once.",
        indices.len(),
        human_bytes(total_bytes)
    ));
    let tick = ticker(
        log.clone(),
        ctx.clock(),
        indices.len(),
        total_bytes,
        counters.clone(),
        watch,
    );
    let (outcomes, cancelled) = tokio::select! {
        outcomes = uploads => (outcomes, false),
        () = tick => (Vec::new(), false),
        () = ctx.cancelled() => (Vec::new(), true),
    };

    let mut not_aborted: Vec<(String, String)> = open
        .abort_all(client, bucket)
        .await
        .into_iter()
        .map(|(k, e)| (k, e.to_string()))
        .collect();
    let failed_any = outcomes
        .iter()
        .any(|(_, o)| matches!(o, Outcome::Failed(_)));
    if cancelled || failed_any {
        // A CreateMultipartUpload whose answer was dropped by the
        // cancellation left an upload this run never saw: sweep our keys.
        let keys: HashSet<String> = indices.iter().map(|&i| items[i].key.clone()).collect();
        let prefix = common_prefix(keys.iter().map(String::as_str));
        match abort_incomplete(client, bucket, &prefix, &keys).await {
            Ok(0) => {}
            Ok(n) => log.info(&format!(
                "Aborted {n} incomplete multipart uploads left by this run."
            )),
            Err(e) => not_aborted.push((
                format!("(uploads under '{prefix}')"),
                format!("they could not be listed: {e}; allow s3:ListBucketMultipartUploads"),
            )),
        }
    }
    let bytes = counters.bytes.load(Ordering::Relaxed);
    let elapsed = watch.elapsed();
    if !indices.is_empty() && !cancelled {
        let (percent, line) = progress_line(indices.len(), total_bytes, &counters, elapsed);
        log.progress(percent, &line);
    }
    TransferResult {
        outcomes,
        cancelled,
        elapsed,
        bytes,
        not_aborted,
    }
}

/// The longest common prefix of `keys`, cut back to a `/`.
fn common_prefix<'a>(mut keys: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = keys.next() else {
        return String::new();
    };
    let mut prefix = first.to_owned();
    for k in keys {
        let n = prefix
            .bytes()
            .zip(k.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        prefix.truncate(n);
    }
    while !prefix.is_char_boundary(prefix.len()) {
        prefix.pop();
    }
    match prefix.rfind('/') {
        Some(i) => prefix[..=i].to_owned(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes_end_at_a_slash() {
        assert_eq!(
            common_prefix(["site/a/x", "site/a/y", "site/b"].into_iter()),
            "site/"
        );
        assert_eq!(common_prefix(["site/a/x"].into_iter()), "site/a/");
        assert_eq!(common_prefix(["a", "b"].into_iter()), "");
        assert_eq!(common_prefix(std::iter::empty()), "");
    }

    #[test]
    fn progress_lines() {
        let c = Counters::default();
        c.bytes.store(50 * 1024 * 1024, Ordering::Relaxed);
        c.files.store(10, Ordering::Relaxed);
        let (percent, line) = progress_line(40, 200 * 1024 * 1024, &c, Duration::from_secs(5));
        assert_eq!(percent, 25);
        assert_eq!(
            line,
            "10 of 40 files, 50.0 MiB of 200.0 MiB, 10.0 MiB/s, about 15 s left"
        );
    }
}
