//! `tandem bench-seed` (hidden): benchmark data for `./x bench`.
//!
//! The demo users, inboxes and teams come through the normal store operations (so that
//! sign-in and permissions are real), then [`tandem_store::seed::bulk_seed`] writes the bulk.
//! Prints one human line and one `BENCH_SEED key=value …` line for xtask to parse.

use anyhow::Context;
use tandem_store::{Store, seed::BulkSpec};

use crate::{config::Config, demo};

pub async fn bench_seed(config: &Config, store: &Store, spec: BulkSpec) -> anyhow::Result<()> {
    demo::seed_if_empty(config, store).await.context("seeding the demo users and inboxes")?;
    let report = store.bulk_seed(spec).await.context("bulk seeding")?;
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "bulk seeded {} tickets, {} messages, {} tags, {} contacts, {} events ({} rows) in {seconds:.2} s: \
         {:.0} rows/s, {:.0} tickets/s ({} transactions, {} statements; ANALYZE {:.2} s)",
        report.tickets,
        report.messages,
        report.tags,
        report.contacts,
        report.events,
        report.rows(),
        report.rows_per_second(),
        report.tickets_per_second(),
        report.transactions,
        report.statements,
        report.analyze.as_secs_f64(),
    );
    println!(
        "BENCH_SEED tickets={} messages={} tags={} contacts={} events={} rows={} seconds={seconds:.3} rows_per_s={:.0} tickets_per_s={:.0} analyze_s={:.3}",
        report.tickets,
        report.messages,
        report.tags,
        report.contacts,
        report.events,
        report.rows(),
        report.rows_per_second(),
        report.tickets_per_second(),
        report.analyze.as_secs_f64(),
    );
    for size in store.storage_sizes().await.context("measuring the database")? {
        println!("BENCH_SIZE name={} kind={} bytes={}", size.name, size.kind, size.bytes);
    }
    Ok(())
}
