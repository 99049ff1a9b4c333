//! CloudFormation answers in the documented Query API shape
//! (`DescribeStackEvents`, API version 2010-05-15), for the fault proxy to
//! give where moto cannot: moto completes stacks at once and records
//! stack-level events only (build-facts.md).

use crate::fault_proxy::Fault;

/// One stack event, as CloudFormation reports it.
#[derive(Debug, Clone)]
pub struct StackEvent {
    /// The stack's name.
    pub stack_name: String,
    /// The stack's id (ARN).
    pub stack_id: String,
    /// `LogicalResourceId`.
    pub logical_id: String,
    /// `PhysicalResourceId` (a nested stack's ARN for a nested stack).
    pub physical_id: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `ResourceStatus`.
    pub status: String,
    /// `ResourceStatusReason`.
    pub reason: String,
    /// `Timestamp`, ISO 8601 UTC.
    pub time: String,
}

impl StackEvent {
    /// An event of `stack_name`/`stack_id` at `time` (`2026-11-29T10:00:00Z`).
    #[must_use]
    pub fn new(
        stack: (&str, &str),
        time: &str,
        logical_id: &str,
        resource_type: &str,
        status: &str,
        reason: &str,
    ) -> Self {
        Self {
            stack_name: stack.0.to_owned(),
            stack_id: stack.1.to_owned(),
            logical_id: logical_id.to_owned(),
            physical_id: String::new(),
            resource_type: resource_type.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            time: time.to_owned(),
        }
    }

