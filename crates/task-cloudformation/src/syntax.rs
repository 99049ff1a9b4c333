//! A template's syntax check, before any API call.
//!
//! CloudFormation reports a template it cannot parse as "Template format
//! error" without a line, after the upload and the API round trip. Checking
//! the file here first lets the task say where the problem is. Only the
//! syntax is checked (JSON, or YAML with CloudFormation's short-form tags
//! such as `!Ref` and `!GetAtt`, and an object at the top); what the template
//! means is left to CloudFormation.

use std::fmt;

use saphyr::{LoadableYamlNode as _, MarkedYaml, Scalar, YamlData};

/// Which syntax a template is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFormat {
    /// JSON: the first character that is not white space is `{`.
    Json,
    /// YAML: anything else.
    Yaml,
}

impl TemplateFormat {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::Yaml => "YAML",
        }
    }
}

/// Why a template cannot be parsed. Each message names the template's path
/// and, where there is one, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum SyntaxError {
    /// The template has nothing in it but white space or comments.
    #[error(
        "{path}: the template is empty. A template must be a JSON or YAML object with a \
         Resources section; check that the templateFile input names the right file."
    )]
    Empty {
        /// The template's path.
        path: String,
    },
    /// The parser stopped at a syntax error.
    #[error(
        "{path}, line {line}, column {column}: {message}. A template must be JSON or YAML \
         that CloudFormation can parse: fix the {} there.",
        format.name()
    )]
    Invalid {
        /// The template's path.
        path: String,
        /// The 1-based line of the error.
        line: usize,
        /// The 1-based column of the error.
        column: usize,
        /// The syntax the template was read as.
        format: TemplateFormat,
        /// The parser's message.
        message: String,
    },
    /// The template parses, but is not an object at the top.
    #[error(
        "{path}, line {line}: the template is {found}, not an object. A template must be a JSON \
         or YAML object (a mapping of AWSTemplateFormatVersion, Parameters, Resources, ...)."
    )]
    NotAnObject {
        /// The template's path.
        path: String,
        /// The 1-based line where the top-level value starts.
        line: usize,
        /// What it is instead, such as "a list".
        found: &'static str,
    },
    /// The YAML has more than one document (separated by `---`).
    #[error(
        "{path}, line {line}: a second YAML document (after a \"---\" line) starts here. A \
         template must be one JSON or YAML object: remove the \"---\" and what follows, or \
         move it to its own template."
    )]
    SeveralDocuments {
        /// The template's path.
        path: String,
        /// The 1-based line where the second document's content starts.
        line: usize,
    },
}

/// Whether `text` (the template read from `path`, as UTF-8) is a JSON or YAML
/// document CloudFormation could parse: JSON when its first character that
/// is not white space is `{`, YAML otherwise, and an object at the top.
///
/// Gives the format the template is written in.
///
/// # Errors
///
/// [`SyntaxError`] when the text is empty, has a syntax error (with its line
/// and column), is a list or a single value rather than an object, or holds
/// several YAML documents.
pub fn check(text: &str, path: &str) -> Result<TemplateFormat, SyntaxError> {
    // Editors on Windows may write a byte-order mark; CloudFormation skips it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(SyntaxError::Empty {
            path: path.to_owned(),
        });
    }
    if text.trim_start().starts_with('{') {
        check_json(text, path)?;
        Ok(TemplateFormat::Json)
    } else {
        check_yaml(text, path)?;
        Ok(TemplateFormat::Yaml)
    }
}

fn check_json(text: &str, path: &str) -> Result<(), SyntaxError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|error| {
            let rendered = error.to_string();
            // serde_json appends the position the message shows separately.
            let suffix = format!(" at line {} column {}", error.line(), error.column());
            let message = rendered.strip_suffix(&suffix).unwrap_or(&rendered);
            SyntaxError::Invalid {
                path: path.to_owned(),
                line: error.line(),
                column: error.column(),
                format: TemplateFormat::Json,
                message: shown(message),
            }
        })
}

fn check_yaml(text: &str, path: &str) -> Result<(), SyntaxError> {
    // saphyr keeps application tags (`!Ref`, `!GetAtt a.b`, `!If [...]`) as
    // tagged nodes instead of refusing them, as CloudFormation does.
    let documents = MarkedYaml::load_from_str(text).map_err(|error| {
        let marker = error.marker();
        SyntaxError::Invalid {
            path: path.to_owned(),
            line: marker.line(),
            column: marker.col() + 1,
            format: TemplateFormat::Yaml,
            message: shown(error.info()),
        }
    })?;
    let mut documents = documents.iter();
    let Some(document) = documents.next() else {
        return Err(SyntaxError::Empty {
            path: path.to_owned(),
        });
    };
    if let Some(second) = documents.next() {
        return Err(SyntaxError::SeveralDocuments {
            path: path.to_owned(),
            line: second.span.start.line(),
        });
    }
    let found = match kind(document) {
        Kind::Mapping => return Ok(()),
        Kind::Null => {
            return Err(SyntaxError::Empty {
                path: path.to_owned(),
            });
        }
        Kind::Sequence => "a list",
        Kind::Scalar => "a single value",
    };
    Err(SyntaxError::NotAnObject {
        path: path.to_owned(),
        line: document.span.start.line(),
        found,
    })
}

