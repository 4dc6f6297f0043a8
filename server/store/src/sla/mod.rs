//! Service levels in storage: the policies and calendars (`config.rs`) and each ticket's SLA
//! clock, refreshed inside every transaction that changes the ticket (`refresh_ticket`, called
//! by `insert_ticket` and `save_state`), so due times never lag behind the ticket. The rules
//! themselves (matching, business hours, pauses) are in `tandem_domain::sla`.

mod config;

use std::{collections::HashMap, sync::Arc};

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use tandem_domain::sla::{BusinessCalendar, Hours, Policy, Progress, SlaClock, TicketFacts, clock, select};
use tandem_proto::{self as proto, SlaEscalation, TicketStatus, WorkingHours};

use crate::{
    Store,
    db::{Db, WriteTx, from_micros, query_all, query_one},
    reports::metrics::{MetricsInput, Timing},
    error::Result,
    events::{NewEvent, Who, record},
    rows::{parse, parse_json},
};

/// The enabled policies in order, and the hours of every calendar.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub policies: Vec<Policy>,
    hours: HashMap<i64, Hours>,
}

impl Rules {
    pub fn hours(&self, policy: &Policy) -> &Hours {
        policy.calendar_id.and_then(|id| self.hours.get(&id)).unwrap_or(&Hours::Always)
    }

    pub fn policy(&self, id: Option<i64>) -> Option<&Policy> {
        id.and_then(|id| self.policies.iter().find(|p| p.id == id))
    }
}

#[derive(Debug, FromQueryResult)]
pub(crate) struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub position: i64,
    pub enabled: bool,
    pub inbox_id: Option<i64>,
    pub priority: Option<String>,
    pub tag: Option<String>,
    pub company: Option<String>,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    pub calendar_id: Option<i64>,
    pub warn_before_minutes: i64,
    pub escalation: String,
}

impl PolicyRow {
    pub fn into_proto(self) -> Result<proto::SlaPolicy> {
        Ok(proto::SlaPolicy {
            id: self.id,
            name: self.name,
            position: self.position,
            enabled: self.enabled,
            inbox_id: self.inbox_id,
            priority: self.priority.as_deref().map(|p| parse("sla_policies", "priority", p)).transpose()?,
            tag: self.tag,
            company: self.company,
            first_response_minutes: self.first_response_minutes,
            next_response_minutes: self.next_response_minutes,
            resolution_minutes: self.resolution_minutes,
            calendar_id: self.calendar_id,
            warn_before_minutes: self.warn_before_minutes,
            escalation: parse_json::<SlaEscalation>("sla_policies", "escalation", &self.escalation)?,
        })
    }

    fn into_domain(self) -> Result<Policy> {
        let p = self.into_proto()?;
        Ok(Policy {
            id: p.id,
            name: p.name,
            inbox_id: p.inbox_id,
            priority: p.priority,
            tag: p.tag,
            company: p.company,
            first_response_minutes: p.first_response_minutes,
            next_response_minutes: p.next_response_minutes,
            resolution_minutes: p.resolution_minutes,
            calendar_id: p.calendar_id,
            warn_before_minutes: p.warn_before_minutes,
            escalation: p.escalation,
        })
    }
}

pub(crate) const POLICY_SELECT: &str = "SELECT id, name, position, enabled, inbox_id, priority, tag, company, first_response_minutes, \
    next_response_minutes, resolution_minutes, calendar_id, warn_before_minutes, escalation FROM sla_policies";

#[derive(Debug, FromQueryResult)]
pub(crate) struct CalendarRow {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub hours: String,
    pub holidays: String,
}

impl CalendarRow {
    pub fn into_proto(self) -> Result<proto::Calendar> {
        Ok(proto::Calendar {
            id: self.id,
            name: self.name,
            time_zone: self.time_zone,
            hours: parse_json::<Vec<WorkingHours>>("sla_calendars", "hours", &self.hours)?,
            holidays: parse_json("sla_calendars", "holidays", &self.holidays)?,
        })
    }
}

