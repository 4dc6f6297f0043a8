//! Full-text search over tickets: SQLite FTS5 (embedded) or PostgreSQL full-text (GIN), one
//! interface.
//!
//! - [`document`]: what a ticket's index document holds (folded words, stems, filter facets).
//! - [`index`]: keeping documents in step with every ticket write, in the same transaction.
//! - [`engine`]: a parsed query as an FTS5 `MATCH` expression or a `tsquery`.
//!
//! A search runs in three steps, in two queries:
//!
//! 1. The index alone finds the newest [`RANK_WINDOW`] documents matching the words and the
//!    facets (the inboxes the actor may see, and every filter); they are ranked by where the
//!    words are (`tandem_domain::search::rank`: subject, then tags, then people, then message
//!    text; ties to the newest). Ranking every match of a common word among a million
//!    messages costs 100–300 ms; ranking the newest thousand a few, and a helpdesk search is
//!    nearly always after recent tickets. Engine scores (bm25, ts_rank) are not used: their
//!    document frequencies walk every posting list of the query, the inbox facet's included,
//!    which cost ~100 ms per search at a million messages (measured; BENCHMARKS.md).
//! 2. The page's tickets are loaded with the SQL of visibility and of every filter again, so
//!    a document out of step with its ticket, or two values folding to the same facet, could
//!    hide a hit but never show a ticket the actor may not see.
//! 3. The hits are highlighted from the original texts (`tandem_domain::search::highlight`).

pub(crate) mod document;
mod engine;
pub(crate) mod index;

use std::collections::HashMap;

use sea_orm::{FromQueryResult, Value};
use tandem_domain::{
    Actor,
    search::{AssigneeRef, FromRef, Matcher, SearchQuery, rank},
};
use tandem_proto as proto;

use self::{
    document::facet,
    engine::{FacetClause, IndexQuery},
};
use crate::{
    Store,
    contacts::visible_clause,
    db::query_all,
    error::{Result, StoreError},
    rows::{IdRow, TICKET_SELECT, TicketRow},
};

pub(crate) use index::index_tickets;

/// How many of the newest matches are ranked.
pub const RANK_WINDOW: usize = 1000;
/// The newest ticket ids the first PostgreSQL slice covers (see `Store::pg_window`).
const PG_FIRST_SLICE: i64 = 20_000;
/// How much wider each further slice is.
const PG_SLICE_GROWTH: i64 = 4;

/// A first slice width tests set (`testing::narrow_search_slices`) to walk many slices over a
/// few tickets; 0 keeps [`PG_FIRST_SLICE`].
#[cfg(feature = "testing")]
pub(crate) static FIRST_SLICE_FOR_TESTS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn first_slice() -> i64 {
    #[cfg(feature = "testing")]
    {
        let width = FIRST_SLICE_FOR_TESTS.load(std::sync::atomic::Ordering::Relaxed);
        if width > 0 {
            return width;
        }
    }
    PG_FIRST_SLICE
}
/// Longest excerpt of a message, in characters.
const EXCERPT_CHARS: usize = 200;
/// How much of each message is looked through for an excerpt: a hit further into a huge
/// message still ranks, it just shows no excerpt (and a search stays fast).
const EXCERPT_SCAN_CHARS: usize = 64 * 1024;

/// A matching document of the ranking window, with the fields ranking looks at.
#[derive(Debug, FromQueryResult)]
struct Candidate {
    id: i64,
    subject: String,
    tags: String,
    people: String,
}

#[derive(Debug, FromQueryResult)]
struct MessageText {
    id: i64,
    ticket_id: i64,
    kind: String,
    author_name: String,
    body_text: String,
}

/// Index facets and SQL conditions of a query's filters.
#[derive(Debug, Default)]
struct Conditions {
    facets: Vec<FacetClause>,
    sql: String,
    params: Vec<Value>,
}

