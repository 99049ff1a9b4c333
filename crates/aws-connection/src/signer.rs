//! What signed a call, so that a rejection says which fields to change.
//!
//! When AWS answers `InvalidClientTokenId`, `SignatureDoesNotMatch` or
//! `ExpiredToken` (STS API reference, "Common Errors"), retrying with the same
//! credentials cannot help and "run again later" would be wrong advice. The
//! fix is in the settings: which ones depends on where the credentials came
//! from, whether the key id is a long-term (`AKIA`) or temporary (`ASIA`)
//! one, and whether a session token was sent. [`Signer::advice`] says so
//! without showing the key (its first four characters only).

use crate::settings::{Origin, StaticKeys, fields};

/// The credentials a call was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// Keys from a service connection or the `AWS.*` variables.
    Keys {
        /// Where they came from.
        origin: Origin,
        /// The first four characters of the access key id.
        key_prefix: String,
        /// Whether a session token was sent with them.
        has_token: bool,
    },
    /// The agent's own credentials (the SDK's default chain).
    Ambient,
    /// A role session from an STS exchange.
    Session,
}

impl Signer {
    /// The signer for static keys from `origin`.
    #[must_use]
    pub fn keys(origin: &Origin, keys: &StaticKeys) -> Self {
        Self::Keys {
            origin: origin.clone(),
            key_prefix: keys.key_prefix(),
            has_token: keys.session_token.is_some(),
        }
    }

    /// "the access keys of service connection ID", "the AWS.AccessKeyID and
    /// AWS.SecretAccessKey variables", ...
    #[must_use]
    pub fn whose(&self) -> String {
        match self {
            Self::Keys {
                origin: Origin::Connection(id),
                ..
            } => format!("the access keys of service connection {id}"),
            Self::Keys { .. } => {
                "the access keys of the AWS.AccessKeyID and AWS.SecretAccessKey variables"
                    .to_owned()
            }
            Self::Ambient => "the agent's own AWS credentials".to_owned(),
            Self::Session => "the role session's credentials".to_owned(),
        }
    }

    /// What to change after AWS rejected these credentials with `code`, as
    /// one or more sentences.
    #[must_use]
    pub fn advice(&self, code: &str) -> String {
        crate::settings::capitalise(&self.advice_text(code))
    }

    fn advice_text(&self, code: &str) -> String {
        let generic = aws_clients::error::advice(code).unwrap_or_default();
        let Self::Keys {
            origin,
            key_prefix,
            has_token,
        } = self
        else {
            return match self {
                Self::Ambient => format!(
                    "Check the agent's own credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and \
                     AWS_SESSION_TOKEN in its environment, its shared credentials file and profile, or its \
                     instance role. {generic}"
                ),
                _ => generic.to_owned(),
            }
            .trim()
            .to_owned();
        };
        let id = origin.field(fields::ACCESS_KEY_ID);
        let secret = origin.field(fields::SECRET_ACCESS_KEY);
        let token = origin.field(fields::SESSION_TOKEN);
        let oidc = match origin {
            Origin::Connection(_) => {
                "Better still, tick Use OIDC on the connection with a Role to Assume: then no keys are stored."
            }
            _ => {
                "Better still, use an AWS service connection with Use OIDC: then no keys are stored."
            }
        };
        let kind = match key_prefix.as_str() {
            "AKIA" => "starts with AKIA, a long-term IAM user key",
            "ASIA" => "starts with ASIA, a temporary key",
            _ => "does not start with AKIA or ASIA, as AWS access key ids do",
        };
        match code {
            "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
                match (key_prefix.as_str(), has_token) {
                    ("ASIA", false) => format!(
                        "{id} {kind}, which only works with the session token it was issued with, and {token} is \
                         empty. Store a long-term key pair instead. {oidc}"
                    ),
                    ("ASIA", true) => format!(
                        "{id} {kind}; its session has probably ended, so AWS no longer knows it. Stored temporary \
                         keys stop working when their session ends: store a long-term key pair without a session \
                         token instead. {oidc}"
                    ),
                    ("AKIA", _) => format!(
                        "{id} {kind}, and AWS does not know it: it was deleted or deactivated, or it belongs to \
                         another partition (China, GovCloud). Create a new access key and replace {id} and {secret}. \
                         {oidc}"
                    ),
                    _ => format!(
                        "{id} {kind}: check that the field holds the key id and not the secret. {oidc}"
                    ),
                }
            }
            "SignatureDoesNotMatch" | "IncompleteSignature" => format!(
                "{secret} does not belong to {id} ({kind}): enter the secret that was issued with that key id; a \
                 pasted secret often has a character missing or extra. {oidc}"
            ),
            "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" | "InvalidToken"
                if *has_token =>
            {
                format!(
                    "{token} has expired ({id} {kind}). Stored temporary keys stop working when their session \
                     ends: store a long-term key pair without a session token instead. {oidc}"
                )
            }
            _ => generic.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6a0e3c52-8f1d-4b7a-9c2e-3d4f5a6b7c8d";

    fn keys(prefix: &str, has_token: bool) -> Signer {
        Signer::Keys {
            origin: Origin::Connection(ID.into()),
            key_prefix: prefix.into(),
            has_token,
        }
    }

    #[test]
    fn unknown_keys_name_the_fields_and_the_kind_of_key() {
        let a = keys("AKIA", false).advice("InvalidClientTokenId");
        assert!(a.starts_with(&format!(
            "The Access Key ID (username) of service connection {ID} starts with AKIA, a long-term IAM user key, and AWS does not know it"
        )), "{a}");
        assert!(a.contains("replace the Access Key ID (username)"), "{a}");
        let a = keys("ASIA", false).advice("InvalidClientTokenId");
        assert!(
            a.contains("Session Token (sessionToken)") && a.contains("is empty"),
            "{a}"
        );
        let a = keys("wJal", false).advice("InvalidClientTokenId");
        assert!(a.contains("does not start with AKIA or ASIA"), "{a}");
    }

    #[test]
    fn expired_tokens_and_wrong_secrets() {
        let a = keys("ASIA", true).advice("ExpiredToken");
        assert!(
            a.starts_with("The Session Token (sessionToken) of service connection"),
            "{a}"
        );
        assert!(!a.contains("later"), "{a}");
        let a = keys("AKIA", false).advice("SignatureDoesNotMatch");
        assert!(a.starts_with("The Secret Access Key (password)"), "{a}");
        let v = Signer::Keys {
            origin: Origin::Variables,
            key_prefix: "AKIA".into(),
            has_token: false,
        };
        assert!(
            v.advice("SignatureDoesNotMatch")
                .starts_with("The pipeline variable AWS.SecretAccessKey")
        );
    }
}
