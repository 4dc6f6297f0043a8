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
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256)?;
        if path.exists() {
            return Ok(sha256);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut tmp = tempfile_in(&self.root.join("tmp"))?;
        tmp.1.write_all(bytes)?;
        tmp.1.sync_all()?;
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
}
