//! What the live channel (`tandem-api`'s `live` module) reads: the audit trail after a given
//! event id. The `events` table is the single source of truth of "what changed", so the live
//! feed works the same when several processes share one PostgreSQL.
//!
//! These methods are **internal**: they take no actor and check no policy. The caller (the
//! feed's tail task) filters each event per connection with `tandem_domain::policy` before
//! anything reaches a client.

use sea_orm::FromQueryResult;

use crate::{
    Store,
    db::{query_all, query_one},
    error::Result,
};

/// One audit event of a ticket, as the live feed broadcasts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTicketEvent {
    pub event_id: i64,
    pub number: i64,
    /// The ticket's inbox now (when the page was read).
    pub inbox_id: i64,
    /// For a move to another inbox (`ticket.updated` of `inbox_id`): the inbox it left, whose
    /// members should hear that the ticket is gone from their lists.
    pub previous_inbox_id: Option<i64>,
    /// e.g. `message.added`, `ticket.updated`.
    pub kind: String,
}

/// A page of the audit trail after some id, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveEventPage {
    /// The events of tickets.
    pub events: Vec<LiveTicketEvent>,
    /// Every event id read, ascending, including events of no ticket (`user.created`, …): the
    /// feed tells a hole in the ids (on PostgreSQL, a transaction that has not committed yet)
    /// from an event it has no use for. `ids.len()` is what `limit` counted.
    pub ids: Vec<i64>,
}

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    kind: String,
    field: Option<String>,
    before_json: String,
    number: Option<i64>,
    inbox_id: Option<i64>,
}

#[derive(FromQueryResult)]
struct MaxId {
    id: i64,
}

impl Store {
    /// Internal, no policy check (see the module): up to `limit` audit events with an id above
    /// `after_id`, oldest first, with their ticket's number and inbox.
    pub async fn ticket_events_after(&self, after_id: i64, limit: u32) -> Result<LiveEventPage> {
        let sql = format!(
            "SELECT e.id, e.kind, e.field, e.before_json, t.number, t.inbox_id FROM events e \
             LEFT JOIN tickets t ON t.id = e.ticket_id WHERE e.id > ? ORDER BY e.id LIMIT {}",
            limit.max(1)
        );
        let rows: Vec<Row> = query_all(self.db.connection(), self.db.stmt(&sql, vec![after_id.into()])).await?;
        let mut page = LiveEventPage { events: Vec::new(), ids: Vec::with_capacity(rows.len()) };
        for row in rows {
            page.ids.push(row.id);
            let (Some(number), Some(inbox_id)) = (row.number, row.inbox_id) else { continue };
            let previous_inbox_id = if row.kind == "ticket.updated" && row.field.as_deref() == Some("inbox_id") {
                serde_json::from_str::<i64>(&row.before_json).ok().filter(|before| *before != inbox_id)
            } else {
                None
            };
            page.events.push(LiveTicketEvent { event_id: row.id, number, inbox_id, previous_inbox_id, kind: row.kind });
        }
        Ok(page)
    }

    /// Internal, no policy check: the id of the newest audit event (0 when there is none yet).
    pub async fn last_event_id(&self) -> Result<i64> {
        let row: Option<MaxId> =
            query_one(self.db.connection(), self.db.stmt("SELECT COALESCE(MAX(id), 0) AS id FROM events", vec![])).await?;
        Ok(row.map_or(0, |r| r.id))
    }
}
