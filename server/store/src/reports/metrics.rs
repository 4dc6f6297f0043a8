//! One row of figures per ticket (`ticket_metrics`), rewritten in every transaction that
//! changes the ticket (next to its SLA clock): the days it was created and solved, its first
//! response and resolution times in the hours of its SLA calendar, with their histogram
//! buckets, its replies, its channel, its tags, and whether it met its SLA targets.
//!
//! Every change of a row also moves the pre-aggregates (`report_counts`; `report_hist` per
//! week and per month; their per-tag twins) by the difference between the old and the new
//! figures, so reports over a year read a few thousand pre-aggregated rows instead of every
//! ticket.
//!
//! The backlog is history, not a difference: `ticket_backlog` holds each spell a ticket spent
//! open under one key (its inbox, team, assignee, channel, and each of its tags), opened and
//! closed on the day of the change (see [`Timing`]), and the `backlog` counter moves by +1 on
//! the day a spell starts and -1 on the day it ends. A ticket solved on Monday and reopened on
//! Friday is out of the backlog from Monday to Thursday, whatever happens to it later.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use tandem_domain::{
    report::{bucket, day_of, month_start, week_start},
    sla::{Hours, MINUTE, Policy, SlaClock},
};
use tandem_proto::TicketStatus;

use crate::{
    db::{Batch, Db, WriteTx, query_one},
    error::Result,
    rows::{json, parse_json},
};

/// What the figures of one ticket are computed from.
#[derive(Debug, Clone)]
pub(crate) struct MetricsInput {
    pub ticket_id: i64,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: TicketStatus,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub solved_at: Option<i64>,
    pub merged: bool,
    pub replies: i64,
    pub by_email: bool,
    pub tags: Vec<String>,
    /// Next-response targets met and breached so far (kept on the ticket).
    pub next_met: i64,
    pub next_breached: i64,
    /// The customer's satisfaction rating (`good`/`okay`/`bad`) and when it was given.
    pub rating: Option<String>,
    pub rated_at: Option<i64>,
}

/// When the backlog changes a write causes happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timing {
    /// A live write: whatever changes, changes on this day.
    Live(i64),
    /// A recomputation from scratch (an upgrade, a bulk load): the pre-aggregates were
    /// emptied, and the ticket's spell in the backlog runs from its creation to its solving.
    Backfill,
}

/// A ticket's figures, as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub(crate) struct Facts {
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub channel: String,
    pub created_day: i64,
    pub solved_day: Option<i64>,
    pub first_response_secs: Option<i64>,
    pub first_response_bucket: Option<i64>,
    pub resolution_secs: Option<i64>,
    pub resolution_bucket: Option<i64>,
    pub replies: i64,
    pub sla_first_response_met: Option<i64>,
    pub sla_resolution_met: Option<i64>,
    pub tags: String,
    pub next_met: i64,
    pub next_breached: i64,
    pub rating: Option<String>,
    pub rated_day: Option<i64>,
}

/// The figures of a ticket under its policy and hours; `None` for spam and merged tickets,
/// which reports leave out. SLA flags already set (a breach the scheduler raised) are kept
/// when the ticket does not decide them anew.
fn compute(m: &MetricsInput, policy: Option<&Policy>, hours: &Hours, clock: &SlaClock, old: Option<&Facts>) -> Option<Facts> {
    if m.merged || m.status == TicketStatus::Spam {
        return None;
    }
    let seconds = |to: i64| hours.elapsed(m.created_at, to) / 1_000_000;
    let solved_at = m.solved_at.filter(|_| matches!(m.status, TicketStatus::Solved | TicketStatus::Closed));
    let first_response = m.first_response_at.map(seconds);
    let resolution = solved_at.map(seconds);
    let first_met = match (policy.and_then(|p| p.first_response_minutes), m.first_response_at) {
        (Some(target), Some(at)) => Some(hours.elapsed(m.created_at, at) <= target * MINUTE),
        _ => None,
    };
    let resolution_met = match (policy.and_then(|p| p.resolution_minutes), solved_at) {
        (Some(target), Some(_)) => Some(clock.used <= target * MINUTE),
        _ => None,
    };
    let mut tags = m.tags.clone();
    tags.sort();
    tags.dedup();
    Some(Facts {
        inbox_id: m.inbox_id,
        team_id: m.team_id,
        assignee_id: m.assignee_id,
        channel: if m.by_email { "email" } else { "api" }.to_owned(),
        created_day: day_of(m.created_at),
        solved_day: solved_at.map(day_of),
        first_response_secs: first_response,
        first_response_bucket: first_response.map(bucket),
        resolution_secs: resolution,
        resolution_bucket: resolution.map(bucket),
        replies: m.replies,
        sla_first_response_met: first_met.map(i64::from).or_else(|| old.and_then(|o| o.sla_first_response_met)),
        sla_resolution_met: resolution_met.map(i64::from).or_else(|| old.and_then(|o| o.sla_resolution_met)),
        tags: json(&tags),
        next_met: m.next_met,
        next_breached: m.next_breached,
        rating: m.rating.clone().filter(|_| m.rated_at.is_some()),
        rated_day: m.rated_at.filter(|_| m.rating.is_some()).map(day_of),
    })
}

