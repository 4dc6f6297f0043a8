//! Keeping the index in step with the tickets.
//!
//! The few functions every ticket change goes through (`save_state`, `insert_message`, merge
//! and split) mark the ticket with `WriteTx::index_at_commit`, and the transaction rebuilds
//! the documents of all the tickets it marked with [`index_tickets`] just before it commits: a
//! committed change is searchable, a rolled-back one never was, and a ticket written several
//! times in one transaction (an email then its plugin run's changes and automatic reply, a
//! group of emails) is indexed once. Contact renames rebuild their tickets at once.
//! [`Store::rebuild_search_index`] refills the whole index when its format changes (the
//! `search_index_version` counter), e.g. right after the migration.

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

/// Rebuilds the documents of several tickets (removing those of tickets that are gone or
/// merged), [`BATCH`] tickets to a pair of statements.
pub(crate) async fn index_tickets<C: ConnectionTrait>(db: &Db, conn: &C, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(BATCH) {
        index_chunk(db, conn, chunk).await?;
    }
    Ok(())
}

/// Rebuilds the documents of up to [`BATCH`] tickets with two statements, whatever their
/// number: one read of the tickets with their messages, one write replacing their documents;
/// a third removes the documents of tickets that are gone or merged, when there are any.
async fn index_chunk<C: ConnectionTrait>(db: &Db, conn: &C, ids: &[i64]) -> Result<()> {
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
    index_tickets(db, conn, &ids(db, conn, "SELECT id FROM tickets WHERE contact_id = ? ORDER BY id", vec![contact_id.into()]).await?).await
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

#[cfg(test)]
mod tests {
    use tandem_proto as proto;

    use crate::{
        Store,
        testing::{Backend, actor, clock, desk, fresh_database, new_ticket, open_store},
    };

    async fn numbers(store: &Store, actor: &tandem_domain::Actor, q: &str) -> Vec<i64> {
        let params = proto::SearchParams { q: q.into(), offset: None, limit: Some(100) };
        let mut found: Vec<i64> = store.search(actor, &params).await.expect("search").hits.iter().map(|h| h.ticket.number).collect();
        found.sort_unstable();
        found
    }

    /// The tickets a transaction marks are indexed when it commits, each once however often it
    /// was marked, with what the transaction last wrote; a transaction that rolls back leaves
    /// the index as it was.
    async fn marked_tickets_are_indexed_at_commit_only(backend: Backend) {
        let db = fresh_database(backend).await;
        let store = open_store(&db, clock()).await;
        let desk = desk(&store).await;
        let admin = actor(&store, &desk.admin).await;
        let mut ids = Vec::new();
        let mut numbers_made = Vec::new();
        for subject in ["Printer jammed", "Scanner offline"] {
            let mut input = new_ticket(desk.inbox_a.id, subject, "ida@example.com");
            input.body_text = "Kumquat delivery request.".into();
            let number = store.create_ticket(&admin, input).await.expect("create").ticket.number;
            let row: Option<crate::rows::IdRow> =
                crate::db::query_one(store.db.connection(), store.db.stmt("SELECT id FROM tickets WHERE number = ?", vec![number.into()])).await.expect("id");
            ids.push(row.expect("the ticket's row").id);
            numbers_made.push(number);
        }
        let rename = async |tx: &crate::db::WriteTx, id: i64, subject: &str| {
            let stmt = store.db.stmt("UPDATE tickets SET subject = ? WHERE id = ?", vec![subject.into(), id.into()]);
            sea_orm::ConnectionTrait::execute_raw(&tx.tx, stmt).await.expect("rename");
            tx.index_at_commit(id);
        };

        let tx = store.db.write().await.expect("begin");
        rename(&tx, ids[0], "Zebracorn toner").await;
        drop(tx);
        assert!(numbers(&store, &admin, "zebracorn").await.is_empty(), "a rolled-back change was never searchable");
        assert_eq!(numbers(&store, &admin, "printer").await, [numbers_made[0]]);

        let tx = store.db.write().await.expect("begin");
        rename(&tx, ids[0], "Zebracorn toner").await;
        rename(&tx, ids[1], "Quokka scanner").await;
        rename(&tx, ids[0], "Quillwort toner").await;
        tx.commit().await.expect("commit");
        assert_eq!(numbers(&store, &admin, "quillwort").await, [numbers_made[0]], "the last write of the transaction is indexed");
        assert!(numbers(&store, &admin, "zebracorn").await.is_empty());
        assert!(numbers(&store, &admin, "printer").await.is_empty());
        assert_eq!(numbers(&store, &admin, "quokka").await, [numbers_made[1]]);
        assert_eq!(numbers(&store, &admin, "kumquat").await, numbers_made, "both documents were rebuilt whole");
    }

    crate::backend_tests!(marked_tickets_are_indexed_at_commit_only);
}
