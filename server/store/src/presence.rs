//! Presence shared between server processes on one database (several `tandem serve` on one
//! PostgreSQL behind a load balancer): who views and who types on which ticket.
//!
//! Each process serving live sockets registers as a *node* and beats its heartbeat; each of
//! its connections viewing a ticket is a row. A process reads the rows of the *other* nodes
//! for the tickets its own sockets view; rows of a node whose heartbeat is older than the
//! caller's limit (a crashed process) are not answered, and such nodes are pruned later.
//!
//! These writes are bookkeeping, not ticket data: single autocommit statements that do not
//! move the write generation (read caches stay valid). Like `live.rs`, these methods are
//! **internal**: no actor, no policy. The live hub only asks for tickets its own sockets were
//! allowed to view, and shows viewers to those sockets only.

use chrono::{DateTime, Utc};
use sea_orm::FromQueryResult;

use crate::{
    Store,
    db::{from_micros, marks, query_all, query_one, to_micros},
    error::Result,
    rows::IdRow,
};

/// One connection viewing a ticket, as another process sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedViewer {
    /// Unique across processes (the live hub puts its node id in the high bits).
    pub connection_id: u64,
    pub user_id: i64,
    pub display_name: String,
    /// The ticket viewed.
    pub number: i64,
    pub typing: bool,
    pub since: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct ViewerRow {
    connection_id: i64,
    user_id: i64,
    display_name: String,
    ticket_number: i64,
    typing: bool,
    since: i64,
}

/// Tickets per query of [`Store::live_viewers_elsewhere`].
const NUMBERS_PER_QUERY: usize = 500;

impl Store {
    /// Registers this process as a live node; answers its id (never reused).
    pub async fn register_live_node(&self) -> Result<i64> {
        let now = self.now_micros();
        let row: Option<IdRow> = query_one(
            self.db.connection(),
            self.db.stmt("INSERT INTO live_nodes (started_at, seen_at) VALUES (?, ?) RETURNING id", vec![now.into(), now.into()]),
        )
        .await?;
        row.map(|r| r.id).ok_or(crate::StoreError::NotFound("live node"))
    }

    /// The node's heartbeat. `false` when the node was no longer registered (another process
    /// pruned it after a long pause, with its rows): it is registered again under the same
    /// id, and the caller must publish its viewers again.
    pub async fn beat_live_node(&self, node: i64) -> Result<bool> {
        let now = self.now_micros();
        let updated = self.db.execute_untracked(self.db.stmt("UPDATE live_nodes SET seen_at = ? WHERE id = ?", vec![now.into(), node.into()])).await?;
        if updated > 0 {
            return Ok(true);
        }
        self.db
            .execute_untracked(self.db.stmt(
                "INSERT INTO live_nodes (id, started_at, seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                vec![node.into(), now.into(), now.into()],
            ))
            .await?;
        Ok(false)
    }

    /// The node stops (a clean shutdown): its viewers and the node are gone at once.
    pub async fn leave_live_node(&self, node: i64) -> Result<()> {
        self.db.execute_untracked(self.db.stmt("DELETE FROM live_presence WHERE node_id = ?", vec![node.into()])).await?;
        self.db.execute_untracked(self.db.stmt("DELETE FROM live_nodes WHERE id = ?", vec![node.into()])).await?;
        Ok(())
    }

    /// Deletes the nodes (and their viewers) whose heartbeat is older than `seen_before`.
    pub async fn prune_live_nodes(&self, seen_before: DateTime<Utc>) -> Result<u64> {
        let before = to_micros(seen_before);
        self.db
            .execute_untracked(self.db.stmt(
                "DELETE FROM live_presence WHERE node_id IN (SELECT id FROM live_nodes WHERE seen_at < ?)",
                vec![before.into()],
            ))
            .await?;
        self.db.execute_untracked(self.db.stmt("DELETE FROM live_nodes WHERE seen_at < ?", vec![before.into()])).await
    }

    /// Publishes what one of the node's connections views (insert or replace).
    pub async fn put_live_viewer(&self, node: i64, viewer: &SharedViewer) -> Result<()> {
        let connection = i64::try_from(viewer.connection_id).unwrap_or(i64::MAX);
        self.db
            .execute_untracked(self.db.stmt(
                "INSERT INTO live_presence (node_id, connection_id, user_id, display_name, ticket_number, typing, since) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, connection_id) DO UPDATE SET user_id = excluded.user_id, \
                 display_name = excluded.display_name, ticket_number = excluded.ticket_number, typing = excluded.typing, since = excluded.since",
                vec![
                    node.into(),
                    connection.into(),
                    viewer.user_id.into(),
                    viewer.display_name.clone().into(),
                    viewer.number.into(),
                    viewer.typing.into(),
                    to_micros(viewer.since).into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// One of the node's connections views nothing any more (or is gone).
    pub async fn remove_live_viewer(&self, node: i64, connection_id: u64) -> Result<()> {
        let connection = i64::try_from(connection_id).unwrap_or(i64::MAX);
        self.db
            .execute_untracked(self.db.stmt("DELETE FROM live_presence WHERE node_id = ? AND connection_id = ?", vec![node.into(), connection.into()]))
            .await?;
        Ok(())
    }

    /// The viewers of `numbers` connected to *other* nodes whose heartbeat is not older than
    /// `seen_since`, ordered by ticket, then since when they view it.
    pub async fn live_viewers_elsewhere(&self, node: i64, numbers: &[i64], seen_since: DateTime<Utc>) -> Result<Vec<SharedViewer>> {
        let mut viewers = Vec::new();
        for chunk in numbers.chunks(NUMBERS_PER_QUERY) {
            let sql = format!(
                "SELECT p.connection_id, p.user_id, p.display_name, p.ticket_number, p.typing, p.since FROM live_presence p \
                 JOIN live_nodes n ON n.id = p.node_id WHERE p.node_id <> ? AND n.seen_at >= ? AND p.ticket_number IN ({}) \
                 ORDER BY p.ticket_number, p.since, p.connection_id",
                marks(chunk.len())
            );
            let mut values = vec![node.into(), to_micros(seen_since).into()];
            values.extend(chunk.iter().map(|n| (*n).into()));
            let rows: Vec<ViewerRow> = query_all(self.db.connection(), self.db.stmt(&sql, values)).await?;
            viewers.extend(rows.into_iter().map(|r| SharedViewer {
                connection_id: u64::try_from(r.connection_id).unwrap_or_default(),
                user_id: r.user_id,
                display_name: r.display_name,
                number: r.ticket_number,
                typing: r.typing,
                since: from_micros(r.since),
            }));
        }
        Ok(viewers)
    }
}
