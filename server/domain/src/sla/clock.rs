//! What a ticket owes under its policy, and when.
//!
//! The first and next response clocks are derived from the ticket's own timestamps. The
//! resolution clock can pause (pending, on hold, solved), so it keeps its own account: working
//! time used before the current run, and when the current run began.

use tandem_proto::{SlaState, SlaTarget, TicketStatus};

use super::{Hours, MINUTE, Policy};

/// The SLA columns of a ticket. Times are microseconds since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaClock {
    pub policy_id: Option<i64>,
    /// Resolution working time used before `running_since`.
    pub used: i64,
    /// When the resolution clock last started; `None` while it is paused.
    pub running_since: Option<i64>,
    pub first_response_due: Option<i64>,
    pub next_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
}

/// The ticket facts the clocks follow.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub status: TicketStatus,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    pub last_agent_message_at: Option<i64>,
}

/// Clocks run while someone on the team owes the customer something.
fn runs(status: TicketStatus) -> bool {
    matches!(status, TicketStatus::New | TicketStatus::Open)
}

impl SlaClock {
    /// The clock after a change of the ticket (or of its policy), seen at `now`.
    pub fn refresh(&self, policy: Option<&Policy>, hours: &Hours, t: &Progress, now: i64) -> SlaClock {
        let Some(policy) = policy else { return SlaClock::default() };
        let mut next = self.clone();
        if self.policy_id.is_none() {
            // Newly under a policy: the resolution clock counts from the ticket's creation.
            next.used = 0;
            next.running_since = Some(t.created_at);
        }
        next.policy_id = Some(policy.id);
        let running = runs(t.status);
        match (next.running_since, running) {
            (Some(since), false) => {
                next.used += hours.elapsed(since, now.max(since));
                next.running_since = None;
            }
            (None, true) => next.running_since = Some(now),
            _ => {}
        }
        let target = |minutes: Option<i64>, from: i64| minutes.and_then(|m| hours.add(from, m * MINUTE));
        next.first_response_due = if running && t.first_response_at.is_none() {
            target(policy.first_response_minutes, t.created_at)
        } else {
            None
        };
        let awaiting_answer = match (t.last_customer_message_at, t.last_agent_message_at) {
            (Some(customer), Some(agent)) => customer > agent,
            (Some(_), None) => true,
            _ => false,
        };
        next.next_response_due = match t.last_customer_message_at {
            Some(customer) if running && t.first_response_at.is_some() && awaiting_answer => target(policy.next_response_minutes, customer),
            _ => None,
        };
        next.resolution_due = match (next.running_since, policy.resolution_minutes) {
            (Some(since), Some(m)) => hours.add(since, m * MINUTE - next.used),
            _ => None,
        };
        next
    }

    /// Every due time, with its target.
    pub fn dues(&self) -> Vec<(SlaTarget, i64)> {
        [
            (SlaTarget::FirstResponse, self.first_response_due),
            (SlaTarget::NextResponse, self.next_response_due),
            (SlaTarget::Resolution, self.resolution_due),
        ]
        .into_iter()
        .filter_map(|(target, due)| due.map(|d| (target, d)))
        .collect()
    }

    /// The earliest due time.
    pub fn due_at(&self) -> Option<i64> {
        self.dues().into_iter().map(|(_, d)| d).min()
    }

    /// When the earliest warning is (or was) due.
    pub fn warn_at(&self, warn_before_minutes: i64) -> Option<i64> {
        self.due_at().map(|d| d - warn_before_minutes * MINUTE)
    }
}

