//! What the plugin pipeline reads (a snapshot of a ticket, its new message, the contact, the
//! inbox and who could take it) and, in [`apply`], writes: a whole run's decisions (a
//! classifier's tags and priority, a router's assignment, an automatic reply, every call's
//! outcome on the timeline, the plugins' health) in one transaction. Plugins themselves never
//! touch the store: `tandem-plugins` runs them and calls these.

mod apply;
mod follow;

pub use apply::{PluginStep, RunToWrite, RunWritten, StepRecord};
pub use follow::RunEffects;

use std::collections::BTreeMap;

use sea_orm::FromQueryResult;
use tandem_proto::{self as proto, ActorKind, Availability, MessageKind, TicketStatus};

use crate::{
    Store,
    db::{query_all, query_one, to_micros},
    error::{Result, StoreError},
    events::Who,
    rows::{TicketRow, parse, parse_json},
    tickets::load_ticket,
};

/// The plugin a decision comes from, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

impl PluginRef {
    fn who(&self) -> Who {
        Who { kind: ActorKind::Plugin, id: Some(self.id), name: self.name.clone() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    pub id: i64,
    pub kind: MessageKind,
    pub from_address: String,
    pub from_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub headers: Vec<(String, String)>,
    pub attachment_types: Vec<String>,
    pub received_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactView {
    pub email: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub previous_tickets: u32,
    pub open_tickets: u32,
    pub last_auto_reply_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InboxView {
    pub id: i64,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub skills: Vec<String>,
    pub availability: Availability,
    pub language: String,
    pub open_tickets: u32,
    pub teams: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
}

/// Everything the three worlds are shown about one new customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineView {
    pub message: MessageView,
    pub ticket: proto::Ticket,
    pub message_count: u32,
    pub contact: ContactView,
    pub inbox: InboxView,
    /// Members of the inbox who may hold tickets (not disabled, not observers).
    pub agents: Vec<AgentView>,
    pub teams: Vec<TeamView>,
}

const OPEN_STATUSES: &str = "('new', 'open', 'pending', 'on_hold')";

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl PipelineView {
    fn with_candidates(self, agents: Vec<AgentView>, teams: Vec<TeamView>) -> PipelineView {
        PipelineView { agents, teams, ..self }
    }
}

impl Store {
    /// The snapshot for a message of ticket `number` (its latest customer message when
    /// `message_id` is `None`).
    pub async fn pipeline_view(&self, number: i64, message_id: Option<i64>) -> Result<PipelineView> {
        let row = load_ticket(&self.db, self.db.connection(), number, false).await?;
        let ((agents, teams), view) = tokio::try_join!(self.candidates(row.inbox_id), self.view_of(&row, message_id))?;
        Ok(view.with_candidates(agents, teams))
    }

    /// The snapshots for messages `(ticket number, message id)` of one group of pipeline runs,
    /// in order, all read at once (the candidates once per inbox). Each is as the database
    /// has it now: a view of a group's later message does not show the group's earlier runs
    /// until [`PipelineView::follow`] is given them.
    pub async fn pipeline_views(&self, runs: &[(i64, i64)]) -> Result<Vec<PipelineView>> {
        let conn = self.db.connection();
        let rows = futures::future::try_join_all(runs.iter().map(|&(number, _)| load_ticket(&self.db, conn, number, false))).await?;
        let mut inboxes: Vec<i64> = rows.iter().map(|r| r.inbox_id).collect();
        inboxes.sort_unstable();
        inboxes.dedup();
        let candidates = futures::future::try_join_all(inboxes.iter().map(|&inbox| self.candidates(inbox)));
        let views = futures::future::try_join_all(rows.iter().zip(runs).map(|(row, &(_, message))| self.view_of(row, Some(message))));
        let (candidates, views) = tokio::try_join!(candidates, views)?;
        let by_inbox: BTreeMap<i64, (Vec<AgentView>, Vec<TeamView>)> = inboxes.into_iter().zip(candidates).collect();
        Ok(views
            .into_iter()
            .map(|view| {
                let (agents, teams) = by_inbox.get(&view.ticket.inbox_id).cloned().unwrap_or_default();
                view.with_candidates(agents, teams)
            })
            .collect())
    }

    /// A view of ticket `row` without the candidates (see [`Store::candidates`]).
    async fn view_of(&self, row: &TicketRow, message_id: Option<i64>) -> Result<PipelineView> {
        let ticket = row.clone().into_proto(self.now_micros())?;
        // Independent reads, on several pooled connections at once: each statement's round
        // trip to SQLite's worker thread costs more than the statement itself.
        let (message, message_count, contact, inbox) = tokio::try_join!(
            self.message_view(&ticket, row.id, message_id),
            self.message_count(row.id, message_id),
            self.contact_view(row.contact_id, Some(row.id)),
            self.inbox_view(row.inbox_id),
        )?;
        Ok(PipelineView { message, ticket, message_count, contact, inbox, agents: Vec::new(), teams: Vec::new() })
    }

    /// The new message of `ticket` (row `ticket_id`): `message_id`, or its latest customer message.
    async fn message_view(&self, ticket: &proto::Ticket, ticket_id: i64, message_id: Option<i64>) -> Result<MessageView> {
        let conn = self.db.connection();
        #[derive(FromQueryResult)]
        struct Msg {
            id: i64,
            kind: String,
            author_kind: String,
            author_name: String,
            body_text: String,
            headers_json: String,
            created_at: i64,
        }
        let sql = "SELECT id, kind, author_kind, author_name, body_text, headers_json, created_at FROM messages WHERE ticket_id = ?";
        let msg: Option<Msg> = match message_id {
            Some(id) => query_one(conn, self.db.stmt(&format!("{sql} AND id = ?"), vec![ticket_id.into(), id.into()])).await?,
            None => query_one(conn, self.db.stmt(&format!("{sql} AND kind = 'inbound' ORDER BY id DESC LIMIT 1"), vec![ticket_id.into()])).await?,
        };
        let msg = msg.ok_or(StoreError::NotFound("message"))?;
        #[derive(FromQueryResult)]
        struct Types {
            content_type: String,
        }
        let types: Vec<Types> =
            query_all(conn, self.db.stmt("SELECT content_type FROM attachments WHERE message_id = ? ORDER BY id", vec![msg.id.into()])).await?;
        let headers: Vec<(String, String)> = parse_json("messages", "headers_json", &msg.headers_json)?;
        let author_is_contact = msg.author_kind == ActorKind::Contact.as_str();
        Ok(MessageView {
            id: msg.id,
            kind: parse("messages", "kind", &msg.kind)?,
            from_name: Some(msg.author_name).filter(|n| !n.is_empty()),
            from_address: if author_is_contact { ticket.contact.email.clone() } else { String::new() },
            subject: ticket.subject.clone(),
            text: msg.body_text,
            headers: with_basic_headers(headers, &ticket.contact.email, &ticket.subject),
            attachment_types: types.into_iter().map(|t| t.content_type).collect(),
            received_at: msg.created_at,
        })
    }

    /// The ticket's messages as message `up_to` found it (those before it and itself): a run
    /// on a message sees the same count whether later mail of the ticket came in before the
    /// run (the intake runs the pipeline beside the next messages; a run after a crash).
    async fn message_count(&self, ticket_id: i64, up_to: Option<i64>) -> Result<u32> {
        #[derive(FromQueryResult)]
        struct Counted {
            n: i64,
        }
        let up_to = up_to.unwrap_or(i64::MAX);
        let stmt = self.db.stmt("SELECT COUNT(*) AS n FROM messages WHERE ticket_id = ? AND id <= ?", vec![ticket_id.into(), up_to.into()]);
        let counted: Option<Counted> = query_one(self.db.connection(), stmt).await?;
        Ok(count(counted.map_or(1, |m| m.n)))
    }

    async fn contact_view(&self, contact_id: i64, this_ticket: Option<i64>) -> Result<ContactView> {
        #[derive(FromQueryResult)]
        struct Row {
            email: String,
            name: String,
            company: Option<String>,
            last_auto_reply_at: Option<i64>,
            previous: i64,
            open: i64,
        }
        let exclude = this_ticket.unwrap_or(-1);
        let row: Option<Row> = query_one(
            self.db.connection(),
            self.db.stmt(
                &format!(
                    "SELECT c.email, c.name, c.company, c.last_auto_reply_at, \
                     (SELECT COUNT(*) FROM tickets t WHERE t.contact_id = c.id AND t.id <> ?) AS previous, \
                     (SELECT COUNT(*) FROM tickets t WHERE t.contact_id = c.id AND t.id <> ? AND t.status IN {OPEN_STATUSES}) AS open \
                     FROM contacts c WHERE c.id = ?"
                ),
                vec![exclude.into(), exclude.into(), contact_id.into()],
            ),
        )
        .await?;
        let row = row.ok_or(StoreError::NotFound("contact"))?;
        Ok(ContactView {
            name: Some(row.name).filter(|n| !n.trim().is_empty()),
            company: row.company.or_else(|| row.email.rsplit_once('@').map(|(_, d)| d.to_owned())),
            email: row.email,
            previous_tickets: count(row.previous),
            open_tickets: count(row.open),
            last_auto_reply_at: row.last_auto_reply_at,
        })
    }

    async fn inbox_view(&self, inbox_id: i64) -> Result<InboxView> {
        #[derive(FromQueryResult)]
        struct Row {
            id: i64,
            name: String,
            address: String,
        }
        let row: Option<Row> =
            query_one(self.db.connection(), self.db.stmt("SELECT id, name, address FROM inboxes WHERE id = ?", vec![inbox_id.into()])).await?;
        let row = row.ok_or(StoreError::NotFound("inbox"))?;
        Ok(InboxView { id: row.id, name: row.name, address: row.address })
    }

    /// Who could take a ticket of `inbox_id`, with their load, and the teams.
    async fn candidates(&self, inbox_id: i64) -> Result<(Vec<AgentView>, Vec<TeamView>)> {
        let conn = self.db.connection();
        #[derive(FromQueryResult)]
        struct UserRow {
            id: i64,
            display_name: String,
            email: String,
            skills: String,
            availability: String,
            language: String,
            open: i64,
        }
        #[derive(FromQueryResult)]
        struct TeamRow {
            id: i64,
            name: String,
        }
        #[derive(FromQueryResult)]
        struct MemberRow {
            team_id: i64,
            user_id: i64,
        }
        let users = query_all::<UserRow, _>(
            conn,
            self.db.stmt(
                &format!(
                    "SELECT u.id, u.display_name, u.email, u.skills, u.availability, u.language, \
                     (SELECT COUNT(*) FROM tickets t WHERE t.assignee_id = u.id AND t.status IN {OPEN_STATUSES}) AS open \
                     FROM users u JOIN inbox_members m ON m.user_id = u.id \
                     WHERE m.inbox_id = ? AND u.disabled = ? AND u.role <> 'observer' ORDER BY u.id"
                ),
                vec![inbox_id.into(), false.into()],
            ),
        );
        let teams = query_all::<TeamRow, _>(conn, self.db.stmt("SELECT id, name FROM teams ORDER BY id", vec![]));
        let members = query_all::<MemberRow, _>(conn, self.db.stmt("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id", vec![]));
        let (users, teams, members) = tokio::try_join!(users, teams, members)?;
        let mut by_team: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut by_user: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for m in &members {
            by_team.entry(m.team_id).or_default().push(m.user_id);
            by_user.entry(m.user_id).or_default().push(m.team_id);
        }
        let agents = users
            .into_iter()
            .map(|u| {
                Ok(AgentView {
                    skills: parse_json("users", "skills", &u.skills)?,
                    availability: parse("users", "availability", &u.availability)?,
                    teams: by_user.get(&u.id).cloned().unwrap_or_default(),
                    open_tickets: count(u.open),
                    id: u.id,
                    name: u.display_name,
                    email: u.email,
                    language: u.language,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let teams = teams.into_iter().map(|t| TeamView { members: by_team.get(&t.id).cloned().unwrap_or_default(), id: t.id, name: t.name }).collect();
        Ok((agents, teams))
    }

    /// A snapshot around a sample message, for dry runs without a ticket: a new ticket #0 in
    /// the sample's inbox (the first inbox by default). Nothing is written.
    pub async fn sample_view(&self, sample: &proto::SampleMessage) -> Result<PipelineView> {
        #[derive(FromQueryResult)]
        struct Id {
            id: i64,
        }
        let inbox_id = match sample.inbox_id {
            Some(id) => id,
            None => {
                let first: Option<Id> = query_one(self.db.connection(), self.db.stmt("SELECT id FROM inboxes ORDER BY id LIMIT 1", vec![])).await?;
                first.ok_or_else(|| StoreError::validation("sample.inbox_id", "there are no inboxes yet"))?.id
            }
        };
        let inbox = self.inbox_view(inbox_id).await.map_err(|_| StoreError::validation("sample.inbox_id", format!("no inbox with id {inbox_id}")))?;
        let email = tandem_domain::validate::email("sample.from", &sample.from)?;
        #[derive(FromQueryResult)]
        struct ContactId {
            id: i64,
        }
        let known: Option<ContactId> = query_one(self.db.connection(), self.db.stmt("SELECT id FROM contacts WHERE email = ?", vec![email.clone().into()])).await?;
        let contact = match known {
            Some(c) => self.contact_view(c.id, None).await?,
            None => ContactView {
                company: email.rsplit_once('@').map(|(_, d)| d.to_owned()),
                email: email.clone(),
                name: sample.from_name.clone(),
                previous_tickets: 0,
                open_tickets: 0,
                last_auto_reply_at: None,
            },
        };
        let now = self.clock().now();
        let (agents, teams) = self.candidates(inbox_id).await?;
        let contact_ref = proto::ContactRef { id: 0, email: email.clone(), name: contact.name.clone().unwrap_or_default() };
        let ticket = opened_ticket(0, &sample.subject, inbox_id, contact_ref, now);
        let message = MessageView {
            id: 0,
            kind: MessageKind::Inbound,
            from_address: email.clone(),
            from_name: sample.from_name.clone(),
            subject: sample.subject.clone(),
            text: sample.text.clone(),
            headers: with_basic_headers(sample.headers.clone(), &email, &sample.subject),
            attachment_types: Vec::new(),
            received_at: to_micros(now),
        };
        Ok(PipelineView { message, ticket, message_count: 1, contact, inbox, agents, teams })
    }
}

/// A ticket as a customer's first message opens it: `new`, normal priority, nobody on it.
pub(crate) fn opened_ticket(number: i64, subject: &str, inbox_id: i64, contact: proto::ContactRef, at: chrono::DateTime<chrono::Utc>) -> proto::Ticket {
    proto::Ticket {
        number,
        subject: subject.to_owned(),
        status: TicketStatus::New,
        priority: proto::Priority::Normal,
        inbox_id,
        team_id: None,
        assignee: None,
        contact,
        tags: Vec::new(),
        category: None,
        language: None,
        created_at: at,
        updated_at: at,
        first_response_at: None,
        last_customer_message_at: Some(at),
        last_agent_message_at: None,
        solved_at: None,
        closed_at: None,
        snoozed_until: None,
        merged_into: None,
        sla: None,
        version: 1,
    }
}

/// Stored headers plus From and Subject when the intake path did not keep headers (API).
fn with_basic_headers(mut headers: Vec<(String, String)>, from: &str, subject: &str) -> Vec<(String, String)> {
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("from")) {
        headers.insert(0, ("From".to_owned(), from.to_owned()));
    }
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("subject")) {
        headers.insert(1.min(headers.len()), ("Subject".to_owned(), subject.to_owned()));
    }
    headers
}