/// What a YAML node is, looking through tags.
enum Kind {
    Mapping,
    Sequence,
    Null,
    Scalar,
}

fn kind(node: &MarkedYaml<'_>) -> Kind {
    match &node.data {
        YamlData::Mapping(_) => Kind::Mapping,
        YamlData::Sequence(_) => Kind::Sequence,
        YamlData::Tagged(_, inner) => kind(inner),
        YamlData::Value(Scalar::Null) => Kind::Null,
        YamlData::Value(_)
        | YamlData::Representation(..)
        | YamlData::Alias(_)
        | YamlData::BadValue => Kind::Scalar,
    }
}

/// Parser text as a message can show it: control characters escaped, so that
/// it cannot break the log line.
fn shown(text: &str) -> String {
    struct Shown<'a>(&'a str);

    impl fmt::Display for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for c in self.0.chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            Ok(())
        }
    }

    Shown(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "infra/stack.yaml";

    fn err(text: &str) -> String {
        match check(text, PATH) {
            Ok(format) => panic!("accepted as {}: {text}", format.name()),
            Err(error) => error.to_string(),
        }
    }

    fn assert_names(message: &str, parts: &[&str]) {
        for part in parts {
            assert!(message.contains(part), "{part} not in: {message}");
        }
    }

    const YAML_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: >
  A template with every short form.
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
  VpcCidr:
    Type: String
    Default: 10.0.0.0/16
Mappings:
  Sizes:
    dev: {Instance: t3.micro}
    prod: {Instance: m5.large}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Either: !Or [!Condition IsProd, !Equals ["a", "b"]]
  Both: !And
    - !Condition IsProd
    - !Condition Either
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: !Ref VpcCidr
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      AvailabilityZone: !Select [0, !GetAZs ""]
      CidrBlock: !Select [0, !Cidr [!GetAtt Vpc.CidrBlock, 4, 8]]
  Instance:
    Type: AWS::EC2::Instance
    Condition: IsProd
    Properties:
      InstanceType: !FindInMap [Sizes, !Ref Env, Instance]
      ImageId: !ImportValue shared-ami-id
      SubnetId: !If [IsProd, !Ref Subnet, !Ref "AWS::NoValue"]
      UserData: !Base64
        Fn::Sub: |
          #!/bin/bash
          echo ${AWS::StackName}
      Tags:
        - Key: Name
          Value: !Join ["-", [!Ref "AWS::StackName", !Select [0, !Split [",", "a,b"]]]]
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-${Env}"
      Fn::Transform:
        Name: AWS::Include
        Parameters: {Location: s3://bucket/snippet.yaml}
  Macro: !Transform {Name: Custom, Parameters: {A: b}}
Outputs:
  VpcId:
    Value: !GetAtt [Vpc, VpcId]
    Export: {Name: !Sub "${AWS::StackName}-vpc"}
"#;

    #[test]
    fn yaml_template_with_short_forms_passes() {
        assert!(matches!(
            check(YAML_TEMPLATE, PATH),
            Ok(TemplateFormat::Yaml)
        ));
    }

    #[test]
    fn json_template_passes() {
        let text = "\u{feff}  {\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \
                    \"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}}\n}\n";
        assert!(matches!(check(text, PATH), Ok(TemplateFormat::Json)));
    }

    #[test]
    fn yaml_errors_name_the_line() {
        let message = err("Resources:\n  B:\n    Type: AWS::S3::Bucket\n   Properties: {}\n");
        assert_names(&message, &[PATH, "line 4, column", "YAML"]);
        let message = err("Resources:\n  B:\n    Type: \"AWS::S3::Bucket\n    Properties: {}\n");
        assert_names(&message, &[PATH, "line 3", "YAML"]);
        let message = err("Resources:\n  B:\n\tType: AWS::S3::Bucket\n");
        assert_names(&message, &[PATH, "line 3", "YAML"]);
        let message = err("Resources:\n  B: 1\n  B: 2\n");
        assert_names(&message, &[PATH, "line 3", "duplicate"]);
    }

    #[test]
    fn json_errors_name_line_and_column() {
        let message =
            err("{\n  \"Resources\": {\n    \"B\": {\"Type\": \"AWS::S3::Bucket\",}\n  }\n}");
        assert_names(&message, &[PATH, "line 3, column 37", "JSON"]);
    }

    #[test]
    fn top_level_list_or_value_fails() {
        let message = err("- Resources: {}\n");
        assert_names(&message, &[PATH, "line 1", "a list", "not an object"]);
        let message = err("\n# comment\njust text\n");
        assert_names(&message, &[PATH, "line 3", "a single value"]);
        let message = err("[{\"Resources\": {}}]");
        assert_names(&message, &["a list"]);
    }

    #[test]
    fn several_documents_fail() {
        let message = err("Resources: {}\n---\nResources: {}\n");
        assert_names(&message, &[PATH, "line 3", "second YAML document"]);
    }

    #[test]
    fn empty_template_fails() {
        for text in ["", " \n\t\n", "# only a comment\n", "---\n"] {
            let message = err(text);
            assert_names(&message, &[PATH, "the template is empty"]);
        }
    }
}
