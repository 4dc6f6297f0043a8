//! A group of pipeline runs computed before any of them is written.
//!
//! The mail intake hands the pipeline its new messages a group at a time: their views are read
//! together, the plugins run on each in message order, and the runs are written in one
//! transaction ([`Store::write_pipeline_runs`](crate::Store::write_pipeline_runs)). Each run
//! must still see what the runs before it leave, as if each had been written before the next
//! view was read: the ticket as a classifier and a router left it (a customer's second mail to
//! the same ticket), the contact's last automatic reply (a responder's once-per-window rule)
//! and the agents' open tickets (a router's load balancing). [`RunEffects`] is what a computed
//! run changes of those; [`PipelineView::follow`] shows a later view as that run leaves it.

use tandem_proto::{self as proto, TicketStatus};

use super::PipelineView;

/// What a computed, not yet written, pipeline run changes of what later runs are shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEffects {
    /// The ticket's status and assignee as the run's view was read.
    status_before: TicketStatus,
    assignee_before: Option<i64>,
    /// The ticket as the run's decisions leave it.
    after: proto::Ticket,
    /// When the run queued an automatic reply to the ticket's contact.
    replied_at: Option<i64>,
}

impl RunEffects {
    /// `before`: the run's ticket as its view was read; `after`: its view once the plugins ran
    /// (their decisions previewed on it); `replied_at`: when it queued an automatic reply.
    pub fn new(before: &proto::Ticket, after: &PipelineView, replied_at: Option<i64>) -> RunEffects {
        RunEffects {
            status_before: before.status,
            assignee_before: before.assignee.as_ref().map(|a| a.id),
            after: after.ticket.clone(),
            replied_at,
        }
    }

    /// The agent the ticket counts as an open ticket of, before and after the run.
    fn held_by(status: TicketStatus, assignee: Option<i64>) -> Option<i64> {
        assignee.filter(|_| status.is_active())
    }
}

