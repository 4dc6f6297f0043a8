//! Customer satisfaction: the per-inbox switch, one rating per ticket (changed in place by
//! the same link until it expires), and the deployment's secrets (the link-signing key,
//! created on first use).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE inboxes ADD COLUMN csat_enabled {bool} NOT NULL DEFAULT FALSE;
CREATE TABLE csat_ratings (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    rating TEXT NOT NULL,
    comment TEXT,
    rated_at BIGINT NOT NULL
);
CREATE INDEX csat_ratings_rated ON csat_ratings(rated_at);
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"#;

const DOWN: &str = "DROP TABLE secrets; DROP TABLE csat_ratings; ALTER TABLE inboxes DROP COLUMN csat_enabled";

#[allow(elided_lifetimes_in_paths)] // the trait is declared this way
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, DOWN).await
    }
}
