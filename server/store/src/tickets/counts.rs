//! Sizes of the sidebar views (`GET /api/v1/tickets/counts`): three aggregate queries over
//! the tickets the actor may see, the same on SQLite and PostgreSQL.

use sea_orm::FromQueryResult;
use tandem_domain::Actor;
use tandem_proto::{self as proto, TicketStatus};

use crate::{
    Store,
    contacts::visible_clause,
    db::{query_all, query_one},
    error::Result,
};

#[derive(FromQueryResult)]
struct Totals {
    unassigned: i64,
    mine: i64,
    open: i64,
    pending: i64,
    snoozed: i64,
    breached: i64,
    at_risk: i64,
    solved: i64,
}

#[derive(FromQueryResult)]
struct Group {
    id: i64,
    n: i64,
}

/// `('new', 'open')`: an SQL list of status names. They are our own constant names (lower
/// case and `_`), so writing them into the SQL is safe and keeps the statements short.
fn status_list(statuses: impl IntoIterator<Item = TicketStatus>) -> String {
    let names: Vec<String> = statuses
        .into_iter()
        .map(|s| {
            debug_assert!(s.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            format!("'{}'", s.as_str())
        })
        .collect();
    format!("({})", names.join(", "))
}

fn active_list() -> String {
    status_list(TicketStatus::ALL.iter().copied().filter(|s| s.is_active()))
}

impl Store {
    /// How many tickets each sidebar view holds, among those the actor may see (the scope of
    /// the ticket list); merged tickets are not counted. Inboxes and teams without active
    /// tickets are absent from the per-inbox and per-team lists.
    pub async fn ticket_counts(&self, actor: &Actor) -> Result<proto::ViewCounts> {
        let conn = self.db.connection();
        let now = self.now_micros();
        let scope = format!("t.merged_into IS NULL{}", visible_clause(actor, "t"));
        let active = active_list();
        let open = status_list([TicketStatus::New, TicketStatus::Open]);
        let totals_sql = format!(
            "SELECT \
             COUNT(CASE WHEN t.status IN {active} AND t.assignee_id IS NULL THEN 1 END) AS unassigned, \
             COUNT(CASE WHEN t.status IN {active} AND t.assignee_id = ? THEN 1 END) AS mine, \
             COUNT(CASE WHEN t.status IN {open} THEN 1 END) AS open, \
             COUNT(CASE WHEN t.status = '{pending}' THEN 1 END) AS pending, \
             COUNT(CASE WHEN t.status IN {active} AND t.snoozed_until > ? THEN 1 END) AS snoozed, \
             COUNT(CASE WHEN t.status IN {active} AND t.sla_due_at <= ? THEN 1 END) AS breached, \
             COUNT(CASE WHEN t.status IN {active} AND t.sla_due_at > ? AND t.sla_warn_at <= ? THEN 1 END) AS at_risk, \
             COUNT(CASE WHEN t.status = '{solved}' THEN 1 END) AS solved \
             FROM tickets t WHERE {scope}",
            pending = TicketStatus::Pending.as_str(),
            solved = TicketStatus::Solved.as_str(),
        );
        let totals: Option<Totals> =
            query_one(conn, self.db.stmt(&totals_sql, vec![actor.user_id.into(), now.into(), now.into(), now.into(), now.into()])).await?;
        let by = |column: &str| {
            format!(
                "SELECT t.{column} AS id, COUNT(*) AS n FROM tickets t \
                 WHERE {scope} AND t.status IN {active} AND t.{column} IS NOT NULL \
                 GROUP BY t.{column} ORDER BY t.{column}"
            )
        };
        let inboxes: Vec<Group> = query_all(conn, self.db.stmt(&by("inbox_id"), vec![])).await?;
        let teams: Vec<Group> = query_all(conn, self.db.stmt(&by("team_id"), vec![])).await?;
        let to_counts = |groups: Vec<Group>| groups.into_iter().map(|g| proto::ViewCount { id: g.id, count: g.n }).collect();
        let mut counts = proto::ViewCounts { inboxes: to_counts(inboxes), teams: to_counts(teams), ..Default::default() };
        if let Some(t) = totals {
            counts.unassigned = t.unassigned;
            counts.mine = t.mine;
            counts.open = t.open;
            counts.pending = t.pending;
            counts.snoozed = t.snoozed;
            counts.breached = t.breached;
            counts.at_risk = t.at_risk;
            counts.solved = t.solved;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_follow_the_enum() {
        assert_eq!(active_list(), "('new', 'open', 'pending', 'on_hold')");
        assert_eq!(status_list([TicketStatus::Solved]), "('solved')");
    }
}
