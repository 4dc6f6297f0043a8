//! SQLite's WAL checkpoints, moved off the writer's path.
//!
//! In WAL mode a commit appends the pages it changed to the log, and a checkpoint copies the
//! log back into the database file (syncing both). By default SQLite runs a checkpoint inside
//! whichever commit takes the log past 1,000 pages: that commit then holds the one writer slot
//! for the copy and the syncs (5–12 ms here, against ~0.1–1.2 ms for an ordinary commit;
//! BENCHMARKS.md, email intake), and every write queued behind it waits. Here each connection
//! leaves that to a task instead ([`spawn`]): every [`TICK`] after this process committed a
//! write, and at least every [`IDLE_EVERY`] ticks (writes of other processes, untracked
//! writes), it runs a *passive* checkpoint on a reader connection, which never waits for the
//! writer nor blocks it. The connections' own threshold is raised to [`AUTO_PAGES`], a safety
//! net should the task fall behind.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::task::AbortHandle;

/// Pages in the log after which a commit checkpoints itself (SQLite's default is 1,000).
pub(crate) const AUTO_PAGES: u32 = 10_000;
/// How often the task looks for committed writes to checkpoint.
const TICK: Duration = Duration::from_millis(100);
/// Ticks after which the task checkpoints even without a write of this process.
const IDLE_EVERY: u32 = 100;

/// The checkpoint task; stopped when the last clone of its `Db` is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: AbortHandle,
    /// Passive checkpoints run so far (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    done: Arc<AtomicU64>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Checkpointer {
    /// Checkpoints run so far.
    #[cfg(test)]
    pub(crate) fn done(&self) -> u64 {
        self.done.load(Ordering::Acquire)
    }
}

/// Starts checkpointing the SQLite database behind `conn`; `generation` is the write
/// generation this process's commits move.
pub(crate) fn spawn(conn: DatabaseConnection, generation: Arc<AtomicU64>) -> Checkpointer {
    let done = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&done);
    let task = tokio::spawn(async move {
        let mut seen = generation.load(Ordering::Acquire);
        let mut idle = 0;
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = generation.load(Ordering::Acquire);
            idle += 1;
            if now == seen && idle < IDLE_EVERY {
                continue;
            }
            (seen, idle) = (now, 0);
            // Busy (another checkpoint running) is an answer, not an error; a failure is
            // logged and the next tick tries again.
            match conn.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
                Ok(_) => {
                    counter.fetch_add(1, Ordering::AcqRel);
                }
                Err(e) => tracing::warn!(error = %e, "checkpointing the database's write-ahead log"),
            }
        }
    });
    Checkpointer { task: task.abort_handle(), done }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::db::Db;
    use crate::testing::{Backend, fresh_database};

    /// Committed pages reach the database file without any commit checkpointing them: the
    /// log grows past SQLite's default threshold, stays under the raised one, and the
    /// task copies it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_task_copies_committed_pages_into_the_database_file() {
        let test_db = fresh_database(Backend::Sqlite).await;
        let file = test_db.data_dir.parent().expect("temp dir").join("tandem.db");
        let db = Db::connect(&test_db.url, 2).await.expect("connect");
        let auto: Vec<i64> = crate::db::query_all::<Row, _>(&db.conn, db.stmt("PRAGMA wal_autocheckpoint", vec![]))
            .await
            .expect("pragma")
            .into_iter()
            .map(|r| r.wal_autocheckpoint)
            .collect();
        assert_eq!(auto, [i64::from(super::AUTO_PAGES)], "the commits' own threshold is raised");
        let tx = db.write().await.expect("begin");
        sea_orm::ConnectionTrait::execute_unprepared(&tx.tx, "CREATE TABLE pad (k INTEGER PRIMARY KEY, v BLOB NOT NULL)").await.expect("table");
        tx.commit().await.expect("commit");
        let before = db.checkpoints_done();
        // ~2,000 pages (8 MiB) in 20 commits: twice SQLite's default threshold.
        for chunk in 0..20i64 {
            let tx = db.write().await.expect("begin");
            let sql = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000) \
                       INSERT INTO pad (k, v) SELECT ? * 1000 + i, zeroblob(400) FROM s";
            sea_orm::ConnectionTrait::execute_raw(&tx.tx, db.stmt(sql, vec![chunk.into()])).await.expect("insert");
            tx.commit().await.expect("commit");
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            // The file grows while a checkpoint runs, before the task counts it.
            let size = std::fs::metadata(&file).expect("database file").len();
            if size >= 8_000_000 && db.checkpoints_done() > before {
                break;
            }
            assert!(Instant::now() < deadline, "the database file is {size} bytes, the task ran {} checkpoints: the log was not checkpointed by it", db.checkpoints_done() - before);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[derive(Debug, sea_orm::FromQueryResult)]
    struct Row {
        wal_autocheckpoint: i64,
    }
}
