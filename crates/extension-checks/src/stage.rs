//! Staging the extension from its sources: the one place that turns the
//! task folders into what tfx-cli packages.
//!
//! The list of tasks is the folders of `tasks/` that hold a `task.json`;
//! nothing else lists them. For each task, staging:
//! - copies `task.json`, stamped with the extension's version (from
//!   `vss-extension.json`, the single source of the version) and with the
//!   region pick list from `tasks/regions.json` written into every
//!   `regionName` input;
//! - copies its icon and the launcher, and packs its binary for each
//!   platform, from `target/dist-bin/<platform>/<Task>[.exe]` (the cargo bin
//!   target of the same name), into one brotli stream, `bin/binaries.br`,
//!   described by `bin/binaries.json` (see [`pack_binaries`]); the launcher
//!   unpacks its platform's binary on first use;
//! - adds the folder to the manifest's `files` and a task contribution whose
//!   id is the task name (so the fully qualified YAML name is
//!   `<publisher>.<extension>.<Task>.<Task>@1`, as with the AWS Toolkit).
//!
//! The source `vss-extension.json` therefore lists no task; the extension
//! checks compare what was staged with the task folders and the cargo bin
//! targets. A [`Flavour`] other than the replacement one renames the
//! extension, its endpoint type and its tasks as it is staged (see
//! [`crate::flavour`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::flavour::Flavour;

/// The contribution type of a pipeline task.
pub const TASK_CONTRIBUTION: &str = "ms.vss-distributed-task.task";

/// What to stage, and where.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// The workspace root (sources).
    pub root: PathBuf,
    /// The folder to write (emptied first).
    pub out: PathBuf,
    /// Platforms whose binaries go in (`linux-x64`, `win-x64`, ...).
    pub platforms: Vec<String>,
    /// Where the binaries are: `<bin_dir>/<platform>/<Task>[.exe]`.
    pub bin_dir: PathBuf,
    /// Which extension to make of the sources.
    pub flavour: Flavour,
    /// The brotli quality of the packed binaries, 0–11:
    /// [`RELEASE_QUALITY`] for a package, lower to stage faster in tests.
    pub quality: u32,
}

/// The packed binaries in a task's `bin` folder: one brotli stream.
pub const ARCHIVE: &str = "binaries.br";

/// What [`ARCHIVE`] holds, in the same folder: `{"archive": "binaries.br",
/// "binaries": [{"platform", "file", "offset", "size", "sha256"}]}`, offsets
/// and sizes in bytes of the decompressed stream, SHA-256 in lower-case hex.
/// The launcher's only source for where a binary is.
pub const INDEX: &str = "binaries.json";

/// The brotli quality of a package (the highest): about 10 % smaller than
/// quality 9 on the binaries, and packing runs once per package.
pub const RELEASE_QUALITY: u32 = 11;

/// brotli's largest standard window, 16 MiB minus 16 bytes: a binary finds
/// the same code and data of the platform before it within reach (RFC 7932
/// section 9.1). Node's decoder reads any standard window.
const WINDOW_BITS: u32 = 24;

/// The order of the platforms in a task's stream: most-used first, because
/// the launcher decompresses only up to its own, and each next to the one
/// most like it (the x64 builds, then the arm64 ones), which the window
/// turns into matches. Others follow, sorted.
const ARCHIVE_ORDER: [&str; 5] = [
    "linux-x64",
    "win-x64",
    "macos-x64",
    "linux-arm64",
    "macos-arm64",
];

/// One binary for [`pack_binaries`].
#[derive(Debug, Clone)]
pub struct PlatformBinary {
    /// `linux-x64`, `win-x64`, ...: the launcher's `bin/<os>-<arch>` name.
    pub platform: String,
    /// The file name the launcher unpacks it to: `<task name>[.exe]`.
    pub file: String,
    /// The binary.
    pub bytes: Vec<u8>,
}

