//! Splitting argument strings the way existing pipelines expect.
//!
//! The AWS Toolkit passed its argument inputs (`awsArguments`, the shell
//! task's `arguments`) through azure-pipelines-task-lib's
//! `ToolRunner.line()`, whose `_argStringToArray` (task-lib
//! `node/toolrunner.ts`) is the rule existing YAML relies on:
//! - a space separates words (tabs and line breaks do not);
//! - double quotes group and are removed; inside them `\"` is a literal
//!   quote and any other backslash is kept as written (`\\` stays `\\`);
//! - single quotes and backslashes outside double quotes are ordinary
//!   characters, so `Type=='x'`, `It's` and `\\server\share` reach the
//!   program unchanged;
//! - `""` is an empty word, and the last word is trimmed.
//!
//! [`line()`] is that rule exactly. [`arguments()`] adds one extension that no
//! working toolkit YAML can depend on: a single-quoted span that starts a
//! word and ends a word (the closing quote is followed by a space or the end)
//! groups, and its quotes are removed, so `'{"Key": "v"}'` is the one word
//! `{"Key": "v"}`. Every other single quote stays an ordinary character.

/// Split `input` by task-lib's `ToolRunner.line()` rule (`_argStringToArray`),
/// character for character. Returns the words, possibly empty ones (`""`).
#[must_use]
pub fn line(input: &str) -> Vec<String> {
    split(input, false)
}

/// The words of an argument input, and whether they differ from what
/// task-lib's rule alone gives (so the task can show them in a debug line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arguments {
    /// The words, in order.
    pub words: Vec<String>,
    /// True when the single-quote extension changed the result.
    pub differs_from_task_lib: bool,
}

/// Split `input` by task-lib's rule plus the single-quote extension (see the
/// module documentation).
#[must_use]
pub fn arguments(input: &str) -> Arguments {
    let words = split(input, true);
    let differs_from_task_lib = words != line(input);
    Arguments {
        words,
        differs_from_task_lib,
    }
}

fn split(input: &str, single_quotes: bool) -> Vec<String> {
    let chars: Vec<char> = input.chars().collect();
    let mut args = Vec::new();
    let mut arg = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut last_was_space = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' && !in_quotes {
            if !last_was_space {
                args.push(std::mem::take(&mut arg));
            }
            last_was_space = true;
            i += 1;
            continue;
        }
        // The extension: a quote at the start of a word whose partner ends
        // the word. Only the first such partner counts, so `'It's ok'` is one
        // word and `'a' 'b'` two.
        if single_quotes
            && c == '\''
            && last_was_space
            && let Some(end) = closing_single_quote(&chars, i + 1)
        {
            arg.extend(&chars[i + 1..end]);
            last_was_space = false;
            i = end + 1;
            continue;
        }
        last_was_space = false;
        match c {
            '"' if escaped => {
                arg.push('"');
                escaped = false;
            }
            '"' => in_quotes = !in_quotes,
            '\\' if escaped => {
                // task-lib's append() keeps the escaping backslash too.
                arg.push_str("\\\\");
                escaped = false;
            }
            '\\' if in_quotes => escaped = true,
            c => {
                if escaped {
                    arg.push('\\');
                    escaped = false;
                }
                arg.push(c);
            }
        }
        i += 1;
    }
    if !last_was_space {
        // task-lib trims the last word only (JavaScript's trim()).
        args.push(arg.trim().to_owned());
    }
    args
}

/// The index of the first `'` at or after `from` that ends a word.
fn closing_single_quote(chars: &[char], from: usize) -> Option<usize> {
    (from..chars.len()).find(|&j| chars[j] == '\'' && chars.get(j + 1).is_none_or(|&n| n == ' '))
}

/// The debug line a task writes when the single-quote extension changed the
/// words of input `input`: the words, each quoted for a POSIX shell.
#[must_use]
pub fn extension_note(input: &str, words: &[String]) -> String {
    format!(
        "{input} has single-quoted words, read as these words: {}",
        words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
    )
}

