//! The ticket feed: a background task tails the audit `events` table and broadcasts what
//! changed, one [`TicketChange`] per ticket per poll.
//!
//! The table is the single source of truth: whichever process (this one, another node on the
//! same PostgreSQL, the CLI, the IMAP workers) wrote an event, the tail reads it. It polls
//! every [`POLL_INTERVAL`] while at least one socket is connected and sleeps on a `Notify`
//! otherwise; every successful API write pokes it, so the author's own tabs hear at once.
//!
//! On PostgreSQL, ids come from a sequence when a row is inserted, not when it commits, so a
//! reader can see id 101 before id 100 appears. The [`Cursor`] therefore remembers the holes
//! below the highest id read and reads again from the oldest hole each poll (deduplicating
//! by id), until the hole fills or [`GAP_POLLS`] polls have passed (a rolled-back
//! transaction leaves a hole forever).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use tandem_domain::{
    Actor,
    policy::{self, Action},
};
use tandem_store::{LiveEventPage, LiveTicketEvent, Store};

use super::Shared;

/// How often the tail reads the events table while sockets are connected.
pub const POLL_INTERVAL: Duration = Duration::from_millis(150);
/// Rows per read; a full page is followed by another read at once.
const PAGE: u32 = 500;
/// Polls a hole in the ids stays open (about 30 s at [`POLL_INTERVAL`]).
const GAP_POLLS: u64 = 200;
/// At most this many open holes are remembered (the lowest ids are forgotten first).
const MAX_GAPS: usize = 1024;
/// Wait after a failed read.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Changes of one ticket found by one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketChange {
    pub number: i64,
    /// The ticket's inbox now.
    pub inbox_id: i64,
    /// Inboxes the ticket left during these changes: their members hear about it too.
    pub left_inboxes: BTreeSet<i64>,
    /// The newest event id behind this change.
    pub event_id: i64,
    /// Event kinds, deduplicated, in the order they first occurred.
    pub kinds: Vec<String>,
}

impl TicketChange {
    /// Whether a connection may hear about this change: it may see the ticket's inbox, or an
    /// inbox the ticket left (so that it disappears from that inbox's lists).
    pub fn visible_to(&self, actor: &Actor) -> bool {
        let may_see = |inbox_id| policy::authorize(actor, Action::ViewTicket { inbox_id }).is_ok();
        may_see(self.inbox_id) || self.left_inboxes.iter().any(|inbox| may_see(*inbox))
    }
}

/// Groups events per ticket: one change per ticket, `kinds` deduplicated, `event_id` the
/// newest; the changes come in the order of their newest event.
pub fn group(events: impl IntoIterator<Item = LiveTicketEvent>) -> Vec<TicketChange> {
    let mut by_ticket: BTreeMap<i64, TicketChange> = BTreeMap::new();
    for event in events {
        let change = by_ticket.entry(event.number).or_insert_with(|| TicketChange {
            number: event.number,
            inbox_id: event.inbox_id,
            left_inboxes: BTreeSet::new(),
            event_id: event.event_id,
            kinds: Vec::new(),
        });
        if event.event_id >= change.event_id {
            change.event_id = event.event_id;
            change.inbox_id = event.inbox_id;
        }
        if let Some(previous) = event.previous_inbox_id {
            change.left_inboxes.insert(previous);
        }
        if !change.kinds.contains(&event.kind) {
            change.kinds.push(event.kind);
        }
    }
    let mut changes: Vec<TicketChange> = by_ticket.into_values().collect();
    for change in &mut changes {
        let current = change.inbox_id;
        change.left_inboxes.remove(&current);
    }
    changes.sort_by_key(|c| c.event_id);
    changes
}

/// Where the tail is in the events table: the highest id read, and the holes below it.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    last_id: i64,
    /// Ids below `last_id` not read yet → the poll that first noticed them missing.
    gaps: BTreeMap<i64, u64>,
    poll: u64,
}

impl Cursor {
    /// Starts after `last_id`: older events are not news.
    pub fn new(last_id: i64) -> Cursor {
        Cursor { last_id, gaps: BTreeMap::new(), poll: 0 }
    }

