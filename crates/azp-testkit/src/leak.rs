//! The leak check: no secret may appear in plain text in a task's raw output.
//!
//! The only places a secret may be written unmasked are the data of its own
//! `##vso[task.setsecret]` command and the data of a `##vso[task.setvariable]`
//! marked `issecret=true`; the agent consumes those lines and masks the value
//! everywhere else. Any other occurrence, in stdout or stderr, before or
//! after registration, raw or in the escaped form a logging command would
//! carry, is a leak: it relies on the agent's masking, which does not exist
//! in every log sink (agent diagnostic logs, a task run outside a pipeline).

use crate::commands::{Parsed, parse_line};

fn escaped(s: &str) -> String {
    s.replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Every leak of `secrets` in `text` (one stream), described without the
/// secret itself. Secrets shorter than 3 characters are ignored.
#[must_use]
pub fn find_leaks(stream: &str, text: &str, secrets: &[&str]) -> Vec<String> {
    let secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|s| s.trim().len() >= 3)
        .collect();
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let checked: String = match parse_line(line) {
            Some(Parsed::Command(c))
                if c.name() == "task.setsecret"
                    || (c.name() == "task.setvariable" && c.flag("issecret")) =>
            {
                // Exempt only the data after the command's closing bracket.
                let lower = line.to_ascii_lowercase();
                let start = lower.find("##vso[").unwrap_or(0);
                let end = line[start..]
                    .find(']')
                    .map_or(line.len(), |i| start + i + 1);
                line[..end].to_owned()
            }
            _ => line.to_owned(),
        };
        for (i, s) in secrets.iter().enumerate() {
            if checked.contains(s) || checked.contains(&escaped(s)) {
                let preview: String = checked.replace(s, "<SECRET>").chars().take(160).collect();
                found.push(format!(
                    "{stream} line {}: secret #{i} ({} chars) in: {preview}",
                    n + 1,
                    s.len()
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_and_secret_variables_are_allowed() {
        let out = "##vso[task.setsecret]hunter22\n##vso[task.setvariable variable=x;issecret=true;]hunter22\nmasked ***\n";
        assert!(find_leaks("stdout", out, &["hunter22"]).is_empty());
    }

    #[test]
    fn any_other_occurrence_is_a_leak() {
        for out in [
            "hunter22\n##vso[task.setsecret]hunter22\n",
            "##vso[task.setsecret]hunter22\npassword=hunter22\n",
            "##vso[task.setvariable variable=x;]hunter22\n",
            "##vso[task.logissue type=error;]bad hunter22\n",
            "##vso[task.setsecret variable=hunter22;]x\n",
        ] {
            let leaks = find_leaks("stdout", out, &["hunter22"]);
            assert_eq!(leaks.len(), 1, "{out}");
            assert!(!leaks[0].contains("hunter22"));
        }
    }

    #[test]
    fn escaped_forms_are_caught() {
        let leaks = find_leaks(
            "stderr",
            "##vso[task.complete result=Failed;]50%AZP25 off\n",
            &["50% off"],
        );
        assert_eq!(leaks.len(), 1);
    }
}
