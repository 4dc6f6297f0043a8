//! `tandem bench-seed` (hidden): benchmark data for `./x bench`.
//!
//! The demo users, inboxes and teams come through the normal store operations (so that
//! sign-in and permissions are real), then [`tandem_store::seed::bulk_seed`] writes the bulk.
//! Prints one `BENCH_SEED key=value …` line (and `BENCH_SIZE` lines) for xtask to parse.

use anyhow::Context;
use tandem_store::{Store, seed::BulkSpec};

use crate::{config::Config, demo};

pub async fn bench_seed(config: &Config, store: &Store, spec: BulkSpec) -> anyhow::Result<()> {
    demo::seed_if_empty(config, store).await.context("seeding the demo users and inboxes")?;
    let report = store.bulk_seed(spec).await.context("bulk seeding")?;
    let seconds = report.elapsed.as_secs_f64();
    let figures = [
        ("tickets", report.tickets.to_string()),
        ("messages", report.messages.to_string()),
        ("tags", report.tags.to_string()),
        ("contacts", report.contacts.to_string()),
        ("events", report.events.to_string()),
        ("rows", report.rows().to_string()),
        ("seconds", format!("{seconds:.3}")),
        ("rows_per_s", format!("{:.0}", report.rows_per_second())),
        ("tickets_per_s", format!("{:.0}", report.tickets_per_second())),
        ("analyze_s", format!("{:.3}", report.analyze.as_secs_f64())),
        ("transactions", report.transactions.to_string()),
        ("statements", report.statements.to_string()),
    ];
    let line: Vec<String> = figures.iter().map(|(key, value)| format!("{key}={value}")).collect();
    println!("BENCH_SEED {}", line.join(" "));
    for size in store.storage_sizes().await.context("measuring the database")? {
        println!("BENCH_SIZE name={} kind={} bytes={}", size.name, size.kind, size.bytes);
    }
    Ok(())
}
