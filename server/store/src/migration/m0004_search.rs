//! Full-text search: one index document per ticket (see `crate::search`).
//!
//! The columns hold text already folded and stemmed by `tandem_domain::search::text`, so the
//! engines only split on spaces: SQLite FTS5 (embedded) and a GIN-indexed `tsvector`
//! (PostgreSQL) see the same terms. `facets` holds filter tokens (`zzstatusopen`,
//! `zzinbox3`, …) that let a filter narrow the match inside the index. The counter
//! PostgreSQL keeps text (`document`, weights: A subject and tags, B people, C message text,
//! D stems) and facets (`facet_terms`) in two vectors with a GIN index each. The counter
//! `search_index_version` (0 here) makes `Store::open` fill the index for existing tickets.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &str = r#"
CREATE VIRTUAL TABLE search_index USING fts5(
    subject, body, people, tags, stems, facets,
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO counters (name, value) VALUES ('search_index_version', 0)
"#;

const POSTGRES_UP: &str = r#"
CREATE TABLE search_index (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    people TEXT NOT NULL,
    tags TEXT NOT NULL,
    stems TEXT NOT NULL,
    facets TEXT NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', subject), 'A') ||
        setweight(to_tsvector('simple', tags), 'A') ||
        setweight(to_tsvector('simple', people), 'B') ||
        setweight(to_tsvector('simple', body), 'C') ||
        setweight(to_tsvector('simple', stems), 'D')
    ) STORED,
    facet_terms tsvector GENERATED ALWAYS AS (to_tsvector('simple', facets)) STORED
);
CREATE INDEX search_index_document ON search_index USING GIN (document);
CREATE INDEX search_index_facets ON search_index USING GIN (facet_terms);
INSERT INTO counters (name, value) VALUES ('search_index_version', 0)
"#;

const DOWN: &str = "DROP TABLE search_index; DELETE FROM counters WHERE name = 'search_index_version'";

#[allow(elided_lifetimes_in_paths)] // the trait is declared this way
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let script = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        super::run_ddl(manager, script).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, DOWN).await
    }
}