impl PipelineView {
    /// Shows this view (read before `earlier` was written, in the same group) as it will be
    /// once the earlier run is written.
    pub fn follow(&mut self, earlier: &RunEffects) {
        let after = &earlier.after;
        // An agent's open tickets count every active ticket assigned to them, this one too.
        let was = RunEffects::held_by(earlier.status_before, earlier.assignee_before);
        let is = RunEffects::held_by(after.status, after.assignee.as_ref().map(|a| a.id));
        if was != is {
            for agent in &mut self.agents {
                if Some(agent.id) == was {
                    agent.open_tickets = agent.open_tickets.saturating_sub(1);
                }
                if Some(agent.id) == is {
                    agent.open_tickets = agent.open_tickets.saturating_add(1);
                }
            }
        }
        if after.contact.id == self.ticket.contact.id {
            if earlier.replied_at.is_some() {
                self.contact.last_auto_reply_at = earlier.replied_at;
            }
            // The contact's open tickets leave out the view's own ticket.
            let (was_open, is_open) = (earlier.status_before.is_active(), after.status.is_active());
            if after.number != self.ticket.number && was_open != is_open {
                self.contact.open_tickets = if is_open { self.contact.open_tickets.saturating_add(1) } else { self.contact.open_tickets.saturating_sub(1) };
            }
        }
        if after.number == self.ticket.number {
            self.ticket = after.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use tandem_proto::{Availability, MessageKind, Priority};

    use super::*;
    use crate::automation::{AgentView, ContactView, InboxView, MessageView, opened_ticket};

    fn agent(id: i64, open_tickets: u32) -> AgentView {
        AgentView {
            id,
            name: format!("Agent {id}"),
            email: format!("a{id}@example.test"),
            skills: Vec::new(),
            availability: Availability::Online,
            language: "en".into(),
            open_tickets,
            teams: Vec::new(),
        }
    }

    fn view(number: i64, contact_id: i64) -> PipelineView {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).single().expect("valid time");
        PipelineView {
            message: MessageView {
                id: number * 10,
                kind: MessageKind::Inbound,
                from_address: format!("c{contact_id}@example.test"),
                from_name: None,
                subject: "Help".into(),
                text: "Please help".into(),
                headers: Vec::new(),
                attachment_types: Vec::new(),
                received_at: at.timestamp_micros(),
            },
            ticket: opened_ticket(number, "Help", 1, proto::ContactRef { id: contact_id, email: format!("c{contact_id}@example.test"), name: String::new() }, at),
            message_count: 1,
            contact: ContactView {
                email: format!("c{contact_id}@example.test"),
                name: None,
                company: None,
                previous_tickets: 1,
                open_tickets: 1,
                last_auto_reply_at: None,
            },
            inbox: InboxView { id: 1, name: "Support".into(), address: "support@example.test".into() },
            agents: vec![agent(7, 2), agent(8, 2)],
            teams: Vec::new(),
        }
    }

    fn assigned(mut v: PipelineView, agent: i64) -> PipelineView {
        v.ticket.assignee = Some(proto::UserRef { id: agent, display_name: format!("Agent {agent}"), email: format!("a{agent}@example.test") });
        v
    }

    #[test]
    fn an_assignment_moves_one_open_ticket_to_the_new_agent() {
        let first = view(1001, 1);
        let effects = RunEffects::new(&first.ticket, &assigned(first.clone(), 7), None);
        let mut later = view(1002, 2);
        later.follow(&effects);
        let loads: Vec<u32> = later.agents.iter().map(|a| a.open_tickets).collect();
        assert_eq!(loads, vec![3, 2], "agent 7 got ticket 1001");
        assert_eq!(later.ticket.number, 1002, "another ticket is not replaced");
        assert_eq!(later.contact.open_tickets, 1, "another contact is untouched");

        // From agent 7 to agent 8, and a ticket leaving the active statuses frees its agent.
        let before = assigned(view(1001, 1), 7);
        let mut later = view(1002, 2);
        later.follow(&RunEffects::new(&before.ticket, &assigned(before.clone(), 8), None));
        assert_eq!(later.agents.iter().map(|a| a.open_tickets).collect::<Vec<_>>(), vec![1, 3]);
        let mut spam = before.clone();
        spam.ticket.status = TicketStatus::Spam;
        let mut later = view(1002, 2);
        later.follow(&RunEffects::new(&before.ticket, &spam, None));
        assert_eq!(later.agents.iter().map(|a| a.open_tickets).collect::<Vec<_>>(), vec![1, 2]);
        let mut unchanged = view(1002, 2);
        unchanged.follow(&RunEffects::new(&before.ticket, &before, None));
        assert_eq!(unchanged, view(1002, 2), "a run that changed nothing changes no view");
    }

    #[test]
    fn the_same_contact_sees_the_reply_and_its_other_tickets_status() {
        let first = view(1001, 1);
        let mut spam = first.clone();
        spam.ticket.status = TicketStatus::Spam;
        let at = Some(1_764_925_200_000_000);
        let mut later = view(1002, 1);
        later.follow(&RunEffects::new(&first.ticket, &spam, at));
        assert_eq!(later.contact.last_auto_reply_at, at);
        assert_eq!(later.contact.open_tickets, 0, "ticket 1001 is no longer open");
        let mut not_replied = view(1002, 1);
        not_replied.contact.last_auto_reply_at = Some(5);
        not_replied.follow(&RunEffects::new(&first.ticket, &first, None));
        assert_eq!(not_replied.contact.last_auto_reply_at, Some(5), "no reply keeps the last one");
    }

    #[test]
    fn a_later_message_of_the_same_ticket_sees_the_ticket_as_the_run_left_it() {
        let first = view(1001, 1);
        let mut decided = assigned(first.clone(), 8);
        decided.ticket.priority = Priority::Urgent;
        decided.ticket.tags = vec!["outage".into()];
        let mut second = view(1001, 1);
        second.message.id = 10_011;
        second.message_count = 2;
        second.follow(&RunEffects::new(&first.ticket, &decided, Some(9)));
        assert_eq!(second.ticket, decided.ticket);
        assert_eq!((second.message.id, second.message_count), (10_011, 2), "its own message stays");
        assert_eq!(second.contact.open_tickets, 1, "its own ticket is not among the contact's others");
        assert_eq!(second.contact.last_auto_reply_at, Some(9));
        assert_eq!(second.agents.iter().map(|a| a.open_tickets).collect::<Vec<_>>(), vec![2, 3]);
    }
}
