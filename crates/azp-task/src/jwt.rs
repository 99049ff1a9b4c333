//! Reading a JWT's claims for diagnostics.
//!
//! The task never verifies a token (STS does); it only decodes the payload to
//! show the `iss`, `aud` and `sub` a trust policy must match, and to know the
//! token's age. Nothing here logs the token itself.

use base64::Engine as _;

/// The claims of a job OIDC token that matter for federation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct JwtClaims {
    /// Issuer, e.g. `https://vstoken.dev.azure.com/<org id>`.
    #[serde(default)]
    pub iss: String,
    /// Subject, e.g. `sc://<org>/<project>/<connection>`.
    #[serde(default)]
    pub sub: String,
    /// Audiences (a single string in the token becomes one entry).
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<i64>,
}

/// A token that is not a readable JWT.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the token is not a JWT ({0})")]
pub struct JwtError(pub String);

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(
        match <Option<OneOrMany> as serde::Deserialize>::deserialize(d)? {
            None => Vec::new(),
            Some(OneOrMany::One(s)) => vec![s],
            Some(OneOrMany::Many(v)) => v,
        },
    )
}

/// Decode the payload of a compact JWS without verifying it.
///
/// # Errors
/// [`JwtError`] when the token does not have three parts or its payload is
/// not base64url JSON. The message never contains the token.
pub fn decode_claims(token: &str) -> Result<JwtClaims, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError("expected three dot-separated parts".into()));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| JwtError("the payload is not base64url".into()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| JwtError(format!("the payload is not JSON claims: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b.encode(r#"{"alg":"RS256"}"#),
            b.encode(payload)
        )
    }

    #[test]
    fn decodes_string_and_array_audiences() {
        let c = decode_claims(&token(r#"{"iss":"https://vstoken.dev.azure.com/o","sub":"sc://a/b/c","aud":"api://AzureADTokenExchange","exp":10}"#)).unwrap();
        assert_eq!(c.aud, vec!["api://AzureADTokenExchange"]);
        assert_eq!(c.sub, "sc://a/b/c");
        assert_eq!(c.exp, Some(10));
        let c = decode_claims(&token(r#"{"aud":["a","b"]}"#)).unwrap();
        assert_eq!(c.aud, vec!["a", "b"]);
    }

    #[test]
    fn rejects_non_jwts_without_echoing_them() {
        let err = decode_claims("supersecretopaquetoken").unwrap_err();
        assert!(!err.to_string().contains("supersecret"));
        assert!(decode_claims("a.!!!.c").is_err());
    }
}
