//! The messages each contact wrote, by contact: threading a reply that has no threading
//! headers looks for the tickets its sender takes part in (their own, or one they wrote on),
//! which without this index meant walking every open ticket of the inbox.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE INDEX messages_contact_author ON messages(author_id, ticket_id) WHERE author_kind = 'contact'";

const DOWN: &str = "DROP INDEX messages_contact_author";

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
