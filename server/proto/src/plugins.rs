//! Plugins: the registry as admins see it, and what a plugin call produced.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Priority;

wire_enum! {
    /// The WIT world a plugin implements: which step of the pipeline it serves.
    PluginWorld {
        /// Message + ticket → tags, priority, category, language, spam verdict.
        Classifier => "classifier",
        /// Ticket + candidates → team and/or assignee.
        Router => "router",
        /// Ticket + message → zero or one automatic reply.
        Responder => "responder",
    }
}

wire_enum! {
    /// Severity of a line a plugin logged.
    PluginLogLevel {
        Trace => "trace",
        Debug => "debug",
        Info => "info",
        Warn => "warn",
        Error => "error",
    }
}

wire_enum! {
    /// Why a plugin call produced no usable decision.
    PluginFailureKind {
        /// It ran past its time limit and was stopped.
        Timeout => "timeout",
        /// It asked for more memory than its cap.
        MemoryExhausted => "memory_exhausted",
        /// Its call stack overflowed (deep recursion).
        StackOverflow => "stack_overflow",
        /// It trapped: a panic, `unreachable`, an out-of-bounds access, …
        Trap => "trap",
        /// It returned its own error (`plugin-error`: invalid config or input, internal).
        PluginError => "plugin_error",
        /// It returned something out of bounds (unknown ids, oversized strings, too many tags).
        InvalidOutput => "invalid_output",
        /// The host could not run it (no compiled version, no free instance slot).
        Unavailable => "unavailable",
    }
}

/// A line a plugin logged during one call (its own `log` calls, then stdout and stderr).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginLogLine {
    pub level: PluginLogLevel,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginFailure {
    pub kind: PluginFailureKind,
    pub message: String,
}

/// A classifier's verdict. `None` fields mean "no opinion".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Classification {
    pub add_tags: Vec<String>,
    pub priority: Option<Priority>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub spam: Option<bool>,
    pub confidence: f32,
    pub reason: String,
}

/// A router's decision; both ids `None` means "no decision" (the next router is asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Routing {
    pub decided: bool,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub reason: String,
}

/// An automatic reply a responder wants sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoReply {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub template: Option<String>,
}

/// A responder's decision: zero or one reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Response {
    pub reply: Option<AutoReply>,
    pub reason: String,
}

/// What one plugin call decided, by world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "world", rename_all = "snake_case")]
pub enum PluginDecision {
    Classifier(Classification),
    Router(Routing),
    Responder(Response),
}

/// Resources one call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginUsage {
    /// Wall-clock time of instantiation and call together.
    pub duration_us: u64,
    /// WebAssembly fuel consumed (about one unit per instruction).
    pub fuel: u64,
    /// Largest linear memory reached.
    pub memory_bytes: u64,
}

/// Limits of one plugin's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginLimits {
    /// Linear memory cap, in MiB (1 ..= 256; default 32).
    pub memory_mib: u32,
    /// Wall-clock limit per call, in milliseconds (1 ..= 10,000; default 50).
    pub timeout_ms: u32,
    /// Consecutive failed calls after which the plugin is disabled (1 ..= 1,000; default 5).
    pub max_consecutive_failures: u32,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits { memory_mib: 32, timeout_ms: 50, max_consecutive_failures: 5 }
    }
}

/// One uploaded build of a plugin. Versions are never deleted, so any can be rolled back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginVersion {
    pub id: i64,
    /// 1, 2, 3, … per plugin, in upload order.
    pub number: i64,
    /// SHA-256 of the component, hex.
    pub sha256: String,
    pub size_bytes: i64,
    /// The `tandem:plugin` WIT version the component was built against.
    pub wit_version: String,
    pub uploaded_by: Option<String>,
    pub uploaded_at: DateTime<Utc>,
}

/// How a plugin has been doing since its active version was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginHealth {
    pub calls: i64,
    pub failures: i64,
    pub consecutive_failures: i64,
    pub last_failure: Option<PluginFailure>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Set when the host disabled the plugin after too many consecutive failures.
    pub auto_disabled_reason: Option<String>,
}

/// `GET /api/v1/plugins/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plugin {
    pub id: i64,
    /// Unique, `[a-z0-9-]`, e.g. `keyword-classifier`.
    pub name: String,
    pub world: PluginWorld,
    pub enabled: bool,
    /// Order within its world (classifiers run in this order; routers are asked in it).
    pub position: i64,
    /// Inboxes whose messages the plugin sees; empty means every inbox.
    pub inbox_ids: Vec<i64>,
    /// The admin-set configuration handed to the plugin (`config()` in WIT).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    pub limits: PluginLimits,
    /// Whether this plugin ships with Tandem (installed on first start).
    pub bundled: bool,
    pub active_version: PluginVersion,
    pub versions: Vec<PluginVersion>,
    pub health: PluginHealth,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `PATCH /api/v1/plugins/{id}`: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdatePlugin {
    /// Enabling also clears the failure streak of an automatically disabled plugin.
    pub enabled: Option<bool>,
    pub position: Option<i64>,
    pub inbox_ids: Option<Vec<i64>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<serde_json::Value>,
    pub limits: Option<PluginLimits>,
    /// Switch to another uploaded version (roll back or forward).
    pub active_version_id: Option<i64>,
}

/// A message to try a plugin on without a ticket (`POST /api/v1/plugins/{id}/dry-run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SampleMessage {
    pub from: String,
    #[serde(default)]
    pub from_name: Option<String>,
    pub subject: String,
    pub text: String,
    /// Extra headers as `[name, value]` pairs (e.g. `["Auto-Submitted", "auto-replied"]`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The inbox it arrived at; defaults to the first inbox.
    #[serde(default)]
    pub inbox_id: Option<i64>,
}

/// `POST /api/v1/plugins/{id}/dry-run`: run against an existing ticket's latest customer
/// message, or against a sample message. Nothing is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    #[serde(default)]
    pub ticket_number: Option<i64>,
    #[serde(default)]
    pub sample: Option<SampleMessage>,
    /// Which version to run; defaults to the active one.
    #[serde(default)]
    pub version_id: Option<i64>,
    /// Configuration to run with instead of the saved one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<serde_json::Value>,
    /// The time the plugin sees as `now` (default: the server's clock).
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
}

/// What a dry run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRunResult {
    pub plugin_id: i64,
    pub version: i64,
    pub decision: Option<PluginDecision>,
    pub failure: Option<PluginFailure>,
    pub usage: PluginUsage,
    pub logs: Vec<PluginLogLine>,
    /// Log lines beyond the per-call limit that were dropped.
    pub dropped_log_lines: u32,
}
