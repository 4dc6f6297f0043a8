//! `./x fuzz [SECONDS]`: the mail parser's fuzz target (`fuzz/`, cargo-fuzz on nightly),
//! seeded with the real-mail fixtures, for SECONDS (default 30).

use std::{path::Path, process::Command};

use crate::{deps, util};

fn ensure_nightly() -> Result<(), String> {
    let mut list = Command::new("rustup");
    list.args(["toolchain", "list"]);
    let toolchains = util::output(&mut list)?;
    if toolchains.lines().any(|l| l.starts_with("nightly")) {
        eprintln!("rustup: nightly already installed");
        return Ok(());
    }
    util::run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))
}

fn seed(root: &Path) -> Result<(), String> {
    let corpus = root.join("fuzz/corpus/mail");
    if corpus.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut stack = vec![root.join("tests/fixtures/mail"), root.join("tests/fixtures/threads")];
    let mut n = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "eml") {
                n += 1;
                std::fs::copy(&path, corpus.join(format!("seed-{n:04}.eml"))).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    eprintln!("fuzz: seeded {} with {n} real messages", corpus.display());
    Ok(())
}

/// Installs what fuzzing needs: the nightly toolchain and cargo-fuzz.
pub fn tools() -> Result<(), String> {
    ensure_nightly()?;
    deps::ensure_cargo_tool("cargo-fuzz", "cargo fuzz --version", &["cargo-fuzz", "--locked"])
}

pub fn fuzz(root: &Path, seconds: u64) -> Result<(), String> {
    tools()?;
    run(root, seconds)
}

/// Builds the target (what [`run`] would build first), so it can build beside other work.
pub fn build(root: &Path) -> Result<(), String> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root).args(["+nightly", "fuzz", "build", "-O", "mail"]);
    util::run(&mut cmd)
}

/// Runs the target for `seconds`; a finding is an error (the input is kept under fuzz/artifacts).
pub fn run(root: &Path, seconds: u64) -> Result<(), String> {
    seed(root)?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        // `-O`: release without debug assertions, as Tandem ships. mail-parser 0.11.9 has a
        // `debug_assert!(false)` on some broken multiparts (message.rs:485) that the fuzzer
        // reaches at once; release builds parse those messages (regression input in
        // tests/fixtures/fuzz, checked by tandem-mail's tests). `build` uses the same flags.
        .args(["+nightly", "fuzz", "run", "-O", "mail", "--", &format!("-max_total_time={seconds}"), "-rss_limit_mb=2048", "-max_len=1048576"]);
    util::run(&mut cmd)
}
