//! Each agent's open-ticket load (the routers' input, counted for every new customer message)
//! read from an index alone: without it the count looked up every ticket the agent ever held,
//! so intake slowed down as the desk's history grew.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE INDEX tickets_assignee_status ON tickets(assignee_id, status)";

const DOWN: &str = "DROP INDEX tickets_assignee_status";

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
