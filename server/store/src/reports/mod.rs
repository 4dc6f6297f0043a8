//! Reports: the dashboard, breakdowns and their CSV export, all aggregated from
//! `ticket_metrics` (see `metrics.rs`) with `GROUP BY` queries over an index on the day
//! columns, so their cost follows the number of days and groups, not a sort of every ticket.
//!
//! Definitions: *created* and *first response* count tickets created in the period; *solved*,
//! *resolution*, *replies per ticket*, resolution and next-response compliance count tickets
//! solved in it (a reopened ticket counts when it is solved again); *satisfaction* counts the
//! ratings given in it; *backlog* is the tickets open at the end of each day, as they were
//! that day (`backlog.rs`), under the filters' inbox, team, agent, channel and tag as they
//! were that day. Spam and merged tickets are left out. Everyone sees only the inboxes they
//! belong to.

pub(crate) mod backlog;
pub(crate) mod metrics;

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use tandem_domain::{
    Actor,
    policy::{self, Action},
    report::{self, Span, date_of_day, day_of, day_of_date, percentile, week_start},
    validate,
};
use tandem_proto::{self as proto, ReportDimension, ReportInterval, ReportQuery};

use crate::{
    Store,
    contacts::visible_clause,
    db::query_all,
    error::{Result, StoreError},
};

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

/// One cell of a scan over the created or the solved side: a group key, a day (0 when not
/// per day), a histogram bucket, and the measures of the tickets in it.
#[derive(Debug, FromQueryResult)]
struct Cell {
    k: Option<String>,
    d: i64,
    b: Option<i64>,
    n: i64,
    s: i64,
    met: i64,
    breached: i64,
    replies: i64,
    next_met: i64,
    next_breached: i64,
}

/// Which day a ticket counts on: its creation (first response) or its solving (resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Created,
    Solved,
}

#[derive(Debug, FromQueryResult)]
struct Rating {
    k: Option<String>,
    rating: String,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct Label {
    k: String,
    label: String,
}

/// The checked filters: a period in days since the epoch, a SQL condition on `m`
/// (`ticket_metrics`), and the same filters on `r` for the pre-aggregates that can answer them.
#[derive(Clone)]
struct Scope {
    from: i64,
    to: i64,
    interval: ReportInterval,
    condition: String,
    params: Vec<Value>,
    /// The filters on `report_counts`/`report_hist` (no tag filter), if any.
    combo: Option<(String, Vec<Value>)>,
    /// The filters on `report_tag_counts`/`report_tag_hist` (no team, agent or channel filter).
    tagged: Option<(String, Vec<Value>)>,
    /// The filters on `ticket_backlog` (`s`), including its tag (empty: the tickets themselves).
    spells: (String, Vec<Value>),
}

/// The pre-aggregates a report reads: counts per day and histograms per week, per combination
/// of inbox, team, assignee and channel, or per inbox and tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tables {
    Combo,
    Tag,
}

impl Tables {
    fn counts(self) -> &'static str {
        match self {
            Tables::Combo => "report_counts",
            Tables::Tag => "report_tag_counts",
        }
    }

    fn hist(self) -> &'static str {
        match self {
            Tables::Combo => "report_hist",
            Tables::Tag => "report_tag_hist",
        }
    }
}

/// One group's counters from the pre-aggregated counts.
#[derive(Debug, Default, FromQueryResult)]
struct Sums {
    k: Option<String>,
    created: i64,
    fr_secs: i64,
    fr_met: i64,
    fr_breached: i64,
    solved: i64,
    res_secs: i64,
    res_met: i64,
    res_breached: i64,
    replies: i64,
    next_met: i64,
    next_breached: i64,
    csat_good: i64,
    csat_okay: i64,
    csat_bad: i64,
    backlog: i64,
}

#[derive(Debug, FromQueryResult)]
struct HistRow {
    k: Option<String>,
    side: String,
    b: i64,
    n: i64,
}

