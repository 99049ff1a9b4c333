//! Task inputs: `INPUT_*` variables read into a typed struct.
//!
//! A task declares its inputs once, as [`InputSpec`]s on a type implementing
//! [`TaskInputs`], and parses them with an [`Inputs`] reader. The reader
//! refuses to read an input the task did not declare, and the declarations
//! are what the packaging checks compare with `task.json`, so the Rust side
//! and the manifest cannot drift apart silently.
//!
//! Values follow the agent and azure-pipelines-task-lib: names are
//! normalised (`.` and space to `_`, upper case), values arrive trimmed,
//! booleans are true exactly when the value is `true` in any case
//! (task-lib's `getBoolInput`), and an empty `filePath` input arrives as the
//! sources directory, which therefore counts as "not given". A boolean that
//! is neither `true` nor `false` keeps task-lib's reading (`false`), so that
//! existing YAML behaves as before, but it is never silent: the reader
//! collects a warning naming the input, which [`crate::TaskContext::inputs`]
//! logs.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::env::{Env, names, normalize_name};

/// The type of an input, as `task.json` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `multiLine`.
    MultiLine,
    /// `filePath`.
    FilePath,
    /// `int`.
    Int,
    /// `pickList`, with its allowed values; `editable` lists accept any value.
    PickList {
        /// The option keys of `task.json` `options`.
        options: &'static [&'static str],
        /// `properties.EditableOptions` is `True`.
        editable: bool,
    },
    /// `radio`, with its allowed values.
    Radio {
        /// The option keys of `task.json` `options`.
        options: &'static [&'static str],
    },
    /// `connectedService:<EndpointType>`.
    ConnectedService(&'static str),
}

impl InputKind {
    /// The `type` string in `task.json`.
    #[must_use]
    pub fn task_json_type(self) -> String {
        match self {
            Self::String => "string".into(),
            Self::Boolean => "boolean".into(),
            Self::MultiLine => "multiLine".into(),
            Self::FilePath => "filePath".into(),
            Self::Int => "int".into(),
            Self::PickList { .. } => "pickList".into(),
            Self::Radio { .. } => "radio".into(),
            Self::ConnectedService(t) => format!("connectedService:{t}"),
        }
    }
}

/// One declared input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSpec {
    /// The input's `name` in `task.json` (what YAML uses).
    pub name: &'static str,
    /// The input's `label`, for error messages.
    pub label: &'static str,
    /// The input's type.
    pub kind: InputKind,
    /// Its value is a secret (an SSE-C key, for example): registered with
    /// `task.setsecret` before the inputs are parsed, so that it is masked
    /// in everything printed after, error messages included.
    pub secret: bool,
}

impl InputSpec {
    /// Declare an input.
    #[must_use]
    pub const fn new(name: &'static str, label: &'static str, kind: InputKind) -> Self {
        Self {
            name,
            label,
            kind,
            secret: false,
        }
    }

    /// The same input, with a secret value.
    #[must_use]
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

/// A task's typed inputs.
pub trait TaskInputs: Sized {
    /// Every input the task reads; must equal the inputs of its `task.json`.
    const INPUTS: &'static [InputSpec];

    /// Read and check every input.
    ///
    /// # Errors
    /// Any [`InputError`]: a required input missing, a bad value, ...
    fn parse(inputs: &Inputs<'_>) -> Result<Self, InputError>;
}

/// What can be wrong with an input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// A required input is empty.
    #[error("Input required: '{label}' ({name}) is empty. Set `{name}` in the step's inputs.")]
    Required {
        /// The input name.
        name: String,
        /// The input label.
        label: String,
    },
    /// A pickList or radio value outside the allowed options.
    #[error(
        "Input '{label}' ({name}) has the value '{value}', which is not one of: {allowed}. Use one of those values."
    )]
    NotAnOption {
        /// The input name.
        name: String,
        /// The input label.
        label: String,
        /// The value given.
        value: String,
        /// The allowed values, comma-separated.
        allowed: String,
    },
    /// A value that does not parse as the input's type.
    #[error("Input '{label}' ({name}) has the value '{value}': {reason}")]
    Invalid {
        /// The input name.
        name: String,
        /// The input label.
        label: String,
        /// The value given.
        value: String,
        /// Why it is invalid and what to use instead.
        reason: String,
    },
    /// The task read an input it did not declare: a bug in the task.
    #[error("internal error: the task read input '{0}', which it does not declare")]
    Undeclared(String),
}

