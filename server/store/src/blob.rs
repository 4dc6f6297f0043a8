//! Content-addressed blobs (attachments, raw mail) under `<data>/blobs/ab/cdef…`.
//! A blob is written to a temporary file and renamed into place, so a crash never leaves a
//! half-written blob under its final name; writing the same content twice is a no-op.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn open(root: &Path) -> Result<BlobStore> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore { root: root.to_owned() })
    }

    fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(StoreError::validation("sha256", "not a lowercase hex SHA-256"));
        }
        Ok(self.root.join(&sha256[..2]).join(&sha256[2..]))
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
        // A blob left incomplete by a crash before its barrier has the wrong size (and no row
        // points to it): it is written again.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
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

    pub fn get(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path_of(sha256)?;
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound("blob"),
            _ => StoreError::Io(e),
        })
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
mod tests {
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
