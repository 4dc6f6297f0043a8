//! The live channel behind `GET /api/v1/live`: ticket changes and presence, pushed over one
//! WebSocket per browser tab (wire types: `tandem_proto::live`).
//!
//! - [`feed`]: a background task tails the audit `events` table (the single source of truth,
//!   also with several processes on one PostgreSQL) and broadcasts one change per ticket per
//!   poll; each socket forwards only what its user may see (`tandem_domain::policy`).
//! - [`presence`]: who views and who types on which ticket: this process's connections, plus
//!   the viewers connected to other processes on the same database.
//! - [`cluster`]: shares presence with those processes through the database (each process is
//!   a node with a heartbeat; its viewing connections are rows; it reads the others' rows for
//!   the tickets its own sockets view every [`feed::POLL_INTERVAL`]).
//! - [`socket`]: one connection: authentication was done by the handshake's `Auth`; then
//!   `Hello`, commands in, events out, pings, clean-up.
//!
//! The [`LiveHub`] in `AppState` ties them together. The tail and the presence sharing start
//! with the first socket and poll only while sockets are connected.

pub mod cluster;
pub mod feed;
pub mod presence;
pub mod socket;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};
use tandem_proto::LiveEvent;
use tandem_store::{SharedViewer, Store};
use tokio::sync::{Notify, OnceCell, broadcast, mpsc, watch};

use crate::state::AppState;
use feed::TicketChange;
use presence::{Presence, Update};

/// Ticket changes buffered per socket; a socket further behind skips ahead (it is told
/// nothing: clients reload what they show when they reconnect, and lists reload on the next
/// change anyway).
const CHANGES_BUFFER: usize = 256;
/// Presence messages buffered per socket before new ones are dropped for it.
const DIRECT_BUFFER: usize = 64;

/// The live channel's shared state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveHub {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    /// Ticket changes, from the tail to every socket.
    changes: broadcast::Sender<Arc<TicketChange>>,
    registry: Mutex<Registry>,
    /// Connection ids are `node << 32 | n`, unique across the processes on one database
    /// (`n` alone while the node is not registered).
    next_connection: AtomicU64,
    connections: AtomicUsize,
    /// This process's node id among the processes sharing presence (registered with the
    /// first socket).
    node: OnceCell<i64>,
    /// What other processes should know of each connection whose presence changed since the
    /// presence-sharing task last wrote (the ticket it views, or nothing): the last state of
    /// each, so a burst of changes, or a database that stalls the task, holds one entry per
    /// connection, never a backlog of every change.
    unpublished: Mutex<BTreeMap<u64, Option<SharedViewer>>>,
    /// Wakes the presence-sharing task to write `unpublished`.
    publish_wake: Notify,
    /// The presence-sharing task, once started (awaited at shutdown).
    sharing: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Wakes the presence-sharing task to read the other processes' viewers now.
    presence_wake: Notify,
    /// Wakes the tail: a socket connected, or an API write committed.
    wake: Notify,
    /// Whether the tail is running with a cursor (sockets wait for it before `Hello`).
    active: watch::Sender<bool>,
    shutdown: watch::Sender<bool>,
    tail_started: AtomicBool,
}

/// Presence and the sockets' inboxes, under one lock so that updates reach each socket in the
/// order they happened.
#[derive(Debug, Default)]
struct Registry {
    presence: Presence,
    direct: HashMap<u64, mpsc::Sender<LiveEvent>>,
}

impl Shared {
    fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This process's node id, registering it on first use (by the first socket, or by the
    /// heartbeat after a failure); `None` while the database refuses: presence is then this
    /// process's only, and the next socket or heartbeat tries again.
    async fn node(&self) -> Option<i64> {
        match self.node.get_or_try_init(|| self.store.register_live_node()).await {
            Ok(node) => Some(*node),
            Err(e) => {
                tracing::warn!(error = %e, "live: cannot register this process for shared presence; viewers on other processes are not shown");
                None
            }
        }
    }

    /// Tells the presence-sharing task what the connection views now (called under the
    /// registry's lock, so the last state recorded is the registry's).
    fn publish(&self, registry: &Registry, connection: u64) {
        self.unpublished().insert(connection, registry.presence.shared(connection));
        self.publish_wake.notify_one();
    }

    /// Presence changes not yet written for the other processes (see the field).
    fn unpublished(&self) -> MutexGuard<'_, BTreeMap<u64, Option<SharedViewer>>> {
        self.unpublished.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Registry {
    fn deliver(&self, updates: impl IntoIterator<Item = Update>) {
        for update in updates {
            let event = LiveEvent::Presence { number: update.number, viewers: update.viewers };
            for recipient in update.recipients {
                if let Some(direct) = self.direct.get(&recipient)
                    && direct.try_send(event.clone()).is_err()
                {
                    tracing::debug!(connection = recipient, "live: presence update dropped for a slow or closing socket");
                }
            }
        }
    }
}

impl LiveHub {
    pub fn new(store: Store) -> LiveHub {
        let (changes, _) = broadcast::channel(CHANGES_BUFFER);
        LiveHub {
            shared: Arc::new(Shared {
                store,
                changes,
                registry: Mutex::new(Registry::default()),
                next_connection: AtomicU64::new(1),
                connections: AtomicUsize::new(0),
                node: OnceCell::new(),
                unpublished: Mutex::new(BTreeMap::new()),
                publish_wake: Notify::new(),
                sharing: Mutex::new(None),
                presence_wake: Notify::new(),
                wake: Notify::new(),
                active: watch::Sender::new(false),
                shutdown: watch::Sender::new(false),
                tail_started: AtomicBool::new(false),
            }),
        }
    }

