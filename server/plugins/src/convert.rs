//! Between the server's types and the latest WIT types: inputs built from a
//! [`PipelineView`], outputs checked and turned into wire decisions. Everything a plugin
//! returns is untrusted: out-of-bounds output is an `invalid_output` failure, never applied.

use tandem_proto::{self as proto, PluginFailure, PluginFailureKind};
use tandem_store::automation::{AgentView, ContactView, InboxView, MessageView, PipelineView, TeamView};

use crate::bindings::latest::{classify, respond, route, types as wit};
use crate::outcome::failure;

pub const MAX_TAGS: usize = 20;
pub const MAX_REASON_CHARS: usize = 2_000;
pub const MAX_SUBJECT_CHARS: usize = 300;
pub const MAX_REPLY_TEXT_BYTES: usize = 64 * 1024;
pub const MAX_REPLY_HTML_BYTES: usize = 256 * 1024;

fn status(s: proto::TicketStatus) -> wit::TicketStatus {
    use proto::TicketStatus as S;
    match s {
        S::New => wit::TicketStatus::New,
        S::Open => wit::TicketStatus::Open,
        S::Pending => wit::TicketStatus::Pending,
        S::OnHold => wit::TicketStatus::OnHold,
        S::Solved => wit::TicketStatus::Solved,
        S::Closed => wit::TicketStatus::Closed,
        S::Spam => wit::TicketStatus::Spam,
    }
}

fn priority_to_wit(p: proto::Priority) -> wit::Priority {
    match p {
        proto::Priority::Low => wit::Priority::Low,
        proto::Priority::Normal => wit::Priority::Normal,
        proto::Priority::High => wit::Priority::High,
        proto::Priority::Urgent => wit::Priority::Urgent,
    }
}

fn priority_from_wit(p: wit::Priority) -> proto::Priority {
    match p {
        wit::Priority::Low => proto::Priority::Low,
        wit::Priority::Normal => proto::Priority::Normal,
        wit::Priority::High => proto::Priority::High,
        wit::Priority::Urgent => proto::Priority::Urgent,
    }
}

fn kind(k: proto::MessageKind) -> wit::MessageKind {
    use proto::MessageKind as K;
    match k {
        K::Inbound => wit::MessageKind::Inbound,
        K::Reply => wit::MessageKind::Reply,
        K::Note => wit::MessageKind::Note,
        K::AutoReply => wit::MessageKind::AutoReply,
        K::System => wit::MessageKind::System,
    }
}

fn availability(a: proto::Availability) -> wit::Availability {
    match a {
        proto::Availability::Online => wit::Availability::Online,
        proto::Availability::Away => wit::Availability::Away,
        proto::Availability::Off => wit::Availability::Off,
    }
}

pub fn message(m: &MessageView) -> wit::Message {
    wit::Message {
        kind: kind(m.kind),
        from_address: m.from_address.clone(),
        from_name: m.from_name.clone(),
        subject: m.subject.clone(),
        text: m.text.clone(),
        headers: m.headers.iter().map(|(name, value)| wit::Header { name: name.clone(), value: value.clone() }).collect(),
        attachment_types: m.attachment_types.clone(),
        received_at: m.received_at,
    }
}

pub fn ticket(view: &PipelineView) -> wit::Ticket {
    let t = &view.ticket;
    wit::Ticket {
        number: t.number,
        subject: t.subject.clone(),
        status: status(t.status),
        priority: priority_to_wit(t.priority),
        tags: t.tags.clone(),
        category: t.category.clone(),
        language: t.language.clone(),
        inbox_id: t.inbox_id,
        team_id: t.team_id,
        assignee_id: t.assignee.as_ref().map(|a| a.id),
        created_at: t.created_at.timestamp_micros(),
        message_count: view.message_count,
    }
}

pub fn contact(c: &ContactView) -> wit::Contact {
    wit::Contact {
        email: c.email.clone(),
        name: c.name.clone(),
        company: c.company.clone(),
        previous_tickets: c.previous_tickets,
        open_tickets: c.open_tickets,
        last_auto_reply_at: c.last_auto_reply_at,
    }
}

pub fn inbox(i: &InboxView) -> wit::Inbox {
    wit::Inbox { id: i.id, name: i.name.clone(), address: i.address.clone(), business_hours: None }
}

fn agent(a: &AgentView) -> wit::Agent {
    wit::Agent {
        id: a.id,
        name: a.name.clone(),
        email: a.email.clone(),
        skills: a.skills.clone(),
        availability: availability(a.availability),
        language: a.language.clone(),
        open_tickets: a.open_tickets,
        teams: a.teams.clone(),
    }
}

fn team(t: &TeamView) -> wit::Team {
    wit::Team { id: t.id, name: t.name.clone(), members: t.members.clone() }
}

pub fn classify_input(view: &PipelineView) -> classify::Input {
    classify::Input { message: message(&view.message), ticket: ticket(view), contact: contact(&view.contact), inbox: inbox(&view.inbox) }
}

pub fn route_input(view: &PipelineView) -> route::Input {
    route::Input {
        message: message(&view.message),
        ticket: ticket(view),
        contact: contact(&view.contact),
        inbox: inbox(&view.inbox),
        agents: view.agents.iter().map(agent).collect(),
        teams: view.teams.iter().map(team).collect(),
    }
}

pub fn respond_input(view: &PipelineView) -> respond::Input {
    respond::Input { message: message(&view.message), ticket: ticket(view), contact: contact(&view.contact), inbox: inbox(&view.inbox) }
}

fn invalid(message: impl Into<String>) -> PluginFailure {
    failure(PluginFailureKind::InvalidOutput, message)
}

