//! Plugin benchmark (not a test): `./x bench-plugins` (or `cargo bench -p tandem-plugins --bench pipeline`).
//!
//! Prints, with the machine it ran on:
//! - per plugin call, p50/p99 of instantiate + call (fresh store from the shared
//!   `InstancePre`, pooling allocator) for each bundled plugin;
//! - the whole pipeline per message (classify + route + respond, sequential, with the host's
//!   input building and output checks), p50/p99 — goal p99 ≤ 1 ms;
//! - the same three rules compiled natively (the plugin crates as ordinary Rust libraries,
//!   same inputs and configuration parsing), and the ratio — goal ≤ 3×;
//! - compile time and compile-cache hit time for a Rust plugin and for the Python example.
//!
//! Inputs rotate through realistic messages in four languages from the test fixtures.

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_plugin_sdk::{Classifier as _, Context, Responder as _, Router as _, sample};
use tandem_plugins::{CallContext, Runtime, bindings::latest::types::Availability, testing};
use tandem_proto::PluginLimits;

const WARMUP: usize = 300;
const ROUNDS: usize = 3_000;

const MESSAGES: &[(&str, &str, &str)] = &[
    ("anna@customer.test", "Cannot log in", "Hello, since this morning I cannot log in to my account, the password reset mail never arrives. Could you help?"),
    ("ivan@customer.ru", "Срочно: не работает оплата", "Здравствуйте! Срочно: у нас не работает оплата на сайте, клиенты не могут заплатить уже час."),
    ("ola@klient.pl", "Faktura za marzec", "Dzień dobry, proszę o korektę faktury za marzec, kwota się nie zgadza z ofertą."),
    ("luc@client.fr", "Compte bloqué", "Bonjour, notre compte est bloqué depuis hier soir et nous ne pouvons plus travailler, c'est urgent."),
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!("| {name} | {} | {:.1} | {:.1} | {:.1} |", samples.len(), p50.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6, percentile(&samples, 0.999).as_secs_f64() * 1e6);
    (p50, p99)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())).unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{model} × {cores} cores")
}

fn agents() -> Vec<tandem_plugins::bindings::latest::types::Agent> {
    vec![
        testing::agent(1, "Ann", &["ru", "billing"], Availability::Online, 3, &[10]),
        testing::agent(2, "Bob", &["pl"], Availability::Online, 1, &[10]),
        testing::agent(3, "Cid", &["fr", "login"], Availability::Online, 1, &[10]),
        testing::agent(4, "Dee", &["billing"], Availability::Away, 0, &[11]),
    ]
}

