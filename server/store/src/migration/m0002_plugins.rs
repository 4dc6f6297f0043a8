//! Plugins and what the pipeline needs: the plugin registry with every uploaded version
//! (components are blobs), message headers for plugins, and when a contact last got an
//! automatic reply.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE messages ADD COLUMN headers_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE contacts ADD COLUMN last_auto_reply_at BIGINT;
CREATE TABLE plugins (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    world TEXT NOT NULL,
    enabled {bool} NOT NULL,
    position BIGINT NOT NULL,
    inbox_ids TEXT NOT NULL DEFAULT '[]',
    config TEXT NOT NULL DEFAULT '{}',
    memory_mib BIGINT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    max_consecutive_failures BIGINT NOT NULL,
    bundled {bool} NOT NULL,
    active_version_id BIGINT,
    calls BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    last_failure_kind TEXT,
    last_failure_message TEXT,
    last_failure_at BIGINT,
    auto_disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE plugin_versions (
    id {pk},
    plugin_id BIGINT NOT NULL REFERENCES plugins(id),
    number BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size BIGINT NOT NULL,
    wit_version TEXT NOT NULL,
    uploaded_by TEXT,
    uploaded_at BIGINT NOT NULL,
    UNIQUE (plugin_id, number)
)
"#;

const DOWN: &str = r#"
DROP TABLE plugin_versions; DROP TABLE plugins;
ALTER TABLE contacts DROP COLUMN last_auto_reply_at;
ALTER TABLE messages DROP COLUMN headers_json
"#;

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
