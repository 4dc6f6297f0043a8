//! Small helpers for running commands with errors that say which command failed.

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
