//! Saved views shared with everyone: a supervisor's or admin's view shown in every sidebar
//! (each user still sees only the tickets they may see through it).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = "ALTER TABLE saved_views ADD COLUMN shared {bool} NOT NULL DEFAULT FALSE;
CREATE INDEX saved_views_shared ON saved_views(shared)";

const DOWN: &str = "DROP INDEX saved_views_shared; ALTER TABLE saved_views DROP COLUMN shared";

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
