//! Creating tickets and changing them: updates, assignment, replies and notes.

use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use tandem_domain::{
    Actor,
    guard::Seen,
    html,
    policy::{self, Action},
    ticket::{self, Change, TicketPatch, TicketState},
    validate,
};
use tandem_proto::{self as proto, ActorKind, DeliveryState, MessageKind, Priority};

use super::{authorize_ticket, conflict, load_ticket, message_by_id, messages_of};
use crate::{
    Store,
    db::{Batch, Db, WriteTx, query_all, query_one, to_micros},
    error::{Result, StoreError},
    events::{NewEvent, Who, record, record_changes},
    rows::{IdRow, json as to_json},
};

/// A message to insert.
pub(crate) struct NewMessage<'a> {
    pub ticket_id: i64,
    pub kind: MessageKind,
    pub author: &'a Who,
    pub body_text: String,
    pub body_html: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub delivery_state: Option<DeliveryState>,
    /// The ticket version this message creates.
    pub ticket_version: i64,
    /// Email only: the subject, remote-content HTML variant, fold offset and [`proto::MailInfo`].
    pub mail: Option<MailExtras>,
    /// A new customer message the plugin pipeline is to run on (see
    /// [`crate::Store::pending_pipeline_runs`]).
    pub pipeline_pending: bool,
    /// Replies: copies and blind copies besides the contact (see [`tandem_domain::recipients`]).
    pub copies: Copies,
}

/// A reply's Cc and Bcc ([`NewMessage::copies`]); empty for every other message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Copies {
    pub cc: Vec<proto::MailAddress>,
    pub bcc: Vec<proto::MailAddress>,
}

/// What an email message stores besides the common message fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct MailExtras {
    pub subject: Option<String>,
    pub body_html_remote: Option<String>,
    pub folded_from: Option<i64>,
    pub info: Option<proto::MailInfo>,
    /// The mail's headers that plugins see (`tandem_mail::Inbound::plugin_headers`).
    pub headers: Option<Vec<(String, String)>>,
}

pub(crate) async fn insert_message(db: &Db, tx: &WriteTx, at: i64, m: NewMessage<'_>) -> Result<i64> {
    let conn = &tx.tx;
    let extras = m.mail.clone().unwrap_or_default();
    let (kind, by_email) = (m.kind, m.message_id.is_some());
    let row: Option<IdRow> = query_one(
        conn,
        db.stmt(
            "INSERT INTO messages (ticket_id, kind, author_kind, author_id, author_name, body_text, body_html, message_id, \
             in_reply_to, references_json, delivery_state, ticket_version, created_at, subject, body_html_remote, folded_from, mail_json, \
             pipeline_pending, headers_json, cc_json, bcc_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            vec![
                m.ticket_id.into(),
                m.kind.as_str().into(),
                m.author.kind.as_str().into(),
                m.author.id.into(),
                m.author.name.clone().into(),
                m.body_text.into(),
                m.body_html.into(),
                m.message_id.into(),
                m.in_reply_to.into(),
                to_json(&m.references).into(),
                m.delivery_state.map(|d| d.as_str()).into(),
                m.ticket_version.into(),
                at.into(),
                extras.subject.into(),
                extras.body_html_remote.into(),
                extras.folded_from.into(),
                extras.info.as_ref().map(to_json).into(),
                m.pipeline_pending.into(),
                extras.headers.as_ref().map_or_else(|| "[]".to_owned(), to_json).into(),
                to_json(&m.copies.cc).into(),
                to_json(&m.copies.bcc).into(),
            ],
        ),
    )
    .await?;
    let id = row.map(|r| r.id).ok_or(StoreError::NotFound("message"))?;
    tx.index_at_commit(m.ticket_id);
    crate::reports::metrics::on_message(db, tx, m.ticket_id, kind, by_email, at).await?;
    if m.delivery_state == Some(DeliveryState::Queued) {
        // Outbound mail enters the outbox in the same transaction as the message.
        crate::mail::outbox::enqueue(db, conn, id, m.ticket_id, at).await?;
    }
    Ok(id)
}

