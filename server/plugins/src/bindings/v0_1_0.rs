//! `tandem:plugin@0.1.0` (`wit/v0.1.0/`). Frozen: never edit the WIT or this module's meaning.
//!
//! One `bindgen!` per world. The `types` and `host` interfaces are generated once (with the
//! classifier) and shared by the other two worlds through `with`, so all three use the same
//! Rust types.

pub const VERSION: &str = "0.1.0";

pub mod classifier {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "classifier",
        exports: { default: async },
    });
}

pub mod router {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "router",
        exports: { default: async },
        with: {
            "tandem:plugin/types@0.1.0": super::classifier::tandem::plugin::types,
            "tandem:plugin/host@0.1.0": super::classifier::tandem::plugin::host,
        },
    });
}

pub mod responder {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "responder",
        exports: { default: async },
        with: {
            "tandem:plugin/types@0.1.0": super::classifier::tandem::plugin::types,
            "tandem:plugin/host@0.1.0": super::classifier::tandem::plugin::host,
        },
    });
}

pub use classifier::tandem::plugin::{host, types};
pub use classifier::exports::tandem::plugin::classify;
pub use router::exports::tandem::plugin::route;
pub use responder::exports::tandem::plugin::respond;

/// Names of the exported interfaces, by which an uploaded component's world is recognised.
pub const CLASSIFY_EXPORT: &str = "tandem:plugin/classify@0.1.0";
pub const ROUTE_EXPORT: &str = "tandem:plugin/route@0.1.0";
pub const RESPOND_EXPORT: &str = "tandem:plugin/respond@0.1.0";