    /// The id to read after (exclusive): just before the oldest open hole, else the highest id read.
    pub fn read_after(&self) -> i64 {
        self.gaps.keys().next().map_or(self.last_id, |oldest| oldest - 1)
    }

    /// Takes one page (read after some id, ascending) and returns its events not seen before.
    pub fn accept(&mut self, page: LiveEventPage) -> Vec<LiveTicketEvent> {
        let mut fresh = BTreeSet::new();
        for id in page.ids {
            if id > self.last_id {
                self.open_gaps(self.last_id + 1, id);
                self.last_id = id;
                fresh.insert(id);
            } else if self.gaps.remove(&id).is_some() {
                fresh.insert(id);
            }
        }
        page.events.into_iter().filter(|e| fresh.contains(&e.event_id)).collect()
    }

    /// Ends a poll: holes older than [`GAP_POLLS`] polls are given up.
    pub fn end_poll(&mut self) {
        self.poll += 1;
        let poll = self.poll;
        self.gaps.retain(|_, noticed| poll - *noticed <= GAP_POLLS);
    }

    /// Remembers the ids `from..to` as holes (the highest ones when there are too many).
    fn open_gaps(&mut self, from: i64, to: i64) {
        let from = from.max(to - MAX_GAPS as i64);
        for id in from..to {
            self.gaps.insert(id, self.poll);
        }
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
    }

    #[cfg(test)]
    fn open_holes(&self) -> Vec<i64> {
        self.gaps.keys().copied().collect()
    }
}

/// One poll: reads every page after the cursor and groups what is new.
async fn poll(store: &Store, cursor: &mut Cursor) -> tandem_store::Result<Vec<TicketChange>> {
    let mut fresh = Vec::new();
    let mut after = cursor.read_after();
    loop {
        let page = store.ticket_events_after(after, PAGE).await?;
        let full = page.ids.len() >= PAGE as usize;
        let last = page.ids.last().copied();
        fresh.extend(cursor.accept(page));
        match last {
            Some(last) if full => after = last,
            _ => break,
        }
    }
    cursor.end_poll();
    Ok(group(fresh))
}

