//! What the service connection (or the job's variables) asks for, decided
//! before any network call.
//!
//! [`plan`] reads the `AWS` connection's parameters (`username`, `password`,
//! `sessionToken`, `assumeRoleArn`, `roleSessionName`, `externalId`,
//! `useOIDC`) or, with no connection, the `AWS.*` variables, checks them, and
//! returns a [`Plan`]:
//! 1. OIDC on and a role set: web identity federation. A failure there is
//!    final; nothing falls back to keys or ambient credentials.
//! 2. Keys: static credentials, or `AssumeRole` with them when a role is set.
//! 3. A role alone: `AssumeRole` with the agent's ambient credentials.
//! 4. No connection and no variables: the SDK's default chain.

use std::time::Duration;

use azp_task::endpoint::ServiceEndpoint;
use azp_task::variables::Variables;
use azp_task::{Env, Secret};

use crate::error::ConnectError;

/// Pipeline variables read by the credential resolution.
pub mod vars {
    /// Access key id when no connection is selected.
    pub const ACCESS_KEY_ID: &str = "AWS.AccessKeyID";
    /// Secret access key when no connection is selected.
    pub const SECRET_ACCESS_KEY: &str = "AWS.SecretAccessKey";
    /// Session token when no connection is selected.
    pub const SESSION_TOKEN: &str = "AWS.SessionToken";
    /// Role to assume when no connection is selected.
    pub const ASSUME_ROLE_ARN: &str = "AWS.AssumeRoleArn";
    /// External id when no connection is selected.
    pub const EXTERNAL_ID: &str = "AWS.ExternalId";
    /// Role session name when no connection is selected.
    pub const ROLE_SESSION_NAME: &str = "AWS.RoleSessionName";
    /// Session duration in seconds, 900–43200.
    pub const MAX_DURATION: &str = "aws.rolecredential.maxduration";
    /// Set to `false` to skip the `sts:GetCallerIdentity` check.
    pub const VERIFY_IDENTITY: &str = "AWS.VerifyIdentity";
    /// Region (exported by the agent as `AWS_REGION`, the SDKs' own name).
    pub const REGION: &str = "AWS.Region";
}

/// Service connection parameter keys (the toolkit's endpoint type).
pub mod params {
    /// Access key id.
    pub const USERNAME: &str = "username";
    /// Secret access key.
    pub const PASSWORD: &str = "password";
    /// Session token.
    pub const SESSION_TOKEN: &str = "sessionToken";
    /// Role to assume.
    pub const ASSUME_ROLE_ARN: &str = "assumeRoleArn";
    /// Role session name.
    pub const ROLE_SESSION_NAME: &str = "roleSessionName";
    /// External id.
    pub const EXTERNAL_ID: &str = "externalId";
    /// The Use OIDC checkbox.
    pub const USE_OIDC: &str = "useOIDC";
    /// Every key, in the endpoint type's order.
    pub const ALL: &[&str] = &[
        USERNAME,
        PASSWORD,
        SESSION_TOKEN,
        ASSUME_ROLE_ARN,
        ROLE_SESSION_NAME,
        EXTERNAL_ID,
        USE_OIDC,
    ];
}

/// The toolkit's default role session name, kept so CloudTrail queries keep working.
pub const DEFAULT_SESSION_NAME: &str = "aws-vsts-tools";
/// Default session length: one hour, as the AWS CLI and configure-aws-credentials use.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
/// Shortest session STS grants.
pub const MIN_DURATION: Duration = Duration::from_secs(900);
/// Longest session STS grants.
pub const MAX_DURATION: Duration = Duration::from_secs(43200);

/// A field the credentials come from, named the way the user sees it: the
/// connection editor's label and parameter id, or the pipeline variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The label in the service connection editor.
    pub label: &'static str,
    /// The endpoint parameter id.
    pub param: &'static str,
    /// The pipeline variable used without a connection.
    pub variable: &'static str,
}

/// The fields of the `AWS` endpoint type and their variables.
pub mod fields {
    use super::{Field, params, vars};

    const fn field(label: &'static str, param: &'static str, variable: &'static str) -> Field {
        Field {
            label,
            param,
            variable,
        }
    }

