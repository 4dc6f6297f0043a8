//! Host bindings of every released WIT version, one module per version (`wit/v<version>/`).
//!
//! A released version is frozen: its module is never edited, so components built against it
//! keep loading. The newest version is [`latest`]; the pipeline speaks only its types, and the
//! module of an older version converts to and from them (the layout Zed and Spin use).

pub mod v0_1_0;

/// The version new plugins are built against.
pub use v0_1_0 as latest;

/// WIT package versions this host accepts, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0"];
