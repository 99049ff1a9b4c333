//! The task's inputs: the AWS Toolkit's CloudFormationCreateOrUpdateStack
//! inputs with their names, defaults and meaning (toolkit-compat.md §8.4),
//! plus recreating a stack whose creation failed, termination protection,
//! a stack policy and CloudFormation's own creation timeout. Everything that
//! can be checked without AWS is checked here, so that a bad input fails
//! the task with a message naming it before any API call.

use std::path::PathBuf;

use aws_connection::inputs::{self, CommonInputs};
use azp_task::{InputError, InputKind, InputSpec, Inputs, TaskInputs};

/// The wait limit when `timeoutInMins` is empty, zero, negative or not a
/// number, as in the toolkit.
pub const DEFAULT_TIMEOUT_MINUTES: u64 = 60;
/// The longest rollback-trigger monitoring time CloudFormation accepts
/// (CloudFormation API reference, `RollbackConfiguration`).
pub const MAX_MONITORING_MINUTES: i64 = 180;
/// The most rollback triggers CloudFormation accepts (same page).
pub const MAX_ROLLBACK_TRIGGERS: usize = 5;
/// The most notification ARNs CloudFormation accepts (`CreateStack`,
/// `NotificationARNs`).
pub const MAX_NOTIFICATION_ARNS: usize = 5;
/// The most tags a stack takes (`CreateStack`, `Tags`).
pub const MAX_TAGS: usize = 50;

/// Where the template comes from (`templateSource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// `file`: a local file, uploaded to the bucket first when one is given.
    File {
        /// `templateFile`.
        path: PathBuf,
        /// `s3BucketName`, when given.
        bucket: Option<String>,
    },
    /// `url`: `templateUrl`, passed as `TemplateURL`.
    Url(String),
    /// `s3`: `s3BucketName` and `s3ObjectKey`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
    /// `usePrevious`: the stack's current template (updates only).
    UsePrevious,
}

/// Where the parameters come from (`templateParametersSource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParametersSource {
    /// No parameters.
    None,
    /// `templateParametersFile`.
    File(PathBuf),
    /// `templateParameters`.
    Inline(String),
}

/// A stack policy (`stackPolicySource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackPolicySource {
    /// None given: an existing policy stays.
    None,
    /// `stackPolicyFile`.
    File(PathBuf),
    /// `stackPolicy`.
    Inline(String),
}

/// `captureStackOutputs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureOutputs {
    /// `ignore`.
    Ignore,
    /// `asVariables`: one variable per `OutputKey`.
    AsVariables,
    /// `asJSON`: one variable `<stackName>Outputs`.
    AsJson,
}

/// The change set settings, when `useChangeSet` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetInputs {
    /// `changeSetName`.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `includeNestedStacks`.
    pub include_nested_stacks: bool,
    /// `autoExecuteChangeSet`.
    pub auto_execute: bool,
}

/// Rollback triggers (`monitorRollbackTriggers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackTriggers {
    /// `monitoringTimeInMinutes`, 0 to 180.
    pub monitoring_minutes: i32,
    /// `rollbackTriggerARNs`: CloudWatch alarm ARNs, at most 5.
    pub alarm_arns: Vec<String>,
}