/// Loads the enabled policies and the calendars they use.
pub(crate) async fn load_rules<C: ConnectionTrait>(db: &Db, conn: &C) -> Result<Rules> {
    let rows: Vec<PolicyRow> = query_all(conn, db.stmt(&format!("{POLICY_SELECT} WHERE enabled ORDER BY position, id"), vec![])).await?;
    if rows.is_empty() {
        return Ok(Rules::default());
    }
    let policies = rows.into_iter().map(PolicyRow::into_domain).collect::<Result<Vec<_>>>()?;
    let calendars: Vec<CalendarRow> =
        query_all(conn, db.stmt("SELECT id, name, time_zone, hours, holidays FROM sla_calendars", vec![])).await?;
    let mut hours = HashMap::new();
    for row in calendars {
        let id = row.id;
        let calendar = row.into_proto()?;
        // A stored calendar was checked when it was saved; one that no longer parses (a time
        // zone dropped from the database) falls back to calendar hours rather than failing
        // every ticket write.
        if let Ok(business) = BusinessCalendar::new(&calendar.time_zone, &calendar.hours, &calendar.holidays) {
            hours.insert(id, Hours::Business(business));
        }
    }
    Ok(Rules { policies, hours })
}

#[derive(Debug, FromQueryResult)]
struct ClockRow {
    inbox_id: i64,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    solved_at: Option<i64>,
    merged_into: Option<i64>,
    replies: i64,
    by_email: i64,
    status: String,
    priority: String,
    tags: String,
    created_at: i64,
    first_response_at: Option<i64>,
    last_customer_message_at: Option<i64>,
    last_agent_message_at: Option<i64>,
    sla_policy_id: Option<i64>,
    sla_used: i64,
    sla_running_since: Option<i64>,
    sla_first_response_due: Option<i64>,
    sla_next_response_due: Option<i64>,
    sla_resolution_due: Option<i64>,
    sla_warn_at: Option<i64>,
    sla_next_met: i64,
    sla_next_breached: i64,
    company: Option<String>,
    rating: Option<String>,
    rated_at: Option<i64>,
}

impl ClockRow {
    fn clock(&self) -> SlaClock {
        SlaClock {
            policy_id: self.sla_policy_id,
            used: self.sla_used,
            running_since: self.sla_running_since,
            first_response_due: self.sla_first_response_due,
            next_response_due: self.sla_next_response_due,
            resolution_due: self.sla_resolution_due,
        }
    }
}

/// Brings a ticket's SLA clock and its report figures up to date with its state (inside the
/// caller's transaction).
pub(crate) async fn refresh_ticket(db: &Db, tx: &WriteTx, ticket_id: i64, now: i64) -> Result<()> {
    let rules = tx_rules(db, tx).await?;
    refresh_with(db, tx, &rules, ticket_id, now, Timing::Live(tandem_domain::report::day_of(now))).await
}

/// The rules as this transaction last loaded them: loaded once, not at every ticket it saves
/// (a group of ten emails saves each ticket at least once). A transaction that changes the
/// policies loads them again afterwards ([`refresh_all`]).
async fn tx_rules(db: &Db, tx: &WriteTx) -> Result<Arc<Rules>> {
    if let Some(rules) = tx.memo().sla_rules.clone() {
        return Ok(rules);
    }
    let rules = Arc::new(load_rules(db, &tx.tx).await?);
    tx.memo().sla_rules = Some(Arc::clone(&rules));
    Ok(rules)
}

