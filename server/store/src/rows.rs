//! Rows as the database returns them, and their conversion to wire types.

use sea_orm::FromQueryResult;
use tandem_proto as proto;

use crate::{
    db::{from_micros, opt_from_micros},
    error::{Result, StoreError},
};

/// Parses a stored enum value, reporting corruption instead of panicking.
pub(crate) fn parse<T: std::str::FromStr>(table: &'static str, column: &'static str, value: &str) -> Result<T> {
    value.parse().map_err(|_| StoreError::Corrupt { table, column, detail: format!("unknown value `{value}`") })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(table: &'static str, column: &'static str, value: &str) -> Result<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt { table, column, detail: e.to_string() })
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Declares a row type that is read by position: field `i` is column `i` of its SELECT.
/// sea-orm's derive looks every value up by column name (a hash of the name per value); the
/// ticket list reads 33 columns of 51 rows per request, so its row type skips that. `FIELDS`
/// lets a test hold the SELECT to the field order.
macro_rules! positional_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($field_vis:vis $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        $vis struct $name { $($field_vis $field: $ty,)* }

        impl $name {
            #[cfg(test)]
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        impl FromQueryResult for $name {
            fn from_query_result(row: &sea_orm::QueryResult, _prefix: &str) -> std::result::Result<Self, sea_orm::DbErr> {
                let mut index = 0usize..;
                Ok($name { $($field: row.try_get_by_index(index.next().unwrap_or_default())?,)* })
            }
        }
    };
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, display_name, password_hash, role, language, skills, availability, disabled, created_at";

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub language: String,
    pub skills: String,
    pub availability: String,
    pub disabled: bool,
    pub created_at: i64,
}