/// A ticket's stored figures: as this transaction last wrote them (or knows them absent),
/// else as the database has them.
async fn load(db: &Db, tx: &WriteTx, ticket_id: i64) -> Result<Option<Facts>> {
    if let Some(known) = tx.memo().figures.get(&ticket_id) {
        return Ok(known.clone());
    }
    query_one(
        &tx.tx,
        db.stmt(
            "SELECT inbox_id, team_id, assignee_id, channel, created_day, solved_day, first_response_secs, first_response_bucket, \
             resolution_secs, resolution_bucket, replies, sla_first_response_met, sla_resolution_met, tags, next_met, next_breached, \
             rating, rated_day FROM ticket_metrics WHERE ticket_id = ?",
            vec![ticket_id.into()],
        ),
    )
    .await
}

/// Stores a ticket's new figures (or removes them), moves the pre-aggregates by the
/// difference and follows its spells in the backlog. Nothing is written when nothing changed
/// (in a live write).
async fn replace(db: &Db, tx: &WriteTx, ticket_id: i64, old: Option<Facts>, new: Option<Facts>, timing: Timing) -> Result<()> {
    if old == new && timing != Timing::Backfill {
        return Ok(());
    }
    tx.memo().figures.insert(ticket_id, new.clone());
    // Every statement below is a write nobody reads the answer of: one batch.
    let mut batch = Batch::new(db);
    let mut deltas = Deltas::default();
    if let (Some(old), Timing::Live(_)) = (&old, timing) {
        deltas.aggregate(old, -1)?;
    }
    match &new {
        None => {
            batch.push("DELETE FROM ticket_metrics WHERE ticket_id = ?", vec![ticket_id.into()]);
        }
        Some(f) => {
            batch.push(
                "INSERT INTO ticket_metrics (ticket_id, inbox_id, team_id, assignee_id, channel, created_day, solved_day, first_response_secs, \
                 first_response_bucket, resolution_secs, resolution_bucket, replies, sla_first_response_met, sla_resolution_met, tags, \
                 next_met, next_breached, rating, rated_day) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO UPDATE SET inbox_id = excluded.inbox_id, \
                 team_id = excluded.team_id, assignee_id = excluded.assignee_id, channel = excluded.channel, created_day = excluded.created_day, \
                 solved_day = excluded.solved_day, first_response_secs = excluded.first_response_secs, \
                 first_response_bucket = excluded.first_response_bucket, resolution_secs = excluded.resolution_secs, \
                 resolution_bucket = excluded.resolution_bucket, replies = excluded.replies, \
                 sla_first_response_met = excluded.sla_first_response_met, sla_resolution_met = excluded.sla_resolution_met, tags = excluded.tags, \
                 next_met = excluded.next_met, next_breached = excluded.next_breached, rating = excluded.rating, rated_day = excluded.rated_day",
                vec![
                    ticket_id.into(),
                    f.inbox_id.into(),
                    f.team_id.into(),
                    f.assignee_id.into(),
                    f.channel.clone().into(),
                    f.created_day.into(),
                    f.solved_day.into(),
                    f.first_response_secs.into(),
                    f.first_response_bucket.into(),
                    f.resolution_secs.into(),
                    f.resolution_bucket.into(),
                    f.replies.into(),
                    f.sla_first_response_met.into(),
                    f.sla_resolution_met.into(),
                    f.tags.clone().into(),
                    f.next_met.into(),
                    f.next_breached.into(),
                    f.rating.clone().into(),
                    f.rated_day.into(),
                ],
            );
            deltas.aggregate(f, 1)?;
        }
    }
    crate::reports::backlog::follow(&mut batch, ticket_id, old.as_ref(), new.as_ref(), timing, &mut deltas)?;
    deltas.write(&mut batch);
    batch.run(&tx.tx).await
}