/// Packs `binaries` into `<bin>/`[`ARCHIVE`] (one brotli stream at
/// `quality`, a 16 MiB window; the most-used platform first, then each
/// next to the one most like it: linux-x64, win-x64, macos-x64, linux-arm64,
/// macos-arm64, others after them) and writes
/// `<bin>/`[`INDEX`]; returns the archive's size in bytes.
///
/// # Errors
/// A message naming the file that cannot be written.
pub fn pack_binaries(
    bin: &Path,
    mut binaries: Vec<PlatformBinary>,
    quality: u32,
) -> Result<u64, String> {
    let rank = |p: &str| {
        ARCHIVE_ORDER
            .iter()
            .position(|o| *o == p)
            .unwrap_or(ARCHIVE_ORDER.len())
    };
    binaries.sort_by(|a, b| {
        rank(&a.platform)
            .cmp(&rank(&b.platform))
            .then_with(|| a.platform.cmp(&b.platform))
    });
    let mut entries = Vec::new();
    let mut stream = Vec::new();
    for b in &binaries {
        entries.push(json!({
            "platform": b.platform,
            "file": b.file,
            "offset": stream.len(),
            "size": b.bytes.len(),
            "sha256": hex(&Sha256::digest(&b.bytes)),
        }));
        stream.extend_from_slice(&b.bytes);
    }
    std::fs::create_dir_all(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality.min(11) as i32,
        lgwin: WINDOW_BITS as i32,
        size_hint: stream.len(),
        ..Default::default()
    };
    let mut packed = Vec::new();
    brotli::BrotliCompress(&mut stream.as_slice(), &mut packed, &params)
        .map_err(|e| format!("brotli: {e}"))?;
    let archive = bin.join(ARCHIVE);
    std::fs::File::create(&archive)
        .and_then(|mut f| f.write_all(&packed))
        .map_err(|e| format!("{}: {e}", archive.display()))?;
    write(
        &bin.join(INDEX),
        &json!({ "archive": ARCHIVE, "binaries": entries }),
    )?;
    Ok(packed.len() as u64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The task names: every folder of `<root>/tasks` with a `task.json`, sorted.
///
/// # Errors
/// When `tasks/` cannot be read.
pub fn task_names(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("tasks");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("task.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The `regionName` options: code → `"Name [code]"`, in the order of
/// `tasks/regions.json`.
///
/// # Errors
/// When the file cannot be read or has no `regions` array.
pub fn region_options(root: &Path) -> Result<Map<String, Value>, String> {
    let path = root.join("tasks").join("regions.json");
    let doc = read(&path)?;
    let regions = doc["regions"]
        .as_array()
        .ok_or_else(|| format!("{}: no \"regions\" array", path.display()))?;
    let mut options = Map::new();
    for r in regions {
        let (Some(code), Some(name)) = (r["code"].as_str(), r["name"].as_str()) else {
            return Err(format!("{}: a region without code or name", path.display()));
        };
        options.insert(code.to_owned(), Value::from(format!("{name} [{code}]")));
    }
    Ok(options)
}

fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `task.json` as staged: the version stamped, region options filled in.
///
/// # Errors
/// When the version is not `major.minor.patch`.
pub fn staged_task_json(
    mut task: Value,
    version: &str,
    regions: &Map<String, Value>,
) -> Result<Value, String> {
    let parts: Vec<u64> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err(format!(
            "the extension version '{version}' is not major.minor.patch"
        ));
    };
    task["version"] = json!({ "Major": major, "Minor": minor, "Patch": patch });
    if let Some(inputs) = task["inputs"].as_array_mut() {
        for input in inputs.iter_mut().filter(|i| i["name"] == "regionName") {
            input["options"] = Value::Object(regions.clone());
        }
    }
    Ok(task)
}

/// Stage the extension; returns the staged manifest.
///
/// # Errors
/// A message naming the file or binary that is missing or unreadable.
pub fn stage(options: &StageOptions) -> Result<Value, String> {
    let root = &options.root;
    let out = &options.out;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("tasks")).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut manifest = read(&root.join("vss-extension.json"))?;
    options.flavour.apply_to_manifest(&mut manifest);
    let version = manifest["version"].as_str().unwrap_or_default().to_owned();
    let regions = region_options(root)?;

    let mut files = manifest["files"].as_array().cloned().unwrap_or_default();
    let mut contributions = manifest["contributions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if contributions.iter().any(|c| c["type"] == TASK_CONTRIBUTION) {
        return Err("vss-extension.json lists a task contribution; tasks are staged from tasks/, so list none".into());
    }
    let mut packs = Vec::new();
    for source_name in task_names(root)? {
        let src = root.join("tasks").join(&source_name);
        let name = options.flavour.task_name(&source_name);
        let dest = out.join("tasks").join(&name);
        let mut task = staged_task_json(read(&src.join("task.json"))?, &version, &regions)?;
        options.flavour.apply_to_task(&mut task);
        std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        write(&dest.join("task.json"), &task)?;
        copy(&src.join("icon.png"), &dest.join("icon.png"))?;
        copy(
            &root.join("launcher").join("launcher.js"),
            &dest.join("launcher.js"),
        )?;
        let mut binaries = Vec::new();
        for platform in &options.platforms {
            let ext = if platform.starts_with("win-") {
                ".exe"
            } else {
                ""
            };
            let bin = options
                .bin_dir
                .join(platform)
                .join(format!("{source_name}{ext}"));
            let bytes = std::fs::read(&bin).map_err(|e| {
                format!("{}: {e} (is {source_name} a cargo bin target, built for {platform} by scripts/build-target?)", bin.display())
            })?;
            // The launcher unpacks to bin/<platform>/<task.json name>: the
            // flavour's task name, whatever the cargo bin target is called.
            binaries.push(PlatformBinary {
                platform: platform.clone(),
                file: format!("{name}{ext}"),
                bytes,
            });
        }
        if !binaries.is_empty() {
            packs.push((dest.join("bin"), binaries));
        }
        files.push(json!({ "path": format!("tasks/{name}") }));
        contributions.push(json!({
            "id": name,
            "type": TASK_CONTRIBUTION,
            "targets": ["ms.vss-distributed-task.tasks"],
            "properties": { "name": format!("tasks/{name}") }
        }));
    }
    // Packing at quality 11 takes about a minute of CPU per task with five
    // platforms: one thread per task.
    std::thread::scope(|scope| {
        let handles: Vec<_> = packs
            .into_iter()
            .map(|(bin, binaries)| {
                scope.spawn(move || pack_binaries(&bin, binaries, options.quality))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| "packing panicked".to_owned())?
                .map(|_| ())
        })
    })?;
    manifest["files"] = Value::Array(files);
    manifest["contributions"] = Value::Array(contributions);
    write(&out.join("vss-extension.json"), &manifest)?;
    let overview = std::fs::read_to_string(root.join("overview.md"))
        .map_err(|e| format!("{}: {e}", root.join("overview.md").display()))?;
    std::fs::write(
        out.join("overview.md"),
        options
            .flavour
            .apply_to_overview(&overview, &task_names(root)?),
    )
    .map_err(|e| format!("{}: {e}", out.join("overview.md").display()))?;
    copy_dir(&root.join("images"), &out.join("images"))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_packed_in_platform_order_and_listed_with_their_hashes() {
        use std::io::Read as _;
        let dir = tempfile::tempdir().unwrap();
        let binary = |platform: &str, fill: u8, len: usize| PlatformBinary {
            platform: platform.to_owned(),
            file: format!("Task-{platform}"),
            bytes: (0..len).map(|i| fill ^ (i % 251) as u8).collect(),
        };
        let size = pack_binaries(
            dir.path(),
            vec![
                binary("plan9-mips", 3, 1000),
                binary("macos-arm64", 2, 70_000),
                binary("linux-x64", 1, 50_000),
            ],
            5,
        )
        .unwrap();
        let packed = std::fs::read(dir.path().join(ARCHIVE)).unwrap();
        assert_eq!(size, packed.len() as u64);
        let mut stream = Vec::new();
        brotli::Decompressor::new(packed.as_slice(), 4096)
            .read_to_end(&mut stream)
            .unwrap();
        assert_eq!(stream.len(), 121_000);
        let index = read(&dir.path().join(INDEX)).unwrap();
        assert_eq!(index["archive"], ARCHIVE);
        let entries = index["binaries"].as_array().unwrap();
        let order: Vec<&str> = entries
            .iter()
            .map(|e| e["platform"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["linux-x64", "macos-arm64", "plan9-mips"]);
        for (e, fill) in entries.iter().zip([1u8, 2, 3]) {
            let offset = e["offset"].as_u64().unwrap() as usize;
            let len = e["size"].as_u64().unwrap() as usize;
            let bytes = &stream[offset..offset + len];
            assert_eq!(bytes[0], fill);
            assert_eq!(e["sha256"], hex(&Sha256::digest(bytes)));
            assert_eq!(
                e["file"],
                format!("Task-{}", e["platform"].as_str().unwrap())
            );
        }
        assert_eq!(entries[2]["offset"], 120_000);
    }

    #[test]
    fn task_json_is_stamped_and_gets_the_region_list() {
        let mut regions = Map::new();
        regions.insert("eu-west-1".into(), "Europe (Ireland) [eu-west-1]".into());
        let task = json!({
            "name": "AWSCLI",
            "inputs": [{ "name": "regionName", "type": "pickList" }, { "name": "awsCommand" }]
        });
        let staged = staged_task_json(task, "1.2.3", &regions).unwrap();
        assert_eq!(
            staged["version"],
            json!({ "Major": 1, "Minor": 2, "Patch": 3 })
        );
        assert_eq!(
            staged["inputs"][0]["options"]["eu-west-1"],
            "Europe (Ireland) [eu-west-1]"
        );
        assert!(staged["inputs"][1].get("options").is_none());
        assert!(staged_task_json(json!({}), "1.2", &regions).is_err());
    }
}
