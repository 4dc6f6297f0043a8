//! Connections, the two backends' differences, and small SQL helpers.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    FromQueryResult, Statement, TransactionTrait, Value,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{auth::SessionCache, checkpoint, error::Result, writer_cpu};

/// Rows a query may hand over before its reader takes any: more than the largest page (200 + 1).
const ROW_BUFFER: usize = 256;
/// How much of an SQLite database file each connection maps into memory: SQLite's default
/// compile-time maximum (2 GiB less 64 KiB); a larger file is read beyond it as usual.
const MMAP_BYTES: u64 = 0x7fff_0000;

/// The database plus what the two backends need to behave alike.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) conn: DatabaseConnection,
    /// SQLite allows one writer at a time; writes queue here instead of failing with
    /// SQLITE_BUSY. PostgreSQL relies on row locks (`FOR UPDATE`) instead.
    write_lock: Option<Arc<Mutex<()>>>,
    /// SQLite: writes waiting for the slot that go before background ones ([`Db::write`]
    /// against [`Db::write_background`]).
    foreground: Arc<Foreground>,
    /// SQLite: the one connection writes go through, its thread pinned to `writer_cpu`
    /// (`writer_cpu.rs`); reads use the pool.
    writer: Option<DatabaseConnection>,
    /// The CPU the writer connection's thread is pinned to, when it is.
    writer_cpu: Option<usize>,
    /// Moves on every write transaction this process commits (just before and just after the
    /// commit). Read caches (sessions, API answers) remember the generation they were filled
    /// at and are stale once it moved.
    generation: Arc<AtomicU64>,
    /// Session → actor lookups of this process (see `auth.rs`).
    pub(crate) sessions: Arc<SessionCache>,
    /// SQLite: the task that checkpoints the write-ahead log (`checkpoint.rs`), stopped with
    /// the last clone.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

/// How many foreground writes wait for SQLite's writer slot, which background writes let go
/// first ([`Db::write_background`]).
#[derive(Debug, Default)]
struct Foreground {
    waiting: std::sync::atomic::AtomicUsize,
    none_left: tokio::sync::Notify,
}

impl Foreground {
    /// Counts this caller as waiting until the guard is dropped (the slot taken, or the wait
    /// given up).
    fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        Waiting(self)
    }

    fn any_waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    async fn none_waiting(&self) {
        loop {
            let none_left = self.none_left.notified();
            tokio::pin!(none_left);
            // Registered before the check: a notification between the two is not missed.
            none_left.as_mut().enable();
            if !self.any_waiting() {
                return;
            }
            none_left.await;
        }
    }
}

struct Waiting<'a>(&'a Foreground);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.0.waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

/// A write transaction (and, on SQLite, the writer slot).
pub(crate) struct WriteTx {
    pub(crate) tx: DatabaseTransaction,
    db: Db,
    memo: std::sync::Mutex<TxMemo>,
    // Dropped after `tx`, so the slot is released only once the transaction has ended.
    _slot: Option<OwnedMutexGuard<()>>,
}