/// A `message.added` event's details, with the reply's copies when it has any (the audit
/// trail says who got the mail).
fn copies_json(mut after: serde_json::Value, copies: &Copies) -> serde_json::Value {
    let emails = |list: &[proto::MailAddress]| list.iter().map(|a| a.email.clone()).collect::<Vec<_>>();
    if !copies.cc.is_empty() {
        after["cc"] = json!(emails(&copies.cc));
    }
    if !copies.bcc.is_empty() {
        after["bcc"] = json!(emails(&copies.bcc));
    }
    after
}

/// A ticket to insert (status `new`, version 1), from the API or from mail.
pub(crate) struct NewTicket<'a> {
    pub number: i64,
    pub subject: &'a str,
    pub priority: Priority,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub tags: &'a [String],
    pub category: Option<String>,
    pub language: Option<String>,
}

/// Inserts a new ticket opened by a customer message received `at`, with its tags; returns its id.
/// Both callers insert that first message next, in the same transaction, and then start the
/// ticket's SLA clock and figures with [`crate::sla::refresh_ticket`]: [`insert_message`]
/// marks the ticket for the search index, so this does not; and the figures, written once the
/// message is there, are born with the right channel (written first, an email ticket's were
/// written again at once to move it from "api" to "email": ~4 statements more per mail).
pub(crate) async fn insert_ticket(db: &Db, tx: &WriteTx, at: i64, t: NewTicket<'_>) -> Result<i64> {
    let row: Option<IdRow> = query_one(
        &tx.tx,
        db.stmt(
            "INSERT INTO tickets (number, subject, status, priority, inbox_id, contact_id, tags, category, language, \
             created_at, updated_at, last_customer_message_at, version) \
             VALUES (?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
            vec![
                t.number.into(),
                t.subject.to_owned().into(),
                t.priority.as_str().into(),
                t.inbox_id.into(),
                t.contact_id.into(),
                to_json(&t.tags).into(),
                t.category.into(),
                t.language.into(),
                at.into(),
                at.into(),
                at.into(),
            ],
        ),
    )
    .await?;
    let ticket_id = row.ok_or(StoreError::NotFound("ticket"))?.id;
    // Tickets are never deleted, so a new id has no tag rows to replace, nor figures yet.
    let mut batch = Batch::new(db);
    push_new_tags(&mut batch, ticket_id, t.tags);
    batch.run(&tx.tx).await?;
    tx.memo().figures.insert(ticket_id, None);
    Ok(ticket_id)
}

/// Writes a ticket's state back, bumping its version; fails on a concurrent change.
pub(crate) async fn save_state(db: &Db, tx: &WriteTx, id: i64, old_version: i64, s: &TicketState, at: i64, tags_changed: bool) -> Result<i64> {
    let conn = &tx.tx;
    let version = update_row(db, conn, id, old_version, s, at).await?;
    if tags_changed {
        write_tags(db, conn, id, &s.tags).await?;
    }
    tx.index_at_commit(id);
    crate::sla::refresh_ticket(db, tx, id, at).await?;
    Ok(version)
}

/// [`save_state`] (tags unchanged) for a write that adds a message to the ticket next, in the
/// same transaction: [`insert_message`] marks the ticket for the search index then.
pub(crate) async fn save_state_before_message(db: &Db, tx: &WriteTx, id: i64, old_version: i64, s: &TicketState, at: i64) -> Result<i64> {
    let version = update_row(db, &tx.tx, id, old_version, s, at).await?;
    crate::sla::refresh_ticket(db, tx, id, at).await?;
    Ok(version)
}

/// The ticket row's fields and the version bump, checked against `old_version`.
async fn update_row<C: ConnectionTrait>(db: &Db, conn: &C, id: i64, old_version: i64, s: &TicketState, at: i64) -> Result<i64> {
    let opt = |t: Option<chrono::DateTime<chrono::Utc>>| -> Value { t.map(to_micros).into() };
    let done = conn
        .execute_raw(db.stmt(
            "UPDATE tickets SET subject = ?, status = ?, priority = ?, inbox_id = ?, team_id = ?, assignee_id = ?, tags = ?, \
             category = ?, language = ?, snoozed_until = ?, merged_into = ?, first_response_at = ?, last_customer_message_at = ?, \
             last_agent_message_at = ?, solved_at = ?, closed_at = ?, updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
            vec![
                s.subject.clone().into(),
                s.status.as_str().into(),
                s.priority.as_str().into(),
                s.inbox_id.into(),
                s.team_id.into(),
                s.assignee_id.into(),
                to_json(&s.tags).into(),
                s.category.clone().into(),
                s.language.clone().into(),
                opt(s.snoozed_until),
                s.merged_into.into(),
                opt(s.first_response_at),
                opt(s.last_customer_message_at),
                opt(s.last_agent_message_at),
                opt(s.solved_at),
                opt(s.closed_at),
                at.into(),
                id.into(),
                old_version.into(),
            ],
        ))
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Domain(tandem_domain::DomainError::State("the ticket changed concurrently: reload it".into())));
    }
    Ok(old_version + 1)
}

