//! Presence shared with the other processes on the same database (several `tandem serve`
//! on one PostgreSQL behind a load balancer), so that agents connected to different
//! processes still see each other on a ticket and the "typing a reply" warning.
//!
//! One task per process, started with the first socket:
//! - writes what each of its connections views (the hub's `unpublished` map: the last state
//!   of each connection that changed since the previous write);
//! - every [`POLL_INTERVAL`] while sockets are connected (and at once when one of them opens a
//!   ticket), reads the viewers of the tickets its sockets view from the other nodes whose
//!   heartbeat is at most [`STALE_AFTER`] old, and tells the sockets what changed;
//! - beats the node's heartbeat every [`HEARTBEAT`] and deletes nodes silent for
//!   [`PRUNE_AFTER`] (crashed processes); if its own node had been pruned meanwhile, it is
//!   registered again and every viewer published anew;
//! - on shutdown, removes the node and its viewers.
//!
//! A process that crashes leaves its rows behind: the others stop showing them once its
//! heartbeat is [`STALE_AFTER`] old. Database errors are logged and retried on the next
//! round; presence is advisory (the send guard's 409 is what prevents double answers).

use std::{sync::Arc, time::Duration};

use tandem_store::Store;
use tokio::time::MissedTickBehavior;

use super::{Shared, feed::POLL_INTERVAL};

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// Viewers of a node silent for longer are not shown.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// Nodes silent for longer are deleted with their viewers.
pub const PRUNE_AFTER: Duration = Duration::from_secs(600);

/// A connection id unique across nodes: the node id above the low 32 bits. Node ids grow by
/// one per process start, so ids stay below 2^53 (exact in JavaScript) for two million
/// starts.
pub fn connection_id(node: i64, n: u64) -> u64 {
    (u64::try_from(node).unwrap_or_default() << 32) | (n & 0xffff_ffff)
}

pub(super) async fn run(shared: Arc<Shared>, store: Store) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let step = tokio::select! {
            () = shared.publish_wake.notified() => Step::Publish,
            _ = poll.tick() => Step::Poll,
            () = shared.presence_wake.notified() => Step::Read,
            _ = beat.tick() => Step::Beat,
            _ = shutdown.wait_for(|stop| *stop) => Step::Stop,
        };
        match step {
            Step::Publish => publish(&shared, &store).await,
            Step::Poll if shared.connection_count() == 0 => {}
            Step::Poll | Step::Read => read_elsewhere(&shared, &store).await,
            Step::Beat => heartbeat(&shared, &store).await,
            Step::Stop => break,
        }
    }
    if let Some(node) = shared.node.get()
        && let Err(e) = store.leave_live_node(*node).await
    {
        tracing::warn!(node, error = %e, "live: cannot remove this process's shared presence; it lapses by itself");
    }
}

/// What woke the task.
enum Step {
    Publish,
    Poll,
    Read,
    Beat,
    Stop,
}

/// Writes the last state of each connection whose presence changed since the last write.
async fn publish(shared: &Shared, store: &Store) {
    let latest = std::mem::take(&mut *shared.unpublished());
    let Some(node) = shared.node.get().copied() else {
        // Not registered: the heartbeat registers the node and publishes everything.
        return;
    };
    for (connection, state) in latest {
        let written = match &state {
            Some(viewer) => store.put_live_viewer(node, viewer).await,
            None => store.remove_live_viewer(node, connection).await,
        };
        if let Err(e) = written {
            tracing::warn!(node, connection, error = %e, "live: cannot share a viewer with the other processes");
        }
    }
}

/// Reads the other nodes' viewers of the tickets viewed here and delivers what changed.
async fn read_elsewhere(shared: &Shared, store: &Store) {
    let Some(node) = shared.node.get().copied() else { return };
    let tickets = shared.registry().presence.viewed_tickets();
    let viewers = if tickets.is_empty() {
        Vec::new()
    } else {
        let seen_since = store.clock().now() - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
        match store.live_viewers_elsewhere(node, &tickets, seen_since).await {
            Ok(viewers) => viewers,
            Err(e) => {
                tracing::warn!(node, error = %e, "live: cannot read the viewers on other processes");
                return;
            }
        }
    };
    let mut registry = shared.registry();
    let updates = registry.presence.set_elsewhere(viewers);
    registry.deliver(updates);
}

/// Beats the node's heartbeat (registering it if needed) and prunes silent nodes.
async fn heartbeat(shared: &Shared, store: &Store) {
    let Some(node) = shared.node().await else { return };
    match store.beat_live_node(node).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(node, "live: this process's shared presence had lapsed; publishing it again");
            let all = shared.registry().presence.all_shared();
            for viewer in all {
                if let Err(e) = store.put_live_viewer(node, &viewer).await {
                    tracing::warn!(node, error = %e, "live: cannot share a viewer with the other processes");
                }
            }
        }
        Err(e) => tracing::warn!(node, error = %e, "live: cannot beat this process's heartbeat"),
    }
    let before = store.clock().now() - chrono::Duration::from_std(PRUNE_AFTER).unwrap_or_default();
    match store.prune_live_nodes(before).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "live: removed the shared presence of processes silent for 10 minutes"),
        Err(e) => tracing::warn!(error = %e, "live: cannot prune silent processes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_of_nodes_never_meet() {
        assert_eq!(connection_id(1, 1), (1 << 32) + 1);
        assert_ne!(connection_id(1, 5), connection_id(2, 5));
        assert!(connection_id(2_000_000, u64::from(u32::MAX)) < 1 << 53, "exact in JavaScript");
        assert_eq!(connection_id(3, (1 << 32) + 9), connection_id(3, 9), "the counter wraps inside its own bits");
    }
}
