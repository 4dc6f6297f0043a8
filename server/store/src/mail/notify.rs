//! Notifications by email: the notifications queued for mailing (SLA warnings and breaches),
//! claimed by the channel's sender like outbox jobs and sent through the SMTP server of the
//! ticket's inbox, with the same retries and backoff.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::{
    outbox::{OutboxResult, backoff_secs},
    queue::{Queue, claim_due},
};
use crate::{
    Store,
    db::{marks, query_all},
    error::Result,
};

/// The notifications waiting to be mailed, as a queue ([`claim_due`]).
const NOTIFICATIONS: Queue = Queue { table: "notifications", state: "email_state", due: "email_next_at", touched: None };

/// One notification to mail to one user.
#[derive(Debug, Clone, FromQueryResult)]
pub struct NotificationMail {
    pub id: i64,
    pub attempts: i64,
    pub text: String,
    pub to_email: String,
    pub to_name: String,
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub inbox_id: i64,
    pub inbox_name: String,
    pub inbox_address: String,
}

impl NotificationMail {
    /// Where the ticket is, for the link in the mail.
    pub fn ticket_url(&self, public_url: &str) -> String {
        format!("{}/tickets/{}", public_url.trim_end_matches('/'), self.ticket_number)
    }
}

impl Store {
    /// Claims up to `limit` notifications due for mailing (marked `sending`), the earliest due
    /// first. One whose ticket is gone is marked failed instead: there is nothing to mail.
    pub async fn claim_notification_mail(&self, limit: u64) -> Result<Vec<NotificationMail>> {
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let ids = claim_due(&self.db, &tx, &NOTIFICATIONS, now, limit).await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let found: Vec<NotificationMail> = query_all(
            &tx.tx,
            self.db.stmt(
                &format!(
                    "SELECT n.id, n.email_attempts AS attempts, n.text, u.email AS to_email, u.display_name AS to_name, t.number AS ticket_number, \
                     t.subject AS ticket_subject, i.id AS inbox_id, i.name AS inbox_name, i.address AS inbox_address \
                     FROM notifications n JOIN users u ON u.id = n.user_id JOIN tickets t ON t.id = n.ticket_id JOIN inboxes i ON i.id = t.inbox_id \
                     WHERE n.id IN ({})",
                    marks(ids.len())
                ),
                ids.iter().map(|&id| Value::from(id)).collect(),
            ),
        )
        .await?;
        let mut found: HashMap<i64, NotificationMail> = found.into_iter().map(|m| (m.id, m)).collect();
        let mut mails = Vec::with_capacity(ids.len());
        let mut orphans = Vec::new();
        for id in ids {
            match found.remove(&id) {
                Some(mail) => mails.push(mail),
                None => orphans.push(Value::from(id)),
            }
        }
        if !orphans.is_empty() {
            tx.tx
                .execute_raw(self.db.stmt(
                    &format!("UPDATE notifications SET email_state = 'failed', email_error = 'no ticket' WHERE id IN ({})", marks(orphans.len())),
                    orphans,
                ))
                .await?;
        }
        tx.commit().await?;
        Ok(mails)
    }

    /// Records how an attempt to mail a notification ended.
    pub async fn finish_notification_mail(&self, mail: &NotificationMail, result: OutboxResult, retry_base_secs: i64) -> Result<()> {
        let now = self.now_micros();
        let attempts = mail.attempts + 1;
        let (state, error) = result.settle(attempts);
        let next = now + backoff_secs(retry_base_secs, attempts) * 1_000_000;
        let tx = self.db.write().await?;
        tx.tx
            .execute_raw(self.db.stmt(
                "UPDATE notifications SET email_state = ?, email_attempts = ?, email_next_at = ?, email_error = ? WHERE id = ?",
                vec![state.into(), attempts.into(), next.into(), error.into(), mail.id.into()],
            ))
            .await?;
        tx.commit().await
    }

    /// After a restart: notifications caught in `sending` are queued again.
    pub async fn requeue_interrupted_notification_mail(&self) -> Result<u64> {
        let tx = self.db.write().await?;
        let done = tx.tx.execute_raw(self.db.stmt("UPDATE notifications SET email_state = 'queued' WHERE email_state = 'sending'", vec![])).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