/// Replaces a ticket's tag rows (one round trip: see [`Batch`]).
pub(crate) async fn write_tags<C: ConnectionTrait>(db: &Db, conn: &C, ticket_id: i64, tags: &[String]) -> Result<()> {
    let mut batch = Batch::new(db);
    batch.push("DELETE FROM ticket_tags WHERE ticket_id = ?", vec![ticket_id.into()]);
    push_new_tags(&mut batch, ticket_id, tags);
    batch.run(conn).await
}

/// The tag rows of a ticket that has none yet.
fn push_new_tags(batch: &mut Batch, ticket_id: i64, tags: &[String]) {
    if tags.is_empty() {
        return;
    }
    let marks = crate::db::value_rows(2, tags.len());
    let values = tags.iter().flat_map(|tag| [Value::from(ticket_id), tag.clone().into()]).collect();
    batch.push(&format!("INSERT INTO ticket_tags (ticket_id, tag) VALUES {marks}"), values);
}

/// Takes the next ticket number inside the transaction: sequential and never reused.
pub(crate) async fn next_number<C: ConnectionTrait>(db: &Db, conn: &C) -> Result<i64> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        value: i64,
    }
    let row: Option<Row> = query_one(
        conn,
        db.stmt("UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value", vec![]),
    )
    .await?;
    row.map(|r| r.value).ok_or(StoreError::NotFound("ticket number counter"))
}

/// A Message-ID (without angle brackets, like every stored Message-ID) for mail Tandem sends:
/// unique, and naming the ticket for threading.
pub(crate) fn outbound_message_id(number: i64, inbox_address: &str) -> Result<String> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|e| StoreError::Hash(e.to_string()))?;
    let domain = inbox_address.rsplit_once('@').map(|(_, d)| d).unwrap_or("tandem.invalid");
    Ok(format!("t{number}.{}@{domain}", hex::encode(random)))
}

fn clean_html(html: Option<String>) -> Option<String> {
    html.as_deref().and_then(html::sanitize)
}

fn patch_from(input: &proto::UpdateTicket) -> TicketPatch {
    TicketPatch {
        subject: input.subject.clone(),
        status: input.status,
        priority: input.priority,
        inbox_id: input.inbox_id,
        team_id: input.team_id,
        assignee_id: input.assignee_id,
        tags: input.tags.clone(),
        category: input.category.clone(),
        language: input.language.clone(),
        snoozed_until: input.snoozed_until,
    }
}

impl Store {
    /// Opens a ticket from the API: a new inbound message on behalf of a contact.
    pub async fn create_ticket(&self, actor: &Actor, input: proto::CreateTicket) -> Result<proto::TicketDetail> {
        self.open_ticket(actor, input, false).await
    }

    /// [`Store::create_ticket`] for a server that runs the plugin pipeline next: the message is
    /// marked for it in the same transaction (see [`Store::pending_pipeline_runs`]), so a crash
    /// before the run is made good at the next start.
    pub async fn create_ticket_for_plugins(&self, actor: &Actor, input: proto::CreateTicket) -> Result<proto::TicketDetail> {
        self.open_ticket(actor, input, true).await
    }

