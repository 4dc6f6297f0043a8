//! The outbox: outbound mail waiting for, in, or done with SMTP delivery. A row is written in
//! the same transaction as its message (`insert_message`); the sender claims due rows, and
//! records the result: `queued → sending → sent | failed`, with retries and backoff.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde_json::json;
use tandem_domain::{Actor, DomainError, policy::Action, ticket};
use tandem_proto::{self as proto, DeliveryState, MessageKind};

use crate::{
    Store,
    db::{Db, marks, query_all, query_one},
    error::{Result, StoreError},
    events::{NewEvent, Who, record},
    rows::{IdRow, parse, parse_json},
    tickets::{authorize_ticket, load_ticket, message_by_id},
};

use super::queue::{Queue, claim_due};

/// The outbox as a queue ([`claim_due`]).
const OUTBOX: Queue = Queue { table: "outbox", state: "state", due: "next_attempt_at", touched: Some("updated_at") };

/// Attempts before a temporary failure becomes final.
pub const MAX_ATTEMPTS: i64 = 8;

pub(crate) async fn enqueue<C: ConnectionTrait>(db: &Db, conn: &C, message_row_id: i64, ticket_id: i64, at: i64) -> Result<()> {
    conn.execute_raw(db.stmt(
        "INSERT INTO outbox (message_row_id, inbox_id, state, attempts, next_attempt_at, created_at, updated_at) \
         SELECT ?, inbox_id, 'queued', 0, ?, ?, ? FROM tickets WHERE id = ?",
        vec![message_row_id.into(), at.into(), at.into(), at.into(), ticket_id.into()],
    ))
    .await?;
    Ok(())
}

/// Everything the sender needs to write and deliver one message.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    pub outbox_id: i64,
    pub attempts: i64,
    pub message_row_id: i64,
    pub kind: MessageKind,
    pub inbox_id: i64,
    pub inbox_name: String,
    pub inbox_address: String,
    pub from_name_format: String,
    pub signature: String,
    pub ticket_number: i64,
    pub ticket_subject: String,
    /// The message's own subject (auto-replies), else the ticket's.
    pub subject: Option<String>,
    pub author_name: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub to_email: String,
    pub to_name: String,
    /// Replies: copies and blind copies besides the contact.
    pub cc: Vec<proto::MailAddress>,
    pub bcc: Vec<proto::MailAddress>,
    /// (file name, content type, blob SHA-256)
    pub attachments: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, FromQueryResult)]