/// The task's inputs, checked.
#[derive(Debug)]
pub struct StackInputs {
    /// `awsCredentials` and `regionName`.
    pub common: CommonInputs,
    /// `stackName`.
    pub stack_name: String,
    /// `templateSource` and the inputs it selects.
    pub template: TemplateSource,
    /// `templateParametersSource` and the inputs it selects.
    pub parameters: ParametersSource,
    /// `useChangeSet` and its inputs; `None` for direct calls.
    pub change_set: Option<ChangeSetInputs>,
    /// `capabilityIAM`, `capabilityNamedIAM`, `capabilityAutoExpand`, as
    /// CloudFormation's capability names.
    pub capabilities: Vec<String>,
    /// `roleARN`.
    pub role_arn: Option<String>,
    /// `resourceTypes`.
    pub resource_types: Vec<String>,
    /// `notificationARNs`.
    pub notification_arns: Vec<String>,
    /// `tags`, in order.
    pub tags: Vec<(String, String)>,
    /// `monitorRollbackTriggers` with its time and alarms.
    pub rollback_triggers: Option<RollbackTriggers>,
    /// `stackPolicySource` and the input it selects.
    pub stack_policy: StackPolicySource,
    /// `onFailure`: `ROLLBACK`, `DELETE` or `DO_NOTHING`.
    pub on_failure: String,
    /// `disableRollback`.
    pub disable_rollback: bool,
    /// `recreateFailedStack`.
    pub recreate_failed_stack: bool,
    /// `enableTerminationProtection`.
    pub termination_protection: bool,
    /// `stackTimeoutInMinutes`: CloudFormation's own creation timeout.
    pub stack_timeout_minutes: Option<i32>,
    /// `warnWhenNoWorkNeeded`.
    pub warn_when_no_work: bool,
    /// `outputVariable`.
    pub output_variable: Option<String>,
    /// `captureStackOutputs`.
    pub capture_outputs: CaptureOutputs,
    /// `captureAsSecuredVars`.
    pub capture_as_secret: bool,
    /// `timeoutInMins`, in minutes.
    pub timeout_minutes: u64,
    /// `logRequest`.
    pub log_request: bool,
    /// `logResponse`.
    pub log_response: bool,
}

/// Whether `name` is a stack or change set name CloudFormation accepts:
/// a letter, then letters, digits and hyphens, 128 characters at most
/// (CloudFormation API reference, `CreateStack` `StackName` and
/// `CreateChangeSet` `ChangeSetName`).
#[must_use]
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The `tags` lines: `Key=Value`, split at the first `=` and trimmed;
/// blank lines and `#` lines skipped. The toolkit skipped a malformed line
/// silently; here it is an error naming the line.
///
/// # Errors
/// A message naming the first malformed line (1-based), or the count when
/// there are more than [`MAX_TAGS`].
pub fn parse_tags(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {} ('{line}') is not Key=Value. Write one tag per line, for example `team=payments`.",
                i + 1
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!(
                "line {} ('{line}') has no key before the '='. Write one tag per line, for example \
                 `team=payments`.",
                i + 1
            ));
        }
        if tags.iter().any(|(k, _)| k == key) {
            return Err(format!(
                "line {} repeats the tag key '{key}'; a stack has one value per tag key.",
                i + 1
            ));
        }
        tags.push((key.to_owned(), value.trim().to_owned()));
    }
    if tags.len() > MAX_TAGS {
        return Err(format!(
            "{} tags were given; a stack takes at most {MAX_TAGS}.",
            tags.len()
        ));
    }
    Ok(tags)
}

