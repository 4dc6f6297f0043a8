//! What a plugin instance lives in: the store data of one call.
//!
//! Every call gets a fresh [`Sandbox`]: its configuration, the host's notion of "now", a log
//! that the call's outcome carries back, a memory limiter, and a WASI context that grants
//! nothing, built when the plugin first calls WASI. WASI is linked only because components
//! built by ordinary toolchains import it
//! (Rust's `std` for panics and hash seeds, componentize-py for its runtime): no directories
//! are preopened, there are no environment variables or arguments, sockets and name lookups
//! are refused, stdin is empty, stdout and stderr go into the call's log, the wall clock is the
//! host's `now`, and "random" bytes are a fixed sequence, so a call is reproducible.

use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{Deterministic, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::latest::host::{self, LogLevel};
use crate::outcome::{LogLine, PluginLogLevel};

/// Most log lines one call keeps; further ones are counted, not stored.
pub const MAX_LOG_LINES: usize = 200;
/// Longest log line kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_LOG_LINE_BYTES: usize = 2_000;
/// Bytes of stdout and of stderr kept per call.
const STDIO_CAPACITY: usize = 16 * 1024;

/// The store data of one plugin call.
pub struct Sandbox {
    config: String,
    now_micros: i64,
    logs: Vec<LogLine>,
    dropped_logs: u32,
    memory: MemoryCap,
    /// Built when the plugin first calls WASI: most calls never do (the bundled plugins use
    /// only Tandem's own imports), and building it is a measurable part of a call's set-up.
    wasi: Option<Wasi>,
}

/// The WASI side of a call: its context, the resources it hands out, and where stdout and
/// stderr go.
struct Wasi {
    ctx: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl Wasi {
    fn new(now_micros: i64) -> Wasi {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        let fixed_bytes: Vec<u8> = (0u8..=255).map(|b| b.wrapping_mul(167).wrapping_add(13)).collect();
        let ctx = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FixedWallClock(now_micros))
            .secure_random(Deterministic::new(fixed_bytes.clone()))
            .insecure_random(Deterministic::new(fixed_bytes))
            .insecure_random_seed(0)
            .build();
        Wasi { ctx, table: ResourceTable::new(), stdout, stderr }
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("now_micros", &self.now_micros).field("logs", &self.logs.len()).finish_non_exhaustive()
    }
}

impl Sandbox {
    pub fn new(config: String, now_micros: i64, memory_bytes: usize) -> Sandbox {
        Sandbox {
            config,
            now_micros,
            logs: Vec::new(),
            dropped_logs: 0,
            memory: MemoryCap { limit: memory_bytes, refused: false, peak: 0 },
            wasi: None,
        }
    }

    pub fn limiter(&mut self) -> &mut MemoryCap {
        &mut self.memory
    }

    /// Whether the call asked for more memory than its cap (and was refused).
    pub fn memory_refused(&self) -> bool {
        self.memory.refused
    }

    /// The largest linear memory the call reached, in bytes.
    pub fn memory_peak(&self) -> usize {
        self.memory.peak
    }

    /// The call's log: the plugin's own lines, then what it wrote to stdout and stderr
    /// (a Rust panic message lands in stderr).
    pub fn take_logs(&mut self) -> (Vec<LogLine>, u32) {
        let pipes = self.wasi.as_ref().map(|wasi| [(&wasi.stdout, PluginLogLevel::Info), (&wasi.stderr, PluginLogLevel::Error)]);
        for (pipe, level) in pipes.into_iter().flatten() {
            let bytes = pipe.contents();
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                push_log(&mut self.logs, &mut self.dropped_logs, level, line);
            }
        }
        (std::mem::take(&mut self.logs), self.dropped_logs)
    }
}

fn push_log(logs: &mut Vec<LogLine>, dropped: &mut u32, level: PluginLogLevel, message: &str) {
    if logs.len() >= MAX_LOG_LINES {
        *dropped = dropped.saturating_add(1);
        return;
    }
    let mut end = message.len().min(MAX_LOG_LINE_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    logs.push(LogLine { level, message: message[..end].to_owned() });
}

impl host::Host for Sandbox {
    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => PluginLogLevel::Trace,
            LogLevel::Debug => PluginLogLevel::Debug,
            LogLevel::Info => PluginLogLevel::Info,
            LogLevel::Warn => PluginLogLevel::Warn,
            LogLevel::Error => PluginLogLevel::Error,
        };
        push_log(&mut self.logs, &mut self.dropped_logs, level, &message);
    }

    fn config(&mut self) -> String {
        self.config.clone()
    }

    fn now(&mut self) -> i64 {
        self.now_micros
    }
}

impl crate::bindings::latest::types::Host for Sandbox {}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let now_micros = self.now_micros;
        let wasi = self.wasi.get_or_insert_with(|| Wasi::new(now_micros));
        WasiCtxView { ctx: &mut wasi.ctx, table: &mut wasi.table }
    }
}

/// The wall clock WASI shows: the host's `now`, standing still during the call.
struct FixedWallClock(i64);

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }

    fn now(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.0).unwrap_or(0))
    }
}

/// Caps the linear memory of a call and remembers whether it had to refuse growth, so that
/// the failure can be reported as memory exhaustion rather than as whatever trap follows.
#[derive(Debug)]
pub struct MemoryCap {
    limit: usize,
    refused: bool,
    peak: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Table elements one instance may have (componentize-py's runtime needs tens of thousands).
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasi_context_is_built_only_when_the_plugin_first_uses_it() {
        let mut sandbox = Sandbox::new("{}".to_owned(), 1_000_000, 1 << 20);
        assert!(sandbox.wasi.is_none(), "a fresh call has no WASI context");
        assert_eq!(sandbox.take_logs(), (Vec::new(), 0), "a call that never used WASI has only its own log lines");
        let _ = sandbox.ctx();
        assert!(sandbox.wasi.is_some(), "the first WASI call builds it");
        let first: *const WasiCtx = sandbox.ctx().ctx;
        let again: *const WasiCtx = sandbox.ctx().ctx;
        assert_eq!(first, again, "later WASI calls use the same context");
    }
}
