//! Stack parameters (and tags, and a stack policy) from a parameters file or
//! the `templateParameters` input.
//!
//! Pipeline authors keep parameters in several forms, and the toolkit passed
//! anything that parsed as JSON or YAML through to CloudFormation, so all of
//! them are in use:
//!
//! - CloudFormation's own array, `[{"ParameterKey": "K", "ParameterValue": "V"}]`,
//!   as `aws cloudformation create-stack --parameters file://…` reads it;
//! - an object of names and values, `{"K": "V", "Count": 5}`;
//! - CodePipeline's template configuration,
//!   `{"Parameters": {…}, "Tags": {…}, "StackPolicy": {…}}`;
//! - `Key=Value` lines, as `aws cloudformation deploy --parameter-overrides`
//!   takes them.
//!
//! The first three may be written in JSON or YAML. They are read through the
//! serde types below, and [`schema`] is generated from the same types, so the
//! JSON Schema an editor checks a file against accepts what the task accepts.
//! Every problem is reported with where it is (origin and line) and what to
//! change, because the author fixes it in the file, not in this code.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::MessageFormatter as _;

/// One stack parameter as CloudFormation's CreateStack/UpdateStack take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The parameter's name (`ParameterKey`).
    pub key: String,
    /// The value (`ParameterValue`); `None` only when `use_previous_value` is set.
    pub value: Option<String>,
    /// Keep the value the stack has now (`UsePreviousValue`).
    pub use_previous_value: bool,
}

/// What a parameters text holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterSet {
    /// The parameters, in the order they are written.
    pub parameters: Vec<Parameter>,
    /// Stack tags as key and value, in the order written; only the
    /// template-configuration form has tags.
    pub tags: Vec<(String, String)>,
    /// The template configuration's `StackPolicy` object as compact JSON, if
    /// it has one.
    pub stack_policy: Option<String>,
}

/// What the error messages say the accepted forms are.
const FORMS: &str = "Parameters may be a JSON or YAML array of \
{\"ParameterKey\": \"Name\", \"ParameterValue\": \"value\"} entries, an object of \
\"Name\": value pairs, a CodePipeline template configuration \
{\"Parameters\": {...}, \"Tags\": {...}, \"StackPolicy\": {...}}, or Name=value lines";

/// Where a problem in the parameters is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file path, or "the templateParameters input".
    pub origin: String,
    /// The 1-based line, when known.
    pub line: Option<u32>,
    /// The 1-based column, when known.
    pub column: Option<u32>,
}

impl Place {
    fn new(origin: &str, line: Option<u32>) -> Self {
        Self {
            origin: origin.to_owned(),
            line,
            column: None,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        Ok(())
    }
}

/// Renders " (first at line N)" for a duplicate whose first line is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstLine(pub Option<u32>);

impl fmt::Display for FirstLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, " (first at line {line})"),
            None => Ok(()),
        }
    }
}

