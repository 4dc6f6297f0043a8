//! Content-addressed blobs (attachments, raw mail) under `<data>/blobs/ab/cdef…`.
//! A blob is written to a temporary file and renamed into place, so a crash never leaves a
//! half-written blob under its final name; writing the same content twice only refreshes the
//! file's modification time.
//!
//! A blob is written before the transaction whose `blobs` row points to it, so a write that
//! is then refused or rolled back leaves a file no row names (`Store::sweep_blobs` removes
//! those once they are older than a grace period). Every write of a blob, new or not, sets
//! its modification time to now, and the sweep checks that time again under the lock
//! writers share, right before it removes a file: a blob written again while the sweep runs
//! is kept.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock},
    time::SystemTime,
};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    /// Writers share it; the sweep takes it alone to check a file's age and remove it.
    sweeping: Arc<RwLock<()>>,
}

impl BlobStore {
    pub fn open(root: &Path) -> Result<BlobStore> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore { root: root.to_owned(), sweeping: Arc::default() })
    }

    pub(crate) fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(StoreError::validation("sha256", "not a lowercase hex SHA-256"));
        }
        Ok(self.root.join(&sha256[..2]).join(&sha256[2..]))
    }

    /// Runs file system work on the blobs (writing files and their durability barrier, walking
    /// the tree: milliseconds each) on a blocking thread, off the async workers.
    pub(crate) async fn off_thread<T: Send + 'static>(&self, work: impl FnOnce(&BlobStore) -> Result<T> + Send + 'static) -> Result<T> {
        let blobs = self.clone();
        tokio::task::spawn_blocking(move || work(&blobs)).await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?
    }

    /// [`BlobStore::put`] on a blocking thread (what the async callers use).
    pub(crate) async fn put_off_thread(&self, bytes: impl Into<Vec<u8>>) -> Result<String> {
        let bytes = bytes.into();
        self.off_thread(move |blobs| blobs.put(&bytes)).await
    }

    /// [`BlobStore::put_many`] on a blocking thread.
    pub(crate) async fn put_many_off_thread(&self, blobs: Vec<Vec<u8>>) -> Result<Vec<String>> {
        self.off_thread(move |store| store.put_many(&blobs.iter().map(Vec::as_slice).collect::<Vec<_>>())).await
    }

    /// [`BlobStore::get`] on a blocking thread.
    pub(crate) async fn get_off_thread(&self, sha256: &str) -> Result<Vec<u8>> {
        let sha256 = sha256.to_owned();
        self.off_thread(move |blobs| blobs.get(&sha256)).await
    }

    /// Stores `bytes` and returns their hex SHA-256.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        self.write(bytes, true)
    }

    /// Stores several blobs with one durability barrier for all of them (one `syncfs` instead
    /// of an `fsync` per file): for intake batches. Returns their SHA-256s in order.
    pub fn put_many(&self, blobs: &[&[u8]]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(blobs.len());
        for bytes in blobs {
            out.push(self.write(bytes, false)?);
        }
        let root = std::fs::File::open(&self.root)?;
        rustix::fs::syncfs(&root).map_err(|e| StoreError::Io(e.into()))?;
        Ok(out)
    }

    fn write(&self, bytes: &[u8], sync: bool) -> Result<String> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256)?;
        let _writing = self.sweeping.read().unwrap_or_else(PoisonError::into_inner);
        // A blob left incomplete by a crash before its barrier has the wrong size (and no row
        // points to it): it is written again.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            touch(&path)?;
            return Ok(sha256);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut tmp = tempfile_in(&self.root.join("tmp"))?;
        tmp.1.write_all(bytes)?;
        if sync {
            tmp.1.sync_all()?;
        }
        std::fs::rename(&tmp.0, &path)?;
        Ok(sha256)
    }

    /// The blobs whose files were last written before `before`, and the temporary files of
    /// writes that never finished (a crash) from before then, which are removed at once.
    pub(crate) fn written_before(&self, before: SystemTime) -> Result<(Vec<String>, u64)> {
        let mut old = Vec::new();
        let mut temporaries = 0;
        for dir in std::fs::read_dir(&self.root)? {
            let dir = dir?;
            let name = dir.file_name();
            let Some(prefix) = name.to_str() else { continue };
            let is_tmp = prefix == "tmp";
            if !is_tmp && (prefix.len() != 2 || !dir.file_type()?.is_dir()) {
                continue;
            }
            for file in std::fs::read_dir(dir.path())? {
                let file = file?;
                let modified = match file.metadata().and_then(|m| m.modified()) {
                    Ok(modified) => modified,
                    // Removed meanwhile (another sweep, a finished temporary file).
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StoreError::Io(e)),
                };
                if modified >= before {
                    continue;
                }
                if is_tmp {
                    remove(&file.path())?;
                    temporaries += 1;
                } else if let Some(rest) = file.file_name().to_str() {
                    old.push(format!("{prefix}{rest}"));
                }
            }
        }
        Ok((old, temporaries))
    }

    /// Removes a blob's file if it was still last written before `before` (checked under the
    /// lock writers share, so a blob written again meanwhile stays). Answers whether it did.
    pub(crate) fn remove_if_written_before(&self, sha256: &str, before: SystemTime) -> Result<bool> {
        let path = self.path_of(sha256)?;
        let _alone = self.sweeping.write().unwrap_or_else(PoisonError::into_inner);
        match std::fs::metadata(&path) {
            Ok(m) if m.modified()? < before => remove(&path).map(|()| true),
            Ok(_) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Io(e)),
        }
    }

    pub fn get(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path_of(sha256)?;
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound("blob"),
            _ => StoreError::Io(e),
        })
    }
}