fn reason(text: String) -> Result<String, PluginFailure> {
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(invalid(format!("reason is longer than {MAX_REASON_CHARS} characters")));
    }
    Ok(text)
}

pub fn classification(c: classify::Classification) -> Result<proto::Classification, PluginFailure> {
    if c.add_tags.len() > MAX_TAGS {
        return Err(invalid(format!("{} tags; at most {MAX_TAGS}", c.add_tags.len())));
    }
    let mut tags = Vec::with_capacity(c.add_tags.len());
    for tag in &c.add_tags {
        tags.push(tandem_domain::validate::tag(tag).map_err(|e| invalid(format!("tag {:?}: {e}", truncate(tag))))?);
    }
    let category = match c.category {
        Some(cat) => Some(
            tandem_domain::validate::text("category", &cat, tandem_domain::validate::MAX_NAME_CHARS)
                .map_err(|e| invalid(format!("category {:?}: {e}", truncate(&cat))))?,
        ),
        None => None,
    };
    let language = match c.language {
        Some(lang) => Some(tandem_domain::validate::language("language", &lang).map_err(|e| invalid(format!("language {:?}: {e}", truncate(&lang))))?),
        None => None,
    };
    if !c.confidence.is_finite() || !(0.0..=1.0).contains(&c.confidence) {
        return Err(invalid(format!("confidence {} is not within 0..=1", c.confidence)));
    }
    Ok(proto::Classification {
        add_tags: tags,
        priority: c.priority.map(priority_from_wit),
        category,
        language,
        spam: c.spam,
        confidence: c.confidence,
        reason: reason(c.reason)?,
    })
}

/// A router's decision; ids must be among the candidates it was shown.
pub fn routing(d: route::Decision, input: &route::Input) -> Result<proto::Routing, PluginFailure> {
    let reason = reason(d.reason)?;
    match d.routing {
        route::Routing::NoDecision => Ok(proto::Routing { decided: false, team_id: None, assignee_id: None, reason }),
        route::Routing::Assign(a) => {
            if a.team_id.is_none() && a.assignee_id.is_none() {
                return Err(invalid("assign with neither a team nor an assignee (use no-decision)"));
            }
            if let Some(team) = a.team_id
                && !input.teams.iter().any(|t| t.id == team)
            {
                return Err(invalid(format!("team {team} is not one of the teams offered")));
            }
            if let Some(agent) = a.assignee_id
                && !input.agents.iter().any(|x| x.id == agent)
            {
                return Err(invalid(format!("agent {agent} is not one of the candidates offered")));
            }
            Ok(proto::Routing { decided: true, team_id: a.team_id, assignee_id: a.assignee_id, reason })
        }
    }
}

pub fn response(d: respond::Decision) -> Result<proto::Response, PluginFailure> {
    let reason = reason(d.reason)?;
    let reply = match d.reply {
        None => None,
        Some(r) => {
            if r.subject.trim().is_empty() || r.subject.chars().count() > MAX_SUBJECT_CHARS {
                return Err(invalid(format!("reply subject must be 1–{MAX_SUBJECT_CHARS} characters")));
            }
            if r.text.trim().is_empty() || r.text.len() > MAX_REPLY_TEXT_BYTES {
                return Err(invalid(format!("reply text must be 1–{MAX_REPLY_TEXT_BYTES} bytes")));
            }
            if r.html.as_ref().is_some_and(|h| h.len() > MAX_REPLY_HTML_BYTES) {
                return Err(invalid(format!("reply HTML is limited to {MAX_REPLY_HTML_BYTES} bytes")));
            }
            Some(proto::AutoReply { subject: r.subject, text: r.text, html: r.html, template: r.template })
        }
    };
    Ok(proto::Response { reply, reason })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> classify::Classification {
        classify::Classification { add_tags: vec!["billing".into()], priority: None, category: None, language: None, spam: None, confidence: 0.5, reason: "ok".into() }
    }

    #[test]
    fn classifier_output_is_bounded() {
        assert!(classification(verdict()).is_ok());
        let too_many = classify::Classification { add_tags: (0..21).map(|i| format!("t{i}")).collect(), ..verdict() };
        assert_eq!(classification(too_many).expect_err("too many").kind, PluginFailureKind::InvalidOutput);
        assert!(classification(classify::Classification { add_tags: vec![String::new()], ..verdict() }).is_err());
        assert!(classification(classify::Classification { confidence: f32::NAN, ..verdict() }).is_err());
        assert!(classification(classify::Classification { confidence: 1.5, ..verdict() }).is_err());
        assert!(classification(classify::Classification { category: Some("c".repeat(5_000)), ..verdict() }).is_err());
        assert!(classification(classify::Classification { language: Some("not a language".into()), ..verdict() }).is_err());
        assert!(classification(classify::Classification { reason: "r".repeat(MAX_REASON_CHARS + 1), ..verdict() }).is_err());
    }

    #[test]
    fn routers_may_only_pick_what_they_were_offered() {
        let input = crate::testing::route_input(
            "a@b.test",
            "s",
            "t",
            vec![crate::testing::agent(7, "Ann", &[], wit::Availability::Online, 0, &[])],
            vec![crate::testing::team(3, "Tech", &[7])],
        );
        let decide = |team_id, assignee_id| route::Decision { routing: route::Routing::Assign(route::Assignment { team_id, assignee_id }), reason: "r".into() };
        assert!(routing(decide(Some(3), Some(7)), &input).is_ok());
        assert!(routing(decide(Some(4), None), &input).is_err());
        assert!(routing(decide(None, Some(8)), &input).is_err());
        assert!(routing(decide(None, None), &input).is_err());
        let none = routing(route::Decision { routing: route::Routing::NoDecision, reason: "n".into() }, &input).expect("ok");
        assert!(!none.decided);
    }
}
