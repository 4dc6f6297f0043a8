//! Who is looking at which ticket, in this process's memory.
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
            .collect();
        viewers.sort_by_key(|v| (v.since, v.connection_id));
        viewers
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

    #[test]
    fn unknown_connections_are_ignored() {
        let mut p = Presence::default();
        assert!(p.view(9, Some(1001), at(0)).is_empty());
        assert_eq!(p.typing(9, true, Instant::now()), None);
        assert_eq!(p.leave(9), None);
        assert!(p.viewers(1001).is_empty());
    }
}
