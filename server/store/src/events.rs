//! The append-only audit trail. Rows are only ever inserted; nothing updates or deletes them.

use sea_orm::{ConnectionTrait, Value};
use serde_json::Value as Json;
use tandem_domain::{Actor, policy::{self, Action}, ticket::Change};
use tandem_proto::{self as proto, ActorKind};

use crate::{
    Store,
    db::{Batch, Db, query_all, to_micros},
    error::Result,
    rows::{EVENT_SELECT, EventRow, json},
};

/// Who an event or message is attributed to.
#[derive(Debug, Clone)]
pub(crate) struct Who {
    pub kind: ActorKind,
    pub id: Option<i64>,
    pub name: String,
}

impl Who {
    pub fn user(actor: &Actor) -> Who {
        Who { kind: ActorKind::User, id: Some(actor.user_id), name: actor.display_name.clone() }
    }

    pub fn system() -> Who {
        Who { kind: ActorKind::System, id: None, name: "Tandem".to_owned() }
    }
}

/// One event to insert.
pub(crate) struct NewEvent<'a> {
    pub ticket_id: Option<i64>,
    pub kind: &'a str,
    pub field: Option<&'a str>,
    pub before: Json,
    pub after: Json,
}

pub(crate) async fn record<C: ConnectionTrait>(db: &Db, conn: &C, who: &Who, at: i64, event: NewEvent<'_>) -> Result<()> {
    insert_events(db, conn, who, at, std::slice::from_ref(&event)).await
}

/// Records one `ticket.updated` event per changed field, in one statement (their ids follow
/// the order of `changes`).
pub(crate) async fn record_changes<C: ConnectionTrait>(
    db: &Db,
    conn: &C,
    who: &Who,
    at: i64,
    ticket_id: i64,
    changes: &[Change],
) -> Result<()> {
    insert_events(db, conn, who, at, &change_events(ticket_id, changes)).await
}

/// One `ticket.updated` event per changed field.
pub(crate) fn change_events(ticket_id: i64, changes: &[Change]) -> Vec<NewEvent<'static>> {
    changes
        .iter()
        .map(|change| NewEvent {
            ticket_id: Some(ticket_id),
            kind: "ticket.updated",
            field: Some(change.field),
            before: change.before.clone(),
            after: change.after.clone(),
        })
        .collect()
}

/// Inserts events by one actor at one time with one statement, ids in the given order.
pub(crate) async fn insert_events<C: ConnectionTrait>(db: &Db, conn: &C, who: &Who, at: i64, events: &[NewEvent<'_>]) -> Result<()> {
    let mut batch = Batch::new(db);
    push_events(&mut batch, who, at, events);
    batch.run(conn).await
}

/// [`insert_events`] as one statement of a batch, which the caller runs.
pub(crate) fn push_events(batch: &mut Batch, who: &Who, at: i64, events: &[NewEvent<'_>]) {
    if events.is_empty() {
        return;
    }
    let mut values = Vec::with_capacity(events.len() * 9);
    for event in events {
        values.extend([
            event.ticket_id.into(),
            who.kind.as_str().into(),
            who.id.into(),
            who.name.clone().into(),
            event.kind.into(),
            event.field.map(str::to_owned).into(),
            json(&event.before).into(),
            json(&event.after).into(),
            at.into(),
        ]);
    }
    let marks = crate::db::value_rows(9, events.len());
    batch.push(
        &format!("INSERT INTO events (ticket_id, actor_kind, actor_id, actor_name, kind, field, before_json, after_json, created_at) VALUES {marks}"),
        values,
    );
}

/// Filters of the global audit log.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub ticket_number: Option<i64>,
    pub kind: Option<String>,
    pub actor_id: Option<i64>,
    /// Events with an id below this (the cursor), newest first.
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl Store {
    /// The global audit trail, newest first (admins).
    pub async fn list_events(&self, actor: &Actor, filter: EventFilter) -> Result<proto::Page<proto::Event>> {
        policy::authorize(actor, Action::ViewAudit)?;
        let mut sql = format!("{EVENT_SELECT} WHERE 1 = 1");
        let mut values: Vec<Value> = Vec::new();
        if let Some(number) = filter.ticket_number {
            sql.push_str(" AND t.number = ?");
            values.push(number.into());
        }
        if let Some(kind) = filter.kind {
            sql.push_str(" AND e.kind = ?");
            values.push(kind.into());
        }
        if let Some(actor_id) = filter.actor_id {
            sql.push_str(" AND e.actor_kind = 'user' AND e.actor_id = ?");
            values.push(actor_id.into());
        }
        if let Some(before) = filter.before_id {
            sql.push_str(" AND e.id < ?");
            values.push(before.into());
        }
        let limit = filter.limit.clamp(1, 500);
        sql.push_str(&format!(" ORDER BY e.id DESC LIMIT {}", limit + 1));
        let mut rows: Vec<EventRow> = query_all(self.db.connection(), self.db.stmt(&sql, values)).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        let items = rows.into_iter().map(EventRow::into_proto).collect::<Result<Vec<_>>>()?;
        Ok(proto::Page { items, next_cursor })
    }

    /// The current time in storage form.
    pub(crate) fn now_micros(&self) -> i64 {
        to_micros(self.clock.now())
    }
}
