//! The wasmtime side: one engine, one linker, compiling (through the on-disk cache), checking
//! which world a component implements, and running one call in a fresh, limited store.

use std::path::PathBuf;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tandem_proto::{PluginFailureKind, PluginLimits, PluginUsage, PluginWorld};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

use crate::bindings::{self, v0_1_0};
use crate::cache::CompileCache;
use crate::error::PluginError;
use crate::outcome::{CallOutcome, failure};
use crate::preinit;
use crate::sandbox::{MAX_TABLE_ELEMENTS, Sandbox};

/// Largest memory cap an admin may give a plugin; the instance pool is sized for it.
pub const MAX_MEMORY_BYTES: usize = 256 << 20;
/// Largest component accepted at upload.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;
/// Stack a call may use for WebAssembly frames.
const MAX_WASM_STACK: usize = 512 << 10;
/// Fuel given to each call: far more than any call can burn within its time limit (the
/// deadline stops runaway calls); fuel is how a call's work is measured.
const FUEL_BUDGET: u64 = 1 << 40;
/// Fuel between two yields of running WebAssembly to the executor, which is where the
/// deadline is checked. Fuel counts instructions and the bytes of bulk memory operations:
/// 1,000,000 is ~0.1-0.3 ms of ordinary code (the bundled classifier burns 0.4-0.9 million a
/// call) and ~10 ms of a loop that misses the cache on every load (the `chase` fixture).
const YIELD_FUEL: u64 = 1_000_000;
/// Instances that may run at once (a bound on the pool, not on throughput).
const MAX_CONCURRENT_INSTANCES: u32 = 64;
/// Bytes of a linear memory, and of a table, that a finished call's slot keeps mapped: the
/// pages the call wrote are put back to the component's initial contents in place (found
/// with Linux's `PAGEMAP_SCAN`), so the next call of the same component starts without page
/// faults. Written pages beyond this are unmapped as usual.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 << 10;
/// Time a component's `wizer-initialize` may take at upload ([`preinit`]).
pub const PREINIT_TIMEOUT_MS: u32 = 1_000;

/// A component that compiled and implements one of the supported worlds.
#[derive(Clone)]
pub struct LoadedComponent {
    pub world: PluginWorld,
    pub wit_version: &'static str,
    pub sha256: String,
    pre: WorldPre,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent").field("world", &self.world).field("wit_version", &self.wit_version).field("sha256", &self.sha256).finish()
    }
}

/// Pre-linked instances by world and WIT version: instantiating from these is cheap.
#[derive(Clone)]
enum WorldPre {
    ClassifierV0_1(v0_1_0::classifier::ClassifierPre<Sandbox>),
    RouterV0_1(v0_1_0::router::RouterPre<Sandbox>),
    ResponderV0_1(v0_1_0::responder::ResponderPre<Sandbox>),
}

/// Per-call settings.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The plugin's configuration, JSON.
    pub config: String,
    /// The time the plugin sees, microseconds since the epoch.
    pub now_micros: i64,
    pub limits: PluginLimits,
}