/// Why parameters could not be read. Each message names the origin and the
/// line, and says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    /// The text starts like JSON (`[` or `{`) but is neither valid JSON nor
    /// valid YAML; the JSON error is reported.
    #[error("{place}: the parameters are not valid JSON: {message}. {FORMS}.")]
    Json {
        /// Where the JSON parser stopped.
        place: Place,
        /// The parser's message.
        message: String,
    },
    /// The text is not valid YAML.
    #[error("{place}: the parameters are not valid YAML: {message}. {FORMS}.")]
    Yaml {
        /// Where the YAML parser stopped.
        place: Place,
        /// The parser's message.
        message: String,
    },
    /// The text is valid JSON or YAML but not one of the accepted forms: a
    /// single value, an entry of the wrong shape, an unknown field.
    #[error("{place}: {message}. {FORMS}.")]
    Form {
        /// Where the problem is.
        place: Place,
        /// What is wrong, naming the form it was read as.
        message: String,
    },
    /// An array entry has neither a `ParameterValue` nor
    /// `"UsePreviousValue": true`.
    #[error(
        "{place}: parameter \"{key}\" has no ParameterValue (it is missing or null); \
         give one, or set \"UsePreviousValue\": true to keep the value the stack has now."
    )]
    MissingValue {
        /// Where the entry's `ParameterKey` is.
        place: Place,
        /// The parameter's name.
        key: String,
    },
    /// An array entry has both a `ParameterValue` and
    /// `"UsePreviousValue": true`, which CloudFormation rejects.
    #[error(
        "{place}: parameter \"{key}\" has both a ParameterValue and \"UsePreviousValue\": true; \
         remove one of them."
    )]
    ValueAndPreviousValue {
        /// Where the entry's `ParameterKey` is.
        place: Place,
        /// The parameter's name.
        key: String,
    },
    /// A parameter or tag is given twice.
    #[error("{place}: {what} \"{key}\" is given twice{first}; remove one of them.")]
    Duplicate {
        /// Where the second one is.
        place: Place,
        /// "parameter" or "tag".
        what: &'static str,
        /// The name given twice.
        key: String,
        /// The line of the first one, when known.
        first: FirstLine,
    },
    /// A value is null, an object, or a list holding something other than
    /// text, numbers and booleans.
    #[error("{place}: the value of {what} \"{key}\" {problem}.")]
    Value {
        /// Where the value (or its key) is.
        place: Place,
        /// "parameter" or "tag".
        what: &'static str,
        /// The parameter's or tag's name.
        key: String,
        /// What is wrong with it and what to write instead.
        problem: String,
    },
    /// A line of the `Key=Value` form has no `=` or nothing before it.
    #[error(
        "{place}: {problem}. In the Name=value form every line is Name=value; blank lines \
         and lines starting with # are skipped."
    )]
    KeyValueLine {
        /// The line.
        place: Place,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Reads the parameters in `text`, in any of the accepted forms (see the
/// module documentation); `origin` is how messages name the source: a file
/// path, or "the templateParameters input".
///
/// Gives the parameters in the order written, and the tags and stack policy of
/// a template configuration. Text that is empty or holds only `#` comments
/// gives an empty set.
///
/// Numbers and booleans become text as written (`5` → "5", `true` → "true");
/// from YAML exactly as written (`1.50` stays "1.50"), but from JSON a number
/// with a fraction or exponent is rewritten in its shortest form (`1.50` →
/// "1.5", `1e3` → "1000.0"), because serde_json keeps only its `f64`: quote
/// such a value to keep it as written. A list becomes its items joined with
/// commas, as `List<…>` and `CommaDelimitedList` parameters take them.
///
/// # Errors
///
/// [`ParamsError`] when the text is not valid JSON or YAML, is not one of the
/// accepted forms, has an unknown field, a parameter without a value, a null
/// or nested value, a name given twice, or a `Key=Value` line without `=` or
/// without a name.
pub fn parse(text: &str, origin: &str) -> Result<ParameterSet, ParamsError> {
    // A byte-order mark is invisible in editors; it is not part of the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
    {
        return Ok(ParameterSet::default());
    }
    let (syntax, shape) = if text.trim_start().starts_with(['[', '{']) {
        match Syntax::Json.read::<Shape>(text) {
            Ok(shape) => (Syntax::Json, shape),
            // YAML's flow style is a superset of JSON that people write by
            // accident or on purpose: unquoted names, trailing commas,
            // comments. Only if it is not that either is the JSON error the
            // one to show.
            Err(json) => match Syntax::Yaml.read::<Shape>(text) {
                Ok(shape) => (Syntax::Yaml, shape),
                Err(_) => return Err(json.not_valid(origin, Syntax::Json)),
            },
        }
    } else if looks_like_key_value_lines(text) {
        return key_value_lines(text, origin);
    } else {
        let shape = Syntax::Yaml
            .read::<Shape>(text)
            .map_err(|failure| failure.not_valid(origin, Syntax::Yaml))?;
        (Syntax::Yaml, shape)
    };
    let reader = Reader {
        text,
        origin,
        syntax,
    };
    let document = match shape {
        Shape::Nothing => return Ok(ParameterSet::default()),
        Shape::Scalar => {
            let line = text
                .lines()
                .position(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
                .and_then(|index| number(index + 1));
            return Err(ParamsError::Form {
                place: Place::new(origin, line),
                message: "the parameters are a single value, not a list or an object of \
                          parameters"
                    .to_owned(),
            });
        }
        Shape::Sequence => ParametersDocument::Array(reader.read_form("the array form")?),
        Shape::Mapping {
            configuration: true,
        } => ParametersDocument::TemplateConfiguration(
            reader.read_form("the template configuration form")?,
        ),
        Shape::Mapping {
            configuration: false,
        } => ParametersDocument::Object(reader.read_form("the object form")?),
    };
    reader.collect(document)
}

/// The JSON Schema (draft 2020-12, as schemars generates it) of the JSON and
/// YAML forms of a parameters file, for editors and for checking files in CI.
///
/// Takes nothing and cannot fail; the `Key=Value` form is not JSON and so not
/// described.
pub fn schema() -> serde_json::Value {
    SchemaGenerator::default()
        .into_root_schema_for::<ParametersDocument>()
        .to_value()
}

/// CloudFormation stack parameters as the CloudFormationCreateOrUpdateStack
/// task reads them from its parameters file or its `templateParameters`
/// input: CloudFormation's array of ParameterKey/ParameterValue entries, an
/// object of parameter names and values, or a CodePipeline template
/// configuration. (The task also reads Name=value lines, which are not JSON.)
// Only the schema sees the three forms together: `parse` looks at the shape
// first and reads the one form it is, so that errors are about that form.
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(title = "CloudFormation stack parameters (azp-aws-tasks)")]
enum ParametersDocument {
    Array(ParameterArray),
    TemplateConfiguration(TemplateConfiguration),
    Object(ParameterObject),
}

/// CloudFormation's own form, as `aws cloudformation create-stack
/// --parameters file://...` and `describe-stacks` write it: an array of
/// entries, each with a ParameterKey and either a ParameterValue or
/// "UsePreviousValue": true.
#[derive(Deserialize, JsonSchema)]
#[serde(transparent)]
struct ParameterArray(Vec<ParameterEntry>);

/// One parameter of the array form.
#[derive(Deserialize, JsonSchema)]
// What `Reader::array_parameters` checks, so that editors flag it too.
#[schemars(extend("anyOf" = [
    {
        "required": ["ParameterValue"],
        "properties": { "UsePreviousValue": { "const": false } },
    },
    {
        "required": ["UsePreviousValue"],
        "properties": { "UsePreviousValue": { "const": true } },
        "not": { "required": ["ParameterValue"] },
    },
]))]
#[serde(
    deny_unknown_fields,
    rename_all = "PascalCase",
    expecting = "an entry {\"ParameterKey\": \"Name\", \"ParameterValue\": \"value\"}"
)]
struct ParameterEntry {
    /// The parameter's name, as the template's Parameters section declares it.
    parameter_key: String,
    /// The value: text, a number or boolean (passed as written), or a list of
    /// those (joined with commas, for List<...> and CommaDelimitedList
    /// parameters). Leave it out when UsePreviousValue is true.
    #[serde(default)]
    // Not nullable in the schema: the task refuses a null value.
    #[schemars(with = "ParameterValue")]
    parameter_value: Option<ParameterValue>,
    /// On an update, keep the value the stack has now; then give no
    /// ParameterValue.
    #[serde(default)]
    use_previous_value: bool,
    /// The value CloudFormation resolved an SSM parameter type to, as
    /// describe-stacks prints it. Accepted and ignored, so that its output can
    /// be used as it is.
    #[serde(default, rename = "ResolvedValue")]
    #[schemars(with = "String")]
    _resolved_value: Option<IgnoredAny>,
}

