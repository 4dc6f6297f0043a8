//! Errors of the plugin host. Failures *inside* a plugin call are not errors: they are
//! [`crate::outcome::CallOutcome`]s with a failure, recorded and survived.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PluginError {
    /// What was uploaded cannot be a plugin (the message says why, for the uploader).
    #[error("{0}")]
    Invalid(String),
    /// The engine could not be set up or a compiler thread failed.
    #[error("plugin engine: {0}")]
    Engine(String),
    /// The compiled-code cache could not be read or written.
    #[error("plugin cache {path}: {message}")]
    Cache { path: String, message: String },
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}