pub(crate) async fn refresh_with(db: &Db, tx: &WriteTx, rules: &Rules, ticket_id: i64, now: i64, timing: Timing) -> Result<()> {
    let conn = &tx.tx;
    let row: Option<ClockRow> = query_one(
        conn,
        db.stmt(
            "SELECT t.status, t.priority, t.inbox_id, t.team_id, t.assignee_id, t.solved_at, t.merged_into, t.tags, t.created_at, \
             t.first_response_at, t.last_customer_message_at, t.last_agent_message_at, t.sla_policy_id, t.sla_used, \
             t.sla_running_since, t.sla_first_response_due, t.sla_next_response_due, t.sla_resolution_due, t.sla_warn_at, \
             t.sla_next_met, t.sla_next_breached, c.company, r.rating, r.rated_at, \
             (SELECT COUNT(*) FROM messages m WHERE m.ticket_id = t.id AND m.kind = 'reply') AS replies, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.kind = 'inbound' AND m.message_id IS NOT NULL) \
             THEN 1 ELSE 0 END AS BIGINT) AS by_email \
             FROM tickets t JOIN contacts c ON c.id = t.contact_id LEFT JOIN csat_ratings r ON r.ticket_id = t.id WHERE t.id = ?",
            vec![ticket_id.into()],
        ),
    )
    .await?;
    let Some(row) = row else { return Ok(()) };
    let status: TicketStatus = parse("tickets", "status", &row.status)?;
    let tags: Vec<String> = parse_json("tickets", "tags", &row.tags)?;
    let mut metrics = MetricsInput {
        ticket_id,
        inbox_id: row.inbox_id,
        team_id: row.team_id,
        assignee_id: row.assignee_id,
        status,
        created_at: row.created_at,
        first_response_at: row.first_response_at,
        solved_at: row.solved_at,
        merged: row.merged_into.is_some(),
        replies: row.replies,
        by_email: row.by_email != 0,
        tags: tags.clone(),
        next_met: row.sla_next_met,
        next_breached: row.sla_next_breached,
        rating: row.rating.clone(),
        rated_at: row.rated_at,
    };
    if rules.policies.is_empty() && row.sla_policy_id.is_none() {
        return crate::reports::metrics::write(db, tx, &metrics, None, &Hours::Always, &row.clock(), timing).await;
    }
    let facts = TicketFacts {
        inbox_id: row.inbox_id,
        priority: parse("tickets", "priority", &row.priority)?,
        tags: &tags,
        company: row.company.as_deref(),
    };
    let policy = select(&rules.policies, &facts);
    let progress = Progress {
        status,
        created_at: row.created_at,
        first_response_at: row.first_response_at,
        last_customer_message_at: row.last_customer_message_at,
        last_agent_message_at: row.last_agent_message_at,
    };
    let before = row.clock();
    let hours = policy.map(|p| rules.hours(p)).unwrap_or(&Hours::Always);
    let after = before.refresh(policy, hours, &progress, now);
    let warn_at = policy.and_then(|p| after.warn_at(p.warn_before_minutes));
    if let Some(met) = next_response_answered(db, conn, ticket_id, &before, &progress).await? {
        let column = if met { "sla_next_met" } else { "sla_next_breached" };
        conn.execute_raw(db.stmt(&format!("UPDATE tickets SET {column} = {column} + 1 WHERE id = ?"), vec![ticket_id.into()])).await?;
        if met {
            metrics.next_met += 1;
        } else {
            metrics.next_breached += 1;
        }
    }
    crate::reports::metrics::write(db, tx, &metrics, policy, hours, &after, timing).await?;
    if after == before && warn_at == row.sla_warn_at {
        return Ok(());
    }
    conn.execute_raw(db.stmt(
        "UPDATE tickets SET sla_policy_id = ?, sla_used = ?, sla_running_since = ?, sla_first_response_due = ?, \
         sla_next_response_due = ?, sla_resolution_due = ?, sla_due_at = ?, sla_warn_at = ?, sla_check_at = ? WHERE id = ?",
        vec![
            after.policy_id.into(),
            after.used.into(),
            after.running_since.into(),
            after.first_response_due.into(),
            after.next_response_due.into(),
            after.resolution_due.into(),
            after.due_at().into(),
            warn_at.into(),
            // The scheduler looks at the earliest warning time (the due time when there is no
            // warning margin) and plans from there with the alerts already raised.
            warn_at.into(),
            ticket_id.into(),
        ],
    ))
    .await?;
    if after.policy_id != before.policy_id {
        record(db, conn, &Who::system(), now, NewEvent {
            ticket_id: Some(ticket_id),
            kind: "sla.policy",
            field: Some("sla_policy"),
            before: json!(before.policy_id),
            after: json!({ "policy_id": after.policy_id, "name": policy.map(|p| p.name.clone()) }),
        })
        .await?;
    }
    Ok(())
}

/// Whether this write answered a customer who was owed a next response, and if so whether in
/// time (`Some(true)`) or late (`Some(false)`). A late answer whose breach the scheduler
/// already counted (`sla_alerts`) is not counted again (`None`).
async fn next_response_answered<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64, before: &SlaClock, t: &Progress) -> Result<Option<bool>> {
    let (Some(due), Some(answer)) = (before.next_response_due, t.last_agent_message_at) else { return Ok(None) };
    if t.last_customer_message_at.is_some_and(|customer| customer > answer) {
        return Ok(None); // Still waiting for the answer.
    }
    if answer <= due {
        return Ok(Some(true));
    }
    let counted: Option<Counter> = query_one(
        conn,
        db.stmt(
            "SELECT COUNT(*) AS value FROM sla_alerts WHERE ticket_id = ? AND target = 'next_response' AND kind = 'breach' AND due_at = ?",
            vec![ticket_id.into(), due.into()],
        ),
    )
    .await?;
    Ok((counted.map_or(0, |c| c.value) == 0).then_some(false))
}

