//! The Tandem plugin SDK: write a classifier, router or responder in ~20 lines.
//!
//! ```ignore
//! use tandem_plugin_sdk::{Classifier, Classification, ClassifyInput, Context, PluginError, Priority};
//!
//! struct Urgent;
//!
//! impl Classifier for Urgent {
//!     fn classify(input: ClassifyInput, _cx: &Context) -> Result<Classification, PluginError> {
//!         let urgent = input.message.text.to_lowercase().contains("urgent");
//!         Ok(Classification {
//!             priority: urgent.then_some(Priority::Urgent),
//!             reason: if urgent { "says urgent".into() } else { "nothing urgent".into() },
//!             ..Classification::none()
//!         })
//!     }
//! }
//!
//! tandem_plugin_sdk::export_classifier!(Urgent);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component to upload. Test the logic natively with
//! [`Context::for_test`]: the trait methods are plain Rust functions.

mod context;
pub mod heap;
pub mod sample;

pub use context::{Context, LogLevel};

/// Every call runs in a fresh instance: a bump allocator serves it (see [`heap`]).
#[cfg(all(feature = "call-heap", target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: heap::CallHeap = heap::CallHeap::new();

/// Bindings of `tandem:plugin@0.1.0` (`wit/v0.1.0/`), one module per world. The `types` and
/// `host` interfaces are generated once and shared, so all worlds use the same Rust types.
///
/// Each world is the frozen one plus an export `wizer-initialize`, outside `tandem:plugin`:
/// the host calls it once at upload and keeps the state it leaves as every call's starting
/// point (pre-initialisation; see [`Classifier::warm_up`]).
pub mod wit {
    pub mod classifier {
        wit_bindgen::generate!({
            path: "../../wit/v0.1.0",
            inline: "
                package tandem:sdk;
                world classifier {
                    include tandem:plugin/classifier@0.1.0;
                    export wizer-initialize: func();
                }
            ",
            world: "tandem:sdk/classifier",
            pub_export_macro: true,
            export_macro_name: "export_classifier_world",
            default_bindings_module: "tandem_plugin_sdk::wit::classifier",
            additional_derives: [Clone, PartialEq],
            generate_all,
        });
    }

    pub mod router {
        wit_bindgen::generate!({
            path: "../../wit/v0.1.0",
            inline: "
                package tandem:sdk;
                world router {
                    include tandem:plugin/router@0.1.0;
                    export wizer-initialize: func();
                }
            ",
            world: "tandem:sdk/router",
            pub_export_macro: true,
            export_macro_name: "export_router_world",
            default_bindings_module: "tandem_plugin_sdk::wit::router",
            additional_derives: [Clone, PartialEq],
            generate_all,
            with: {
                "tandem:plugin/types@0.1.0": super::classifier::tandem::plugin::types,
                "tandem:plugin/host@0.1.0": super::classifier::tandem::plugin::host,
            },
        });
    }

    pub mod responder {
        wit_bindgen::generate!({
            path: "../../wit/v0.1.0",
            inline: "
                package tandem:sdk;
                world responder {
                    include tandem:plugin/responder@0.1.0;
                    export wizer-initialize: func();
                }
            ",
            world: "tandem:sdk/responder",
            pub_export_macro: true,
            export_macro_name: "export_responder_world",
            default_bindings_module: "tandem_plugin_sdk::wit::responder",
            additional_derives: [Clone, PartialEq],
            generate_all,
            with: {
                "tandem:plugin/types@0.1.0": super::classifier::tandem::plugin::types,
                "tandem:plugin/host@0.1.0": super::classifier::tandem::plugin::host,
            },
        });
    }
}

pub use wit::classifier::exports::tandem::plugin::classify::{Classification, Input as ClassifyInput};
pub use wit::classifier::tandem::plugin::types::{
    Agent, Availability, BusinessHours, Contact, Header, Inbox, Message, MessageKind, Opening, PluginError, Priority, Team, Ticket,
    TicketStatus, Timestamp,
};
pub use wit::responder::exports::tandem::plugin::respond::{AutoReply, Decision as Response, Input as RespondInput};
pub use wit::router::exports::tandem::plugin::route::{Assignment, Decision as RouteDecision, Input as RouteInput, Routing};

/// A classifier: tags, priority, category, language and spam verdict for a new customer message.
pub trait Classifier {
    fn classify(input: ClassifyInput, cx: &Context) -> Result<Classification, PluginError>;

