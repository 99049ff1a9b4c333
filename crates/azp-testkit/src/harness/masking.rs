//! What the agent masks, and how: every value it knows to be secret is
//! replaced with `***` in every line it logs, longest first.

use std::collections::BTreeMap;

use azp_task::endpoint::NON_SECRET_PARAMETERS;

use super::endpoint::Endpoint;

pub(super) fn mask(line: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = line.to_owned();
    for s in sorted {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// Values the agent masks before the task prints anything, and the subset
/// that are true secrets (for the leak check): the job access token, secret
/// variables, and every endpoint auth parameter the agent treats as secret
/// (`MaskingUtil.IsEndpointAuthorizationParametersSecret`).
pub(super) fn agent_secrets(
    access_token: &str,
    secret_variables: &[(String, String)],
    endpoints: &BTreeMap<String, Endpoint>,
) -> (Vec<String>, Vec<String>) {
    let mut masked = vec![access_token.to_owned()];
    let mut secrets = vec![access_token.to_owned()];
    for (_, v) in secret_variables {
        masked.push(v.clone());
        secrets.push(v.clone());
    }
    for ep in endpoints.values() {
        for (k, v) in &ep.parameters {
            let lower = k.to_lowercase();
            // Deviation: boolean values are not masked here, so the log
            // stays readable; the agent would mask even "true".
            if !NON_SECRET_PARAMETERS.contains(&lower.as_str())
                && !v.trim().is_empty()
                && v != "true"
                && v != "false"
            {
                masked.push(v.clone());
            }
            if ep.confidential.iter().any(|c| c.eq_ignore_ascii_case(k)) && !v.trim().is_empty() {
                secrets.push(v.clone());
            }
        }
    }
    (masked, secrets)
}
