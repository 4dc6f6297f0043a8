//! Presence shared between server processes on one database: each process (a "node") that
//! serves live sockets registers itself and keeps a heartbeat; each of its connections that
//! views a ticket has a row. Rows of a node whose heartbeat stopped (a crash) are ignored and
//! later deleted with the node.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = "
CREATE TABLE live_nodes (
    id {pk},
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE TABLE live_presence (
    node_id BIGINT NOT NULL REFERENCES live_nodes(id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    ticket_number BIGINT NOT NULL,
    typing {bool} NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (node_id, connection_id)
);
CREATE INDEX live_presence_ticket ON live_presence(ticket_number)";

const DOWN: &str = "DROP TABLE live_presence; DROP TABLE live_nodes";

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