/// The plugin runtime. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<Sandbox>,
    cache: CompileCache,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("cache", &self.inner.cache).finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the engine; compiled components are cached under `cache_dir`.
    pub fn new(cache_dir: PathBuf) -> Result<Runtime, PluginError> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .max_wasm_stack(MAX_WASM_STACK);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_CONCURRENT_INSTANCES)
            .total_core_instances(MAX_CONCURRENT_INSTANCES * 16)
            .total_memories(MAX_CONCURRENT_INSTANCES * 2)
            .total_tables(MAX_CONCURRENT_INSTANCES * 16)
            .total_stacks(MAX_CONCURRENT_INSTANCES)
            .max_core_instances_per_component(64)
            .max_memories_per_component(4)
            .max_tables_per_component(64)
            .table_elements(MAX_TABLE_ELEMENTS)
            .max_memory_size(MAX_MEMORY_BYTES)
            .max_component_instance_size(1 << 20)
            .max_core_instance_size(4 << 20);
        // Without `PAGEMAP_SCAN` (Linux < 6.7) "keep resident" would zero the first bytes of
        // every memory whether the call touched them or not, which costs more than it saves
        // (BENCHMARKS.md): there the slots are unmapped after each call, as by default.
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(Enabled::Yes)
                .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(format!("{e:#}")))?;

        let mut linker = Linker::<Sandbox>::new(&engine);
        // The three worlds import the same interfaces, so one linker serves them all.
        v0_1_0::classifier::Classifier::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .and_then(|()| wasmtime_wasi::p2::add_to_linker_async(&mut linker))
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;

        let cache = CompileCache::open(cache_dir, &engine)?;
        Ok(Runtime { inner: Arc::new(Inner { engine, linker, cache }) })
    }

    /// Checks and compiles an uploaded component (or loads it from the cache): it must be a
    /// component (not a core module), within the size limit, implement one of the worlds at
    /// a supported WIT version, and import nothing the host does not provide.
    /// Compiling is CPU-bound (up to tens of seconds for large components): it runs on a
    /// blocking thread.
    pub async fn load(&self, bytes: Arc<[u8]>) -> Result<LoadedComponent, PluginError> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(PluginError::Invalid(format!(
                "the component is {} bytes; the limit is {MAX_COMPONENT_BYTES} bytes",
                bytes.len()
            )));
        }
        check_header(&bytes)?;
        let this = self.clone();
        let loaded = tokio::task::spawn_blocking(move || this.load_blocking(&bytes))
            .await
            .map_err(|e| PluginError::Engine(format!("compiler thread: {e}")))??;
        self.probe(&loaded).await?;
        Ok(loaded)
    }

    /// Instantiates the component once, under limits, without calling it. Instantiation is
    /// where its exports' types are checked against the WIT (a component built from a
    /// doctored copy of the types passes linking but not this), and where its start code runs.
    async fn probe(&self, loaded: &LoadedComponent) -> Result<(), PluginError> {
        let ctx = CallContext { config: "{}".to_owned(), now_micros: 0, limits: PluginLimits { timeout_ms: 1_000, ..PluginLimits::default() } };
        let outcome = match &loaded.pre {
            WorldPre::ClassifierV0_1(pre) => self.run(&ctx, async |store| pre.instantiate_async(&mut *store).await.map(|_| Ok(()))).await,
            WorldPre::RouterV0_1(pre) => self.run(&ctx, async |store| pre.instantiate_async(&mut *store).await.map(|_| Ok(()))).await,
            WorldPre::ResponderV0_1(pre) => self.run(&ctx, async |store| pre.instantiate_async(&mut *store).await.map(|_| Ok(()))).await,
        };
        outcome.result.map_err(|f| {
            PluginError::Invalid(format!(
                "the component does not start as a tandem:plugin@{} {}: {}",
                loaded.wit_version, loaded.world, f.message
            ))
        })
    }

    fn load_blocking(&self, bytes: &[u8]) -> Result<LoadedComponent, PluginError> {
        let (component, sha256) = self.inner.cache.get_or_compile(&self.inner.engine, bytes, &|bytes| self.compile(bytes))?;
        self.link(&component, sha256)
    }

    /// Compiles uploaded bytes into what runs: the component as uploaded, or, when it asks for
    /// it (exports [`preinit::INIT_EXPORT`]), its pre-initialised form ([`preinit`]). Such a
    /// component is compiled twice (instrumented, to run its initialisation, and initialised),
    /// never as uploaded, unless something fails: then compiling the upload tells whether the
    /// fault is the component's own (not valid) or its initialisation's.
    fn compile(&self, bytes: &[u8]) -> Result<Component, PluginError> {
        let as_uploaded = || Component::new(&self.inner.engine, bytes).map_err(|e| PluginError::Invalid(describe_compile_error(&e)));
        if !preinit::exports_init(bytes) {
            return as_uploaded();
        }
        let refused = |why: String| match as_uploaded() {
            Err(invalid) => invalid,
            Ok(_) => PluginError::Invalid(format!("the component asks to be pre-initialised, but {why}")),
        };
        // Compiling happens on a blocking thread of the server (`load`), in the compiler
        // process, which has no async runtime, or in a benchmark's async code: the
        // initialisation gets a thread and a single-threaded runtime of its own wherever.
        let initialised = std::thread::scope(|scope| {
            let run = || -> Result<Vec<u8>, String> {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| format!("no async runtime for it: {e}"))?;
                runtime.block_on(self.preinitialize(bytes))
            };
            std::thread::Builder::new()
                .name("plugin-preinit".to_owned())
                .spawn_scoped(scope, run)
                .map_err(|e| format!("no thread for it: {e}"))?
                .join()
                .unwrap_or_else(|_| Err("its initialisation panicked the host thread".to_owned()))
        })
        .map_err(refused)?;
        Component::new(&self.inner.engine, &initialised).map_err(|e| refused(format!("its pre-initialised form does not compile: {e:#}")))
    }

    /// Runs the component's `wizer-initialize` once, in a sandbox with a call's limits (but
    /// [`PREINIT_TIMEOUT_MS`] of time), and returns the component rewritten to start from the
    /// state it left.
    async fn preinitialize(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut wizer = wasmtime_wizer::Wizer::new();
        // The component lifts the core export, so the core module must keep it; the host
        // never calls it again.
        wizer.keep_init_func(true);
        // Wizer validates the upload before it instruments it (the upload is not compiled).
        let (cx, instrumented) = wizer.instrument_component(bytes).map_err(|e| format!("Wizer cannot instrument it: {e:#}"))?;
        let component = Component::new(&self.inner.engine, &instrumented).map_err(|e| format!("its instrumented form does not compile: {e:#}"))?;
        // The instrumented form keeps the export (`keep_init_func`), with its type.
        if !preinit::requested(&component)? {
            return Err(format!("its instrumented form has no `{}` export", preinit::INIT_EXPORT));
        }
        let ctx = CallContext { config: "{}".to_owned(), now_micros: 0, limits: PluginLimits { timeout_ms: PREINIT_TIMEOUT_MS, ..PluginLimits::default() } };
        let outcome = self
            .run(&ctx, async |store| {
                let instance = self.inner.linker.instantiate_async(&mut *store, &component).await?;
                let init = instance.get_typed_func::<(), ()>(&mut *store, preinit::INIT_EXPORT)?;
                init.call_async(&mut *store, ()).await?;
                let mut state = preinit::Accessors::new(store, instance);
                let snapshot = wizer.snapshot_component(&cx, &mut state).await;
                state.finish(snapshot).map(Ok)
            })
            .await;
        outcome.result.map_err(|failure| format!("`{}` failed: {}", preinit::INIT_EXPORT, failure.message))
    }

    /// Compiles cache misses in a separate process: `program plugin-compile --cache-dir DIR`
    /// (the `tandem` binary itself). Must be called before the runtime is shared.
    pub fn with_compiler(mut self, program: PathBuf) -> Runtime {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.cache.set_compiler(program);
        }
        self
    }

    /// The compiler process's work: compile `bytes` into the cache, checking the component
    /// the same way an upload is checked.
    pub fn compile_into_cache(&self, bytes: &[u8]) -> Result<(), PluginError> {
        check_header(bytes)?;
        self.inner.cache.compile_into_cache(bytes, &|bytes| self.compile(bytes))
    }

    /// How long compiling `bytes` takes as an upload would (pre-initialisation included),
    /// bypassing the cache (for benchmarks).
    pub fn compile_uncached(&self, bytes: &[u8]) -> Result<Duration, PluginError> {
        let start = Instant::now();
        self.compile(bytes)?;
        Ok(start.elapsed())
    }

    fn link(&self, component: &Component, sha256: String) -> Result<LoadedComponent, PluginError> {
        let (world, version) = detect_world(&self.inner.engine, component)?;
        let pre = self.inner.linker.instantiate_pre(component).map_err(|e| {
            PluginError::Invalid(format!("the component needs an import Tandem does not provide: {e:#}"))
        })?;
        let invalid = |e: wasmtime::Error| PluginError::Invalid(format!("{e:#}"));
        let pre = match (world, version) {
            (PluginWorld::Classifier, v0_1_0::VERSION) => {
                WorldPre::ClassifierV0_1(v0_1_0::classifier::ClassifierPre::new(pre).map_err(invalid)?)
            }
            (PluginWorld::Router, v0_1_0::VERSION) => WorldPre::RouterV0_1(v0_1_0::router::RouterPre::new(pre).map_err(invalid)?),
            (PluginWorld::Responder, v0_1_0::VERSION) => {
                WorldPre::ResponderV0_1(v0_1_0::responder::ResponderPre::new(pre).map_err(invalid)?)
            }
            (_, other) => return Err(unsupported_version(other)),
        };
        let wit_version = bindings::SUPPORTED_VERSIONS.iter().copied().find(|v| *v == version).unwrap_or(v0_1_0::VERSION);
        Ok(LoadedComponent { world, wit_version, sha256, pre })
    }

    pub async fn classify(
        &self,
        loaded: &LoadedComponent,
        input: &v0_1_0::classify::Input,
        ctx: &CallContext,
    ) -> CallOutcome<v0_1_0::classify::Classification> {
        let WorldPre::ClassifierV0_1(pre) = &loaded.pre else {
            return CallOutcome::unavailable(format!("this plugin is a {}, not a classifier", loaded.world));
        };
        self.run(ctx, async |store| {
            let instance = pre.instantiate_async(&mut *store).await?;
            instance.tandem_plugin_classify().call_classify(&mut *store, input).await
        })
        .await
    }

    pub async fn route(&self, loaded: &LoadedComponent, input: &v0_1_0::route::Input, ctx: &CallContext) -> CallOutcome<v0_1_0::route::Decision> {
        let WorldPre::RouterV0_1(pre) = &loaded.pre else {
            return CallOutcome::unavailable(format!("this plugin is a {}, not a router", loaded.world));
        };
        self.run(ctx, async |store| {
            let instance = pre.instantiate_async(&mut *store).await?;
            instance.tandem_plugin_route().call_route(&mut *store, input).await
        })
        .await
    }

    pub async fn respond(
        &self,
        loaded: &LoadedComponent,
        input: &v0_1_0::respond::Input,
        ctx: &CallContext,
    ) -> CallOutcome<v0_1_0::respond::Decision> {
        let WorldPre::ResponderV0_1(pre) = &loaded.pre else {
            return CallOutcome::unavailable(format!("this plugin is a {}, not a responder", loaded.world));
        };
        self.run(ctx, async |store| {
            let instance = pre.instantiate_async(&mut *store).await?;
            instance.tandem_plugin_respond().call_respond(&mut *store, input).await
        })
        .await
    }

    /// Runs `call` in a fresh store with the limits of `ctx`, and turns whatever happens into
    /// a [`CallOutcome`]. The store is dropped afterwards, so a trapped instance is never
    /// entered again.
    async fn run<T>(
        &self,
        ctx: &CallContext,
        call: impl AsyncFnOnce(&mut Store<Sandbox>) -> wasmtime::Result<Result<T, v0_1_0::types::PluginError>>,
    ) -> CallOutcome<T> {
        let memory_bytes = (ctx.limits.memory_mib as usize).saturating_mul(1 << 20).min(MAX_MEMORY_BYTES);
        let mut store = Store::new(&self.inner.engine, Sandbox::new(ctx.config.clone(), ctx.now_micros, memory_bytes));
        store.limiter(|sandbox| sandbox.limiter());
        // Running WebAssembly yields to the executor every `YIELD_FUEL`, so a long call never
        // holds a tokio worker, and `within` stops the call at the deadline, whether it is
        // running WebAssembly or waiting in the host.
        if let Err(e) = store.set_fuel(FUEL_BUDGET).and_then(|()| store.fuel_async_yield_interval(Some(YIELD_FUEL))) {
            return CallOutcome::unavailable(format!("fuel: {e}"));
        }
        let timeout = Duration::from_millis(u64::from(ctx.limits.timeout_ms.max(1)));
        let start = Instant::now();
        let result = within(start + timeout, call(&mut store)).await;
        let duration = start.elapsed();
        let fuel = FUEL_BUDGET.saturating_sub(store.get_fuel().unwrap_or(FUEL_BUDGET));
        let sandbox = store.data_mut();
        let (logs, dropped_logs) = sandbox.take_logs();
        let usage = PluginUsage {
            duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            fuel,
            memory_bytes: sandbox.memory_peak() as u64,
        };
        let result = match result {
            None => Err(failure(PluginFailureKind::Timeout, format!("stopped after its {} ms time limit", timeout.as_millis()))),
            Some(Ok(Ok(value))) => Ok(value),
            Some(Ok(Err(plugin_error))) => Err(failure(PluginFailureKind::PluginError, describe_plugin_error(plugin_error))),
            Some(Err(error)) => Err(describe_trap(&error, sandbox.memory_refused(), memory_bytes, &logs)),
        };
        CallOutcome { result, logs, dropped_logs, usage }
    }
}

