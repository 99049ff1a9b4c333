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

use crate::error::CredentialsError;

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

    /// Parse `arn:<partition>:iam::<account>:role/<name>`.
    ///
    /// # Errors
    /// [`CredentialsError::InvalidRoleArn`] naming where the value came from.
    pub fn parse(value: &str, origin: &str) -> Result<Self, CredentialsError> {
        let bad = || CredentialsError::InvalidRoleArn {
            value: value.to_owned(),
            origin: origin.to_owned(),
        };
        let parts: Vec<&str> = value.trim().splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(bad());
        };
        let valid = *arn == "arn"
            && partition.starts_with("aws")
            && *service == "iam"
            && region.is_empty()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource
                .strip_prefix("role/")
                .is_some_and(|n| !n.is_empty());
        if !valid {
            return Err(bad());
        }
        Ok(Self {
            arn: value.trim().to_owned(),
            partition: (*partition).to_owned(),
            account: (*account).to_owned(),
            name: resource.trim_start_matches("role/").to_owned(),
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
/// [`CredentialsError::InvalidSessionName`].
pub fn check_session_name(name: &str, origin: &str) -> Result<(), CredentialsError> {
    let ok = (2..=64).contains(&name.len())
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
        });
    if ok {
        Ok(())
    } else {
        Err(CredentialsError::InvalidSessionName {
            value: name.to_owned(),
            origin: origin.to_owned(),
        })
    }
}

fn role_spec(
    arn: Option<String>,
    session_name: Option<String>,
    external_id: Option<Secret>,
    duration: Duration,
    origin: &str,
) -> Result<Option<RoleSpec>, CredentialsError> {
    let Some(arn) = arn else { return Ok(None) };
    let arn = RoleArn::parse(&arn, origin)?;
    let session_name = session_name.unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
    check_session_name(&session_name, origin)?;
    Ok(Some(RoleSpec {
        arn,
        session_name,
        external_id,
        duration,
    }))
}

fn keys(
    access_key_id: Option<Secret>,
    secret_access_key: Option<Secret>,
    session_token: Option<Secret>,
    origin: &str,
) -> Result<Option<StaticKeys>, CredentialsError> {
    match (access_key_id, secret_access_key) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Some(StaticKeys {
            access_key_id,
            secret_access_key,
            session_token,
        })),
        (None, None) => Ok(None),
        (id, _) => Err(CredentialsError::PartialKeys {
            origin: origin.to_owned(),
            missing: if id.is_some() {
                "Secret Access Key"
            } else {
                "Access Key ID"
            },
        }),
    }
}

/// Decide how to get credentials.
///
/// # Errors
/// A [`CredentialsError`] for settings that cannot work: half a key pair,
/// OIDC without a role, an empty connection, a malformed role ARN or
/// session name.
pub fn plan(env: &Env, connection: Option<&ServiceEndpoint>) -> Result<Planned, CredentialsError> {
    let vars = Variables::new(env);
    let (duration, duration_warning) = session_duration(&vars);
    let mut warnings: Vec<String> = duration_warning.into_iter().collect();

    let Some(ep) = connection else {
        let origin = "the AWS.* pipeline variables";
        let get = |n: &str| {
            vars.get(n)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let keys = keys(
            get(vars::ACCESS_KEY_ID).map(Secret::new),
            get(vars::SECRET_ACCESS_KEY).map(Secret::new),
            get(vars::SESSION_TOKEN).map(Secret::new),
            origin,
        )?;
        let role = role_spec(
            get(vars::ASSUME_ROLE_ARN),
            get(vars::ROLE_SESSION_NAME),
            get(vars::EXTERNAL_ID).map(Secret::new),
            duration,
            origin,
        )?;
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

    let origin = format!("service connection {}", ep.id);
    let param = |k: &str| ep.parameter_non_empty(k);
    let use_oidc = param(params::USE_OIDC).is_some_and(|v| v.expose().eq_ignore_ascii_case("true"));
    // With OIDC the keys are ignored, so half a pair left behind (the UI
    // cannot clear a stored secret) must not block the switch to OIDC.
    let any_key = [params::USERNAME, params::PASSWORD, params::SESSION_TOKEN]
        .iter()
        .any(|k| param(k).is_some());
    let keys = if use_oidc {
        None
    } else {
        keys(
            param(params::USERNAME),
            param(params::PASSWORD),
            param(params::SESSION_TOKEN),
            &origin,
        )?
    };
    let role = role_spec(
        param(params::ASSUME_ROLE_ARN).map(|s| s.expose().to_owned()),
        param(params::ROLE_SESSION_NAME).map(|s| s.expose().to_owned()),
        param(params::EXTERNAL_ID),
        duration,
        &origin,
    )?;
    let plan = if use_oidc {
        let Some(role) = role else {
            return Err(CredentialsError::OidcWithoutRole {
                connection: ep.id.clone(),
            });
        };
        if any_key {
            warnings.push(format!(
                "Service connection {} has Use OIDC set and also access keys; the keys are ignored. Remove them from the connection.",
                ep.id
            ));
        }
        if role.external_id.is_some() {
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
        match (keys, role) {
            (Some(keys), role) => Plan::Keys { keys, role },
            (None, Some(role)) => Plan::Ambient { role: Some(role) },
            (None, None) => {
                return Err(CredentialsError::EmptyConnection {
                    connection: ep.id.clone(),
                });
            }
        }
    };
    Ok(Planned {
        plan,
        origin: Origin::Connection(ep.id.clone()),
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
    ) -> Result<Planned, CredentialsError> {
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
        assert!(p.warnings[0].contains("keys are ignored"));
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
            p.warnings[0].contains("keys are ignored"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn oidc_without_role_fails() {
        let err = plan_of(&[], Some(&[("useOIDC", "true")])).unwrap_err();
        assert!(matches!(err, CredentialsError::OidcWithoutRole { .. }));
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
                ("username", "AKIA"),
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
        assert!(matches!(err, CredentialsError::EmptyConnection { .. }));
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
        assert!(matches!(err, CredentialsError::InvalidSessionName { .. }));
        assert!(RoleArn::parse("deploy", "x").is_err());
        assert!(RoleArn::parse("arn:aws:iam::12345:role/x", "x").is_err());
        let r = RoleArn::parse("arn:aws-cn:iam::123456789012:role/path/deploy", "x").unwrap();
        assert_eq!(
            (r.partition.as_str(), r.name.as_str()),
            ("aws-cn", "path/deploy")
        );
    }
}
