//! Tickets: listing, reading, and (in the submodules) every change to them.

mod bulk;
mod copies;
mod counts;
mod merge;
pub(crate) mod write;

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, Value};
use tandem_domain::{Actor, guard::Seen, policy::{self, Action}};
use tandem_proto::{self as proto, Priority, TicketSort, TicketStatus};

pub use bulk::BulkOutcome;

use crate::{
    Store,
    contacts::visible_clause,
    db::{Db, from_micros, query_all, query_one},
    error::{Result, StoreError},
    rows::{ATTACHMENT_SELECT, AttachmentRow, EVENT_SELECT, EventRow, MESSAGE_SELECT, MessageRow, TICKET_SELECT, TicketRow},
};

/// Who a ticket list is filtered to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AssigneeFilter {
    #[default]
    Any,
    /// Unassigned tickets.
    Nobody,
    User(i64),
}

/// Filters of the ticket list; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee: AssigneeFilter,
    pub tag: Option<String>,
    pub priorities: Vec<Priority>,
    pub contact_id: Option<i64>,
    /// `Some(true)`: only tickets snoozed until a time still ahead; `Some(false)`: only the
    /// others (never snoozed, or the snooze has passed).
    pub snoozed: Option<bool>,
    /// Breached or at-risk tickets only.
    pub sla: Option<proto::SlaView>,
    pub sort: Option<TicketSort>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// A position in a sorted list: the sort key and the id of the last row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    key: i64,
    id: i64,
}

impl Cursor {
    fn encode(self) -> String {
        format!("{}.{}", self.key, self.id)
    }

