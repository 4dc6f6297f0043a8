//! Who is looking at which ticket: this process's connections, and the viewers connected to
//! other processes on the same database as last read (see `cluster.rs`).
//!
//! The registry is plain data: every change returns the [`Update`]s to send (the new viewer
//! list of a ticket and who should receive it); the hub delivers them. Time is passed in, so
//! typing expiry is tested without sleeping.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use tandem_proto::Viewer;
use tandem_store::SharedViewer;

/// A typing flag without a refresh for this long is cleared (clients resend every few seconds).
pub const TYPING_TTL: Duration = Duration::from_secs(8);

/// A ticket's viewers changed: send `viewers` to every connection in `recipients` (those who
/// view the ticket now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub number: i64,
    pub viewers: Vec<Viewer>,
    pub recipients: Vec<u64>,
}

#[derive(Debug, Clone)]
struct Connection {
    user_id: i64,
    display_name: String,
    viewing: Option<Viewing>,
}

#[derive(Debug, Clone)]
struct Viewing {
    number: i64,
    since: DateTime<Utc>,
    /// Set while typing: when the flag lapses without a refresh.
    typing_until: Option<Instant>,
}

/// The registry: connections, and per ticket the connections viewing it.
#[derive(Debug, Default)]
pub struct Presence {
    connections: HashMap<u64, Connection>,
    tickets: BTreeMap<i64, BTreeSet<u64>>,
    /// Viewers connected to other processes, for the tickets viewed here (as last read).
    elsewhere: BTreeMap<i64, Vec<Viewer>>,
}

impl Presence {
    /// A new connection, viewing nothing yet.
    pub fn join(&mut self, connection: u64, user_id: i64, display_name: &str) {
        self.connections.insert(connection, Connection { user_id, display_name: display_name.to_owned(), viewing: None });
    }

    /// The connection is gone; its ticket's viewers hear about it.
    pub fn leave(&mut self, connection: u64) -> Option<Update> {
        let left = self.connections.remove(&connection)?.viewing?;
        self.detach(connection, left.number)
    }

    /// The connection now views `number` (`None`: no ticket). Answers the updates of the
    /// ticket it left and of the one it joined (whose recipients include the connection
    /// itself: it gets the current list at once). Viewing the same ticket again only resends
    /// that list to the connection. Typing stops with a move.
    pub fn view(&mut self, connection: u64, number: Option<i64>, now: DateTime<Utc>) -> Vec<Update> {
        let Some(entry) = self.connections.get_mut(&connection) else { return Vec::new() };
        let previous = entry.viewing.as_ref().map(|v| v.number);
        if previous.is_some() && previous == number {
            return number.map(|n| Update { number: n, viewers: self.viewers(n), recipients: vec![connection] }).into_iter().collect();
        }
        entry.viewing = number.map(|number| Viewing { number, since: now, typing_until: None });
        let mut updates = Vec::new();
        if let Some(left) = previous {
            updates.extend(self.detach(connection, left));
        }
        if let Some(joined) = number {
            self.tickets.entry(joined).or_default().insert(connection);
            updates.push(self.update(joined));
        }
        updates
    }

    /// Sets or clears the typing flag on the ticket the connection views. Answers an update
    /// when the flag changed (a refresh only pushes the expiry back), `None` when nothing is
    /// viewed.
    pub fn typing(&mut self, connection: u64, typing: bool, now: Instant) -> Option<Update> {
        let viewing = self.connections.get_mut(&connection)?.viewing.as_mut()?;
        let was = viewing.typing_until.is_some();
        viewing.typing_until = typing.then(|| now + TYPING_TTL);
        let number = viewing.number;
        (was != typing).then(|| self.update(number))
    }

    /// When the connection's typing flag lapses, if it is typing.
    pub fn typing_deadline(&self, connection: u64) -> Option<Instant> {
        self.connections.get(&connection)?.viewing.as_ref()?.typing_until
    }