/// Quote one argument for display so that a POSIX shell reads it back as the
/// same word; plain words stay as they are. For `##[command]` lines.
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

    fn w(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Each row: input, task-lib's `_argStringToArray` result (worked out by
    /// hand from task-lib `node/toolrunner.ts`), and the result with the
    /// single-quote extension.
    const TABLE: &[(&str, &[&str], &[&str])] = &[
        // The cases existing toolkit YAML relies on.
        (
            "--query Parameters[?Type=='SecureString'].Name --output text",
            &[
                "--query",
                "Parameters[?Type=='SecureString'].Name",
                "--output",
                "text",
            ],
            &[
                "--query",
                "Parameters[?Type=='SecureString'].Name",
                "--output",
                "text",
            ],
        ),
        (
            "--value It's-live",
            &["--value", "It's-live"],
            &["--value", "It's-live"],
        ),
        (
            r"--zip-file \\server\share\app.zip",
            &["--zip-file", r"\\server\share\app.zip"],
            &["--zip-file", r"\\server\share\app.zip"],
        ),
        // Double quotes group and are removed; \" inside is a quote.
        (
            r#"first "second arg"  third"#,
            &["first", "second arg", "third"],
            &["first", "second arg", "third"],
        ),
        (
            r#""a \"q\" b" c"#,
            &[r#"a "q" b"#, "c"],
            &[r#"a "q" b"#, "c"],
        ),
        // Other backslashes inside double quotes are kept, \\ as two.
        (
            r#""C:\temp\x" "a\\b""#,
            &[r"C:\temp\x", r"a\\b"],
            &[r"C:\temp\x", r"a\\b"],
        ),
        // Quotes in the middle of a word join it.
        (r#"a"b c"d"#, &["ab cd"], &["ab cd"]),
        // An empty quoted word survives.
        (r#"x "" y"#, &["x", "", "y"], &["x", "", "y"]),
        // Only spaces separate; tabs and line breaks are word characters.
        ("a\tb c", &["a\tb", "c"], &["a\tb", "c"]),
        // The last word is trimmed (and only the last).
        (r#""x " "y ""#, &["x ", "y"], &["x ", "y"]),
        ("", &[], &[]),
        ("   ", &[], &[]),
        // The extension: a single-quoted word groups and loses its quotes.
        (
            r#"--cli-input-json '{"Key": "v"}'"#,
            &["--cli-input-json", "'{Key:", "v}'"],
            &["--cli-input-json", r#"{"Key": "v"}"#],
        ),
        (
            "--query 'Stacks[0].Outputs' --output text",
            &["--query", "'Stacks[0].Outputs'", "--output", "text"],
            &["--query", "Stacks[0].Outputs", "--output", "text"],
        ),
        ("'a b' 'c'", &["'a", "b'", "'c'"], &["a b", "c"]),
        // A quote inside the span that does not end a word stays.
        ("'It's ok' x", &["'It's", "ok'", "x"], &["It's ok", "x"]),
        // No partner that ends a word: ordinary characters.
        ("'x'y z", &["'x'y", "z"], &["'x'y", "z"]),
        ("'open ended", &["'open", "ended"], &["'open", "ended"]),
        // Not at the start of a word: ordinary characters.
        ("a'b c'", &["a'b", "c'"], &["a'b", "c'"]),
        // Inside double quotes single quotes are always ordinary.
        (r#""'a b'""#, &["'a b'"], &["'a b'"]),
        // Backslashes inside a single-quoted span are literal.
        (r"'C:\a b\'", &[r"'C:\a", r"b\'"], &[r"C:\a b\"]),
        // An empty single-quoted word.
        ("'' x", &["''", "x"], &["", "x"]),
    ];

    #[test]
    fn task_lib_rule_and_the_extension() {
        for (input, task_lib, extended) in TABLE {
            assert_eq!(line(input), w(task_lib), "task-lib rule for {input:?}");
            let a = arguments(input);
            assert_eq!(a.words, w(extended), "extended rule for {input:?}");
            assert_eq!(
                a.differs_from_task_lib,
                task_lib != extended,
                "difference flag for {input:?}"
            );
        }
    }

    #[test]
    fn quoting_for_display() {
        assert_eq!(quote("--name=a"), "--name=a");
        assert_eq!(quote("two words"), "'two words'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
