//! Property test: what the writer escapes, the agent's decoder restores.

use azp_task::log::SharedBuffer;
use azp_task::{Issue, Logger, VariableOptions};
use azp_testkit::commands::{Parsed, parse_line};
use proptest::prelude::*;

fn one_command(out: &str) -> azp_testkit::commands::Command {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "escaping must keep one command on one line: {out:?}"
    );
    match parse_line(lines[0]) {
        Some(Parsed::Command(c)) => c,
        other => panic!("not a command: {other:?} from {out:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn set_variable_round_trips(name in "\\PC{1,20}", value in "(\\PC|[\r\n%;\\]]){0,40}") {
        prop_assume!(!name.trim().is_empty());
        let buf = SharedBuffer::default();
        let log = Logger::new(Box::new(buf.clone()), false);
        log.set_variable(&name, &value, VariableOptions { output: true, ..VariableOptions::default() });
        let c = one_command(&buf.contents());
        prop_assert_eq!(c.name(), "task.setvariable");
        prop_assert_eq!(c.property("variable"), Some(name.as_str()));
        prop_assert_eq!(c.data, value);
    }

    #[test]
    fn log_issue_round_trips(path in "(\\PC|[\r\n%;\\]=]){1,30}", message in "(\\PC|[\r\n%;\\]]){0,60}") {
        let buf = SharedBuffer::default();
        let log = Logger::new(Box::new(buf.clone()), false);
        log.issue(&Issue::error(&message).at(&path, Some(7)));
        let c = one_command(&buf.contents());
        prop_assert_eq!(c.property("type"), Some("error"));
        prop_assert_eq!(c.property("sourcepath"), Some(path.as_str()));
        prop_assert_eq!(c.property("linenumber"), Some("7"));
        prop_assert_eq!(c.data, message);
    }

    #[test]
    fn secrets_round_trip_line_by_line(secret in "(\\PC|[%;\\]]){3,30}") {
        prop_assume!(!secret.trim().is_empty());
        let buf = SharedBuffer::default();
        let log = Logger::new(Box::new(buf.clone()), false);
        log.set_secret(&secret);
        let c = one_command(&buf.contents());
        prop_assert_eq!(c.name(), "task.setsecret");
        prop_assert_eq!(c.data, secret);
    }
}
