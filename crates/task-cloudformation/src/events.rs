//! Stack events as they happen, for the stack and its nested stacks, and
//! the root cause of a failure.
//!
//! `DescribeStackEvents` returns a stack's events newest first, a page at a
//! time. Each poll reads pages until it reaches an event it has already
//! seen (or one older than the operation), prints the new ones oldest
//! first, and starts following every nested stack (`AWS::CloudFormation::Stack`
//! resource) whose id shows up, indenting its events under its parent.
//!
//! When a deploy fails, CloudFormation reports the first failure and then
//! a cascade: "Resource creation cancelled" for everything in flight, then
//! the nested stack resource ("Embedded stack … was not successfully
//! created"), then the stack itself. [`EventLog::root_cause`] picks the
//! first failure that is not part of that cascade, inside nested stacks too.

use std::collections::HashSet;

use aws_clients::{AwsError, describe};
use aws_sdk_cloudformation::Client;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// The resource type of a nested stack.
pub const NESTED_STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// One stack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `EventId`.
    pub id: String,
    /// When it happened (UTC), as CloudFormation gives it.
    pub time: DateTime,
    /// The stack it belongs to (its name).
    pub stack_name: String,
    /// `LogicalResourceId`.
    pub logical_id: String,
    /// `PhysicalResourceId`.
    pub physical_id: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `ResourceStatus`, such as `CREATE_FAILED`.
    pub status: String,
    /// `ResourceStatusReason`.
    pub reason: String,
    /// 0 for the deployed stack, 1 for a stack nested in it, and so on.
    pub depth: usize,
}

impl Event {
    /// The SDK's event, for a stack `depth` levels below the deployed one.
    fn from_sdk(e: &aws_sdk_cloudformation::types::StackEvent, depth: usize) -> Self {
        Self {
            id: e.event_id().unwrap_or_default().to_owned(),
            time: e.timestamp().copied().unwrap_or(DateTime::from_secs(0)),
            stack_name: e.stack_name().unwrap_or_default().to_owned(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            physical_id: e.physical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().unwrap_or_default().to_owned(),
            depth,
        }
    }

    /// Whether it reports a failure.
    #[must_use]
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }

    /// `2026-11-29T23:14:02Z`.
    #[must_use]
    pub fn time_text(&self) -> String {
        self.time
            .fmt(Format::DateTime)
            .map(|t| {
                // Whole seconds are enough for a log line.
                match t.find('.') {
                    Some(dot) => format!("{}Z", &t[..dot]),
                    None => t,
                }
            })
            .unwrap_or_default()
    }

    /// The log line: time, logical id, resource type, status and reason,
    /// indented two spaces per nesting level.
    #[must_use]
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}{}  {}  {}  {}",
            "  ".repeat(self.depth),
            self.time_text(),
            self.logical_id,
            self.resource_type,
            self.status
        );
        if !self.reason.is_empty() {
            line.push_str("  ");
            line.push_str(&self.reason);
        }
        line
    }

    /// Whether it is part of a failure's cascade rather than its cause.
    fn is_cascade(&self) -> bool {
        let r = self.reason.to_ascii_lowercase();
        r.contains("cancelled")
            || r.starts_with("the following resource(s) failed")
            || r.contains("embedded stack")
    }
}

#[derive(Debug)]
struct Followed {
    id: String,
    depth: usize,
    /// Events already printed.
    seen: HashSet<String>,
}

/// The events of one deploy, printed as they arrive.
#[derive(Debug)]
pub struct EventLog {
    stacks: Vec<Followed>,
    /// Events older than this are from earlier operations.
    since: Option<DateTime>,
    events: Vec<Event>,
    /// `DescribeStackEvents` was refused; only the status is followed.
    disabled: bool,
}