impl Conditions {
    fn any(&mut self, column: &str, facets: Vec<String>, values: Vec<Value>) {
        let marks = crate::db::marks(values.len());
        self.sql.push_str(&format!(" AND {column} IN ({marks})"));
        self.params.extend(values);
        self.facets.push(facets);
    }
}

impl Store {
    /// One page of tickets matching `q` that the actor may see, best first.
    pub async fn search(&self, actor: &Actor, params: &proto::SearchParams) -> Result<proto::SearchResults> {
        let query = SearchQuery::parse(&params.q).map_err(|e| StoreError::validation("q", e.to_string()))?;
        let limit = params.limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(StoreError::validation("limit", "must be between 1 and 100"));
        }
        let offset = params.offset.unwrap_or(0) as usize;
        if actor.visible_inboxes().is_some_and(|ids| ids.is_empty()) {
            return Ok(proto::SearchResults { hits: Vec::new(), total: 0, more_than_total: false, next_offset: None });
        }
        let conditions = self.conditions(actor, &query).await?;
        let index_query = IndexQuery { query: &query, facets: conditions.facets.clone() };
        let (page, total) = self.rank(&query, &index_query, offset, limit).await?;
        let next = offset + page.len();
        let hits = self.hits(actor, &query, &conditions, &page).await?;
        Ok(proto::SearchResults {
            hits,
            total: total as u32,
            more_than_total: total >= RANK_WINDOW,
            next_offset: (next < total).then_some(next as u32),
        })
    }

    /// Turns the filters into facets and SQL, resolving names to ids.
    async fn conditions(&self, actor: &Actor, query: &SearchQuery) -> Result<Conditions> {
        let f = &query.filters;
        let mut c = Conditions::default();
        if let Some(visible) = actor.visible_inboxes() {
            // The index narrows by facet; `hits` checks the page with `visible_clause`.
            c.facets.push(visible.iter().map(|id| facet::inbox(*id)).collect());
        }
        if !f.statuses.is_empty() {
            c.any("t.status", f.statuses.iter().map(|s| facet::status(s.as_str())).collect(), f.statuses.iter().map(|s| s.as_str().into()).collect());
        }
        if !f.priorities.is_empty() {
            c.any("t.priority", f.priorities.iter().map(|p| facet::priority(p.as_str())).collect(), f.priorities.iter().map(|p| p.as_str().into()).collect());
        }
        match &f.assignee {
            None => {}
            Some(AssigneeRef::Nobody) => {
                c.sql.push_str(" AND t.assignee_id IS NULL");
                c.facets.push(vec![facet::NOBODY.to_owned()]);
            }
            Some(AssigneeRef::Me) => c.any("t.assignee_id", vec![facet::assignee(actor.user_id)], vec![actor.user_id.into()]),
            Some(AssigneeRef::Email(email)) => {
                let id = self.lookup_id("SELECT id FROM users WHERE lower(email) = ?", email, "q", "no user has this email address").await?;
                c.any("t.assignee_id", vec![facet::assignee(id)], vec![id.into()]);
            }
        }
        for tag in &f.tags {
            c.sql.push_str(" AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ?)");
            c.params.push(tag.clone().into());
            c.facets.push(vec![facet::tag(tag)]);
        }
        if !f.from.is_empty() {
            let mut ors = Vec::new();
            let mut facets = Vec::new();
            for from in &f.from {
                match from {
                    FromRef::Address(address) => {
                        ors.push("lower(c.email) = ?".to_owned());
                        c.params.push(address.clone().into());
                        facets.push(facet::address(address));
                    }
                    FromRef::Domain(domain) => {
                        ors.push("lower(c.email) LIKE ? ESCAPE '\\' OR lower(c.email) LIKE ? ESCAPE '\\'".to_owned());
                        let escaped = domain.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                        c.params.push(format!("%@{escaped}").into());
                        c.params.push(format!("%.{escaped}").into());
                        facets.push(facet::domain(domain));
                    }
                }
            }
            c.sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
            c.facets.push(facets);
        }
        if let Some(inbox) = &f.inbox {
            let id = self.id_or_name("inboxes", inbox).await?;
            c.any("t.inbox_id", vec![facet::inbox(id)], vec![id.into()]);
        }
        if let Some(team) = &f.team {
            let id = self.id_or_name("teams", team).await?;
            c.any("t.team_id", vec![facet::team(id)], vec![id.into()]);
        }
        Ok(c)
    }

    async fn id_or_name(&self, table: &str, value: &str) -> Result<i64> {
        if let Ok(id) = value.parse::<i64>() {
            return Ok(id);
        }
        let what = if table == "teams" { "no team has this name" } else { "no inbox has this name" };
        self.lookup_id(&format!("SELECT id FROM {table} WHERE lower(name) = ?"), value, "q", what).await
    }

    async fn lookup_id(&self, sql: &str, value: &str, field: &str, missing: &str) -> Result<i64> {
        let rows: Vec<IdRow> = query_all(self.db.connection(), self.db.stmt(&format!("{sql} ORDER BY id LIMIT 1"), vec![value.to_lowercase().into()])).await?;
        rows.first().map(|r| r.id).ok_or_else(|| StoreError::validation(field, format!("{missing}: `{value}`")))
    }

    /// One page of the newest matches, ranked best first, and how many matches were ranked.
    /// Only the index is read here: visibility and filters are facets of the documents (and
    /// [`Store::hits`] checks the page against the tickets themselves). The ranking itself is
    /// `tandem_domain::search::rank`, on the short fields the window query returns.
    async fn rank(&self, query: &SearchQuery, index_query: &IndexQuery<'_>, offset: usize, limit: u32) -> Result<(Vec<i64>, usize)> {
        let window = if self.db.is_postgres() {
            self.pg_window(index_query).await?
        } else {
            let sql = format!(
                "SELECT rowid AS id, subject, tags, people FROM search_index WHERE search_index MATCH ? \
                 ORDER BY rowid DESC LIMIT {RANK_WINDOW}"
            );
            query_all(self.db.connection(), self.db.stmt(&sql, vec![index_query.fts5().into()])).await?
        };
        let total = window.len();
        let mut scored: Vec<(u32, i64)> = window.into_iter().map(|c| (rank::score(query, &c.subject, &c.tags, &c.people), c.id)).collect();
        // Best first; among equals the newest.
        scored.sort_unstable_by(|a, b| b.cmp(a));
        Ok((scored.into_iter().skip(offset).take(limit as usize).map(|(_, id)| id).collect(), total))
    }

    /// The newest [`RANK_WINDOW`] matches on PostgreSQL, read in slices of ticket ids from the
    /// newest back, each [`PG_SLICE_GROWTH`] times wider than the one before, until the
    /// window is full or the oldest ticket is passed. A GIN bitmap holds every match of a
    /// word, and PostgreSQL fetches (and, with bitmaps too large to be exact, re-reads the
    /// documents of) every row in it before it can sort them by recency: for a common word
    /// among a million messages that was over a second. A slice bounds the rows fetched to its
    /// own matches; a rare word costs a few cheap slices instead.
    async fn pg_window(&self, index_query: &IndexQuery<'_>) -> Result<Vec<Candidate>> {
        #[derive(FromQueryResult)]
        struct Newest {
            id: Option<i64>,
        }
        let (text, facets) = index_query.tsqueries();
        let mut conditions = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(text) = text {
            conditions.push("s.document @@ to_tsquery('simple', ?)");
            params.push(text.into());
        }
        conditions.push("s.facet_terms @@ to_tsquery('simple', ?)");
        params.push(facets.into());
        let newest: Vec<Newest> = query_all(self.db.connection(), self.db.stmt("SELECT MAX(ticket_id) AS id FROM search_index", vec![])).await?;
        let Some(mut high) = newest.first().and_then(|n| n.id) else { return Ok(Vec::new()) };
        let mut width = first_slice();
        let mut window: Vec<Candidate> = Vec::new();
        loop {
            let low = high.saturating_sub(width);
            let sql = format!(
                "SELECT s.ticket_id AS id, s.subject, s.tags, s.people FROM search_index s \
                 WHERE s.ticket_id > ? AND s.ticket_id <= ? AND {} ORDER BY s.ticket_id DESC LIMIT {}",
                conditions.join(" AND "),
                RANK_WINDOW - window.len()
            );
            let mut all: Vec<Value> = vec![low.into(), high.into()];
            all.extend(params.iter().cloned());
            window.extend(query_all::<Candidate, _>(self.db.connection(), self.db.stmt(&sql, all)).await?);
            if window.len() >= RANK_WINDOW || low <= 0 {
                return Ok(window);
            }
            high = low;
            width = width.saturating_mul(PG_SLICE_GROWTH);
        }
    }

    /// The page is checked against the tickets themselves (visibility, every filter, not
    /// merged): a document out of step with its ticket could hide a hit, never show a
    /// ticket the actor may not see.
    async fn hits(&self, actor: &Actor, query: &SearchQuery, c: &Conditions, ids: &[i64]) -> Result<Vec<proto::SearchHit>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        // SQLite without statistics would rather walk an inbox's index (half the tickets)
        // than look up 25 ids: `NOT INDEXED` leaves it the primary key only (measured: 86 ms
        // against under 1 ms at 800,000 tickets).
        let select = if self.db.is_postgres() { TICKET_SELECT.to_owned() } else { TICKET_SELECT.replacen("FROM tickets t ", "FROM tickets t NOT INDEXED ", 1) };
        let sql = format!("{select} WHERE t.id IN ({list}) AND t.merged_into IS NULL{}{}", visible_clause(actor, "t"), c.sql);
        let rows: Vec<TicketRow> = query_all(self.db.connection(), self.db.stmt(&sql, c.params.clone())).await?;
        let list = rows.iter().map(|r| r.id.to_string()).collect::<Vec<_>>().join(", ");
        if list.is_empty() {
            return Ok(Vec::new());
        }
        let messages: Vec<MessageText> = query_all(
            self.db.connection(),
            self.db.stmt(
                &format!(
                    "SELECT id, ticket_id, kind, author_name, substr(body_text, 1, {EXCERPT_SCAN_CHARS}) AS body_text \
                     FROM messages WHERE ticket_id IN ({list}) ORDER BY ticket_id, id"
                ),
                vec![],
            ),
        )
        .await?;
        let matcher = Matcher::new(query);
        let mut excerpts: HashMap<i64, proto::SearchExcerpt> = HashMap::new();
        for m in messages {
            if excerpts.contains_key(&m.ticket_id) {
                continue;
            }
            if let Some(e) = matcher.excerpt(&m.body_text, EXCERPT_CHARS) {
                excerpts.insert(m.ticket_id, proto::SearchExcerpt {
                    message_id: m.id,
                    kind: crate::rows::parse("messages", "kind", &m.kind)?,
                    author_name: m.author_name,
                    pieces: e.pieces.into_iter().map(|p| proto::Highlight { text: p.text, hit: p.hit }).collect(),
                    cut_before: e.cut_before,
                    cut_after: e.cut_after,
                });
            }
        }
        let mut by_id: HashMap<i64, TicketRow> = rows.into_iter().map(|r| (r.id, r)).collect();
        let mut hits = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(row) = by_id.remove(id) else { continue };
            let subject = matcher.mark(&row.subject).map(|pieces| pieces.into_iter().map(|p| proto::Highlight { text: p.text, hit: p.hit }).collect());
            hits.push(proto::SearchHit { excerpt: excerpts.remove(id), subject, ticket: row.into_proto(self.now_micros())? });
        }
        Ok(hits)
    }
}