impl InputError {
    /// [`InputError::Invalid`] for input `name` (labelled `label`) holding
    /// `value`, with `reason` saying why and what to write instead.
    #[must_use]
    pub fn invalid(name: &str, label: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.into(),
            label: label.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Reads the declared inputs of one task from the environment.
#[derive(Debug)]
pub struct Inputs<'a> {
    env: &'a Env,
    specs: &'static [InputSpec],
    warnings: RefCell<Vec<String>>,
}

impl<'a> Inputs<'a> {
    /// A reader for the given declarations.
    #[must_use]
    pub fn new(env: &'a Env, specs: &'static [InputSpec]) -> Self {
        Self {
            env,
            specs,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Parse a task's inputs.
    ///
    /// # Errors
    /// As [`TaskInputs::parse`].
    pub fn parse<T: TaskInputs>(env: &'a Env) -> Result<T, InputError> {
        Self::parse_with_warnings(env).map(|(t, _)| t)
    }

    /// Parse a task's inputs, with the warnings raised while reading them
    /// (see [`Inputs::warnings`]).
    ///
    /// # Errors
    /// As [`TaskInputs::parse`].
    pub fn parse_with_warnings<T: TaskInputs>(
        env: &'a Env,
    ) -> Result<(T, Vec<String>), InputError> {
        let reader = Inputs::new(env, T::INPUTS);
        let parsed = T::parse(&reader)?;
        Ok((parsed, reader.warnings()))
    }

    /// Warnings raised so far: values read the way task-lib reads them that
    /// are probably not what the pipeline's author meant.
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.borrow().clone()
    }

    /// Record a warning about an input, for the task to log.
    pub fn warn(&self, message: impl Into<String>) {
        let message = message.into();
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// Whether the step gave `name` a value (the default counts as given).
    ///
    /// # Errors
    /// [`InputError::Undeclared`] only.
    pub fn is_set(&self, name: &str) -> Result<bool, InputError> {
        Ok(self.raw(name)?.1.is_some())
    }

    fn spec(&self, name: &str) -> Result<&'static InputSpec, InputError> {
        self.specs
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| InputError::Undeclared(name.to_owned()))
    }

    fn raw(&self, name: &str) -> Result<(&'static InputSpec, Option<&'a str>), InputError> {
        let spec = self.spec(name)?;
        let key = format!("{}{}", names::INPUT_PREFIX, normalize_name(spec.name));
        Ok((spec, self.env.get_non_empty(&key)))
    }

    fn required<T>(spec: &InputSpec, value: Option<T>) -> Result<T, InputError> {
        value.ok_or_else(|| InputError::Required {
            name: spec.name.into(),
            label: spec.label.into(),
        })
    }

    /// A string input; `None` when empty.
    ///
    /// # Errors
    /// [`InputError::Undeclared`] only.
    pub fn string(&self, name: &str) -> Result<Option<String>, InputError> {
        Ok(self.raw(name)?.1.map(str::to_owned))
    }

    /// A string input that must not be empty.
    ///
    /// # Errors
    /// [`InputError::Required`] when it is empty.
    pub fn required_string(&self, name: &str) -> Result<String, InputError> {
        let (spec, value) = self.raw(name)?;
        Self::required(spec, value.map(str::to_owned))
    }

    /// A boolean input: true exactly when the value is `true` in any case,
    /// as task-lib's `getBoolInput` decides. Any value other than `true` or
    /// `false` also records a warning naming the input.
    ///
    /// # Errors
    /// [`InputError::Undeclared`] only.
    pub fn boolean(&self, name: &str) -> Result<bool, InputError> {
        let (spec, value) = self.raw(name)?;
        let Some(value) = value else { return Ok(false) };
        match crate::variables::parse_bool(value) {
            Some(b) => Ok(b),
            None => {
                self.warn(format!(
                    "Input '{}' ({}) is '{value}', which is neither true nor false; it is read as false, \
                     as azure-pipelines-task-lib reads it. Set it to true or false.",
                    spec.label, spec.name
                ));
                Ok(false)
            }
        }
    }

    /// A multi-line input, as given (line endings included); `None` when empty.
    ///
    /// # Errors
    /// [`InputError::Undeclared`] only.
    pub fn multi_line(&self, name: &str) -> Result<Option<String>, InputError> {
        self.string(name)
    }

