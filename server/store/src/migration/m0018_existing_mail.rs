//! Which of the mail already in an IMAP folder is imported when the folder is first read:
//! all of it (what every inbox did before), the last few days' or none.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = "ALTER TABLE inbox_channels ADD COLUMN imap_existing_mail TEXT NOT NULL DEFAULT 'all';
ALTER TABLE inbox_channels ADD COLUMN imap_recent_days BIGINT NOT NULL DEFAULT 14";

const DOWN: &str = "ALTER TABLE inbox_channels DROP COLUMN imap_recent_days; ALTER TABLE inbox_channels DROP COLUMN imap_existing_mail";

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
