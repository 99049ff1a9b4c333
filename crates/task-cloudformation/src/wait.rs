//! Waiting for a stack to settle, printing its events as they come.
//!
//! The toolkit used the SDK's waiters: one `DescribeStacks` every 30
//! seconds, so a deploy ended up to 30 seconds after the stack did, and
//! the log stayed silent meanwhile. Here each round reads the new events
//! and the stack's status, 1 second after the call that started the
//! operation, then 2, 3, 4 and every 5 seconds after that: the task ends
//! within 5 seconds of the final status. Throttling doubles the pause (up
//! to 30 seconds) until a call goes through. The credentials behind the
//! client refresh themselves, so the wait can outlast any one session.

use std::sync::Arc;
use std::time::Duration;

use aws_clients::AwsError;
use aws_clients::error::is_throttling;
use aws_sdk_cloudformation::Client;
use azp_task::TaskContext;
use azp_task::log::Logger;
use azp_task::time::Clock;

use crate::events::{Event, EventLog};
use crate::stack::{self, Stack};

/// The pauses between rounds, in seconds; the last one repeats.
pub const POLL_SCHEDULE: [u64; 5] = [1, 2, 3, 4, 5];
/// The longest pause while CloudFormation throttles the task.
pub const MAX_THROTTLED_PAUSE: Duration = Duration::from_secs(30);
/// Rounds in a row that may fail for a transient reason before the wait
/// gives up.
const TRANSIENT_ROUNDS: u32 = 10;

/// Why a wait ended without a settled stack.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// `timeoutInMins` passed first.
    #[error(
        "stack {stack} was still {status} after {minutes} minutes (timeoutInMins). The operation goes on in \
         CloudFormation; raise timeoutInMins, or check the stack in the console"
    )]
    Timeout {
        /// The stack name.
        stack: String,
        /// Its last status.
        status: String,
        /// The limit, in minutes.
        minutes: u64,
    },
    /// Reading the stack failed for a reason a retry does not fix.
    #[error("reading the status of stack {stack} failed: {source}")]
    Describe {
        /// The stack name.
        stack: String,
        /// CloudFormation's answer.
        source: AwsError,
    },
    /// The stack vanished (deleted by someone else, or `OnFailure=DELETE`).
    #[error("stack {stack} no longer exists")]
    Gone {
        /// The stack name.
        stack: String,
    },
    /// The pipeline was cancelled.
    #[error(
        "the pipeline was cancelled while stack {stack} was {status}; the operation goes on in CloudFormation"
    )]
    Cancelled {
        /// The stack name.
        stack: String,
        /// Its last status.
        status: String,
    },
}

/// The pause before round `round` (0-based) on [`POLL_SCHEDULE`].
fn scheduled_pause(round: usize) -> Duration {
    Duration::from_secs(POLL_SCHEDULE[round.min(POLL_SCHEDULE.len() - 1)])
}

/// Waits for stacks, bounded by one deadline for the whole task.
#[derive(Debug)]
pub struct Waiter {
    clock: Arc<dyn Clock>,
    started: std::time::SystemTime,
    limit: Duration,
    minutes: u64,
}

/// Print one event: failures as red lines, the rest plain.
pub fn print_event(log: &Logger, e: &Event) {
    if e.is_failure() {
        log.error_line(&e.line());
    } else {
        log.info(&e.line());
    }
}

