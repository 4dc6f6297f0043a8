//! `./x plugins`: builds the plugin components (wasm32-wasip2, profile `plugin`) into
//! `target/wasm32-wasip2/plugin/`: the bundled ones, which `./x run` installs on first start,
//! the fixtures the test suite loads (`hostile-plugin`), and `plugins/python-example` built with
//! componentize-py (PyPI) as `python_classifier.wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{deps, util};

pub const TARGET: &str = "wasm32-wasip2";

/// Shipped with Tandem, installed and enabled on first start.
pub const BUNDLED: &[&str] = &["keyword-classifier", "skills-router", "template-responder"];
/// Built for the tests only.
pub const FIXTURES: &[&str] = &["hostile-plugin", "hostile-enum-plugin", "hostile-init-plugin"];

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

/// `./x plugins`: the bundled plugins, the test fixtures, and the Python example.
pub fn build_all(root: &Path) -> Result<(), String> {
    let all: Vec<&str> = BUNDLED.iter().chain(FIXTURES).copied().collect();
    let dir = build(root, &all)?;
    build_python_example(root, &dir)
}

/// componentize-py from PyPI, pinned (see ../shared/TOOLCHAIN.md).
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Builds `plugins/python-example` with componentize-py, installed into a virtualenv under
/// the target directory (once; Debian's python3 with python3-venv).
fn build_python_example(root: &Path, out_dir: &Path) -> Result<(), String> {
    deps::ensure_apt(&["python3", "python3-venv"])?;
    let venv = crate::target_dir(root).join("componentize-py");
    let tool = venv.join("bin").join("componentize-py");
    let stamp = venv.join(".installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(COMPONENTIZE_PY) {
        util::run(Command::new("/usr/bin/python3").arg("-m").arg("venv").arg("--clear").arg(&venv))?;
        util::run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", "--disable-pip-version-check", COMPONENTIZE_PY]))?;
        std::fs::write(&stamp, COMPONENTIZE_PY).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    let out = out_dir.join("python_classifier.wasm");
    let started = std::time::Instant::now();
    util::run(
        Command::new(&tool)
            .current_dir(root)
            .args(["-d", "wit/v0.1.0", "-w", "classifier", "componentize", "app", "-p", "plugins/python-example", "-o"])
            .arg(&out),
    )?;
    let size = std::fs::metadata(&out).map_err(|e| format!("{}: {e}", out.display()))?.len();
    eprintln!("plugins: {} ({} KiB, componentize-py {:.1?})", out.display(), size / 1024, started.elapsed());
    Ok(())
}

/// `./x bench-plugins`: the plugin benchmark (`server/plugins/benches/pipeline.rs`).
pub fn bench(root: &Path) -> Result<(), String> {
    build_all(root)?;
    util::run(crate::cargo(root).args(["bench", "-p", "tandem-plugins", "--bench", "pipeline"]))
}
