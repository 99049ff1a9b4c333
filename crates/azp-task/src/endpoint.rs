//! Service endpoints (service connections) as the agent exports them.
//!
//! For every endpoint id held in a `connectedService:*` input the agent sets
//! `ENDPOINT_URL_<ID>`, `ENDPOINT_AUTH_<ID>` (JSON with `scheme` and
//! `parameters`), `ENDPOINT_AUTH_SCHEME_<ID>`,
//! `ENDPOINT_AUTH_PARAMETER_<ID>_<KEY>` and `ENDPOINT_DATA_<ID>_<KEY>`.
//! [`ServiceEndpoint::load`] reads them into one value, preferring the JSON
//! and falling back to the per-parameter variables.

use std::collections::BTreeMap;

use crate::env::{Env, names, normalize_name};
use crate::secret::Secret;

/// A service connection's URL, auth scheme, auth parameters and data.
#[derive(Debug, Clone)]
pub struct ServiceEndpoint {
    /// The endpoint id (a GUID, or `SYSTEMVSSCONNECTION`).
    pub id: String,
    /// `ENDPOINT_URL_<ID>`, when set.
    pub url: Option<String>,
    /// The runtime auth scheme, e.g. `UsernamePassword`.
    pub scheme: String,
    parameters: BTreeMap<String, Secret>,
    data: BTreeMap<String, String>,
}

/// Why a service connection could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The agent exported nothing for this id.
    #[error(
        "The service connection '{id}' is not available to this job: the agent passed no authorization for it. \
         Check that the connection exists in this project, that this pipeline is authorised to use it, \
         and that the job is not a pull request from a fork (those get no secrets)."
    )]
    NotFound {
        /// The endpoint id.
        id: String,
    },
    /// `ENDPOINT_AUTH_<ID>` is not the JSON the agent writes.
    #[error(
        "The authorization of service connection '{id}' could not be read ({reason}). Re-save the service connection and run again."
    )]
    Malformed {
        /// The endpoint id.
        id: String,
        /// What was wrong, without any value.
        reason: String,
    },
}

#[derive(serde::Deserialize)]
struct AuthJson {
    #[serde(default)]
    scheme: String,
    #[serde(default)]
    parameters: BTreeMap<String, serde_json::Value>,
}

impl ServiceEndpoint {
    /// Read endpoint `id` from the environment.
    ///
    /// # Errors
    /// [`EndpointError::NotFound`] when the agent exported nothing for it,
    /// [`EndpointError::Malformed`] when its JSON cannot be read.
    pub fn load(env: &Env, id: &str) -> Result<Self, EndpointError> {
        let id = id.trim();
        // The agent writes the GUID in lower case; accept what the input held.
        let keys: Vec<String> = [id.to_owned(), id.to_lowercase(), normalize_name(id)]
            .into_iter()
            .collect();
        let find = |prefix: &str| {
            keys.iter()
                .find_map(|k| env.get(&format!("{prefix}{k}")).map(|v| (k.clone(), v)))
        };

        let url = find(names::ENDPOINT_URL_PREFIX)
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.trim().is_empty());
        let mut parameters = BTreeMap::new();
        let mut scheme = find(names::ENDPOINT_AUTH_SCHEME_PREFIX)
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default();
        let mut found = false;

        if let Some((_, json)) = find(names::ENDPOINT_AUTH_PREFIX) {
            found = true;
            let auth: AuthJson =
                serde_json::from_str(json).map_err(|e| EndpointError::Malformed {
                    id: id.to_owned(),
                    // serde_json's messages name positions, never the input's content.
                    reason: format!("ENDPOINT_AUTH_{id} is not valid JSON: {e}"),
                })?;
            if !auth.scheme.is_empty() {
                scheme = auth.scheme;
            }
            for (k, v) in auth.parameters {
                let value = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => continue,
                    other => other.to_string(),
                };
                parameters.insert(k.to_lowercase(), Secret::new(value));
            }
        }
        // Per-parameter variables fill what the JSON lacked (and are all we
        // have when a harness or an older agent exports only those).
        for key in &keys {
            let prefix = format!("{}{}_", names::ENDPOINT_AUTH_PARAMETER_PREFIX, key);
            for (k, v) in env.with_prefix(&prefix) {
                found = true;
                parameters
                    .entry(k.to_lowercase())
                    .or_insert_with(|| Secret::new(v));
            }
        }
        if !found && scheme.is_empty() {
            return Err(EndpointError::NotFound { id: id.to_owned() });
        }
        let mut data = BTreeMap::new();
        for key in &keys {
            let prefix = format!("{}{}_", names::ENDPOINT_DATA_PREFIX, key);
            for (k, v) in env.with_prefix(&prefix) {
                data.entry(k.to_lowercase()).or_insert_with(|| v.to_owned());
            }
        }
        Ok(Self {
            id: id.to_owned(),
            url,
            scheme,
            parameters,
            data,
        })
    }

    /// An auth parameter (case-insensitive key), `None` when absent.
    #[must_use]
    pub fn parameter(&self, key: &str) -> Option<&Secret> {
        self.parameters.get(&key.to_lowercase())
    }

    /// An auth parameter that is present and not blank, trimmed.
    #[must_use]
    pub fn parameter_non_empty(&self, key: &str) -> Option<Secret> {
        self.parameter(key)
            .filter(|s| !s.is_blank())
            .map(|s| Secret::new(s.expose().trim()))
    }

    /// Every auth parameter, keys lower-cased.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.parameters.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// An endpoint data entry (case-insensitive key).
    #[must_use]
    pub fn data(&self, key: &str) -> Option<&str> {
        self.data.get(&key.to_lowercase()).map(String::as_str)
    }
}