impl Db {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        let mut options = ConnectOptions::new(url.to_owned());
        options.max_connections(max_connections).min_connections(1).sqlx_logging(false);
        if url.starts_with("sqlite:") {
            // sqlx pings a pooled connection before handing it out, to find one a server
            // dropped. An SQLite connection is a file in this process: it is never dropped,
            // and the ping is a round trip to the connection's thread on every acquire
            // (~5 % of an email import's time, measured). PostgreSQL keeps the ping.
            options.test_before_acquire(false);
        }
        options.map_sqlx_sqlite_opts(sqlite_settings);
        let conn = Database::connect(options.clone()).await?;
        let mut db = Db {
            conn,
            write_lock: None,
            foreground: Arc::default(),
            writer: None,
            writer_cpu: None,
            generation: Arc::new(AtomicU64::new(0)),
            sessions: Arc::new(SessionCache::default()),
            _checkpointer: None,
        };
        if db.backend() == DatabaseBackend::Sqlite {
            db.write_lock = Some(Arc::new(Mutex::new(())));
            db._checkpointer = Some(Arc::new(checkpoint::spawn(db.conn.clone(), Arc::clone(&db.generation))));
            // The writer: one connection, kept for good, so that its thread is pinned once.
            static WRITERS: AtomicU64 = AtomicU64::new(0);
            let name = format!("tandem-w{}", WRITERS.fetch_add(1, Ordering::Relaxed));
            let thread_name = name.clone();
            options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
            options.map_sqlx_sqlite_opts(move |o| {
                let name = thread_name.clone();
                sqlite_settings(o).thread_name(move |_| name.clone())
            });
            db.writer = Some(Database::connect(options).await?);
            db.writer_cpu = writer_cpu::choose().filter(|&cpu| writer_cpu::pin_named_thread(&name, cpu));
        }
        Ok(db)
    }

    /// SQLite: passive checkpoints the task has run (none on PostgreSQL).
    #[cfg(test)]
    pub(crate) fn checkpoints_done(&self) -> u64 {
        self._checkpointer.as_ref().map_or(0, |c| c.done())
    }

    /// The write generation (see [`Db::generation`]'s field).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == DatabaseBackend::Postgres
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Starts a write transaction; on SQLite waits for the writer slot first, ahead of the
    /// background writes waiting for it.
    pub(crate) async fn write(&self) -> Result<WriteTx> {
        let slot = match &self.write_lock {
            Some(lock) => {
                let _waiting = self.foreground.waiting();
                Some(Arc::clone(lock).lock_owned().await)
            }
            None => None,
        };
        self.begin(slot).await
    }

    /// [`Db::write`] for bulk work that nobody waits on by the second (an import's batches of
    /// mail and of plugin runs, the outbox's bookkeeping): on SQLite it takes the writer slot
    /// only when no other write is waiting for it, so an agent's click waits at most for the
    /// transaction already running, not for every batch queued before it. Where the slot is
    /// wanted without pause the background writes wait; they go on between those.
    pub(crate) async fn write_background(&self) -> Result<WriteTx> {
        let slot = match &self.write_lock {
            Some(lock) => loop {
                self.foreground.none_waiting().await;
                let slot = Arc::clone(lock).lock_owned().await;
                if !self.foreground_waiting() {
                    break Some(slot);
                }
                // A foreground write queued while this one waited: it goes first.
            },
            None => None,
        };
        self.begin(slot).await
    }

    /// Whether a foreground write waits for SQLite's writer slot (never on PostgreSQL: only
    /// the slot's waiters are counted): a long background transaction that can end early (a
    /// group of mails or of plugin runs) then commits what it has.
    pub(crate) fn foreground_waiting(&self) -> bool {
        self.foreground.any_waiting()
    }

    async fn begin(&self, slot: Option<OwnedMutexGuard<()>>) -> Result<WriteTx> {
        let tx = self.write_conn().begin().await?;
        Ok(WriteTx { tx, db: self.clone(), memo: Default::default(), _slot: slot })
    }

    /// The connection writes go through: SQLite's writer connection, PostgreSQL's pool.
    fn write_conn(&self) -> &DatabaseConnection {
        self.writer.as_ref().unwrap_or(&self.conn)
    }

    /// Runs `work`, a write transaction from [`Db::write`] to its commit, on the CPU of the
    /// writer connection's thread (`writer_cpu.rs`): for the writes that make most of an
    /// import's (a group of emails, a group of plugin runs, the outbox's claims and results).
    pub(crate) async fn on_writer_cpu<F: std::future::Future>(&self, work: F) -> F::Output {
        writer_cpu::on_cpu(self.writer_cpu, work).await
    }

    /// Runs one statement on its own (autocommit) without moving the write generation: for
    /// bookkeeping no read cache depends on (live presence). On SQLite it still waits for
    /// the writer slot. Answers the rows affected.
    pub(crate) async fn execute_untracked(&self, stmt: Statement) -> Result<u64> {
        let _slot = match &self.write_lock {
            Some(lock) => Some(Arc::clone(lock).lock_owned().await),
            None => None,
        };
        Ok(self.write_conn().execute_raw(stmt).await?.rows_affected())
    }

    /// Builds a statement from SQL written with `?` placeholders, numbering them for PostgreSQL.
    pub(crate) fn stmt(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), placeholders(self.backend(), sql), values)
    }

    /// `FOR UPDATE` where the backend has row locks (SQLite's writer slot already serialises).
    pub(crate) fn for_update(&self) -> &'static str {
        if self.is_postgres() { " FOR UPDATE" } else { "" }
    }

    /// [`Db::for_update`] of one table of a join (`alias`): row locks cannot apply to the
    /// nullable side of an outer join.
    pub(crate) fn for_update_of(&self, alias: &str) -> String {
        if self.is_postgres() { format!(" FOR UPDATE OF {alias}") } else { String::new() }
    }
}

