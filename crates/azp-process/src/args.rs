//! Splitting argument strings.
//!
//! [`split`] works the way a POSIX shell would: whitespace separates words;
//! single quotes keep everything literally; double quotes keep whitespace and
//! honour `\"`, `\\`, `\$` and `` \` ``. Outside quotes a backslash escapes
//! only what a shell would otherwise treat specially (whitespace, quotes,
//! backslash, `$`, backtick), so Windows paths such as `C:\work\t.yml` survive.
//! No expansion happens: `$VAR` and globs stay as written.
//!
//! [`split_task_lib`] is azure-pipelines-task-lib's `ToolRunner` rule, which
//! the AWS Toolkit's shell task used: spaces separate words, double quotes
//! group, and a backslash escapes only inside double quotes.

/// An argument string that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A quote was opened and never closed.
    #[error("unterminated {0} quote; close it or escape it with a backslash")]
    Unterminated(&'static str),
    /// The string ends with a lone backslash.
    #[error("the arguments end with a lone backslash; remove it or escape it as \\\\")]
    TrailingBackslash,
}

/// Split `input` into arguments.
///
/// # Errors
/// [`SplitError`] for an unterminated quote or a trailing backslash.
pub fn split(input: &str) -> Result<Vec<String>, SplitError> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => current.push(ch),
                        None => return Err(SplitError::Unterminated("single")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&next @ ('"' | '\\' | '$' | '`')) => {
                                current.push(next);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => current.push('\\'),
                        },
                        Some(ch) => current.push(ch),
                        None => return Err(SplitError::Unterminated("double")),
                    }
                }
            }
            '\\' => match chars.peek().copied() {
                Some('\n') => {
                    chars.next();
                }
                Some(ch) if ch.is_whitespace() || matches!(ch, '\'' | '"' | '\\' | '$' | '`') => {
                    chars.next();
                    in_word = true;
                    current.push(ch);
                }
                Some(_) => {
                    in_word = true;
                    current.push('\\');
                }
                None => return Err(SplitError::TrailingBackslash),
            },
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        args.push(current);
    }
    Ok(args)
}

/// Split the way azure-pipelines-task-lib's `ToolRunner` does (the AWS
/// Toolkit's shell task passed its `arguments` through it): spaces separate
/// words, double quotes group and are removed, a backslash inside double
/// quotes escapes the next character, single quotes are ordinary characters.
#[must_use]
pub fn split_task_lib(input: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut arg = String::new();
    let (mut in_quotes, mut escaped) = (false, false);
    for c in input.chars() {
        match c {
            '"' if escaped => {
                arg.push(c);
                escaped = false;
            }
            '"' => in_quotes = !in_quotes,
            '\\' if escaped => {
                arg.push(c);
                escaped = false;
            }
            '\\' if in_quotes => escaped = true,
            ' ' if !in_quotes => {
                if !arg.is_empty() {
                    args.push(std::mem::take(&mut arg));
                }
            }
            c => {
                if escaped {
                    arg.push('\\');
                    escaped = false;
                }
                arg.push(c);
            }
        }
    }
    if !arg.is_empty() {
        args.push(arg);
    }
    args
}

/// Quote one argument so that [`split`] (and a shell) reads it back as
/// the same word; plain words stay as they are. For showing command lines.
#[must_use]
pub fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(input: &str) -> Vec<String> {
        split(input).unwrap()
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            s("  --bucket my-bucket  --key 'a b' "),
            ["--bucket", "my-bucket", "--key", "a b"]
        );
        assert_eq!(
            s(r#"--query "Stacks[0].Outputs[?OutputKey=='Url'].OutputValue""#),
            [
                "--query",
                "Stacks[0].Outputs[?OutputKey=='Url'].OutputValue"
            ]
        );
        assert_eq!(s(r#"a"b c"d 'e'"f""#), ["ab cd", "ef"]);
        assert_eq!(s(r#""" ''"#), ["", ""]);
        assert_eq!(s(""), Vec::<String>::new());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            s(r#"a\ b "c\"d" 'e\f' "g\h" \$HOME"#),
            ["a b", "c\"d", "e\\f", "g\\h", "$HOME"]
        );
        assert_eq!(s("a \\\nb"), ["a", "b"]);
        assert_eq!(
            s(r#"--parameters '{"k": "v"}'"#),
            ["--parameters", r#"{"k": "v"}"#]
        );
    }

    #[test]
    fn quoting_round_trips() {
        for arg in [
            "--name=a",
            "two words",
            "it's",
            "",
            "$HOME",
            "a\"b",
            "{\"k\": [1]}",
        ] {
            assert_eq!(split(&quote(arg)).unwrap(), vec![arg.to_owned()], "{arg}");
        }
        assert_eq!(quote("--name=a"), "--name=a");
        assert_eq!(quote("two words"), "'two words'");
    }

    #[test]
    fn windows_paths_survive() {
        assert_eq!(
            s(r"--template-file C:\work\stack.yml"),
            ["--template-file", r"C:\work\stack.yml"]
        );
        assert_eq!(s(r"a\ b"), ["a b"]);
    }

    #[test]
    fn task_lib_rule() {
        assert_eq!(
            split_task_lib(r#"first "second arg"  it's C:\temp\x "a \"q\" b""#),
            ["first", "second arg", "it's", r"C:\temp\x", r#"a "q" b"#]
        );
        assert_eq!(split_task_lib(""), Vec::<String>::new());
    }

    #[test]
    fn errors() {
        assert_eq!(split("'open"), Err(SplitError::Unterminated("single")));
        assert_eq!(split("\"open"), Err(SplitError::Unterminated("double")));
        assert_eq!(split("x \\"), Err(SplitError::TrailingBackslash));
    }
}
