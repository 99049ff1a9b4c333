//! Pipeline variables: public ones as `<NAME>`, secret ones as `SECRET_<NAME>`.
//!
//! Lookup follows task-lib's `getVariable`: the name is normalised, a secret
//! variable wins over a public one of the same name, and empty values count
//! as unset.

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

    /// Whether the variable arrived as a secret.
    #[must_use]
    pub fn is_secret(&self, name: &str) -> bool {
        let key = normalize_name(name);
        self.env
            .get(&format!("{}{key}", names::SECRET_PREFIX))
            .is_some()
    }

    /// A boolean variable: true when its value is `true` in any case.
    #[must_use]
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Every secret variable's value (to register them as secrets).
    pub fn secret_values(&self) -> impl Iterator<Item = &'a str> {
        self.env.with_prefix(names::SECRET_PREFIX).map(|(_, v)| v)
    }
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
    fn flags() {
        let env = Env::from_pairs([("SYSTEM_DEBUG", "True"), ("OTHER", "1")]);
        let v = Variables::new(&env);
        assert!(v.flag("system.debug"));
        assert!(!v.flag("other"));
        assert!(!v.flag("unset"));
    }
}
