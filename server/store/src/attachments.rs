//! Attachments: bytes go to the content-addressed blob store, metadata to the database.

use sea_orm::{ConnectionTrait, FromQueryResult};
use tandem_domain::{Actor, policy::Action};
use tandem_proto as proto;

use crate::{
    Store,
    db::{Db, marks, query_all, query_one},
    error::{Result, StoreError},
    rows::IdRow,
    tickets::{authorize_ticket, load_ticket},
};

/// Largest attachment accepted (per file).
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;
/// Files one reply or note may carry.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;
/// Unsent uploads one user may keep (older than [`UPLOAD_TTL_MICROS`] they are dropped).
const MAX_PENDING_UPLOADS: i64 = 50;
/// How long an upload waits for the reply or note that takes it.
pub(crate) const UPLOAD_TTL_MICROS: i64 = 24 * 3600 * 1_000_000;

fn clean_content_type(raw: &str) -> String {
    let content_type = raw.trim().to_ascii_lowercase();
    if content_type.contains('/') && content_type.len() < 200 && !content_type.contains(['\r', '\n']) {
        content_type
    } else {
        "application/octet-stream".to_owned()
    }
}

#[derive(FromQueryResult)]
struct UploadRow {
    id: i64,
    filename: String,
    content_type: String,
    size: i64,
}

/// Moves the actor's uploads `ids` of ticket `ticket_id` onto message `message_id` (inside the
/// message's transaction). Unknown ids, someone else's uploads or another ticket's are
/// refused, and so are more than [`MAX_ATTACHMENTS_PER_MESSAGE`].
pub(crate) async fn take_uploads<C: ConnectionTrait>(db: &Db, conn: &C, actor: &Actor, ticket_id: i64, message_id: i64, ids: &[i64], at: i64) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    if ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(StoreError::validation("attachment_ids", format!("a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} files")));
    }
    let list = marks(ids.len());
    let mut values: Vec<sea_orm::Value> = vec![actor.user_id.into(), ticket_id.into()];
    values.extend(ids.iter().map(|id| sea_orm::Value::from(*id)));
    let found: Vec<IdRow> =
        query_all(conn, db.stmt(&format!("SELECT id FROM uploads WHERE user_id = ? AND ticket_id = ? AND id IN ({list}){}", db.for_update()), values.clone())).await?;
    if found.len() != ids.len() {
        return Err(StoreError::validation("attachment_ids", "not an upload of yours on this ticket (or it was sent or dropped already)"));
    }
    let mut insert: Vec<sea_orm::Value> = vec![message_id.into(), at.into()];
    insert.extend(values);
    conn.execute_raw(db.stmt(
        &format!(
            "INSERT INTO attachments (message_id, filename, content_type, size, sha256, created_at) \
             SELECT ?, filename, content_type, size, sha256, ? FROM uploads WHERE user_id = ? AND ticket_id = ? AND id IN ({list}) ORDER BY id"
        ),
        insert,
    ))
    .await?;
    let ids: Vec<sea_orm::Value> = ids.iter().map(|id| sea_orm::Value::from(*id)).collect();
    conn.execute_raw(db.stmt(&format!("DELETE FROM uploads WHERE id IN ({list})"), ids)).await?;
    Ok(())
}

/// Cleans a client- or mail-supplied file name: no directories, no control characters
/// (`tandem_mail::clean_filename`), `attachment` when nothing is left.
pub fn safe_filename(raw: &str) -> String {
    tandem_mail::clean_filename(raw).unwrap_or_else(|| "attachment".to_owned())
}

/// Records a blob already written to the blob store (once per content).
pub(crate) async fn insert_blob_row<C: ConnectionTrait>(db: &Db, conn: &C, sha256: &str, size: usize, at: i64) -> Result<()> {
    insert_blob_rows(db, conn, &[(sha256, size)], at).await
}

/// [`insert_blob_row`] for several blobs `(sha256, size)` in one statement (the same content
/// may come twice).
pub(crate) async fn insert_blob_rows<C: ConnectionTrait>(db: &Db, conn: &C, blobs: &[(&str, usize)], at: i64) -> Result<()> {
    if blobs.is_empty() {
        return Ok(());
    }
    let values = blobs.iter().flat_map(|&(sha256, size)| [sha256.to_owned().into(), (size as i64).into(), at.into()]).collect();
    let sql = format!("INSERT INTO blobs (sha256, size, created_at) VALUES {} ON CONFLICT (sha256) DO NOTHING", crate::db::value_rows(3, blobs.len()));
    conn.execute_raw(db.stmt(&sql, values)).await?;
    Ok(())
}

