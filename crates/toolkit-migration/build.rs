//! Compiles in this extension's tasks (name and GUID of each folder of
//! `tasks/`), so that the task list stays the folders and nothing else.

use std::fmt::Write as _;
use std::path::Path;

#[allow(clippy::disallowed_methods)] // cargo hands a build script OUT_DIR in its environment
fn main() {
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tasks");
    println!("cargo:rerun-if-changed={}", tasks.display());
    let mut entries: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(&tasks).expect("tasks/").flatten() {
        let path = entry.path().join("task.json");
        println!("cargo:rerun-if-changed={}", path.display());
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let task: serde_json::Value = serde_json::from_str(&text).expect("task.json is JSON");
        entries.push((
            task["name"].as_str().expect("name").to_owned(),
            task["id"].as_str().expect("id").to_lowercase(),
        ));
    }
    entries.sort();
    let mut out = String::from(
        "/// This extension's tasks as the sources name them: (name, GUID).\npub const OUR_TASKS: &[(&str, &str)] = &[\n",
    );
    for (name, id) in entries {
        let _ = writeln!(out, "    ({name:?}, {id:?}),");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("tasks.rs");
    std::fs::write(dest, out).expect("write tasks.rs");
}