    /// With this physical id.
    #[must_use]
    pub fn physical(mut self, id: &str) -> Self {
        self.physical_id = id.to_owned();
        self
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A `DescribeStackEvents` answer holding `events` (given oldest first;
/// CloudFormation lists them newest first).
#[must_use]
pub fn events_reply(events: &[StackEvent]) -> Fault {
    let mut members = String::new();
    for (i, e) in events.iter().enumerate().rev() {
        members.push_str(&format!(
            "<member><EventId>{}-{i}-{}</EventId><StackId>{}</StackId><StackName>{}</StackName>\
             <LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId>\
             <ResourceType>{}</ResourceType><Timestamp>{}</Timestamp><ResourceStatus>{}</ResourceStatus>\
             <ResourceStatusReason>{}</ResourceStatusReason></member>",
            xml_escape(&e.logical_id),
            xml_escape(&e.status),
            xml_escape(&e.stack_id),
            xml_escape(&e.stack_name),
            xml_escape(&e.logical_id),
            xml_escape(&e.physical_id),
            xml_escape(&e.resource_type),
            xml_escape(&e.time),
            xml_escape(&e.status),
            xml_escape(&e.reason),
        ));
    }
    Fault::Reply(
        200,
        format!(
            "<DescribeStackEventsResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
             <DescribeStackEventsResult><StackEvents>{members}</StackEvents></DescribeStackEventsResult>\
             <ResponseMetadata><RequestId>FAULTPROXY</RequestId></ResponseMetadata></DescribeStackEventsResponse>"
        ),
    )
}

/// Forward to moto and report the stack in `status` instead of moto's.
#[must_use]
pub fn status_rewrite(status: &str) -> Fault {
    Fault::Rewrite(
        "<StackStatus>[A-Z_]+</StackStatus>".to_owned(),
        format!("<StackStatus>{status}</StackStatus>"),
    )
}

/// A stack ARN in moto's account and region.
#[must_use]
pub fn stack_arn(name: &str, id: &str) -> String {
    format!("arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/{id}")
}

/// A stack as the test checks it.
#[derive(Debug, Clone, Default)]
pub struct StackView {
    /// The stack id.
    pub id: String,
    /// `StackStatus`.
    pub status: String,
    /// Parameters, key to value.
    pub parameters: std::collections::BTreeMap<String, String>,
    /// Tags, key to value.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Outputs, key to value.
    pub outputs: std::collections::BTreeMap<String, String>,
    /// `EnableTerminationProtection`.
    pub termination_protection: bool,
}

/// A blocking CloudFormation client on moto for test setup and checks.
#[derive(Debug, Clone)]
pub struct Stacks {
    client: aws_sdk_cloudformation::Client,
}

use crate::s3::block_on;

impl Stacks {
    /// A client for `endpoint` in eu-west-1 with test credentials.
    #[must_use]
    pub fn new(endpoint: &str) -> Self {
        use aws_sdk_cloudformation::config;
        let conf = config::Builder::new()
            .behavior_version(config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(config::Region::new("eu-west-1"))
            .credentials_provider(config::Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ))
            .http_client(crate::s3::sdk_http_client())
            .build();
        Self {
            client: aws_sdk_cloudformation::Client::from_conf(conf),
        }
    }

    /// The stack, or `None` when moto says it does not exist.
    ///
    /// # Panics
    /// On any other failure, so that a check cannot pass on an error.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<StackView> {
        let out = match block_on(self.client.describe_stacks().stack_name(name).send()) {
            Ok(out) => out,
            Err(e) => {
                let e = aws_clients::describe(&e);
                assert!(
                    e.message.contains("does not exist"),
                    "DescribeStacks {name}: {e}"
                );
                return None;
            }
        };
        let s = out.stacks().first()?;
        Some(StackView {
            id: s.stack_id().unwrap_or_default().to_owned(),
            status: s
                .stack_status()
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
            parameters: s
                .parameters()
                .iter()
                .map(|p| {
                    (
                        p.parameter_key().unwrap_or_default().to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            tags: s
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            outputs: s
                .outputs()
                .iter()
                .map(|o| {
                    (
                        o.output_key().unwrap_or_default().to_owned(),
                        o.output_value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            termination_protection: s.enable_termination_protection().unwrap_or(false),
        })
    }

    /// Create stack `name` from `template` directly; gives its id.
    ///
    /// # Panics
    /// When moto refuses.
    #[must_use]
    pub fn create(&self, name: &str, template: &str) -> String {
        let out = block_on(
            self.client
                .create_stack()
                .stack_name(name)
                .template_body(template)
                .send(),
        )
        .unwrap_or_else(|e| panic!("CreateStack {name}: {}", aws_clients::describe(&e)));
        out.stack_id().unwrap_or_default().to_owned()
    }

    /// The stack policy of `stack`, if it has one.
    ///
    /// # Panics
    /// When the call fails.
    #[must_use]
    pub fn policy(&self, stack: &str) -> Option<String> {
        block_on(self.client.get_stack_policy().stack_name(stack).send())
            .unwrap_or_else(|e| panic!("GetStackPolicy {stack}: {}", aws_clients::describe(&e)))
            .stack_policy_body()
            .map(str::to_owned)
    }

    /// The change sets of `stack`: name and status.
    ///
    /// # Panics
    /// When the call fails.
    #[must_use]
    pub fn change_sets(&self, stack: &str) -> Vec<(String, String)> {
        block_on(self.client.list_change_sets().stack_name(stack).send())
            .unwrap_or_else(|e| panic!("ListChangeSets {stack}: {}", aws_clients::describe(&e)))
            .summaries()
            .iter()
            // moto lists every stack's change sets, whatever StackName says.
            .filter(|s| s.stack_name() == Some(stack) || s.stack_id() == Some(stack))
            .map(|s| {
                (
                    s.change_set_name().unwrap_or_default().to_owned(),
                    s.status()
                        .map(|x| x.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// The failed first create of stack `name` as CloudFormation reports it,
/// for a fault proxy in front of moto: moto creates the stack, while
/// `DescribeStacks` shows it `CREATE_IN_PROGRESS` twice and then
/// `ROLLBACK_COMPLETE`, and `DescribeStackEvents` tells the story: the
/// nested stack `Storage` (named `<name>-Storage-1ABC`) fails because its
/// bucket `Assets` "assets-prod already exists" at 10:00:08, which cancels
/// the rest; the root stack's first three events come first, the rest
/// from the third poll on.
#[must_use]
pub fn failed_nested_create(name: &str) -> Vec<crate::fault_proxy::Rule> {
    use crate::fault_proxy::Rule;
    let nested_name = format!("{name}-Storage-1ABC");
    let nested = stack_arn(&nested_name, "nested-1");
    let root = (name, "ignored");
    let inner = (nested_name.as_str(), nested.as_str());
    let stack = "AWS::CloudFormation::Stack";
    let root_events = [
        StackEvent::new(root, "2026-11-29T10:00:00Z", name, stack, "CREATE_IN_PROGRESS", "User Initiated"),
        StackEvent::new(root, "2026-11-29T10:00:02Z", "Storage", stack, "CREATE_IN_PROGRESS", "")
            .physical(&nested),
        StackEvent::new(root, "2026-11-29T10:00:03Z", "Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS", ""),
        StackEvent::new(
            root,
            "2026-11-29T10:00:09Z",
            "Queue",
            "AWS::SQS::Queue",
            "CREATE_FAILED",
            "Resource creation cancelled",
        ),
        StackEvent::new(
            root,
            "2026-11-29T10:00:09Z",
            "Storage",
            stack,
            "CREATE_FAILED",
            "Embedded stack was not successfully created: The following resource(s) failed to create: [Assets].",
        )
        .physical(&nested),
        StackEvent::new(
            root,
            "2026-11-29T10:00:10Z",
            name,
            stack,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Storage, Queue]. Rollback requested by user.",
        ),
        StackEvent::new(root, "2026-11-29T10:00:20Z", name, stack, "ROLLBACK_COMPLETE", ""),
    ];
    let nested_events = [
        StackEvent::new(
            inner,
            "2026-11-29T10:00:04Z",
            "Assets",
            "AWS::S3::Bucket",
            "CREATE_IN_PROGRESS",
            "",
        ),
        StackEvent::new(
            inner,
            "2026-11-29T10:00:08Z",
            "Assets",
            "AWS::S3::Bucket",
            "CREATE_FAILED",
            "assets-prod already exists",
        ),
        StackEvent::new(
            inner,
            "2026-11-29T10:00:08Z",
            "Logs",
            "AWS::S3::Bucket",
            "CREATE_FAILED",
            "Resource creation cancelled",
        ),
    ];
    vec![
        Rule::action("DescribeStacks", status_rewrite("CREATE_IN_PROGRESS"), 2),
        Rule::action("DescribeStacks", status_rewrite("ROLLBACK_COMPLETE"), 1000),
        Rule::action("DescribeStackEvents", events_reply(&nested_events), 1000)
            .with_form(&format!("StackName={nested}")),
        Rule::action("DescribeStackEvents", events_reply(&root_events[..3]), 2),
        Rule::action("DescribeStackEvents", events_reply(&root_events), 1000),
    ]
}
