use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ActorKind, ContactRef, DeliveryState, ErrorDetail, MessageKind, Priority, SlaView, TicketSort,
    TicketStatus, UserRef,
};

/// A ticket as lists and the ticket page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    /// The human number (`#1001`): sequential, never reused. URLs use it.
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub assignee: Option<UserRef>,
    pub contact: ContactRef,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub first_response_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub last_customer_message_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub last_agent_message_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub solved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Set when this ticket was merged: the number of the ticket that absorbed it.
    pub merged_into: Option<i64>,
    /// The service level that applies, if an SLA policy matches.
    #[serde(default)]
    pub sla: Option<crate::TicketSla>,
    /// Optimistic concurrency: send it back with every change.
    pub version: i64,
}

/// `GET /api/v1/tickets/{number}`: the ticket with its conversation and timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub messages: Vec<Message>,
    pub events: Vec<Event>,
    /// The customer's rating, given through the link in the reply that solved the ticket.
    #[serde(default)]
    pub satisfaction: Option<crate::Satisfaction>,
    /// Whom a reply copies unless the agent changes it ([`PostMessage::cc`] left out): everyone
    /// on the customer's latest mail (its sender, To and Cc) but the contact and this desk's
    /// own addresses.
    #[serde(default)]
    pub reply_cc: Vec<crate::MailAddress>,
}

/// Who wrote a message or did an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub kind: ActorKind,
    /// Contact or user id; absent for plugins and the system.
    pub id: Option<i64>,
    /// Display name (a plugin's name for plugins).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub ticket_number: i64,
    pub kind: MessageKind,
    pub author: Actor,
    pub body_text: String,
    /// Sanitised HTML, safe to insert into a page.
    pub body_html: Option<String>,
    /// Email threading headers.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub attachments: Vec<Attachment>,
    /// Outbound messages only (replies, auto-replies).
    pub delivery_state: Option<DeliveryState>,
    pub delivery_error: Option<String>,
    /// What came with an email (inbound mail only): addresses, remote content, folded quotes,
    /// parts not stored separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<crate::MailInfo>,
    /// Replies only: who got a copy besides the ticket's contact (the mail's Cc), and blind
    /// copies (sent, but not named in the mail; shown here to the team only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<crate::MailAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<crate::MailAddress>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Content address of the blob (hex SHA-256).
    pub sha256: String,
}

/// `POST /api/v1/tickets/{number}/uploads`: a file attached in the composer, not sent yet.
/// A reply or note takes it with `attachment_ids`; unsent uploads are dropped after a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upload {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// One entry of the append-only audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub ticket_number: Option<i64>,
    pub actor: Actor,
    /// What happened, e.g. `ticket.created`, `ticket.updated`, `message.added`, `user.created`.
    pub kind: String,
    /// The field that changed, for updates.
    pub field: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The customer a new ticket is on behalf of; found by email or created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub email: String,
    pub name: Option<String>,
}

/// `POST /api/v1/tickets`: a new inbound message on behalf of a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub inbox_id: i64,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub contact: ContactInput,
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub language: Option<String>,
}

/// `PATCH /api/v1/tickets/{number}`: absent fields stay; `null` clears nullable ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    /// The version the caller saw; 409 if the ticket changed since.
    pub version: i64,
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub inbox_id: Option<i64>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub team_id: Option<Option<i64>>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub assignee_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub category: Option<Option<String>>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub language: Option<Option<String>>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
}

/// `POST /api/v1/tickets/{number}/replies` and `/notes`.
///
/// The send guard: `seen_version` (the ticket version the author looked at) or
/// `last_seen_message_id` must be given. If a reply, note or customer message arrived since,
/// the answer is 409 with the unseen messages, and nothing is sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    pub body_text: String,
    pub body_html: Option<String>,
    pub seen_version: Option<i64>,
    pub last_seen_message_id: Option<i64>,
    /// Send-and-set-status (replies only), e.g. `pending` or `solved`.
    pub set_status: Option<TicketStatus>,
    /// Uploads of this ticket by the caller (`POST …/uploads`) to attach; a reply mails them.
    #[serde(default)]
    pub attachment_ids: Vec<i64>,
    /// Replies: copies (Cc), each `ann@example.com` or `Ann Lee <ann@example.com>`, at most
    /// 50. Left out: reply all — the copies of [`TicketDetail::reply_cc`]; `[]`: none. Not the
    /// contact (the reply's To) nor this desk's own addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Vec<String>>,
    /// Replies: blind copies (sent, not named in the mail), as `cc`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
}

/// `POST /api/v1/tickets/{number}/assign`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignTicket {
    /// `null` unassigns.
    pub assignee_id: Option<i64>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub team_id: Option<Option<i64>>,
    /// Optional: when given, 409 if the ticket changed since.
    pub version: Option<i64>,
}

/// `POST /api/v1/tickets/{number}/merge`: this ticket is merged into `into`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MergeTicket {
    /// Number of the surviving ticket.
    pub into: i64,
}

/// `POST /api/v1/tickets/{number}/split`: move one message into a new ticket for the same
/// contact; both tickets link to each other in their timelines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SplitTicket {
    pub message_id: i64,
    /// Subject of the new ticket; defaults to the old one's.
    pub subject: Option<String>,
}

/// `POST /api/v1/tickets/bulk`: the same change applied to many tickets, each in its own
/// transaction. Tickets the caller may not change are reported, not silently skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    pub numbers: Vec<i64>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub assignee_id: Option<Option<i64>>,
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub team_id: Option<Option<i64>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// `POST /api/v1/tickets/bulk-reply`: one reply to every selected ticket (an incident notice),
/// each copied as a reply written on that ticket would be ([`TicketDetail::reply_cc`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkReply {
    pub numbers: Vec<i64>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub set_status: Option<TicketStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkResult {
    pub succeeded: Vec<i64>,
    pub failed: Vec<BulkFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkFailure {
    pub number: i64,
    pub error: ErrorDetail,
}

/// Query of `GET /api/v1/tickets`. Every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// One status or several, comma-separated (`open,pending`).
    pub status: Option<String>,
    pub inbox: Option<i64>,
    pub team: Option<i64>,
    /// A user id, `me` or `none`.
    pub assignee: Option<String>,
    pub tag: Option<String>,
    /// One priority or several, comma-separated.
    pub priority: Option<String>,
    pub contact: Option<i64>,
    /// `true`: only tickets snoozed until a time still ahead; `false`: only tickets that are
    /// not (never snoozed, or the snooze has passed).
    pub snoozed: Option<bool>,
    /// `breached` (a due time has passed) or `at_risk` (a warning was due, no breach yet).
    pub sla: Option<SlaView>,
    pub sort: Option<TicketSort>,
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// Answer to a reply or note: the new message and the ticket as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePosted {
    pub message: Message,
    pub ticket: Ticket,
}
