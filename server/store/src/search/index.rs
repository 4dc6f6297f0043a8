//! Keeping the index in step with the tickets.
//!
//! [`index_ticket`] rebuilds one ticket's document and is called by the few functions every
//! ticket change goes through (`insert_ticket`, `save_state`, `insert_message`, merge and
//! split, contact renames), inside their transaction: a committed change is searchable, a
//! rolled-back one never was. [`Store::rebuild_search_index`] refills the whole index when
//! its format changes (the `search_index_version` counter), e.g. right after the migration.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::document::{Document, TicketText};
use crate::{
    Store,
    db::{Db, query_all, query_one},
    error::Result,
    rows::parse_json,
};

/// Bump when the document format changes: `Store::open` then rebuilds the index.
pub(crate) const INDEX_VERSION: i64 = 1;

#[derive(Debug, FromQueryResult)]
struct TicketFields {
    id: i64,
    subject: String,
    status: String,
    priority: String,
    inbox_id: i64,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    tags: String,
    merged_into: Option<i64>,
    contact_name: String,
    contact_email: String,
}

#[derive(Debug, FromQueryResult)]
struct MessageText {
    ticket_id: i64,
    author_name: String,
    body_text: String,
}

/// Rebuilds the index document of one ticket (removes it if the ticket is gone or merged).
pub(crate) async fn index_ticket<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64) -> Result<()> {
    index_tickets(db, conn, &[ticket_id]).await
}

/// Rebuilds the documents of several tickets with four statements, whatever their number
/// (a write path or a batch of the full rebuild).
pub(crate) async fn index_tickets<C: ConnectionTrait>(db: &Db, conn: &C, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let tickets: Vec<TicketFields> = query_all(
        conn,
        db.stmt(
            &format!(
                "SELECT t.id, t.subject, t.status, t.priority, t.inbox_id, t.team_id, t.assignee_id, t.tags, t.merged_into, \
                 c.name AS contact_name, c.email AS contact_email \
                 FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.id IN ({list})"
            ),
            vec![],
        ),
    )
    .await?;
    let messages: Vec<MessageText> = query_all(
        conn,
        db.stmt(&format!("SELECT ticket_id, author_name, body_text FROM messages WHERE ticket_id IN ({list}) ORDER BY ticket_id, id"), vec![]),
    )
    .await?;
    let mut by_ticket: HashMap<i64, Vec<(&str, &str)>> = HashMap::new();
    for m in &messages {
        by_ticket.entry(m.ticket_id).or_default().push((m.author_name.as_str(), m.body_text.as_str()));
    }
    let key = if db.is_postgres() { "ticket_id" } else { "rowid" };
    conn.execute_raw(db.stmt(&format!("DELETE FROM search_index WHERE {key} IN ({list})"), vec![])).await?;
    // A merged ticket is found through the ticket it was merged into.
    let mut rows: Vec<Value> = Vec::new();
    let mut count = 0;
    for t in tickets.iter().filter(|t| t.merged_into.is_none()) {
        let tags: Vec<String> = parse_json("tickets", "tags", &t.tags)?;
        let doc = Document::build(&TicketText {
            subject: &t.subject,
            status: &t.status,
            priority: &t.priority,
            inbox_id: t.inbox_id,
            team_id: t.team_id,
            assignee_id: t.assignee_id,
            tags: &tags,
            contact_name: &t.contact_name,
            contact_email: &t.contact_email,
            messages: by_ticket.remove(&t.id).unwrap_or_default(),
        });
        rows.extend([t.id.into(), doc.subject.into(), doc.body.into(), doc.people.into(), doc.tags.into(), doc.stems.into(), doc.facets.into()]);
        count += 1;
    }
    if count == 0 {
        return Ok(());
    }
    let marks = crate::db::value_rows(7, count);
    conn.execute_raw(db.stmt(&format!("INSERT INTO search_index ({key}, subject, body, people, tags, stems, facets) VALUES {marks}"), rows)).await?;
    Ok(())
}

/// Rebuilds the documents of every ticket of a contact (after a rename).
pub(crate) async fn index_contact_tickets<C: ConnectionTrait>(db: &Db, conn: &C, contact_id: i64) -> Result<()> {
    for chunk in ids(db, conn, "SELECT id FROM tickets WHERE contact_id = ? ORDER BY id", vec![contact_id.into()]).await?.chunks(BATCH) {
        index_tickets(db, conn, chunk).await?;
    }
    Ok(())
}

/// Tickets per statement batch (7 values each: within both backends' bind limits).
const BATCH: usize = 500;

async fn ids<C: ConnectionTrait>(db: &Db, conn: &C, sql: &str, values: Vec<sea_orm::Value>) -> Result<Vec<i64>> {
    let rows: Vec<crate::rows::IdRow> = query_all(conn, db.stmt(sql, values)).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[derive(Debug, FromQueryResult)]
struct Counter {
    value: i64,
}

impl Store {
    /// Rebuilds the search index if its format is older than this build's (after the
    /// migration that created it, or an upgrade that changed it). Returns the tickets indexed.
    pub async fn ensure_search_index(&self) -> Result<u64> {
        let current: Option<Counter> =
            query_one(self.db.connection(), self.db.stmt("SELECT value FROM counters WHERE name = 'search_index_version'", vec![])).await?;
        if current.map(|c| c.value) == Some(INDEX_VERSION) {
            return Ok(0);
        }
        self.rebuild_search_index().await
    }

    /// Rebuilds every ticket's search document, in transactions of [`BATCH`] tickets; returns
    /// how many were indexed. Searches keep working meanwhile (on the old documents).
    pub async fn rebuild_search_index(&self) -> Result<u64> {
        let mut after = 0i64;
        let mut done = 0u64;
        loop {
            let tx = self.db.write().await?;
            let batch = ids(&self.db, &tx.tx, &format!("SELECT id FROM tickets WHERE id > ? ORDER BY id LIMIT {BATCH}"), vec![after.into()]).await?;
            index_tickets(&self.db, &tx.tx, &batch).await?;
            if batch.is_empty() {
                // Merge the index segments a bulk rebuild leaves behind (FTS5), refresh the
                // planner's statistics (PostgreSQL).
                let tidy = if self.db.is_postgres() { "ANALYZE search_index" } else { "INSERT INTO search_index (search_index) VALUES ('optimize')" };
                tx.tx.execute_unprepared(tidy).await?;
                tx.tx
                    .execute_raw(self.db.stmt(
                        "UPDATE counters SET value = ? WHERE name = 'search_index_version'",
                        vec![INDEX_VERSION.into()],
                    ))
                    .await?;
                tx.commit().await?;
                tracing::info!(tickets = done, "search index rebuilt");
                return Ok(done);
            }
            tx.commit().await?;
            done += batch.len() as u64;
            after = *batch.last().unwrap_or(&after);
        }
    }
}