/// Parameter names and their values, as {"Name": "value", "Count": 5} or in
/// YAML "Name: value" lines.
#[derive(Deserialize, JsonSchema)]
#[serde(transparent)]
struct ParameterObject(Entries<ParameterValue>);

/// A CodePipeline template configuration file: parameters, stack tags and a
/// stack policy.
#[derive(Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "PascalCase",
    expecting = "a template configuration {\"Parameters\": {...}, \"Tags\": {...}, \"StackPolicy\": {...}}"
)]
struct TemplateConfiguration {
    /// Parameter names and their values.
    #[serde(default)]
    parameters: Entries<ParameterValue>,
    /// Tags for the stack (and the resources that support them): names and
    /// values.
    #[serde(default)]
    tags: Entries<TagValue>,
    /// A stack policy document: which resources an update may change. An
    /// empty object is no policy.
    #[serde(default)]
    stack_policy: serde_json::Map<String, serde_json::Value>,
}

/// The entries of an object in the order written. Names given twice are kept
/// so that they can be reported with their lines, where a map would keep one
/// silently.
struct Entries<V>(Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of names and values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for Entries<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Entries_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>(),
        })
    }
}

/// A parameter value as written, and where, so that a YAML number or boolean
/// can be taken from the source exactly as written.
struct ParameterValue {
    node: Node,
    /// The bytes of the value in a YAML source; serde_json reports no spans.
    written: Option<Range<usize>>,
}

/// What kind of value a [`ParameterValue`] is. Null and objects are kept
/// rather than refused while parsing, so that the message can name the
/// parameter and its line.
enum Node {
    /// A string.
    Text(String),
    /// A number or boolean, in the parser's rendering.
    Inferred(String),
    /// A sequence.
    List(Vec<ParameterValue>),
    /// Null, or nothing after the colon in YAML.
    Null,
    /// An object.
    Mapping,
}

impl<'de> Deserialize<'de> for ParameterValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde-saphyr gives the span of what a Spanned wraps (for an alias,
        // `defined` is the anchored value); serde_json gives line 0, no span.
        let spanned = serde_saphyr::Spanned::<Node>::deserialize(deserializer)?;
        let span = spanned.defined.span();
        let written = match (span.byte_offset(), span.byte_len()) {
            (Some(start), Some(len)) if spanned.defined.line() > 0 => {
                let start = usize::try_from(start).ok();
                let len = usize::try_from(len).ok();
                start
                    .zip(len)
                    .and_then(|(start, len)| Some(start..start.checked_add(len)?))
            }
            _ => None,
        };
        Ok(Self {
            node: spanned.value,
            written,
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text, a number, a boolean or a list of those")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Inferred(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Inferred(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Inferred(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Inferred(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Inferred(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        // serde_json's rendering, so that 1.0 stays "1.0" rather than "1".
        Ok(Node::Inferred(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Node::Mapping)
    }
}

/// What is wrong with a value, for [`ParamsError::Value`].
enum ValueProblem {
    Null,
    Mapping,
    /// A list where one value is expected (a tag).
    List,
    /// Item `index` (0-based) of a list is not text, a number or a boolean.
    Item {
        index: usize,
        kind: &'static str,
    },
}

impl ValueProblem {
    fn describe(&self) -> String {
        match self {
            Self::Null => "is null or empty; give a value (quote it if it is the text null), \
                           or leave the parameter out"
                .to_owned(),
            Self::Mapping => "is an object; a value is text, a number, a boolean, or a list \
                              of those for a List or CommaDelimitedList parameter"
                .to_owned(),
            Self::List => "is a list; a tag value is text, a number or a boolean".to_owned(),
            Self::Item { index, kind } => format!(
                "is a list whose item {} is {kind}; list items are text, numbers or booleans, \
                 which are joined with commas",
                index + 1
            ),
        }
    }
}

impl ParameterValue {
    /// The value as CloudFormation takes it; `source` is the YAML text the
    /// value was read from, if it was.
    fn resolve(&self, source: Option<&str>) -> Result<String, ValueProblem> {
        match &self.node {
            Node::List(items) => {
                let mut texts = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let kind = match &item.node {
                        Node::Null => "null",
                        Node::Mapping => "an object",
                        Node::List(_) => "a list",
                        Node::Text(_) | Node::Inferred(_) => "",
                    };
                    if !kind.is_empty() {
                        return Err(ValueProblem::Item { index, kind });
                    }
                    texts.push(item.resolve(source)?);
                }
                Ok(texts.join(","))
            }
            _ => self.scalar(source),
        }
    }

    /// The value as text if it is one scalar.
    fn scalar(&self, source: Option<&str>) -> Result<String, ValueProblem> {
        match &self.node {
            Node::Text(text) => Ok(text.clone()),
            Node::Inferred(rendered) => Ok(self
                .written
                .clone()
                .and_then(|range| source?.get(range))
                .filter(|written| !written.is_empty())
                .unwrap_or(rendered)
                .to_owned()),
            Node::List(_) => Err(ValueProblem::List),
            Node::Null => Err(ValueProblem::Null),
            Node::Mapping => Err(ValueProblem::Mapping),
        }
    }
}

impl JsonSchema for ParameterValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ParameterValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A parameter value: text, a number or a boolean (passed as \
                written), or a list of those (joined with commas, for List<...> and \
                CommaDelimitedList parameters).",
            "anyOf": [
                { "type": ["string", "number", "boolean"] },
                { "type": "array", "items": { "type": ["string", "number", "boolean"] } },
            ],
        })
    }
}

