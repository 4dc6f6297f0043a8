//! Merging two tickets and splitting a message off into a new ticket.

use sea_orm::ConnectionTrait;
use serde_json::json;
use tandem_domain::{Actor, policy::Action, ticket};
use tandem_proto::{self as proto, MessageKind};

use super::{
    authorize_ticket, load_ticket,
    write::{Copies, NewMessage, insert_message, next_number, save_state, write_tags},
};
use crate::{
    Store,
    db::{query_one, to_micros},
    error::{Result, StoreError},
    events::{NewEvent, Who, record, record_changes},
    rows::{IdRow, json as to_json},
};

impl Store {
    /// Merges ticket `number` into `into`: its messages move to the survivor, it is closed and
    /// points to the survivor, and both timelines say so.
    pub async fn merge_tickets(&self, actor: &Actor, number: i64, into: i64) -> Result<proto::Ticket> {
        let now = self.clock.now();
        let at = to_micros(now);
        let tx = self.db.write().await?;
        // Lock in number order so two opposite merges cannot deadlock.
        let (first, second) = if number < into { (number, into) } else { (into, number) };
        let a = load_ticket(&self.db, &tx.tx, first, true).await?;
        let b = load_ticket(&self.db, &tx.tx, second, true).await
            .map_err(|e| if second == into { StoreError::validation("into", format!("no ticket #{into}")) } else { e })?;
        let (source, target) = if a.number == number { (a, b) } else { (b, a) };
        authorize_ticket(actor, &source, Action::WorkTicket { inbox_id: source.inbox_id })?;
        if !actor.belongs_to(target.inbox_id) {
            return Err(StoreError::validation("into", format!("no ticket #{into}")));
        }
        tandem_domain::policy::authorize(actor, Action::WorkTicket { inbox_id: target.inbox_id })?;
        let mut source_state = source.state()?;
        let mut target_state = target.state()?;
        let (source_changes, target_changes) = ticket::merge(&mut source_state, &mut target_state, now)?;
        tx.tx
            .execute_raw(self.db.stmt("UPDATE messages SET ticket_id = ? WHERE ticket_id = ?", vec![target.id.into(), source.id.into()]))
            .await?;
        let source_version = save_state(&self.db, &tx, source.id, source.version, &source_state, at, false).await?;
        let target_version = save_state(&self.db, &tx, target.id, target.version, &target_state, at, true).await?;
        let who = Who::user(actor);
        let system = Who::system();
        for (ticket_id, version, text) in [
            (source.id, source_version, format!("Merged into #{into} by {}.", actor.display_name)),
            (target.id, target_version, format!("Ticket #{number} was merged into this one by {}.", actor.display_name)),
        ] {
            insert_message(&self.db, &tx, at, NewMessage {
                ticket_id,
                kind: MessageKind::System,
                author: &system,
                body_text: text,
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
        }
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(source.id), kind: "ticket.merged", field: None,
            before: serde_json::Value::Null, after: json!({ "into": into }),
        })
        .await?;
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(target.id), kind: "ticket.absorbed", field: None,
            before: serde_json::Value::Null, after: json!({ "from": number }),
        })
        .await?;
        record_changes(&self.db, &tx.tx, &who, at, source.id, &source_changes).await?;
        record_changes(&self.db, &tx.tx, &who, at, target.id, &target_changes).await?;
        tx.commit().await?;
        load_ticket(&self.db, self.db.connection(), into, false).await?.into_proto(self.now_micros())
    }

    /// Moves one customer message of ticket `number` into a new ticket for its author.
    pub async fn split_ticket(&self, actor: &Actor, number: i64, input: proto::SplitTicket) -> Result<proto::Ticket> {
        let now = self.clock.now();
        let at = to_micros(now);
        let tx = self.db.write().await?;
        let row = load_ticket(&self.db, &tx.tx, number, true).await?;
        authorize_ticket(actor, &row, Action::WorkTicket { inbox_id: row.inbox_id })?;
        if let Some(into) = row.merged_into {
            return Err(StoreError::Domain(tandem_domain::DomainError::State(format!("ticket #{number} was merged into #{into}"))));
        }
        #[derive(sea_orm::FromQueryResult)]
        struct Msg {
            kind: String,
            author_kind: String,
            author_id: Option<i64>,
            others: i64,
        }
        let msg: Option<Msg> = query_one(
            &tx.tx,
            self.db.stmt(
                "SELECT kind, author_kind, author_id, \
                 (SELECT COUNT(*) FROM messages o WHERE o.ticket_id = m.ticket_id AND o.id <> m.id AND o.kind IN ('inbound', 'reply', 'note')) AS others \
                 FROM messages m WHERE m.id = ? AND m.ticket_id = ?",
                vec![input.message_id.into(), row.id.into()],
            ),
        )
        .await?;
        let msg = msg.ok_or_else(|| StoreError::validation("message_id", format!("ticket #{number} has no message {}", input.message_id)))?;
        if msg.kind != MessageKind::Inbound.as_str() {
            return Err(StoreError::validation("message_id", "only customer messages can be split into a new ticket"));
        }
        if msg.others == 0 {
            return Err(StoreError::validation("message_id", "this is the ticket's only message: nothing would remain"));
        }
        let subject = match input.subject {
            Some(s) => tandem_domain::validate::text("subject", &s, tandem_domain::validate::MAX_SUBJECT_CHARS)?,
            None => row.subject.clone(),
        };
        let contact_id = if msg.author_kind == "contact" { msg.author_id.unwrap_or(row.contact_id) } else { row.contact_id };
        let new_number = next_number(&self.db, &tx.tx).await?;
        let tags = row.state()?.tags;
        let created: Option<IdRow> = query_one(
            &tx.tx,
            self.db.stmt(
                "INSERT INTO tickets (number, subject, status, priority, inbox_id, team_id, contact_id, tags, category, language, \
                 created_at, updated_at, last_customer_message_at, version) \
                 VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
                vec![
                    new_number.into(),
                    subject.clone().into(),
                    row.priority.clone().into(),
                    row.inbox_id.into(),
                    row.team_id.into(),
                    contact_id.into(),
                    to_json(&tags).into(),
                    row.category.clone().into(),
                    row.language.clone().into(),
                    at.into(),
                    at.into(),
                    at.into(),
                ],
            ),
        )
        .await?;
        let new_id = created.ok_or(StoreError::NotFound("ticket"))?.id;
        write_tags(&self.db, &tx.tx, new_id, &tags).await?;
        tx.tx
            .execute_raw(self.db.stmt("UPDATE messages SET ticket_id = ?, ticket_version = 1 WHERE id = ?", vec![new_id.into(), input.message_id.into()]))
            .await?;
        tx.index_at_commit(new_id);
        // The old ticket's conversation changed: bump its version so open composers notice.
        save_state(&self.db, &tx, row.id, row.version, &row.state()?, at, false).await?;
        let who = Who::user(actor);
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(row.id), kind: "ticket.split", field: None,
            before: json!({ "message_id": input.message_id }), after: json!({ "new_ticket": new_number }),
        })
        .await?;
        record(&self.db, &tx.tx, &who, at, NewEvent {
            ticket_id: Some(new_id), kind: "ticket.created", field: None,
            before: json!({ "split_from": number, "message_id": input.message_id }),
            after: json!({ "number": new_number, "subject": subject, "inbox_id": row.inbox_id, "contact_id": contact_id, "via": "split" }),
        })
        .await?;
        tx.commit().await?;
        load_ticket(&self.db, self.db.connection(), new_number, false).await?.into_proto(self.now_micros())
    }
}