    /// A multi-line input split into lines, each trimmed, blank lines dropped.
    ///
    /// # Errors
    /// [`InputError::Undeclared`] only.
    pub fn lines(&self, name: &str) -> Result<Vec<String>, InputError> {
        Ok(self
            .raw(name)?
            .1
            .map(|v| {
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A pickList or radio input, checked against its options. A value that
    /// differs from an option only in case is accepted and returned in the
    /// option's spelling.
    ///
    /// # Errors
    /// [`InputError::NotAnOption`] for a value outside the options.
    pub fn choice(&self, name: &str) -> Result<Option<String>, InputError> {
        let (spec, value) = self.raw(name)?;
        let Some(value) = value else { return Ok(None) };
        let (options, editable) = match spec.kind {
            InputKind::PickList { options, editable } => (options, editable),
            InputKind::Radio { options } => (options, false),
            _ => return Ok(Some(value.to_owned())),
        };
        if let Some(o) = options
            .iter()
            .find(|o| **o == value)
            .or_else(|| options.iter().find(|o| o.eq_ignore_ascii_case(value)))
        {
            return Ok(Some((*o).to_owned()));
        }
        if editable {
            return Ok(Some(value.to_owned()));
        }
        Err(InputError::NotAnOption {
            name: spec.name.into(),
            label: spec.label.into(),
            value: value.into(),
            allowed: options.join(", "),
        })
    }

    /// A pickList or radio input that must not be empty.
    ///
    /// # Errors
    /// [`InputError::Required`] or [`InputError::NotAnOption`].
    pub fn required_choice(&self, name: &str) -> Result<String, InputError> {
        let spec = self.spec(name)?;
        Self::required(spec, self.choice(name)?)
    }

    /// A `filePath` input; `None` when it was not given. The agent replaces
    /// an empty value with the sources directory (or the default working
    /// directory), so either of those counts as not given, as task-lib's
    /// `filePathSupplied` decides.
    ///
    /// # Errors
    /// [`InputError::Undeclared`] only.
    pub fn file_path(&self, name: &str) -> Result<Option<PathBuf>, InputError> {
        let (_, value) = self.raw(name)?;
        let Some(value) = value else { return Ok(None) };
        let defaults = [
            names::BUILD_SOURCESDIRECTORY,
            names::SYSTEM_DEFAULTWORKINGDIRECTORY,
        ];
        let is_default = defaults
            .iter()
            .filter_map(|v| self.env.get_non_empty(v))
            .any(|dir| same_path(Path::new(dir), Path::new(value)));
        Ok((!is_default).then(|| PathBuf::from(value)))
    }

    /// A `filePath` input that must be given.
    ///
    /// # Errors
    /// [`InputError::Required`] when it was not given.
    pub fn required_file_path(&self, name: &str) -> Result<PathBuf, InputError> {
        let spec = self.spec(name)?;
        Self::required(spec, self.file_path(name)?)
    }

    /// An integer input; `None` when empty.
    ///
    /// # Errors
    /// [`InputError::Invalid`] when it is not a whole number.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, InputError> {
        let (spec, value) = self.raw(name)?;
        value
            .map(|v| {
                v.parse::<i64>().map_err(|_| InputError::Invalid {
                    name: spec.name.into(),
                    label: spec.label.into(),
                    value: v.into(),
                    reason: "expected a whole number such as 300.".into(),
                })
            })
            .transpose()
    }

    /// A `connectedService:*` input: the id of the selected service
    /// connection, `None` when none was selected.
    ///
    /// # Errors
    /// [`InputError::Invalid`] when several connections were given.
    pub fn service_connection(&self, name: &str) -> Result<Option<String>, InputError> {
        let (spec, value) = self.raw(name)?;
        let Some(value) = value else { return Ok(None) };
        let ids: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        match ids.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).to_owned())),
            _ => Err(InputError::Invalid {
                name: spec.name.into(),
                label: spec.label.into(),
                value: value.into(),
                reason: "this task takes exactly one service connection; select only one.".into(),
            }),
        }
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| {
        let s = p.to_string_lossy().replace('\\', "/");
        let s = s.trim_end_matches('/').to_owned();
        if cfg!(windows) { s.to_lowercase() } else { s }
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[InputSpec] = &[
        InputSpec::new(
            "awsCredentials",
            "AWS Credentials",
            InputKind::ConnectedService("AzpAwsTasksAWS"),
        ),
        InputSpec::new("regionName", "AWS Region", InputKind::String),
        InputSpec::new(
            "failOnStandardError",
            "Fail on Standard Error",
            InputKind::Boolean,
        ),
        InputSpec::new(
            "scriptType",
            "Script Source",
            InputKind::PickList {
                options: &["filePath", "inline"],
                editable: false,
            },
        ),
        InputSpec::new("filePath", "Script Path", InputKind::FilePath),
        InputSpec::new("inlineScript", "Inline Script", InputKind::MultiLine),
        InputSpec::new("timeout", "Timeout", InputKind::Int),
    ];

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn names_are_normalised_and_values_trimmed() {
        let e = env(&[("INPUT_REGIONNAME", "  eu-west-1 ")]);
        let i = Inputs::new(&e, SPECS);
        assert_eq!(
            i.string("regionName").unwrap().as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            i.string("REGIONNAME").unwrap().as_deref(),
            Some("eu-west-1")
        );
    }

    #[test]
    fn required_inputs_name_label_and_input() {
        let e = env(&[("INPUT_REGIONNAME", "   ")]);
        let err = Inputs::new(&e, SPECS)
            .required_string("regionName")
            .unwrap_err();
        assert_eq!(
            err,
            InputError::Required {
                name: "regionName".into(),
                label: "AWS Region".into()
            }
        );
        assert!(err.to_string().contains("'AWS Region' (regionName)"));
    }

    #[test]
    fn booleans_follow_task_lib() {
        for (value, expected) in [
            ("true", true),
            ("TRUE", true),
            ("True", true),
            ("false", false),
            ("yes", false),
            ("1", false),
            ("", false),
        ] {
            let e = env(&[("INPUT_FAILONSTANDARDERROR", value)]);
            let i = Inputs::new(&e, SPECS);
            assert_eq!(
                i.boolean("failOnStandardError").unwrap(),
                expected,
                "{value}"
            );
            let warned = !matches!(value.to_ascii_lowercase().as_str(), "true" | "false" | "");
            assert_eq!(i.warnings().len(), usize::from(warned), "{value}");
        }
        let e = env(&[("INPUT_FAILONSTANDARDERROR", "yes")]);
        let i = Inputs::new(&e, SPECS);
        i.boolean("failOnStandardError").unwrap();
        assert_eq!(
            i.warnings(),
            vec![
                "Input 'Fail on Standard Error' (failOnStandardError) is 'yes', which is neither true nor false; \
                 it is read as false, as azure-pipelines-task-lib reads it. Set it to true or false."
            ]
        );
    }

    #[test]
    fn pick_lists_are_checked() {
        let e = env(&[("INPUT_SCRIPTTYPE", "INLINE")]);
        assert_eq!(
            Inputs::new(&e, SPECS)
                .choice("scriptType")
                .unwrap()
                .as_deref(),
            Some("inline")
        );
        let e = env(&[("INPUT_SCRIPTTYPE", "powershell")]);
        let err = Inputs::new(&e, SPECS).choice("scriptType").unwrap_err();
        assert!(
            err.to_string().contains("not one of: filePath, inline"),
            "{err}"
        );
    }

    #[test]
    fn file_path_equal_to_sources_directory_is_unset() {
        let e = env(&[
            ("INPUT_FILEPATH", "/a/s/"),
            ("BUILD_SOURCESDIRECTORY", "/a/s"),
        ]);
        assert_eq!(Inputs::new(&e, SPECS).file_path("filePath").unwrap(), None);
        let e = env(&[
            ("INPUT_FILEPATH", "/a/s/run.sh"),
            ("BUILD_SOURCESDIRECTORY", "/a/s"),
        ]);
        assert_eq!(
            Inputs::new(&e, SPECS).file_path("filePath").unwrap(),
            Some(PathBuf::from("/a/s/run.sh"))
        );
        let e = env(&[
            ("INPUT_FILEPATH", "/w"),
            ("SYSTEM_DEFAULTWORKINGDIRECTORY", "/w"),
        ]);
        assert!(
            Inputs::new(&e, SPECS)
                .required_file_path("filePath")
                .is_err()
        );
    }

    #[test]
    fn multi_line_and_lines() {
        let e = env(&[("INPUT_INLINESCRIPT", "echo a\n\n  echo b  \r\n")]);
        let i = Inputs::new(&e, SPECS);
        assert_eq!(i.lines("inlineScript").unwrap(), vec!["echo a", "echo b"]);
        assert!(
            i.multi_line("inlineScript")
                .unwrap()
                .unwrap()
                .contains("\n\n")
        );
    }

    #[test]
    fn integers_and_connections() {
        let e = env(&[
            ("INPUT_TIMEOUT", "12x"),
            ("INPUT_AWSCREDENTIALS", "a-b, c-d"),
        ]);
        let i = Inputs::new(&e, SPECS);
        assert!(matches!(
            i.integer("timeout"),
            Err(InputError::Invalid { .. })
        ));
        assert!(matches!(
            i.service_connection("awsCredentials"),
            Err(InputError::Invalid { .. })
        ));
        let e = env(&[(
            "INPUT_AWSCREDENTIALS",
            "3f2b0000-0000-0000-0000-000000000001",
        )]);
        assert_eq!(
            Inputs::new(&e, SPECS)
                .service_connection("awsCredentials")
                .unwrap()
                .as_deref(),
            Some("3f2b0000-0000-0000-0000-000000000001")
        );
    }

    #[test]
    fn undeclared_inputs_are_refused() {
        let e = env(&[("INPUT_OTHER", "x")]);
        assert_eq!(
            Inputs::new(&e, SPECS).string("other"),
            Err(InputError::Undeclared("other".into()))
        );
    }
}
