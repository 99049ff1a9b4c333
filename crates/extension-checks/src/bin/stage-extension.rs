//! Stage the extension for tfx-cli: `stage-extension --out DIR --platforms
//! linux-x64,win-x64 [--flavour replacement|side-by-side|dev] [--root DIR]
//! [--bin-dir DIR] [--quality 0-11] [--check]`; `--quality` is the brotli
//! quality of the packed binaries (11 unless given); `--check` only validates the arguments (so
//! `scripts/package` refuses a wrong flavour before it builds). See `extension_checks::stage` and
//! `extension_checks::flavour`. Run by `scripts/package`.

use std::path::PathBuf;
use std::process::ExitCode;

use extension_checks::flavour;
use extension_checks::stage::{StageOptions, stage};

#[allow(clippy::print_stderr, clippy::print_stdout)] // a build tool, not a task
fn main() -> ExitCode {
    let mut root = PathBuf::from(".");
    let mut out = None;
    let mut platforms = Vec::new();
    let mut bin_dir = None;
    let mut flavour = flavour::FLAVOURS[0];
    let mut check_only = false;
    let mut quality = extension_checks::stage::RELEASE_QUALITY;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--root" => root = PathBuf::from(value()),
            "--check" => check_only = true,
            "--out" => out = Some(PathBuf::from(value())),
            "--bin-dir" => bin_dir = Some(PathBuf::from(value())),
            "--quality" => match value().parse() {
                Ok(q @ 0..=11) => quality = q,
                _ => {
                    eprintln!("stage-extension: --quality takes 0 to 11");
                    return ExitCode::from(2);
                }
            },
            "--flavour" => match flavour::by_name(&value()) {
                Ok(f) => flavour = f,
                Err(e) => {
                    eprintln!("stage-extension: {e}");
                    return ExitCode::from(2);
                }
            },
            "--platforms" => {
                platforms = value()
                    .split([',', ' '])
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            other => {
                eprintln!("stage-extension: unknown argument '{other}'");
                return ExitCode::from(2);
            }
        }
    }
    if check_only {
        return ExitCode::SUCCESS;
    }
    let options = StageOptions {
        out: out.unwrap_or_else(|| root.join("dist").join("stage")),
        bin_dir: bin_dir.unwrap_or_else(|| root.join("target").join("dist-bin")),
        root,
        platforms,
        flavour,
        quality,
    };
    match stage(&options) {
        Ok(manifest) => {
            let tasks = manifest["contributions"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter(|c| c["type"] == extension_checks::stage::TASK_CONTRIBUTION)
                        .filter_map(|c| c["id"].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            println!(
                "Staged {} {} ({} flavour, endpoint type {}) in {} (tasks: {tasks})",
                manifest["id"].as_str().unwrap_or_default(),
                manifest["version"].as_str().unwrap_or_default(),
                options.flavour.name,
                options.flavour.endpoint_type,
                options.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stage-extension: {e}");
            ExitCode::FAILURE
        }
    }
}
