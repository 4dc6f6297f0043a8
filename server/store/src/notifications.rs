//! In-app notifications (raised by the timers: SLA alerts, reminders; and by notes that
//! @mention a colleague) and the reminders agents set on tickets for themselves. Each user sees
//! only their own.

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use tandem_domain::{
    Actor,
    policy::Action,
    validate,
};
use tandem_proto as proto;

use crate::{
    Store,
    db::{Db, from_micros, opt_from_micros, query_all, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{IdRow, TicketRow, parse},
    tickets::{authorize_ticket, load_ticket},
};

/// Pending reminders one user may keep.
pub const MAX_PENDING_REMINDERS: i64 = 500;
const MAX_NOTE_CHARS: usize = 500;
/// How much of a note the notification of a mention quotes.
const EXCERPT_CHARS: usize = 140;

/// The start of `text` on one line, for a notification.
pub(crate) fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS { flat } else { format!("{}…", flat.chars().take(EXCERPT_CHARS).collect::<String>()) }
}

/// Notifies, in the app and by mail, the users a note `@mentions` (see
/// `tandem_domain::mention`): those who may see the ticket (admins and the inbox's members,
/// not disabled), the author excepted. Handles that name nobody of them are ignored.
pub(crate) async fn notify_mentioned<C: ConnectionTrait>(
    db: &Db,
    conn: &C,
    author: &Actor,
    ticket: &TicketRow,
    handles: &[String],
    text: &str,
    at: i64,
) -> Result<()> {
    #[derive(FromQueryResult)]
    struct Candidate {
        id: i64,
        email: String,
    }
    let candidates: Vec<Candidate> = query_all(
        conn,
        db.stmt(
            "SELECT u.id, u.email FROM users u WHERE NOT u.disabled AND (u.role = 'admin' OR EXISTS \
             (SELECT 1 FROM inbox_members m WHERE m.inbox_id = ? AND m.user_id = u.id)) ORDER BY u.id",
            vec![ticket.inbox_id.into()],
        ),
    )
    .await?;
    let users: Vec<i64> = candidates
        .into_iter()
        .filter(|c| c.id != author.user_id && handles.iter().any(|h| tandem_domain::mention::names(h, &c.email)))
        .map(|c| c.id)
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    crate::timers::notify(db, conn, &users, Some(ticket.id), proto::NotificationKind::Mention, text, at, true).await
}