impl UserRow {
    pub fn into_proto(self) -> Result<proto::User> {
        Ok(proto::User {
            id: self.id,
            role: parse("users", "role", &self.role)?,
            availability: parse("users", "availability", &self.availability)?,
            skills: parse_json("users", "skills", &self.skills)?,
            email: self.email,
            display_name: self.display_name,
            language: self.language,
            disabled: self.disabled,
            created_at: from_micros(self.created_at),
        })
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct UserRefRow {
    pub id: i64,
    pub display_name: String,
    pub email: String,
}

impl From<UserRefRow> for proto::UserRef {
    fn from(r: UserRefRow) -> Self {
        proto::UserRef { id: r.id, display_name: r.display_name, email: r.email }
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct InboxRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub created_at: i64,
}

impl From<InboxRow> for proto::Inbox {
    fn from(r: InboxRow) -> Self {
        proto::Inbox { id: r.id, name: r.name, address: r.address, created_at: from_micros(r.created_at) }
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct TeamRow {
    pub id: i64,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct ContactRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub company: Option<String>,
    pub created_at: i64,
    pub ticket_count: i64,
}

impl From<ContactRow> for proto::Contact {
    fn from(r: ContactRow) -> Self {
        proto::Contact {
            id: r.id,
            email: r.email,
            name: r.name,
            company: r.company,
            created_at: from_micros(r.created_at),
            ticket_count: r.ticket_count,
        }
    }
}

/// The columns of [`TicketRow`]: the ticket joined with its contact and assignee.
pub(crate) const TICKET_SELECT: &str = "SELECT t.id, t.number, t.subject, t.status, t.priority, t.inbox_id, \
    t.team_id, t.assignee_id, t.contact_id, t.tags, t.category, t.language, t.created_at, t.updated_at, \
    t.first_response_at, t.last_customer_message_at, t.last_agent_message_at, t.solved_at, t.closed_at, \
    t.snoozed_until, t.merged_into, t.version, \
    t.sla_policy_id, sp.name AS sla_policy_name, t.sla_first_response_due, t.sla_next_response_due, t.sla_resolution_due, \
    t.sla_due_at, t.sla_warn_at, \
    c.email AS contact_email, c.name AS contact_name, \
    u.display_name AS assignee_name, u.email AS assignee_email \
    FROM tickets t JOIN contacts c ON c.id = t.contact_id LEFT JOIN users u ON u.id = t.assignee_id \
    LEFT JOIN sla_policies sp ON sp.id = t.sla_policy_id";

positional_row! {
/// A ticket as [`TICKET_SELECT`] reads it.
#[derive(Debug, Clone)]
pub(crate) struct TicketRow {
    pub id: i64,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub contact_id: i64,
    pub tags: String,
    pub category: Option<String>,
    pub language: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_response_at: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    pub last_agent_message_at: Option<i64>,
    pub solved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub merged_into: Option<i64>,
    pub version: i64,
    pub sla_policy_id: Option<i64>,
    pub sla_policy_name: Option<String>,
    pub sla_first_response_due: Option<i64>,
    pub sla_next_response_due: Option<i64>,
    pub sla_resolution_due: Option<i64>,
    pub sla_due_at: Option<i64>,
    pub sla_warn_at: Option<i64>,
    pub contact_email: String,
    pub contact_name: String,
    pub assignee_name: Option<String>,
    pub assignee_email: Option<String>,
}
}

impl TicketRow {
    pub fn state(&self) -> Result<tandem_domain::ticket::TicketState> {
        Ok(tandem_domain::ticket::TicketState {
            number: self.number,
            subject: self.subject.clone(),
            status: parse("tickets", "status", &self.status)?,
            priority: parse("tickets", "priority", &self.priority)?,
            inbox_id: self.inbox_id,
            team_id: self.team_id,
            assignee_id: self.assignee_id,
            tags: parse_json("tickets", "tags", &self.tags)?,
            category: self.category.clone(),
            language: self.language.clone(),
            snoozed_until: opt_from_micros(self.snoozed_until),
            merged_into: self.merged_into,
            first_response_at: opt_from_micros(self.first_response_at),
            last_customer_message_at: opt_from_micros(self.last_customer_message_at),
            last_agent_message_at: opt_from_micros(self.last_agent_message_at),
            solved_at: opt_from_micros(self.solved_at),
            closed_at: opt_from_micros(self.closed_at),
            version: self.version,
        })
    }

    /// The ticket on the wire; `now` (microseconds) places it against its SLA.
    pub fn into_proto(self, now: i64) -> Result<proto::Ticket> {
        let sla = crate::sla::ticket_sla(
            self.sla_policy_id.zip(self.sla_policy_name),
            [self.sla_first_response_due, self.sla_next_response_due, self.sla_resolution_due],
            self.sla_due_at,
            self.sla_warn_at,
            now,
        );
        let assignee = match (self.assignee_id, self.assignee_name, self.assignee_email) {
            (Some(id), Some(display_name), Some(email)) => Some(proto::UserRef { id, display_name, email }),
            _ => None,
        };
        Ok(proto::Ticket {
            number: self.number,
            status: parse("tickets", "status", &self.status)?,
            priority: parse("tickets", "priority", &self.priority)?,
            tags: parse_json("tickets", "tags", &self.tags)?,
            subject: self.subject,
            inbox_id: self.inbox_id,
            team_id: self.team_id,
            assignee,
            contact: proto::ContactRef { id: self.contact_id, email: self.contact_email, name: self.contact_name },
            category: self.category,
            language: self.language,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
            first_response_at: opt_from_micros(self.first_response_at),
            last_customer_message_at: opt_from_micros(self.last_customer_message_at),
            last_agent_message_at: opt_from_micros(self.last_agent_message_at),
            solved_at: opt_from_micros(self.solved_at),
            closed_at: opt_from_micros(self.closed_at),
            snoozed_until: opt_from_micros(self.snoozed_until),
            merged_into: self.merged_into,
            sla,
            version: self.version,
        })
    }
}

pub(crate) const MESSAGE_SELECT: &str = "SELECT m.id, t.number AS ticket_number, m.kind, m.author_kind, \
    m.author_id, m.author_name, m.body_text, m.body_html, m.message_id, m.in_reply_to, m.references_json, \
    m.delivery_state, m.delivery_error, m.mail_json, m.cc_json, m.bcc_json, m.ticket_version, m.created_at \
    FROM messages m JOIN tickets t ON t.id = m.ticket_id";

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct MessageRow {
    pub id: i64,
    pub ticket_number: i64,
    pub kind: String,
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references_json: String,
    pub delivery_state: Option<String>,
    pub delivery_error: Option<String>,
    pub mail_json: Option<String>,
    pub cc_json: String,
    pub bcc_json: String,
    pub ticket_version: i64,
    pub created_at: i64,
}

impl MessageRow {
    pub fn into_proto(self, attachments: Vec<proto::Attachment>) -> Result<proto::Message> {
        Ok(proto::Message {
            id: self.id,
            ticket_number: self.ticket_number,
            kind: parse("messages", "kind", &self.kind)?,
            author: proto::Actor {
                kind: parse("messages", "author_kind", &self.author_kind)?,
                id: self.author_id,
                name: self.author_name,
            },
            body_text: self.body_text,
            body_html: self.body_html,
            message_id: self.message_id,
            in_reply_to: self.in_reply_to,
            references: parse_json("messages", "references_json", &self.references_json)?,
            attachments,
            delivery_state: self.delivery_state.as_deref().map(|s| parse("messages", "delivery_state", s)).transpose()?,
            delivery_error: self.delivery_error,
            mail: self.mail_json.as_deref().map(|j| parse_json("messages", "mail_json", j)).transpose()?,
            cc: parse_json("messages", "cc_json", &self.cc_json)?,
            bcc: parse_json("messages", "bcc_json", &self.bcc_json)?,
            created_at: from_micros(self.created_at),
        })
    }
}

/// Attachments as [`AttachmentRow`] reads them (alias `a`).
pub(crate) const ATTACHMENT_SELECT: &str = "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256 FROM attachments a";

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct AttachmentRow {
    pub id: i64,
    pub message_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

impl From<AttachmentRow> for proto::Attachment {
    fn from(r: AttachmentRow) -> Self {
        proto::Attachment { id: r.id, filename: r.filename, content_type: r.content_type, size: r.size, sha256: r.sha256 }
    }
}

pub(crate) const EVENT_SELECT: &str = "SELECT e.id, t.number AS ticket_number, e.actor_kind, e.actor_id, \
    e.actor_name, e.kind, e.field, e.before_json, e.after_json, e.created_at \
    FROM events e LEFT JOIN tickets t ON t.id = e.ticket_id";

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct EventRow {
    pub id: i64,
    pub ticket_number: Option<i64>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub kind: String,
    pub field: Option<String>,
    pub before_json: String,
    pub after_json: String,
    pub created_at: i64,
}

impl EventRow {
    pub fn into_proto(self) -> Result<proto::Event> {
        Ok(proto::Event {
            id: self.id,
            ticket_number: self.ticket_number,
            actor: proto::Actor {
                kind: parse("events", "actor_kind", &self.actor_kind)?,
                id: self.actor_id,
                name: self.actor_name,
            },
            kind: self.kind,
            field: self.field,
            before: parse_json("events", "before_json", &self.before_json)?,
            after: parse_json("events", "after_json", &self.after_json)?,
            created_at: from_micros(self.created_at),
        })
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<TemplateRow> for proto::Template {
    fn from(r: TemplateRow) -> Self {
        proto::Template {
            id: r.id,
            name: r.name,
            subject: r.subject,
            body: r.body,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        }
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct IdRow {
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names a SELECT gives its columns, in order: the alias after `AS`, else the column
    /// without its table.
    fn selected_columns(select: &str) -> Vec<String> {
        let list = select.trim_start_matches("SELECT ").split(" FROM ").next().unwrap_or_default();
        list.split(", ")
            .map(|c| c.trim())
            .map(|c| c.rsplit(" AS ").next().unwrap_or(c))
            .map(|c| c.rsplit('.').next().unwrap_or(c).to_owned())
            .collect()
    }

    #[test]
    fn ticket_select_lists_the_row_fields_in_order() {
        assert_eq!(selected_columns(TICKET_SELECT), TicketRow::FIELDS);
    }
}