/// Where a ticket stands, from its stored earliest due and warning times.
pub fn state(has_policy: bool, due_at: Option<i64>, warn_at: Option<i64>, now: i64) -> Option<SlaState> {
    if !has_policy {
        return None;
    }
    Some(match (due_at, warn_at) {
        (None, _) => SlaState::Paused,
        (Some(due), _) if due <= now => SlaState::Breached,
        (Some(_), Some(warn)) if warn <= now => SlaState::AtRisk,
        _ => SlaState::OnTrack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_proto::SlaEscalation;

    const HOUR: i64 = 60 * MINUTE;

    fn policy() -> Policy {
        Policy {
            id: 7,
            name: "Standard".into(),
            inbox_id: None,
            priority: None,
            tag: None,
            company: None,
            first_response_minutes: Some(60),
            next_response_minutes: Some(120),
            resolution_minutes: Some(480),
            calendar_id: None,
            warn_before_minutes: 15,
            escalation: SlaEscalation::default(),
        }
    }

    fn progress(status: TicketStatus) -> Progress {
        Progress { status, created_at: 0, first_response_at: None, last_customer_message_at: Some(0), last_agent_message_at: None }
    }

    #[test]
    fn a_new_ticket_owes_a_first_response_and_a_resolution() {
        let c = SlaClock::default().refresh(Some(&policy()), &Hours::Always, &progress(TicketStatus::New), 0);
        assert_eq!(c.first_response_due, Some(HOUR));
        assert_eq!(c.next_response_due, None);
        assert_eq!(c.resolution_due, Some(8 * HOUR));
        assert_eq!(c.due_at(), Some(HOUR));
        assert_eq!(c.warn_at(15), Some(45 * MINUTE));
    }

    #[test]
    fn after_the_first_reply_a_customer_message_owes_a_next_response() {
        let p = policy();
        let c = SlaClock::default().refresh(Some(&p), &Hours::Always, &progress(TicketStatus::New), 0);
        let answered = Progress { status: TicketStatus::Open, first_response_at: Some(HOUR / 2), last_agent_message_at: Some(HOUR / 2), ..progress(TicketStatus::Open) };
        let c = c.refresh(Some(&p), &Hours::Always, &answered, HOUR / 2);
        assert_eq!((c.first_response_due, c.next_response_due), (None, None));
        let wrote_again = Progress { last_customer_message_at: Some(2 * HOUR), ..answered };
        let c = c.refresh(Some(&p), &Hours::Always, &wrote_again, 2 * HOUR);
        assert_eq!(c.next_response_due, Some(4 * HOUR));
    }

    #[test]
    fn pending_pauses_the_resolution_clock() {
        let p = policy();
        let c = SlaClock::default().refresh(Some(&p), &Hours::Always, &progress(TicketStatus::New), 0);
        // Two hours in, the agent asks the customer something: pending.
        let pending = Progress { first_response_at: Some(2 * HOUR), last_agent_message_at: Some(2 * HOUR), ..progress(TicketStatus::Pending) };
        let c = c.refresh(Some(&p), &Hours::Always, &pending, 2 * HOUR);
        assert_eq!((c.used, c.running_since, c.resolution_due), (2 * HOUR, None, None));
        assert_eq!(state(true, c.due_at(), c.warn_at(15), 2 * HOUR), Some(SlaState::Paused));
        // A day later the customer answers: open again, six hours left.
        let open = Progress { status: TicketStatus::Open, last_customer_message_at: Some(26 * HOUR), ..pending };
        let c = c.refresh(Some(&p), &Hours::Always, &open, 26 * HOUR);
        assert_eq!(c.resolution_due, Some(32 * HOUR));
        // Solved clears every due time.
        let solved = Progress { status: TicketStatus::Solved, ..open };
        let c = c.refresh(Some(&p), &Hours::Always, &solved, 27 * HOUR);
        assert_eq!(c.dues(), vec![]);
    }

    #[test]
    fn no_policy_no_clock_and_states_follow_the_times() {
        let c = SlaClock::default().refresh(None, &Hours::Always, &progress(TicketStatus::New), 0);
        assert_eq!(c, SlaClock::default());
        assert_eq!(state(false, None, None, 0), None);
        assert_eq!(state(true, Some(100), Some(50), 10), Some(SlaState::OnTrack));
        assert_eq!(state(true, Some(100), Some(50), 50), Some(SlaState::AtRisk));
        assert_eq!(state(true, Some(100), Some(50), 100), Some(SlaState::Breached));
    }
}