    /// Runs once, when the plugin is uploaded; the memory it leaves is where every call
    /// starts (each call still gets a fresh instance, from that snapshot). Build here what
    /// every call would otherwise build first (lookup tables, lazily initialised statics),
    /// so calls do not pay for it. It runs without configuration, time or log (those belong
    /// to calls) and must not depend on them. Nothing by default.
    fn warm_up() {}
}

/// A router: a team and/or an assignee for a ticket, or no decision.
pub trait Router {
    fn route(input: RouteInput, cx: &Context) -> Result<RouteDecision, PluginError>;

    /// As [`Classifier::warm_up`].
    fn warm_up() {}
}

/// A responder: zero or one automatic reply to a new customer message.
pub trait Responder {
    fn respond(input: RespondInput, cx: &Context) -> Result<Response, PluginError>;

    /// As [`Classifier::warm_up`].
    fn warm_up() {}
}

impl Classification {
    /// No opinion on anything; fill in what the plugin decides with `..Classification::none()`.
    pub fn none() -> Classification {
        Classification { add_tags: Vec::new(), priority: None, category: None, language: None, spam: None, confidence: 0.0, reason: String::new() }
    }
}

impl RouteDecision {
    pub fn no_decision(reason: impl Into<String>) -> RouteDecision {
        RouteDecision { routing: Routing::NoDecision, reason: reason.into() }
    }

    pub fn assign(team_id: Option<i64>, assignee_id: Option<i64>, reason: impl Into<String>) -> RouteDecision {
        RouteDecision { routing: Routing::Assign(Assignment { team_id, assignee_id }), reason: reason.into() }
    }
}

impl Response {
    pub fn no_reply(reason: impl Into<String>) -> Response {
        Response { reply: None, reason: reason.into() }
    }
}

impl Message {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }
}

/// Heap a plugin's calls start with, reserved at upload (pre-initialisation): the allocator
/// then serves a call's allocations without asking the host for more memory. The pages stay
/// zero, so the snapshot does not grow the component.
pub const RESERVED_HEAP_BYTES: usize = 1 << 20;

/// Grows the heap by [`RESERVED_HEAP_BYTES`] and gives it back to the allocator, which keeps
/// it (called by the export macros' `wizer-initialize`).
#[doc(hidden)]
pub fn reserve_heap() {
    std::hint::black_box(Vec::<u8>::with_capacity(RESERVED_HEAP_BYTES));
}

/// Exports a type implementing [`Classifier`] as the plugin's `classify` function.
#[macro_export]
macro_rules! export_classifier {
    ($plugin:ty) => {
        $crate::__export_world!($plugin, classifier, classify, Classifier, classify, ClassifyInput, Classification, export_classifier_world);
    };
}

/// Exports a type implementing [`Router`] as the plugin's `route` function.
#[macro_export]
macro_rules! export_router {
    ($plugin:ty) => {
        $crate::__export_world!($plugin, router, route, Router, route, RouteInput, RouteDecision, export_router_world);
    };
}

/// Exports a type implementing [`Responder`] as the plugin's `respond` function.
#[macro_export]
macro_rules! export_responder {
    ($plugin:ty) => {
        $crate::__export_world!($plugin, responder, respond, Responder, respond, RespondInput, Response, export_responder_world);
    };
}

/// The body of the three export macros: the world's `Guest` implementation calling the
/// plugin's trait with the host's [`Context`], and wit-bindgen's export.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_world {
    ($plugin:ty, $world:ident, $interface:ident, $trait:ident, $function:ident, $input:ident, $output:ident, $export:ident) => {
        // Only WebAssembly builds export the world: native builds (tests) link as ordinary
        // libraries, whose symbol names cannot hold WIT's `:` and `/`.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Export;
            impl $crate::wit::$world::exports::tandem::plugin::$interface::Guest for Export {
                fn $function(input: $crate::$input) -> Result<$crate::$output, $crate::PluginError> {
                    <$plugin as $crate::$trait>::$function(input, &$crate::Context::host())
                }
            }
            impl $crate::wit::$world::Guest for Export {
                fn wizer_initialize() {
                    $crate::reserve_heap();
                    <$plugin as $crate::$trait>::warm_up();
                }
            }
            $crate::wit::$world::$export!(Export with_types_in $crate::wit::$world);
        };
    };
}