/// The counters of the pre-aggregates, in the order [`counters`] fills them.
pub(crate) const COUNTERS: [&str; 16] = [
    "created",
    "fr_n",
    "fr_secs",
    "fr_met",
    "fr_breached",
    "solved",
    "res_secs",
    "res_met",
    "res_breached",
    "replies",
    "next_met",
    "next_breached",
    "csat_good",
    "csat_okay",
    "csat_bad",
    "backlog",
];

/// Index of the `backlog` counter, which [`crate::reports::backlog`] moves.
pub(crate) const BACKLOG: usize = 15;

/// The counters one ticket adds, per day: its creation day (the ticket, its first response),
/// its solving day (resolution, replies, next responses) and the day it was rated. The
/// backlog counter is not among them (see [`crate::reports::backlog`]).
fn counters(f: &Facts) -> Vec<(i64, [i64; 16])> {
    let is = |v: Option<i64>, want: i64| i64::from(v == Some(want));
    let mut created = [0; 16];
    created[..5].copy_from_slice(&[
        1,
        i64::from(f.first_response_secs.is_some()),
        f.first_response_secs.unwrap_or(0),
        is(f.sla_first_response_met, 1),
        is(f.sla_first_response_met, 0),
    ]);
    let mut days = vec![(f.created_day, created)];
    if let Some(day) = f.solved_day {
        let mut solved = [0; 16];
        solved[5..12].copy_from_slice(&[
            1,
            f.resolution_secs.unwrap_or(0),
            is(f.sla_resolution_met, 1),
            is(f.sla_resolution_met, 0),
            f.replies,
            f.next_met,
            f.next_breached,
        ]);
        days.push((day, solved));
    }
    if let (Some(day), Some(rating)) = (f.rated_day, f.rating.as_deref()) {
        let mut rated = [0; 16];
        rated[match rating {
            "good" => 12,
            "okay" => 13,
            _ => 14,
        }] = 1;
        days.push((day, rated));
    }
    // One write per day: the sides that fall on the same day are added up.
    let mut merged: Vec<(i64, [i64; 16])> = Vec::with_capacity(days.len());
    for (day, values) in days {
        match merged.iter_mut().find(|(d, _)| *d == day) {
            Some((_, sum)) => sum.iter_mut().zip(values).for_each(|(s, v)| *s += v),
            None => merged.push((day, values)),
        }
    }
    merged
}

/// The key columns of a pre-aggregate row with their values.
pub(crate) type Key<'a> = Vec<(&'a str, Value)>;

/// The key of the per-tag pre-aggregates.
pub(crate) fn tag_key(inbox_id: i64, tag: String) -> Key<'static> {
    vec![("inbox_id", inbox_id.into()), ("tag", tag.into())]
}

/// The key of the per-combination pre-aggregates for a ticket's figures.
pub(crate) fn combo_key(f: &Facts) -> Key<'static> {
    vec![
        ("inbox_id", f.inbox_id.into()),
        ("team_id", f.team_id.unwrap_or(0).into()),
        ("assignee_id", f.assignee_id.unwrap_or(0).into()),
        ("channel", f.channel.clone().into()),
    ]
}

/// Moves of the pre-aggregates, netted in memory (a reassignment takes a ticket's figures
/// from one row and adds them to another; the rows it does not change cancel out) and
/// written with one statement per table.
#[derive(Debug, Default)]
pub(crate) struct Deltas {
    counts: Vec<CountsMove>,
    hist: Vec<HistMove>,
}

/// A move of one day's counters under one key.
#[derive(Debug)]
struct CountsMove {
    table: &'static str,
    day: i64,
    key: Key<'static>,
    values: [i64; 16],
}