/// Polls `call` until it finishes or `deadline` passes: `None` if the deadline came first
/// (the call is then dropped, which abandons the instance mid-call; its store is dropped
/// next). Running WebAssembly yields to the executor regularly (see [`Runtime::run`]), and a
/// call waiting in the host (a WASI sleep, say) is woken by the timer, so the deadline holds
/// in both cases. Needs a tokio runtime with timers enabled.
async fn within<F: Future>(deadline: Instant, call: F) -> Option<F::Output> {
    let mut call = std::pin::pin!(call);
    let mut timer = std::pin::pin!(tokio::time::sleep_until(deadline.into()));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = call.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if Instant::now() >= deadline || timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// The WIT world a component's exports name, and the WIT version.
fn detect_world(engine: &Engine, component: &Component) -> Result<(PluginWorld, &'static str), PluginError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    for name in &exports {
        let Some(rest) = name.strip_prefix("tandem:plugin/") else { continue };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        let world = match interface {
            "classify" => PluginWorld::Classifier,
            "route" => PluginWorld::Router,
            "respond" => PluginWorld::Responder,
            _ => continue,
        };
        let Some(version) = bindings::SUPPORTED_VERSIONS.iter().copied().find(|v| *v == version) else {
            return Err(unsupported_version(version));
        };
        return Ok((world, version));
    }
    let found = if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") };
    Err(PluginError::Invalid(format!(
        "the component implements none of Tandem's worlds: it should export `tandem:plugin/classify`, `tandem:plugin/route` or \
         `tandem:plugin/respond` (@{}), but exports {found}",
        bindings::SUPPORTED_VERSIONS.join(", @")
    )))
}