const SUMS: &str = "CAST(SUM(r.created) AS BIGINT) AS created, CAST(SUM(r.fr_secs) AS BIGINT) AS fr_secs, \
    CAST(SUM(r.fr_met) AS BIGINT) AS fr_met, CAST(SUM(r.fr_breached) AS BIGINT) AS fr_breached, CAST(SUM(r.solved) AS BIGINT) AS solved, \
    CAST(SUM(r.res_secs) AS BIGINT) AS res_secs, CAST(SUM(r.res_met) AS BIGINT) AS res_met, CAST(SUM(r.res_breached) AS BIGINT) AS res_breached, \
    CAST(SUM(r.replies) AS BIGINT) AS replies, CAST(SUM(r.next_met) AS BIGINT) AS next_met, \
    CAST(SUM(r.next_breached) AS BIGINT) AS next_breached, CAST(SUM(r.csat_good) AS BIGINT) AS csat_good, \
    CAST(SUM(r.csat_okay) AS BIGINT) AS csat_okay, CAST(SUM(r.csat_bad) AS BIGINT) AS csat_bad, CAST(SUM(r.backlog) AS BIGINT) AS backlog";

/// The key of a breakdown in the pre-aggregates (`None` for "none"), and the column it is
/// grouped by (grouping by the plain column spares the database an expression per row).
fn rollup_key(by: ReportDimension) -> (&'static str, &'static str) {
    match by {
        ReportDimension::Agent => ("CASE WHEN r.assignee_id = 0 THEN NULL ELSE CAST(r.assignee_id AS TEXT) END", "r.assignee_id"),
        ReportDimension::Team => ("CASE WHEN r.team_id = 0 THEN NULL ELSE CAST(r.team_id AS TEXT) END", "r.team_id"),
        ReportDimension::Inbox => ("CAST(r.inbox_id AS TEXT)", "r.inbox_id"),
        ReportDimension::Channel => ("r.channel", "r.channel"),
        ReportDimension::Tag => ("r.tag", "r.tag"),
    }
}

impl Scope {
    fn params(&self, leading: Vec<Value>) -> Vec<Value> {
        let mut all = leading;
        all.extend(self.params.iter().cloned());
        all
    }
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 100.0 / whole as f64).round() / 100.0)
}

/// The SQL expression a breakdown groups by, and the join it needs.
fn dimension(by: ReportDimension) -> (&'static str, &'static str) {
    match by {
        ReportDimension::Agent => ("CAST(m.assignee_id AS TEXT)", ""),
        ReportDimension::Team => ("CAST(m.team_id AS TEXT)", ""),
        ReportDimension::Inbox => ("CAST(m.inbox_id AS TEXT)", ""),
        ReportDimension::Channel => ("m.channel", ""),
        ReportDimension::Tag => ("g.tag", " JOIN ticket_tags g ON g.ticket_id = m.ticket_id"),
    }
}

/// The sums of a set of cells: tickets, the histogram of those with a duration, the sum of
/// their durations, SLA met and breached, replies.
#[derive(Debug, Default)]
struct Totals {
    tickets: i64,
    histogram: Vec<(i64, i64)>,
    secs: i64,
    met: i64,
    breached: i64,
    replies: i64,
    next_met: i64,
    next_breached: i64,
}

impl Totals {
    fn of<'a>(cells: impl Iterator<Item = &'a Cell>) -> Totals {
        let mut t = Totals::default();
        let mut buckets: BTreeMap<i64, i64> = BTreeMap::new();
        for c in cells {
            t.tickets += c.n;
            t.secs += c.s;
            t.met += c.met;
            t.breached += c.breached;
            t.replies += c.replies;
            t.next_met += c.next_met;
            t.next_breached += c.next_breached;
            if let Some(b) = c.b {
                *buckets.entry(b).or_default() += c.n;
            }
        }
        t.histogram = buckets.into_iter().collect();
        t
    }
}

impl Totals {
    /// The created-side and solved-side totals from pre-aggregated counters and histograms.
    fn of_rollup<'a>(sums: impl Iterator<Item = &'a Sums>, hist: impl Iterator<Item = &'a HistRow>) -> (Totals, Totals) {
        let (mut c, mut s) = (Totals::default(), Totals::default());
        for x in sums {
            c.tickets += x.created;
            c.secs += x.fr_secs;
            c.met += x.fr_met;
            c.breached += x.fr_breached;
            s.tickets += x.solved;
            s.secs += x.res_secs;
            s.met += x.res_met;
            s.breached += x.res_breached;
            s.replies += x.replies;
            s.next_met += x.next_met;
            s.next_breached += x.next_breached;
        }
        let (mut fr, mut res): (BTreeMap<i64, i64>, BTreeMap<i64, i64>) = (BTreeMap::new(), BTreeMap::new());
        for h in hist {
            let side = if h.side == "fr" { &mut fr } else { &mut res };
            *side.entry(h.b).or_default() += h.n;
        }
        c.histogram = fr.into_iter().filter(|(_, n)| *n > 0).collect();
        s.histogram = res.into_iter().filter(|(_, n)| *n > 0).collect();
        (c, s)
    }
}

