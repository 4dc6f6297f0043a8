//! `./x bench-web`: the web UI's size and speed in a real headless Chromium, on loopback.
//!
//! Prints the release bundle's sizes (wasm and JS, raw and gzipped), the time to first
//! contentful paint and to the ticket list on a cold page load, and the time to render a
//! list of 50 tickets once its data has arrived (`tandem:list-render`, measured by the app
//! from the data's arrival to the next frame). Issue goals: bundle ≤ 1 MB gzipped, first
//! paint < 1 s, 50 rows < 100 ms.

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::path::Path;

use serde_json::json;
use tandem_tests::{TestServer, browser::{Browser, sign_in, web_dir}, machine, PASSWORD};
use tandem_api::ApiSettings;
use tandem_store::testing::Backend;

const LOADS: usize = 20;
const RENDERS: usize = 40;

fn size(dir: &Path, name: &str) -> u64 {
    std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(label: &str, mut values: Vec<f64>) {
    values.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label}: n={} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        values.len(),
        percentile(&values, 0.5),
        percentile(&values, 0.99),
        values.last().copied().unwrap_or(f64::NAN)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("machine: {}", machine());
    let dist = web_dir();
    let kib = |n: u64| n as f64 / 1024.0;
    let (wasm, wasm_gz) = (size(&dist, "tandem_web_bg.wasm"), size(&dist, "tandem_web_bg.wasm.gz"));
    let (js, js_gz) = (size(&dist, "tandem_web.js"), size(&dist, "tandem_web.js.gz"));
    let (css_gz, html_gz) = (size(&dist, "style.css.gz"), size(&dist, "index.html.gz"));
    println!("bundle: wasm {:.0} KiB ({:.0} KiB gzipped), js {:.0} KiB ({:.0} KiB gzipped), css+html {:.0} KiB gzipped", kib(wasm), kib(wasm_gz), kib(js), kib(js_gz), kib(css_gz + html_gz));
    println!("bundle total gzipped: {:.0} KiB (goal ≤ 1024 KiB)", kib(wasm_gz + js_gz + css_gz + html_gz + size(&dist, "boot.js.gz")));

    let server = TestServer::start_with(Backend::Sqlite, ApiSettings { web_dir: Some(dist.clone()), ..Default::default() }).await;
    // 60 tickets, so the first page is a full 50.
    let admin = server.login(&server.desk.admin.email).await;
    for i in 0..60 {
        let (status, body) = admin
            .post("/api/v1/tickets", &json!({
                "inbox_id": server.desk.inbox_a.id,
                "subject": format!("Order {i}: the parcel did not arrive"),
                "body_text": "Hello, my order has not arrived yet. Could you check?",
                "contact": { "email": format!("customer{i}@example.test"), "name": format!("Customer {i}") },
                "tags": ["shipping"],
            }))
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let browser = Browser::start().await;
    browser.goto(&server.url("/")).await;
    sign_in(&browser, &server.desk.admin.email, PASSWORD).await;
    browser.wait_for("#ticket-list").await;

    // Cold loads of the list page (session cookie set, caches cleared by a hard reload).
    let mut paint = Vec::new();
    let mut list_ready = Vec::new();
    for _ in 0..LOADS {
        browser.js("location.reload(true); return null").await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        browser.wait_for("#ticket-list .ticket-row").await;
        let timings = browser
            .js("const p = performance.getEntriesByName('first-contentful-paint')[0]; const r = performance.getEntriesByName('tandem:list-render')[0]; return [p ? p.startTime : null, r ? r.startTime + r.duration : null]")
            .await;
        if let Some(v) = timings[0].as_f64() { paint.push(v); }
        if let Some(v) = timings[1].as_f64() { list_ready.push(v); }
    }
    report("first contentful paint after navigation (goal < 1000 ms)", paint);
    report("ticket list (50 rows) on screen after navigation", list_ready);

    // The list re-rendered from fresh data: switch views back and forth.
    let mut renders = Vec::new();
    for i in 0..RENDERS {
        let view = if i % 2 == 0 { "#view-unassigned" } else { "#view-open" };
        browser.js("performance.clearMeasures('tandem:list-render'); return null").await;
        browser.click(view).await;
        let started = std::time::Instant::now();
        loop {
            let value = browser.js("const r = performance.getEntriesByName('tandem:list-render')[0]; return r ? r.duration : null").await;
            if let Some(ms) = value.as_f64() {
                renders.push(ms);
                break;
            }
            assert!(started.elapsed().as_secs() < 10, "no list render measured");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let rows = browser.js("return document.querySelectorAll('#ticket-list .ticket-row').length").await;
    println!("rows rendered per list: {rows}");
    report("list render, data arrived → next frame (goal < 100 ms)", renders);
    browser.close().await;
}