/// The settings of every SQLite connection. They are per connection (but `journal_mode =
/// WAL`, which the file keeps), so every connection a pool opens gets them, not just the first.
/// WAL lets readers go on while a write commits; NORMAL sync is durable in WAL mode across
/// application crashes (power loss may drop the last commits).
fn sqlite_settings(o: SqliteConnectOptions) -> SqliteConnectOptions {
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10))
        // Rows travel from the connection's worker thread through a bounded channel; with
        // sqlx's 50 a full page (limit + 1 rows) stalled the worker once per query.
        .row_buffer_size(ROW_BUFFER)
        // Reads through a memory map instead of a `pread` per page: the search window reads a
        // thousand scattered index rows (BENCHMARKS.md, search). Address space only: the pages
        // are the OS page cache's.
        .pragma("mmap_size", MMAP_BYTES.to_string())
        // Commits leave checkpoints to a task (`checkpoint.rs`) unless it falls behind.
        .pragma("wal_autocheckpoint", checkpoint::AUTO_PAGES.to_string())
}

/// What a write transaction keeps of its own writes, so that it neither reads back what it
/// has just written nor rebuilds twice what it changed twice. Gone with the transaction.
#[derive(Debug, Default)]
pub(crate) struct TxMemo {
    /// Tickets whose search documents this transaction changed: rebuilt together just before
    /// the commit ([`WriteTx::index_at_commit`]), once each however many writes touched them.
    reindex: BTreeSet<i64>,
    /// Report figures as this transaction wrote them (`None`: the ticket has none), so the
    /// next write of the same ticket's figures needs no read (`reports::metrics`).
    pub(crate) figures: HashMap<i64, Option<crate::reports::metrics::Facts>>,
    /// The SLA policies and calendars as this transaction last loaded them (`sla::tx_rules`).
    pub(crate) sla_rules: Option<Arc<crate::sla::Rules>>,
    /// Our own addresses as this transaction read them (`Store::our_addresses`): a group of
    /// mails applied together checks each against them.
    pub(crate) our_addresses: Option<Arc<Vec<String>>>,
}

impl WriteTx {
    pub(crate) fn memo(&self) -> MutexGuard<'_, TxMemo> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a ticket whose search document must be rebuilt before this transaction commits
    /// (its subject, state, tags, contact or messages changed). A committed change is
    /// searchable, a rolled-back one never was; a ticket changed by several writes of the
    /// transaction (an email and its plugin run, a group of replies) is indexed once.
    pub(crate) fn index_at_commit(&self, ticket_id: i64) {
        self.memo().reindex.insert(ticket_id);
    }

    pub(crate) async fn commit(self) -> Result<()> {
        let reindex: Vec<i64> = std::mem::take(&mut self.memo().reindex).into_iter().collect();
        crate::search::index_tickets(&self.db, &self.tx, &reindex).await?;
        let generation = &self.db.generation;
        // Before the commit: a cache lookup from the moment the commit lands on is a miss
        // (an entry filled now still holds the old state, but carries the new number)…
        generation.fetch_add(1, Ordering::AcqRel);
        let result = self.tx.commit().await;
        // …and after it (also when it failed, to be safe): entries filled before this point
        // may hold the old state.
        generation.fetch_add(1, Ordering::AcqRel);
        result?;
        Ok(())
    }
}

/// Write statements whose results nobody reads, sent together when the batch runs. On
/// SQLite they go as one multi-statement execution: every statement is a round trip to the
/// connection's own thread (two thread wake-ups), which costs far more than running it
/// (BENCHMARKS.md, email intake). PostgreSQL runs them one after another. Statements run
/// in the order pushed; the first error stops the rest (and the caller's transaction is
/// rolled back as for any failed write).
#[derive(Debug)]
pub(crate) struct Batch {
    backend: DatabaseBackend,
    /// SQLite: the statements so far, joined with `;`, and their values in order.
    sql: String,
    values: Vec<Value>,
    /// PostgreSQL: the statements, numbered one by one.
    each: Vec<Statement>,
}

impl Batch {
    pub(crate) fn new(db: &Db) -> Batch {
        Batch { backend: db.backend(), sql: String::new(), values: Vec::new(), each: Vec::new() }
    }

    /// Adds a statement written with `?` placeholders (one per value).
    pub(crate) fn push(&mut self, sql: &str, values: Vec<Value>) {
        if self.backend == DatabaseBackend::Postgres {
            self.each.push(Statement::from_sql_and_values(self.backend, placeholders(self.backend, sql), values));
            return;
        }
        debug_assert_eq!(sql.matches('?').count(), values.len(), "one value per placeholder: {sql}");
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        self.values.extend(values);
    }

