//! A moto server on loopback: the local AWS the tests talk to.
//!
//! `scripts/install-test-deps` installs a pinned `moto[server]` into
//! `.tools/venv`. [`Moto::shared`] starts one server per test binary on a
//! free loopback port and waits until it answers. The server is started
//! through a small shell wrapper that kills it when the test process's end of
//! its stdin closes, so a test binary that exits (or crashes) never leaves a
//! moto process behind, even though statics are never dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::tools_dir;

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    port: u16,
    child: Child,
}

impl Moto {
    /// The server shared by every test in this test binary.
    #[must_use]
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(Moto::start)
    }

    /// Start a dedicated server.
    ///
    /// # Panics
    /// When moto is not installed or does not answer within 60 s.
    #[must_use]
    #[allow(clippy::disallowed_methods)] // waits in real time for a real server to start
    pub fn start() -> Self {
        let bin = moto_server_path();
        assert!(
            bin.exists(),
            "{} is missing: run scripts/install-test-deps",
            bin.display()
        );
        let port = free_port();
        // `read` returns when the test process exits and its end of the pipe
        // closes; the trap then stops moto.
        let script = r#"set -u; "$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT; read -r _ || true"#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&bin)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start moto: {e}"));
        let moto = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !moto.ready() {
            assert!(
                Instant::now() < deadline,
                "moto did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:{port}`: the endpoint for every AWS service.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    fn ready(&self) -> bool {
        http_request(self.port, "GET", "/moto-api/")
            .is_some_and(|r| r.starts_with("HTTP/1.") && r.contains(" 200 "))
    }

    /// Forget all state (buckets, stacks, roles).
    pub fn reset(&self) {
        let _ = http_request(self.port, "POST", "/moto-api/reset");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin makes the wrapper stop moto.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// `.tools/venv/bin/moto_server`.
#[must_use]
pub fn moto_server_path() -> PathBuf {
    venv_bin("moto_server")
}

/// A program from the test virtualenv (`aws`, `moto_server`).
#[must_use]
pub fn venv_bin(name: &str) -> PathBuf {
    let dir = if cfg!(windows) { "Scripts" } else { "bin" };
    tools_dir().join("venv").join(dir).join(name)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("addr").port()
}

fn http_request(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
            .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    Some(String::from_utf8_lossy(&buf).into_owned())
}
