//! IAM's rules for role ARNs and role session names, checked before any call.
//!
//! The agent masks every service connection field as a secret, so a message
//! that echoed the value would show `***`, and could even mangle an example
//! that shares a prefix with it. These checks therefore say which rule
//! failed, at which character (counted from 1, after trimming), and what kind
//! of character it is, never the value.
//!
//! Rules:
//! - Role ARN: `arn:<partition>:iam::<account>:role<path><name>`, 20 to 2048
//!   characters (STS `AssumeRole` `RoleArn`); partitions `aws`, `aws-cn`,
//!   `aws-us-gov`, `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` and
//!   `aws-eusc` (AWS SDK `partitions.json`); the account is 12 digits; the
//!   path is `/` or `/…/` of printable ASCII without spaces, at most 512
//!   characters; the name is 1 to 64 of `[A-Za-z0-9+=,.@_-]` (IAM API
//!   reference, `Role` data type: `Path`, `RoleName`).
//! - Role session name: 2 to 64 of `[A-Za-z0-9+=,.@_-]` (STS API
//!   reference, `AssumeRole` `RoleSessionName`).

/// Partitions a role ARN can name.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The parts of a valid role ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArnParts {
    /// `aws`, `aws-cn`, ...
    pub partition: String,
    /// The 12-digit account.
    pub account: String,
    /// The role name with its path, without the leading `/` (`deploy`,
    /// `ci/deploy`).
    pub name: String,
}

/// What is wrong with a value, in words that do not repeat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Describe a character without assuming it is harmless to print in full:
/// its class, and the character itself only for ASCII punctuation.
#[must_use]
pub fn char_class(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        c if c.is_control() => "a control character".to_owned(),
        c if c.is_ascii_digit() => "a digit".to_owned(),
        c if c.is_ascii_alphabetic() => "a letter".to_owned(),
        c if c.is_ascii_punctuation() => format!("the character '{c}'"),
        c => format!("the non-ASCII character U+{:04X}", u32::from(c)),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-')
}

const NAME_CHARS: &str = "letters, digits and + = , . @ _ -";

