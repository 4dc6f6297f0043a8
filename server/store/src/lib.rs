//! Tandem's storage: one [`Store`] over SQLite (embedded default) or PostgreSQL (scale-out).
//!
//! Every operation takes the acting user ([`Actor`]), asks `tandem_domain::policy` whether it
//! is allowed, applies the domain's rules and writes the result — state, audit events and
//! search-relevant rows — in one transaction. Callers above (HTTP, mail intake, CLI) never
//! see SQL.
//!
//! Architecture invariant: a ticket the actor may not see is "not found", never "forbidden".

mod attachments;
mod auth;
pub mod automation;
mod blob;
mod blob_sweep;
mod checkpoint;
mod contacts;
mod csat;
mod db;
mod directory;
mod error;
mod events;
mod live;
pub mod mail;
mod migration;
mod notifications;
mod presence;
mod reports;
pub mod plugins;
mod rows;
mod search;
pub mod seed;
mod sla;
mod templates;
mod timers;
#[cfg(feature = "testing")]
pub mod testing;
mod tickets;
mod views;
mod writer_cpu;

use std::{path::Path, sync::Arc};

use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use tandem_domain::{Actor, Clock};

pub use attachments::{MAX_ATTACHMENT_BYTES, safe_filename};
pub use auth::{NewSession, SESSION_TTL_DAYS};
pub use blob::BlobStore;
pub use blob_sweep::BlobSweep;
pub use db::{Db, from_micros, to_micros};
pub use error::{Result, StoreError};
pub use directory::Group;
pub use events::EventFilter;
pub use live::{LiveEventPage, LiveTicketEvent};
pub use presence::SharedViewer;
pub use search::RANK_WINDOW;
pub use tickets::{AssigneeFilter, BulkOutcome, TicketFilter};
pub use timers::TimerReport;

/// Who acts in an operation: a signed-in user, or the system itself (CLI, demo seeding).
pub type ActorRef<'a> = &'a Actor;

/// The storage service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    blobs: BlobStore,
    clock: Arc<dyn Clock>,
    /// Where customers reach this deployment (satisfaction links).
    public_url: Arc<str>,
    /// Signs satisfaction links; the secret is read from the database on first use.
    csat: Arc<std::sync::OnceLock<tandem_domain::csat::Signer>>,
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn open(database_url: &str, data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Store> {
        let max_connections = if database_url.starts_with("sqlite:") { 8 } else { 16 };
        let db = Db::connect(database_url, max_connections).await?;
        migration::Migrator::up(db.connection(), None).await?;
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        let store = Store { db, blobs, clock, public_url: Arc::from("http://127.0.0.1:8080"), csat: Arc::default() };
        store.ensure_search_index().await?;
        store.ensure_ticket_metrics().await?;
        Ok(store)
    }

    /// Applies pending migrations without opening the blob store (`tandem migrate`).
    pub async fn migrate(database_url: &str) -> Result<Vec<String>> {
        let db = Db::connect(database_url, 1).await?;
        let pending = migration::Migrator::get_pending_migrations(db.connection()).await?;
        let names = pending.iter().map(|m| m.name().to_owned()).collect();
        migration::Migrator::up(db.connection(), None).await?;
        Ok(names)
    }

    /// Sets the address customers reach this deployment at (`http://127.0.0.1:8080` by default).
    pub fn with_public_url(mut self, url: &str) -> Store {
        self.public_url = Arc::from(url.trim_end_matches('/'));
        self
    }

    /// Where customers and agents reach this deployment (links in mail).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Checks the database answers (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        self.db.connection().execute_unprepared("SELECT 1").await?;
        Ok(())
    }

    /// Changes whenever this process commits a write transaction: read caches remember it
    /// and are stale once it moved (see `Db`'s `generation`).
    pub fn write_generation(&self) -> u64 {
        self.db.generation()
    }

    /// Pool figures for metrics: (connections open, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        pool_state(self.db.connection())
    }
}

fn pool_state(conn: &sea_orm::DatabaseConnection) -> (u32, u32) {
    match conn.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = conn.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        sea_orm::DatabaseBackend::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        _ => (0, 0),
    }
}