fn sdk_agents() -> Vec<tandem_plugin_sdk::Agent> {
    use tandem_plugin_sdk::Availability as A;
    vec![
        sample::agent(1, "Ann", &["ru", "billing"], A::Online, 3, &[10]),
        sample::agent(2, "Bob", &["pl"], A::Online, 1, &[10]),
        sample::agent(3, "Cid", &["fr", "login"], A::Online, 1, &[10]),
        sample::agent(4, "Dee", &["billing"], A::Away, 0, &[11]),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = Runtime::new(dir.path().join("cache")).expect("runtime");
    println!("Plugin benchmark on {} (Rust {}), {} rounds after {} warm-up\n", machine(), env!("CARGO_PKG_RUST_VERSION"), ROUNDS, WARMUP);

    // Compile and cache-hit times.
    println!("| component | size | compile (cold) | load from cache |");
    println!("|---|---:|---:|---:|");
    for name in ["keyword-classifier", "skills-router", "template-responder", "python-classifier"] {
        let bytes = testing::component(name);
        let compile = runtime.compile_uncached(&bytes).expect("compiles");
        let _ = runtime.load(Arc::from(bytes.clone())).await.expect("loads"); // fills the cache
        let fresh = Runtime::new(dir.path().join("cache")).expect("runtime");
        let start = Instant::now();
        fresh.load(Arc::from(bytes.clone())).await.expect("cache hit");
        let hit = start.elapsed();
        println!("| {name} | {} KiB | {:.2} s | {:.1} ms |", bytes.len() / 1024, compile.as_secs_f64(), hit.as_secs_f64() * 1e3);
    }
    println!();

    let classifier = runtime.load(testing::component("keyword-classifier").into()).await.expect("classifier");
    let router = runtime.load(testing::component("skills-router").into()).await.expect("router");
    let responder = runtime.load(testing::component("template-responder").into()).await.expect("responder");
    let teams = vec![testing::team(10, "Tech support", &[1, 2, 3]), testing::team(11, "Billing", &[4])];
    let ctx = CallContext { config: "{}".to_owned(), now_micros: testing::MONDAY_9AM, limits: PluginLimits::default() };

    let mut per_call: [Vec<Duration>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut pipeline = Vec::new();
    for round in 0..WARMUP + ROUNDS {
        let (from, subject, text) = MESSAGES[round % MESSAGES.len()];
        let start = Instant::now();
        let mut classify_input = testing::classify_input(from, subject, text);
        classify_input.ticket.number = 1000 + round as i64;
        let c = runtime.classify(&classifier, &classify_input, &ctx).await;
        let t1 = start.elapsed();
        let verdict = tandem_plugins::convert::classification(c.result.expect("classified")).expect("valid");
        let mut route_input = testing::route_input(from, subject, text, agents(), teams.clone());
        route_input.ticket.language = verdict.language.clone();
        route_input.ticket.category = verdict.category.clone();
        route_input.ticket.number = classify_input.ticket.number;
        let t2s = Instant::now();
        let r = runtime.route(&router, &route_input, &ctx).await;
        let t2 = t2s.elapsed();
        tandem_plugins::convert::routing(r.result.expect("routed"), &route_input).expect("valid");
        let mut respond_input = testing::respond_input(from, subject, text);
        respond_input.ticket.language = verdict.language;
        respond_input.ticket.number = classify_input.ticket.number;
        let t3s = Instant::now();
        let a = runtime.respond(&responder, &respond_input, &ctx).await;
        let t3 = t3s.elapsed();
        tandem_plugins::convert::response(a.result.expect("responded")).expect("valid");
        let total = start.elapsed();
        if round >= WARMUP {
            per_call[0].push(t1);
            per_call[1].push(t2);
            per_call[2].push(t3);
            pipeline.push(total);
        }
    }

    // The same rules, natively: the plugin crates called as Rust libraries.
    let mut native = Vec::new();
    for round in 0..WARMUP + ROUNDS {
        let (from, subject, text) = MESSAGES[round % MESSAGES.len()];
        let start = Instant::now();
        let cx = Context::for_test(serde_json::json!({}), sample::MONDAY_9AM);
        let mut input = sample::classify_input(from, subject, text);
        input.ticket.number = 1000 + round as i64;
        let number = input.ticket.number;
        let verdict = keyword_classifier::KeywordClassifier::classify(input, &cx).expect("classified");
        let mut route_input = sample::route_input(from, subject, text, sdk_agents(), vec![sample::team(10, "Tech support", &[1, 2, 3]), sample::team(11, "Billing", &[4])]);
        route_input.ticket.language = verdict.language.clone();
        route_input.ticket.category = verdict.category.clone();
        route_input.ticket.number = number;
        std::hint::black_box(skills_router::SkillsRouter::route(route_input, &cx).expect("routed"));
        let mut respond_input = sample::respond_input(from, subject, text);
        respond_input.ticket.language = verdict.language;
        respond_input.ticket.number = number;
        std::hint::black_box(template_responder::TemplateResponder::respond(respond_input, &cx).expect("responded"));
        if round >= WARMUP {
            native.push(start.elapsed());
        }
    }

    // The floor: instantiate + a call that does nothing (the hostile fixture, behaving).
    let fixture = runtime.load(testing::component("hostile-plugin").into()).await.expect("fixture");
    let mut floor = Vec::new();
    let input = testing::classify_input("a@b.test", "Hi", "Hello");
    for round in 0..WARMUP + ROUNDS {
        let start = Instant::now();
        runtime.classify(&fixture, &input, &ctx).await.result.expect("behaves");
        if round >= WARMUP {
            floor.push(start.elapsed());
        }
    }

    println!("| measurement (µs) | samples | p50 | p99 | p99.9 |");
    println!("|---|---:|---:|---:|---:|");
    summary("instantiate + a call that does nothing (floor)", floor);
    summary("keyword-classifier: instantiate + call", per_call[0].clone());
    summary("skills-router: instantiate + call", per_call[1].clone());
    summary("template-responder: instantiate + call", per_call[2].clone());
    let (wasm_p50, wasm_p99) = summary("pipeline per message (3 plugins, sandboxed)", pipeline);
    let (native_p50, native_p99) = summary("pipeline per message, native Rust", native);
    println!();
    let goal = if wasm_p99 <= Duration::from_millis(1) { "met" } else { "missed" };
    println!("Pipeline p99 {:.0} µs (goal ≤ 1,000 µs): {goal}", wasm_p99.as_secs_f64() * 1e6);
    let ratio50 = wasm_p50.as_secs_f64() / native_p50.as_secs_f64();
    let ratio99 = wasm_p99.as_secs_f64() / native_p99.as_secs_f64();
    let goal = if ratio50 <= 3.0 { "met" } else { "missed" };
    println!("Sandboxed / native: {ratio50:.1}× at p50, {ratio99:.1}× at p99 (goal ≤ 3×): {goal}");
}
