//! The real `tandem` binary as a child process, for the tests that must run against it (the
//! browser tests): `tandem serve` over a test database, on a loopback port.
//!
//! The binary is the one `cargo nextest run` built for the workspace (`target/debug/tandem`);
//! `./x test` passes its path in `TANDEM_BIN`. Without it the test fails: it never skips.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// How long `tandem serve` may take to say it is running.
const START: Duration = Duration::from_secs(30);
/// How long a graceful stop (SIGTERM) may take before the process is killed.
const STOP: Duration = Duration::from_secs(10);

/// The binary under test.
pub fn tandem_bin() -> PathBuf {
    let Some(path) = std::env::var_os("TANDEM_BIN").filter(|v| !v.is_empty()).map(PathBuf::from) else {
        panic!("TANDEM_BIN is not set: it must point to the built `tandem` binary. Run the tests through `./x test`, which sets it.");
    };
    assert!(path.is_file(), "TANDEM_BIN={} is not a file: build it with `cargo build -p tandem`, or run the tests through `./x test`", path.display());
    path
}

/// A running `tandem serve`; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
}

impl ServerProcess {
    /// Starts `tandem serve` on `database_url` with `data_dir` (blobs), serving `web_dir`,
    /// listening on `listen` (port 0: any free port). No bundled plugins are installed, and
    /// the read cache is off: the tests also write to the database from their own process,
    /// which this process's cache would not notice for up to a second.
    pub fn start(database_url: &str, data_dir: &Path, web_dir: Option<&Path>, listen: SocketAddr) -> ServerProcess {
        let mut command = Command::new(tandem_bin());
        command
            .arg("serve")
            .current_dir(data_dir)
            .env_remove("TANDEM_CONFIG")
            .env("DATABASE_URL", database_url)
            .env("TANDEM_DATA_DIR", data_dir)
            .env("TANDEM_LISTEN", listen.to_string())
            .env("TANDEM_BUNDLED_PLUGINS", data_dir.join("no-bundled-plugins"))
            .env("TANDEM_READ_CACHE_MS", "0")
            .env("TANDEM_LOG_FORMAT", "json")
            .env("TANDEM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // The test's own output: shown by the test runner when the test fails.
            .stderr(Stdio::inherit());
        match web_dir {
            Some(dir) => command.env("TANDEM_WEB_DIR", dir),
            None => command.env_remove("TANDEM_WEB_DIR"),
        };
        let mut child = command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", tandem_bin().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, lines) = std::sync::mpsc::channel();
        // Reads until the "running" line, then keeps draining stdout so the child never blocks.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Tandem is running on http://")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        let address = match lines.recv_timeout(START) {
            Ok(address) => address.parse().unwrap_or_else(|e| panic!("tandem serve announced {address:?}: {e}")),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("tandem serve did not say it was running within {START:?} (exit: {status:?}; its log is above)");
            }
        };
        ServerProcess { child, address }
    }

    /// Stops the process as an operator's service manager does (SIGTERM: a graceful
    /// shutdown that closes the live sockets), killing it if it takes too long.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let signalled = Command::new("kill").args(["-TERM", &pid]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        let deadline = std::time::Instant::now() + STOP;
        while signalled && std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "tandem serve ended with {status} after SIGTERM");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("tandem serve did not stop within {STOP:?} of SIGTERM");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
