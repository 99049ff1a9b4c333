//! Logging commands as the agent parses them.
//!
//! Written from the agent's rules (`Command.TryParse`,
//! `CommandStringConvertor`), independently of the writer in `azp-task`, so
//! that tests compare the writer against the reader rather than against
//! itself:
//! - `##vso[` may appear anywhere in a line; the command part ends at the
//!   first `]` after it;
//! - the name splits on `.` into exactly two parts (area, event), both
//!   case-insensitive;
//! - properties split on `;` (empty entries dropped), each at its first `=`;
//!   keys are case-insensitive;
//! - values and data are decoded: `%3B` → `;`, `%0D` → CR, `%0A` → LF,
//!   `%5D` → `]`, then `%AZP25` → `%`.

use std::collections::BTreeMap;

/// One parsed `##vso[...]` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Area, lower case (`task`, `artifact`, ...).
    pub area: String,
    /// Event, lower case (`setvariable`, `complete`, ...).
    pub event: String,
    /// Properties, keys lower case, values decoded.
    pub properties: BTreeMap<String, String>,
    /// The decoded data after `]`.
    pub data: String,
}

impl Command {
    /// `area.event`, lower case.
    #[must_use]
    pub fn name(&self) -> String {
        format!("{}.{}", self.area, self.event)
    }

    /// A property by case-insensitive key.
    #[must_use]
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A boolean property (`true` in any case).
    #[must_use]
    pub fn flag(&self, key: &str) -> bool {
        self.property(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// What the agent makes of one line that mentions `##vso[`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A well-formed command.
    Command(Command),
    /// `##vso[` without a valid command (the agent warns `CommandKeywordDetected`).
    Malformed,
}

const PREFIX: &str = "##vso[";

/// Decode a property value or data as the agent does.
#[must_use]
pub fn unescape(value: &str) -> String {
    value
        .replace("%3B", ";")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]")
        .replace("%AZP25", "%")
}

/// Parse a line; `None` when it does not contain `##vso[` at all.
#[must_use]
pub fn parse_line(line: &str) -> Option<Parsed> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let start = find_case_insensitive(line, PREFIX)?;
    let rest = &line[start + PREFIX.len()..];
    let Some(end) = rest.find(']') else {
        return Some(Parsed::Malformed);
    };
    let (head, data) = (&rest[..end], &rest[end + 1..]);
    let (name, props) = match head.find(' ') {
        Some(i) => (&head[..i], head[i + 1..].trim()),
        None => (head, ""),
    };
    let parts: Vec<&str> = name.split('.').collect();
    let [area, event] = parts.as_slice() else {
        return Some(Parsed::Malformed);
    };
    if area.trim().is_empty() || event.trim().is_empty() {
        return Some(Parsed::Malformed);
    }
    let mut properties = BTreeMap::new();
    for entry in props.split(';').filter(|e| !e.trim().is_empty()) {
        let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
        properties.insert(k.trim().to_ascii_lowercase(), unescape(v));
    }
    Some(Parsed::Command(Command {
        area: area.to_ascii_lowercase(),
        event: event.to_ascii_lowercase(),
        properties,
        data: unescape(data),
    }))
}

fn find_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agent_examples() {
        let Some(Parsed::Command(c)) =
            parse_line("noise ##VSO[Task.SetVariable variable=a%3Bb;isSecret=true;]x%0Ay%AZP25]z")
        else {
            panic!("not parsed")
        };
        assert_eq!(c.name(), "task.setvariable");
        assert_eq!(c.property("variable"), Some("a;b"));
        assert!(c.flag("issecret"));
        assert_eq!(c.data, "x\ny%]z");
    }

    #[test]
    fn malformed_and_plain_lines() {
        assert_eq!(parse_line("hello"), None);
        assert_eq!(parse_line("##vso[task.complete"), Some(Parsed::Malformed));
        assert_eq!(parse_line("##vso[taskcomplete]x"), Some(Parsed::Malformed));
        assert_eq!(parse_line("##vso[a.b.c]x"), Some(Parsed::Malformed));
    }
}
