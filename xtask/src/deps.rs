//! Installs what the build and the tests need, only when it is missing.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::util::{self, describe};

/// Set once `apt-get update` has run, in this process or (through the env var) in `./x`.
static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// A command run as root: directly when we are root, through `sudo` otherwise.
/// `env` carries DEBIAN_FRONTEND past sudo's environment reset.
fn as_root(args: &[&str]) -> Result<Command, String> {
    let mut cmd = if util::is_root()? {
        Command::new("env")
    } else {
        let mut c = Command::new("sudo");
        c.arg("env");
        c
    };
    cmd.arg("DEBIAN_FRONTEND=noninteractive").args(args);
    Ok(cmd)
}

/// Whether dpkg has `pkg` fully installed (not just known, or removed with its config left).
fn apt_installed(pkg: &str) -> bool {
    let mut cmd = Command::new("dpkg-query");
    cmd.args(["-W", "-f=${Status}", pkg]);
    util::output(&mut cmd).is_ok_and(|s| is_installed_status(&s))
}

fn is_installed_status(status: &str) -> bool {
    status.trim() == "install ok installed"
}

/// Installs the Debian packages in `pkgs` that are not installed yet.
pub fn ensure_apt(pkgs: &[&str]) -> Result<(), String> {
    let mut missing = Vec::new();
    for &pkg in pkgs {
        if apt_installed(pkg) {
            eprintln!("apt: {pkg} already installed");
        } else {
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("apt: installing {}", missing.join(" "));
    // Wait for a concurrent apt/dpkg (e.g. unattended-upgrades on a fresh machine) instead of failing.
    let lock_wait = "-oDPkg::Lock::Timeout=300";
    if !APT_UPDATED.load(Ordering::Relaxed) && std::env::var_os("XTASK_APT_UPDATED").is_none() {
        util::run(&mut as_root(&["apt-get", lock_wait, "update"])?)?;
        APT_UPDATED.store(true, Ordering::Relaxed);
    }
    // Recommends are not needed: chromium's pull in printing/desktop services, and fonts come
    // anyway through fontconfig's dependency on a font package.
    let mut args = vec!["apt-get", lock_wait, "install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    let started = std::time::Instant::now();
    util::run(&mut as_root(&args)?)?;
    eprintln!("apt: installed {} in {:.0?}", missing.join(" "), started.elapsed());
    Ok(())
}

/// Adds a rustup target (e.g. wasm32-unknown-unknown) if it is not installed yet.
pub fn ensure_rust_target(target: &str) -> Result<(), String> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]);
    let installed = util::output(&mut list)
        .map_err(|e| format!("{e}\n(a rustup-managed toolchain is required: https://rustup.rs)"))?;
    if installed.lines().any(|l| l.trim() == target) {
        eprintln!("rustup: target {target} already installed");
        return Ok(());
    }
    eprintln!("rustup: adding target {target}");
    util::run(Command::new("rustup").args(["target", "add", target]))
}

/// Runs `check` (a command line like "cargo nextest --version"); if it fails,
/// `cargo install <install_args>`.
pub fn ensure_cargo_tool(name: &str, check: &str, install_args: &[&str]) -> Result<(), String> {
    let mut words = check.split_whitespace();
    let program = words.next().ok_or_else(|| format!("empty check command for {name}"))?;
    let mut check_cmd = Command::new(program);
    check_cmd.args(words);
    if util::succeeds(&mut check_cmd) {
        eprintln!("cargo: {name} already installed");
        return Ok(());
    }
    eprintln!("cargo: `{}` failed; installing {name} (this compiles it, a minute or two)", describe(&check_cmd));
    let started = std::time::Instant::now();
    util::run(&mut cargo_install(crate::cargo_program(), install_args))?;
    eprintln!("cargo: installed {name} in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo install ARGS`, compiled for a short build rather than a fast tool. The tools we
/// install (cargo-nextest, wasm-bindgen-cli, cargo-fuzz) each run for seconds per suite, but
/// their release builds (LTO, opt-level 3) were the longest steps of a cold `./x test`.
/// Measured on the 2-core AMD machine with the crates downloaded: cargo-nextest 6 min 1 s →
/// 2 min 36 s, wasm-bindgen-cli ~6 min (TOOLCHAIN.md) → 58 s; wasm-bindgen then takes 1.8 s
/// instead of 0.5 s on the UI's wasm, with byte-identical output.
pub fn cargo_install(cargo: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.arg("install")
        .args(args)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_LTO", "off")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
        // The install must not build into the workspace's target dir.
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status() {
        assert!(is_installed_status("install ok installed"));
        assert!(!is_installed_status("deinstall ok config-files"));
        assert!(!is_installed_status(""));
    }
}
