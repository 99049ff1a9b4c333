//! A check on the workspace's own sources: no crate that talks to AWS
//! formats anything with `{:?}` outside its tests. An SDK error's debug
//! rendering (`Error { code: Some(..), .. }`) is not a message a pipeline
//! author can act on; errors go through `aws_clients::describe` instead.
//! (At run time, the agent harness's `TaskRun::assert_no_debug_renderings`
//! checks the logs of every task test for the same thing.)

use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Crates that talk to AWS: those whose manifest uses the AWS SDK or the
/// credentials crate, and the two AWS crates themselves. (Test support that
/// only borrows the `AWS_*` names is not one of them.)
fn aws_crates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let deps = text.split("[dev-dependencies]").next().unwrap_or_default();
        let name_is = |n: &str| text.contains(&format!("name = \"{n}\""));
        if deps.contains("aws-sdk-")
            || deps.contains("aws-connection.workspace")
            || name_is("aws-clients")
            || name_is("aws-connection")
        {
            out.push(entry.path());
        }
    }
    out.sort();
    out
}

#[test]
fn no_debug_formatting_in_crates_that_talk_to_aws() {
    let crates = aws_crates();
    assert!(
        crates.iter().any(|c| c.ends_with("aws-connection")),
        "the scan must find the AWS crates: {crates:?}"
    );
    let mut found = Vec::new();
    for krate in &crates {
        let mut files = Vec::new();
        rust_files(&krate.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests sit at the end of a file, after #[cfg(test)].
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                if line.contains(":?}") || line.contains(":#?}") {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "debug formatting in code that talks to AWS (render errors with aws_clients::describe):\n{}",
        found.join("\n")
    );
}
