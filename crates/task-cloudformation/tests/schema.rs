//! The JSON Schema of parameter files, `docs/schemas/cloudformation-parameters.schema.json`:
//! the committed file is what `params::schema()` generates, it accepts every
//! JSON and YAML form the task reads, and it refuses what the task refuses.

use std::path::{Path, PathBuf};

use task_cloudformation::params;

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("docs/schemas/cloudformation-parameters.schema.json")
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&params::schema()).expect("a schema serialises");
    text.push('\n');
    text
}

#[allow(clippy::disallowed_methods)] // test configuration
fn update_requested() -> bool {
    std::env::var("UPDATE_SCHEMA").is_ok_and(|value| value == "1")
}

#[test]
fn committed_schema_is_the_generated_one() {
    let path = schema_path();
    let expected = generated();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == expected {
        return;
    }
    if update_requested() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create docs/schemas");
        }
        std::fs::write(&path, expected).expect("write the schema");
        return;
    }
    panic!(
        "{} is not what params::schema() generates. Regenerate it with \
         `UPDATE_SCHEMA=1 cargo test -p task-cloudformation --test schema` and commit it.",
        path.display()
    );
}

/// Accepted documents, JSON and YAML.
const VALID: &[&str] = &[
    // The array form.
    r#"[
  {"ParameterKey": "Env", "ParameterValue": "prod"},
  {"ParameterKey": "Count", "ParameterValue": 3},
  {"ParameterKey": "Ratio", "ParameterValue": 1.5},
  {"ParameterKey": "Enabled", "ParameterValue": true},
  {"ParameterKey": "Subnets", "ParameterValue": ["subnet-1", "subnet-2"]},
  {"ParameterKey": "Ports", "ParameterValue": [80, 443]},
  {"ParameterKey": "Old", "UsePreviousValue": true},
  {"ParameterKey": "Explicit", "ParameterValue": "x", "UsePreviousValue": false},
  {"ParameterKey": "Ssm", "ParameterValue": "/app/ami", "ResolvedValue": "ami-123"}
]"#,
    "- ParameterKey: Env\n  ParameterValue: prod\n\
     - ParameterKey: Count\n  ParameterValue: 3\n\
     - ParameterKey: Enabled\n  ParameterValue: false\n\
     - ParameterKey: Subnets\n  ParameterValue: [subnet-1, subnet-2]\n\
     - ParameterKey: Old\n  UsePreviousValue: true\n",
    "[]",
    // The object form.
    r#"{"Env": "prod", "Count": 5, "Ratio": 1.50, "Enabled": true, "Subnets": ["a", "b"], "Mixed": [1, "b", false]}"#,
    "Env: prod\nCount: 5\nRatio: 1.50\nEnabled: true\nSubnets:\n  - a\n  - b\n",
    "{}",
    // The template-configuration form.
    r#"{
  "Parameters": {"Env": "prod", "Count": 2, "Subnets": ["a", "b"]},
  "Tags": {"Team": "core", "CostCentre": 42, "Billable": true},
  "StackPolicy": {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}
}"#,
    "Parameters:\n  Env: prod\n  Enabled: false\nTags:\n  Team: core\n",
    r#"{"Tags": {"Team": "core"}}"#,
    "StackPolicy:\n  Statement:\n    - Effect: Deny\n      Action: Update:Delete\n      Principal: '*'\n      Resource: '*'\n",
];

/// Documents the task refuses, and the schema must too.
const INVALID: &[&str] = &[
    // An entry without ParameterKey.
    r#"[{"ParameterValue": "x"}]"#,
    // An entry with neither a value nor UsePreviousValue.
    r#"[{"ParameterKey": "A"}]"#,
    // An entry with both.
    r#"[{"ParameterKey": "A", "ParameterValue": "x", "UsePreviousValue": true}]"#,
    // An unknown field in an entry.
    "- ParameterKey: A\n  Value: x\n",
    // A nested object as a value.
    r#"{"A": "x", "B": {"C": "d"}}"#,
    // Null as a value.
    "A: x\nB:\n",
    // A list inside a list.
    r#"{"A": [1, [2]]}"#,
    // A template configuration with an unknown top-level key.
    r#"{"Parameters": {"A": "x"}, "Extra": "y"}"#,
    // A list as a tag value.
    "Tags:\n  Team: [a, b]\n",
    // A single value.
    r#""just text""#,
];

/// A document as JSON: through serde_json if it is JSON, else through
/// serde-saphyr as the task reads YAML.
fn as_json(text: &str) -> serde_json::Value {
    if text.trim_start().starts_with(['[', '{', '"']) {
        serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
    } else {
        serde_saphyr::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
    }
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&params::schema())
        .unwrap_or_else(|error| panic!("the schema is not a valid JSON Schema: {error}"))
}

#[test]
fn every_accepted_form_validates() {
    let validator = validator();
    for text in VALID {
        let errors: Vec<String> = validator
            .iter_errors(&as_json(text))
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "refused by the schema: {text}\n{}",
            errors.join("\n")
        );
        if let Err(error) = params::parse(text, "example") {
            panic!("refused by the task: {text}\n{error}");
        }
    }
}

/// The parameter files the agent-harness tests deploy (tests/forms): each
/// JSON or YAML one validates, and the task reads every one of them.
#[test]
fn the_forms_the_stack_tests_deploy_validate() {
    let validator = validator();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/forms");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/forms") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("form");
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if matches!(ext, "json" | "yaml" | "yml") {
            let errors: Vec<String> = validator
                .iter_errors(&as_json(&text))
                .map(|error| format!("{} at {}", error, error.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{}: {}",
                path.display(),
                errors.join("\n")
            );
            checked += 1;
        }
        let set =
            params::parse(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.parameters.len(), 2, "{}", path.display());
    }
    assert_eq!(checked, 5);
}

#[test]
fn what_the_task_refuses_does_not_validate() {
    let validator = validator();
    for text in INVALID {
        assert!(
            !validator.is_valid(&as_json(text)),
            "accepted by the schema: {text}"
        );
        assert!(
            params::parse(text, "example").is_err(),
            "accepted by the task: {text}"
        );
    }
}