    /// Clears the connection's typing flag if it lapsed at `now`.
    pub fn expire_typing(&mut self, connection: u64, now: Instant) -> Option<Update> {
        let viewing = self.connections.get_mut(&connection)?.viewing.as_mut()?;
        match viewing.typing_until {
            Some(until) if until <= now => {
                viewing.typing_until = None;
                let number = viewing.number;
                Some(self.update(number))
            }
            _ => None,
        }
    }

    /// The ticket the connection views.
    pub fn viewing(&self, connection: u64) -> Option<i64> {
        self.connections.get(&connection)?.viewing.as_ref().map(|v| v.number)
    }

    /// Who views `number`, the longest-standing first.
    pub fn viewers(&self, number: i64) -> Vec<Viewer> {
        let mut viewers: Vec<Viewer> = self
            .tickets
            .get(&number)
            .into_iter()
            .flatten()
            .filter_map(|id| {
                let c = self.connections.get(id)?;
                let v = c.viewing.as_ref()?;
                Some(Viewer {
                    connection_id: *id,
                    user_id: c.user_id,
                    display_name: c.display_name.clone(),
                    typing: v.typing_until.is_some(),
                    since: v.since,
                })
            })
            .chain(self.elsewhere.get(&number).into_iter().flatten().cloned())
            .collect();
        viewers.sort_by_key(|v| (v.since, v.connection_id));
        viewers
    }

    /// The tickets viewed by connections of this process.
    pub fn viewed_tickets(&self) -> Vec<i64> {
        self.tickets.keys().copied().collect()
    }

    /// Takes the viewers connected elsewhere, as just read, for the tickets viewed here
    /// (`viewers` holds those of some of [`Presence::viewed_tickets`], in any order; a ticket
    /// left out has none). Answers an update for each ticket whose list changed.
    pub fn set_elsewhere(&mut self, viewers: impl IntoIterator<Item = SharedViewer>) -> Vec<Update> {
        let mut read: BTreeMap<i64, Vec<Viewer>> = BTreeMap::new();
        for v in viewers {
            if self.tickets.contains_key(&v.number) {
                read.entry(v.number).or_default().push(Viewer {
                    connection_id: v.connection_id,
                    user_id: v.user_id,
                    display_name: v.display_name,
                    typing: v.typing,
                    since: v.since,
                });
            }
        }
        for list in read.values_mut() {
            list.sort_by_key(|v| (v.since, v.connection_id));
        }
        let changed: Vec<i64> = self
            .tickets
            .keys()
            .copied()
            .filter(|n| read.get(n).map_or(&[][..], Vec::as_slice) != self.elsewhere.get(n).map_or(&[][..], Vec::as_slice))
            .collect();
        self.elsewhere = read;
        changed.into_iter().map(|n| self.update(n)).collect()
    }

    /// What other processes should know of the connection: the ticket it views, if any.
    pub fn shared(&self, connection: u64) -> Option<SharedViewer> {
        let c = self.connections.get(&connection)?;
        let v = c.viewing.as_ref()?;
        Some(SharedViewer {
            connection_id: connection,
            user_id: c.user_id,
            display_name: c.display_name.clone(),
            number: v.number,
            typing: v.typing_until.is_some(),
            since: v.since,
        })
    }

    /// [`Presence::shared`] of every connection viewing a ticket.
    pub fn all_shared(&self) -> Vec<SharedViewer> {
        let mut ids: Vec<u64> = self.connections.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.shared(id)).collect()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    fn update(&self, number: i64) -> Update {
        let recipients = self.tickets.get(&number).map(|c| c.iter().copied().collect()).unwrap_or_default();
        Update { number, viewers: self.viewers(number), recipients }
    }