impl EventLog {
    /// Follow `stack_id`, ignoring events up to and including
    /// `baseline` (the newest event before the deploy began; `None` for a
    /// new stack).
    #[must_use]
    pub fn new(stack_id: &str, baseline: Option<&Event>) -> Self {
        let mut seen = HashSet::new();
        if let Some(b) = baseline {
            seen.insert(b.id.clone());
        }
        Self {
            stacks: vec![Followed {
                id: stack_id.to_owned(),
                depth: 0,
                seen,
            }],
            since: baseline.map(|b| b.time),
            events: Vec::new(),
            disabled: false,
        }
    }

    /// Follow `stack_id` from `time` (UTC) on: for when the newest event
    /// before the operation could not be read, so that older events are not
    /// taken for this operation's.
    #[must_use]
    pub fn starting_at(stack_id: &str, time: DateTime) -> Self {
        let mut log = Self::new(stack_id, None);
        log.since = Some(time);
        log
    }

    /// Stop reading events (they were refused).
    pub fn disable(&mut self) {
        self.disabled = true;
    }

    /// Whether a new event of the deployed stack itself has `status`.
    #[must_use]
    pub fn has_stack_event(&self, status: &str) -> bool {
        self.events.iter().any(|e| {
            e.depth == 0
                && e.resource_type == NESTED_STACK_TYPE
                && e.logical_id == e.stack_name
                && e.status == status
        })
    }

    /// Every event seen so far, in the order they were printed.
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Read the new events of every followed stack; returns them, oldest
    /// first within each stack, to be printed.
    ///
    /// # Errors
    /// `DescribeStackEvents` failures of the deployed stack. A nested
    /// stack's failures are skipped: its events come back next poll.
    pub async fn poll(&mut self, client: &Client) -> Result<Vec<Event>, AwsError> {
        let mut fresh = Vec::new();
        if self.disabled {
            return Ok(fresh);
        }
        let mut i = 0;
        while i < self.stacks.len() {
            match self.poll_stack(client, i).await {
                Ok(mut new) => fresh.append(&mut new),
                Err(e) if i == 0 => return Err(e),
                Err(_) => {}
            }
            i += 1;
        }
        Ok(fresh)
    }

    async fn poll_stack(&mut self, client: &Client, index: usize) -> Result<Vec<Event>, AwsError> {
        let (id, depth) = (self.stacks[index].id.clone(), self.stacks[index].depth);
        let mut new = Vec::new();
        let mut token: Option<String> = None;
        'pages: loop {
            let out = client
                .describe_stack_events()
                .stack_name(&id)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| describe(&e))?;
            for e in out.stack_events() {
                let event = Event::from_sdk(e, depth);
                let old = self.stacks[index].seen.contains(&event.id)
                    || self.since.is_some_and(|s| event.time < s);
                if old {
                    break 'pages;
                }
                new.push(event);
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        new.reverse();
        for e in &new {
            self.stacks[index].seen.insert(e.id.clone());
            if self.since.is_none() && index == 0 {
                self.since = Some(e.time);
            }
            if e.resource_type == NESTED_STACK_TYPE
                && e.physical_id.starts_with("arn:")
                && e.physical_id != id
                && !self.stacks.iter().any(|s| s.id == e.physical_id)
            {
                self.stacks.push(Followed {
                    id: e.physical_id.clone(),
                    depth: depth + 1,
                    seen: HashSet::new(),
                });
            }
        }
        self.events.extend(new.iter().cloned());
        Ok(new)
    }

    /// The failure that started it all: the earliest failed event that is
    /// not a cancellation or a nested stack reporting its children, the
    /// deepest one first when several happened at the same second. `None`
    /// when no resource failed (a stack-level failure such as a timeout).
    #[must_use]
    pub fn root_cause(&self) -> Option<&Event> {
        root_cause(&self.events)
    }
}

/// [`EventLog::root_cause`] over any list of events.
#[must_use]
pub fn root_cause(events: &[Event]) -> Option<&Event> {
    let failures: Vec<&Event> = events.iter().filter(|e| e.is_failure()).collect();
    let causes: Vec<&Event> = failures
        .iter()
        .copied()
        .filter(|e| !e.is_cascade() && e.resource_type != NESTED_STACK_TYPE)
        .collect();
    let pool = if causes.is_empty() {
        failures
            .iter()
            .copied()
            .filter(|e| !e.is_cascade())
            .collect()
    } else {
        causes
    };
    pool.into_iter()
        .min_by(|a, b| a.time.cmp(&b.time).then(b.depth.cmp(&a.depth)))
}