    /// Access Key ID.
    pub const ACCESS_KEY_ID: Field = field("Access Key ID", params::USERNAME, vars::ACCESS_KEY_ID);
    /// Secret Access Key.
    pub const SECRET_ACCESS_KEY: Field = field(
        "Secret Access Key",
        params::PASSWORD,
        vars::SECRET_ACCESS_KEY,
    );
    /// Session Token.
    pub const SESSION_TOKEN: Field =
        field("Session Token", params::SESSION_TOKEN, vars::SESSION_TOKEN);
    /// Role to Assume.
    pub const ROLE: Field = field(
        "Role to Assume",
        params::ASSUME_ROLE_ARN,
        vars::ASSUME_ROLE_ARN,
    );
    /// Role Session Name.
    pub const SESSION_NAME: Field = field(
        "Role Session Name",
        params::ROLE_SESSION_NAME,
        vars::ROLE_SESSION_NAME,
    );
    /// External ID.
    pub const EXTERNAL_ID: Field = field("External ID", params::EXTERNAL_ID, vars::EXTERNAL_ID);
    /// The credential variables, which a selected connection overrides.
    pub const CREDENTIAL_VARIABLES: &[Field] = &[
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        SESSION_TOKEN,
        ROLE,
        SESSION_NAME,
        EXTERNAL_ID,
    ];
}

/// A role ARN, split into the parts error messages need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    /// The whole ARN.
    pub arn: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// The 12-digit account.
    pub account: String,
    /// The role name (with path).
    pub name: String,
}

impl RoleArn {
    /// "role NAME in account ACCOUNT": how messages name the role. The agent
    /// masks every service connection parameter as if it were secret, so the
    /// ARN itself would show as `***` in the log; this form stays readable.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("role {} in account {}", self.name, self.account)
    }

    /// Parse and check a role ARN by IAM's grammar (see [`crate::iam`]).
    /// `field` names where it came from, for the message.
    ///
    /// # Errors
    /// [`ConnectError::InvalidRoleArn`], saying which rule failed and
    /// where, without repeating the value.
    pub fn parse(value: &str, field: &str) -> Result<Self, ConnectError> {
        let value = value.trim();
        let parts =
            crate::iam::parse_role_arn(value).map_err(|problem| ConnectError::InvalidRoleArn {
                field: field.to_owned(),
                problem: problem.0,
            })?;
        Ok(Self {
            arn: value.to_owned(),
            partition: parts.partition,
            account: parts.account,
            name: parts.name,
        })
    }
}

/// A role to assume and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role.
    pub arn: RoleArn,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `ExternalId` (AssumeRole only).
    pub external_id: Option<Secret>,
    /// `DurationSeconds`.
    pub duration: Duration,
}

/// Static keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticKeys {
    /// Access key id.
    pub access_key_id: Secret,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token, for keys that are already temporary.
    pub session_token: Option<Secret>,
}

impl StaticKeys {
    /// The first four characters of the access key id (`AKIA` for a
    /// long-term IAM user key, `ASIA` for a temporary one), which are safe to
    /// show and tell the two apart.
    #[must_use]
    pub fn key_prefix(&self) -> String {
        self.access_key_id.expose().trim().chars().take(4).collect()
    }

    /// Whether the access key id is a long-term IAM user key (`AKIA…`),
    /// which never comes with a session token.
    #[must_use]
    pub fn is_long_term(&self) -> bool {
        self.key_prefix() == "AKIA"
    }
}

/// How credentials will be obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// OIDC token from Azure DevOps, then `AssumeRoleWithWebIdentity`.
    WebIdentity {
        /// The service connection whose token is requested.
        connection_id: String,
        /// The role.
        role: RoleSpec,
    },
    /// Static keys, optionally exchanged through `AssumeRole`.
    Keys {
        /// The keys.
        keys: StaticKeys,
        /// The role to assume with them.
        role: Option<RoleSpec>,
    },
    /// The agent's own credentials (SDK default chain), optionally exchanged
    /// through `AssumeRole`.
    Ambient {
        /// The role to assume with them.
        role: Option<RoleSpec>,
    },
}

/// Where the settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A service connection, by id.
    Connection(String),
    /// The `AWS.*` variables.
    Variables,
    /// Nothing configured.
    Ambient,
}

impl Origin {
    /// How a message names `field` of this origin: "the Role to Assume
    /// (assumeRoleArn) of service connection ID" or "the pipeline variable
    /// AWS.AssumeRoleArn".
    #[must_use]
    pub fn field(&self, field: Field) -> String {
        match self {
            Self::Connection(id) => format!(
                "the {} ({}) of service connection {id}",
                field.label, field.param
            ),
            Self::Variables | Self::Ambient => format!("the pipeline variable {}", field.variable),
        }
    }