    async fn open_ticket(&self, actor: &Actor, input: proto::CreateTicket, pipeline_pending: bool) -> Result<proto::TicketDetail> {
        if !actor.belongs_to(input.inbox_id) {
            return Err(StoreError::validation("inbox_id", format!("no inbox with id {} that you belong to", input.inbox_id)));
        }
        policy::authorize(actor, Action::CreateTicket { inbox_id: input.inbox_id })?;
        let subject = validate::text("subject", &input.subject, validate::MAX_SUBJECT_CHARS)?;
        let body_text = validate::body("body_text", &input.body_text)?;
        let tags = validate::tags(&input.tags)?;
        let category = input.category.as_deref().map(|c| validate::text("category", c, validate::MAX_NAME_CHARS)).transpose()?;
        let language = input.language.as_deref().map(|l| validate::language("language", l)).transpose()?;
        let who = Who::user(actor);
        let now = self.now_micros();
        let tx = self.db.write().await?;
        self.inbox_exists(&tx.tx, input.inbox_id).await?;
        let (contact_id, contact_name) = self.find_or_create_contact(&tx.tx, &who, &input.contact).await?;
        let number = next_number(&self.db, &tx.tx).await?;
        let ticket_id = insert_ticket(&self.db, &tx, now, NewTicket {
            number,
            subject: &subject,
            priority: input.priority.unwrap_or(Priority::Normal),
            inbox_id: input.inbox_id,
            contact_id,
            tags: &tags,
            category,
            language,
        })
        .await?;
        let contact = Who { kind: ActorKind::Contact, id: Some(contact_id), name: contact_name };
        let message_id = insert_message(&self.db, &tx, now, NewMessage {
            ticket_id,
            kind: MessageKind::Inbound,
            author: &contact,
            body_text,
            body_html: clean_html(input.body_html),
            message_id: None,
            in_reply_to: None,
            references: vec![],
            delivery_state: None,
            ticket_version: 1,
            mail: None,
            pipeline_pending,
            copies: Copies::default(),
        })
        .await?;
        crate::sla::refresh_ticket(&self.db, &tx, ticket_id, now).await?;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: Some(ticket_id),
            kind: "ticket.created",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "number": number, "subject": subject, "inbox_id": input.inbox_id, "contact_id": contact_id, "via": "api" }),
        })
        .await?;
        record(&self.db, &tx.tx, &who, now, NewEvent {
            ticket_id: Some(ticket_id),
            kind: "message.added",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "message_id": message_id, "kind": MessageKind::Inbound }),
        })
        .await?;
        tx.commit().await?;
        self.get_ticket(actor, number).await
    }

    /// Changes fields of a ticket written against `input.version`.
    pub async fn update_ticket(&self, actor: &Actor, number: i64, input: proto::UpdateTicket) -> Result<proto::Ticket> {
        let patch = patch_from(&input);
        self.apply_patch(actor, number, patch, Some(input.version)).await
    }

    /// Assigns (or unassigns) a ticket, and optionally routes it to a team.
    pub async fn assign_ticket(&self, actor: &Actor, number: i64, input: proto::AssignTicket) -> Result<proto::Ticket> {
        let patch = TicketPatch { assignee_id: Some(input.assignee_id), team_id: input.team_id, ..Default::default() };
        self.apply_patch(actor, number, patch, input.version).await
    }

    /// The one path through which ticket fields change.
    pub(crate) async fn apply_patch(&self, actor: &Actor, number: i64, patch: TicketPatch, version: Option<i64>) -> Result<proto::Ticket> {
        if patch.is_empty() {
            return Err(StoreError::validation("version", "nothing to change: send at least one field besides version"));
        }
        let now = self.clock.now();
        let at = to_micros(now);
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        if !actor.belongs_to(row.inbox_id) {
            return Err(StoreError::NotFound("ticket"));
        }
        let mut state = row.state()?;
        for action in ticket::actions_for_patch(&state, &patch) {
            policy::authorize(actor, action)?;
        }
        if let Some(seen) = version
            && seen != row.version
        {
            return Err(conflict(&self.db, &tx.tx, &row, Seen::Version(seen)).await?);
        }
        if let Some(Some(assignee)) = patch.assignee_id {
            let inbox = patch.inbox_id.unwrap_or(row.inbox_id);
            self.assignee_check(&tx.tx, inbox, assignee).await?;
        }
        if let Some(Some(team)) = patch.team_id {
            self.team_exists(&tx.tx, team).await?;
        }
        if let Some(inbox) = patch.inbox_id {
            self.inbox_exists(&tx.tx, inbox).await?;
            if patch.assignee_id.is_none()
                && let Some(current) = row.assignee_id
            {
                // Moving keeps the assignee only if they can work in the new inbox.
                self.assignee_check(&tx.tx, inbox, current).await?;
            }
        }
        let changes = ticket::apply_patch(&mut state, patch, now)?;
        if changes.is_empty() {
            tx.commit().await?;
            return load_ticket(&self.db, self.db.connection(), number, false).await?.into_proto(self.now_micros());
        }
        let tags_changed = changes.iter().any(|c| c.field == "tags");
        save_state(&self.db, &tx, row.id, row.version, &state, at, tags_changed).await?;
        record_changes(&self.db, &tx.tx, &Who::user(actor), at, row.id, &changes).await?;
        tx.commit().await?;
        load_ticket(&self.db, self.db.connection(), number, false).await?.into_proto(self.now_micros())
    }

    /// Adds a reply (to the customer) or an internal note, guarded against stale views.
    pub async fn post_message(&self, actor: &Actor, number: i64, kind: MessageKind, input: proto::PostMessage) -> Result<proto::MessagePosted> {
        let seen = Seen::from_request(input.seen_version, input.last_seen_message_id)?;
        let body_text = validate::body("body_text", &input.body_text)?;
        if kind == MessageKind::Note && input.set_status.is_some() {
            return Err(StoreError::validation("set_status", "notes do not change the status; use a reply or PATCH"));
        }
        if kind == MessageKind::Note && (input.cc.as_ref().is_some_and(|cc| !cc.is_empty()) || !input.bcc.is_empty()) {
            return Err(StoreError::validation(if input.bcc.is_empty() { "cc" } else { "bcc" }, "notes are internal: they are not mailed to anyone"));
        }
        let now = self.clock.now();
        let at = to_micros(now);
        // A reply that solves the ticket may ask for a rating: the signer (which may have to
        // store its secret first) is ready before the transaction starts.
        let solving = kind == MessageKind::Reply && input.set_status == Some(proto::TicketStatus::Solved);
        let signer = if solving { Some(self.csat_signer().await?) } else { None };
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        authorize_ticket(actor, &row, Action::WorkTicket { inbox_id: row.inbox_id })?;
        // The send guard: anything new in the conversation since the author looked?
        let unseen = messages_of(&self.db, &tx.tx, row.id, Some(seen)).await?;
        if !unseen.is_empty() {
            return Err(conflict(&self.db, &tx.tx, &row, seen).await?);
        }
        let mut state = row.state()?;
        let changes: Vec<Change> = match kind {
            MessageKind::Reply => ticket::on_agent_reply(&mut state, input.set_status, now)?,
            _ => {
                if let Some(into) = state.merged_into {
                    return Err(StoreError::Domain(tandem_domain::DomainError::State(format!("ticket #{number} was merged into #{into}"))));
                }
                Vec::new()
            }
        };
        let (message_id, in_reply_to, references, delivery, copies) = if kind == MessageKind::Reply {
            let (reply_to, refs) = self.thread_headers(&tx.tx, row.id).await?;
            let inbox = self.inbox_address(&tx.tx, row.inbox_id).await?;
            let copies = super::copies::of_reply(&self.db, &tx.tx, row.id, &row.contact_email, input.cc, input.bcc).await?;
            (Some(outbound_message_id(number, &inbox)?), reply_to, refs, Some(DeliveryState::Queued), copies)
        } else {
            (None, None, vec![], None, Copies::default())
        };
        // A reply that solves the ticket asks for a rating, if the inbox wants that.
        let mut body_text = body_text;
        let mut body_html = clean_html(input.body_html);
        // (Unless the agent put the link in already, with the `{{ csat_link }}` template variable.)
        if let Some(signer) = signer.filter(|_| state.status == proto::TicketStatus::Solved && !body_text.contains("/csat/"))
            && self.csat_enabled(&tx.tx, row.inbox_id).await?
        {
            let invitation = tandem_domain::csat::invitation(state.language.as_deref(), &self.csat_link(&signer, row.id));
            body_text = format!("{}\n\n{invitation}", body_text.trim_end());
            body_html = body_html.map(|html| format!("{html}<p>{}</p>", html::escape(&invitation)));
        }
        let new_version = save_state_before_message(&self.db, &tx, row.id, row.version, &state, at).await?;
        let mentioned = if kind == MessageKind::Note { tandem_domain::mention::handles(&body_text) } else { Vec::new() };
        let excerpt = if mentioned.is_empty() { String::new() } else { crate::notifications::excerpt(&body_text) };
        let who = Who::user(actor);
        let id = insert_message(&self.db, &tx, at, NewMessage {
            ticket_id: row.id,
            kind,
            author: &who,
            body_text,
            body_html,
            message_id,
            in_reply_to,
            references,
            delivery_state: delivery,
            ticket_version: new_version,
            mail: None,
            pipeline_pending: false,
            copies: copies.clone(),
        })
        .await?;
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(row.id),
            kind: "message.added",
            field: None,
            before: serde_json::Value::Null,
            after: copies_json(json!({ "message_id": id, "kind": kind }), &copies),
        })
        .await?;
        record_changes(&self.db, &tx.tx, &who, at, row.id, &changes).await?;
        crate::attachments::take_uploads(&self.db, &tx.tx, actor, row.id, id, &input.attachment_ids, at).await?;
        if !mentioned.is_empty() {
            let text = format!("{} mentioned you on #{number} {}: {excerpt}", actor.display_name, row.subject);
            crate::notifications::notify_mentioned(&self.db, &tx.tx, actor, &row, &mentioned, &text, at).await?;
        }
        tx.commit().await?;
        let conn = self.db.connection();
        let message = message_by_id(&self.db, conn, id).await?;
        let ticket = load_ticket(&self.db, conn, number, false).await?.into_proto(self.now_micros())?;
        Ok(proto::MessagePosted { message, ticket })
    }

    /// A customer wrote again on an existing ticket (intake paths: mail, demo data). It wakes
    /// the ticket up (pending, on hold and solved become open; a snooze ends). Trusted caller:
    /// no actor. Closed tickets refuse: intake opens a new ticket linked to the old one.
    pub async fn add_customer_message(&self, number: i64, body_text: &str) -> Result<proto::Message> {
        let body_text = validate::body("body_text", body_text)?;
        let now = self.clock.now();
        let at = to_micros(now);
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        let mut state = row.state()?;
        let changes = ticket::on_customer_message(&mut state, now)?;
        let version = save_state_before_message(&self.db, &tx, row.id, row.version, &state, at).await?;
        let contact = Who { kind: ActorKind::Contact, id: Some(row.contact_id), name: row.contact_name.clone() };
        let id = insert_message(&self.db, &tx, at, NewMessage {
            ticket_id: row.id,
            kind: MessageKind::Inbound,
            author: &contact,
            body_text,
            body_html: None,
            message_id: None,
            in_reply_to: None,
            references: vec![],
            delivery_state: None,
            ticket_version: version,
            mail: None,
            pipeline_pending: false,
            copies: Copies::default(),
        })
        .await?;
        record(&self.db, &tx.tx, &contact, at, NewEvent {
            ticket_id: Some(row.id),
            kind: "message.added",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "message_id": id, "kind": MessageKind::Inbound }),
        })
        .await?;
        record_changes(&self.db, &tx.tx, &contact, at, row.id, &changes).await?;
        tx.commit().await?;
        message_by_id(&self.db, self.db.connection(), id).await
    }

    /// In-Reply-To and References for a reply: the thread of the ticket's mail so far.
    pub(crate) async fn thread_headers<C: ConnectionTrait>(&self, conn: &C, ticket_id: i64) -> Result<(Option<String>, Vec<String>)> {
        #[derive(sea_orm::FromQueryResult)]
        struct Row {
            message_id: Option<String>,
        }
        let rows: Vec<Row> = query_all(
            conn,
            self.db.stmt(
                "SELECT message_id FROM messages WHERE ticket_id = ? AND message_id IS NOT NULL AND kind IN ('inbound', 'reply', 'auto_reply') ORDER BY id",
                vec![ticket_id.into()],
            ),
        )
        .await?;
        let refs: Vec<String> = rows.into_iter().filter_map(|r| r.message_id).collect();
        let refs: Vec<String> = refs.iter().rev().take(20).rev().cloned().collect();
        Ok((refs.last().cloned(), refs))
    }

    pub(crate) async fn inbox_address<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64) -> Result<String> {
        #[derive(sea_orm::FromQueryResult)]
        struct Row {
            address: String,
        }
        let row: Option<Row> = query_one(conn, self.db.stmt("SELECT address FROM inboxes WHERE id = ?", vec![inbox_id.into()])).await?;
        row.map(|r| r.address).ok_or(StoreError::NotFound("inbox"))
    }
}