/// A tag value: one parameter value that is not a list.
#[derive(Deserialize)]
#[serde(transparent)]
struct TagValue(ParameterValue);

impl JsonSchema for TagValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TagValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A tag value: text, or a number or boolean (passed as written).",
            "type": ["string", "number", "boolean"],
        })
    }
}

/// The top of a document, looked at before reading it as one form, so that
/// errors come from the form the author meant rather than "did not match any
/// variant".
enum Shape {
    /// Null, or a YAML document with nothing in it.
    Nothing,
    /// One scalar.
    Scalar,
    Sequence,
    /// An object; a template configuration if its Parameters, Tags or
    /// StackPolicy is an object, which no value of the object form can be.
    Mapping {
        configuration: bool,
    },
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl ShapeVisitor {
    fn scalar<E>(self) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or an object of parameters")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Nothing)
    }

    fn visit_none<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Nothing)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        Shape::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::Sequence)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut configuration = false;
        while let Some(key) = map.next_key::<KeyText>()? {
            if matches!(
                key.0.as_deref(),
                Some("Parameters" | "Tags" | "StackPolicy")
            ) {
                configuration |= map.next_value::<IsMapping>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Shape::Mapping { configuration })
    }
}

/// A mapping key as text if it is a string; YAML allows others.
struct KeyText(Option<String>);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_owned())))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyText, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyText, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
        }

        deserializer.deserialize_any(KeyVisitor)
    }
}

/// Whether a value is an object, consuming it either way.
struct IsMapping(bool);

impl<'de> Deserialize<'de> for IsMapping {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let node = Node::deserialize(deserializer)?;
        Ok(Self(matches!(node, Node::Mapping)))
    }
}

/// Which parser a text goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Json,
    Yaml,
}

/// A parser's error, reduced to what the messages show.
struct Failure {
    line: Option<u32>,
    column: Option<u32>,
    message: String,
}

impl Failure {
    fn from_json(error: &serde_json::Error) -> Self {
        let rendered = error.to_string();
        // serde_json appends the position it also gives separately.
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = rendered
            .strip_suffix(&suffix)
            .map_or_else(|| rendered.clone(), str::to_owned);
        Self {
            line: number(error.line()),
            column: number(error.column()),
            message: shown(&message),
        }
    }

    fn from_yaml(error: &serde_saphyr::Error) -> Self {
        let error = error.without_snippet();
        let location = error.location().filter(|location| location.line() > 0);
        Self {
            line: location.and_then(|l| number(l.line())),
            column: location.and_then(|l| number(l.column())),
            message: shown(&serde_saphyr::UserMessageFormatter.format_message(error)),
        }
    }

    fn place(&self, origin: &str) -> Place {
        Place {
            origin: origin.to_owned(),
            line: self.line,
            column: self.column,
        }
    }

    /// The error for text that `syntax` cannot parse at all.
    fn not_valid(self, origin: &str, syntax: Syntax) -> ParamsError {
        let place = self.place(origin);
        match syntax {
            Syntax::Json => ParamsError::Json {
                place,
                message: self.message,
            },
            Syntax::Yaml => ParamsError::Yaml {
                place,
                message: self.message,
            },
        }
    }
}

/// A parser's 1-based line or column, if it has one; 0 is "unknown".
fn number<N: TryInto<u32>>(n: N) -> Option<u32> {
    n.try_into().ok().filter(|&n| n > 0)
}

/// Options for serde-saphyr: duplicate names reach the code below, which
/// reports both lines in the same words for JSON and YAML; snippets are not
/// shown (the messages have their own layout).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        with_snippet: false,
    }
}

impl Syntax {
    fn read<T: for<'de> Deserialize<'de>>(self, text: &str) -> Result<T, Failure> {
        self.read_seed(text, PhantomData::<T>)
    }

