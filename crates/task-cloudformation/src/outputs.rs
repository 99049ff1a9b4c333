//! The stack's outputs and id as pipeline variables.
//!
//! The toolkit's names are kept: `outputVariable` gets the stack id;
//! `asVariables` sets one variable per `OutputKey`; `asJSON` sets
//! `<stackName>Outputs` to a JSON array of `{OutputKey, OutputValue,
//! Description, ExportName}`. Each is also set as an output variable
//! (`isoutput=true`), which later jobs and stages read as
//! `dependencies.<job>.outputs['<step>.<name>']`. Every value is written
//! through the logging-command writer, which escapes line breaks, so a
//! multi-line or empty output cannot stop the ones after it (in the toolkit
//! a multi-line secret aborted the rest).

use azp_task::log::Logger;

use crate::inputs::CaptureOutputs;
use crate::stack::Stack;

/// The JSON `asJSON` sets: CloudFormation's output fields, left out when
/// absent.
#[must_use]
pub fn outputs_json(stack: &Stack) -> String {
    let items: Vec<serde_json::Value> = stack
        .outputs
        .iter()
        .map(|o| {
            let mut m = serde_json::Map::new();
            m.insert("OutputKey".into(), o.key.clone().into());
            m.insert("OutputValue".into(), o.value.clone().into());
            if let Some(d) = &o.description {
                m.insert("Description".into(), d.clone().into());
            }
            if let Some(e) = &o.export_name {
                m.insert("ExportName".into(), e.clone().into());
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// Set the stack's outputs as `capture` says, secret when `secret`.
/// Returns the names set.
pub fn capture(log: &Logger, stack: &Stack, capture: CaptureOutputs, secret: bool) -> Vec<String> {
    match capture {
        CaptureOutputs::Ignore => Vec::new(),
        CaptureOutputs::AsVariables => {
            if stack.outputs.is_empty() {
                log.info(&format!("Stack {} has no outputs to capture.", stack.name));
            }
            stack
                .outputs
                .iter()
                .filter(|o| !o.key.is_empty())
                .map(|o| {
                    log.info(&format!(
                        "Creating stack variable {} to hold corresponding stack output value.",
                        o.key
                    ));
                    log.set_variable_and_output(&o.key, &o.value, secret);
                    o.key.clone()
                })
                .collect()
        }
        CaptureOutputs::AsJson => {
            let name = format!("{}Outputs", stack.name);
            log.info(&format!(
                "Creating stack variable {name} to hold the stack's {} outputs as JSON.",
                stack.outputs.len()
            ));
            log.set_variable_and_output(&name, &outputs_json(stack), secret);
            vec![name]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Output;

    #[test]
    fn json_keeps_the_toolkits_field_names_and_leaves_out_absent_ones() {
        let stack = Stack {
            id: "arn:s".into(),
            name: "web".into(),
            status: "CREATE_COMPLETE".into(),
            reason: None,
            outputs: vec![
                Output {
                    key: "Url".into(),
                    value: "https://x".into(),
                    description: Some("site".into()),
                    export_name: Some("web-url".into()),
                },
                Output {
                    key: "Empty".into(),
                    value: String::new(),
                    description: None,
                    export_name: None,
                },
            ],
            termination_protection: false,
        };
        assert_eq!(
            outputs_json(&stack),
            r#"[{"OutputKey":"Url","OutputValue":"https://x","Description":"site","ExportName":"web-url"},{"OutputKey":"Empty","OutputValue":""}]"#
        );
    }
}
