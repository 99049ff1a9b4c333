//! Pipeline variables: public ones as `<NAME>`, secret ones as `SECRET_<NAME>`.
//!
//! Lookup follows task-lib's `getVariable`: the name is normalised, a secret
//! variable wins over a public one of the same name, and empty values count
//! as unset.
//!
//! Booleans come in two kinds. A variable the tasks define themselves (such
//! as `AWS.VerifyIdentity`) is [`Variables::boolean`]: `true` or `false` in
//! any letter case, and anything else is an error naming the variable, never
//! a silent `false`. A variable the agent defines (such as `System.Debug`) is
//! [`Variables::agent_flag`], read by the agent's own rule.

use crate::env::{Env, names, normalize_name};

/// Read access to the job's variables.
#[derive(Debug, Clone, Copy)]
pub struct Variables<'a> {
    env: &'a Env,
}

impl<'a> Variables<'a> {
    /// Variables of the given environment.
    #[must_use]
    pub fn new(env: &'a Env) -> Self {
        Self { env }
    }

    /// The variable's value, secret or public; `None` when unset or empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let key = normalize_name(name);
        self.env
            .get_non_empty(&format!("{}{key}", names::SECRET_PREFIX))
            .or_else(|| self.env.get_non_empty(&key))
    }

    /// As [`Variables::get`], but the value as the agent passed it, spaces
    /// at either end kept: for passwords. `None` when unset or empty.
    #[must_use]
    pub fn get_untrimmed(&self, name: &str) -> Option<&'a str> {
        let key = normalize_name(name);
        let non_empty = |n: &str| self.env.get(n).filter(|v| !v.is_empty());
        non_empty(&format!("{}{key}", names::SECRET_PREFIX)).or_else(|| non_empty(&key))
    }

    /// Whether the variable arrived as a secret.
    #[must_use]
    pub fn is_secret(&self, name: &str) -> bool {
        let key = normalize_name(name);
        self.env
            .get(&format!("{}{key}", names::SECRET_PREFIX))
            .is_some()
    }

    /// A boolean variable: `Some(true)` or `Some(false)` for `true` or
    /// `false` in any letter case, `None` when unset or empty.
    ///
    /// # Errors
    /// [`VariableError::NotBoolean`] for any other value, so that `1` or
    /// `yes` never silently means `false`.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, VariableError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match parse_bool(value) {
            Some(b) => Ok(Some(b)),
            None => Err(VariableError::NotBoolean {
                name: name.to_owned(),
                // A secret value must not be echoed (the agent masks it anyway).
                value: (!self.is_secret(name)).then(|| value.trim().to_owned()),
            }),
        }
    }

    /// A boolean the agent itself defines (`System.Debug`, ...), read by the
    /// agent's rule (`StringUtil.ConvertToBoolean`): `1`, `true`, `$true` are
    /// true, `0`, `false`, `$false` false, in any letter case; anything else,
    /// or nothing, is `false`.
    #[must_use]
    pub fn agent_flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "$true"
            )
        })
    }

    /// Every secret variable's value (to register them as secrets).
    pub fn secret_values(&self) -> impl Iterator<Item = &'a str> {
        self.env.with_prefix(names::SECRET_PREFIX).map(|(_, v)| v)
    }
}

/// `true` or `false` in any letter case, surrounding spaces ignored.
#[must_use]
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    /// A boolean variable that is neither `true` nor `false`.
    #[error(
        "The pipeline variable {name} is {}, which is neither true nor false. Set it to true or false.",
        value.as_deref().map_or_else(|| "set".to_owned(), |v| format!("'{v}'"))
    )]
    NotBoolean {
        /// The variable's name, as the task documents it.
        name: String,
        /// The value, unless the variable is secret.
        value: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_wins_and_names_are_normalised() {
        let env = Env::from_pairs([
            ("AWS_REGION", "eu-west-1"),
            ("SECRET_AWS_SECRETACCESSKEY", "s"),
            ("AWS_SECRETACCESSKEY", ""),
        ]);
        let v = Variables::new(&env);
        assert_eq!(v.get("AWS.Region"), Some("eu-west-1"));
        assert_eq!(v.get("AWS.SecretAccessKey"), Some("s"));
        assert!(v.is_secret("aws.secretaccesskey"));
        assert!(!v.is_secret("AWS.Region"));
        assert_eq!(v.get("Missing.Var"), None);
    }

    #[test]
    fn booleans_are_true_or_false_and_nothing_else() {
        let env = Env::from_pairs([
            ("A", "True"),
            ("B", " FALSE "),
            ("C", "1"),
            ("SECRET_D", "yes"),
        ]);
        let v = Variables::new(&env);
        assert_eq!(v.boolean("a"), Ok(Some(true)));
        assert_eq!(v.boolean("b"), Ok(Some(false)));
        assert_eq!(v.boolean("unset"), Ok(None));
        let err = v.boolean("c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "The pipeline variable c is '1', which is neither true nor false. Set it to true or false."
        );
        let err = v.boolean("d").unwrap_err().to_string();
        assert!(!err.contains("yes"), "a secret value is not echoed: {err}");
    }

    #[test]
    fn agent_flags_follow_the_agents_convert_to_boolean() {
        // agent src/Microsoft.VisualStudio.Services.Agent/Util/StringUtil.cs
        for (value, expected) in [
            ("True", true),
            ("1", true),
            ("$true", true),
            ("false", false),
            ("0", false),
            ("yes", false),
            ("", false),
        ] {
            let env = Env::from_pairs([("SYSTEM_DEBUG", value)]);
            assert_eq!(
                Variables::new(&env).agent_flag("system.debug"),
                expected,
                "{value}"
            );
        }
    }
}
