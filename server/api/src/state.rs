use std::{path::PathBuf, sync::Arc};

use tandem_plugins::Pipeline;
use tandem_store::Store;

use crate::{live::LiveHub, metrics::Metrics};

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
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings { secure_cookies: false, web_dir: None, max_body_bytes: 2 * 1024 * 1024, max_raw_message_bytes: 64 * 1024 * 1024 }
    }
}

impl AppState {
    pub fn new(store: Store, plugins: Pipeline, mail: tandem_channel::Intake, settings: ApiSettings) -> Self {
        let live = LiveHub::new(store.clone());
        AppState { store, plugins, mail, settings: Arc::new(settings), metrics: Arc::new(Metrics::new()), live }
    }
}
