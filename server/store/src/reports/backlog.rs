//! The backlog's history. A ticket that is open (not solved, closed, spam or merged) counts
//! in the backlog under its inbox, team, assignee and channel, and once more under each of its
//! tags. Each such stretch of time is a spell in `ticket_backlog`, from the day it began to
//! the day it ended (`to_day` empty while it lasts); the pre-aggregates' `backlog` counter
//! moves by +1 on a spell's first day and by -1 on the day after its last, so the backlog at
//! the end of a day is the sum of that counter up to the day.
//!
//! Spells follow the ticket's figures ([`super::metrics::Facts`]): the spells a ticket has are
//! those of its figures, so a write compares the spells of the old and the new figures and
//! ends and begins only the ones that differ, on the day of the write.

use sea_orm::Value;

use super::metrics::{BACKLOG, Deltas, Facts, Key, Timing, combo_key, tag_key};
use crate::{db::Batch, error::Result, rows::parse_json};

/// One key a ticket counts under: the ticket itself (`tag` empty) or one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spell {
    tag: String,
    inbox_id: i64,
    team_id: i64,
    assignee_id: i64,
    channel: String,
}

impl Spell {
    /// The pre-aggregate table and key this spell's counter moves in.
    fn counts(&self, f: &Facts) -> (&'static str, Key<'static>) {
        if self.tag.is_empty() {
            ("report_counts", combo_key(f))
        } else {
            ("report_tag_counts", tag_key(self.inbox_id, self.tag.clone()))
        }
    }
}

/// Every key of a ticket's figures, open or not.
fn keys(f: &Facts) -> Result<Vec<Spell>> {
    let tags: Vec<String> = parse_json("ticket_metrics", "tags", &f.tags)?;
    let base = Spell {
        tag: String::new(),
        inbox_id: f.inbox_id,
        team_id: f.team_id.unwrap_or(0),
        assignee_id: f.assignee_id.unwrap_or(0),
        channel: f.channel.clone(),
    };
    let mut out = vec![base.clone()];
    out.extend(tags.into_iter().map(|tag| Spell { tag, ..base.clone() }));
    Ok(out)
}

/// The keys a ticket is in the backlog under: none once it is solved or gone.
fn open_keys(f: Option<&Facts>) -> Result<Vec<(Spell, &Facts)>> {
    match f.filter(|f| f.solved_day.is_none()) {
        Some(f) => Ok(keys(f)?.into_iter().map(|s| (s, f)).collect()),
        None => Ok(Vec::new()),
    }
}

/// Moves the backlog counter of a spell's key on `day` (written with the figures' other moves).
fn count(deltas: &mut Deltas, spell: &Spell, f: &Facts, day: i64, sign: i64) {
    let (table, key) = spell.counts(f);
    let mut values = [0; 16];
    values[BACKLOG] = 1;
    deltas.add_counts(table, day, &key, &values, sign);
}

fn begin(batch: &mut Batch, ticket_id: i64, s: &Spell, from: i64, to: Option<i64>) {
    let values: Vec<Value> = vec![
        ticket_id.into(),
        s.tag.clone().into(),
        s.inbox_id.into(),
        s.team_id.into(),
        s.assignee_id.into(),
        s.channel.clone().into(),
        from.into(),
        to.into(),
    ];
    batch.push(
        "INSERT INTO ticket_backlog (ticket_id, tag, inbox_id, team_id, assignee_id, channel, from_day, to_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    );
}

/// Removes a ticket's open spell under a tag that began on or after a day. `from_day + 0`
/// keeps SQLite's planner off `ticket_backlog_days` (`tag = ? AND from_day >= ?` would read
/// every spell of that tag begun since the day: all of a day's import, for each ticket
/// reassigned) and on the ticket's own rows.
const DROP_SPELL_BEGUN_SINCE: &str = "DELETE FROM ticket_backlog WHERE ticket_id = ? AND tag = ? AND to_day IS NULL AND from_day + 0 >= ?";

/// Ends the ticket's open spell under a tag on `day` (a spell that began that day leaves no trace).
fn end(batch: &mut Batch, ticket_id: i64, s: &Spell, day: i64) {
    batch.push(DROP_SPELL_BEGUN_SINCE, vec![ticket_id.into(), s.tag.clone().into(), day.into()]);
    batch.push(
        "UPDATE ticket_backlog SET to_day = ? WHERE ticket_id = ? AND tag = ? AND to_day IS NULL",
        vec![day.into(), ticket_id.into(), s.tag.clone().into()],
    );
}

/// Brings a ticket's spells in step with its new figures: the statements go to `batch` and
/// the backlog counters' moves to `deltas`, which the caller writes.
pub(crate) fn follow(
    batch: &mut Batch,
    ticket_id: i64,
    old: Option<&Facts>,
    new: Option<&Facts>,
    timing: Timing,
    deltas: &mut Deltas,
) -> Result<()> {
    match timing {
        Timing::Backfill => {
            batch.push("DELETE FROM ticket_backlog WHERE ticket_id = ?", vec![ticket_id.into()]);
            let Some(f) = new else { return Ok(()) };
            let to = f.solved_day.map(|d| d.max(f.created_day));
            if to == Some(f.created_day) {
                return Ok(()); // Solved the day it came: never in a day-end backlog.
            }
            for spell in keys(f)? {
                begin(batch, ticket_id, &spell, f.created_day, to);
                count(deltas, &spell, f, f.created_day, 1);
                if let Some(to) = to {
                    count(deltas, &spell, f, to, -1);
                }
            }
        }
        Timing::Live(today) => {
            let (before, after) = (open_keys(old)?, open_keys(new)?);
            for (spell, f) in &before {
                if !after.iter().any(|(s, _)| s == spell) {
                    end(batch, ticket_id, spell, today);
                    count(deltas, spell, f, today, -1);
                }
            }
            for (spell, f) in &after {
                if !before.iter().any(|(s, _)| s == spell) {
                    begin(batch, ticket_id, spell, today, None);
                    count(deltas, spell, f, today, 1);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

    use crate::testing::{Backend, clock, fresh_database, open_store};

    /// Ending a spell reads the ticket's own rows, not the day's: with the days index a
    /// reassignment during a large import read every spell begun that day (the import slowed
    /// with its length).
    #[tokio::test]
    async fn ending_a_spell_reads_only_the_tickets_rows() {
        let db = fresh_database(Backend::Sqlite).await;
        let store = open_store(&db, clock()).await;
        let sql = super::DROP_SPELL_BEGUN_SINCE.replacen('?', "7", 1).replacen('?', "''", 1).replacen('?', "20000", 1);
        let plan = store.db.connection().query_all_raw(Statement::from_string(DatabaseBackend::Sqlite, format!("EXPLAIN QUERY PLAN {sql}"))).await.expect("plan");
        let details: Vec<String> = plan.iter().map(|row| row.try_get::<String>("", "detail").expect("detail")).collect();
        assert!(details.iter().any(|d| d.contains("ticket_backlog_ticket")) && !details.iter().any(|d| d.contains("ticket_backlog_days")), "{details:?}");
    }
}
