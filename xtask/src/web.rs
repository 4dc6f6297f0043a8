//! `cargo xtask build-web`: builds the Leptos UI (`web/`, crate `tandem-web`) into a deployable
//! `web/dist/` without trunk or cargo-leptos:
//!
//! 1. `rustup target add wasm32-unknown-unknown`, if missing;
//! 2. `cargo build -p tandem-web --target wasm32-unknown-unknown --profile wasm-release`;
//! 3. `cargo install wasm-bindgen-cli --version V`, if the installed CLI is not the `V` that
//!    Cargo.lock pins (the CLI and the library must agree exactly);
//! 4. `wasm-bindgen --target web --no-typescript --out-dir web/dist …/tandem_web.wasm`;
//! 5. copies `web/index.html`, `web/boot.js` and `web/style.css` into `web/dist/`;
//! 6. `wasm-opt -Oz` on the module (binaryen from npm, installed into `web/.tools/` on first use;
//!    skipped when neither `wasm-opt` nor `npm` is available; an unchanged module reuses the
//!    last result, kept in `web/.tools/wasm-opt-cache/`);
//! 7. `gzip -9` siblings of the text and wasm files, for servers that serve precompressed files
//!    (skipped when `gzip` is missing).
//!
//! Every run starts from an empty `web/dist/`, so the output never mixes two builds.
//! Only std is used.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{describe, output, run};
use std::time::Instant;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-release";
const CRATE: &str = "tandem-web";
/// The wasm file cargo writes, and the stem of wasm-bindgen's outputs
/// (`tandem_web.js`, `tandem_web_bg.wasm`).
const ARTIFACT: &str = "tandem_web";
/// Static files of the page, copied as they are from `web/` into `web/dist/`.
const STATIC_FILES: &[&str] = &["index.html", "boot.js", "style.css"];
/// binaryen release providing `wasm-opt`, from npm.
const BINARYEN_NPM: &str = "binaryen@132.0.0";
/// axe-core, the accessibility engine the browser tests run on every page, from npm.
const AXE_NPM: &str = "axe-core@4.14.1";
/// The WebAssembly features rustc enables by default for wasm32-unknown-unknown (Rust ≥ 1.87);
/// wasm-opt must accept them, and must not add others.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds `root/web/dist/`. `root` is the workspace root (where Cargo.lock lives).
pub fn build_web(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let web = root.join("web");
    let dist = web.join("dist");

    ensure_wasm_target()?;

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = crate::target_dir(root);
    step(&format!(
        "cargo build -p {CRATE} --target {WASM_TARGET} --profile {PROFILE} (target dir {})",
        target_dir.display()
    ));
    run(Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            CRATE,
            "--target",
            WASM_TARGET,
            "--profile",
            PROFILE,
        ])
        .env("CARGO_TARGET_DIR", &target_dir))?;
    let wasm = target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{ARTIFACT}.wasm"));
    if !wasm.is_file() {
        return Err(format!(
            "cargo build succeeded but {} is missing",
            wasm.display()
        ));
    }

    // Read the lock after the build, which has brought it up to date.
    let lock_path = root.join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path)
        .map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    let version = locked_version(&lock, "wasm-bindgen")?;
    let wasm_bindgen = ensure_wasm_bindgen_cli(&cargo, &version)?;

    step(&format!("fresh {}", dist.display()));
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cannot remove {}: {e}", dist.display()))?;
    }
    fs::create_dir_all(&dist).map_err(|e| format!("cannot create {}: {e}", dist.display()))?;

    step(&format!(
        "wasm-bindgen --target web --no-typescript --out-dir {} {}",
        dist.display(),
        wasm.display()
    ));
    run(Command::new(&wasm_bindgen)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&dist)
        .arg(&wasm))?;

    for name in STATIC_FILES {
        let from = web.join(name);
        step(&format!("copy {} to {}", from.display(), dist.display()));
        fs::copy(&from, dist.join(name))
            .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }

    let bg_wasm = dist.join(format!("{ARTIFACT}_bg.wasm"));
    match find_wasm_opt(&web)? {
        Some(wasm_opt) => optimise(
            &wasm_opt,
            &bg_wasm,
            &web.join(".tools").join("wasm-opt-cache"),
        )?,
        None => step("skip wasm-opt: neither wasm-opt nor npm is available"),
    }

    precompress(&dist)?;

    let wasm_size = fs::metadata(&bg_wasm).map(|m| m.len()).unwrap_or(0);
    step(&format!(
        "done: {} ({} KiB of wasm) in {:.1} s",
        dist.display(),
        wasm_size.div_ceil(1024),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// `wasm-opt -Oz` on `wasm`, in place. wasm-opt (binaryen built to wasm, run by node) takes
/// ~10 s, so the last input and output are kept in `cache`: an unchanged module is not
/// optimised again.
fn optimise(wasm_opt: &Path, wasm: &Path, cache: &Path) -> Result<(), String> {
    let mut command = Command::new(wasm_opt);
    command.arg("-Oz").args(WASM_FEATURES).args(["--strip-debug", "--strip-producers"]);
    let key = describe(&command);
    let input = fs::read(wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    let (cached_key, cached_input, cached_output) = (
        cache.join("command"),
        cache.join("input.wasm"),
        cache.join("output.wasm"),
    );
    let hit = fs::read_to_string(&cached_key).is_ok_and(|k| k == key)
        && fs::read(&cached_input).is_ok_and(|previous| previous == input)
        && cached_output.is_file();
    if hit {
        step(&format!(
            "wasm-opt -Oz {}: unchanged, reusing {}",
            wasm.display(),
            cached_output.display()
        ));
        fs::copy(&cached_output, wasm)
            .map_err(|e| format!("cannot copy {}: {e}", cached_output.display()))?;
        return Ok(());
    }

    step(&format!("wasm-opt -Oz {}", wasm.display()));
    let optimised = wasm.with_extension("opt.wasm");
    run(command.arg(wasm).arg("-o").arg(&optimised))?;
    fs::rename(&optimised, wasm).map_err(|e| format!("cannot replace {}: {e}", wasm.display()))?;

    // The cache is an optimisation only: failing to fill it is not an error.
    let _ = fs::remove_file(&cached_key);
    let filled = fs::create_dir_all(cache).is_ok()
        && fs::write(&cached_input, &input).is_ok()
        && fs::copy(wasm, &cached_output).is_ok()
        && fs::write(&cached_key, &key).is_ok();
    if !filled {
        step(&format!("note: could not fill {}", cache.display()));
    }
    Ok(())
}

/// The version of `package` in a Cargo.lock; an error if it is absent or locked twice.
fn locked_version(lock: &str, package: &str) -> Result<String, String> {
    let mut versions = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if field("name").as_deref() == Some(package)
            && let Some(version) = field("version")
        {
            versions.push(version);
        }
    }
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("Cargo.lock has no `{package}` package")),
        many => Err(format!(
            "Cargo.lock has several `{package}` versions ({}); pin one in [workspace.dependencies]",
            many.join(", ")
        )),
    }
}