    /// Takes the connection off `number`'s viewers; the update for those who remain.
    fn detach(&mut self, connection: u64, number: i64) -> Option<Update> {
        let viewers = self.tickets.get_mut(&number)?;
        viewers.remove(&connection);
        if viewers.is_empty() {
            self.tickets.remove(&number);
            self.elsewhere.remove(&number);
            return None;
        }
        Some(self.update(number))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, minute, 0).single().expect("valid")
    }

    fn names(update: &Update) -> Vec<(&str, bool)> {
        update.viewers.iter().map(|v| (v.display_name.as_str(), v.typing)).collect()
    }

    fn registry() -> Presence {
        let mut p = Presence::default();
        p.join(1, 10, "Ann");
        p.join(2, 20, "Bob");
        p.join(3, 10, "Ann");
        p
    }

    #[test]
    fn viewers_see_each_other_and_a_newcomer_gets_the_list_at_once() {
        let mut p = registry();
        let updates = p.view(1, Some(1001), at(0));
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].recipients, [1]);
        assert_eq!(names(&updates[0]), [("Ann", false)]);
        let updates = p.view(2, Some(1001), at(1));
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].number, 1001);
        assert_eq!(updates[0].recipients, [1, 2]);
        assert_eq!(names(&updates[0]), [("Ann", false), ("Bob", false)]);
        assert_eq!(updates[0].viewers[1].since, at(1));
        // The same user's second tab is a second viewer.
        let updates = p.view(3, Some(1001), at(2));
        assert_eq!(updates[0].recipients, [1, 2, 3]);
        assert_eq!(p.viewers(1001).len(), 3);
        // Viewing again only resends the list to that connection.
        let again = p.view(2, Some(1001), at(5));
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].recipients, [2]);
        assert_eq!(p.viewers(1001)[1].since, at(1), "`since` is kept");
    }

    #[test]
    fn moving_notifies_both_tickets_and_leaving_notifies_the_rest() {
        let mut p = registry();
        p.view(1, Some(1001), at(0));
        p.view(2, Some(1001), at(0));
        let updates = p.view(2, Some(1002), at(1));
        assert_eq!(updates.len(), 2);
        assert_eq!((updates[0].number, updates[0].recipients.clone()), (1001, vec![1]));
        assert_eq!(names(&updates[0]), [("Ann", false)]);
        assert_eq!((updates[1].number, updates[1].recipients.clone()), (1002, vec![2]));
        // Viewing nothing, and leaving: the last viewer going needs no message.
        assert!(p.view(2, None, at(2)).is_empty());
        assert_eq!(p.viewing(2), None);
        p.view(2, Some(1001), at(3));
        let update = p.leave(1).expect("Bob still views 1001");
        assert_eq!((update.number, update.recipients.clone()), (1001, vec![2]));
        assert_eq!(names(&update), [("Bob", false)]);
        assert_eq!(p.leave(2), None);
        assert_eq!(p.leave(2), None, "leaving twice is harmless");
        assert!(p.viewers(1001).is_empty());
        assert_eq!(p.connection_count(), 1);
    }

    #[test]
    fn typing_shows_refreshes_clears_and_expires() {
        let mut p = registry();
        let t0 = Instant::now();
        assert_eq!(p.typing(1, true, t0), None, "not viewing anything");
        p.view(1, Some(1001), at(0));
        p.view(2, Some(1001), at(0));
        let update = p.typing(1, true, t0).expect("started typing");
        assert_eq!(update.recipients, [1, 2]);
        assert_eq!(names(&update), [("Ann", true), ("Bob", false)]);
        // A refresh pushes the deadline back without a message.
        assert_eq!(p.typing(1, true, t0 + Duration::from_secs(5)), None);
        assert_eq!(p.typing_deadline(1), Some(t0 + Duration::from_secs(5) + TYPING_TTL));
        assert_eq!(p.expire_typing(1, t0 + TYPING_TTL), None, "refreshed, not lapsed yet");
        let update = p.expire_typing(1, t0 + Duration::from_secs(5) + TYPING_TTL).expect("lapsed");
        assert_eq!(names(&update), [("Ann", false), ("Bob", false)]);
        assert_eq!(p.typing_deadline(1), None);
        // Explicit stop, and a move stops typing too.
        p.typing(2, true, t0);
        let update = p.typing(2, false, t0).expect("stopped");
        assert_eq!(names(&update), [("Ann", false), ("Bob", false)]);
        assert_eq!(p.typing(2, false, t0), None, "already stopped");
        p.typing(2, true, t0);
        p.view(2, Some(1002), at(1));
        assert_eq!(p.typing_deadline(2), None);
        assert!(!p.viewers(1002)[0].typing);
    }

    fn elsewhere(connection_id: u64, name: &str, number: i64, typing: bool, since: DateTime<Utc>) -> SharedViewer {
        SharedViewer { connection_id, user_id: 99, display_name: name.to_owned(), number, typing, since }
    }

    #[test]
    fn viewers_elsewhere_join_the_lists_of_tickets_viewed_here() {
        let mut p = registry();
        p.view(1, Some(1001), at(1));
        p.view(2, Some(1002), at(1));
        assert_eq!(p.viewed_tickets(), [1001, 1002]);
        // Read: Cy on 1001 since 09:00 (before Ann), Dee on 1001, Eve on a ticket not viewed here.
        let updates = p.set_elsewhere([
            elsewhere(1 << 32 | 7, "Dee", 1001, true, at(3)),
            elsewhere(2 << 32 | 1, "Cy", 1001, false, at(0)),
            elsewhere(2 << 32 | 2, "Eve", 1003, false, at(0)),
        ]);
        assert_eq!(updates.len(), 1, "only 1001 changed");
        assert_eq!((updates[0].number, updates[0].recipients.clone()), (1001, vec![1]));
        assert_eq!(names(&updates[0]), [("Cy", false), ("Ann", false), ("Dee", true)]);
        assert!(p.viewers(1003).is_empty(), "nobody here views 1003");
        // The same read again changes nothing; Dee stops typing: one update.
        assert!(p.set_elsewhere([elsewhere(1 << 32 | 7, "Dee", 1001, true, at(3)), elsewhere(2 << 32 | 1, "Cy", 1001, false, at(0))]).is_empty());
        let updates = p.set_elsewhere([elsewhere(1 << 32 | 7, "Dee", 1001, false, at(3)), elsewhere(2 << 32 | 1, "Cy", 1001, false, at(0))]);
        assert_eq!(names(&updates[0]), [("Cy", false), ("Ann", false), ("Dee", false)]);
        // A local change keeps the viewers elsewhere in the list.
        let updates = p.view(3, Some(1001), at(4));
        assert_eq!(names(&updates[0]), [("Cy", false), ("Ann", false), ("Dee", false), ("Ann", false)]);
        // Both gone elsewhere: 1001's viewers hear it; 1002 had none and hears nothing.
        let updates = p.set_elsewhere([]);
        assert_eq!(updates.len(), 1);
        assert_eq!((updates[0].number, updates[0].recipients.clone()), (1001, vec![1, 3]));
        assert_eq!(names(&updates[0]), [("Ann", false), ("Ann", false)]);
        // Nobody here views 1001 any more: what was read for it is forgotten.
        p.set_elsewhere([elsewhere(2 << 32 | 1, "Cy", 1001, false, at(0))]);
        p.leave(1);
        p.leave(3);
        assert!(p.viewers(1001).is_empty());
        assert_eq!(p.viewed_tickets(), [1002]);
    }

    #[test]
    fn what_other_processes_learn_of_a_connection() {
        let mut p = registry();
        assert_eq!(p.shared(1), None, "viewing nothing");
        p.view(1, Some(1001), at(2));
        let t0 = Instant::now();
        p.typing(1, true, t0);
        let shared = p.shared(1).expect("viewing");
        assert_eq!((shared.connection_id, shared.user_id, shared.display_name.as_str()), (1, 10, "Ann"));
        assert_eq!((shared.number, shared.typing, shared.since), (1001, true, at(2)));
        p.view(2, Some(1002), at(3));
        assert_eq!(p.all_shared().iter().map(|s| (s.connection_id, s.number)).collect::<Vec<_>>(), [(1, 1001), (2, 1002)]);
        p.leave(1);
        assert_eq!(p.shared(1), None);
    }

    #[test]
    fn unknown_connections_are_ignored() {
        let mut p = Presence::default();
        assert!(p.view(9, Some(1001), at(0)).is_empty());
        assert_eq!(p.typing(9, true, Instant::now()), None);
        assert_eq!(p.leave(9), None);
        assert!(p.viewers(1001).is_empty());
    }
}
