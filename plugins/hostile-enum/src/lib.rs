//! A classifier built against a doctored `tandem:plugin@0.1.0` (`wit/` here) whose `priority`
//! enum has a fifth case, `critical`, which it always returns. A host that trusted the
//! component's own idea of the types would receive an enum value it does not know; Tandem
//! must refuse the component when it is uploaded. Built by the test suite, never bundled.

// Natively (workspace builds) nothing is exported, so nothing here is used.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

wit_bindgen::generate!({ path: "wit", world: "classifier" });

use exports::tandem::plugin::classify::{Classification, Guest, Input};
use tandem::plugin::types::{PluginError, Priority};

struct Critical;

impl Guest for Critical {
    fn classify(_input: Input) -> Result<Classification, PluginError> {
        Ok(Classification {
            add_tags: Vec::new(),
            priority: Some(Priority::Critical),
            category: None,
            language: None,
            spam: None,
            confidence: 1.0,
            reason: "an enum case the host does not have".to_owned(),
        })
    }
}

#[cfg(target_arch = "wasm32")]
export!(Critical);
