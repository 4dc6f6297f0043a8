use std::{collections::BTreeSet, path::PathBuf, sync::Arc, time::Duration};

use tandem_plugins::Pipeline;
use tandem_store::{Store, TicketFilter};

use crate::{live::LiveHub, metrics::Metrics, response_cache::{DEFAULT_MAX_BYTES, ResponseCache}};

/// Everything a handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// The plugin pipeline (and, through it, the registry and the runtime).
    pub plugins: Pipeline,
    /// The email channel's intake (raw messages, wake-ups for the sender and IMAP workers).
    pub mail: tandem_channel::Intake,
    pub settings: Arc<ApiSettings>,
    pub metrics: Arc<Metrics>,
    /// The live channel: ticket changes and presence for the WebSockets of `/api/v1/live`.
    pub live: LiveHub,
    /// Answers of the reads every open web UI repeats.
    pub reads: Arc<ReadCaches>,
}

/// Inboxes a caller sees: `None` for all of them (admins). Callers who see the same inboxes
/// get the same lists.
pub type Visibility = Option<BTreeSet<i64>>;

/// The cached reads (see [`crate::response_cache`]).
#[derive(Debug)]
pub struct ReadCaches {
    /// `GET /api/v1/tickets`, by what the caller sees and the filter (in which `me` is already
    /// the caller's id).
    pub tickets: ResponseCache<(Visibility, TicketFilter)>,
    /// `GET /api/v1/tickets/counts`, by caller (their own "mine") and what they see.
    pub counts: ResponseCache<(i64, Visibility)>,
}

impl ReadCaches {
    pub fn new(ttl: Duration) -> Self {
        ReadCaches { tickets: ResponseCache::new(ttl, DEFAULT_MAX_BYTES), counts: ResponseCache::new(ttl, DEFAULT_MAX_BYTES / 8) }
    }
}

/// HTTP-level settings (the binary maps its configuration onto these).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Mark the session cookie `Secure` (set when Tandem is served over HTTPS).
    pub secure_cookies: bool,
    /// The built web UI (`web/dist`), served at `/`.
    pub web_dir: Option<PathBuf>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Largest raw message accepted by `POST /api/v1/inboxes/{id}/messages/raw`.
    pub max_raw_message_bytes: usize,
    /// How long a cached ticket list or view count may be served when nothing was written
    /// in this process (zero: no cache). See [`crate::response_cache`].
    pub read_cache_ttl: Duration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings { secure_cookies: false, web_dir: None, max_body_bytes: 2 * 1024 * 1024, max_raw_message_bytes: 64 * 1024 * 1024, read_cache_ttl: Duration::from_secs(1) }
    }
}

impl AppState {
    pub fn new(store: Store, plugins: Pipeline, mail: tandem_channel::Intake, settings: ApiSettings) -> Self {
        let live = LiveHub::new(store.clone());
        let reads = Arc::new(ReadCaches::new(settings.read_cache_ttl));
        AppState { store, plugins, mail, settings: Arc::new(settings), metrics: Arc::new(Metrics::new()), live, reads }
    }
}
