//! Wine: the shipped win-x64 task binaries run unmodified in the test
//! suite, as a Windows agent runs them.
//!
//! `scripts/install-wine` installs Debian's Wine 8 and builds the test-only
//! `bcryptprimitives.dll` shim (Rust's std imports `ProcessPrng`, which Wine
//! 8 lacks) into `.tools/wine`; `scripts/build-target win-x64` builds the
//! binaries into `target/dist-bin/win-x64`. [`Wine::shared`] makes one
//! fresh prefix per test process (`wineboot -i`, about 10 s) with the shim
//! in its `system32`, keeps a wineserver running while the tests use it,
//! and removes the prefix when the process ends. Child programs of a Windows task must be Windows programs (`.cmd`,
//! `.exe`): Wine starts a Linux program but cannot wait for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::{Agent, TaskRun, tools_dir, workspace_root};

/// Where Debian installs the 64-bit loader (not on `PATH`).
pub const WINE64: &str = "/usr/lib/wine/wine64";
/// The wineserver of that installation.
pub const WINESERVER: &str = "/usr/lib/wine/wineserver";

/// A Wine prefix for this test binary.
#[derive(Debug)]
pub struct Wine {
    prefix: PathBuf,
    /// Removes the prefix (about 700 MB) when this test process ends: a
    /// static is never dropped, so a `TempDir` would leak it.
    _cleanup: std::process::Child,
}

/// `path` as a Windows program sees it: on Wine's `Z:` drive, with
/// backslashes.
#[must_use]
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// The win-x64 build of task binary `name` (`AWSCLI` gives
/// `target/dist-bin/win-x64/AWSCLI.exe`).
///
/// # Panics
/// When it has not been built: run `scripts/test` (or `scripts/build-target
/// win-x64`).
#[must_use]
pub fn task_exe(name: &str) -> PathBuf {
    let exe = workspace_root()
        .join("target/dist-bin/win-x64")
        .join(format!("{name}.exe"));
    assert!(
        exe.is_file(),
        "{} is missing: scripts/test builds it (scripts/build-target win-x64 --bin {name})",
        exe.display()
    );
    exe
}

impl Wine {
    /// The prefix shared by every test in this test binary.
    #[must_use]
    pub fn shared() -> &'static Wine {
        static SHARED: OnceLock<Wine> = OnceLock::new();
        SHARED.get_or_init(Wine::start)
    }

    /// A new prefix, booted, with the shim installed.
    ///
    /// # Panics
    /// When Wine or the shim is missing (`scripts/install-wine`), or the
    /// prefix cannot be made. The Windows tier is never skipped.
    #[must_use]
    pub fn start() -> Self {
        assert!(
            Path::new(WINE64).is_file(),
            "{WINE64} is missing: run scripts/install-wine (the Windows test tier needs Wine)"
        );
        let shim = tools_dir().join("wine/bcryptprimitives.dll");
        assert!(
            shim.is_file(),
            "{} is missing: run scripts/install-wine",
            shim.display()
        );
        let prefix = tempfile::Builder::new()
            .prefix("azp-wine-")
            .tempdir()
            .expect("prefix folder")
            .keep();
        // The prefix's wineserver stops, then the prefix goes, and so does
        // the server's socket folder (/tmp/wine-XXXXXX/server-<dev>-<inode>
        // in Debian's Wine, named after the prefix folder's device and inode).
        let cleanup = crate::at_exit(
            r#"WINEPREFIX="$0" "$1" -k 2>/dev/null
               srv=$(printf 'server-%x-%x' "0x$(stat -c %D "$0")" "$(stat -c %i "$0")")
               rm -rf "$0"
               for d in /tmp/wine-*/"$srv" /tmp/.wine-*/"$srv"; do
                 [ -d "$d" ] && rm -rf "$d" && rmdir "$(dirname "$d")" 2>/dev/null
               done"#,
            &[prefix.as_os_str(), WINESERVER.as_ref()],
        );
        let wine = Self {
            prefix,
            _cleanup: cleanup,
        };
        // A server that outlives each program by 60 s, so that every task run
        // does not start its own; it ends by itself after the last test.
        let _ = wine
            .command(WINESERVER)
            .arg("-p60")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let booted = wine
            .command(WINE64)
            .args(["wineboot", "-i"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("wineboot");
        assert!(booted.success(), "wineboot -i failed: {booted}");
        let system32 = wine.prefix.join("drive_c/windows/system32");
        std::fs::copy(&shim, system32.join("bcryptprimitives.dll")).expect("install the shim");
        wine
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("WINEPREFIX", &self.prefix).env("WINEDEBUG", "-all");
        c
    }

    /// The prefix folder.
    #[must_use]
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Run task binary `exe` (a `.exe` path) as `agent` describes, under
    /// Wine, with `windows_path` (folders, Linux paths) on the Windows
    /// `PATH` (`WINEPATH`).
    #[must_use]
    pub fn run(&self, agent: Agent, exe: &Path, windows_path_dirs: &[&Path]) -> TaskRun {
        let winepath = windows_path_dirs
            .iter()
            .map(|d| windows_path(d))
            .collect::<Vec<_>>()
            .join(";");
        agent
            .env("WINEPREFIX", &self.prefix.display().to_string())
            .env("WINEDEBUG", "-all")
            .env("WINEPATH", &winepath)
            .run_process(Path::new(WINE64), &[&exe.display().to_string()])
    }
}