    /// Tells the tail to read now (after a write, so the author's other tabs hear at once).
    pub fn poke(&self) {
        self.shared.wake.notify_one();
    }

    /// Sockets connected to this process.
    pub fn connection_count(&self) -> usize {
        self.shared.connection_count()
    }

    /// Closes every socket (code 1001) and stops the tail; called when the server shuts down.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }

    /// After [`LiveHub::shutdown`]: waits (at most `limit`) for the presence-sharing task to
    /// remove this process's viewers from the database.
    pub async fn stopped(&self, limit: Duration) {
        let task = self.shared.sharing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(task) = task
            && tokio::time::timeout(limit, task).await.is_err()
        {
            tracing::warn!("live: shared presence not removed within {limit:?}; it lapses by itself");
        }
    }

    /// Registers a connection of `user_id`; dropping the answer unregisters it.
    async fn connect(&self, user_id: i64, display_name: &str) -> Connection {
        let node = self.shared.node().await;
        let n = self.shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let id = node.map_or(n, |node| cluster::connection_id(node, n));
        // Subscribed before the tail can start, so no change after its start is missed.
        let changes = self.shared.changes.subscribe();
        let (direct_tx, direct) = mpsc::channel(DIRECT_BUFFER);
        {
            let mut registry = self.shared.registry();
            registry.presence.join(id, user_id, display_name);
            registry.direct.insert(id, direct_tx);
        }
        self.shared.connections.fetch_add(1, Ordering::SeqCst);
        if !self.shared.tail_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(feed::run(Arc::clone(&self.shared), self.shared.store.clone()));
            let task = tokio::spawn(cluster::run(Arc::clone(&self.shared), self.shared.store.clone()));
            *self.shared.sharing.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(task);
        }
        self.poke();
        Connection { id, hub: self.clone(), changes, direct, shutdown: self.shared.shutdown.subscribe() }
    }

    /// Waits until the tail reads the events table for the connected sockets, at most `limit`.
    async fn feed_ready(&self, limit: Duration) -> bool {
        let mut active = self.shared.active.subscribe();
        tokio::time::timeout(limit, active.wait_for(|a| *a)).await.is_ok_and(|r| r.is_ok())
    }

    fn view(&self, connection: u64, number: Option<i64>) {
        let now = self.shared.store.clock().now();
        let mut registry = self.shared.registry();
        let updates = registry.presence.view(connection, number, now);
        registry.deliver(updates);
        self.shared.publish(&registry, connection);
        drop(registry);
        // Viewers of the newly viewed ticket on other processes: read them now.
        if number.is_some() {
            self.shared.presence_wake.notify_one();
        }
    }

    /// Sets the typing flag; answers when it lapses unless refreshed.
    fn typing(&self, connection: u64, typing: bool) -> Option<Instant> {
        let mut registry = self.shared.registry();
        let update = registry.presence.typing(connection, typing, Instant::now());
        if update.is_some() {
            self.shared.publish(&registry, connection);
        }
        registry.deliver(update);
        registry.presence.typing_deadline(connection)
    }

    /// Clears the typing flag if it lapsed; answers the new deadline if it was refreshed.
    fn expire_typing(&self, connection: u64) -> Option<Instant> {
        let mut registry = self.shared.registry();
        let update = registry.presence.expire_typing(connection, Instant::now());
        if update.is_some() {
            self.shared.publish(&registry, connection);
        }
        registry.deliver(update);
        registry.presence.typing_deadline(connection)
    }

    fn disconnect(&self, connection: u64) {
        {
            let mut registry = self.shared.registry();
            registry.direct.remove(&connection);
            let update = registry.presence.leave(connection);
            registry.deliver(update);
            self.shared.publish(&registry, connection);
        }
        self.shared.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One registered socket: its id, its feeds, and its presence until dropped.
#[derive(Debug)]
struct Connection {
    id: u64,
    hub: LiveHub,
    changes: broadcast::Receiver<Arc<TicketChange>>,
    direct: mpsc::Receiver<LiveEvent>,
    shutdown: watch::Receiver<bool>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.hub.disconnect(self.id);
    }
}

/// Middleware: after a successful write through the API, wake the tail so that the change
/// reaches the live sockets (the author's other tabs, colleagues) without waiting a poll.
pub async fn wake_after_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let write = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(request).await;
    if write && response.status().is_success() {
        state.live.poke();
    }
    response
}
