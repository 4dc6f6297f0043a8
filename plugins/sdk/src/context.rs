//! What a plugin may ask of the host: its configuration, the time, and a log.
//! Inside Tandem these are the WIT host imports; in native tests they are plain values.

use std::cell::RefCell;

use serde::de::DeserializeOwned;

use crate::{PluginError, Timestamp};

pub use crate::wit::classifier::tandem::plugin::host::LogLevel;

/// Handed to every call of a plugin.
#[derive(Debug)]
pub struct Context {
    source: Source,
}

#[derive(Debug)]
enum Source {
    Host,
    Test { config: String, now: Timestamp, logs: RefCell<Vec<(LogLevel, String)>> },
}

impl Context {
    /// The context of a call made by Tandem (used by the export macros).
    pub fn host() -> Context {
        Context { source: Source::Host }
    }

    /// A context for native tests: `config` as an admin would set it, and a fixed `now`
    /// (microseconds since the Unix epoch).
    pub fn for_test(config: serde_json::Value, now: Timestamp) -> Context {
        Context { source: Source::Test { config: config.to_string(), now, logs: RefCell::new(Vec::new()) } }
    }

    /// The configuration as JSON text (`{}` when the admin set none).
    pub fn raw_config(&self) -> String {
        match &self.source {
            Source::Host => crate::wit::classifier::tandem::plugin::host::config(),
            Source::Test { config, .. } => config.clone(),
        }
    }

    /// The configuration parsed into `T`. Give `T` `#[serde(default)]` so that an empty
    /// configuration means the plugin's defaults. A configuration that does not fit is the
    /// plugin's `invalid-config` error, which the host records and shows admins.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        let raw = self.raw_config();
        let raw = if raw.trim().is_empty() { "{}".to_owned() } else { raw };
        serde_json::from_str(&raw).map_err(|e| PluginError::InvalidConfig(e.to_string()))
    }

    /// The current time according to the host, microseconds since the Unix epoch.
    pub fn now(&self) -> Timestamp {
        match &self.source {
            Source::Host => crate::wit::classifier::tandem::plugin::host::now(),
            Source::Test { now, .. } => *now,
        }
    }

    pub fn log(&self, level: LogLevel, message: impl AsRef<str>) {
        match &self.source {
            Source::Host => crate::wit::classifier::tandem::plugin::host::log(level, message.as_ref()),
            Source::Test { logs, .. } => logs.borrow_mut().push((level, message.as_ref().to_owned())),
        }
    }

    pub fn info(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Info, message);
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        self.log(LogLevel::Warn, message);
    }

    /// What the plugin logged so far (native tests only; empty inside Tandem).
    pub fn test_logs(&self) -> Vec<(LogLevel, String)> {
        match &self.source {
            Source::Host => Vec::new(),
            Source::Test { logs, .. } => logs.borrow().clone(),
        }
    }
}
