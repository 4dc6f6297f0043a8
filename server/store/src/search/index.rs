//! Keeping the index in step with the tickets.
//!
//! [`index_ticket`] rebuilds one ticket's document and is called by the few functions every
//! ticket change goes through (`insert_ticket`, `save_state`, `insert_message`, merge and
//! split, contact renames), inside their transaction: a committed change is searchable, a
//! rolled-back one never was. [`Store::rebuild_search_index`] refills the whole index when
//! its format changes (the `search_index_version` counter), e.g. right after the migration.

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

/// A ticket's fields with one of its messages (none for a ticket without messages or a
/// merged one): one row per message, the ticket's fields repeated.
#[derive(Debug, FromQueryResult)]
struct DocumentRow {
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
    author_name: Option<String>,
    body_text: Option<String>,
}

/// Rebuilds the index document of one ticket (removes it if the ticket is gone or merged).
pub(crate) async fn index_ticket<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64) -> Result<()> {
    index_tickets(db, conn, &[ticket_id]).await
}

/// Rebuilds the documents of several tickets with two statements, whatever their number (a
/// write path, which runs this once or twice per message, or a batch of the full rebuild):
/// one read of the tickets with their messages, one write replacing their documents; a third
/// removes the documents of tickets that are gone or merged, when there are any.
pub(crate) async fn index_tickets<C: ConnectionTrait>(db: &Db, conn: &C, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = crate::db::marks(ids.len());
    let rows: Vec<DocumentRow> = query_all(
        conn,
        db.stmt(
            &format!(
                "SELECT t.id, t.subject, t.status, t.priority, t.inbox_id, t.team_id, t.assignee_id, t.tags, t.merged_into, \
                 c.name AS contact_name, c.email AS contact_email, m.author_name, m.body_text \
                 FROM tickets t JOIN contacts c ON c.id = t.contact_id \
                 LEFT JOIN messages m ON m.ticket_id = t.id AND t.merged_into IS NULL \
                 WHERE t.id IN ({list}) ORDER BY t.id, m.id"
            ),
            ids.iter().map(|&id| Value::from(id)).collect(),
        ),
    )
    .await?;
    let key = if db.is_postgres() { "ticket_id" } else { "rowid" };
    // A merged ticket is found through the ticket it was merged into: its document goes.
    let mut values: Vec<Value> = Vec::new();
    let mut indexed: Vec<i64> = Vec::new();
    for ticket in rows.chunk_by(|a, b| a.id == b.id) {
        let t = &ticket[0];
        if t.merged_into.is_some() {
            continue;
        }
        let tags: Vec<String> = parse_json("tickets", "tags", &t.tags)?;
        let messages = ticket.iter().filter_map(|m| Some((m.author_name.as_deref()?, m.body_text.as_deref()?))).collect();
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
            messages,
        });
        values.extend([t.id.into(), doc.subject.into(), doc.body.into(), doc.people.into(), doc.tags.into(), doc.stems.into(), doc.facets.into()]);
        indexed.push(t.id);
    }
    let gone: Vec<Value> = ids.iter().filter(|id| !indexed.contains(id)).map(|&id| Value::from(id)).collect();
    if !gone.is_empty() {
        let sql = format!("DELETE FROM search_index WHERE {key} IN ({})", crate::db::marks(gone.len()));
        conn.execute_raw(db.stmt(&sql, gone)).await?;
    }
    if indexed.is_empty() {
        return Ok(());
    }
    let documents = crate::db::value_rows(7, indexed.len());
    // FTS5 replaces a row whose rowid exists (deleting the old document's terms first).
    let sql = if db.is_postgres() {
        format!(
            "INSERT INTO search_index (ticket_id, subject, body, people, tags, stems, facets) VALUES {documents} \
             ON CONFLICT (ticket_id) DO UPDATE SET subject = excluded.subject, body = excluded.body, people = excluded.people, \
             tags = excluded.tags, stems = excluded.stems, facets = excluded.facets"
        )
    } else {
        format!("INSERT OR REPLACE INTO search_index (rowid, subject, body, people, tags, stems, facets) VALUES {documents}")
    };
    conn.execute_raw(db.stmt(&sql, values)).await?;
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