/// Check a role session name.
///
/// # Errors
/// A [`Problem`] naming the rule and the first offending character.
pub fn check_session_name(name: &str) -> Result<(), Problem> {
    let len = name.chars().count();
    if let Some((i, c)) = name.chars().enumerate().find(|(_, c)| !is_name_char(*c)) {
        return Err(Problem(format!(
            "character {} is {}; a role session name allows only {NAME_CHARS}",
            i + 1,
            char_class(c)
        )));
    }
    if !(2..=64).contains(&len) {
        return Err(Problem(format!(
            "it is {len} character{} long; a role session name is 2 to 64 characters",
            if len == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Check a role ARN against IAM's grammar.
///
/// # Errors
/// A [`Problem`] naming the part that is wrong and, where it helps, the
/// character position and class.
pub fn parse_role_arn(value: &str) -> Result<RoleArnParts, Problem> {
    let chars: Vec<char> = value.chars().collect();
    if !value.starts_with("arn:") {
        return Err(Problem(
            "it does not start with 'arn:'; a role ARN has the form arn:<partition>:iam::<12-digit account>:role/<name>"
                .to_owned(),
        ));
    }
    let len = chars.len();
    if len > 2048 {
        return Err(Problem(format!(
            "it is {len} characters long; a role ARN has at most 2048"
        )));
    }
    // (start position counted from 1, text) of the six ':'-separated parts.
    let mut parts: Vec<(usize, String)> = Vec::new();
    let mut start = 1;
    let mut current = String::new();
    for (i, c) in chars.iter().enumerate() {
        if *c == ':' && parts.len() < 5 {
            parts.push((start, std::mem::take(&mut current)));
            start = i + 2;
        } else {
            current.push(*c);
        }
    }
    parts.push((start, current));
    if parts.len() < 6 {
        return Err(Problem(format!(
            "it has {} parts separated by ':'; a role ARN has six: arn:<partition>:iam::<12-digit account>:role/<name>",
            parts.len()
        )));
    }
    let (partition_at, partition) = &parts[1];
    if !PARTITIONS.contains(&partition.as_str()) {
        return Err(Problem(format!(
            "the partition (from character {partition_at}) is not one of {}",
            PARTITIONS.join(", ")
        )));
    }
    let (service_at, service) = &parts[2];
    if service != "iam" {
        return Err(Problem(format!(
            "the service (from character {service_at}) must be 'iam': roles are IAM resources"
        )));
    }
    let (region_at, region) = &parts[3];
    if !region.is_empty() {
        return Err(Problem(format!(
            "the region (from character {region_at}) must be empty: IAM ARNs have no region (arn:<partition>:iam::<account>:…)"
        )));
    }
    let (account_at, account) = &parts[4];
    if let Some((i, c)) = account
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_digit())
    {
        return Err(Problem(format!(
            "character {} in the account is {}; the account is 12 digits",
            account_at + i,
            char_class(c)
        )));
    }
    if account.len() != 12 {
        return Err(Problem(format!(
            "the account (from character {account_at}) has {} digits; an AWS account has 12",
            account.len()
        )));
    }
    let (resource_at, resource) = &parts[5];
    let Some(rest) = resource.strip_prefix("role/") else {
        return Err(Problem(format!(
            "the resource (from character {resource_at}) does not start with 'role/'; the ARN must name a role, not a user or another resource"
        )));
    };
    // rest = optional path segments + name; the path is everything up to the last '/'.
    let (path, name, name_at) = match rest.rfind('/') {
        Some(slash) => (
            &rest[..slash],
            &rest[slash + 1..],
            resource_at + 5 + rest[..=slash].chars().count(),
        ),
        None => ("", rest, resource_at + 5),
    };
    if let Some((i, c)) = path
        .chars()
        .enumerate()
        .find(|(_, c)| !('\u{21}'..='\u{7e}').contains(c))
    {
        return Err(Problem(format!(
            "character {} in the role's path is {}; a path allows printable ASCII characters without spaces",
            resource_at + 5 + i,
            char_class(c)
        )));
    }
    if path.chars().count() + 2 > 512 {
        return Err(Problem(
            "the role's path is longer than 512 characters".to_owned(),
        ));
    }
    if path.split('/').any(str::is_empty) && !path.is_empty() {
        return Err(Problem(format!(
            "the role's path (from character {}) has an empty segment ('//')",
            resource_at + 5
        )));
    }
    if name.is_empty() {
        return Err(Problem(format!(
            "the role name (from character {name_at}) is empty; the ARN must end with the role's name"
        )));
    }
    if let Some((i, c)) = name.chars().enumerate().find(|(_, c)| !is_name_char(*c)) {
        return Err(Problem(format!(
            "character {} in the role name is {}; a role name allows only {NAME_CHARS}",
            name_at + i,
            char_class(c)
        )));
    }
    let name_len = name.chars().count();
    if name_len > 64 {
        return Err(Problem(format!(
            "the role name (from character {name_at}) is {name_len} characters long; a role name has at most 64"
        )));
    }
    if len < 20 {
        return Err(Problem(format!(
            "it is {len} characters long; a role ARN has at least 20"
        )));
    }
    Ok(RoleArnParts {
        partition: partition.clone(),
        account: account.clone(),
        name: rest.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(arn: &str) -> String {
        parse_role_arn(arn).unwrap_err().0
    }

    #[test]
    fn valid_role_arns() {
        for (arn, partition, name) in [
            ("arn:aws:iam::123456789012:role/deploy", "aws", "deploy"),
            (
                "arn:aws-cn:iam::123456789012:role/ci/cd/deploy",
                "aws-cn",
                "ci/cd/deploy",
            ),
            (
                "arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f_g-h",
                "aws-us-gov",
                "a+b=c,d.e@f_g-h",
            ),
            ("arn:aws-eusc:iam::123456789012:role/x", "aws-eusc", "x"),
            ("arn:aws-iso-b:iam::123456789012:role/x", "aws-iso-b", "x"),
        ] {
            let p = parse_role_arn(arn).unwrap_or_else(|e| panic!("{arn}: {e}"));
            assert_eq!(
                (p.partition.as_str(), p.account.as_str(), p.name.as_str()),
                (partition, "123456789012", name)
            );
        }
        let long_name = format!("arn:aws:iam::123456789012:role/{}", "r".repeat(64));
        assert!(parse_role_arn(&long_name).is_ok());
    }

    #[test]
    fn each_rule_names_the_part_and_position() {
        assert!(problem("deploy").starts_with("it does not start with 'arn:'"));
        assert!(problem("arn:aws:iam::123456789012").starts_with("it has 5 parts"));
        assert_eq!(
            problem("arn:aws-china:iam::123456789012:role/deploy"),
            "the partition (from character 5) is not one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"
        );
        assert!(
            problem("arn:aws:sts::123456789012:role/deploy")
                .starts_with("the service (from character 9)")
        );
        assert!(
            problem("arn:aws:iam:eu-west-1:123456789012:role/deploy")
                .starts_with("the region (from character 13)")
        );
        assert_eq!(
            problem("arn:aws:iam::12345678901O:role/deploy"),
            "character 25 in the account is a letter; the account is 12 digits"
        );
        assert_eq!(
            problem("arn:aws:iam::12345678901:role/deploy"),
            "the account (from character 14) has 11 digits; an AWS account has 12"
        );
        assert!(
            problem("arn:aws:iam::123456789012:user/deploy")
                .starts_with("the resource (from character 27) does not start with 'role/'")
        );
        assert_eq!(
            problem("arn:aws:iam::123456789012:role/my role"),
            "character 34 in the role name is a space; a role name allows only letters, digits and + = , . @ _ -"
        );
        assert_eq!(
            problem("arn:aws:iam::123456789012:role/ci path/deploy"),
            "character 34 in the role's path is a space; a path allows printable ASCII characters without spaces"
        );
        assert!(
            problem("arn:aws:iam::123456789012:role/")
                .starts_with("the role name (from character 32) is empty")
        );
        assert!(problem("arn:aws:iam::123456789012:role/ci//x").contains("empty segment"));
        assert!(
            problem("arn:aws:iam::123456789012:role/dé")
                .contains("character 33 in the role name is the non-ASCII character U+00E9")
        );
        let too_long = format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65));
        assert!(problem(&too_long).contains("65 characters long; a role name has at most 64"));
    }

    #[test]
    fn problems_never_repeat_the_value() {
        for arn in [
            "arn:aws:iam::123456789012:role/my secret role",
            "arn:aws-secretpartition:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:user/secretuser",
        ] {
            let p = problem(arn);
            assert!(!p.contains("secret"), "{p}");
        }
    }

    #[test]
    fn session_names() {
        assert!(check_session_name("aws-vsts-tools").is_ok());
        assert!(check_session_name("ci@build.7").is_ok());
        assert_eq!(
            check_session_name("a").unwrap_err().0,
            "it is 1 character long; a role session name is 2 to 64 characters"
        );
        assert_eq!(
            check_session_name("has space").unwrap_err().0,
            "character 4 is a space; a role session name allows only letters, digits and + = , . @ _ -"
        );
        assert!(
            check_session_name(&"a".repeat(65))
                .unwrap_err()
                .0
                .contains("65 characters")
        );
        assert_eq!(
            check_session_name("release/7").unwrap_err().0,
            "character 8 is the character '/'; a role session name allows only letters, digits and + = , . @ _ -"
        );
    }
}
