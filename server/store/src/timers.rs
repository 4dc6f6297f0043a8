//! What happens because time passed: SLA warnings and breaches (with their escalations),
//! snoozes that run out, reminders that fire, pending tickets solved after a quiet period.
//!
//! [`Store::run_timers`] does one round at the store's clock; `tandem`'s scheduler calls it
//! every few seconds while it holds the `timers` lease, and tests call it after moving a
//! `FixedClock`. Each ticket is handled in its own transaction that re-checks the condition
//! under the row lock, and SLA alerts are keyed by (ticket, target, kind, due time), so a
//! round that runs twice, or on two nodes at once, raises nothing twice.

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use tandem_domain::{
    sla::{AlertKind, alerts},
    ticket::{self, TicketPatch},
};
use tandem_proto::{self as proto, DeliveryState, MessageKind, NotificationKind, SlaTarget};

use crate::{
    Store,
    db::{Db, from_micros, query_all, query_one},
    error::Result,
    events::{NewEvent, Who, record, record_changes},
    rows::IdRow,
    sla::{Rules, load_rules},
    tickets::{
        load_ticket,
        write::{Copies, MailExtras, NewMessage, insert_message, outbound_message_id, save_state, save_state_before_message},
    },
};

/// Tickets (or reminders) handled per kind in one round; the rest wait for the next round.
const BATCH: u64 = 500;
const DAY: i64 = 86_400_000_000;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TimerReport {
    pub sla_warnings: u64,
    pub sla_breaches: u64,
    pub snoozes_ended: u64,
    pub reminders_fired: u64,
    pub auto_solved: u64,
    /// Composer uploads never sent within a day, dropped.
    pub uploads_dropped: u64,
    /// Some kind filled its batch: more may be due now, and the next round should not wait.
    pub backlog: bool,
}

impl TimerReport {
    /// Nothing was raised, ended, fired or solved (whether or not a batch was full).
    pub fn is_empty(&self) -> bool {
        self.sla_warnings + self.sla_breaches + self.snoozes_ended + self.reminders_fired + self.auto_solved + self.uploads_dropped == 0
    }

    /// Another round should follow at once: a batch was full and this round got something
    /// done (a full batch of items that all stay due would otherwise spin).
    pub fn more_due(&self) -> bool {
        self.backlog && !self.is_empty()
    }

    /// Notes that a round of one kind fetched `fetched` due items (at most [`BATCH`]).
    fn fetched(&mut self, fetched: usize) {
        self.backlog |= fetched as u64 >= BATCH;
    }
}

#[derive(Debug, FromQueryResult)]
struct SlaRow {
    number: i64,
    subject: String,
    inbox_id: i64,
    assignee_id: Option<i64>,
    sla_policy_id: Option<i64>,
    sla_first_response_due: Option<i64>,
    sla_next_response_due: Option<i64>,
    sla_resolution_due: Option<i64>,
    sla_check_at: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct RaisedRow {
    target: String,
    kind: String,
    due_at: i64,
}

#[derive(Debug, FromQueryResult)]
struct NumberRow {
    number: i64,
}

fn target_label(target: SlaTarget) -> &'static str {
    match target {
        SlaTarget::FirstResponse => "first response",
        SlaTarget::NextResponse => "next response",
        SlaTarget::Resolution => "resolution",
    }
}

