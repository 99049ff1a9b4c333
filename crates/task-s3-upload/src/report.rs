//! What the task tells the pipeline at the end: the summary page attached
//! with `task.uploadsummary` (Markdown, on the run's Extensions tab), and
//! the counts as output variables.

use std::time::Duration;

use azp_task::Logger;
use azp_task::log::VariableOptions;

/// How many failures the summary page lists.
pub const FAILURES_SHOWN: usize = 20;

/// A byte count for people: `512 B`, `4.0 KiB`, `1.5 GiB`.
#[must_use]
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A rate in bytes per second for people.
#[must_use]
pub fn human_rate(bytes_per_second: f64) -> String {
    // Truncation is fine: this is a display figure.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = bytes_per_second.max(0.0) as u64;
    format!("{}/s", human_bytes(whole))
}

/// The numbers of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `s3://bucket/prefix`.
    pub target: String,
    /// Files matched.
    pub matched: usize,
    /// Files uploaded.
    pub uploaded: usize,
    /// Files skipped as unchanged.
    pub skipped: usize,
    /// Objects deleted.
    pub deleted: usize,
    /// Files that failed.
    pub failed: usize,
    /// Files not started after a failure.
    pub not_started: usize,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Time spent uploading.
    pub duration: Duration,
    /// The first failures: `(file, reason)`.
    pub failures: Vec<(String, String)>,
    /// A dry run: nothing was changed.
    pub dry_run: bool,
}

impl Summary {
    /// The summary page, in Markdown.
    #[must_use]
    pub fn markdown(&self) -> String {
        let secs = self.duration.as_secs_f64();
        let rate = if secs > 0.0 {
            self.bytes as f64 / secs
        } else {
            0.0
        };
        let mut md = format!(
            "### S3 Upload to {}{}\n\n| | |\n| --- | ---: |\n| Files matched | {} |\n| Uploaded | {} |\n\
             | Skipped (unchanged) | {} |\n| Deleted | {} |\n| Failed | {} |\n| Not started after a failure | {} |\n\
             | Bytes uploaded | {} ({} bytes) |\n| Duration | {:.1} s |\n| Throughput | {} |\n",
            self.target,
            if self.dry_run {
                " (dry run: nothing changed)"
            } else {
                ""
            },
            self.matched,
            self.uploaded,
            self.skipped,
            self.deleted,
            self.failed,
            self.not_started,
            human_bytes(self.bytes),
            self.bytes,
            secs,
            human_rate(rate),
        );
        if !self.failures.is_empty() {
            md.push_str("\n#### Failures\n\n| File | Reason |\n| --- | --- |\n");
            for (file, reason) in self.failures.iter().take(FAILURES_SHOWN) {
                md.push_str(&format!(
                    "| `{}` | {} |\n",
                    file.replace('|', "\\|"),
                    reason.replace('|', "\\|")
                ));
            }
            if self.failures.len() > FAILURES_SHOWN {
                md.push_str(&format!(
                    "\n…and {} more; the log lists them all.\n",
                    self.failures.len() - FAILURES_SHOWN
                ));
            }
        }
        md
    }

    /// Set the counts as output variables (`$(<step>.filesUploaded)`, and
    /// `dependencies.<job>.outputs['<step>.filesUploaded']` in later jobs).
    pub fn set_outputs(&self, log: &Logger) {
        let output = VariableOptions {
            output: true,
            ..VariableOptions::default()
        };
        for (name, value) in [
            ("filesUploaded", self.uploaded.to_string()),
            ("filesSkipped", self.skipped.to_string()),
            ("filesDeleted", self.deleted.to_string()),
            ("filesFailed", self.failed.to_string()),
            ("bytesUploaded", self.bytes.to_string()),
        ] {
            log.set_variable(name, &value, output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rates() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(4096), "4.0 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        assert_eq!(human_rate(2.5 * 1024.0 * 1024.0), "2.5 MiB/s");
    }

    #[test]
    fn the_page_lists_counts_and_the_first_failures() {
        let s = Summary {
            target: "s3://b/site".into(),
            matched: 30,
            uploaded: 5,
            skipped: 3,
            failed: 22,
            bytes: 10 * 1024 * 1024,
            duration: Duration::from_secs(2),
            failures: (0..22)
                .map(|i| (format!("f{i}|x"), "AccessDenied".to_owned()))
                .collect(),
            ..Summary::default()
        };
        let md = s.markdown();
        assert!(md.contains("| Uploaded | 5 |"), "{md}");
        assert!(md.contains("| Throughput | 5.0 MiB/s |"), "{md}");
        assert!(md.contains("| `f0\\|x` | AccessDenied |"), "{md}");
        assert!(md.contains("f19") && !md.contains("f20"), "{md}");
        assert!(md.contains("…and 2 more"), "{md}");
    }
}
