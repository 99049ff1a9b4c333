//! A service connection as the agent exports it (`ENDPOINT_*`).

use std::collections::BTreeMap;

/// A service connection as the agent exports it.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// `ENDPOINT_URL_<ID>`.
    pub url: String,
    /// Runtime auth scheme.
    pub scheme: String,
    /// Auth parameters.
    pub parameters: BTreeMap<String, String>,
    /// Parameters the endpoint type marks confidential (true secrets).
    pub confidential: Vec<String>,
    /// Endpoint data.
    pub data: BTreeMap<String, String>,
}

impl Endpoint {
    /// A service connection of this extension's endpoint type on its
    /// access-keys scheme, which is the toolkit's (basic, `UsernamePassword`
    /// in the agent's environment; `password` and `sessionToken`
    /// confidential).
    #[must_use]
    pub fn aws() -> Self {
        Self {
            url: "https://aws.amazon.com/".into(),
            scheme: "UsernamePassword".into(),
            confidential: vec!["password".into(), "sessionToken".into()],
            ..Self::default()
        }
    }

    /// A service connection of this extension's type on its "OIDC or role, no stored keys"
    /// scheme (`ms.vss-endpoint.endpoint-auth-scheme-none`, `None` in the
    /// agent's environment): no key fields at all.
    #[must_use]
    pub fn aws_without_keys() -> Self {
        Self {
            url: "https://aws.amazon.com/".into(),
            scheme: "None".into(),
            ..Self::default()
        }
    }

    /// Set an auth parameter.
    #[must_use]
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }

    /// Set an endpoint data entry.
    #[must_use]
    pub fn data(mut self, key: &str, value: &str) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}