    /// Runs the statements pushed so far, in order, and leaves the batch empty for more.
    pub(crate) async fn run<C: ConnectionTrait>(&mut self, conn: &C) -> Result<()> {
        if self.backend == DatabaseBackend::Postgres {
            for stmt in std::mem::take(&mut self.each) {
                conn.execute_raw(stmt).await?;
            }
        } else if !self.sql.is_empty() {
            let (sql, values) = (std::mem::take(&mut self.sql), std::mem::take(&mut self.values));
            conn.execute_raw(Statement::from_sql_and_values(self.backend, sql, values)).await?;
        }
        Ok(())
    }
}

/// `n` placeholders: `?, ?, ?` (an `IN` list, or one row's values).
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The placeholders of a multi-row `VALUES`: `rows` tuples of `columns` each, `(?, ?), (?, ?)`.
pub(crate) fn value_rows(columns: usize, rows: usize) -> String {
    vec![format!("({})", marks(columns)); rows].join(", ")
}

/// Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL. Our SQL never has `?` in literals.
pub(crate) fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Timestamps are stored as microseconds since the Unix epoch (BIGINT) on both backends:
/// exact, compact, and ordered the same way everywhere.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

pub(crate) fn opt_from_micros(micros: Option<i64>) -> Option<DateTime<Utc>> {
    micros.map(from_micros)
}

/// Runs a query and maps rows into `T`.
pub(crate) async fn query_all<T: FromQueryResult, C: ConnectionTrait>(conn: &C, stmt: Statement) -> Result<Vec<T>> {
    Ok(T::find_by_statement(stmt).all(conn).await?)
}