/// An [`EventLog`] for an operation about to start on `stack_id`: from
/// its newest event (one retry), or, when the events cannot be read, from
/// 5 seconds before `now` (the task's clock, UTC).
pub async fn follow_from_now(
    client: &Client,
    stack_id: &str,
    now: std::time::SystemTime,
) -> EventLog {
    for _ in 0..2 {
        if let Ok(newest) = newest(client, stack_id).await {
            return EventLog::new(stack_id, newest.as_ref());
        }
    }
    let from = now
        .checked_sub(std::time::Duration::from_secs(5))
        .unwrap_or(now);
    EventLog::starting_at(stack_id, DateTime::from(from))
}

/// The newest event of `stack_id`, the baseline for [`EventLog::new`].
///
/// # Errors
/// `DescribeStackEvents` failures.
pub async fn newest(client: &Client, stack_id: &str) -> Result<Option<Event>, AwsError> {
    let out = client
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(out.stack_events().first().map(|e| Event::from_sdk(e, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(secs: i64, depth: usize, logical: &str, ty: &str, status: &str, reason: &str) -> Event {
        Event {
            id: format!("{logical}-{secs}-{status}"),
            time: DateTime::from_secs(1_800_000_000 + secs),
            stack_name: "web".into(),
            logical_id: logical.into(),
            physical_id: String::new(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.into(),
            depth,
        }
    }

    #[test]
    fn the_root_cause_is_the_first_real_failure_even_inside_a_nested_stack() {
        let events = vec![
            ev(
                0,
                0,
                "web",
                NESTED_STACK_TYPE,
                "CREATE_IN_PROGRESS",
                "User Initiated",
            ),
            ev(1, 0, "Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS", ""),
            ev(
                2,
                1,
                "Bucket",
                "AWS::S3::Bucket",
                "CREATE_FAILED",
                "assets already exists",
            ),
            ev(
                2,
                1,
                "Topic",
                "AWS::SNS::Topic",
                "CREATE_FAILED",
                "Resource creation cancelled",
            ),
            ev(
                3,
                0,
                "Storage",
                NESTED_STACK_TYPE,
                "CREATE_FAILED",
                "Embedded stack arn:x was not successfully created: The following resource(s) failed to create: \
                 [Bucket].",
            ),
            ev(
                3,
                0,
                "Queue",
                "AWS::SQS::Queue",
                "CREATE_FAILED",
                "Resource creation cancelled",
            ),
            ev(
                4,
                0,
                "web",
                NESTED_STACK_TYPE,
                "ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to create: [Storage, Queue].",
            ),
        ];
        let cause = root_cause(&events).unwrap();
        assert_eq!(cause.logical_id, "Bucket");
        assert_eq!(cause.reason, "assets already exists");
    }

    #[test]
    fn without_a_resource_failure_the_stack_level_reason_is_used() {
        let events = vec![ev(
            5,
            0,
            "web",
            NESTED_STACK_TYPE,
            "CREATE_FAILED",
            "Stack creation time exceeded the specified timeout.",
        )];
        assert_eq!(root_cause(&events).unwrap().status, "CREATE_FAILED");
        assert!(
            root_cause(&[ev(1, 0, "Queue", "AWS::SQS::Queue", "CREATE_COMPLETE", "")]).is_none()
        );
    }

    #[test]
    fn lines_show_time_id_type_status_reason_indented_by_depth() {
        let e = ev(2, 1, "Bucket", "AWS::S3::Bucket", "CREATE_FAILED", "denied");
        assert_eq!(
            e.line(),
            "  2027-01-15T08:00:02Z  Bucket  AWS::S3::Bucket  CREATE_FAILED  denied"
        );
    }
}
