//! Compiled components on disk, keyed by the component's SHA-256 and the engine's
//! compatibility hash, so that a restart or a swap back to a known version never recompiles.
//!
//! Files are written to a temporary name and renamed into place, so a crash never leaves a
//! half-written artifact under a valid name. A file that fails to load (from another wasmtime
//! build, or damaged) is compiled again and replaced.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::PluginError;

#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    /// Hex digest of the engine's compatibility hash (wasmtime version, target, settings).
    engine_key: String,
    /// A program that compiles a component into this cache in a separate process
    /// (`tandem plugin-compile`), so that the compiler's memory (tens of MB, which the
    /// allocator keeps after freeing) never stays with the server. `None`: compile here.
    compiler: Option<PathBuf>,
}

/// How the runtime compiles uploaded bytes into what runs: the component as uploaded, or the
/// pre-initialised form of one that asks for it. The cache entry stays keyed by the uploaded
/// bytes' hash.
pub type Compile<'a> = &'a dyn Fn(&[u8]) -> Result<Component, PluginError>;

/// Exit code of the compiler process when the input is not a valid component (its stderr
/// then says why, for the uploader).
pub const EXIT_INVALID: i32 = 3;

impl CompileCache {
    pub fn open(dir: PathBuf, engine: &Engine) -> Result<CompileCache, PluginError> {
        std::fs::create_dir_all(&dir).map_err(|e| cache_error(&dir, e))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(CompileCache { dir, engine_key: format!("{:016x}", hasher.finish()), compiler: None })
    }

    /// Compiles cache misses with `program plugin-compile --cache-dir DIR` (component on stdin).
    pub fn set_compiler(&mut self, program: PathBuf) {
        self.compiler = Some(program);
    }

    /// Compiles `bytes` into the cache in this process (what the compiler process runs).
    pub fn compile_into_cache(&self, bytes: &[u8], compile: Compile<'_>) -> Result<(), PluginError> {
        self.compile_here(bytes, &hex::encode(Sha256::digest(bytes)), compile).map(|_| ())
    }

    /// The compiled component for `bytes`, from the cache or freshly compiled (and then cached),
    /// with the component's SHA-256 (hex).
    pub fn get_or_compile(&self, engine: &Engine, bytes: &[u8], compile: Compile<'_>) -> Result<(Component, String), PluginError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_for(&sha256);
        if path.exists() {
            match load(engine, &path) {
                Ok(component) => {
                    tracing::debug!(%sha256, "plugin loaded from the compile cache");
                    return Ok((component, sha256));
                }
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "unusable compile cache entry; compiling again"),
            }
        }
        if let Some(program) = &self.compiler {
            match self.compile_elsewhere(program, bytes) {
                Ok(()) => match load(engine, &path) {
                    Ok(component) => return Ok((component, sha256)),
                    Err(e) => tracing::warn!(error = %e, "the compiler process wrote an unusable artifact; compiling here"),
                },
                Err(invalid @ PluginError::Invalid(_)) => return Err(invalid),
                Err(e) => tracing::warn!(error = %e, "the compiler process failed; compiling here"),
            }
        }
        let component = self.compile_here(bytes, &sha256, compile)?;
        Ok((component, sha256))
    }

    fn compile_elsewhere(&self, program: &Path, bytes: &[u8]) -> Result<(), PluginError> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let engine_error = |what: &str, e: &dyn std::fmt::Display| PluginError::Engine(format!("compiler process ({}): {what}: {e}", program.display()));
        let mut child = Command::new(program)
            .arg("plugin-compile")
            .arg("--cache-dir")
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| engine_error("start", &e))?;
        let written = child.stdin.take().map(|mut stdin| stdin.write_all(bytes));
        let output = child.wait_with_output().map_err(|e| engine_error("wait", &e))?;
        if let Some(Err(e)) = written {
            return Err(engine_error("write", &e));
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        match output.status.code() {
            Some(0) => Ok(()),
            Some(EXIT_INVALID) => Err(PluginError::Invalid(stderr.lines().last().unwrap_or("invalid component").to_owned())),
            _ => Err(engine_error(&format!("{}", output.status), &stderr)),
        }
    }

    fn compile_here(&self, bytes: &[u8], sha256: &str, compile: Compile<'_>) -> Result<Component, PluginError> {
        let path = self.path_for(sha256);
        let component = compile(bytes)?;
        match component.serialize() {
            Ok(compiled) => {
                let tmp = self.dir.join(format!(".{sha256}.{}.tmp", std::process::id()));
                let written = std::fs::write(&tmp, &compiled).and_then(|()| std::fs::rename(&tmp, &path));
                if let Err(e) = written {
                    // The plugin still works; it will just be compiled again next time.
                    tracing::warn!(path = %path.display(), error = %e, "could not write the compile cache");
                    let _ = std::fs::remove_file(&tmp);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not serialize a compiled plugin"),
        }
        Ok(component)
    }

    pub fn path_for(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }
}

/// Loads a compiled artifact.
///
/// `Component::deserialize_file` is unsafe because a forged artifact could run arbitrary
/// native code. Only this process writes into the cache directory (inside the data
/// directory), names are derived from the component's hash and the engine's compatibility
/// hash, and wasmtime itself checks the artifact's header and engine settings.
#[allow(unsafe_code)]
fn load(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: see above; the file was produced by `Component::serialize` of this engine
    // configuration, and is only ever replaced by an atomic rename.
    unsafe { Component::deserialize_file(engine, path) }
}

fn cache_error(path: &Path, e: std::io::Error) -> PluginError {
    PluginError::Cache { path: path.display().to_string(), message: e.to_string() }
}