/// Inserts one in-app notification for each user (each user once); with `email`, each is
/// also queued for mailing (`mail/notify.rs`).
#[allow(clippy::too_many_arguments)] // one call site per kind; a struct would only rename them
pub(crate) async fn notify<C: ConnectionTrait>(
    db: &Db,
    conn: &C,
    users: &[i64],
    ticket_id: Option<i64>,
    kind: NotificationKind,
    text: &str,
    at: i64,
    email: bool,
) -> Result<()> {
    let mut seen = Vec::new();
    for user in users {
        if seen.contains(user) {
            continue;
        }
        seen.push(*user);
        conn.execute_raw(db.stmt(
            "INSERT INTO notifications (user_id, ticket_id, kind, text, created_at, email_state, email_next_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![
                (*user).into(),
                ticket_id.into(),
                kind.as_str().into(),
                text.to_owned().into(),
                at.into(),
                if email { "queued" } else { "none" }.into(),
                email.then_some(at).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

impl Store {
    /// Takes or renews the lease `name` for `holder` until `ttl_secs` from now; `false` when
    /// another holder's lease has not expired. One scheduler per deployment runs timers.
    pub async fn take_lease(&self, name: &str, holder: &str, ttl_secs: i64) -> Result<bool> {
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let done = tx
            .tx
            .execute_raw(self.db.stmt(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                vec![name.to_owned().into(), holder.to_owned().into(), (now + ttl_secs * 1_000_000).into(), now.into()],
            ))
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// One round of every timer, at the store's clock.
    pub async fn run_timers(&self) -> Result<TimerReport> {
        let now = self.now_micros();
        let mut report = TimerReport::default();
        self.sla_round(now, &mut report).await?;
        self.snooze_round(now, &mut report).await?;
        self.reminder_round(now, &mut report).await?;
        self.auto_solve_round(now, &mut report).await?;
        report.uploads_dropped = self.drop_stale_uploads(now).await?;
        Ok(report)
    }

    async fn sla_round(&self, now: i64, report: &mut TimerReport) -> Result<()> {
        let due: Vec<IdRow> = query_all(
            self.db.connection(),
            self.db.stmt("SELECT id FROM tickets WHERE sla_check_at <= ? ORDER BY sla_check_at LIMIT ?", vec![now.into(), (BATCH as i64).into()]),
        )
        .await?;
        report.fetched(due.len());
        if due.is_empty() {
            return Ok(());
        }
        let rules = load_rules(&self.db, self.db.connection()).await?;
        for IdRow { id } in due {
            self.check_sla(&rules, id, now, report).await?;
        }
        Ok(())
    }

    /// Raises the warnings and breaches due on one ticket, escalates, plans the next look.
    async fn check_sla(&self, rules: &Rules, ticket_id: i64, now: i64, report: &mut TimerReport) -> Result<()> {
        let tx = self.db.write().await?;
        let row: Option<SlaRow> = query_one(
            &tx.tx,
            self.db.stmt(
                &format!(
                    "SELECT number, subject, inbox_id, assignee_id, sla_policy_id, sla_first_response_due, sla_next_response_due, \
                     sla_resolution_due, sla_check_at FROM tickets WHERE id = ?{}",
                    self.db.for_update()
                ),
                vec![ticket_id.into()],
            ),
        )
        .await?;
        let Some(row) = row.filter(|r| r.sla_check_at.is_some_and(|at| at <= now)) else {
            return tx.commit().await; // Another round got there first.
        };
        let Some(policy) = rules.policy(row.sla_policy_id) else {
            tx.tx.execute_raw(self.db.stmt("UPDATE tickets SET sla_check_at = NULL WHERE id = ?", vec![ticket_id.into()])).await?;
            return tx.commit().await;
        };
        let dues: Vec<(SlaTarget, i64)> = [
            (SlaTarget::FirstResponse, row.sla_first_response_due),
            (SlaTarget::NextResponse, row.sla_next_response_due),
            (SlaTarget::Resolution, row.sla_resolution_due),
        ]
        .into_iter()
        .filter_map(|(t, d)| d.map(|d| (t, d)))
        .collect();
        let raised_rows: Vec<RaisedRow> =
            query_all(&tx.tx, self.db.stmt("SELECT target, kind, due_at FROM sla_alerts WHERE ticket_id = ?", vec![ticket_id.into()])).await?;
        let raised: Vec<alerts::Alert> = raised_rows
            .iter()
            .filter_map(|r| {
                let target = r.target.parse().ok()?;
                let kind = if r.kind == "breach" { AlertKind::Breach } else { AlertKind::Warning };
                Some(alerts::Alert { target, kind, due: r.due_at })
            })
            .collect();
        let plan = alerts::plan(&dues, policy.warn_before_minutes, &raised, now);
        let who = Who::system();
        let mut recipients: Option<Vec<i64>> = None;
        let mut breached = false;
        for alert in &plan.raise {
            tx.tx
                .execute_raw(self.db.stmt(
                    "INSERT INTO sla_alerts (ticket_id, target, kind, due_at, raised_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    vec![ticket_id.into(), alert.target.as_str().into(), alert.kind.as_str().into(), alert.due.into(), now.into()],
                ))
                .await?;
            let (kind, notification) = match alert.kind {
                AlertKind::Warning => {
                    report.sla_warnings += 1;
                    ("sla.warning", NotificationKind::SlaWarning)
                }
                AlertKind::Breach => {
                    report.sla_breaches += 1;
                    breached = true;
                    crate::reports::metrics::mark_breached(&self.db, &tx, ticket_id, alert.target, now).await?;
                    ("sla.breached", NotificationKind::SlaBreach)
                }
            };
            let due_at = from_micros(alert.due);
            record(&self.db, &tx.tx, &who, now, NewEvent {
                ticket_id: Some(ticket_id),
                kind,
                field: None,
                before: serde_json::Value::Null,
                after: json!({ "target": alert.target, "due_at": due_at, "policy_id": policy.id, "policy": policy.name }),
            })
            .await?;
            if policy.escalation.notify {
                if recipients.is_none() {
                    recipients = Some(self.escalation_recipients(&tx.tx, row.inbox_id, row.assignee_id).await?);
                }
                let verb = if alert.kind == AlertKind::Breach { "breached" } else { "due soon" };
                let text = format!(
                    "#{} {}: {} {verb} ({} at {} UTC, policy {})",
                    row.number,
                    row.subject,
                    target_label(alert.target),
                    if alert.kind == AlertKind::Breach { "was due" } else { "due" },
                    due_at.format("%Y-%m-%d %H:%M"),
                    policy.name
                );
                notify(&self.db, &tx.tx, recipients.as_deref().unwrap_or_default(), Some(ticket_id), notification, &text, now, true).await?;
            }
        }
        let mut escalated = false;
        if breached && (policy.escalation.raise_priority || policy.escalation.team_id.is_some()) {
            let ticket = load_ticket(&self.db, &tx.tx, row.number, false).await?;
            let mut state = ticket.state()?;
            let patch = TicketPatch {
                priority: policy.escalation.raise_priority.then(|| ticket::raised(state.priority)),
                team_id: policy.escalation.team_id.map(Some),
                ..TicketPatch::default()
            };
            let changes = ticket::apply_patch(&mut state, patch, from_micros(now))?;
            if !changes.is_empty() {
                // Saving refreshes the SLA clock (a higher priority may bring another policy)
                // and sets the next look itself.
                save_state(&self.db, &tx, ticket_id, ticket.version, &state, now, false).await?;
                record_changes(&self.db, &tx.tx, &who, now, ticket_id, &changes).await?;
                escalated = true;
            }
        }
        if !escalated {
            tx.tx
                .execute_raw(self.db.stmt("UPDATE tickets SET sla_check_at = ? WHERE id = ?", vec![plan.next_check.into(), ticket_id.into()]))
                .await?;
        }
        tx.commit().await
    }

    /// The assignee and the supervisors of the inbox, active ones only.
    async fn escalation_recipients<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64, assignee: Option<i64>) -> Result<Vec<i64>> {
        let rows: Vec<IdRow> = query_all(
            conn,
            self.db.stmt(
                "SELECT u.id FROM users u WHERE NOT u.disabled AND (u.id = ? OR (u.role = 'supervisor' AND \
                 EXISTS (SELECT 1 FROM inbox_members m WHERE m.user_id = u.id AND m.inbox_id = ?))) ORDER BY u.id",
                vec![assignee.into(), inbox_id.into()],
            ),
        )
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn snooze_round(&self, now: i64, report: &mut TimerReport) -> Result<()> {
        let due: Vec<NumberRow> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT number FROM tickets WHERE snoozed_until <= ? AND status IN ('new', 'open', 'pending', 'on_hold') \
                 AND merged_into IS NULL ORDER BY snoozed_until LIMIT ?",
                vec![now.into(), (BATCH as i64).into()],
            ),
        )
        .await?;
        report.fetched(due.len());
        for NumberRow { number } in due {
            let tx = self.db.write().await?;
            let row = load_ticket(&self.db, &tx.tx, number, true).await?;
            let mut state = row.state()?;
            if state.snoozed_until.is_none_or(|until| until.timestamp_micros() > now) || state.merged_into.is_some() {
                tx.commit().await?;
                continue;
            }
            let changes = ticket::end_snooze(&mut state, from_micros(now))?;
            save_state(&self.db, &tx, row.id, row.version, &state, now, false).await?;
            record_changes(&self.db, &tx.tx, &Who::system(), now, row.id, &changes).await?;
            tx.commit().await?;
            report.snoozes_ended += 1;
        }
        Ok(())
    }

    async fn reminder_round(&self, now: i64, report: &mut TimerReport) -> Result<()> {
        #[derive(FromQueryResult)]
        struct Due {
            id: i64,
            ticket_id: i64,
            user_id: i64,
            note: Option<String>,
            number: i64,
            subject: String,
        }
        let due: Vec<Due> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT r.id, r.ticket_id, r.user_id, r.note, t.number, t.subject FROM reminders r JOIN tickets t ON t.id = r.ticket_id \
                 WHERE r.fired_at IS NULL AND r.remind_at <= ? ORDER BY r.remind_at LIMIT ?",
                vec![now.into(), (BATCH as i64).into()],
            ),
        )
        .await?;
        report.fetched(due.len());
        for r in due {
            let tx = self.db.write().await?;
            let done = tx
                .tx
                .execute_raw(self.db.stmt("UPDATE reminders SET fired_at = ? WHERE id = ? AND fired_at IS NULL", vec![now.into(), r.id.into()]))
                .await?;
            if done.rows_affected() == 1 {
                let text = match r.note.as_deref() {
                    Some(note) => format!("Reminder on #{} {}: {note}", r.number, r.subject),
                    None => format!("Reminder on #{} {}", r.number, r.subject),
                };
                notify(&self.db, &tx.tx, &[r.user_id], Some(r.ticket_id), NotificationKind::Reminder, &text, now, false).await?;
                record(&self.db, &tx.tx, &Who::system(), now, NewEvent {
                    ticket_id: Some(r.ticket_id),
                    kind: "reminder.fired",
                    field: None,
                    before: serde_json::Value::Null,
                    after: json!({ "reminder_id": r.id, "user_id": r.user_id, "note": r.note }),
                })
                .await?;
                report.reminders_fired += 1;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn auto_solve_round(&self, now: i64, report: &mut TimerReport) -> Result<()> {
        #[derive(FromQueryResult)]
        struct Due {
            number: i64,
            days: i64,
        }
        let quiet_since = "COALESCE(t.last_agent_message_at, t.updated_at)";
        let due: Vec<Due> = query_all(
            self.db.connection(),
            self.db.stmt(
                &format!(
                    "SELECT t.number, i.auto_solve_after_days AS days FROM tickets t JOIN inboxes i ON i.id = t.inbox_id \
                     WHERE t.status = 'pending' AND t.merged_into IS NULL AND i.auto_solve_after_days IS NOT NULL \
                     AND {quiet_since} <= ? - i.auto_solve_after_days * {DAY} \
                     AND (t.last_customer_message_at IS NULL OR t.last_customer_message_at <= {quiet_since}) LIMIT ?"
                ),
                vec![now.into(), (BATCH as i64).into()],
            ),
        )
        .await?;
        report.fetched(due.len());
        for Due { number, days } in due {
            let tx = self.db.write().await?;
            let row = load_ticket(&self.db, &tx.tx, number, true).await?;
            let mut state = row.state()?;
            let quiet = row.last_agent_message_at.unwrap_or(row.updated_at);
            let customer_after = row.last_customer_message_at.is_some_and(|c| c > quiet);
            if state.status != proto::TicketStatus::Pending || customer_after || quiet > now - days * DAY {
                tx.commit().await?;
                continue;
            }
            let changes = ticket::auto_solve(&mut state, from_micros(now))?;
            let version = save_state_before_message(&self.db, &tx, row.id, row.version, &state, now).await?;
            let (in_reply_to, references) = self.thread_headers(&tx.tx, row.id).await?;
            let address = self.inbox_address(&tx.tx, row.inbox_id).await?;
            let who = Who::system();
            let message_id = insert_message(&self.db, &tx, now, NewMessage {
                ticket_id: row.id,
                kind: MessageKind::AutoReply,
                author: &who,
                body_text: ticket::auto_solve_notice(state.language.as_deref(), days),
                body_html: None,
                message_id: Some(outbound_message_id(number, &address)?),
                in_reply_to,
                references,
                delivery_state: Some(DeliveryState::Queued),
                ticket_version: version,
                mail: Some(MailExtras::default()),
                pipeline_pending: false,
                copies: Copies::default(),
            })
            .await?;
            record_changes(&self.db, &tx.tx, &who, now, row.id, &changes).await?;
            record(&self.db, &tx.tx, &who, now, NewEvent {
                ticket_id: Some(row.id),
                kind: "ticket.auto_solved",
                field: None,
                before: serde_json::Value::Null,
                after: json!({ "after_days": days, "message_id": message_id }),
            })
            .await?;
            tx.commit().await?;
            report.auto_solved += 1;
        }
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_batch_with_progress_asks_for_another_round() {
        let mut report = TimerReport::default();
        report.fetched(BATCH as usize - 1);
        report.snoozes_ended = 3;
        assert!(!report.more_due(), "a batch that was not full leaves nothing behind");
        report.fetched(BATCH as usize);
        assert!(report.more_due());
        let stuck = TimerReport { backlog: true, ..TimerReport::default() };
        assert!(stuck.is_empty() && !stuck.more_due(), "a full batch that changed nothing waits for the next period");
    }
}