struct JobRow {
    outbox_id: i64,
    attempts: i64,
    message_row_id: i64,
    kind: String,
    inbox_id: i64,
    inbox_name: String,
    inbox_address: String,
    from_name_format: String,
    signature: String,
    ticket_number: i64,
    ticket_subject: String,
    subject: Option<String>,
    author_name: String,
    body_text: String,
    body_html: Option<String>,
    message_id: Option<String>,
    in_reply_to: Option<String>,
    references_json: String,
    to_email: String,
    to_name: String,
    cc_json: String,
    bcc_json: String,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxResult {
    Sent,
    /// Sent to the contact, but the receiving server refused some of the copies (each named
    /// with its answer): the reply counts as sent, the refusal stays visible on it.
    SentExcept(String),
    /// Worth retrying (connection refused, 4xx).
    Retry(String),
    /// Will not succeed (5xx, invalid recipient, no SMTP configured).
    Failed(String),
}

/// Seconds to wait before the next attempt after `attempts`: base, 2×, 4× … capped at 60× base
/// (with the default base of 30 s: 1 min, 2 min … 30 min).
impl OutboxResult {
    /// The delivery state after this attempt (the `attempts`-th) and the error to keep:
    /// a temporary failure is queued again until the last attempt, then it is final.
    pub(crate) fn settle(&self, attempts: i64) -> (&'static str, Option<String>) {
        match self {
            OutboxResult::Sent => ("sent", None),
            OutboxResult::SentExcept(e) => ("sent", Some(e.clone())),
            OutboxResult::Retry(e) if attempts < MAX_ATTEMPTS => ("queued", Some(e.clone())),
            OutboxResult::Retry(e) => ("failed", Some(format!("gave up after {attempts} attempts: {e}"))),
            OutboxResult::Failed(e) => ("failed", Some(e.clone())),
        }
    }
}

pub fn backoff_secs(base_secs: i64, attempts: i64) -> i64 {
    (base_secs.max(1) << attempts.clamp(0, 6)).min(base_secs.max(1) * 60)
}

impl Store {
    /// Claims up to `limit` due messages (`queued` → `sending`), the earliest due first.
    pub async fn claim_outbox(&self, limit: u64) -> Result<Vec<OutboxJob>> {
        self.db.on_writer_cpu(async {
            let now = self.now_micros();
            let tx = self.db.write_background().await?;
            let ids = claim_due(&self.db, &tx, &OUTBOX, now, limit).await?;
            if ids.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let in_ids = marks(ids.len());
            let id_values = || ids.iter().map(|&id| Value::from(id)).collect::<Vec<_>>();
            let rows: Vec<JobRow> = query_all(&tx.tx, self.db.stmt(
                &format!(
                    "SELECT o.id AS outbox_id, o.attempts, m.id AS message_row_id, m.kind, i.id AS inbox_id, i.name AS inbox_name, i.address AS inbox_address, \
                     i.from_name_format, i.signature, t.number AS ticket_number, t.subject AS ticket_subject, m.subject, m.author_name, m.body_text, \
                     m.body_html, m.message_id, m.in_reply_to, m.references_json, c.email AS to_email, c.name AS to_name, m.cc_json, m.bcc_json \
                     FROM outbox o JOIN messages m ON m.id = o.message_row_id JOIN tickets t ON t.id = m.ticket_id \
                     JOIN inboxes i ON i.id = t.inbox_id JOIN contacts c ON c.id = t.contact_id WHERE o.id IN ({in_ids})"
                ),
                id_values(),
            )).await?;
            let mut rows: HashMap<i64, JobRow> = rows.into_iter().map(|r| (r.outbox_id, r)).collect();
            tx.tx.execute_raw(self.db.stmt(
                &format!("UPDATE messages SET delivery_state = 'sending' WHERE id IN (SELECT message_row_id FROM outbox WHERE id IN ({in_ids}))"),
                id_values(),
            )).await?;
            #[derive(FromQueryResult)]
            struct Att {
                message_id: i64,
                filename: String,
                content_type: String,
                sha256: String,
            }
            let atts: Vec<Att> = query_all(&tx.tx, self.db.stmt(
                &format!(
                    "SELECT a.message_id, a.filename, a.content_type, a.sha256 FROM attachments a JOIN outbox o ON o.message_row_id = a.message_id \
                     WHERE o.id IN ({in_ids}) ORDER BY a.message_id, a.id"
                ),
                id_values(),
            )).await?;
            let mut attachments: HashMap<i64, Vec<(String, String, String)>> = HashMap::new();
            for a in atts {
                attachments.entry(a.message_id).or_default().push((a.filename, a.content_type, a.sha256));
            }
            let mut jobs = Vec::with_capacity(ids.len());
            for id in ids {
                let row = rows.remove(&id).ok_or(StoreError::NotFound("outbox message"))?;
                jobs.push(OutboxJob {
                    outbox_id: row.outbox_id,
                    attempts: row.attempts,
                    message_row_id: row.message_row_id,
                    kind: parse("messages", "kind", &row.kind)?,
                    inbox_id: row.inbox_id,
                    inbox_name: row.inbox_name,
                    inbox_address: row.inbox_address,
                    from_name_format: row.from_name_format,
                    signature: row.signature,
                    ticket_number: row.ticket_number,
                    ticket_subject: row.ticket_subject,
                    subject: row.subject,
                    author_name: row.author_name,
                    body_text: row.body_text,
                    body_html: row.body_html,
                    message_id: row.message_id.ok_or(StoreError::NotFound("message id of an outbound message"))?,
                    in_reply_to: row.in_reply_to,
                    references: parse_json("messages", "references_json", &row.references_json)?,
                    to_email: row.to_email,
                    to_name: row.to_name,
                    cc: parse_json("messages", "cc_json", &row.cc_json)?,
                    bcc: parse_json("messages", "bcc_json", &row.bcc_json)?,
                    attachments: attachments.remove(&row.message_row_id).unwrap_or_default(),
                });
            }
            tx.commit().await?;
            Ok(jobs)
        })
        .await
    }