    fn read_seed<S, V>(self, text: &str, seed: S) -> Result<V, Failure>
    where
        S: for<'de> DeserializeSeed<'de, Value = V>,
    {
        match self {
            Self::Json => {
                let mut deserializer = serde_json::Deserializer::from_str(text);
                seed.deserialize(&mut deserializer)
                    .and_then(|value| deserializer.end().map(|()| value))
                    .map_err(|error| Failure::from_json(&error))
            }
            Self::Yaml => serde_saphyr::with_deserializer_from_str_with_options(
                text,
                yaml_options(),
                |deserializer| seed.deserialize(deserializer),
            )
            .map_err(|error| Failure::from_yaml(&error)),
        }
    }
}

/// One step from a node to one of its children, to find where a node is.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    /// The element at this index of a sequence.
    Element(usize),
    /// The key at this index of a mapping.
    Key(usize),
    /// The value of this key of a mapping.
    Field(&'a str),
}

/// What [`Probe`] fails with where its path ends.
const PROBE_MARK: &str = "azp-aws-tasks parameters position probe";

/// Walks a path through a document and fails where it ends.
///
/// Neither serde_json nor (for JSON) anything else says where a value was
/// written, but both parsers attach their position to an error raised while
/// they stand at a value. So the line of a node is found, only when a message
/// needs it, by reading the document again and failing there.
struct Probe<'p>(&'p [Step<'p>]);

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.0.split_first() {
            None => Err(de::Error::custom(PROBE_MARK)),
            Some((step, rest)) => deserializer.deserialize_any(ProbeVisitor { step: *step, rest }),
        }
    }
}

struct ProbeVisitor<'p> {
    step: Step<'p>,
    rest: &'p [Step<'p>],
}

