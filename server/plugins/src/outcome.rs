//! What one plugin call produced: a decision or a failure, plus its log and resource usage.

use std::time::Duration;

pub use tandem_proto::{PluginFailure, PluginFailureKind, PluginLogLevel, PluginLogLine as LogLine, PluginUsage};

/// The result of one call, successful or not. A failure never escapes as a Rust error: the
/// caller records it and goes on.
#[derive(Debug, Clone)]
pub struct CallOutcome<T> {
    pub result: Result<T, PluginFailure>,
    pub logs: Vec<LogLine>,
    pub dropped_logs: u32,
    pub usage: PluginUsage,
}

impl<T> CallOutcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> Result<U, PluginFailure>) -> CallOutcome<U> {
        CallOutcome { result: self.result.and_then(f), logs: self.logs, dropped_logs: self.dropped_logs, usage: self.usage }
    }

    /// An outcome for a call that never started (nothing compiled, no slot free).
    pub fn unavailable(message: impl Into<String>) -> CallOutcome<T> {
        CallOutcome {
            result: Err(failure(PluginFailureKind::Unavailable, message)),
            logs: Vec::new(),
            dropped_logs: 0,
            usage: PluginUsage { duration_us: 0, fuel: 0, memory_bytes: 0 },
        }
    }

    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.usage.duration_us)
    }
}

pub fn failure(kind: PluginFailureKind, message: impl Into<String>) -> PluginFailure {
    PluginFailure { kind, message: message.into() }
}