/// A move of one histogram bucket: (span, period), key, side, bucket, by `n`.
#[derive(Debug)]
struct HistMove {
    table: &'static str,
    period: (&'static str, i64),
    key: Key<'static>,
    side: &'static str,
    bucket: i64,
    n: i64,
}

impl Deltas {
    /// Adds (`sign` 1) or takes away (`sign` -1) one ticket's figures.
    fn aggregate(&mut self, f: &Facts, sign: i64) -> Result<()> {
        let tags: Vec<String> = parse_json("ticket_metrics", "tags", &f.tags)?;
        let mut keys: Vec<(&'static str, &'static str, Key<'static>)> = vec![("report_counts", "report_hist", combo_key(f))];
        for tag in tags {
            keys.push(("report_tag_counts", "report_tag_hist", tag_key(f.inbox_id, tag)));
        }
        let days = counters(f);
        for (counts_table, hist_table, key) in keys {
            for (day, values) in &days {
                self.add_counts(counts_table, *day, &key, values, sign);
            }
            let mut durations = Vec::new();
            if let Some(b) = f.first_response_bucket {
                durations.push((f.created_day, "fr", b));
            }
            if let (Some(day), Some(b)) = (f.solved_day, f.resolution_bucket) {
                durations.push((day, "res", b));
            }
            for (day, side, b) in durations {
                self.add_hist(hist_table, ("week", week_start(day)), &key, side, b, sign);
                self.add_hist(hist_table, ("month", month_start(day)), &key, side, b, sign);
            }
        }
        Ok(())
    }

    pub(crate) fn add_counts(&mut self, table: &'static str, day: i64, key: &Key<'static>, values: &[i64; 16], sign: i64) {
        let at = match self.counts.iter().position(|m| m.table == table && m.day == day && m.key == *key) {
            Some(i) => i,
            None => {
                self.counts.push(CountsMove { table, day, key: key.clone(), values: [0; 16] });
                self.counts.len() - 1
            }
        };
        self.counts[at].values.iter_mut().zip(values).for_each(|(sum, v)| *sum += v * sign);
    }

    fn add_hist(&mut self, table: &'static str, period: (&'static str, i64), key: &Key<'static>, side: &'static str, bucket: i64, sign: i64) {
        match self.hist.iter_mut().find(|m| m.table == table && m.period == period && m.key == *key && m.side == side && m.bucket == bucket) {
            Some(m) => m.n += sign,
            None => self.hist.push(HistMove { table, period, key: key.clone(), side, bucket, n: sign }),
        }
    }