/// Key expression, join and `GROUP BY` prefix of a query per group, or over everything
/// (a constant key, no grouping: PostgreSQL refuses a constant in `GROUP BY`).
fn grouping(by: Option<ReportDimension>) -> (&'static str, &'static str, String) {
    match by.map(dimension) {
        Some((key, join)) => (key, join, format!("{key}, ")),
        None => ("'all'", "", String::new()),
    }
}

fn durations(histogram: &[(i64, i64)], sum: i64) -> proto::Durations {
    let count: i64 = histogram.iter().map(|(_, n)| n).sum();
    proto::Durations {
        count,
        average_secs: (count > 0).then(|| sum / count),
        median_secs: percentile(histogram, 0.5),
        p90_secs: percentile(histogram, 0.9),
    }
}

impl Store {
    fn report_scope(&self, actor: &Actor, q: &ReportQuery) -> Result<Scope> {
        policy::authorize(actor, Action::ViewReports)?;
        let today = day_of(self.now_micros());
        let to = q.to.map(day_of_date).unwrap_or(today);
        if q.days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
            return Err(StoreError::validation("days", format!("a report covers 1 to {MAX_DAYS} days")));
        }
        let from = q.from.map(day_of_date).unwrap_or(to - (q.days.unwrap_or(30) - 1));
        if from > to {
            return Err(StoreError::validation("from", "the period starts after it ends"));
        }
        if to - from >= MAX_DAYS {
            return Err(StoreError::validation("from", format!("a report covers at most {MAX_DAYS} days")));
        }
        let mut condition = visible_clause(actor, "m");
        let mut params: Vec<Value> = Vec::new();
        let mut combo = visible_clause(actor, "r");
        let mut combo_params: Vec<Value> = Vec::new();
        let mut tagged = visible_clause(actor, "r");
        let mut tagged_params: Vec<Value> = Vec::new();
        let mut spells = visible_clause(actor, "s");
        let mut spell_params: Vec<Value> = Vec::new();
        let narrow = q.team.is_some() || q.agent.is_some() || q.channel.is_some();
        let mut eq = |column: &str, value: Value| {
            condition.push_str(&format!(" AND m.{column} = ?"));
            params.push(value.clone());
            combo.push_str(&format!(" AND r.{column} = ?"));
            combo_params.push(value.clone());
            spells.push_str(&format!(" AND s.{column} = ?"));
            spell_params.push(value.clone());
            if column == "inbox_id" {
                tagged.push_str(" AND r.inbox_id = ?");
                tagged_params.push(value);
            }
        };
        if let Some(inbox) = q.inbox {
            eq("inbox_id", inbox.into());
        }
        if let Some(team) = q.team {
            eq("team_id", team.into());
        }
        if let Some(agent) = q.agent {
            eq("assignee_id", agent.into());
        }
        if let Some(channel) = q.channel.as_deref() {
            if !matches!(channel, "email" | "api") {
                return Err(StoreError::validation("channel", "channel is `email` or `api`"));
            }
            eq("channel", channel.to_owned().into());
        }
        let mut has_tag = false;
        if let Some(tag) = q.tag.as_deref() {
            let tag = validate::tag(tag)?;
            condition.push_str(" AND EXISTS (SELECT 1 FROM ticket_tags t WHERE t.ticket_id = m.ticket_id AND t.tag = ?)");
            params.push(tag.clone().into());
            tagged.push_str(" AND r.tag = ?");
            tagged_params.push(tag.clone().into());
            spells.push_str(" AND s.tag = ?");
            spell_params.push(tag.into());
            has_tag = true;
        } else {
            spells.push_str(" AND s.tag = ''");
        }
        Ok(Scope {
            from,
            to,
            interval: q.interval.unwrap_or(ReportInterval::Day),
            condition,
            params,
            combo: (!has_tag).then_some((combo, combo_params)),
            tagged: (!narrow).then_some((tagged, tagged_params)),
            spells: (spells, spell_params),
        })
    }

    /// One scan of the created or solved side of the period, grouped by key (if any), day
    /// (if `per_day`) and histogram bucket. The covering indexes on `ticket_metrics` hold every
    /// column read, so the scan never touches the table.
    async fn cells<C: ConnectionTrait>(&self, conn: &C, by: Option<ReportDimension>, side: Side, per_day: bool, scope: &Scope) -> Result<Vec<Cell>> {
        let (day, metric, met, solved_sums) = match side {
            Side::Created => (
                "created_day",
                "first_response",
                "sla_first_response_met",
                "CAST(0 AS BIGINT) AS replies, CAST(0 AS BIGINT) AS next_met, CAST(0 AS BIGINT) AS next_breached",
            ),
            Side::Solved => (
                "solved_day",
                "resolution",
                "sla_resolution_met",
                "CAST(COALESCE(SUM(m.replies), 0) AS BIGINT) AS replies, CAST(COALESCE(SUM(m.next_met), 0) AS BIGINT) AS next_met, \
                 CAST(COALESCE(SUM(m.next_breached), 0) AS BIGINT) AS next_breached",
            ),
        };
        let (key, join, group) = grouping(by);
        let (day_expr, day_group) = if per_day { (format!("m.{day}"), format!("m.{day}, ")) } else { ("CAST(0 AS BIGINT)".to_owned(), String::new()) };
        let sql = format!(
            "SELECT {key} AS k, {day_expr} AS d, m.{metric}_bucket AS b, COUNT(*) AS n, \
             CAST(COALESCE(SUM(m.{metric}_secs), 0) AS BIGINT) AS s, COUNT(CASE WHEN m.{met} = 1 THEN 1 END) AS met, \
             COUNT(CASE WHEN m.{met} = 0 THEN 1 END) AS breached, {solved_sums} \
             FROM ticket_metrics m{join} WHERE m.{day} BETWEEN ? AND ?{} GROUP BY {group}{day_group}m.{metric}_bucket",
            scope.condition
        );
        query_all(conn, self.db.stmt(&sql, scope.params(vec![scope.from.into(), scope.to.into()]))).await
    }

    /// Which pre-aggregates answer a report with these filters (grouped `by`, if any).
    fn tables(scope: &Scope, by: Option<ReportDimension>) -> Option<(Tables, String, Vec<Value>)> {
        let pick = |t: Tables, f: &Option<(String, Vec<Value>)>| f.clone().map(|(c, p)| (t, c, p));
        match by {
            Some(ReportDimension::Tag) => pick(Tables::Tag, &scope.tagged),
            Some(_) => pick(Tables::Combo, &scope.combo),
            None => pick(Tables::Combo, &scope.combo).or_else(|| pick(Tables::Tag, &scope.tagged)),
        }
    }

    /// Counters per day (`by` = `None`) or per group over the period, from the pre-aggregates.
    async fn rollup_sums<C: ConnectionTrait>(&self, conn: &C, t: (Tables, &str, &[Value]), by: Option<ReportDimension>, from: i64, to: i64) -> Result<Vec<(i64, Sums)>> {
        #[derive(FromQueryResult)]
        struct Row {
            d: i64,
        }
        let (tables, condition, params) = t;
        let (key, group) = match by {
            Some(by) => (rollup_key(by).0.to_owned(), format!("GROUP BY {}", rollup_key(by).1)),
            None => ("CAST(NULL AS TEXT)".to_owned(), "GROUP BY r.day".to_owned()),
        };
        let day = if by.is_some() { "CAST(0 AS BIGINT)" } else { "r.day" };
        let sql = format!("SELECT {key} AS k, {day} AS d, {SUMS} FROM {} r WHERE r.day BETWEEN ? AND ?{condition} {group}", tables.counts());
        let mut all = vec![from.into(), to.into()];
        all.extend(params.iter().cloned());
        let stmt = self.db.stmt(&sql, all);
        let rows = conn.query_all_raw(stmt).await?;
        rows.iter()
            .map(|r| Ok((Row::from_query_result(r, "")?.d, Sums::from_query_result(r, "")?)))
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()
            .map_err(Into::into)
    }

    /// Histograms (per group, if `by`) of both sides over the period: whole months and whole
    /// weeks from the pre-aggregates, the loose days at the edges from `ticket_metrics`. The
    /// pieces are read at the same time, each on its own pooled connection.
    async fn rollup_hist<C: ConnectionTrait>(&self, conn: &C, t: (Tables, &str, &[Value]), by: Option<ReportDimension>, scope: &Scope) -> Result<Vec<HistRow>> {
        let (tables, condition, params) = t;
        let key = by.map(|b| rollup_key(b).0).unwrap_or("CAST(NULL AS TEXT)");
        let group = by.map(|b| format!("{}, ", rollup_key(b).1)).unwrap_or_default();
        let mut pieces: Vec<BoxFuture<'_, Result<Vec<HistRow>>>> = Vec::new();
        for span in report::cover(scope.from, scope.to) {
            let (name, first, last) = match span {
                Span::Months(a, b) => ("month", a, b),
                Span::Weeks(a, b) => ("week", a, b),
                Span::Days(from, to) => {
                    for (side, name) in [(Side::Created, "fr"), (Side::Solved, "res")] {
                        let edge = Scope { from, to, ..scope.clone() };
                        pieces.push(Box::pin(async move {
                            let cells = self.cells(conn, by, side, false, &edge).await?;
                            Ok(cells.into_iter().filter_map(|c| Some(HistRow { b: c.b?, k: c.k, side: name.to_owned(), n: c.n })).collect())
                        }));
                    }
                    continue;
                }
            };
            let sql = format!(
                "SELECT {key} AS k, r.side, r.bucket AS b, CAST(SUM(r.n) AS BIGINT) AS n FROM {} r \
                 WHERE r.span = ? AND r.period BETWEEN ? AND ?{condition} GROUP BY {group}r.side, r.bucket",
                tables.hist()
            );
            let mut all = vec![name.into(), first.into(), last.into()];
            all.extend(params.iter().cloned());
            pieces.push(Box::pin(async move { query_all::<HistRow, _>(conn, self.db.stmt(&sql, all)).await }));
        }
        Ok(futures::future::try_join_all(pieces).await?.into_iter().flatten().collect())
    }

    /// The backlog from the spells themselves: how many were open at the end of the day before
    /// the period, and how the count moved on each day of it.
    async fn spells<C: ConnectionTrait>(&self, conn: &C, scope: &Scope) -> Result<(i64, Vec<(i64, i64)>)> {
        #[derive(FromQueryResult)]
        struct Move {
            d: i64,
            n: i64,
        }
        let (condition, params) = &scope.spells;
        let with = |leading: Vec<Value>| {
            let mut all = leading;
            all.extend(params.iter().cloned());
            all
        };
        let before: Vec<Count> = query_all(
            conn,
            self.db.stmt(
                &format!("SELECT COUNT(*) AS n FROM ticket_backlog s WHERE s.from_day < ? AND (s.to_day IS NULL OR s.to_day >= ?){condition}"),
                with(vec![scope.from.into(), scope.from.into()]),
            ),
        )
        .await?;
        let sql = format!(
            "SELECT s.from_day AS d, COUNT(*) AS n FROM ticket_backlog s WHERE s.from_day BETWEEN ? AND ?{condition} GROUP BY s.from_day \
             UNION ALL SELECT s.to_day AS d, -COUNT(*) AS n FROM ticket_backlog s WHERE s.to_day BETWEEN ? AND ?{condition} GROUP BY s.to_day"
        );
        let mut all = with(vec![scope.from.into(), scope.to.into()]);
        all.extend(with(vec![scope.from.into(), scope.to.into()]));
        let moves: Vec<Move> = query_all(conn, self.db.stmt(&sql, all)).await?;
        Ok((before.first().map_or(0, |c| c.n), moves.into_iter().map(|m| (m.d, m.n)).collect()))
    }

    /// Ratings given in the period, per group, from the tickets' figures.
    async fn ratings<C: ConnectionTrait>(&self, conn: &C, by: Option<ReportDimension>, scope: &Scope) -> Result<Vec<Rating>> {
        let (key, join, group) = grouping(by);
        let sql = format!(
            "SELECT {key} AS k, m.rating, COUNT(*) AS n FROM ticket_metrics m{join} \
             WHERE m.rated_day BETWEEN ? AND ? AND m.rating IS NOT NULL{} GROUP BY {group}m.rating",
            scope.condition
        );
        query_all(conn, self.db.stmt(&sql, scope.params(vec![scope.from.into(), scope.to.into()]))).await
    }

    /// `GET /api/v1/reports/dashboard`: volume, backlog, response and resolution times, SLA
    /// compliance, replies per ticket and satisfaction for the period.
    pub async fn report_dashboard(&self, actor: &Actor, q: &ReportQuery) -> Result<proto::Dashboard> {
        self.dashboard(actor, q, true).await
    }

    /// The dashboard computed from `ticket_metrics` alone, without the pre-aggregates: what the
    /// tests compare the pre-aggregated answers with.
    #[cfg(feature = "testing")]
    pub async fn report_dashboard_unaggregated(&self, actor: &Actor, q: &ReportQuery) -> Result<proto::Dashboard> {
        self.dashboard(actor, q, false).await
    }

    /// The breakdown computed from `ticket_metrics` alone (tests).
    #[cfg(feature = "testing")]
    pub async fn report_breakdown_unaggregated(&self, actor: &Actor, q: &ReportQuery) -> Result<proto::Breakdown> {
        self.breakdown(actor, q, false).await
    }

    async fn dashboard(&self, actor: &Actor, q: &ReportQuery, aggregated: bool) -> Result<proto::Dashboard> {
        let scope = self.report_scope(actor, q)?;
        let conn = self.db.connection();
        let (created_days, solved_days, open_before, moves, c, s, csat) = match Self::tables(&scope, None).filter(|_| aggregated) {
            Some((tables, condition, params)) => {
                let t = (tables, condition.as_str(), params.as_slice());
                let sql = format!("SELECT CAST(COALESCE(SUM(r.backlog), 0) AS BIGINT) AS n FROM {} r WHERE r.day < ?{condition}", tables.counts());
                let mut all = vec![scope.from.into()];
                all.extend(params.iter().cloned());
                let (days, hist, before) = tokio::try_join!(
                    self.rollup_sums(conn, t, None, scope.from, scope.to),
                    self.rollup_hist(conn, t, None, &scope),
                    query_all::<Count, _>(conn, self.db.stmt(&sql, all)),
                )?;
                let series = |f: fn(&Sums) -> i64| days.iter().map(|(d, x)| (*d, f(x))).collect::<Vec<_>>();
                let (c, s) = Totals::of_rollup(days.iter().map(|(_, x)| x), hist.iter());
                let csat = days.iter().flat_map(|(_, x)| [("good", x.csat_good), ("okay", x.csat_okay), ("bad", x.csat_bad)]);
                (series(|x| x.created), series(|x| x.solved), before.first().map_or(0, |c| c.n), series(|x| x.backlog), c, s, csat_summary(csat))
            }
            None => {
                let (created, solved) = tokio::try_join!(self.cells(conn, None, Side::Created, true, &scope), self.cells(conn, None, Side::Solved, true, &scope))?;
                let per_day = |cells: &[Cell]| {
                    let mut days: BTreeMap<i64, i64> = BTreeMap::new();
                    for c in cells {
                        *days.entry(c.d).or_default() += c.n;
                    }
                    days.into_iter().collect::<Vec<(i64, i64)>>()
                };
                let (open_before, moves) = self.spells(conn, &scope).await?;
                let ratings = self.ratings(conn, None, &scope).await?;
                let csat = csat_summary(ratings.iter().map(|r| (r.rating.as_str(), r.n)));
                (per_day(&created), per_day(&solved), open_before, moves, Totals::of(created.iter()), Totals::of(solved.iter()), csat)
            }
        };
        let daily = report::backlog(open_before, scope.from, scope.to, &moves);
        let mut periods: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new();
        let on = |series: &[(i64, i64)], day: i64| series.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n);
        for (day, open) in &daily {
            let period = match scope.interval {
                ReportInterval::Day => *day,
                ReportInterval::Week => week_start(*day),
            };
            let slot = periods.entry(period).or_default();
            slot.0 += on(&created_days, *day);
            slot.1 += on(&solved_days, *day);
            slot.2 = *open;
        }
        let series = periods
            .into_iter()
            .map(|(period, (created, solved, backlog))| proto::SeriesPoint { period: date_of_day(period), created, solved, backlog })
            .collect();
        Ok(proto::Dashboard {
            from: date_of_day(scope.from),
            to: date_of_day(scope.to),
            interval: scope.interval,
            created: c.tickets,
            solved: s.tickets,
            backlog: daily.last().map_or(open_before, |(_, open)| *open),
            first_response: durations(&c.histogram, c.secs),
            resolution: durations(&s.histogram, s.secs),
            sla_first_response: proto::Compliance { met: c.met, breached: c.breached, percent: percent(c.met, c.met + c.breached) },
            sla_resolution: proto::Compliance { met: s.met, breached: s.breached, percent: percent(s.met, s.met + s.breached) },
            sla_next_response: proto::Compliance {
                met: s.next_met,
                breached: s.next_breached,
                percent: percent(s.next_met, s.next_met + s.next_breached),
            },
            replies_per_ticket: ratio(s.replies, s.tickets),
            csat,
            series,
        })
    }

    /// `GET /api/v1/reports/breakdown`: the period's figures per agent, team, inbox, tag or channel.
    pub async fn report_breakdown(&self, actor: &Actor, q: &ReportQuery) -> Result<proto::Breakdown> {
        self.breakdown(actor, q, true).await
    }

    async fn breakdown(&self, actor: &Actor, q: &ReportQuery, aggregated: bool) -> Result<proto::Breakdown> {
        let scope = self.report_scope(actor, q)?;
        let by = q.by.unwrap_or(ReportDimension::Agent);
        let conn = self.db.connection();
        let key_of = |k: &Option<String>| k.clone().unwrap_or_default();
        let mut groups: BTreeMap<String, (Totals, Totals)> = BTreeMap::new();
        let mut ratings: BTreeMap<String, proto::CsatSummary> = BTreeMap::new();
        let labels;
        match Self::tables(&scope, Some(by)).filter(|_| aggregated) {
            Some((tables, condition, params)) => {
                let t = (tables, condition.as_str(), params.as_slice());
                let (sums, hist, names) = tokio::try_join!(
                    self.rollup_sums(conn, t, Some(by), scope.from, scope.to),
                    self.rollup_hist(conn, t, Some(by), &scope),
                    self.dimension_labels(conn, by),
                )?;
                labels = names;
                for (_, x) in &sums {
                    let key = key_of(&x.k);
                    let of_key = |h: &&HistRow| key_of(&h.k) == key;
                    groups.insert(key.clone(), Totals::of_rollup(std::iter::once(x), hist.iter().filter(of_key)));
                    ratings.insert(key, csat_summary([("good", x.csat_good), ("okay", x.csat_okay), ("bad", x.csat_bad)].into_iter()));
                }
            }
            None => {
                let (created, solved, names) = tokio::try_join!(
                    self.cells(conn, Some(by), Side::Created, false, &scope),
                    self.cells(conn, Some(by), Side::Solved, false, &scope),
                    self.dimension_labels(conn, by),
                )?;
                labels = names;
                let mut keys: Vec<String> = created.iter().chain(&solved).map(|c| key_of(&c.k)).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let of = |c: &&Cell| key_of(&c.k) == key;
                    groups.insert(key.clone(), (Totals::of(created.iter().filter(of)), Totals::of(solved.iter().filter(of))));
                }
                let rated = self.ratings(conn, Some(by), &scope).await?;
                for key in groups.keys() {
                    let of = |r: &&Rating| key_of(&r.k) == *key;
                    ratings.insert(key.clone(), csat_summary(rated.iter().filter(of).map(|r| (r.rating.as_str(), r.n))));
                }
            }
        }
        // Grouped by tag and filtered by a tag: the filter's tag only, not the other tags its
        // tickets carry.
        let only_tag = if by == ReportDimension::Tag { q.tag.as_deref().map(validate::tag).transpose()? } else { None };
        let mut rows: Vec<proto::BreakdownRow> = groups
            .into_iter()
            .filter(|(key, (c, s))| (c.tickets > 0 || s.tickets > 0) && only_tag.as_ref().is_none_or(|t| t == key))
            .map(|(key, (c, s))| {
                let csat = ratings.get(&key).and_then(|c| c.percent);
                let label = match by {
                    ReportDimension::Tag | ReportDimension::Channel => key.clone(),
                    _ => labels.get(&key).cloned().unwrap_or_default(),
                };
                proto::BreakdownRow {
                    label: if key.is_empty() { String::new() } else { label },
                    created: c.tickets,
                    solved: s.tickets,
                    first_response_median_secs: percentile(&c.histogram, 0.5),
                    resolution_median_secs: percentile(&s.histogram, 0.5),
                    sla_percent: percent(s.met, s.met + s.breached),
                    csat_percent: csat,
                    replies_per_ticket: ratio(s.replies, s.tickets),
                    key,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.solved.cmp(&a.solved).then(b.created.cmp(&a.created)).then(a.label.cmp(&b.label)));
        Ok(proto::Breakdown { by, rows })
    }

    async fn dimension_labels<C: ConnectionTrait>(&self, conn: &C, by: ReportDimension) -> Result<BTreeMap<String, String>> {
        let sql = match by {
            ReportDimension::Agent => "SELECT CAST(id AS TEXT) AS k, display_name AS label FROM users",
            ReportDimension::Team => "SELECT CAST(id AS TEXT) AS k, name AS label FROM teams",
            ReportDimension::Inbox => "SELECT CAST(id AS TEXT) AS k, name AS label FROM inboxes",
            ReportDimension::Tag | ReportDimension::Channel => return Ok(BTreeMap::new()),
        };
        let rows: Vec<Label> = query_all(conn, self.db.stmt(sql, vec![])).await?;
        Ok(rows.into_iter().map(|r| (r.k, r.label)).collect())
    }

    /// A report table as CSV (RFC 4180, a header row, `\r\n` line ends).
    pub async fn report_csv(&self, actor: &Actor, q: &ReportQuery) -> Result<String> {
        let mut out = String::new();
        let mut line = |cells: Vec<String>| {
            out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        };
        let text = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let float = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let table = q.table.unwrap_or(proto::ReportTable::Series);
        let by = match table {
            proto::ReportTable::Series => None,
            proto::ReportTable::Agent => Some(ReportDimension::Agent),
            proto::ReportTable::Team => Some(ReportDimension::Team),
            proto::ReportTable::Inbox => Some(ReportDimension::Inbox),
            proto::ReportTable::Tag => Some(ReportDimension::Tag),
            proto::ReportTable::Channel => Some(ReportDimension::Channel),
        };
        match by {
            None => {
                let dashboard = self.report_dashboard(actor, q).await?;
                line(vec!["period".into(), "created".into(), "solved".into(), "backlog".into()]);
                for p in dashboard.series {
                    line(vec![p.period.to_string(), p.created.to_string(), p.solved.to_string(), p.backlog.to_string()]);
                }
            }
            Some(by) => {
                let breakdown = self.report_breakdown(actor, &ReportQuery { by: Some(by), ..q.clone() }).await?;
                line(
                    ["key", "label", "created", "solved", "first_response_median_secs", "resolution_median_secs", "sla_percent", "csat_percent", "replies_per_ticket"]
                        .map(String::from)
                        .to_vec(),
                );
                for r in breakdown.rows {
                    line(vec![
                        r.key,
                        r.label,
                        r.created.to_string(),
                        r.solved.to_string(),
                        text(r.first_response_median_secs),
                        text(r.resolution_median_secs),
                        float(r.sla_percent),
                        float(r.csat_percent),
                        float(r.replies_per_ticket),
                    ]);
                }
            }
        }
        Ok(out)
    }
}

fn csat_summary<'a>(ratings: impl Iterator<Item = (&'a str, i64)>) -> proto::CsatSummary {
    let mut s = proto::CsatSummary::default();
    for (rating, n) in ratings {
        match rating {
            "good" => s.good += n,
            "okay" => s.okay += n,
            _ => s.bad += n,
        }
    }
    s.percent = percent(s.good, s.good + s.okay + s.bad);
    s
}

/// A CSV cell, quoted when needed; a leading `=`, `+`, `-` or `@` is defused with a `'` so a
/// spreadsheet does not run a tag or label as a formula.
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-12.5"), "-12.5");
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(0, 0), None);
    }
}
