//! Attachments: bytes go to the content-addressed blob store, metadata to the database.

use sea_orm::ConnectionTrait;
use tandem_proto as proto;

use crate::{
    Store,
    db::{Db, query_one},
    error::{Result, StoreError},
    rows::IdRow,
};

/// Largest attachment accepted (per file).
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// Cleans a client- or mail-supplied file name: no directories, no control characters
/// (`tandem_mail::clean_filename`), `attachment` when nothing is left.
pub fn safe_filename(raw: &str) -> String {
    tandem_mail::clean_filename(raw).unwrap_or_else(|| "attachment".to_owned())
}

/// Records a blob already written to the blob store (once per content).
pub(crate) async fn insert_blob_row<C: ConnectionTrait>(db: &Db, conn: &C, sha256: &str, size: usize, at: i64) -> Result<()> {
    let sql = if db.is_postgres() {
        "INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING"
    } else {
        "INSERT OR IGNORE INTO blobs (sha256, size, created_at) VALUES (?, ?, ?)"
    };
    conn.execute_raw(db.stmt(sql, vec![sha256.to_owned().into(), (size as i64).into(), at.into()])).await?;
    Ok(())
}

impl Store {
    /// Stores an attachment of a message (trusted callers: intake paths and fixtures).
    pub async fn add_attachment(&self, message_id: i64, filename: &str, content_type: &str, bytes: &[u8]) -> Result<proto::Attachment> {
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(StoreError::validation("attachment", format!("attachments are limited to {MAX_ATTACHMENT_BYTES} bytes")));
        }
        let content_type = content_type.trim().to_ascii_lowercase();
        let content_type = if content_type.contains('/') && content_type.len() < 200 { content_type } else { "application/octet-stream".to_owned() };
        let filename = safe_filename(filename);
        // The blob is written (and synced) before the row that points to it is committed.
        let sha256 = self.blobs.put(bytes)?;
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