/// The non-blank lines of a multi-line input, trimmed.
fn list(i: &Inputs<'_>, name: &str) -> Result<Vec<String>, InputError> {
    Ok(i.multi_line(name)?
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn template_source(i: &Inputs<'_>) -> Result<TemplateSource, InputError> {
    let bucket = i
        .string("s3BucketName")?
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty());
    Ok(
        match i
            .choice("templateSource")?
            .unwrap_or_else(|| "file".into())
            .as_str()
        {
            "url" => TemplateSource::Url(i.required_string("templateUrl")?.trim().to_owned()),
            "s3" => {
                let Some(bucket) = bucket else {
                    return Err(InputError::Required {
                        name: "s3BucketName".into(),
                        label: "S3 Bucket Name".into(),
                    });
                };
                TemplateSource::S3 {
                    bucket,
                    key: i
                        .required_string("s3ObjectKey")?
                        .trim()
                        .trim_start_matches('/')
                        .to_owned(),
                }
            }
            "usePrevious" => TemplateSource::UsePrevious,
            _ => TemplateSource::File {
                path: i.required_file_path("templateFile")?,
                bucket,
            },
        },
    )
}

fn rollback_triggers(i: &Inputs<'_>) -> Result<Option<RollbackTriggers>, InputError> {
    if !i.boolean("monitorRollbackTriggers")? {
        return Ok(None);
    }
    let text = i.string("monitoringTimeInMinutes")?.unwrap_or_default();
    let minutes = match text.trim().parse::<i64>() {
        Ok(m) if (0..=MAX_MONITORING_MINUTES).contains(&m) => i32::try_from(m).unwrap_or_default(),
        _ if text.trim().is_empty() => 0,
        _ => {
            return Err(InputError::invalid(
                "monitoringTimeInMinutes",
                "Monitoring Time",
                &text,
                format!(
                    "expected a whole number of minutes from 0 to {MAX_MONITORING_MINUTES}, the range \
                     CloudFormation accepts."
                ),
            ));
        }
    };
    let arns = list(i, "rollbackTriggerARNs")?;
    if arns.len() > MAX_ROLLBACK_TRIGGERS {
        return Err(InputError::invalid(
            "rollbackTriggerARNs",
            "Rollback Trigger ARNs",
            &arns.join("\n"),
            format!(
                "{} alarms were given; CloudFormation takes at most {MAX_ROLLBACK_TRIGGERS} rollback triggers.",
                arns.len()
            ),
        ));
    }
    if let Some(bad) = arns
        .iter()
        .find(|a| !(a.starts_with("arn:") && a.contains(":cloudwatch:") && a.contains(":alarm:")))
    {
        return Err(InputError::invalid(
            "rollbackTriggerARNs",
            "Rollback Trigger ARNs",
            bad,
            "each line must be a CloudWatch alarm ARN, such as \
             `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-errors`.",
        ));
    }
    Ok(Some(RollbackTriggers {
        monitoring_minutes: minutes,
        alarm_arns: arns,
    }))
}

impl TaskInputs for StackInputs {
    const INPUTS: &'static [InputSpec] = &[
        inputs::AWS_CREDENTIALS,
        inputs::REGION_NAME,
        InputSpec::new("stackName", "Stack Name", InputKind::String),
        InputSpec::new(
            "templateSource",
            "Template Source",
            InputKind::PickList {
                options: &["file", "url", "s3", "usePrevious"],
                editable: false,
            },
        ),
        InputSpec::new("templateFile", "Template File", InputKind::FilePath),
        InputSpec::new("s3BucketName", "S3 Bucket Name", InputKind::String),
        InputSpec::new("s3ObjectKey", "S3 Object Key", InputKind::String),
        InputSpec::new("templateUrl", "Template URL", InputKind::String),
        InputSpec::new(
            "templateParametersSource",
            "Template Parameters Source",
            InputKind::Radio {
                options: &["file", "inline"],
            },
        ),
        InputSpec::new(
            "templateParametersFile",
            "Template Parameters File",
            InputKind::FilePath,
        ),
        InputSpec::new(
            "templateParameters",
            "Template Parameters",
            InputKind::MultiLine,
        ),
        InputSpec::new(
            "useChangeSet",
            "Create or update the stack using a change set",
            InputKind::Boolean,
        ),
        InputSpec::new("changeSetName", "Change Set Name", InputKind::String),
        InputSpec::new("description", "Description", InputKind::String),
        InputSpec::new(
            "includeNestedStacks",
            "Include Nested Stacks",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "autoExecuteChangeSet",
            "Automatically execute the change set",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "capabilityIAM",
            "Create or update IAM resources",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "capabilityNamedIAM",
            "Create or update named IAM resources",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "capabilityAutoExpand",
            "Allow macros to expand the template",
            InputKind::Boolean,
        ),
        InputSpec::new("roleARN", "Role ARN", InputKind::String),
        InputSpec::new("resourceTypes", "Resource Types", InputKind::MultiLine),
        InputSpec::new(
            "notificationARNs",
            "Notification ARNs",
            InputKind::MultiLine,
        ),
        InputSpec::new("tags", "Tags", InputKind::MultiLine),
        InputSpec::new(
            "monitorRollbackTriggers",
            "Enable rollback triggers",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "monitoringTimeInMinutes",
            "Monitoring Time",
            InputKind::String,
        ),
        InputSpec::new(
            "rollbackTriggerARNs",
            "Rollback Trigger ARNs",
            InputKind::MultiLine,
        ),
        InputSpec::new(
            "stackPolicySource",
            "Stack Policy",
            InputKind::PickList {
                options: &["none", "file", "inline"],
                editable: false,
            },
        ),
        InputSpec::new("stackPolicyFile", "Stack Policy File", InputKind::FilePath),
        InputSpec::new("stackPolicy", "Stack Policy JSON", InputKind::MultiLine),
        InputSpec::new(
            "onFailure",
            "Action on failure",
            InputKind::PickList {
                options: &["ROLLBACK", "DELETE", "DO_NOTHING"],
                editable: false,
            },
        ),
        InputSpec::new("disableRollback", "Disable rollback", InputKind::Boolean),
        InputSpec::new(
            "recreateFailedStack",
            "Recreate a stack whose creation failed",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "enableTerminationProtection",
            "Enable termination protection",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "stackTimeoutInMinutes",
            "Stack Creation Timeout",
            InputKind::String,
        ),
        InputSpec::new(
            "warnWhenNoWorkNeeded",
            "Treat 'no changes' as a warning",
            InputKind::Boolean,
        ),
        InputSpec::new("outputVariable", "Output Variable", InputKind::String),
        InputSpec::new(
            "captureStackOutputs",
            "Capture stack outputs",
            InputKind::PickList {
                options: &["ignore", "asVariables", "asJSON"],
                editable: false,
            },
        ),
        InputSpec::new(
            "captureAsSecuredVars",
            "Capture as secure variables",
            InputKind::Boolean,
        ),
        InputSpec::new("timeoutInMins", "Timeout (minutes)", InputKind::String),
        InputSpec::new("logRequest", "Log request", InputKind::Boolean),
        InputSpec::new("logResponse", "Log response", InputKind::Boolean),
    ];

    fn parse(i: &Inputs<'_>) -> Result<Self, InputError> {
        let stack_name = i.required_string("stackName")?.trim().to_owned();
        if !is_valid_name(&stack_name) {
            return Err(InputError::invalid(
                "stackName",
                "Stack Name",
                &stack_name,
                "a stack name starts with a letter and holds only letters, digits and hyphens, at most 128 \
                 characters.",
            ));
        }
        let template = template_source(i)?;

        let parameters = match i
            .choice("templateParametersSource")?
            .unwrap_or_else(|| "file".into())
            .as_str()
        {
            "inline" => i
                .multi_line("templateParameters")?
                .filter(|t| !t.trim().is_empty())
                .map_or(ParametersSource::None, ParametersSource::Inline),
            _ => i
                .file_path("templateParametersFile")?
                .map_or(ParametersSource::None, ParametersSource::File),
        };

        let change_set = if i.boolean("useChangeSet")? {
            let name = i.required_string("changeSetName")?.trim().to_owned();
            if !is_valid_name(&name) {
                return Err(InputError::invalid(
                    "changeSetName",
                    "Change Set Name",
                    &name,
                    "a change set name starts with a letter and holds only letters, digits and hyphens, at \
                     most 128 characters.",
                ));
            }
            Some(ChangeSetInputs {
                name,
                description: i
                    .string("description")?
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty()),
                include_nested_stacks: i.boolean("includeNestedStacks")?,
                auto_execute: !i.is_set("autoExecuteChangeSet")?
                    || i.boolean("autoExecuteChangeSet")?,
            })
        } else {
            None
        };

        // The toolkit's defaults are true for both IAM capabilities.
        let mut capabilities = Vec::new();
        for (input, default, capability) in [
            ("capabilityIAM", true, "CAPABILITY_IAM"),
            ("capabilityNamedIAM", true, "CAPABILITY_NAMED_IAM"),
            ("capabilityAutoExpand", false, "CAPABILITY_AUTO_EXPAND"),
        ] {
            let on = if i.is_set(input)? {
                i.boolean(input)?
            } else {
                default
            };
            if on {
                capabilities.push(capability.to_owned());
            }
        }

        let tags_text = i.multi_line("tags")?.unwrap_or_default();
        let tags = parse_tags(&tags_text)
            .map_err(|r| InputError::invalid("tags", "Tags", &tags_text, r))?;
        let notification_arns = list(i, "notificationARNs")?;
        if notification_arns.len() > MAX_NOTIFICATION_ARNS {
            return Err(InputError::invalid(
                "notificationARNs",
                "Notification ARNs",
                &notification_arns.join("\n"),
                format!(
                    "{} topics were given; a stack takes at most {MAX_NOTIFICATION_ARNS}.",
                    notification_arns.len()
                ),
            ));
        }

        let stack_policy = match i
            .choice("stackPolicySource")?
            .unwrap_or_else(|| "none".into())
            .as_str()
        {
            "file" => StackPolicySource::File(i.required_file_path("stackPolicyFile")?),
            "inline" => StackPolicySource::Inline(i.required_string("stackPolicy")?),
            _ => StackPolicySource::None,
        };

        let on_failure = i.choice("onFailure")?.unwrap_or_else(|| "ROLLBACK".into());
        let disable_rollback = i.boolean("disableRollback")?;
        if disable_rollback && on_failure != "ROLLBACK" {
            i.warn(format!(
                "disableRollback is set, so onFailure ({on_failure}) is not sent: CloudFormation takes one or \
                 the other, and a failed creation keeps its resources for inspection."
            ));
        }

        let stack_timeout_minutes = match i.string("stackTimeoutInMinutes")? {
            None => None,
            Some(t) if t.trim().is_empty() => None,
            Some(t) => match t.trim().parse::<i32>() {
                Ok(m) if m >= 1 => Some(m),
                _ => {
                    return Err(InputError::invalid(
                        "stackTimeoutInMinutes",
                        "Stack Creation Timeout",
                        &t,
                        "expected a whole number of minutes, 1 or more, or nothing for no limit.",
                    ));
                }
            },
        };

        let timeout_text = i.string("timeoutInMins")?.unwrap_or_default();
        let timeout_minutes = match timeout_text.trim().parse::<f64>() {
            Ok(m) if m.is_finite() && m >= 1.0 => m.round() as u64,
            Ok(m) if m.is_finite() && m > 0.0 => 1,
            _ => {
                if !timeout_text.trim().is_empty() && timeout_text.trim() != "0" {
                    i.warn(format!(
                        "timeoutInMins '{}' is not a positive number of minutes; waiting up to \
                         {DEFAULT_TIMEOUT_MINUTES} minutes, as the AWS Toolkit does.",
                        timeout_text.trim()
                    ));
                }
                DEFAULT_TIMEOUT_MINUTES
            }
        };

        let capture_outputs = match i
            .choice("captureStackOutputs")?
            .unwrap_or_else(|| "ignore".into())
            .as_str()
        {
            "asVariables" => CaptureOutputs::AsVariables,
            "asJSON" => CaptureOutputs::AsJson,
            _ => CaptureOutputs::Ignore,
        };

        Ok(Self {
            common: CommonInputs::parse(i)?,
            stack_name,
            template,
            parameters,
            change_set,
            capabilities,
            role_arn: i
                .string("roleARN")?
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty()),
            resource_types: list(i, "resourceTypes")?,
            notification_arns,
            tags,
            rollback_triggers: rollback_triggers(i)?,
            stack_policy,
            on_failure,
            disable_rollback,
            recreate_failed_stack: i.boolean("recreateFailedStack")?,
            termination_protection: i.boolean("enableTerminationProtection")?,
            stack_timeout_minutes,
            warn_when_no_work: !i.is_set("warnWhenNoWorkNeeded")?
                || i.boolean("warnWhenNoWorkNeeded")?,
            output_variable: i
                .string("outputVariable")?
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            capture_outputs,
            capture_as_secret: !i.is_set("captureAsSecuredVars")?
                || i.boolean("captureAsSecuredVars")?,
            timeout_minutes,
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
        extension_checks::assert_inputs_match(
            "CloudFormationCreateOrUpdateStack",
            StackInputs::INPUTS,
        );
    }

    #[test]
    fn names_follow_cloudformations_rule() {
        for good in ["a", "web-prod-1", &format!("A{}", "b".repeat(127))] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "1web", "web_prod", "web.prod", "-web", &"a".repeat(129)] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_are_key_value_lines_and_a_bad_line_is_an_error() {
        assert_eq!(
            parse_tags("\nteam = payments\n# comment\nurl=https://x/?a=b\nempty=\n").unwrap(),
            vec![
                ("team".to_owned(), "payments".to_owned()),
                ("url".to_owned(), "https://x/?a=b".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
        );
        let e = parse_tags("team=payments\nowner").unwrap_err();
        assert!(e.starts_with("line 2 ('owner') is not Key=Value"), "{e}");
        let e = parse_tags("=x").unwrap_err();
        assert!(e.contains("no key"), "{e}");
        let e = parse_tags("a=1\na=2").unwrap_err();
        assert!(e.contains("repeats the tag key 'a'"), "{e}");
        let many: String = (0..51).map(|n| format!("k{n}=v\n")).collect();
        assert!(parse_tags(&many).unwrap_err().contains("at most 50"));
    }
}