#[derive(Debug, FromQueryResult)]
struct NotificationRow {
    id: i64,
    kind: String,
    number: Option<i64>,
    text: String,
    created_at: i64,
    read_at: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct ReminderRow {
    id: i64,
    number: i64,
    remind_at: i64,
    note: Option<String>,
    fired_at: Option<i64>,
    created_at: i64,
}

impl ReminderRow {
    fn into_proto(self) -> proto::Reminder {
        proto::Reminder {
            id: self.id,
            ticket_number: self.number,
            remind_at: from_micros(self.remind_at),
            note: self.note,
            fired_at: opt_from_micros(self.fired_at),
            created_at: from_micros(self.created_at),
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

impl Store {
    /// The actor's notifications, newest first (at most `limit`, 1 to 200), and how many are unread.
    pub async fn notifications(&self, actor: &Actor, unread_only: bool, limit: u32) -> Result<proto::Notifications> {
        let conn = self.db.connection();
        let limit = i64::from(limit.clamp(1, 200));
        let rows: Vec<NotificationRow> = query_all(
            conn,
            self.db.stmt(
                &format!(
                    "SELECT n.id, n.kind, t.number, n.text, n.created_at, n.read_at FROM notifications n LEFT JOIN tickets t ON t.id = n.ticket_id \
                     WHERE n.user_id = ?{} ORDER BY n.id DESC LIMIT ?",
                    if unread_only { " AND n.read_at IS NULL" } else { "" }
                ),
                vec![actor.user_id.into(), limit.into()],
            ),
        )
        .await?;
        let unread: Option<Count> = query_one(
            conn,
            self.db.stmt("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL", vec![actor.user_id.into()]),
        )
        .await?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(proto::Notification {
                    id: r.id,
                    kind: parse("notifications", "kind", &r.kind)?,
                    ticket_number: r.number,
                    text: r.text,
                    created_at: from_micros(r.created_at),
                    read_at: opt_from_micros(r.read_at),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(proto::Notifications { items, unread: unread.map_or(0, |c| c.n) })
    }

    /// Marks one of the actor's notifications (or, with `None`, all of them) read.
    pub async fn mark_notifications_read(&self, actor: &Actor, id: Option<i64>) -> Result<()> {
        let at = self.now_micros();
        let tx = self.db.write().await?;
        match id {
            Some(id) => {
                let mine: Option<IdRow> = query_one(
                    &tx.tx,
                    self.db.stmt("SELECT id FROM notifications WHERE id = ? AND user_id = ?", vec![id.into(), actor.user_id.into()]),
                )
                .await?;
                mine.ok_or(StoreError::NotFound("notification"))?;
                tx.tx
                    .execute_raw(self.db.stmt("UPDATE notifications SET read_at = ? WHERE id = ? AND read_at IS NULL", vec![at.into(), id.into()]))
                    .await?;
            }
            None => {
                tx.tx
                    .execute_raw(self.db.stmt(
                        "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                        vec![at.into(), actor.user_id.into()],
                    ))
                    .await?;
            }
        }
        tx.commit().await
    }

    /// Sets a reminder for the actor on a ticket they can see.
    pub async fn create_reminder(&self, actor: &Actor, number: i64, input: proto::CreateReminder) -> Result<proto::Reminder> {
        let now = self.now_micros();
        let remind_at = input.remind_at.timestamp_micros();
        if remind_at <= now {
            return Err(StoreError::validation("remind_at", "a reminder is for a time in the future"));
        }
        let note = match input.note.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(note) => Some(validate::text("note", note, MAX_NOTE_CHARS)?),
        };
        let tx = self.db.write().await?;
        let ticket = load_ticket(&self.db, &tx.tx, number, false).await?;
        authorize_ticket(actor, &ticket, Action::ViewTicket { inbox_id: ticket.inbox_id })?;
        let pending: Option<Count> = query_one(
            &tx.tx,
            self.db.stmt("SELECT COUNT(*) AS n FROM reminders WHERE user_id = ? AND fired_at IS NULL", vec![actor.user_id.into()]),
        )
        .await?;
        if pending.is_some_and(|c| c.n >= MAX_PENDING_REMINDERS) {
            return Err(StoreError::validation("remind_at", format!("you have {MAX_PENDING_REMINDERS} pending reminders: delete some first")));
        }
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO reminders (ticket_id, user_id, remind_at, note, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                vec![ticket.id.into(), actor.user_id.into(), remind_at.into(), note.clone().into(), now.into()],
            ),
        )
        .await?;
        let id = row.ok_or(StoreError::NotFound("reminder"))?.id;
        record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
            ticket_id: Some(ticket.id),
            kind: "reminder.set",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "reminder_id": id, "remind_at": input.remind_at }),
        })
        .await?;
        tx.commit().await?;
        Ok(proto::Reminder { id, ticket_number: number, remind_at: input.remind_at, note, fired_at: None, created_at: from_micros(now) })
    }

    /// The actor's reminders: on one ticket, or all pending ones.
    pub async fn reminders(&self, actor: &Actor, number: Option<i64>) -> Result<Vec<proto::Reminder>> {
        let conn = self.db.connection();
        let select = "SELECT r.id, t.number, r.remind_at, r.note, r.fired_at, r.created_at FROM reminders r JOIN tickets t ON t.id = r.ticket_id";
        let rows: Vec<ReminderRow> = match number {
            Some(number) => {
                let ticket = load_ticket(&self.db, conn, number, false).await?;
                authorize_ticket(actor, &ticket, Action::ViewTicket { inbox_id: ticket.inbox_id })?;
                query_all(conn, self.db.stmt(&format!("{select} WHERE r.user_id = ? AND r.ticket_id = ? ORDER BY r.remind_at, r.id"), vec![actor.user_id.into(), ticket.id.into()]))
                    .await?
            }
            None => {
                query_all(conn, self.db.stmt(&format!("{select} WHERE r.user_id = ? AND r.fired_at IS NULL ORDER BY r.remind_at, r.id"), vec![actor.user_id.into()]))
                    .await?
            }
        };
        Ok(rows.into_iter().map(ReminderRow::into_proto).collect())
    }

    /// Deletes one of the actor's reminders.
    pub async fn delete_reminder(&self, actor: &Actor, id: i64) -> Result<()> {
        let tx = self.db.write().await?;
        let done = tx
            .tx
            .execute_raw(self.db.stmt("DELETE FROM reminders WHERE id = ? AND user_id = ?", vec![id.into(), actor.user_id.into()]))
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("reminder"));
        }
        tx.commit().await
    }
}