    /// "service connection ID", "the AWS.* pipeline variables" or "the
    /// agent's own AWS credentials".
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Connection(id) => format!("service connection {id}"),
            Self::Variables => "the AWS.* pipeline variables".to_owned(),
            Self::Ambient => "the agent's own AWS credentials".to_owned(),
        }
    }
}

/// A plan with the warnings raised while making it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Where its settings came from.
    pub origin: Origin,
    /// Warnings for the log.
    pub warnings: Vec<String>,
}

/// The session length from `aws.rolecredential.maxduration`, with a warning
/// when the value was unusable.
#[must_use]
pub fn session_duration(vars: &Variables<'_>) -> (Duration, Option<String>) {
    let Some(raw) = vars.get(vars::MAX_DURATION) else {
        return (DEFAULT_DURATION, None);
    };
    match raw.trim().parse::<u64>() {
        Ok(s) if (MIN_DURATION.as_secs()..=MAX_DURATION.as_secs()).contains(&s) => {
            (Duration::from_secs(s), None)
        }
        _ => (
            DEFAULT_DURATION,
            Some(format!(
                "The variable {} is '{raw}', which is not a number of seconds from {} to {}; using {} seconds.",
                vars::MAX_DURATION,
                MIN_DURATION.as_secs(),
                MAX_DURATION.as_secs(),
                DEFAULT_DURATION.as_secs()
            )),
        ),
    }
}

/// Check a role session name against STS's rule, `[\w+=,.@-]{2,64}`.
///
/// # Errors
/// [`ConnectError::InvalidSessionName`], naming the rule and position
/// without repeating the value.
pub fn check_session_name(name: &str, field: &str) -> Result<(), ConnectError> {
    crate::iam::check_session_name(name).map_err(|problem| ConnectError::InvalidSessionName {
        field: field.to_owned(),
        problem: problem.0,
    })
}

/// How to clear a field of a connection: the editor keeps stored secrets
/// (AWS Toolkit issue #564), so say what does work.
fn how_to_clear(id: &str) -> String {
    format!(
        "The connection editor cannot clear a stored secret; to remove it, recreate the connection under the same \
         name, or update it through the REST API (PUT _apis/serviceendpoint/endpoints/{id}) or with \
         `az devops service-endpoint update --id {id} --service-endpoint-configuration <file>`, leaving the field empty."
    )
}

/// The settings of one origin, before deciding.
struct Raw {
    origin: Origin,
    access_key_id: Option<Secret>,
    secret_access_key: Option<Secret>,
    session_token: Option<Secret>,
    role: Option<String>,
    session_name: Option<String>,
    external_id: Option<Secret>,
}

impl Raw {
    fn keys(&mut self, warnings: &mut Vec<String>) -> Result<Option<StaticKeys>, ConnectError> {
        match (self.access_key_id.take(), self.secret_access_key.take()) {
            (Some(access_key_id), Some(secret_access_key)) => {
                let mut keys = StaticKeys {
                    access_key_id,
                    secret_access_key,
                    session_token: self.session_token.take(),
                };
                if keys.is_long_term() && keys.session_token.is_some() {
                    keys.session_token = None;
                    let clear = match &self.origin {
                        Origin::Connection(id) => how_to_clear(id),
                        _ => format!("Remove the variable {}.", vars::SESSION_TOKEN),
                    };
                    warnings.push(format!(
                        "{} is set next to a long-term access key ({} starts with AKIA). Long-term keys take no \
                         session token, so this one is stale; it is ignored and is not sent to AWS or to the \
                         script. {clear}",
                        capitalise(&self.origin.field(fields::SESSION_TOKEN)),
                        self.origin.field(fields::ACCESS_KEY_ID)
                    ));
                }
                Ok(Some(keys))
            }
            (None, None) => Ok(None),
            (id, _) => Err(ConnectError::PartialKeys {
                origin: self.origin.describe(),
                missing: self.origin.field(if id.is_some() {
                    fields::SECRET_ACCESS_KEY
                } else {
                    fields::ACCESS_KEY_ID
                }),
            }),
        }
    }