/// The tail task: runs until the hub shuts down.
pub(super) async fn run(shared: Arc<Shared>, store: Store) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut cursor: Option<Cursor> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if shared.connection_count() == 0 {
            // Sockets that connect from now on wait for `active` before their `Hello`, so
            // nothing they could miss happens between their REST reads and the next start.
            shared.active.send_replace(false);
            if shared.connection_count() == 0 {
                cursor = None;
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                continue;
            }
        }
        let current = match cursor.as_mut() {
            Some(current) => current,
            None => match store.last_event_id().await {
                Ok(last) => cursor.insert(Cursor::new(last)),
                Err(e) => {
                    tracing::warn!(error = %e, "live feed: cannot read the events table");
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
            },
        };
        shared.active.send_replace(true);
        let pause = match poll(&store, current).await {
            Ok(changes) => {
                for change in changes {
                    // No receiver is fine: the last socket just left.
                    let _ = shared.changes.send(Arc::new(change));
                }
                POLL_INTERVAL
            }
            Err(e) => {
                tracing::warn!(error = %e, "live feed: reading new events failed");
                RETRY_AFTER
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shared.wake.notified() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_id: i64, number: i64, kind: &str) -> LiveTicketEvent {
        LiveTicketEvent { event_id, number, inbox_id: 1, previous_inbox_id: None, kind: kind.to_owned() }
    }

    fn page(events: Vec<LiveTicketEvent>, other_ids: &[i64]) -> LiveEventPage {
        let mut ids: Vec<i64> = events.iter().map(|e| e.event_id).chain(other_ids.iter().copied()).collect();
        ids.sort_unstable();
        LiveEventPage { events, ids }
    }

    fn ids(events: &[LiveTicketEvent]) -> Vec<i64> {
        events.iter().map(|e| e.event_id).collect()
    }

    #[test]
    fn one_change_per_ticket_with_deduplicated_kinds_and_the_newest_id() {
        let changes = group(vec![
            event(10, 1001, "ticket.updated"),
            event(11, 1002, "message.added"),
            event(12, 1001, "message.added"),
            event(13, 1001, "ticket.updated"),
        ]);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].number, 1002);
        assert_eq!(changes[0].event_id, 11);
        assert_eq!(changes[1].number, 1001);
        assert_eq!(changes[1].event_id, 13);
        assert_eq!(changes[1].kinds, ["ticket.updated", "message.added"]);
        assert!(group(Vec::new()).is_empty());
    }

    #[test]
    fn a_move_is_heard_in_the_inbox_the_ticket_left() {
        let mut moved = event(20, 1001, "ticket.updated");
        moved.inbox_id = 2;
        moved.previous_inbox_id = Some(1);
        let mut later = event(21, 1001, "message.added");
        later.inbox_id = 2;
        let changes = group(vec![moved, later]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].inbox_id, 2);
        assert_eq!(changes[0].left_inboxes, BTreeSet::from([1]));
        let member = |inbox: i64| Actor {
            user_id: 7,
            role: tandem_proto::Role::Agent,
            display_name: "A".into(),
            inbox_ids: BTreeSet::from([inbox]),
        };
        assert!(changes[0].visible_to(&member(1)));
        assert!(changes[0].visible_to(&member(2)));
        assert!(!changes[0].visible_to(&member(3)));
        let admin = Actor { role: tandem_proto::Role::Admin, ..member(3) };
        assert!(changes[0].visible_to(&admin));
    }

    #[test]
    fn events_are_new_once_and_the_cursor_starts_after_what_exists() {
        let mut cursor = Cursor::new(5);
        assert_eq!(cursor.read_after(), 5);
        let fresh = cursor.accept(page(vec![event(6, 1, "a"), event(7, 1, "b")], &[]));
        assert_eq!(ids(&fresh), [6, 7]);
        // The same rows read again (a re-read window) are not news.
        let again = cursor.accept(page(vec![event(6, 1, "a"), event(7, 1, "b")], &[]));
        assert!(again.is_empty());
        assert_eq!(cursor.read_after(), 7);
    }

    #[test]
    fn a_late_commit_below_the_highest_id_is_still_delivered() {
        let mut cursor = Cursor::new(0);
        // 2 is not committed yet when 3 is read (PostgreSQL).
        let fresh = cursor.accept(page(vec![event(1, 1, "a"), event(3, 1, "c")], &[]));
        assert_eq!(ids(&fresh), [1, 3]);
        assert_eq!(cursor.open_holes(), [2]);
        assert_eq!(cursor.read_after(), 1, "the next read starts before the hole");
        cursor.end_poll();
        let fresh = cursor.accept(page(vec![event(2, 2, "b"), event(3, 1, "c"), event(4, 1, "d")], &[]));
        assert_eq!(ids(&fresh), [2, 4], "2 arrives late, 3 is not repeated");
        assert!(cursor.open_holes().is_empty());
        assert_eq!(cursor.read_after(), 4);
    }

    #[test]
    fn events_of_no_ticket_fill_the_ids_and_old_holes_are_given_up() {
        let mut cursor = Cursor::new(0);
        // 2 belongs to no ticket: not a hole. 4 never commits (rolled back).
        let fresh = cursor.accept(page(vec![event(1, 1, "a"), event(3, 1, "c"), event(5, 1, "e")], &[2]));
        assert_eq!(ids(&fresh), [1, 3, 5]);
        assert_eq!(cursor.open_holes(), [4]);
        for _ in 0..=GAP_POLLS {
            cursor.end_poll();
        }
        assert!(cursor.open_holes().is_empty());
        assert_eq!(cursor.read_after(), 5);
    }

    #[test]
    fn holes_are_bounded() {
        let mut cursor = Cursor::new(0);
        let fresh = cursor.accept(page(vec![event(100_000, 1, "a")], &[]));
        assert_eq!(ids(&fresh), [100_000]);
        assert_eq!(cursor.open_holes().len(), MAX_GAPS);
        assert_eq!(cursor.read_after(), 100_000 - MAX_GAPS as i64 - 1);
    }
}
