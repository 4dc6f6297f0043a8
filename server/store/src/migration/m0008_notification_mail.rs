//! Notifications by email: SLA alerts are also mailed to the people they notify, through the
//! ticket's inbox's SMTP server, with retries like the outbox.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE notifications ADD COLUMN email_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE notifications ADD COLUMN email_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN email_next_at BIGINT;
ALTER TABLE notifications ADD COLUMN email_error TEXT;
CREATE INDEX notifications_email ON notifications(email_next_at) WHERE email_state = 'queued'
"#;

const DOWN: &str = "DROP INDEX notifications_email; ALTER TABLE notifications DROP COLUMN email_error; \
    ALTER TABLE notifications DROP COLUMN email_next_at; ALTER TABLE notifications DROP COLUMN email_attempts; \
    ALTER TABLE notifications DROP COLUMN email_state";

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