/// Sets a file's modification time to now (the kernel's clock).
fn touch(path: &Path) -> Result<()> {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, UTIME_NOW, UTIME_OMIT, utimensat};
    let times = Timestamps { last_access: Timespec { tv_sec: 0, tv_nsec: UTIME_OMIT }, last_modification: Timespec { tv_sec: 0, tv_nsec: UTIME_NOW } };
    utimensat(CWD, path, &times, AtFlags::empty()).map_err(|e| StoreError::Io(e.into()))
}

/// Removes a file; one already gone (another sweep) is no error.
fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io(e)),
        _ => Ok(()),
    }
}

fn tempfile_in(dir: &Path) -> Result<(PathBuf, std::fs::File)> {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
    let path = dir.join(hex::encode(random));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn blobs_are_addressed_by_content_and_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let a = store.put(b"hello").expect("put");
        assert_eq!(a, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(store.put(b"hello").expect("again"), a);
        assert_eq!(store.get(&a).expect("get"), b"hello");
        assert!(matches!(store.get(&"0".repeat(64)), Err(StoreError::NotFound(_))));
        assert!(store.get("../../etc/passwd").is_err());
    }

    /// Sets a file's modification time (the tests cannot read the clock: clippy forbids it).
    pub(crate) fn set_written(path: &Path, at: SystemTime) {
        let file = std::fs::File::options().write(true).open(path).expect("open");
        file.set_modified(at).expect("set mtime");
    }

    #[test]
    fn old_blobs_are_those_not_written_since() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let (long_ago, cut) = (SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_670_000_000), SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_690_000_000));
        let old = store.put(b"old").expect("put");
        let new = store.put(b"new").expect("put");
        set_written(&store.path_of(&old).expect("path"), long_ago);
        let stale_tmp = dir.path().join("tmp").join("left-by-a-crash");
        std::fs::write(&stale_tmp, b"half").expect("tmp");
        set_written(&stale_tmp, long_ago);
        let (found, temporaries) = store.written_before(cut).expect("walk");
        assert_eq!(found.as_slice(), std::slice::from_ref(&old));
        assert_eq!(temporaries, 1);
        assert!(!stale_tmp.exists(), "a crash's temporary file is removed");

        // Written again: young again, and kept by a removal that finds it so.
        assert_eq!(store.put(b"old").expect("again"), old);
        assert!(store.written_before(cut).expect("walk").0.is_empty());
        assert!(!store.remove_if_written_before(&old, cut).expect("remove"));
        assert_eq!(store.get(&old).expect("kept"), b"old");

        set_written(&store.path_of(&old).expect("path"), long_ago);
        assert!(store.remove_if_written_before(&old, cut).expect("remove"));
        assert!(matches!(store.get(&old), Err(StoreError::NotFound(_))));
        assert!(!store.remove_if_written_before(&old, cut).expect("gone already"));
        assert_eq!(store.get(&new).expect("the new blob stays"), b"new");
    }

    #[test]
    fn batches_and_repairs_of_incomplete_blobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let shas = store.put_many(&[b"one", b"two", b"one"]).expect("put_many");
        assert_eq!(shas[0], shas[2]);
        assert_eq!(store.get(&shas[1]).expect("get"), b"two");
        // A truncated file under a blob's name (a crash before the barrier) is rewritten.
        std::fs::write(store.path_of(&shas[1]).expect("path"), b"t").expect("truncate");
        assert_eq!(store.put(b"two").expect("put"), shas[1]);
        assert_eq!(store.get(&shas[1]).expect("get"), b"two");
    }
}
