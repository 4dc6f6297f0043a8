//! Tandem's plugin host.
//!
//! Business rules (classification, routing, automatic replies) run as WebAssembly components
//! implementing the worlds of `wit/` (`tandem:plugin@<version>`). This crate holds:
//!
//! - [`bindings`]: host bindings per released WIT version (frozen once released);
//! - [`runtime`]: the wasmtime engine (pooling allocator, fuel, wall-clock deadlines, memory cap),
//!   compiling through the on-disk [`cache`], and running one call in a fresh [`sandbox`];
//! - [`outcome`]: what a call produced, failures included (a failure is data, never a panic);
//! - [`preinit`]: pre-initialising, at upload, a component that asks for it (Wizer);
//! - [`registry`]: the active version of every plugin, compiled, swapped atomically;
//! - [`pipeline`]: classify → route → respond for each new customer message, every outcome on
//!   the ticket's timeline; [`convert`] checks what plugins return before anything applies it.
//!
//! Plugins see only WIT types; the rest of the server never sees wasmtime.

pub mod bindings;
pub mod cache;
pub mod convert;
pub mod error;
pub mod outcome;
pub mod pipeline;
pub mod preinit;
pub mod registry;
pub mod runtime;
pub mod sandbox;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::PluginError;
pub use outcome::CallOutcome;
pub use pipeline::Pipeline;
pub use registry::Registry;
pub use runtime::{CallContext, LoadedComponent, Runtime};