    fn role(
        &mut self,
        duration: Duration,
        warnings: &mut Vec<String>,
    ) -> Result<Option<RoleSpec>, ConnectError> {
        let Some(arn) = self.role.take() else {
            for (value, field) in [
                (self.session_name.is_some(), fields::SESSION_NAME),
                (self.external_id.is_some(), fields::EXTERNAL_ID),
            ] {
                if value {
                    warnings.push(format!(
                        "{} is set, but there is no {}: it is only used when assuming a role, so it has no effect.",
                        capitalise(&self.origin.field(field)),
                        match self.origin {
                            Origin::Connection(_) => "Role to Assume".to_owned(),
                            _ => format!("variable {}", vars::ASSUME_ROLE_ARN),
                        }
                    ));
                }
            }
            return Ok(None);
        };
        let arn = RoleArn::parse(&arn, &capitalise(&self.origin.field(fields::ROLE)))?;
        let session_name = self
            .session_name
            .take()
            .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
        check_session_name(
            &session_name,
            &capitalise(&self.origin.field(fields::SESSION_NAME)),
        )?;
        Ok(Some(RoleSpec {
            arn,
            session_name,
            external_id: self.external_id.take(),
            duration,
        }))
    }
}

/// `s` with its first letter in upper case.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Decide how to get credentials.
///
/// # Errors
/// A [`ConnectError`] for settings that cannot work: half a key pair,
/// OIDC without a role, a Use OIDC value that is neither true nor false, an
/// empty connection, a malformed role ARN or session name.
pub fn plan(env: &Env, connection: Option<&ServiceEndpoint>) -> Result<Planned, ConnectError> {
    let vars = Variables::new(env);
    let (duration, duration_warning) = session_duration(&vars);
    let mut warnings: Vec<String> = duration_warning.into_iter().collect();
    let get_var = |n: &str| {
        vars.get(n)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };

    let Some(ep) = connection else {
        let mut raw = Raw {
            origin: Origin::Variables,
            access_key_id: get_var(vars::ACCESS_KEY_ID).map(Secret::new),
            secret_access_key: get_var(vars::SECRET_ACCESS_KEY).map(Secret::new),
            session_token: get_var(vars::SESSION_TOKEN).map(Secret::new),
            role: get_var(vars::ASSUME_ROLE_ARN),
            session_name: get_var(vars::ROLE_SESSION_NAME),
            external_id: get_var(vars::EXTERNAL_ID).map(Secret::new),
        };
        let keys = raw.keys(&mut warnings)?;
        let role = raw.role(duration, &mut warnings)?;
        let (plan, origin) = match (keys, role) {
            (Some(keys), role) => (Plan::Keys { keys, role }, Origin::Variables),
            (None, Some(role)) => (Plan::Ambient { role: Some(role) }, Origin::Variables),
            (None, None) => (Plan::Ambient { role: None }, Origin::Ambient),
        };
        return Ok(Planned {
            plan,
            origin,
            warnings,
        });
    };

    let origin = Origin::Connection(ep.id.clone());
    let param = |k: &str| ep.parameter_non_empty(k);
    let use_oidc = match param(params::USE_OIDC) {
        None => false,
        Some(v) => azp_task::variables::parse_bool(v.expose()).ok_or_else(|| {
            ConnectError::InvalidCheckbox {
                connection: ep.id.clone(),
                label: "Use OIDC",
                param: params::USE_OIDC,
            }
        })?,
    };
    let ignored_variables: Vec<&str> = fields::CREDENTIAL_VARIABLES
        .iter()
        .map(|f| f.variable)
        .filter(|v| get_var(v).is_some())
        .collect();
    if !ignored_variables.is_empty() {
        warnings.push(format!(
            "The pipeline variable{} {} {} set, but this task uses service connection {}, so {} ignored, as \
             with the AWS Toolkit. Remove {}, or clear the task's AWS Credentials input to use {}.",
            if ignored_variables.len() == 1 { "" } else { "s" },
            ignored_variables.join(", "),
            if ignored_variables.len() == 1 { "is" } else { "are" },
            ep.id,
            if ignored_variables.len() == 1 { "it is" } else { "they are" },
            if ignored_variables.len() == 1 { "it" } else { "them" },
            if ignored_variables.len() == 1 { "it" } else { "them" },
        ));
    }
    let mut raw = Raw {
        origin: origin.clone(),
        access_key_id: param(params::USERNAME),
        secret_access_key: param(params::PASSWORD),
        session_token: param(params::SESSION_TOKEN),
        role: param(params::ASSUME_ROLE_ARN).map(|s| s.expose().to_owned()),
        session_name: param(params::ROLE_SESSION_NAME).map(|s| s.expose().to_owned()),
        external_id: param(params::EXTERNAL_ID),
    };
    let plan = if use_oidc {
        // With OIDC the keys are ignored, so half a pair left behind (the UI
        // cannot clear a stored secret) must not block the switch to OIDC.
        let left_over: Vec<&str> = [
            (&raw.access_key_id, fields::ACCESS_KEY_ID),
            (&raw.secret_access_key, fields::SECRET_ACCESS_KEY),
            (&raw.session_token, fields::SESSION_TOKEN),
        ]
        .iter()
        .filter(|(v, _)| v.is_some())
        .map(|(_, f)| f.label)
        .collect();
        let external_id = raw.external_id.take();
        let Some(role) = raw.role(duration, &mut warnings)? else {
            return Err(ConnectError::OidcWithoutRole {
                connection: ep.id.clone(),
            });
        };
        if !left_over.is_empty() {
            warnings.push(format!(
                "Service connection {} has Use OIDC set and also a stored {}; with OIDC it is not used. {}",
                ep.id,
                left_over.join(", "),
                how_to_clear(&ep.id)
            ));
        }
        if external_id.is_some() {
            warnings.push(format!(
                "Service connection {} has an External ID, which AssumeRoleWithWebIdentity does not take; it is ignored.",
                ep.id
            ));
        }
        Plan::WebIdentity {
            connection_id: ep.id.clone(),
            role,
        }
    } else {
        let keys = raw.keys(&mut warnings)?;
        match (keys, raw.role(duration, &mut warnings)?) {
            (Some(keys), role) => Plan::Keys { keys, role },
            (None, Some(role)) => Plan::Ambient { role: Some(role) },
            (None, None) => {
                return Err(ConnectError::EmptyConnection {
                    connection: ep.id.clone(),
                });
            }
        }
    };
    Ok(Planned {
        plan,
        origin,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6a0e3c52-8f1d-4b7a-9c2e-3d4f5a6b7c8d";
    const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";

    fn connection(params: &[(&str, &str)]) -> ServiceEndpoint {
        let json = serde_json::json!({
            "scheme": "UsernamePassword",
            "parameters": params.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        });
        let env = Env::from_pairs([(format!("ENDPOINT_AUTH_{ID}"), json.to_string())]);
        ServiceEndpoint::load(&env, ID).unwrap()
    }

    fn plan_of(
        env: &[(&str, &str)],
        params: Option<&[(&str, &str)]>,
    ) -> Result<Planned, ConnectError> {
        let ep = params.map(connection);
        plan(&Env::from_pairs(env.iter().copied()), ep.as_ref())
    }

    #[test]
    fn oidc_with_role_is_web_identity_and_ignores_keys_with_a_warning() {
        let p = plan_of(
            &[],
            Some(&[
                ("useOIDC", "true"),
                ("assumeRoleArn", ROLE),
                ("username", "AKIA"),
                ("password", "s"),
            ]),
        )
        .unwrap();
        let Plan::WebIdentity {
            connection_id,
            role,
        } = p.plan
        else {
            panic!("{p:?}")
        };
        assert_eq!(connection_id, ID);
        assert_eq!(role.session_name, "aws-vsts-tools");
        assert_eq!(role.duration, Duration::from_secs(3600));
        assert_eq!(role.arn.account, "123456789012");
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].contains("has Use OIDC set and also a stored Access Key ID, Secret Access Key; with OIDC it is not used"),
            "{:?}",
            p.warnings
        );
        // The connection editor cannot clear a stored secret (toolkit #564):
        // the warning says what can.
        assert!(p.warnings[0].contains("recreate the connection under the same name"));
        assert!(p.warnings[0].contains("az devops service-endpoint update --id"));
    }

    #[test]
    fn oidc_ignores_half_a_key_pair_left_from_before() {
        let p = plan_of(
            &[],
            Some(&[
                ("useOIDC", "true"),
                ("assumeRoleArn", ROLE),
                ("password", "left-over"),
            ]),
        )
        .unwrap();
        assert!(matches!(p.plan, Plan::WebIdentity { .. }));
        assert!(
            p.warnings[0].contains("also a stored Secret Access Key; with OIDC it is not used"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn oidc_without_role_fails() {
        let err = plan_of(&[], Some(&[("useOIDC", "true")])).unwrap_err();
        assert!(matches!(err, ConnectError::OidcWithoutRole { .. }));
        assert!(err.to_string().contains("Role to Assume"), "{err}");
    }

    #[test]
    fn keys_with_and_without_role() {
        let p = plan_of(
            &[],
            Some(&[
                ("username", "AKIA"),
                ("password", "s"),
                ("useOIDC", "false"),
            ]),
        )
        .unwrap();
        assert!(matches!(p.plan, Plan::Keys { role: None, .. }));
        let p = plan_of(
            &[],
            Some(&[
                ("username", "ASIATEMPORARYKEY0001"),
                ("password", "s"),
                ("sessionToken", "t"),
                ("assumeRoleArn", ROLE),
                ("externalId", "ext-1"),
                ("roleSessionName", "ci@x"),
            ]),
        )
        .unwrap();
        let Plan::Keys {
            keys,
            role: Some(role),
        } = p.plan
        else {
            panic!()
        };
        assert_eq!(keys.session_token.unwrap().expose(), "t");
        assert_eq!(role.external_id.unwrap().expose(), "ext-1");
        assert_eq!(role.session_name, "ci@x");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_session_token_next_to_a_long_term_key_is_dropped() {
        // Long-term IAM user keys (AKIA) take no session token (IAM user
        // guide, "Understanding unique ID prefixes"; STS: only temporary
        // ASIA keys come with one).
        let p = plan_of(
            &[],
            Some(&[
                ("username", "AKIAIOSFODNN7EXAMPLE"),
                ("password", "s"),
                ("sessionToken", "stale"),
            ]),
        )
        .unwrap();
        let Plan::Keys { keys, .. } = p.plan else {
            panic!()
        };
        assert!(keys.session_token.is_none());
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].starts_with(&format!(
                "The Session Token (sessionToken) of service connection {ID} is set next to a long-term access key"
            )),
            "{}",
            p.warnings[0]
        );
        assert!(p.warnings[0].contains("not sent to AWS or to the script"));
        let p = plan_of(
            &[
                ("AWS_ACCESSKEYID", "AKIAIOSFODNN7EXAMPLE"),
                ("SECRET_AWS_SECRETACCESSKEY", "s"),
                ("SECRET_AWS_SESSIONTOKEN", "stale"),
            ],
            None,
        )
        .unwrap();
        let Plan::Keys { keys, .. } = p.plan else {
            panic!()
        };
        assert!(keys.session_token.is_none());
        assert!(p.warnings[0].starts_with("The pipeline variable AWS.SessionToken is set next to"));
        assert!(p.warnings[0].ends_with("Remove the variable AWS.SessionToken."));
    }

    #[test]
    fn use_oidc_is_true_or_false_and_nothing_else() {
        for (value, oidc) in [
            ("true", true),
            ("True", true),
            ("FALSE", false),
            ("", false),
        ] {
            let p = plan_of(
                &[],
                Some(&[
                    ("useOIDC", value),
                    ("assumeRoleArn", ROLE),
                    ("username", "AKIAIOSFODNN7EXAMPLE"),
                    ("password", "s"),
                ]),
            )
            .unwrap();
            assert_eq!(matches!(p.plan, Plan::WebIdentity { .. }), oidc, "{value}");
        }
        for value in ["1", "yes", "on"] {
            let err =
                plan_of(&[], Some(&[("useOIDC", value), ("assumeRoleArn", ROLE)])).unwrap_err();
            assert!(
                matches!(err, ConnectError::InvalidCheckbox { .. }),
                "{value}"
            );
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "The Use OIDC (useOIDC) field of service connection {ID} is neither true nor false"
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn settings_without_effect_are_warned_about() {
        let p = plan_of(
            &[],
            Some(&[
                ("username", "AKIAIOSFODNN7EXAMPLE"),
                ("password", "s"),
                ("externalId", "e"),
                ("roleSessionName", "ci"),
            ]),
        )
        .unwrap();
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].starts_with(&format!(
            "The Role Session Name (roleSessionName) of service connection {ID} is set, but there is no Role to Assume"
        )));
        assert!(p.warnings[1].contains("External ID (externalId)"));
        let p = plan_of(
            &[
                ("AWS_ACCESSKEYID", "AKIAIOSFODNN7EXAMPLE"),
                ("AWS_EXTERNALID", "e"),
            ],
            Some(&[("useOIDC", "true"), ("assumeRoleArn", ROLE)]),
        )
        .unwrap();
        assert_eq!(
            p.warnings,
            vec![format!(
                "The pipeline variables AWS.AccessKeyID, AWS.ExternalId are set, but this task uses service \
                 connection {ID}, so they are ignored, as with the AWS Toolkit. Remove them, or clear the task's AWS \
                 Credentials input to use them."
            )]
        );
    }

    #[test]
    fn half_a_key_pair_fails() {
        let err = plan_of(&[], Some(&[("username", "AKIA")])).unwrap_err();
        assert!(err.to_string().contains("Secret Access Key"), "{err}");
        let err = plan_of(&[("AWS_SECRETACCESSKEY", "s")], None).unwrap_err();
        assert!(err.to_string().contains("Access Key ID"), "{err}");
    }

    #[test]
    fn role_only_uses_ambient_credentials() {
        let p = plan_of(&[], Some(&[("assumeRoleArn", ROLE), ("externalId", "e")])).unwrap();
        assert!(matches!(p.plan, Plan::Ambient { role: Some(_) }));
    }

    #[test]
    fn an_empty_connection_fails() {
        let err = plan_of(&[], Some(&[("useOIDC", "false")])).unwrap_err();
        assert!(matches!(err, ConnectError::EmptyConnection { .. }));
    }

    #[test]
    fn variables_without_a_connection() {
        let p = plan_of(
            &[
                ("AWS_ACCESSKEYID", "AKIA"),
                ("SECRET_AWS_SECRETACCESSKEY", "s"),
                ("AWS_ASSUMEROLEARN", ROLE),
                ("AWS_ROLESESSIONNAME", "vars"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(p.origin, Origin::Variables);
        let Plan::Keys {
            role: Some(role), ..
        } = p.plan
        else {
            panic!()
        };
        assert_eq!(role.session_name, "vars");
        let p = plan_of(&[], None).unwrap();
        assert_eq!(p.plan, Plan::Ambient { role: None });
        assert_eq!(p.origin, Origin::Ambient);
    }

    #[test]
    fn duration_variable() {
        let d = |v: &str| {
            session_duration(&Variables::new(&Env::from_pairs([(
                "AWS_ROLECREDENTIAL_MAXDURATION",
                v,
            )])))
        };
        assert_eq!(d("7200"), (Duration::from_secs(7200), None));
        for bad in ["60", "50000", "1h"] {
            let (dur, warning) = d(bad);
            assert_eq!(dur, Duration::from_secs(3600));
            let w = warning.unwrap();
            assert!(
                w.contains("aws.rolecredential.maxduration")
                    && w.contains("900 to 43200")
                    && w.contains("using 3600"),
                "{w}"
            );
        }
        assert_eq!(
            session_duration(&Variables::new(&Env::default())).0,
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn session_names_and_role_arns_are_checked() {
        assert!(check_session_name("aws-vsts-tools", "x").is_ok());
        assert!(check_session_name("a", "x").is_err());
        assert!(check_session_name("has space", "x").is_err());
        assert!(check_session_name(&"a".repeat(65), "x").is_err());
        let err = plan_of(
            &[],
            Some(&[
                ("useOIDC", "true"),
                ("assumeRoleArn", ROLE),
                ("roleSessionName", "bad name!"),
            ]),
        )
        .unwrap_err();
        assert!(matches!(err, ConnectError::InvalidSessionName { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "The Role Session Name (roleSessionName) of service connection {ID} is not a valid role session \
                 name: character 4 is a space; a role session name allows only letters, digits and + = , . @ _ -."
            )
        );
        let err = plan_of(
            &[],
            Some(&[
                ("useOIDC", "true"),
                ("assumeRoleArn", "arn:aws:iam::123456789012:role/my role"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(&format!(
                "The Role to Assume (assumeRoleArn) of service connection {ID} is not a valid IAM role ARN: character \
                 34 in the role name is a space"
            )),
            "{err}"
        );
        assert!(!err.contains("my role"), "{err}");
        assert!(RoleArn::parse("deploy", "x").is_err());
        assert!(RoleArn::parse("arn:aws:iam::12345:role/x", "x").is_err());
        let r = RoleArn::parse("arn:aws-cn:iam::123456789012:role/path/deploy", "x").unwrap();
        assert_eq!(
            (r.partition.as_str(), r.name.as_str()),
            ("aws-cn", "path/deploy")
        );
    }
}