    fn decode(raw: &str) -> Result<Cursor> {
        let bad = || StoreError::validation("cursor", "this cursor was not issued by this list");
        let (key, id) = raw.split_once('.').ok_or_else(bad)?;
        Ok(Cursor { key: key.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
    }
}

/// Column and direction of each sort order.
fn sort_spec(sort: TicketSort) -> (&'static str, bool) {
    match sort {
        TicketSort::UpdatedDesc => ("t.updated_at", true),
        TicketSort::UpdatedAsc => ("t.updated_at", false),
        TicketSort::CreatedDesc => ("t.created_at", true),
        TicketSort::CreatedAsc => ("t.created_at", false),
        TicketSort::NumberDesc => ("t.number", true),
        TicketSort::NumberAsc => ("t.number", false),
    }
}

fn sort_key(row: &TicketRow, sort: TicketSort) -> i64 {
    match sort {
        TicketSort::UpdatedDesc | TicketSort::UpdatedAsc => row.updated_at,
        TicketSort::CreatedDesc | TicketSort::CreatedAsc => row.created_at,
        TicketSort::NumberDesc | TicketSort::NumberAsc => row.number,
    }
}

fn in_list(column: &str, values: &[&'static str], params: &mut Vec<Value>) -> String {
    let marks = crate::db::marks(values.len());
    params.extend(values.iter().map(|v| Value::from(*v)));
    format!(" AND {column} IN ({marks})")
}

impl Store {
    /// One page of tickets the actor can see.
    pub async fn list_tickets(&self, actor: &Actor, filter: TicketFilter) -> Result<proto::Page<proto::Ticket>> {
        let sort = filter.sort.unwrap_or(TicketSort::UpdatedDesc);
        let (column, descending) = sort_spec(sort);
        let mut sql = format!("{TICKET_SELECT} WHERE 1 = 1{}", visible_clause(actor, "t"));
        let mut params: Vec<Value> = Vec::new();
        if !filter.statuses.is_empty() {
            let names: Vec<_> = filter.statuses.iter().map(|s| s.as_str()).collect();
            sql.push_str(&in_list("t.status", &names, &mut params));
        }
        if !filter.priorities.is_empty() {
            let names: Vec<_> = filter.priorities.iter().map(|p| p.as_str()).collect();
            sql.push_str(&in_list("t.priority", &names, &mut params));
        }
        if let Some(inbox) = filter.inbox_id {
            sql.push_str(" AND t.inbox_id = ?");
            params.push(inbox.into());
        }
        if let Some(team) = filter.team_id {
            sql.push_str(" AND t.team_id = ?");
            params.push(team.into());
        }
        match filter.assignee {
            AssigneeFilter::Any => {}
            AssigneeFilter::Nobody => sql.push_str(" AND t.assignee_id IS NULL"),
            AssigneeFilter::User(id) => {
                sql.push_str(" AND t.assignee_id = ?");
                params.push(id.into());
            }
        }
        if let Some(contact) = filter.contact_id {
            sql.push_str(" AND t.contact_id = ?");
            params.push(contact.into());
        }
        match filter.snoozed {
            None => {}
            Some(true) => {
                sql.push_str(" AND t.snoozed_until > ?");
                params.push(self.now_micros().into());
            }
            Some(false) => {
                sql.push_str(" AND (t.snoozed_until IS NULL OR t.snoozed_until <= ?)");
                params.push(self.now_micros().into());
            }
        }
        match filter.sla {
            None => {}
            Some(proto::SlaView::Breached) => {
                sql.push_str(" AND t.sla_due_at <= ?");
                params.push(self.now_micros().into());
            }
            Some(proto::SlaView::AtRisk) => {
                sql.push_str(" AND t.sla_due_at > ? AND t.sla_warn_at <= ?");
                params.push(self.now_micros().into());
                params.push(self.now_micros().into());
            }
        }
        if let Some(tag) = &filter.tag {
            let tag = tandem_domain::validate::tag(tag)?;
            sql.push_str(" AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ?)");
            params.push(tag.into());
        }
        if let Some(raw) = &filter.cursor {
            let cursor = Cursor::decode(raw)?;
            let op = if descending { "<" } else { ">" };
            sql.push_str(&format!(" AND ({column} {op} ? OR ({column} = ? AND t.id {op} ?))"));
            params.extend([cursor.key.into(), cursor.key.into(), cursor.id.into()]);
        }
        let direction = if descending { "DESC" } else { "ASC" };
        let limit = if filter.limit == 0 { 50 } else { filter.limit.min(200) };
        sql.push_str(&format!(" ORDER BY {column} {direction}, t.id {direction} LIMIT {}", limit + 1));
        let mut rows: Vec<TicketRow> = query_all(self.db.connection(), self.db.stmt(&sql, params)).await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| Cursor { key: sort_key(r, sort), id: r.id }.encode())
        } else {
            None
        };
        let now = self.now_micros();
        let items = rows.into_iter().map(|r| r.into_proto(now)).collect::<Result<Vec<_>>>()?;
        Ok(proto::Page { items, next_cursor })
    }

    /// A ticket with its conversation and timeline.
    pub async fn get_ticket(&self, actor: &Actor, number: i64) -> Result<proto::TicketDetail> {
        let conn = self.db.connection();
        let row = load_ticket(&self.db, conn, number, false).await?;
        authorize_ticket(actor, &row, Action::ViewTicket { inbox_id: row.inbox_id })?;
        let id = row.id;
        let messages = messages_of(&self.db, conn, row.id, None).await?;
        let reply_cc = copies::default_cc(&self.db, conn, &messages, &row.contact_email).await?;
        let events: Vec<EventRow> =
            query_all(conn, self.db.stmt(&format!("{EVENT_SELECT} WHERE e.ticket_id = ? ORDER BY e.id"), vec![row.id.into()])).await?;
        Ok(proto::TicketDetail {
            ticket: row.into_proto(self.now_micros())?,
            messages,
            events: events.into_iter().map(EventRow::into_proto).collect::<Result<Vec<_>>>()?,
            satisfaction: crate::csat::satisfaction_of(&self.db, conn, id).await?,
            reply_cc,
        })
    }

    /// The inbox of ticket `number` if the actor may see the ticket (the check of
    /// [`Store::get_ticket`], without loading the conversation); `None` if there is no such
    /// ticket or it is not the actor's to see.
    pub async fn visible_ticket_inbox(&self, actor: &Actor, number: i64) -> Result<Option<i64>> {
        let row = match load_ticket(&self.db, self.db.connection(), number, false).await {
            Ok(row) => row,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        match authorize_ticket(actor, &row, Action::ViewTicket { inbox_id: row.inbox_id }) {
            Ok(()) => Ok(Some(row.inbox_id)),
            Err(StoreError::NotFound(_) | StoreError::Domain(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Raw content of an attachment the actor may see: (metadata, bytes).
    pub async fn attachment(&self, actor: &Actor, attachment_id: i64) -> Result<(proto::Attachment, Vec<u8>)> {
        #[derive(sea_orm::FromQueryResult)]
        struct Row {
            id: i64,
            message_id: i64,
            filename: String,
            content_type: String,
            size: i64,
            sha256: String,
            inbox_id: i64,
        }
        let row: Option<Row> = query_one(
            self.db.connection(),
            self.db.stmt(
                "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256, t.inbox_id FROM attachments a \
                 JOIN messages m ON m.id = a.message_id JOIN tickets t ON t.id = m.ticket_id WHERE a.id = ?",
                vec![attachment_id.into()],
            ),
        )
        .await?;
        let row = row.filter(|r| actor.belongs_to(r.inbox_id)).ok_or(StoreError::NotFound("attachment"))?;
        let bytes = self.blobs.get_off_thread(&row.sha256).await?;
        let meta = AttachmentRow { id: row.id, message_id: row.message_id, filename: row.filename, content_type: row.content_type, size: row.size, sha256: row.sha256 };
        Ok((meta.into(), bytes))
    }
}

/// Loads a ticket by number; with `lock`, takes its row lock (PostgreSQL) for the transaction.
pub(crate) async fn load_ticket<C: ConnectionTrait>(db: &Db, conn: &C, number: i64, lock: bool) -> Result<TicketRow> {
    // The ticket's row only (row locks cannot apply to the nullable side of an outer join).
    let lock = if lock { db.for_update_of("t") } else { String::new() };
    let sql = format!("{TICKET_SELECT} WHERE t.number = ?{lock}");
    query_one(conn, db.stmt(&sql, vec![number.into()])).await?.ok_or(StoreError::NotFound("ticket"))
}

/// Checks that the actor may do `action` on the ticket; tickets of foreign inboxes are "not found".
pub(crate) fn authorize_ticket(actor: &Actor, row: &TicketRow, action: Action) -> Result<()> {
    if !actor.belongs_to(row.inbox_id) {
        return Err(StoreError::NotFound("ticket"));
    }
    policy::authorize(actor, action)?;
    Ok(())
}

/// Messages of a ticket in order, with attachments; `seen` keeps only those unseen.
pub(crate) async fn messages_of<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64, seen: Option<Seen>) -> Result<Vec<proto::Message>> {
    let rows: Vec<MessageRow> =
        query_all(conn, db.stmt(&format!("{MESSAGE_SELECT} WHERE m.ticket_id = ? ORDER BY m.id"), vec![ticket_id.into()])).await?;
    let rows: Vec<MessageRow> = match seen {
        Some(seen) => rows
            .into_iter()
            .filter(|r| r.kind.parse().is_ok_and(|kind| seen.is_unseen(r.id, kind, r.ticket_version)))
            .collect(),
        None => rows,
    };
    let attachments: Vec<AttachmentRow> = query_all(
        conn,
        db.stmt(&format!("{ATTACHMENT_SELECT} JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ? ORDER BY a.id"), vec![ticket_id.into()]),
    )
    .await?;
    let mut by_message: BTreeMap<i64, Vec<proto::Attachment>> = BTreeMap::new();
    for a in attachments {
        by_message.entry(a.message_id).or_default().push(a.into());
    }
    rows.into_iter().map(|r| {
        let files = by_message.remove(&r.id).unwrap_or_default();
        r.into_proto(files)
    }).collect()
}

/// One message with its attachments.
pub(crate) async fn message_by_id<C: ConnectionTrait>(db: &Db, conn: &C, id: i64) -> Result<proto::Message> {
    let message: Option<MessageRow> = query_one(conn, db.stmt(&format!("{MESSAGE_SELECT} WHERE m.id = ?"), vec![id.into()])).await?;
    let attachments: Vec<AttachmentRow> =
        query_all(conn, db.stmt(&format!("{ATTACHMENT_SELECT} WHERE a.message_id = ? ORDER BY a.id"), vec![id.into()])).await?;
    message.ok_or(StoreError::NotFound("message"))?.into_proto(attachments.into_iter().map(Into::into).collect())
}

/// The 409 payload: what changed since `seen`.
pub(crate) async fn conflict<C: ConnectionTrait>(db: &Db, conn: &C, row: &TicketRow, seen: Seen) -> Result<StoreError> {
    let unseen = messages_of(db, conn, row.id, Some(seen)).await?;
    let seen_version = match seen {
        Seen::Version(v) => v,
        Seen::LastMessage(_) => row.version,
    };
    Ok(StoreError::Conflict {
        seen: seen_version,
        conflict: Box::new(proto::Conflict { current_version: row.version, unseen_messages: unseen, updated_at: from_micros(row.updated_at) }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { key: 1_700_000_000_000_000, id: 42 };
        assert_eq!(Cursor::decode(&c.encode()).expect("decodes"), c);
        for bad in ["", "x", "1.", ".2", "1.2.3", "a.b"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?}");
        }
    }
}
