//! Sample inputs for native tests: a plausible message, ticket, contact and inbox that a test
//! then adjusts (`let mut input = sample::classify_input(...); input.message.headers.push(...)`).

use crate::{
    Agent, Availability, ClassifyInput, Contact, Header, Inbox, Message, MessageKind, Priority, RespondInput, RouteInput, Team,
    Ticket, TicketStatus, Timestamp,
};

/// 2026-03-02 09:00:00 UTC (a Monday), in microseconds: the time samples are set at.
pub const MONDAY_9AM: Timestamp = 1_772_442_000_000_000;

pub fn message(from: &str, subject: &str, text: &str) -> Message {
    Message {
        kind: MessageKind::Inbound,
        from_address: from.to_lowercase(),
        from_name: None,
        subject: subject.to_owned(),
        text: text.to_owned(),
        headers: vec![
            Header { name: "From".to_owned(), value: from.to_owned() },
            Header { name: "Subject".to_owned(), value: subject.to_owned() },
        ],
        attachment_types: Vec::new(),
        received_at: MONDAY_9AM,
    }
}

pub fn ticket(subject: &str) -> Ticket {
    Ticket {
        number: 1001,
        subject: subject.to_owned(),
        status: TicketStatus::New,
        priority: Priority::Normal,
        tags: Vec::new(),
        category: None,
        language: None,
        inbox_id: 1,
        team_id: None,
        assignee_id: None,
        created_at: MONDAY_9AM,
        message_count: 1,
    }
}

pub fn contact(email: &str) -> Contact {
    Contact {
        email: email.to_lowercase(),
        name: None,
        company: email.rsplit_once('@').map(|(_, d)| d.to_lowercase()),
        previous_tickets: 0,
        open_tickets: 0,
        last_auto_reply_at: None,
    }
}

pub fn inbox() -> Inbox {
    Inbox { id: 1, name: "Support".to_owned(), address: "support@example.test".to_owned(), business_hours: None }
}

pub fn classify_input(from: &str, subject: &str, text: &str) -> ClassifyInput {
    ClassifyInput { message: message(from, subject, text), ticket: ticket(subject), contact: contact(from), inbox: inbox() }
}

pub fn respond_input(from: &str, subject: &str, text: &str) -> RespondInput {
    RespondInput { message: message(from, subject, text), ticket: ticket(subject), contact: contact(from), inbox: inbox() }
}

pub fn route_input(from: &str, subject: &str, text: &str, agents: Vec<Agent>, teams: Vec<Team>) -> RouteInput {
    RouteInput { message: message(from, subject, text), ticket: ticket(subject), contact: contact(from), inbox: inbox(), agents, teams }
}

pub fn agent(id: i64, name: &str, skills: &[&str], availability: Availability, open_tickets: u32, teams: &[i64]) -> Agent {
    Agent {
        id,
        name: name.to_owned(),
        email: format!("{}@example.test", name.to_lowercase()),
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        availability,
        language: "en".to_owned(),
        open_tickets,
        teams: teams.to_vec(),
    }
}

pub fn team(id: i64, name: &str, members: &[i64]) -> Team {
    Team { id, name: name.to_owned(), members: members.to_vec() }
}