    /// One multi-row upsert per table, of the rows that move.
    fn write(self, batch: &mut Batch) {
        let counts: Vec<_> = self.counts.into_iter().filter(|m| m.values.iter().any(|&v| v != 0)).collect();
        for table in tables(counts.iter().map(|m| m.table)) {
            let rows: Vec<_> = counts.iter().filter(|m| m.table == table).collect();
            let key_columns: Vec<&str> = rows[0].key.iter().map(|(c, _)| *c).collect();
            let updates: Vec<String> = COUNTERS.iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect();
            let sql = format!(
                "INSERT INTO {table} (day, {}, {}) VALUES {} ON CONFLICT (day, {}) DO UPDATE SET {}",
                key_columns.join(", "),
                COUNTERS.join(", "),
                crate::db::value_rows(1 + key_columns.len() + COUNTERS.len(), rows.len()),
                key_columns.join(", "),
                updates.join(", ")
            );
            let mut params: Vec<Value> = Vec::new();
            for m in rows {
                params.push(m.day.into());
                params.extend(m.key.iter().map(|(_, v)| v.clone()));
                params.extend(m.values.iter().map(|&v| Value::from(v)));
            }
            batch.push(&sql, params);
        }
        let hist: Vec<_> = self.hist.into_iter().filter(|m| m.n != 0).collect();
        for table in tables(hist.iter().map(|m| m.table)) {
            let rows: Vec<_> = hist.iter().filter(|m| m.table == table).collect();
            let key_columns: Vec<&str> = rows[0].key.iter().map(|(c, _)| *c).collect();
            let k = key_columns.join(", ");
            let sql = format!(
                "INSERT INTO {table} (span, period, {k}, side, bucket, n) VALUES {} \
                 ON CONFLICT (span, period, {k}, side, bucket) DO UPDATE SET n = {table}.n + excluded.n",
                crate::db::value_rows(5 + key_columns.len(), rows.len())
            );
            let mut params: Vec<Value> = Vec::new();
            for m in rows {
                params.extend([Value::from(m.period.0), m.period.1.into()]);
                params.extend(m.key.iter().map(|(_, v)| v.clone()));
                params.extend([Value::from(m.side), m.bucket.into(), m.n.into()]);
            }
            batch.push(&sql, params);
        }
    }
}

/// The distinct table names, in order of first appearance.
fn tables(names: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for name in names {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Writes (or, for spam and merged tickets, removes) a ticket's figures.
pub(crate) async fn write(
    db: &Db,
    tx: &WriteTx,
    m: &MetricsInput,
    policy: Option<&Policy>,
    hours: &Hours,
    clock: &SlaClock,
    timing: Timing,
) -> Result<()> {
    let old = load(db, tx, m.ticket_id).await?;
    let new = compute(m, policy, hours, clock, old.as_ref());
    replace(db, tx, m.ticket_id, old, new, timing).await
}

/// A breach raised by the scheduler counts against the target even before the ticket is
/// answered or solved; a next-response breach is also counted on the ticket.
pub(crate) async fn mark_breached(db: &Db, tx: &WriteTx, ticket_id: i64, target: tandem_proto::SlaTarget, now: i64) -> Result<()> {
    if target == tandem_proto::SlaTarget::NextResponse {
        tx.tx.execute_raw(db.stmt("UPDATE tickets SET sla_next_breached = sla_next_breached + 1 WHERE id = ?", vec![ticket_id.into()])).await?;
    }
    let Some(old) = load(db, tx, ticket_id).await? else { return Ok(()) };
    let mut new = old.clone();
    match target {
        tandem_proto::SlaTarget::FirstResponse => new.sla_first_response_met = Some(0),
        tandem_proto::SlaTarget::Resolution => new.sla_resolution_met = Some(0),
        tandem_proto::SlaTarget::NextResponse => new.next_breached += 1,
    }
    replace(db, tx, ticket_id, Some(old), Some(new), Timing::Live(day_of(now))).await
}

/// A message was added after the ticket's figures were written in the same transaction: an
/// agent reply counts, an inbound email makes the ticket an email ticket.
pub(crate) async fn on_message(db: &Db, tx: &WriteTx, ticket_id: i64, kind: tandem_proto::MessageKind, by_email: bool, at: i64) -> Result<()> {
    let email = kind == tandem_proto::MessageKind::Inbound && by_email;
    if kind != tandem_proto::MessageKind::Reply && !email {
        return Ok(());
    }
    let Some(old) = load(db, tx, ticket_id).await? else { return Ok(()) };
    let mut new = old.clone();
    if kind == tandem_proto::MessageKind::Reply {
        new.replies += 1;
    }
    if email {
        new.channel = "email".to_owned();
    }
    replace(db, tx, ticket_id, Some(old), Some(new), Timing::Live(day_of(at))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(assignee: Option<i64>, tags: &str) -> Facts {
        Facts {
            inbox_id: 1,
            team_id: None,
            assignee_id: assignee,
            channel: "email".into(),
            created_day: 20_000,
            solved_day: None,
            first_response_secs: Some(600),
            first_response_bucket: Some(3),
            resolution_secs: None,
            resolution_bucket: None,
            replies: 1,
            sla_first_response_met: None,
            sla_resolution_met: None,
            tags: tags.into(),
            next_met: 0,
            next_breached: 0,
            rating: None,
            rated_day: None,
        }
    }

    #[test]
    fn a_reassignment_moves_only_the_rows_that_change() {
        let mut deltas = Deltas::default();
        deltas.aggregate(&facts(Some(7), r#"["billing","vip"]"#), -1).expect("old");
        deltas.aggregate(&facts(Some(8), r#"["billing","vip"]"#), 1).expect("new");
        let moving: Vec<_> = deltas.counts.iter().filter(|m| m.values.iter().any(|&v| v != 0)).collect();
        assert_eq!(moving.len(), 2, "the old and the new assignee's rows; the tags' rows net out");
        assert!(moving.iter().all(|m| m.table == "report_counts" && m.values[0].abs() == 1));
        assert_eq!(moving.iter().map(|m| m.values[0]).sum::<i64>(), 0);
        let hist: Vec<_> = deltas.hist.iter().filter(|m| m.n != 0).collect();
        assert_eq!(hist.len(), 4, "week and month of the first response, for each assignee");
        assert!(hist.iter().all(|m| m.table == "report_hist"));
    }

    #[test]
    fn the_same_figures_taken_away_and_added_move_nothing() {
        let mut deltas = Deltas::default();
        let f = facts(None, r#"["billing"]"#);
        deltas.aggregate(&f, -1).expect("old");
        deltas.aggregate(&f, 1).expect("new");
        assert!(deltas.counts.iter().all(|m| m.values == [0; 16]));
        assert!(deltas.hist.iter().all(|m| m.n == 0));
    }
}