impl Waiter {
    /// A waiter allowing `minutes` in all from now.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>, minutes: u64) -> Self {
        Self {
            started: clock.now(),
            clock,
            limit: Duration::from_secs(minutes.saturating_mul(60)),
            minutes,
        }
    }

    /// Time since the waiter was made.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.clock
            .now()
            .duration_since(self.started)
            .unwrap_or_default()
    }

    /// Pause before round `round` (0-based) of a poll on
    /// [`POLL_SCHEDULE`]; `false` when the pipeline was cancelled or the
    /// time limit has passed, so the caller stops polling.
    pub async fn nap(&self, ctx: &TaskContext, round: usize) -> bool {
        if self.elapsed() >= self.limit {
            return false;
        }
        let pause = scheduled_pause(round);
        tokio::select! {
            () = self.clock.sleep(pause) => true,
            () = ctx.cancelled() => false,
        }
    }

    /// Wait until stack `id` (named `name`) is settled (no `*_IN_PROGRESS`
    /// status other than `REVIEW_IN_PROGRESS`), printing the new events of
    /// `events` on every round. Returns the settled stack.
    ///
    /// `before` is the status the stack had before the call that started
    /// the operation. CloudFormation may still show it for a moment (after
    /// `ExecuteChangeSet` a stack can read `REVIEW_IN_PROGRESS` once more),
    /// so that status counts only once the stack has shown another, or a
    /// new stack-level event with that status has arrived (an update ends
    /// `UPDATE_COMPLETE` as it began), or a minute has passed.
    ///
    /// # Errors
    /// [`WaitError`]: the time limit, a cancelled pipeline, a stack that
    /// vanished, or `DescribeStacks` failing for a reason other than
    /// throttling or a transient network failure.
    pub async fn settle(
        &self,
        ctx: &TaskContext,
        client: &Client,
        (name, id): (&str, &str),
        before: Option<&str>,
        events: &mut EventLog,
    ) -> Result<Stack, WaitError> {
        let log = ctx.log();
        let mut round = 0usize;
        let mut throttled_pause: Option<Duration> = None;
        let mut transient = 0u32;
        let mut status = String::from("IN_PROGRESS");
        let mut moved = false;
        let called = self.clock.now();
        loop {
            let pause = throttled_pause.unwrap_or_else(|| scheduled_pause(round));
            round += 1;
            if self.elapsed() >= self.limit {
                return Err(WaitError::Timeout {
                    stack: name.to_owned(),
                    status,
                    minutes: self.minutes,
                });
            }
            tokio::select! {
                () = self.clock.sleep(pause) => {}
                () = ctx.cancelled() => {
                    return Err(WaitError::Cancelled { stack: name.to_owned(), status });
                }
            }
            let polled = match events.poll(client).await {
                Ok(new) => {
                    for e in &new {
                        print_event(log, e);
                    }
                    Ok(())
                }
                // Without s3:DescribeStackEvents (the toolkit never needed
                // it) the deploy goes on; only the events are missing.
                Err(e) if e.code().starts_with("AccessDenied") => {
                    log.warning(format!(
                        "The stack's events cannot be read ({e}); waiting on its status alone. Grant \
                         cloudformation:DescribeStackEvents to see them and the cause of a failure."
                    ));
                    events.disable();
                    Ok(())
                }
                Err(e) => Err(e),
            };
            let described = match polled {
                Ok(()) => stack::find(client, id).await,
                Err(e) => Err(e),
            };
            if let Ok(Some(s)) = &described
                && Some(s.status.as_str()) != before
            {
                moved = true;
            }
            let waited_a_minute = self
                .clock
                .now()
                .duration_since(called)
                .is_ok_and(|d| d >= Duration::from_secs(60));
            match described {
                Ok(Some(s))
                    if stack::is_settled(&s.status)
                        && (moved || events.has_stack_event(&s.status) || waited_a_minute) =>
                {
                    // Events written between the two calls of this round.
                    if let Ok(new) = events.poll(client).await {
                        for e in &new {
                            print_event(log, e);
                        }
                    }
                    return Ok(s);
                }
                Ok(Some(s)) => {
                    status = s.status;
                    log.debug(&format!("Stack {name} is {status}."));
                    throttled_pause = None;
                    transient = 0;
                }
                Ok(None) => {
                    return Err(WaitError::Gone {
                        stack: name.to_owned(),
                    });
                }
                Err(e) if is_throttling(e.code()) => {
                    let next = throttled_pause.map_or(Duration::from_secs(10), |p| p * 2);
                    throttled_pause = Some(next.min(MAX_THROTTLED_PAUSE));
                    log.debug(&format!(
                        "CloudFormation is throttling the task ({e}); next check in {} s.",
                        next.min(MAX_THROTTLED_PAUSE).as_secs()
                    ));
                }
                Err(e) if e.is_transient() && transient < TRANSIENT_ROUNDS => {
                    transient += 1;
                    log.debug(&format!("Reading the stack failed ({e}); trying again."));
                }
                Err(e) => {
                    return Err(WaitError::Describe {
                        stack: name.to_owned(),
                        source: e,
                    });
                }
            }
        }
    }
}
