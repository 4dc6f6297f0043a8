//! The timers scheduler: SLA warnings and breaches, snoozes, reminders, auto-solve
//! (`Store::run_timers`). Several nodes may run it; a database lease lets one of them work at
//! a time, and every timer is idempotent besides, so an overlap during a lease hand-over
//! raises nothing twice. Beside it, every process sweeps its blob directory once an hour
//! (`Store::sweep_blobs`: files of refused or rolled-back writes), with no lease: each node
//! may have its own directory, and two sweeps of a shared one remove nothing twice.

use std::time::Duration;

use tandem_store::Store;
use tokio::task::JoinHandle;

/// How often a round runs: due times are kept to this precision.
const ROUND: Duration = Duration::from_secs(10);
/// A holder that stops renewing loses the lease after this long.
const LEASE_SECS: i64 = 60;
/// How often the blob directory is swept, starting at start-up.
const BLOB_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// A blob file younger than this is kept even when no row names it: its transaction may not
/// have committed yet.
const BLOB_GRACE: Duration = Duration::from_secs(3600);

/// The running scheduler; stops when dropped.
pub struct Scheduler {
    timers: JoinHandle<()>,
    blobs: JoinHandle<()>,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.timers.abort();
        self.blobs.abort();
    }
}

pub fn start(store: Store) -> Scheduler {
    let mut id = [0u8; 6];
    let suffix = match getrandom::fill(&mut id) {
        Ok(()) => id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Err(_) => "node".to_owned(),
    };
    let holder = format!("{}-{suffix}", std::process::id());
    let blobs = tokio::spawn(sweep_blobs(store.clone()));
    let timers = tokio::spawn(async move {
        let mut tick = tokio::time::interval(ROUND);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backlog = false;
        loop {
            // A round that left due work behind (a catch-up after downtime, or a bulk change)
            // is followed at once instead of after a whole period.
            if backlog {
                tokio::task::yield_now().await;
            } else {
                tick.tick().await;
            }
            backlog = false;
            match store.take_lease("timers", &holder, LEASE_SECS).await {
                Ok(true) => match store.run_timers().await {
                    Ok(report) => {
                        backlog = report.more_due();
                        if !report.is_empty() {
                            tracing::info!(?report, "timers round");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "timers round failed; retrying next round"),
                },
                Ok(false) => tracing::debug!("another node holds the timers lease"),
                Err(e) => tracing::warn!(error = %e, "cannot take the timers lease"),
            }
        }
    });
    Scheduler { timers, blobs }
}

async fn sweep_blobs(store: Store) {
    let mut tick = tokio::time::interval(BLOB_SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.sweep_blobs(BLOB_GRACE).await {
            Ok(sweep) if sweep.removed + sweep.temporaries > 0 => tracing::info!(?sweep, "blob files no row names removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "blob sweep failed; retrying next hour"),
        }
    }
}
