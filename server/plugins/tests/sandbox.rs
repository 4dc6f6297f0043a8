//! The runtime against real components: the bundled classifier, and the hostile fixture in
//! each of its modes. Every misbehaviour must end as a recorded failure of that one call,
//! and the runtime must serve the next call normally.

use std::sync::Arc;

use tandem_plugins::{
    CallContext, CallOutcome, PluginError, Runtime,
    bindings::latest::{classify::Classification, types::Priority},
    testing::{self, MONDAY_9AM},
};
use tandem_proto::{PluginFailureKind, PluginLimits, PluginWorld};

fn runtime() -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    (Runtime::new(dir.path().join("cache")).expect("runtime"), dir)
}

fn ctx(config: serde_json::Value) -> CallContext {
    CallContext { config: config.to_string(), now_micros: MONDAY_9AM, limits: PluginLimits::default() }
}

/// One call of the hostile fixture in `mode`, on a fresh runtime, with a time limit of
/// `timeout_ms` and the other limits at their defaults.
async fn hostile_call(mode: &str, timeout_ms: u32) -> CallOutcome<Classification> {
    let (rt, _dir) = runtime();
    let loaded = rt.load(testing::component("hostile-plugin").into()).await.expect("loads");
    let input = testing::classify_input("a@b.test", "Hello", "Some text");
    let mut context = ctx(serde_json::json!({ "mode": mode }));
    context.limits.timeout_ms = timeout_ms;
    rt.classify(&loaded, &input, &context).await
}

#[tokio::test]
async fn bundled_classifier_runs_in_the_sandbox() {
    let (rt, _dir) = runtime();
    let loaded = rt.load(testing::component("keyword-classifier").into()).await.expect("loads");
    assert_eq!(loaded.world, PluginWorld::Classifier);
    assert_eq!(loaded.wit_version, "0.1.0");
    let input = testing::classify_input("ivan@customer.test", "Срочно", "Здравствуйте! Срочно: у нас не работает оплата на сайте.");
    let outcome = rt.classify(&loaded, &input, &ctx(serde_json::json!({}))).await;
    let out = outcome.result.expect("classified");
    assert_eq!(out.priority, Some(Priority::Urgent), "{}", out.reason);
    assert_eq!(out.language.as_deref(), Some("ru"));
    assert!(outcome.usage.fuel > 0);
    assert!(outcome.usage.memory_bytes > 0);
}

#[tokio::test]
async fn every_misbehaviour_is_contained_and_reported() {
    let (rt, _dir) = runtime();
    let loaded = rt.load(testing::component("hostile-plugin").into()).await.expect("loads");
    let input = testing::classify_input("a@b.test", "Hello", "Some text");
    let cases = [
        ("loop", PluginFailureKind::Timeout, "50 ms"),
        ("memory", PluginFailureKind::MemoryExhausted, "32 MiB"),
        ("recursion", PluginFailureKind::StackOverflow, "stack"),
        ("panic", PluginFailureKind::Trap, "panics on purpose"),
        ("huge-output", PluginFailureKind::MemoryExhausted, "32 MiB"),
        ("plugin-error", PluginFailureKind::PluginError, "internal error: the fixture reports"),
    ];
    for (mode, kind, needle) in cases {
        let mut context = ctx(serde_json::json!({ "mode": mode }));
        // Only the loop should meet the time limit, even on a busy machine running tests in
        // parallel: the others get a generous one.
        if mode != "loop" {
            context.limits.timeout_ms = 2_000;
        }
        let outcome = rt.classify(&loaded, &input, &context).await;
        let failure = outcome.result.expect_err(mode);
        assert_eq!(failure.kind, kind, "{mode}: {}", failure.message);
        assert!(failure.message.contains(needle), "{mode}: {}", failure.message);
        // The next call, on the same loaded component, is unaffected.
        let fine = rt.classify(&loaded, &input, &ctx(serde_json::json!({}))).await;
        assert_eq!(fine.result.expect("behaves").add_tags, vec!["hostile-fixture-ok".to_owned()], "after {mode}");
    }
}

#[tokio::test]
async fn a_timeout_stops_the_call_near_its_limit_whatever_it_is_doing() {
    // Spinning, waiting in the host (a WASI sleep: no WebAssembly runs while it waits), a
    // loop of large memory copies (a few instructions doing much work each), and a loop whose
    // every load misses the cache (the slowest fuel there is).
    let (rt, _dir) = runtime();
    let loaded = rt.load(testing::component("hostile-plugin").into()).await.expect("loads");
    let input = testing::classify_input("a@b.test", "Hello", "Some text");
    for mode in ["loop", "sleep", "copy-loop", "chase"] {
        let mut context = ctx(serde_json::json!({ "mode": mode }));
        context.limits.timeout_ms = 20;
        let outcome = rt.classify(&loaded, &input, &context).await;
        let failure = outcome.result.expect_err(mode);
        assert_eq!(failure.kind, PluginFailureKind::Timeout, "{mode}: {}", failure.message);
        assert!(failure.message.contains("20 ms time limit"), "{mode}: {}", failure.message);
        // Not long after 20 ms (a generous bound for loaded CI machines).
        assert!(outcome.usage.duration_us >= 20_000 && outcome.usage.duration_us < 1_000_000, "{mode}: {:?}", outcome.usage);
    }
}

