//! What the agent's own host contributes to a step: its environment
//! (`PATH`, `HOME`, ...), and the `Agent.OS`/`Agent.OSArchitecture` values.

/// The agent's name normalisation, written independently of `azp-task`.
pub(super) fn normalize(name: &str) -> String {
    name.replace(['.', ' '], "_").to_uppercase()
}

/// What the agent's own process environment contributes (PATH, HOME, ...).
#[allow(clippy::disallowed_methods)] // the harness is the agent: it reads its host
pub(super) fn host_environment() -> Vec<(String, String)> {
    const KEEP: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "LANG",
        "LC_ALL",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "SystemRoot",
        "COMSPEC",
        "PATHEXT",
        "WINDIR",
    ];
    KEEP.iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect()
}

/// The host's `PATH`.
pub(crate) fn host_path() -> String {
    host_environment()
        .into_iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

pub(super) fn agent_os() -> &'static str {
    if cfg!(windows) {
        "Windows_NT"
    } else if cfg!(target_os = "macos") {
        "Darwin"
    } else {
        "Linux"
    }
}

pub(super) fn agent_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "ARM64"
    } else {
        "X64"
    }
}