fn ensure_wasm_target() -> Result<(), String> {
    let Some(rustup) = find_tool("rustup") else {
        step("rustup not found: assuming the wasm32-unknown-unknown standard library is installed");
        return Ok(());
    };
    let installed = output(Command::new(&rustup).args(["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        step(&format!("rustup target {WASM_TARGET}: installed"));
        return Ok(());
    }
    step(&format!("rustup target add {WASM_TARGET}"));
    run(Command::new(&rustup).args(["target", "add", WASM_TARGET]))
}

/// The path of a `wasm-bindgen` CLI of exactly `version`, installing it if needed.
fn ensure_wasm_bindgen_cli(cargo: &OsStr, version: &str) -> Result<PathBuf, String> {
    let installed = find_tool("wasm-bindgen").and_then(|path| {
        let reported = output(Command::new(&path).arg("--version")).ok()?;
        Some((path, cli_version(&reported)?))
    });
    match installed {
        Some((path, found)) if found == version => {
            step(&format!("wasm-bindgen {version}: {}", path.display()));
            return Ok(path);
        }
        Some((path, found)) => step(&format!(
            "{} is wasm-bindgen {found}, Cargo.lock wants {version}",
            path.display()
        )),
        None => step(&format!(
            "wasm-bindgen CLI not found, Cargo.lock wants {version}"
        )),
    }
    // No --locked: the CLI's own lockfile pins a crate version the registry may lack.
    step(&format!(
        "cargo install wasm-bindgen-cli --version {version} (about a minute)"
    ));
    run(&mut crate::deps::cargo_install(cargo, &["wasm-bindgen-cli", "--version", version]))?;
    let path = find_tool("wasm-bindgen").ok_or(
        "cargo install wasm-bindgen-cli finished but wasm-bindgen is not in PATH or ~/.cargo/bin",
    )?;
    let reported = output(Command::new(&path).arg("--version"))?;
    match cli_version(&reported) {
        Some(found) if found == version => Ok(path),
        _ => Err(format!(
            "{} reports `{}` after installing {version}; is an older one earlier in PATH?",
            path.display(),
            reported.trim()
        )),
    }
}

/// `wasm-bindgen 0.2.130` → `0.2.130`.
fn cli_version(reported: &str) -> Option<String> {
    let mut words = reported.split_whitespace();
    (words.next()? == "wasm-bindgen").then_some(())?;
    words.next().map(str::to_owned)
}

/// `wasm-opt` from PATH or `web/.tools`, installing binaryen there with npm when needed.
/// `None` when neither wasm-opt nor npm exists.
fn find_wasm_opt(web: &Path) -> Result<Option<PathBuf>, String> {
    let tools = web.join(".tools");
    let local = tools.join("node_modules").join(".bin").join("wasm-opt");
    if local.is_file() {
        return Ok(Some(local));
    }
    if let Some(path) = find_tool("wasm-opt") {
        return Ok(Some(path));
    }
    let Some(npm) = find_tool("npm") else {
        return Ok(None);
    };
    npm_install(&npm, &tools, BINARYEN_NPM, &local).map(Some)
}

/// `npm install --prefix tools package`, then checks that it brought `expected`.
fn npm_install(npm: &Path, tools: &Path, package: &str, expected: &Path) -> Result<PathBuf, String> {
    step(&format!("npm install --prefix {} {package}", tools.display()));
    fs::create_dir_all(tools).map_err(|e| format!("cannot create {}: {e}", tools.display()))?;
    run(Command::new(npm)
        .arg("install")
        .arg("--prefix")
        .arg(tools)
        .args(["--no-audit", "--no-fund", "--no-save", package]))?;
    if expected.is_file() {
        Ok(expected.to_path_buf())
    } else {
        Err(format!("npm installed {package} but {} is missing", expected.display()))
    }
}

/// `axe.min.js` of axe-core in `web/.tools/axe`, installed there with npm on first use (and
/// npm from Debian when the machine has none). The browser tests need it: no fallback. Its
/// own prefix: `npm install --no-save` removes what else a prefix holds (binaryen).
pub fn axe_core(root: &Path) -> Result<PathBuf, String> {
    let tools = root.join("web").join(".tools").join("axe");
    let script = tools.join("node_modules").join("axe-core").join("axe.min.js");
    if script.is_file() {
        return Ok(script);
    }
    if find_tool("npm").is_none() {
        crate::deps::ensure_apt(&["npm"])?;
    }
    let npm = find_tool("npm").ok_or("npm is not installed")?;
    npm_install(&npm, &tools, AXE_NPM, &script)
}

/// Writes `NAME.gz` next to each compressible file of `dist`, if `gzip` exists.
fn precompress(dist: &Path) -> Result<(), String> {
    let Some(gzip) = find_tool("gzip") else {
        step("skip precompression: gzip not found");
        return Ok(());
    };
    let mut files: Vec<PathBuf> = fs::read_dir(dist)
        .map_err(|e| format!("cannot list {}: {e}", dist.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(OsStr::to_str),
                Some("html" | "css" | "js" | "wasm")
            )
        })
        .collect();
    files.sort();
    step(&format!(
        "gzip -9 -k -n {} files in {}",
        files.len(),
        dist.display()
    ));
    run(Command::new(gzip)
        .args(["-9", "-k", "-n", "-f"])
        .args(&files))
}

/// An executable named `name` in PATH, else in `$CARGO_HOME/bin` or `~/.cargo/bin`.
fn find_tool(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_bins = [
        std::env::var_os("CARGO_HOME").map(|home| PathBuf::from(home).join("bin")),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo").join("bin")),
    ];
    path_dirs
        .into_iter()
        .chain(cargo_bins.into_iter().flatten())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

fn step(what: &str) {
    eprintln!("web: {what}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "0000"
dependencies = [
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.131"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tandem-web"
version = "0.1.0"
dependencies = [
 "wasm-bindgen",
]
"#;

    #[test]
    fn reads_the_exact_locked_version() {
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen"),
            Ok("0.2.130".to_owned())
        );
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen-macro"),
            Ok("0.2.131".to_owned())
        );
    }

    #[test]
    fn missing_and_duplicate_packages_are_errors() {
        let missing = locked_version(LOCK, "leptos").expect_err("not locked");
        assert!(missing.contains("no `leptos`"), "{missing}");

        let twice = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.99\"\n");
        let error = locked_version(&twice, "wasm-bindgen").expect_err("two versions");
        assert!(error.contains("0.2.130, 0.2.99"), "{error}");
    }

    #[test]
    fn parses_the_cli_version() {
        assert_eq!(
            cli_version("wasm-bindgen 0.2.130\n").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(cli_version("wasm-opt version 123"), None);
        assert_eq!(cli_version(""), None);
    }
}
