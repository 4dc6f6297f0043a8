//! A customer message the plugin pipeline has yet to run on: set with the message by the mail
//! intake, cleared by the transaction that writes the run. After a crash between the two,
//! the intake's recovery runs the pipeline on what is still marked.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = "ALTER TABLE messages ADD COLUMN pipeline_pending {bool} NOT NULL DEFAULT FALSE;
CREATE INDEX messages_pipeline_pending ON messages(id) WHERE pipeline_pending";

const DOWN: &str = "DROP INDEX messages_pipeline_pending; ALTER TABLE messages DROP COLUMN pipeline_pending";

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