/// Re-evaluates every ticket that is or may come under a policy (after a policy or calendar
/// changed), in the caller's transaction.
pub(crate) async fn refresh_all(db: &Db, tx: &WriteTx, now: i64) -> Result<u64> {
    let conn = &tx.tx;
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let rules = Arc::new(load_rules(db, conn).await?);
    tx.memo().sla_rules = Some(Arc::clone(&rules));
    let ids: Vec<Id> = query_all(
        conn,
        db.stmt(
            "SELECT id FROM tickets WHERE merged_into IS NULL AND status IN ('new', 'open', 'pending', 'on_hold')",
            vec![],
        ),
    )
    .await?;
    let timing = Timing::Live(tandem_domain::report::day_of(now));
    for Id { id } in &ids {
        refresh_with(db, tx, &rules, *id, now, timing).await?;
    }
    Ok(ids.len() as u64)
}

/// The SLA block of a ticket on the wire, from its stored columns.
pub(crate) fn ticket_sla(
    policy: Option<(i64, String)>,
    dues: [Option<i64>; 3],
    due_at: Option<i64>,
    warn_at: Option<i64>,
    now: i64,
) -> Option<proto::TicketSla> {
    let (policy_id, policy_name) = policy?;
    let state = clock::state(true, due_at, warn_at, now)?;
    Some(proto::TicketSla {
        policy_id,
        policy_name,
        state,
        first_response_due_at: dues[0].map(from_micros),
        next_response_due_at: dues[1].map(from_micros),
        resolution_due_at: dues[2].map(from_micros),
        due_at: due_at.map(from_micros),
    })
}

/// The version of the report figures' definition: a change re-computes every ticket's row.
/// Version 2: backlog spells, next-response compliance, ratings in the pre-aggregates.
const METRICS_VERSION: i64 = 2;

#[derive(Debug, FromQueryResult)]
struct Counter {
    value: i64,
}

impl Store {
    /// Computes every ticket's report figures (and SLA clock) when the stored ones are from an
    /// older definition or missing (the first start after an upgrade).
    pub(crate) async fn ensure_ticket_metrics(&self) -> Result<u64> {
        let current: Option<Counter> =
            query_one(self.db.connection(), self.db.stmt("SELECT value FROM counters WHERE name = 'ticket_metrics_version'", vec![])).await?;
        if current.map(|c| c.value) == Some(METRICS_VERSION) {
            return Ok(0);
        }
        self.rebuild_ticket_metrics().await
    }

    /// Recomputes every ticket's SLA clock and report figures with the code every ticket write
    /// runs, 500 tickets per transaction, into emptied pre-aggregates; returns how many tickets
    /// it visited. Backlog spells are rebuilt from creation to solving (the history of earlier
    /// reopenings is not kept in the tickets), and the start-up runs this only when the
    /// definition of the figures changed.
    pub async fn rebuild_ticket_metrics(&self) -> Result<u64> {
        #[derive(FromQueryResult)]
        struct Id {
            id: i64,
        }
        let now = self.now_micros();
        let mut after = 0i64;
        let mut done = 0u64;
        let tx = self.db.write().await?;
        for table in ["report_counts", "report_hist", "report_tag_counts", "report_tag_hist", "ticket_backlog"] {
            tx.tx.execute_unprepared(&format!("DELETE FROM {table}")).await?;
        }
        tx.commit().await?;
        loop {
            let tx = self.db.write().await?;
            let rules = load_rules(&self.db, &tx.tx).await?;
            let batch: Vec<Id> = query_all(&tx.tx, self.db.stmt("SELECT id FROM tickets WHERE id > ? ORDER BY id LIMIT 500", vec![after.into()])).await?;
            for Id { id } in &batch {
                refresh_with(&self.db, &tx, &rules, *id, now, Timing::Backfill).await?;
            }
            if batch.is_empty() {
                tx.tx
                    .execute_raw(self.db.stmt("UPDATE counters SET value = ? WHERE name = 'ticket_metrics_version'", vec![METRICS_VERSION.into()]))
                    .await?;
                tx.commit().await?;
                return Ok(done);
            }
            after = batch.last().map_or(after, |b| b.id);
            done += batch.len() as u64;
            tx.commit().await?;
        }
    }
}
