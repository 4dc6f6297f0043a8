//! Removing blob files no row names: a write refused or rolled back after its blob was
//! written (an upload over the pending limit, an attachment refused, an intake group that
//! failed), or temporary files of a write a crash interrupted. See `blob.rs` for why a blob
//! written again during the sweep is kept.

use std::time::{Duration, SystemTime};

use sea_orm::{FromQueryResult, Value};

use crate::{
    Store,
    db::{marks, query_all},
    error::Result,
};

/// Blob names per `IN` list.
const CHUNK: usize = 500;

/// What a sweep found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BlobSweep {
    /// Blob files older than the grace period.
    pub checked: u64,
    /// Of those, the ones no `blobs` row names, removed.
    pub removed: u64,
    /// Temporary files older than the grace period, removed.
    pub temporaries: u64,
}

#[derive(FromQueryResult)]
struct Named {
    sha256: String,
}

impl Store {
    /// Removes blob files last written more than `grace` ago that no `blobs` row names (every
    /// table holding a blob points to its row), and temporary files as old. The grace period
    /// covers a write whose transaction has not committed yet: its blob is written first.
    pub async fn sweep_blobs(&self, grace: Duration) -> Result<BlobSweep> {
        let before = SystemTime::from(self.clock().now()) - grace;
        // A walk over every blob file.
        let (old, temporaries) = self.blobs().off_thread(move |blobs| blobs.written_before(before)).await?;
        let mut sweep = BlobSweep { checked: old.len() as u64, removed: 0, temporaries };
        for chunk in old.chunks(CHUNK) {
            let named: Vec<Named> = query_all(
                self.db.connection(),
                self.db.stmt(&format!("SELECT sha256 FROM blobs WHERE sha256 IN ({})", marks(chunk.len())), chunk.iter().map(|s| Value::from(s.clone())).collect()),
            )
            .await?;
            let named: std::collections::HashSet<String> = named.into_iter().map(|n| n.sha256).collect();
            let unnamed: Vec<String> = chunk.iter().filter(|s| !named.contains(*s)).cloned().collect();
            // Removing waits for the blob writes in flight (`blob.rs`): on a blocking thread.
            sweep.removed += self
                .blobs()
                .off_thread(move |blobs| {
                    let mut removed = 0;
                    for sha256 in &unnamed {
                        removed += u64::from(blobs.remove_if_written_before(sha256, before)?);
                    }
                    Ok(removed)
                })
                .await?;
        }
        Ok(sweep)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crate::{
        blob::tests::set_written,
        testing::{Backend, clock, desk, fresh_database, open_store},
    };

    /// Only blob files no row names and older than the grace period go: an attachment's blob
    /// stays however old, an orphan written moments ago stays.
    async fn the_sweep_removes_old_unnamed_blobs_only(backend: Backend) {
        let db = fresh_database(backend).await;
        let store = open_store(&db, clock()).await;
        let desk = desk(&store).await;
        let two_hours_ago = SystemTime::from(store.clock().now()) - Duration::from_secs(7200);
        let attachment = desk.attachment.sha256.clone();
        let orphan = store.blobs().put(b"an upload the server refused").expect("put");
        let young_orphan = store.blobs().put(b"an upload whose transaction is still open").expect("put");
        for sha in [&attachment, &orphan] {
            set_written(&store.blobs().path_of(sha).expect("path"), two_hours_ago);
        }

        let sweep = store.sweep_blobs(Duration::from_secs(3600)).await.expect("sweep");
        assert_eq!(sweep.removed, 1, "{sweep:?}");
        assert!(sweep.checked >= 2, "{sweep:?}");
        assert!(store.blobs().get(&orphan).is_err(), "the old orphan is gone");
        assert!(store.blobs().get(&attachment).is_ok(), "a named blob stays however old");
        assert!(store.blobs().get(&young_orphan).is_ok(), "an orphan within the grace period stays");
        assert_eq!(store.sweep_blobs(Duration::from_secs(3600)).await.expect("again").removed, 0);
    }

    crate::backend_tests!(the_sweep_removes_old_unnamed_blobs_only);
}