    /// Records how an attempt ended.
    pub async fn finish_outbox(&self, job: &OutboxJob, result: OutboxResult, retry_base_secs: i64) -> Result<()> {
        self.db.on_writer_cpu(async {
            let now = self.now_micros();
            let attempts = job.attempts + 1;
            let tx = self.db.write_background().await?;
            let (state, error) = result.settle(attempts);
            let event = match state {
                "sent" => Some("message.sent"),
                "failed" => Some("message.delivery_failed"),
                _ => None,
            };
            let next = now + backoff_secs(retry_base_secs, attempts) * 1_000_000;
            tx.tx.execute_raw(self.db.stmt(
                "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, sent_at = ?, updated_at = ? WHERE id = ?",
                vec![state.into(), attempts.into(), next.into(), error.clone().into(), (state == "sent").then_some(now).into(), now.into(), job.outbox_id.into()],
            )).await?;
            let ticket: Option<IdRow> = query_one(&tx.tx, self.db.stmt(
                "UPDATE messages SET delivery_state = ?, delivery_error = ? WHERE id = ? RETURNING ticket_id AS id",
                vec![state.into(), error.clone().into(), job.message_row_id.into()],
            )).await?;
            let ticket_id = ticket.map(|t| t.id);
            if let Some(kind) = event {
                record(&self.db, &tx.tx, &Who::system(), now, NewEvent {
                    ticket_id,
                    kind,
                    field: None,
                    before: serde_json::Value::Null,
                    after: json!({ "message_id": job.message_row_id, "attempts": attempts, "error": error }),
                })
                .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// Sends a message whose delivery failed once more (an agent's "send again", e.g. after
    /// an admin set up the inbox's SMTP or the recipient's server recovered): the outbox
    /// queues it now with its attempts counted afresh, the message shows `queued` again, and
    /// the ticket records who asked and the error it replaced. Refused for anything but a
    /// failed reply or auto-reply ([`ticket::check_resend`]), and while the inbox has no SMTP
    /// (it would only fail again). Two agents asking at once send it once: the second finds
    /// it queued.
    pub async fn resend_message(&self, actor: &Actor, message_row_id: i64) -> Result<proto::Message> {
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let found: Option<IdRow> = query_one(&tx.tx, self.db.stmt(
            "SELECT t.number AS id FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.id = ?",
            vec![message_row_id.into()],
        )).await?;
        let number = found.ok_or(StoreError::NotFound("message"))?.id;
        // The ticket's row is locked (PostgreSQL) so that two requests for one message queue
        // it once: the second reads the message as queued.
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        authorize_ticket(actor, &row, Action::WorkTicket { inbox_id: row.inbox_id })?;
        let mut message = message_by_id(&self.db, &tx.tx, message_row_id).await?;
        ticket::check_resend(&row.state()?, message.kind, message.delivery_state)?;
        if self.smtp_account(row.inbox_id).await?.is_none() {
            return Err(DomainError::State("sending is not configured for this inbox (SMTP disabled): an admin sets it up in the inbox's mail settings first".to_owned()).into());
        }
        let requeued = tx.tx.execute_raw(self.db.stmt(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, last_error = NULL, sent_at = NULL, updated_at = ? WHERE message_row_id = ?",
            vec![now.into(), now.into(), message_row_id.into()],
        )).await?;
        if requeued.rows_affected() == 0 {
            enqueue(&self.db, &tx.tx, message_row_id, row.id, now).await?;
        }
        tx.tx.execute_raw(self.db.stmt(
            "UPDATE messages SET delivery_state = 'queued', delivery_error = NULL WHERE id = ?",
            vec![message_row_id.into()],
        )).await?;
        record(&self.db, &tx.tx, &Who::user(actor), now, NewEvent {
            ticket_id: Some(row.id),
            kind: "message.resent",
            field: None,
            before: json!({ "delivery_state": DeliveryState::Failed, "error": message.delivery_error }),
            after: json!({ "message_id": message_row_id, "delivery_state": DeliveryState::Queued }),
        })
        .await?;
        tx.commit().await?;
        // What the two updates above wrote; the rest of the message is as read.
        message.delivery_state = Some(DeliveryState::Queued);
        message.delivery_error = None;
        Ok(message)
    }

    /// After a restart: messages caught in `sending` are queued again (SMTP delivery is at
    /// least once; a crash in the middle of a send may repeat it).
    pub async fn requeue_interrupted_outbox(&self) -> Result<u64> {
        let tx = self.db.write().await?;
        let done = tx.tx.execute_raw(self.db.stmt("UPDATE outbox SET state = 'queued' WHERE state = 'sending'", vec![])).await?;
        tx.tx.execute_raw(self.db.stmt(
            "UPDATE messages SET delivery_state = 'queued' WHERE delivery_state = 'sending' AND id IN (SELECT message_row_id FROM outbox WHERE state = 'queued')",
            vec![],
        )).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// When the next queued message is due (µs), if any.
    pub async fn next_outbox_due(&self) -> Result<Option<i64>> {
        #[derive(FromQueryResult)]
        struct Row {
            due: Option<i64>,
        }
        let row: Option<Row> = query_one(self.db.connection(), self.db.stmt("SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = 'queued'", vec![])).await?;
        Ok(row.and_then(|r| r.due))
    }

    /// Counts of outbox rows by state (for tests, metrics and the admin view).
    pub async fn outbox_counts(&self) -> Result<Vec<(String, i64)>> {
        #[derive(FromQueryResult)]
        struct Row {
            state: String,
            n: i64,
        }
        let rows: Vec<Row> = query_all(self.db.connection(), self.db.stmt("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state ORDER BY state", vec![])).await?;
        Ok(rows.into_iter().map(|r| (r.state, r.n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_secs(30, 1), 60);
        assert_eq!(backoff_secs(30, 3), 240);
        assert_eq!(backoff_secs(30, 20), 1800);
        assert_eq!(backoff_secs(1, 2), 4);
        assert_eq!(backoff_secs(0, 0), 1);
    }
}