pub(crate) async fn query_one<T: FromQueryResult, C: ConnectionTrait>(conn: &C, stmt: Statement) -> Result<Option<T>> {
    Ok(T::find_by_statement(stmt).one(conn).await?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let sql = "SELECT * FROM t WHERE a = ? AND b IN (?, ?)";
        assert_eq!(placeholders(DatabaseBackend::Sqlite, sql), sql);
        assert_eq!(
            placeholders(DatabaseBackend::Postgres, sql),
            "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"
        );
    }

    #[test]
    fn value_rows_make_tuples_of_marks() {
        assert_eq!(marks(3), "?, ?, ?");
        assert_eq!(value_rows(2, 3), "(?, ?), (?, ?), (?, ?)");
        assert_eq!(value_rows(1, 1), "(?)");
    }

    /// A batch's statements run in order with their own values (on SQLite, one execution
    /// binding the values across the statements), and a failing statement fails the batch.
    async fn batch_runs_in_order_and_fails_whole(backend: crate::testing::Backend) {
        let test_db = crate::testing::fresh_database(backend).await;
        let db = Db::connect(&test_db.url, 2).await.expect("connect");
        db.conn.execute_unprepared("CREATE TABLE b (k BIGINT PRIMARY KEY, v TEXT NOT NULL)").await.expect("table");
        let tx = db.write().await.expect("begin");
        let mut batch = Batch::new(&db);
        batch.push("INSERT INTO b (k, v) VALUES (?, ?), (?, ?)", vec![1i64.into(), "one".into(), 2i64.into(), "two".into()]);
        batch.push("UPDATE b SET v = ? WHERE k = ?", vec!["uno".into(), 1i64.into()]);
        batch.push("INSERT INTO b (k, v) VALUES (?, ?)", vec![3i64.into(), "three".into()]);
        batch.run(&tx.tx).await.expect("batch");
        tx.commit().await.expect("commit");
        #[derive(FromQueryResult, Debug, PartialEq)]
        struct Row {
            k: i64,
            v: String,
        }
        let all = || async { query_all::<Row, _>(&db.conn, db.stmt("SELECT k, v FROM b ORDER BY k", vec![])).await.expect("read") };
        let want = vec![Row { k: 1, v: "uno".into() }, Row { k: 2, v: "two".into() }, Row { k: 3, v: "three".into() }];
        assert_eq!(all().await, want);

        let tx = db.write().await.expect("begin");
        let mut batch = Batch::new(&db);
        batch.push("INSERT INTO b (k, v) VALUES (?, ?)", vec![4i64.into(), "four".into()]);
        batch.push("INSERT INTO b (k, v) VALUES (?, ?)", vec![1i64.into(), "duplicate key".into()]);
        batch.push("INSERT INTO b (k, v) VALUES (?, ?)", vec![5i64.into(), "five".into()]);
        assert!(batch.run(&tx.tx).await.is_err(), "the duplicate key fails the batch");
        drop(tx);
        assert_eq!(all().await, want, "the failed batch's transaction wrote nothing");
    }

    crate::backend_tests!(batch_runs_in_order_and_fails_whole);

    /// SQLite's writer slot: a foreground write that waits goes before a background write that
    /// queued first; a foreground wait given up does not hold the background ones back; and
    /// both kinds commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn foreground_writes_go_before_queued_background_ones() {
        let test_db = crate::testing::fresh_database(crate::testing::Backend::Sqlite).await;
        let db = Db::connect(&test_db.url, 2).await.expect("connect");
        db.conn.execute_unprepared("CREATE TABLE o (id INTEGER PRIMARY KEY, who TEXT NOT NULL)").await.expect("table");
        let writes = db.clone();
        let insert = move |tx: WriteTx, who: &'static str| {
            let db = writes.clone();
            async move {
                tx.tx.execute_raw(db.stmt("INSERT INTO o (who) VALUES (?)", vec![who.into()])).await.expect("insert");
                tx.commit().await.expect("commit");
            }
        };
        let running = db.write_background().await.expect("the running one");
        let queued_background = tokio::spawn({
            let (db, insert) = (db.clone(), insert.clone());
            async move { insert(db.write_background().await.expect("background"), "background").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A foreground wait given up (a request cancelled) leaves nothing behind.
        assert!(tokio::time::timeout(Duration::from_millis(20), db.write()).await.is_err(), "the slot is taken");
        assert!(!db.foreground_waiting());
        let foreground = tokio::spawn({
            let (db, insert) = (db.clone(), insert.clone());
            async move { insert(db.write().await.expect("foreground"), "foreground").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(db.foreground_waiting(), "what a group of mails or plugin runs looks at to end early");
        insert(running, "running").await;
        foreground.await.expect("foreground task");
        queued_background.await.expect("background task");
        let order: Vec<String> = query_all::<WhoRow, _>(&db.conn, db.stmt("SELECT who FROM o ORDER BY id", vec![]))
            .await
            .expect("read")
            .into_iter()
            .map(|r| r.who)
            .collect();
        assert_eq!(order, ["running", "foreground", "background"]);
        assert!(!db.foreground_waiting());
    }

    #[derive(FromQueryResult)]
    struct WhoRow {
        who: String,
    }

    /// On SQLite writes go through a connection of their own whose thread is pinned to one
    /// CPU (when the process may use more than one), and a transaction run through
    /// `on_writer_cpu` runs on that CPU and commits for every reader; on PostgreSQL writes use
    /// the pool and nothing is pinned.
    async fn writes_run_beside_the_pinned_writer_connection(backend: crate::testing::Backend) {
        let test_db = crate::testing::fresh_database(backend).await;
        let db = Db::connect(&test_db.url, 2).await.expect("connect");
        db.conn.execute_unprepared("CREATE TABLE w (k BIGINT PRIMARY KEY)").await.expect("table");
        let ran_on = db
            .on_writer_cpu(async {
                let tx = db.write().await.expect("begin");
                tx.tx.execute_unprepared("INSERT INTO w (k) VALUES (1), (2)").await.expect("insert");
                let cpu = rustix::thread::sched_getcpu();
                tx.commit().await.expect("commit");
                cpu
            })
            .await;
        let rows: Vec<crate::rows::IdRow> = query_all(&db.conn, db.stmt("SELECT k AS id FROM w ORDER BY k", vec![])).await.expect("read");
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2], "committed, seen from the pool");
        match (backend, writer_cpu::choose()) {
            (crate::testing::Backend::Postgres, _) => assert!(db.writer.is_none() && db.writer_cpu.is_none()),
            (crate::testing::Backend::Sqlite, None) => assert!(db.writer.is_some(), "one CPU: a writer connection, not pinned"),
            (crate::testing::Backend::Sqlite, Some(cpu)) => {
                assert_eq!(db.writer_cpu, Some(cpu));
                assert_eq!(ran_on, cpu, "the transaction ran on the writer's CPU");
                let pinned = std::fs::read_dir("/proc/self/task").expect("tasks").flatten().any(|task| {
                    let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                    let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
                    comm.starts_with("tandem-w") && status.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Cpus_allowed_list:", cpu.to_string().as_str()])
                });
                assert!(pinned, "a writer connection's thread is pinned to CPU {cpu}");
            }
        }
    }

    crate::backend_tests!(writes_run_beside_the_pinned_writer_connection);

    #[test]
    fn micros_round_trip() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).single().expect("valid") + chrono::Duration::microseconds(7);
        assert_eq!(from_micros(to_micros(at)), at);
    }
}
