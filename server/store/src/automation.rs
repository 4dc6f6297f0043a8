//! What the plugin pipeline reads (a snapshot of a ticket, its new message, the contact, the
//! inbox and who could take it) and writes (a classifier's tags and priority, a router's
//! assignment, an automatic reply), each write one transaction with its timeline events.
//! Plugins themselves never touch the store: `tandem-plugins` runs them and calls these.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::{Value as Json, json};
use tandem_domain::ticket::{self, TicketPatch};
use tandem_proto::{self as proto, ActorKind, Availability, DeliveryState, MessageKind, TicketStatus};

use crate::{
    Store,
    db::{WriteTx, query_all, query_one, to_micros},
    error::{Result, StoreError},
    events::{NewEvent, Who, record, record_changes},
    rows::{TicketRow, parse, parse_json},
    tickets::{load_ticket, write::{MailExtras, NewMessage, insert_message, save_state, save_state_before_message}},
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

impl Store {
    /// The snapshot for a message of ticket `number` (its latest customer message when
    /// `message_id` is `None`).
    pub async fn pipeline_view(&self, number: i64, message_id: Option<i64>) -> Result<PipelineView> {
        let conn = self.db.connection();
        let row = load_ticket(&self.db, conn, number, false).await?;
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
            Some(id) => query_one(conn, self.db.stmt(&format!("{sql} AND id = ?"), vec![row.id.into(), id.into()])).await?,
            None => query_one(conn, self.db.stmt(&format!("{sql} AND kind = 'inbound' ORDER BY id DESC LIMIT 1"), vec![row.id.into()])).await?,
        };
        let msg = msg.ok_or(StoreError::NotFound("message"))?;
        #[derive(FromQueryResult)]
        struct Types {
            content_type: String,
        }
        let types: Vec<Types> =
            query_all(conn, self.db.stmt("SELECT content_type FROM attachments WHERE message_id = ? ORDER BY id", vec![msg.id.into()])).await?;
        #[derive(FromQueryResult)]
        struct Counted {
            n: i64,
        }
        let messages: Option<Counted> = query_one(conn, self.db.stmt("SELECT COUNT(*) AS n FROM messages WHERE ticket_id = ?", vec![row.id.into()])).await?;
        let ticket = row.clone().into_proto(self.now_micros())?;
        let headers: Vec<(String, String)> = parse_json("messages", "headers_json", &msg.headers_json)?;
        let author_is_contact = msg.author_kind == ActorKind::Contact.as_str();
        let from_address = if author_is_contact { ticket.contact.email.clone() } else { String::new() };
        let message = MessageView {
            id: msg.id,
            kind: parse("messages", "kind", &msg.kind)?,
            from_name: Some(msg.author_name).filter(|n| !n.is_empty()),
            from_address,
            subject: ticket.subject.clone(),
            text: msg.body_text,
            headers: with_basic_headers(headers, &ticket.contact.email, &ticket.subject),
            attachment_types: types.into_iter().map(|t| t.content_type).collect(),
            received_at: msg.created_at,
        };
        let contact = self.contact_view(row.contact_id, Some(row.id)).await?;
        let inbox = self.inbox_view(row.inbox_id).await?;
        let (agents, teams) = self.candidates(row.inbox_id).await?;
        Ok(PipelineView { message, ticket, message_count: count(messages.map_or(1, |m| m.n)), contact, inbox, agents, teams })
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
        let users: Vec<UserRow> = query_all(
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
        )
        .await?;
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
        let teams: Vec<TeamRow> = query_all(conn, self.db.stmt("SELECT id, name FROM teams ORDER BY id", vec![])).await?;
        let members: Vec<MemberRow> = query_all(conn, self.db.stmt("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id", vec![])).await?;
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
        let ticket = proto::Ticket {
            number: 0,
            subject: sample.subject.clone(),
            status: TicketStatus::New,
            priority: proto::Priority::Normal,
            inbox_id,
            team_id: None,
            assignee: None,
            contact: proto::ContactRef { id: 0, email: email.clone(), name: contact.name.clone().unwrap_or_default() },
            tags: Vec::new(),
            category: None,
            language: None,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            last_customer_message_at: Some(now),
            last_agent_message_at: None,
            solved_at: None,
            closed_at: None,
            snoozed_until: None,
            merged_into: None,
            sla: None,
            version: 1,
        };
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

    /// Applies a classifier's verdict (through the same domain rules as a person's change) and
    /// records the decision on the timeline. Returns the ticket as it now is.
    pub async fn apply_classification(&self, number: i64, plugin: &PluginRef, c: &proto::Classification, usage: &proto::PluginUsage) -> Result<proto::Ticket> {
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        let state = row.state()?;
        let mut patch = TicketPatch::default();
        if !c.add_tags.is_empty() {
            let mut tags = state.tags.clone();
            for tag in &c.add_tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            if tags != state.tags {
                patch.tags = Some(tandem_domain::validate::tags(&tags)?);
            }
        }
        if let Some(p) = c.priority {
            patch.priority = Some(p);
        }
        if let Some(cat) = &c.category {
            patch.category = Some(Some(cat.clone()));
        }
        if let Some(lang) = &c.language {
            patch.language = Some(Some(tandem_domain::validate::language("language", lang)?));
        }
        if c.spam == Some(true) && state.status != TicketStatus::Spam {
            patch.status = Some(TicketStatus::Spam);
        }
        self.finish_plugin_patch(tx, &row, patch, plugin, usage, "plugin.classified", |changed| json!({ "decision": c, "changed": changed })).await
    }

    /// Applies a router's assignment. An assignee who may not hold the ticket makes the
    /// decision invalid: nothing changes and the error is returned for the caller to record.
    pub async fn apply_routing(&self, number: i64, plugin: &PluginRef, r: &proto::Routing, usage: &proto::PluginUsage) -> Result<proto::Ticket> {
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        let mut patch = TicketPatch::default();
        if let Some(team) = r.team_id {
            self.team_exists(&tx.tx, team).await?;
            patch.team_id = Some(Some(team));
        }
        if let Some(assignee) = r.assignee_id {
            self.assignee_check(&tx.tx, row.inbox_id, assignee).await?;
            patch.assignee_id = Some(Some(assignee));
        }
        self.finish_plugin_patch(tx, &row, patch, plugin, usage, "plugin.routed", |_| json!({ "decision": r })).await
    }

    /// The common end of a plugin's change: apply `patch` through the domain rules, save it
    /// with its field events, record the decision event `kind`, commit, return the ticket.
    #[allow(clippy::too_many_arguments)]
    async fn finish_plugin_patch(
        &self,
        tx: WriteTx,
        row: &TicketRow,
        patch: TicketPatch,
        plugin: &PluginRef,
        usage: &proto::PluginUsage,
        kind: &str,
        details: impl FnOnce(Vec<&'static str>) -> Json,
    ) -> Result<proto::Ticket> {
        let now = self.clock().now();
        let at = to_micros(now);
        let mut state = row.state()?;
        let who = plugin.who();
        let changes = if patch.is_empty() { Vec::new() } else { ticket::apply_patch(&mut state, patch, now)? };
        if !changes.is_empty() {
            let tags_changed = changes.iter().any(|ch| ch.field == "tags");
            save_state(&self.db, &tx.tx, row.id, row.version, &state, at, tags_changed).await?;
            record_changes(&self.db, &tx.tx, &who, at, row.id, &changes).await?;
        }
        let details = details(changes.iter().map(|ch| ch.field).collect());
        record(&self.db, &tx.tx, &who, at, NewEvent { ticket_id: Some(row.id), kind, field: None, before: Json::Null, after: decision_json(plugin, usage, details) })
            .await?;
        tx.commit().await?;
        load_ticket(&self.db, self.db.connection(), row.number, false).await?.into_proto(self.now_micros())
    }

    /// Queues a responder's automatic reply on the ticket (the mail channel sends it) and
    /// remembers when the contact last got one.
    pub async fn add_auto_reply(&self, number: i64, plugin: &PluginRef, reply: &proto::AutoReply, reason: &str, usage: &proto::PluginUsage) -> Result<proto::Message> {
        let body_text = tandem_domain::validate::body("reply.text", &reply.text)?;
        let body_html = reply.html.as_deref().and_then(tandem_domain::html::sanitize);
        let at = self.now_micros();
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        let state = row.state()?;
        let (in_reply_to, references) = self.thread_headers(&tx.tx, row.id).await?;
        let inbox = self.inbox_view(row.inbox_id).await?;
        let message_id = crate::tickets::write::outbound_message_id(number, &inbox.address)?;
        let version = save_state_before_message(&self.db, &tx.tx, row.id, row.version, &state, at).await?;
        let who = plugin.who();
        let id = insert_message(&self.db, &tx.tx, at, NewMessage {
            ticket_id: row.id,
            kind: MessageKind::AutoReply,
            author: &who,
            body_text,
            body_html,
            message_id: Some(message_id),
            in_reply_to,
            references,
            delivery_state: Some(DeliveryState::Queued),
            ticket_version: version,
            mail: Some(MailExtras { subject: Some(reply.subject.clone()), ..MailExtras::default() }),
        })
        .await?;
        tx.tx
            .execute_raw(self.db.stmt("UPDATE contacts SET last_auto_reply_at = ? WHERE id = ?", vec![at.into(), row.contact_id.into()]))
            .await?;
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(row.id),
            kind: "plugin.responded",
            field: None,
            before: Json::Null,
            after: decision_json(plugin, usage, json!({ "message_id": id, "subject": reply.subject, "template": reply.template, "reason": reason })),
        })
        .await?;
        tx.commit().await?;
        let messages = crate::tickets::messages_of(&self.db, self.db.connection(), row.id, None).await?;
        messages.into_iter().find(|m| m.id == id).ok_or(StoreError::NotFound("message"))
    }

    /// Records on the ticket's timeline what a plugin call came to when it changed nothing:
    /// a failure, no decision, no reply, or not consulted.
    pub async fn record_plugin_outcome(&self, number: i64, plugin: &PluginRef, kind: &str, usage: &proto::PluginUsage, details: Json) -> Result<()> {
        let at = self.now_micros();
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, false).await?;
        record(&self.db, &tx.tx, &plugin.who(), at, NewEvent { ticket_id: Some(row.id), kind, field: None, before: Json::Null, after: decision_json(plugin, usage, details) })
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn decision_json(plugin: &PluginRef, usage: &proto::PluginUsage, details: Json) -> Json {
    let mut out = json!({
        "plugin_id": plugin.id,
        "plugin": plugin.name,
        "version": plugin.version,
        "duration_us": usage.duration_us,
        "fuel": usage.fuel,
    });
    if let (Some(map), Json::Object(extra)) = (out.as_object_mut(), details) {
        map.extend(extra);
    }
    out
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