impl<'de> Visitor<'de> for ProbeVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    // A scalar where the path goes on: the node is not there.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        Ok(())
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Step::Element(index) = self.step {
            let mut found = true;
            for _ in 0..index {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    found = false;
                    break;
                }
            }
            if found && seq.next_element_seed(Probe(self.rest))?.is_none() {
                return Ok(());
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.step {
            Step::Key(index) => {
                let mut found = true;
                for _ in 0..index {
                    if map.next_entry::<IgnoredAny, IgnoredAny>()?.is_none() {
                        found = false;
                        break;
                    }
                }
                if found {
                    if map.next_key_seed(Probe(self.rest))?.is_none() {
                        return Ok(());
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Step::Field(name) => {
                while let Some(key) = map.next_key::<KeyText>()? {
                    if key.0.as_deref() == Some(name) {
                        map.next_value_seed(Probe(self.rest))?;
                        break;
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Step::Element(_) => {}
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// A parsed document's text, for the lines and exact values the messages and
/// results need.
struct Reader<'a> {
    text: &'a str,
    origin: &'a str,
    syntax: Syntax,
}

impl Reader<'_> {
    /// Reads the whole text as one form; `form` names it in messages.
    fn read_form<T: for<'de> Deserialize<'de>>(&self, form: &str) -> Result<T, ParamsError> {
        self.syntax
            .read::<T>(self.text)
            .map_err(|failure| ParamsError::Form {
                place: failure.place(self.origin),
                message: format!("as {form}: {}", failure.message),
            })
    }

    /// The line the node at `path` starts on.
    fn line_of(&self, path: &[Step<'_>]) -> Option<u32> {
        match self.syntax.read_seed(self.text, Probe(path)) {
            Err(failure) if failure.message.contains(PROBE_MARK) => failure.line,
            _ => None,
        }
    }

    fn place(&self, path: &[Step<'_>]) -> Place {
        Place::new(self.origin, self.line_of(path))
    }

    /// The text YAML values are taken from as written.
    fn source(&self) -> Option<&str> {
        (self.syntax == Syntax::Yaml).then_some(self.text)
    }

    fn collect(&self, document: ParametersDocument) -> Result<ParameterSet, ParamsError> {
        match document {
            ParametersDocument::Array(ParameterArray(entries)) => Ok(ParameterSet {
                parameters: self.array_parameters(&entries)?,
                ..ParameterSet::default()
            }),
            ParametersDocument::Object(ParameterObject(entries)) => Ok(ParameterSet {
                parameters: self.object_parameters(&[], &entries.0)?,
                ..ParameterSet::default()
            }),
            ParametersDocument::TemplateConfiguration(configuration) => {
                let parameters = self
                    .object_parameters(&[Step::Field("Parameters")], &configuration.parameters.0)?;
                let tags = self.tags(&configuration.tags.0)?;
                let stack_policy = Some(configuration.stack_policy)
                    .filter(|policy| !policy.is_empty())
                    .map(|policy| serde_json::Value::Object(policy).to_string());
                Ok(ParameterSet {
                    parameters,
                    tags,
                    stack_policy,
                })
            }
        }
    }

    fn array_parameters(&self, entries: &[ParameterEntry]) -> Result<Vec<Parameter>, ParamsError> {
        let key_path = |index| [Step::Element(index), Step::Field("ParameterKey")];
        let mut seen = HashMap::new();
        let mut parameters = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let key = &entry.parameter_key;
            if let Some(&first) = seen.get(key.as_str()) {
                return Err(ParamsError::Duplicate {
                    place: self.place(&key_path(index)),
                    what: "parameter",
                    key: shown(key),
                    first: FirstLine(self.line_of(&key_path(first))),
                });
            }
            seen.insert(key.as_str(), index);
            let value =
                match (&entry.parameter_value, entry.use_previous_value) {
                    (Some(value), false) => {
                        Some(value.resolve(self.source()).map_err(|problem| {
                            ParamsError::Value {
                                place: self
                                    .place(&[Step::Element(index), Step::Field("ParameterValue")]),
                                what: "parameter",
                                key: shown(key),
                                problem: problem.describe(),
                            }
                        })?)
                    }
                    (None, true) => None,
                    (Some(_), true) => {
                        return Err(ParamsError::ValueAndPreviousValue {
                            place: self.place(&key_path(index)),
                            key: shown(key),
                        });
                    }
                    (None, false) => {
                        return Err(ParamsError::MissingValue {
                            place: self.place(&key_path(index)),
                            key: shown(key),
                        });
                    }
                };
            parameters.push(Parameter {
                key: key.clone(),
                value,
                use_previous_value: entry.use_previous_value,
            });
        }
        Ok(parameters)
    }

    /// The parameters of an object at `prefix` (the document, or a
    /// template configuration's Parameters).
    fn object_parameters(
        &self,
        prefix: &[Step<'_>],
        entries: &[(String, ParameterValue)],
    ) -> Result<Vec<Parameter>, ParamsError> {
        self.pairs(prefix, "parameter", entries, ParameterValue::resolve)
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(key, value)| Parameter {
                        key,
                        value: Some(value),
                        use_previous_value: false,
                    })
                    .collect()
            })
    }

    fn tags(&self, entries: &[(String, TagValue)]) -> Result<Vec<(String, String)>, ParamsError> {
        self.pairs(&[Step::Field("Tags")], "tag", entries, |tag, source| {
            tag.0.scalar(source)
        })
    }

    /// The names and values of an object at `prefix`, each name once.
    fn pairs<V>(
        &self,
        prefix: &[Step<'_>],
        what: &'static str,
        entries: &[(String, V)],
        resolve: impl Fn(&V, Option<&str>) -> Result<String, ValueProblem>,
    ) -> Result<Vec<(String, String)>, ParamsError> {
        let key_path = |index| [prefix, &[Step::Key(index)]].concat();
        let mut seen = HashMap::new();
        let mut pairs = Vec::with_capacity(entries.len());
        for (index, (key, value)) in entries.iter().enumerate() {
            if let Some(&first) = seen.get(key.as_str()) {
                return Err(ParamsError::Duplicate {
                    place: self.place(&key_path(index)),
                    what,
                    key: shown(key),
                    first: FirstLine(self.line_of(&key_path(first))),
                });
            }
            seen.insert(key.as_str(), index);
            let value = resolve(value, self.source()).map_err(|problem| ParamsError::Value {
                place: self.place(&key_path(index)),
                what,
                key: shown(key),
                problem: problem.describe(),
            })?;
            pairs.push((key.clone(), value));
        }
        Ok(pairs)
    }
}

/// Whether the text is meant as `Key=Value` lines: its first line that is
/// not blank or a comment is a name, then `=`.
///
/// Deciding on the first line rather than on all of them lets a later line
/// without `=` be reported as such, instead of the whole text as not YAML.
/// JSON never starts that way, and YAML that does is not one of the other
/// forms (`A=1` is a single string, and `A=1: x` names a parameter "A=1",
/// which CloudFormation's alphanumeric names cannot be).
fn looks_like_key_value_lines(text: &str) -> bool {
    let Some(first) = text
        .lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
    else {
        return false;
    };
    first.split_once('=').is_some_and(|(name, _)| {
        let name = name.trim_end();
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    })
}

/// Reads `Key=Value` lines: split at the first `=`, the name trimmed, the
/// value kept as written (spaces included) without its line ending.
fn key_value_lines(text: &str, origin: &str) -> Result<ParameterSet, ParamsError> {
    let mut seen = HashMap::new();
    let mut parameters = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = number(index + 1);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let place = || Place::new(origin, line_number);
        let Some((key, value)) = line.split_once('=') else {
            return Err(ParamsError::KeyValueLine {
                place: place(),
                problem: "this line has no \"=\"",
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ParamsError::KeyValueLine {
                place: place(),
                problem: "this line has no name before \"=\"",
            });
        }
        if let Some(&first) = seen.get(key) {
            return Err(ParamsError::Duplicate {
                place: place(),
                what: "parameter",
                key: shown(key),
                first: FirstLine(first),
            });
        }
        seen.insert(key, line_number);
        parameters.push(Parameter {
            key: key.to_owned(),
            value: Some(value.to_owned()),
            use_previous_value: false,
        });
    }
    Ok(ParameterSet {
        parameters,
        ..ParameterSet::default()
    })
}

/// Text from the parameters as a message can show it: control characters
/// escaped, so that a name cannot break the log line or forge a logging
/// command.
fn shown(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "params.json";

    fn ok(text: &str) -> ParameterSet {
        match parse(text, ORIGIN) {
            Ok(set) => set,
            Err(error) => panic!("{error}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(text, ORIGIN) {
            Ok(_) => panic!("parsed: {text}"),
            Err(error) => error.to_string(),
        }
    }

    fn param(key: &str, value: &str) -> Parameter {
        Parameter {
            key: key.to_owned(),
            value: Some(value.to_owned()),
            use_previous_value: false,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
        pairs.iter().map(|(k, v)| param(k, v)).collect()
    }

    fn assert_names(message: &str, parts: &[&str]) {
        for part in parts {
            assert!(message.contains(part), "{part} not in: {message}");
        }
    }

    #[test]
    fn array_form_json() {
        let set = ok(r#"[
  {"ParameterKey": "Env", "ParameterValue": "prod"},
  {"ParameterKey": "Count", "ParameterValue": 3},
  {"ParameterKey": "Subnets", "ParameterValue": ["a", "b"]},
  {"ParameterKey": "Old", "UsePreviousValue": true},
  {"ParameterKey": "Ssm", "ParameterValue": "/p", "ResolvedValue": "x", "UsePreviousValue": false}
]"#);
        assert_eq!(
            set.parameters,
            vec![
                param("Env", "prod"),
                param("Count", "3"),
                param("Subnets", "a,b"),
                Parameter {
                    key: "Old".to_owned(),
                    value: None,
                    use_previous_value: true
                },
                param("Ssm", "/p"),
            ]
        );
        assert!(set.tags.is_empty());
        assert_eq!(set.stack_policy, None);
    }

    #[test]
    fn array_form_yaml() {
        let set = ok(
            "# parameters\n- ParameterKey: Env\n  ParameterValue: prod\n\
                      - ParameterKey: Ratio\n  ParameterValue: 1.50\n\
                      - ParameterKey: Old\n  UsePreviousValue: true\n",
        );
        assert_eq!(
            set.parameters,
            vec![
                param("Env", "prod"),
                param("Ratio", "1.50"),
                Parameter {
                    key: "Old".to_owned(),
                    value: None,
                    use_previous_value: true
                },
            ]
        );
    }

    #[test]
    fn object_form_json_keeps_order_and_renders_scalars() {
        let set = ok(
            r#"{"Zeta": "z", "Count": 5, "Big": 12345678901234567890, "Neg": -2,
            "On": true, "Off": false, "Ratio": 1.50, "Whole": 1.0, "List": [1, "b", true], "Empty": []}"#,
        );
        assert_eq!(
            set.parameters,
            params(&[
                ("Zeta", "z"),
                ("Count", "5"),
                ("Big", "12345678901234567890"),
                ("Neg", "-2"),
                ("On", "true"),
                ("Off", "false"),
                // serde_json keeps only the f64 of a fraction: see `parse`.
                ("Ratio", "1.5"),
                ("Whole", "1.0"),
                ("List", "1,b,true"),
                ("Empty", ""),
            ])
        );
    }

    #[test]
    fn object_form_yaml_keeps_values_as_written() {
        let set = ok(
            "Env: prod\nRatio: 1.50\nAccount: 012345678901\nHex: 0x1F\nFlag: True\n\
                      Yes: yes\nQuoted: '007'\nSubnets: [subnet-1, subnet-2]\nPorts:\n  - 80\n  - 443\n\
                      Text: |\n  two\n  lines\n",
        );
        assert_eq!(
            set.parameters,
            params(&[
                ("Env", "prod"),
                ("Ratio", "1.50"),
                ("Account", "012345678901"),
                ("Hex", "0x1F"),
                ("Flag", "True"),
                ("Yes", "yes"),
                ("Quoted", "007"),
                ("Subnets", "subnet-1,subnet-2"),
                ("Ports", "80,443"),
                ("Text", "two\nlines\n"),
            ])
        );
    }

    #[test]
    fn yaml_flow_style_that_is_not_json_is_read_as_yaml() {
        let set = ok("{Env: prod, Count: 2.50,}");
        assert_eq!(
            set.parameters,
            params(&[("Env", "prod"), ("Count", "2.50")])
        );
    }

    #[test]
    fn template_configuration_json() {
        let set = ok(r#"{
  "Parameters": {"Env": "prod", "Count": 2},
  "Tags": {"Team": "core", "Cost": 42},
  "StackPolicy": {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}
}"#);
        assert_eq!(set.parameters, params(&[("Env", "prod"), ("Count", "2")]));
        assert_eq!(
            set.tags,
            vec![
                ("Team".to_owned(), "core".to_owned()),
                ("Cost".to_owned(), "42".to_owned())
            ]
        );
        assert_eq!(
            set.stack_policy.as_deref(),
            Some(
                r#"{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}"#
            )
        );
    }

    #[test]
    fn template_configuration_yaml() {
        let set = ok("Parameters:\n  Env: prod\n  Ratio: 0.50\nTags:\n  Team: core\n");
        assert_eq!(
            set.parameters,
            params(&[("Env", "prod"), ("Ratio", "0.50")])
        );
        assert_eq!(set.tags, vec![("Team".to_owned(), "core".to_owned())]);
        assert_eq!(set.stack_policy, None);
        let tags_only = ok("Tags: {Team: core}");
        assert!(tags_only.parameters.is_empty());
        assert_eq!(tags_only.tags.len(), 1);
    }

    #[test]
    fn key_value_lines() {
        let set =
            ok("# overrides\r\nEnv=prod\r\n\r\n  Url = https://x.example/?a=1&b=2\r\nEmpty=\r\n");
        assert_eq!(
            set.parameters,
            params(&[
                ("Env", "prod"),
                ("Url", " https://x.example/?a=1&b=2"),
                ("Empty", ""),
            ])
        );
    }

    #[test]
    fn empty_text_gives_no_parameters() {
        for text in [
            "",
            "  \n\t\n",
            "# nothing\n  # here\n",
            "\u{feff}",
            "---\n",
            "[]",
            "{}",
        ] {
            assert_eq!(ok(text), ParameterSet::default(), "{text}");
        }
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let message = err("[\n  {\"ParameterKey\": \"A\",\n   \"ParameterValue\": \"x\" \"y\"}\n]");
        assert_names(
            &message,
            &[ORIGIN, "line 3, column", "not valid JSON", "ParameterKey"],
        );
    }

    #[test]
    fn bad_yaml_names_line() {
        let message = err("Env: prod\nName: \"unclosed\nOther: x\n");
        assert_names(&message, &[ORIGIN, "line 2", "not valid YAML"]);
        let message = err("- ParameterKey: a\n   ParameterValue: x\n");
        assert_names(&message, &[ORIGIN, "line 2", "not valid YAML"]);
    }

    #[test]
    fn missing_value_names_key_and_line() {
        let message = err(
            "[\n  {\"ParameterKey\": \"A\", \"ParameterValue\": \"x\"},\n  {\n    \
                           \"ParameterKey\": \"B\"\n  }\n]",
        );
        assert_names(&message, &[ORIGIN, "line 4", "\"B\"", "UsePreviousValue"]);
        let message = err("- ParameterKey: A\n  ParameterValue: x\n\n- ParameterKey: B\n");
        assert_names(&message, &["line 4", "\"B\""]);
        let message = err(r#"[{"ParameterKey": "C", "ParameterValue": null}]"#);
        assert_names(&message, &["line 1", "\"C\""]);
    }

    #[test]
    fn value_and_previous_value_is_refused() {
        let message = err(
            "[{\"ParameterKey\": \"A\",\n \"ParameterValue\": \"x\", \"UsePreviousValue\": true}]",
        );
        assert_names(&message, &["line 1", "\"A\"", "remove one"]);
    }

    #[test]
    fn unknown_field_is_named() {
        let message = err("[\n {\"ParameterKey\": \"A\",\n  \"ParameterVal\": \"x\"}\n]");
        assert_names(&message, &[ORIGIN, "line 3", "ParameterVal", "array form"]);
        let message = err("- ParameterKey: A\n  Value: x\n");
        assert_names(&message, &["line 2", "Value"]);
        let message = err("{\"Parameters\": {\"A\": \"x\"},\n \"Extra\": 1}");
        assert_names(&message, &["line 2", "Extra", "template configuration"]);
    }

    #[test]
    fn duplicate_names_give_both_lines() {
        let message = err("{\n  \"A\": \"1\",\n  \"B\": \"2\",\n  \"A\": \"3\"\n}");
        assert_names(&message, &[ORIGIN, "line 4", "first at line 2", "\"A\""]);
        let message = err("A: 1\nB: 2\n\nA: 3\n");
        assert_names(&message, &["line 4", "first at line 1"]);
        let message = err(
            "[\n {\"ParameterKey\": \"A\", \"ParameterValue\": \"1\"},\n \
             {\"ParameterKey\": \"A\", \"ParameterValue\": \"2\"}\n]",
        );
        assert_names(&message, &["line 3", "first at line 2"]);
        let message = err("Parameters:\n  A: 1\nTags:\n  T: x\n  T: y\n");
        assert_names(&message, &["line 5", "first at line 4", "tag \"T\""]);
        let message = err("A=1\nB=2\nA=3\n");
        assert_names(&message, &["line 3", "first at line 1"]);
    }

    #[test]
    fn null_and_nested_values_name_key_and_line() {
        let message = err("{\n  \"A\": \"1\",\n  \"B\": null\n}");
        assert_names(&message, &[ORIGIN, "line 3", "\"B\"", "null"]);
        let message = err("A: 1\nB:\nC: 2\n");
        assert_names(&message, &["line 2", "\"B\"", "null"]);
        let message = err("A: 1\nB:\n  C: 2\n");
        assert_names(&message, &["line 2", "\"B\"", "object"]);
        let message = err("{\"A\": [1,\n [2]]}");
        assert_names(&message, &["line 1", "\"A\"", "item 2 is a list"]);
        let message = err("Tags:\n  T: [a, b]\n");
        assert_names(&message, &["line 2", "tag \"T\"", "list"]);
    }

    #[test]
    fn key_value_line_without_equals_names_line() {
        let message = err("A=1\n# comment\nB\n");
        assert_names(&message, &[ORIGIN, "line 3", "no \"=\""]);
        let message = err("A=1\n = 2\n");
        assert_names(&message, &["line 2", "no name"]);
    }

    #[test]
    fn single_value_is_not_parameters() {
        let message = err("just some text");
        assert_names(&message, &[ORIGIN, "single value", "ParameterKey"]);
    }

    #[test]
    fn messages_escape_control_characters() {
        let message = err("{\"A\\n##vso[task.complete]\": null}");
        assert!(!message.contains('\n'), "{message}");
        assert_names(&message, &["A\\n##vso"]);
    }

    #[test]
    fn schema_describes_the_forms() {
        let schema = schema();
        assert_eq!(
            schema["title"],
            serde_json::json!("CloudFormation stack parameters (azp-aws-tasks)")
        );
        assert_eq!(
            schema["$schema"],
            serde_json::json!("https://json-schema.org/draft/2020-12/schema")
        );
        assert!(schema.get("$id").is_none());
        assert_eq!(schema["anyOf"].as_array().map(Vec::len), Some(3));
    }
}
