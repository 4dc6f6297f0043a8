//! Serialised answers of the reads every open web UI repeats (the ticket list, the view
//! counts), reused while nothing was written.
//!
//! An entry remembers the store's write generation read *before* its query ran
//! ([`tandem_store::Store::write_generation`]): once this process commits any write, every
//! entry is stale, so a client never reads a list older than its own last write. What the
//! generation cannot see (a write by another process: the `tandem user` CLI on the same
//! SQLite file, a second server on the same PostgreSQL; the clock moving a snooze or an SLA
//! deadline past) shows after at most the time to live, measured on the store's clock (so a
//! test that moves its clock sees time-driven changes at once). A time to live of zero turns
//! the cache off.

use std::{collections::HashMap, future::Future, hash::Hash, sync::Mutex, time::Duration};

use axum::{body::Bytes, response::Response};
use serde::Serialize;

use crate::{
    ApiResult,
    extract::{json_bytes, json_response},
    state::AppState,
};

/// Bytes all entries of one cache may hold; past it, stale entries go, then all of them.
pub const DEFAULT_MAX_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug)]
struct Entry {
    generation: u64,
    /// The store clock's time at filling, in microseconds.
    filled_at: i64,
    body: Bytes,
}

#[derive(Debug)]
struct Entries<K> {
    map: HashMap<K, Entry>,
    bytes: usize,
}

/// Answers by key (who asks and what), valid for one write generation and at most `ttl`.
#[derive(Debug)]
pub struct ResponseCache<K> {
    ttl_micros: i64,
    max_bytes: usize,
    entries: Mutex<Entries<K>>,
}

impl<K: Hash + Eq> ResponseCache<K> {
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        let ttl_micros = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        ResponseCache { ttl_micros, max_bytes, entries: Mutex::new(Entries { map: HashMap::new(), bytes: 0 }) }
    }

    pub fn enabled(&self) -> bool {
        self.ttl_micros > 0
    }

    fn fresh(&self, entry: &Entry, generation: u64, now: i64) -> bool {
        entry.generation == generation && (0..self.ttl_micros).contains(&(now.saturating_sub(entry.filled_at)))
    }

    /// The body stored for `key` if it was filled at `generation` less than the time to live
    /// before `now` (the store clock, microseconds).
    pub fn get(&self, key: &K, generation: u64, now: i64) -> Option<Bytes> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.map.get(key)?;
        self.fresh(entry, generation, now).then(|| entry.body.clone())
    }

    /// Stores `body` for `key`; `generation` and `now` must have been read before the body's
    /// query ran.
    pub fn put(&self, key: K, generation: u64, now: i64, body: Bytes) {
        if !self.enabled() || body.len() > self.max_bytes {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.bytes + body.len() > self.max_bytes {
            entries.map.retain(|_, e| self.fresh(e, generation, now));
            entries.bytes = entries.map.values().map(|e| e.body.len()).sum();
            if entries.bytes + body.len() > self.max_bytes {
                entries.map.clear();
                entries.bytes = 0;
            }
        }
        entries.bytes += body.len();
        if let Some(old) = entries.map.insert(key, Entry { generation, filled_at: now, body }) {
            entries.bytes -= old.body.len();
        }
    }

    /// Bytes held (for tests and metrics).
    pub fn bytes(&self) -> usize {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).bytes
    }
}

/// Answers from `cache` when it holds a fresh body for `key`, otherwise awaits `load` (which
/// must not have started: futures are lazy), serialises and keeps its result.
pub async fn cached_json<K: Hash + Eq, T: Serialize>(
    state: &AppState,
    cache: &ResponseCache<K>,
    name: &'static str,
    key: K,
    load: impl Future<Output = tandem_store::Result<T>>,
) -> ApiResult<Response> {
    // Read before the query runs: a write committed meanwhile makes the new entry stale.
    let generation = state.store.write_generation();
    let now = tandem_store::to_micros(state.store.clock().now());
    if let Some(body) = cache.get(&key, generation, now) {
        state.metrics.read_cache_lookup(name, true);
        return Ok(json_response(body));
    }
    let body = json_bytes(&load.await?)?;
    if cache.enabled() {
        state.metrics.read_cache_lookup(name, false);
        cache.put(key, generation, now, body.clone());
    }
    Ok(json_response(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn body(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn an_entry_serves_its_generation_only() {
        let cache = ResponseCache::new(Duration::from_secs(60), 1024);
        assert_eq!(cache.get(&"list", 3, 0), None);
        cache.put("list", 3, 0, body("[1]"));
        assert_eq!(cache.get(&"list", 3, 0), Some(body("[1]")));
        assert_eq!(cache.get(&"list", 4, 0), None, "a committed write makes it stale");
        assert_eq!(cache.get(&"other", 3, 0), None);
        cache.put("list", 4, 0, body("[1,2]"));
        assert_eq!(cache.get(&"list", 4, 0), Some(body("[1,2]")));
        assert_eq!(cache.bytes(), 5, "the replaced body is no longer counted");
    }

    #[test]
    fn entries_expire_on_the_store_clock() {
        let cache = ResponseCache::new(Duration::from_secs(1), 1024);
        cache.put("list", 1, 10 * SECOND, body("[]"));
        assert!(cache.get(&"list", 1, 10 * SECOND + SECOND - 1).is_some());
        assert_eq!(cache.get(&"list", 1, 11 * SECOND), None, "the time to live is over");
        assert_eq!(cache.get(&"list", 1, 9 * SECOND), None, "a clock set back does not trust it");
    }

    #[test]
    fn zero_time_to_live_turns_it_off() {
        let cache = ResponseCache::new(Duration::ZERO, 1024);
        cache.put("list", 1, 0, body("[]"));
        assert_eq!(cache.get(&"list", 1, 0), None);
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn the_byte_budget_drops_stale_entries_first_then_everything() {
        let cache = ResponseCache::new(Duration::from_secs(60), 10);
        cache.put(1, 1, 0, body("aaaa"));
        cache.put(2, 2, 0, body("bbbb"));
        // Over budget: entry 1 (generation 1) is stale at generation 2 and goes.
        cache.put(3, 2, 0, body("cccc"));
        assert_eq!(cache.get(&1, 1, 0), None);
        assert_eq!(cache.get(&2, 2, 0), Some(body("bbbb")));
        assert_eq!(cache.get(&3, 2, 0), Some(body("cccc")));
        assert_eq!(cache.bytes(), 8);
        // Over budget with nothing stale: everything goes, the new entry stays.
        cache.put(4, 2, 0, body("dddd"));
        assert_eq!(cache.get(&2, 2, 0), None);
        assert_eq!(cache.get(&4, 2, 0), Some(body("dddd")));
        assert_eq!(cache.bytes(), 4);
        // A body larger than the whole budget is not kept.
        cache.put(5, 2, 0, body("eeeeeeeeeeee"));
        assert_eq!(cache.get(&5, 2, 0), None);
        assert_eq!(cache.bytes(), 4);
    }
}
