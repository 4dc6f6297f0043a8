//! `./x plugins`: builds the plugin components (wasm32-wasip2, profile `plugin`) into
//! `target/wasm32-wasip2/plugin/`: the bundled ones, which `./x run` installs on first start,
//! and the fixtures the test suite loads (`hostile-plugin`).

use std::path::{Path, PathBuf};

use crate::{deps, util};

pub const TARGET: &str = "wasm32-wasip2";

/// Shipped with Tandem, installed and enabled on first start.
pub const BUNDLED: &[&str] = &["keyword-classifier"];
/// Built for the tests only.
pub const FIXTURES: &[&str] = &["hostile-plugin"];

/// Builds `crates` as components; returns the directory they are in.
pub fn build(root: &Path, crates: &[&str]) -> Result<PathBuf, String> {
    deps::ensure_rust_target(TARGET)?;
    let mut cargo = crate::cargo(root);
    cargo.args(["build", "--target", TARGET, "--profile", "plugin"]);
    for name in crates {
        cargo.args(["-p", name]);
    }
    util::run(&mut cargo)?;
    let dir = component_dir(root);
    for name in crates {
        let file = dir.join(format!("{}.wasm", name.replace('-', "_")));
        let size = std::fs::metadata(&file).map_err(|e| format!("{}: {e}", file.display()))?.len();
        eprintln!("plugins: {} ({} KiB)", file.display(), size / 1024);
    }
    Ok(dir)
}

pub fn component_dir(root: &Path) -> PathBuf {
    crate::target_dir(root).join(TARGET).join("plugin")
}

/// `./x plugins`: the bundled plugins and the test fixtures.
pub fn build_all(root: &Path) -> Result<(), String> {
    let all: Vec<&str> = BUNDLED.iter().chain(FIXTURES).copied().collect();
    build(root, &all).map(|_| ())
}