fn unsupported_version(version: &str) -> PluginError {
    PluginError::Invalid(format!(
        "the component was built against tandem:plugin@{version}; this server supports {}",
        bindings::SUPPORTED_VERSIONS.join(", ")
    ))
}

/// Rejects, with a clear message, what is not a WebAssembly component at all.
fn check_header(bytes: &[u8]) -> Result<(), PluginError> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(PluginError::Invalid("not a WebAssembly file (it should start with `\\0asm`)".to_owned()));
    }
    // Core modules have version 1 and layer 0; components have layer 1.
    if bytes[6..8] == [0, 0] {
        return Err(PluginError::Invalid(
            "this is a core WebAssembly module, not a component: build for `wasm32-wasip2` (or wrap it with `wasm-tools component new`)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// How a plugin's `invalid-config` error begins in its failure message.
const INVALID_CONFIG: &str = "invalid configuration: ";

/// The plugin's own words, when `failure` is its `invalid-config` error (as
/// [`describe_plugin_error`] wrote it).
pub(crate) fn invalid_config_reason(failure: &tandem_proto::PluginFailure) -> Option<&str> {
    if failure.kind != PluginFailureKind::PluginError {
        return None;
    }
    failure.message.strip_prefix(INVALID_CONFIG)
}

fn describe_plugin_error(error: v0_1_0::types::PluginError) -> String {
    use v0_1_0::types::PluginError as E;
    match error {
        E::InvalidConfig(m) => format!("{INVALID_CONFIG}{m}"),
        E::InvalidInput(m) => format!("invalid input: {m}"),
        E::Internal(m) => format!("internal error: {m}"),
    }
}

fn describe_trap(
    error: &wasmtime::Error,
    memory_refused: bool,
    memory_bytes: usize,
    logs: &[crate::outcome::LogLine],
) -> tandem_proto::PluginFailure {
    if memory_refused {
        return failure(PluginFailureKind::MemoryExhausted, format!("the plugin needed more than its {} MiB of memory", memory_bytes >> 20));
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => failure(PluginFailureKind::Timeout, "used up its fuel"),
        Some(Trap::StackOverflow) => failure(PluginFailureKind::StackOverflow, "call stack exhausted (too deep a recursion)"),
        Some(trap) => {
            // A Rust panic prints "thread … panicked at file:line:" and its message to stderr,
            // then aborts (`unreachable`): the stderr lines say what happened.
            let stderr: Vec<&str> = logs
                .iter()
                .filter(|l| l.level == tandem_proto::PluginLogLevel::Error && !l.message.starts_with("note: run with `RUST_BACKTRACE"))
                .map(|l| l.message.as_str())
                .collect();
            let message = if stderr.is_empty() {
                format!("trapped: {trap}")
            } else {
                let tail = &stderr[stderr.len().saturating_sub(4)..];
                format!("trapped ({trap}): {}", tail.join(" "))
            };
            failure(PluginFailureKind::Trap, message)
        }
        None => failure(PluginFailureKind::Trap, format!("{error:#}")),
    }
}

/// What an uploader is told when the bytes do not compile.
fn describe_compile_error(error: &wasmtime::Error) -> String {
    let text = format!("{error:#}");
    if text.contains("attempted to parse a wasm module with a component parser") {
        "this is a core WebAssembly module, not a component: build for `wasm32-wasip2`".to_owned()
    } else {
        format!("not a valid WebAssembly component: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_modules_and_junk_are_told_apart_from_components() {
        let core = b"\0asm\x01\0\0\0";
        let component = b"\0asm\x0d\0\x01\0";
        assert!(matches!(check_header(core), Err(PluginError::Invalid(m)) if m.contains("core WebAssembly module")));
        assert!(matches!(check_header(b"PK\x03\x04 zip file"), Err(PluginError::Invalid(m)) if m.contains("not a WebAssembly file")));
        assert!(matches!(check_header(b"\0as"), Err(PluginError::Invalid(_))));
        assert!(check_header(component).is_ok());
    }
}
