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
    let blobs = tokio::spawn(sweep_blobs(store.clone(), BLOB_SWEEP_EVERY));
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

/// Sweeps the blob directory at once and then `every` (an hour outside the tests).
async fn sweep_blobs(store: Store, every: Duration) {
    let mut tick = tokio::time::interval(every);
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tandem_domain::{Clock, SystemClock};
    use tandem_store::testing::{Backend, clock, desk, fresh_database, open_store};

    use super::*;

    /// The sweep runs at start and again every period, with the grace period: a blob file no
    /// row names goes once it is older than the grace period, each time; an attachment's stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_blob_sweep_runs_at_start_and_every_period() {
        let db = fresh_database(Backend::Sqlite).await;
        let clock = clock();
        let store = open_store(&db, clock.clone()).await;
        let desk = desk(&store).await;
        // The store's clock an hour and a minute after every file written now: each is past
        // the grace period for the sweep (the files' times are the real ones).
        clock.set(SystemClock.now() + chrono::Duration::minutes(61));
        let gone = |sha: &str| store.blobs().get(sha).is_err();
        let wait_until_gone = async |sha: &str, what: &str| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !gone(sha) {
                assert!(Instant::now() < deadline, "{what} is still there");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let first = store.blobs().put(b"an upload the server refused").expect("put");
        let sweeper = tokio::spawn(sweep_blobs(store.clone(), Duration::from_millis(300)));
        wait_until_gone(&first, "the orphan of before the start").await;
        let second = store.blobs().put(b"an intake group that failed").expect("put");
        wait_until_gone(&second, "the orphan written after the first sweep").await;
        sweeper.abort();
        assert!(!gone(&desk.attachment.sha256), "an attachment's blob stays");

        // Within the grace period nothing goes.
        clock.set(SystemClock.now());
        let young = store.blobs().put(b"a write whose transaction is open").expect("put");
        let sweeper = tokio::spawn(sweep_blobs(store.clone(), Duration::from_millis(100)));
        tokio::time::sleep(Duration::from_millis(500)).await;
        sweeper.abort();
        assert!(!gone(&young), "a file younger than the grace period stays");
    }
}