/// The SDK's bump allocator never reuses a freed block but the last one; a call that
/// allocates and frees far more than its memory cap must still run, on the standard
/// allocator once the bump allocator's budget is spent, and without taking the whole cap.
#[tokio::test]
async fn a_call_that_allocates_twice_its_memory_cap_in_small_blocks_runs() {
    let outcome = hostile_call("churn", 10_000).await;
    let out = outcome.result.expect("runs within 32 MiB");
    assert_eq!(out.reason, "churned (512 bytes kept)");
    // The budget (8 MiB of chunks) bounds what the bump allocator takes before it hands over;
    // without it the chunks would grow the memory to the cap (measured: 33.4 MB against 9.5 MB).
    assert!(outcome.usage.memory_bytes < 16 << 20, "{:?}", outcome.usage);
}

#[tokio::test]
async fn logs_are_kept_up_to_a_limit() {
    let outcome = hostile_call("log-flood", 2_000).await;
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.logs.len(), tandem_plugins::sandbox::MAX_LOG_LINES);
    assert_eq!(outcome.dropped_logs as usize, 10_000 - tandem_plugins::sandbox::MAX_LOG_LINES);
    assert_eq!(outcome.logs[0].message, "line 0");
}

#[tokio::test]
async fn what_is_not_a_component_is_refused_with_a_reason() {
    let (rt, _dir) = runtime();
    let real = testing::component("keyword-classifier");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\0asm\x01\0\0\0".to_vec(), "core WebAssembly module"),
        (real[..real.len() / 2].to_vec(), "not a valid WebAssembly component"),
        (b"#!/bin/sh\necho hi\n".to_vec(), "not a WebAssembly file"),
        (Vec::new(), "not a WebAssembly file"),
    ];
    for (bytes, needle) in cases {
        match rt.load(Arc::from(bytes)).await {
            Err(PluginError::Invalid(message)) => assert!(message.contains(needle), "{message}"),
            other => panic!("expected a refusal mentioning {needle}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_component_with_different_types_is_refused_before_it_can_run() {
    // Built against a copy of the WIT whose `priority` enum has a fifth case that it returns:
    // its exports do not match `tandem:plugin@0.1.0`, so it never gets to hand one over.
    let (rt, _dir) = runtime();
    match rt.load(testing::component("hostile-enum-plugin").into()).await {
        Err(PluginError::Invalid(message)) => assert!(message.contains("does not start as a tandem:plugin@0.1.0 classifier"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_call_starts_from_the_state_the_warm_up_left_and_from_nothing_else() {
    // The SDK exports `wizer-initialize`: the host runs the fixture's warm-up once, at upload,
    // and every call's fresh instance starts from what it left, and from nothing a call did.
    let (rt, _dir) = runtime();
    let loaded = rt.load(testing::component("hostile-plugin").into()).await.expect("loads");
    let input = testing::classify_input("a@b.test", "Hi", "Hello");
    for _ in 0..3 {
        let out = rt.classify(&loaded, &input, &ctx(serde_json::json!({ "mode": "state" }))).await.result.expect("behaves");
        assert_eq!(out.reason, "warmed up: true, calls: 1");
    }
}

#[tokio::test]
async fn a_warm_up_that_never_ends_fails_the_upload_in_time() {
    let (rt, _dir) = runtime();
    let start = std::time::Instant::now();
    match rt.load(testing::component("hostile-init-plugin").into()).await {
        Err(PluginError::Invalid(message)) => {
            assert!(message.starts_with("the component asks to be pre-initialised, but `wizer-initialize` failed:"), "{message}");
            assert!(message.contains("time limit"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The limit is 1 s; compiling the component twice comes on top.
    assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", start.elapsed());
    // The runtime goes on serving.
    let loaded = rt.load(testing::component("hostile-plugin").into()).await.expect("loads");
    let input = testing::classify_input("a@b.test", "Hi", "Hello");
    rt.classify(&loaded, &input, &ctx(serde_json::json!({}))).await.result.expect("behaves");
}

#[tokio::test]
async fn compiled_code_is_cached_on_disk() {
    let (rt, dir) = runtime();
    let bytes: Arc<[u8]> = testing::component("keyword-classifier").into();
    let first = std::time::Instant::now();
    let loaded = rt.load(bytes.clone()).await.expect("compiles");
    let compile = first.elapsed();
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("cache")).expect("cache dir").flatten().collect();
    assert_eq!(cached.len(), 1, "one artifact");
    assert!(cached[0].file_name().to_string_lossy().starts_with(&loaded.sha256));

    // A new runtime (a restart) loads the artifact instead of compiling.
    let again = Runtime::new(dir.path().join("cache")).expect("runtime");
    let second = std::time::Instant::now();
    again.load(bytes).await.expect("loads from cache");
    let hit = second.elapsed();
    assert!(hit < compile, "cache hit {hit:?} should beat compiling {compile:?}");
}
