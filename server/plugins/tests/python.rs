//! The second-language example: a classifier written in Python and built with componentize-py
//! (by `./x plugins`), running in the same sandbox as Rust plugins.

use std::sync::Arc;

use tandem_plugins::{CallContext, Runtime, bindings::latest::types::Priority, testing};
use tandem_proto::{PluginLimits, PluginWorld};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_classifier_runs_and_its_compiled_code_is_cached() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes: Arc<[u8]> = testing::component("python-classifier").into();
    let runtime = Runtime::new(dir.path().join("cache")).expect("runtime");
    let compile = std::time::Instant::now();
    let loaded = runtime.load(Arc::clone(&bytes)).await.expect("a valid classifier component");
    let compile = compile.elapsed();
    assert_eq!(loaded.world, PluginWorld::Classifier);

    let ctx = CallContext {
        config: r#"{"keywords": {"outage": ["is down"], "refund": ["refund"]}, "urgent_tag": "outage"}"#.to_owned(),
        now_micros: testing::MONDAY_9AM,
        limits: PluginLimits { timeout_ms: 5_000, ..PluginLimits::default() },
    };
    let input = testing::classify_input("a@customer.test", "Help", "Our shop is down and I want a refund");
    let outcome = runtime.classify(&loaded, &input, &ctx).await;
    let out = outcome.result.unwrap_or_else(|f| panic!("{f:?}; logs: {:?}", outcome.logs));
    assert_eq!(out.add_tags, vec!["outage".to_owned(), "refund".to_owned()]);
    assert_eq!(out.priority, Some(Priority::Urgent));
    assert!(outcome.logs.iter().any(|l| l.message.contains("matched 2 tag(s)")), "{:?}", outcome.logs);

    // Bad configuration is the plugin's own error, not a crash.
    let bad = CallContext { config: "[1]".to_owned(), ..ctx.clone() };
    let failure = runtime.classify(&loaded, &input, &bad).await.result.expect_err("invalid config");
    assert!(failure.message.contains("must be a JSON object"), "{failure:?}");

    // A restart loads the compiled code from the cache instead of compiling ~18 MB again.
    let again = Runtime::new(dir.path().join("cache")).expect("runtime");
    let hit = std::time::Instant::now();
    again.load(bytes).await.expect("cached");
    let hit = hit.elapsed();
    assert!(hit * 4 < compile, "cache hit {hit:?} vs compile {compile:?}");
}