impl Store {
    /// Drops the uploads nobody sent within [`UPLOAD_TTL_MICROS`] (a timers round); their
    /// blobs stay (content-addressed, maybe shared). Writes only when there is one to drop.
    pub(crate) async fn drop_stale_uploads(&self, now: i64) -> Result<u64> {
        let cutoff = now - UPLOAD_TTL_MICROS;
        let any: Option<IdRow> = query_one(self.db.connection(), self.db.stmt("SELECT id FROM uploads WHERE created_at < ? LIMIT 1", vec![cutoff.into()])).await?;
        if any.is_none() {
            return Ok(0);
        }
        let tx = self.db.write().await?;
        let done = tx.tx.execute_raw(self.db.stmt("DELETE FROM uploads WHERE created_at < ?", vec![cutoff.into()])).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Keeps a file the actor attaches to a reply or note of ticket `number` before sending it
    /// (the caller must be able to work the ticket). Uploads older than a day do not count
    /// against the pending limit (the timers round drops them).
    pub async fn upload_attachment(&self, actor: &Actor, number: i64, filename: &str, content_type: &str, bytes: &[u8]) -> Result<proto::Upload> {
        if bytes.is_empty() {
            return Err(StoreError::validation("file", "the file is empty"));
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(StoreError::validation("file", format!("attachments are limited to {MAX_ATTACHMENT_BYTES} bytes")));
        }
        let row = load_ticket(&self.db, self.db.connection(), number, false).await?;
        authorize_ticket(actor, &row, Action::WorkTicket { inbox_id: row.inbox_id })?;
        let content_type = clean_content_type(content_type);
        let filename = safe_filename(filename);
        // The blob is written (and synced, on a blocking thread) before the row that points to
        // it is committed.
        let sha256 = self.blobs.put_off_thread(bytes).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        #[derive(FromQueryResult)]
        struct Count {
            n: i64,
        }
        let pending: Option<Count> = query_one(
            &tx.tx,
            self.db.stmt("SELECT COUNT(*) AS n FROM uploads WHERE user_id = ? AND created_at >= ?", vec![actor.user_id.into(), (now - UPLOAD_TTL_MICROS).into()]),
        )
        .await?;
        if pending.map_or(0, |c| c.n) >= MAX_PENDING_UPLOADS {
            return Err(StoreError::validation("file", format!("you have {MAX_PENDING_UPLOADS} files waiting to be sent: send or discard some first")));
        }
        insert_blob_row(&self.db, &tx.tx, &sha256, bytes.len(), now).await?;
        let id: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO uploads (user_id, ticket_id, filename, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                vec![actor.user_id.into(), row.id.into(), filename.clone().into(), content_type.clone().into(), (bytes.len() as i64).into(), sha256.into(), now.into()],
            ),
        )
        .await?;
        tx.commit().await?;
        let id = id.ok_or(StoreError::NotFound("upload"))?.id;
        Ok(proto::Upload { id, filename, content_type, size: bytes.len() as i64 })
    }

    /// Drops one of the actor's unsent uploads (removed from the composer).
    pub async fn discard_upload(&self, actor: &Actor, id: i64) -> Result<()> {
        let tx = self.db.write().await?;
        let done = tx.tx.execute_raw(self.db.stmt("DELETE FROM uploads WHERE id = ? AND user_id = ?", vec![id.into(), actor.user_id.into()])).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("upload"));
        }
        tx.commit().await
    }

    /// The actor's unsent uploads on ticket `number` (the composer shows them again after a reload).
    pub async fn pending_uploads(&self, actor: &Actor, number: i64) -> Result<Vec<proto::Upload>> {
        let row = load_ticket(&self.db, self.db.connection(), number, false).await?;
        authorize_ticket(actor, &row, Action::ViewTicket { inbox_id: row.inbox_id })?;
        let rows: Vec<UploadRow> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT id, filename, content_type, size FROM uploads WHERE user_id = ? AND ticket_id = ? AND created_at >= ? ORDER BY id",
                vec![actor.user_id.into(), row.id.into(), (self.now_micros() - UPLOAD_TTL_MICROS).into()],
            ),
        )
        .await?;
        Ok(rows.into_iter().map(|r| proto::Upload { id: r.id, filename: r.filename, content_type: r.content_type, size: r.size }).collect())
    }

    /// Stores an attachment of a message (trusted callers: intake paths and fixtures).
    pub async fn add_attachment(&self, message_id: i64, filename: &str, content_type: &str, bytes: &[u8]) -> Result<proto::Attachment> {
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(StoreError::validation("attachment", format!("attachments are limited to {MAX_ATTACHMENT_BYTES} bytes")));
        }
        let content_type = clean_content_type(content_type);
        let filename = safe_filename(filename);
        // The blob is written (and synced, on a blocking thread) before the row that points to
        // it is committed.
        let sha256 = self.blobs.put_off_thread(bytes).await?;
        let now = self.now_micros();
        let tx = self.db.write().await?;
        let exists: Option<IdRow> = query_one(&tx.tx, self.db.stmt("SELECT id FROM messages WHERE id = ?", vec![message_id.into()])).await?;
        exists.ok_or(StoreError::NotFound("message"))?;
        insert_blob_row(&self.db, &tx.tx, &sha256, bytes.len(), now).await?;
        let row: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO attachments (message_id, filename, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                vec![message_id.into(), filename.clone().into(), content_type.clone().into(), (bytes.len() as i64).into(), sha256.clone().into(), now.into()],
            ),
        )
        .await?;
        tx.commit().await?;
        let id = row.ok_or(StoreError::NotFound("attachment"))?.id;
        Ok(proto::Attachment { id, filename, content_type, size: bytes.len() as i64, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_controls() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(safe_filename("a\u{0}b\r\n.txt"), "ab.txt");
        assert_eq!(safe_filename(".."), "attachment");
        assert_eq!(safe_filename(""), "attachment");
    }
}
