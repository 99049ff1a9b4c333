//! Finding a program on `PATH`, as a shell would.

use std::path::{Path, PathBuf};

/// The first `name` on `path` (the value of `PATH`) that is an executable
/// file. On Windows `PATHEXT` extensions are tried, and WSL's `bash.exe`
/// launcher in `System32` is skipped: it runs Linux, not the agent's shell.
#[must_use]
pub fn find_program(name: &str, path: Option<&str>, pathext: Option<&str>) -> Option<PathBuf> {
    let path = path?;
    let sep = if cfg!(windows) { ';' } else { ':' };
    let exts: Vec<String> = if cfg!(windows) {
        let mut e: Vec<String> = pathext
            .unwrap_or(".COM;.EXE;.BAT;.CMD")
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
            .collect();
        e.insert(0, String::new());
        e
    } else {
        vec![String::new()]
    };
    for dir in path.split(sep).filter(|d| !d.trim().is_empty()) {
        let dir = Path::new(dir.trim().trim_matches('"'));
        if cfg!(windows)
            && dir
                .to_string_lossy()
                .to_lowercase()
                .replace('/', "\\")
                .ends_with("\\windows\\system32")
            && name == "bash"
        {
            continue;
        }
        for ext in &exts {
            let candidate = dir.join(format!("{name}{ext}"));
            if is_executable(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_only() {
        let dir = std::env::temp_dir().join(format!("azp-which-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tool = dir.join("mytool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = format!("/nonexistent:{}", dir.display());
        assert_eq!(
            find_program("mytool", Some(&path), None),
            None,
            "not executable yet"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_program("mytool", Some(&path), None), Some(tool));
        assert_eq!(find_program("mytool", None, None), None);
        assert!(find_program("sh", Some("/usr/bin:/bin"), None).is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