/// Auth parameter keys the agent does not treat as secret
/// (`MaskingUtil.IsEndpointAuthorizationParametersSecret`), lower case.
pub const NON_SECRET_PARAMETERS: &[&str] = &[
    "idtoken",
    "role",
    "scope",
    "tenantid",
    "issuedat",
    "expiresat",
    "audience",
    "authenticationtype",
    "authorizationtype",
];

/// Whether the agent would mask an auth parameter with this key. Booleans
/// are never worth masking: registering `true` would mask every `true` in
/// the log.
#[must_use]
pub fn is_secret_parameter(key: &str, value: &str) -> bool {
    let v = value.trim();
    !NON_SECRET_PARAMETERS.contains(&key.to_lowercase().as_str())
        && !v.is_empty()
        && !v.eq_ignore_ascii_case("true")
        && !v.eq_ignore_ascii_case("false")
}

/// The values of every exported endpoint's secret auth parameters, including
/// the job access token, so they can be registered before any output.
#[must_use]
pub fn secret_parameter_values(env: &Env) -> Vec<String> {
    let mut out = Vec::new();
    for (rest, value) in env.with_prefix(names::ENDPOINT_AUTH_PREFIX) {
        if let Some(param) = rest.strip_prefix("PARAMETER_") {
            let key = param.rsplit('_').next().unwrap_or(param);
            if is_secret_parameter(key, value) {
                out.push(value.to_owned());
            }
        } else if !rest.starts_with("SCHEME_")
            && let Ok(auth) = serde_json::from_str::<AuthJson>(value)
        {
            for (k, v) in auth.parameters {
                if let serde_json::Value::String(s) = v
                    && is_secret_parameter(&k, &s)
                {
                    out.push(s);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2b9c1e-0a4d-4c5e-9f00-1234567890ab";

    #[test]
    fn reads_json_url_and_data() {
        let env = Env::from_pairs([
            (format!("ENDPOINT_URL_{ID}"), "https://aws.amazon.com/".to_owned()),
            (
                format!("ENDPOINT_AUTH_{ID}"),
                r#"{"parameters":{"username":"AKIA","password":"pw","useOIDC":"true","n":null},"scheme":"UsernamePassword"}"#
                    .to_owned(),
            ),
            (format!("ENDPOINT_DATA_{ID}_REGION"), "eu-west-1".to_owned()),
        ]);
        let ep = ServiceEndpoint::load(&env, &ID.to_uppercase()).unwrap();
        assert_eq!(ep.scheme, "UsernamePassword");
        assert_eq!(ep.url.as_deref(), Some("https://aws.amazon.com/"));
        assert_eq!(ep.parameter("USERNAME").unwrap().expose(), "AKIA");
        assert_eq!(ep.parameter("useoidc").unwrap().expose(), "true");
        assert!(ep.parameter("n").is_none());
        assert_eq!(ep.data("Region"), Some("eu-west-1"));
    }

    #[test]
    fn falls_back_to_parameter_variables() {
        let env = Env::from_pairs([
            (format!("ENDPOINT_AUTH_SCHEME_{ID}"), "UsernamePassword"),
            (
                format!("ENDPOINT_AUTH_PARAMETER_{ID}_ASSUMEROLEARN"),
                "arn:aws:iam::1:role/r",
            ),
            (format!("ENDPOINT_AUTH_PARAMETER_{ID}_USERNAME"), "  "),
        ]);
        let ep = ServiceEndpoint::load(&env, ID).unwrap();
        assert_eq!(
            ep.parameter_non_empty("assumeRoleArn").unwrap().expose(),
            "arn:aws:iam::1:role/r"
        );
        assert!(ep.parameter_non_empty("username").is_none());
    }

    #[test]
    fn missing_and_malformed() {
        let env = Env::from_pairs([("ENDPOINT_AUTH_other", "{}")]);
        let err = ServiceEndpoint::load(&env, ID).unwrap_err();
        assert!(matches!(err, EndpointError::NotFound { .. }));
        assert!(err.to_string().contains("authorised to use it"));
        let env = Env::from_pairs([(format!("ENDPOINT_AUTH_{ID}"), "{\"parameters\": [secret")]);
        let err = ServiceEndpoint::load(&env, ID).unwrap_err();
        assert!(matches!(err, EndpointError::Malformed { .. }));
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn secret_parameters_follow_the_agent() {
        let env = Env::from_pairs([
            (
                format!("ENDPOINT_AUTH_{ID}"),
                r#"{"parameters":{"password":"pw1","useOIDC":"true","tenantId":"t"},"scheme":"x"}"#,
            ),
            (format!("ENDPOINT_AUTH_PARAMETER_{ID}_PASSWORD"), "pw1"),
            (
                "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN".to_owned(),
                "jobtoken",
            ),
            (
                "ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION".to_owned(),
                "OAuth",
            ),
        ]);
        let mut got = secret_parameter_values(&env);
        got.sort();
        got.dedup();
        assert_eq!(got, vec!["jobtoken", "pw1"]);
    }
}
