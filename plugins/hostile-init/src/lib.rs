//! A classifier whose warm-up spins forever. The host runs a component's warm-up once at
//! upload (`wizer-initialize`, pre-initialisation); this shows that an upload whose warm-up
//! never ends is refused within the time limit instead of hanging.
//!
//! Built by the test suite (`./x test`), never bundled.

// Natively (workspace builds and tests) nothing is exported, so nothing here is used.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use tandem_plugin_sdk::{Classification, ClassifyInput, Classifier, Context, PluginError};

#[derive(Debug)]
struct EndlessWarmUp;

impl Classifier for EndlessWarmUp {
    fn classify(_input: ClassifyInput, _cx: &Context) -> Result<Classification, PluginError> {
        Ok(Classification { reason: "never reached: the upload is refused".to_owned(), ..Classification::none() })
    }

    fn warm_up() {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

tandem_plugin_sdk::export_classifier!(EndlessWarmUp);
