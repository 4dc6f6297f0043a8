//! Small helpers: running commands with errors that say which command failed, temp dirs, free
//! loopback ports.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;

/// `program arg1 arg2 …` for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` with inherited stdio and returns its exit status (even if unsuccessful).
pub fn status(cmd: &mut Command) -> Result<ExitStatus, String> {
    cmd.status().map_err(|e| format!("could not start `{}`: {e}", describe(cmd)))
}

/// Runs `cmd` with inherited stdio; a non-zero exit is an error.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let st = status(cmd)?;
    if st.success() { Ok(()) } else { Err(format!("`{}` failed ({st})", describe(cmd))) }
}

/// Runs `cmd` and returns its stdout; a non-zero exit is an error that includes stderr.
pub fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// True if `cmd` starts and exits 0 (its output is discarded).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The effective user id, from `id -u` (std has no getuid and this crate forbids unsafe code).
pub fn euid() -> Result<u32, String> {
    static EUID: OnceLock<Result<u32, String>> = OnceLock::new();
    EUID.get_or_init(|| {
        let out = output(Command::new("id").arg("-u"))?;
        out.trim().parse().map_err(|e| format!("`id -u` printed {out:?}: {e}"))
    })
    .clone()
}

pub fn is_root() -> Result<bool, String> {
    Ok(euid()? == 0)
}

/// A new, empty directory `<prefix>-<pid>-<random>` in the system temp dir.
pub fn make_temp_dir(prefix: &str) -> Result<PathBuf, String> {
    use std::hash::{BuildHasher, Hasher};
    let base = std::env::temp_dir();
    let mut last_err = None;
    for _ in 0..10 {
        // RandomState is seeded randomly per instance: good enough for a unique name.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let dir = base.join(format!("{prefix}-{}-{:08x}", std::process::id(), random as u32));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last_err = Some(e),
        }
    }
    Err(format!("could not create a temp dir in {}: {last_err:?}", base.display()))
}

/// A port that was free a moment ago: bind port 0, read what the OS picked, let it go.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding 127.0.0.1:0: {e}"))?;
    let port = listener.local_addr().map_err(|e| format!("local_addr: {e}"))?.port();
    Ok(port)
}
