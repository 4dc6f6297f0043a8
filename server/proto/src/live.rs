//! The live channel: one WebSocket per browser tab (`GET /api/v1/live`), JSON text frames.
//!
//! The server pushes [`LiveEvent`]s (ticket changes and presence); the client sends
//! [`LiveCommand`]s (which ticket it is looking at, whether its user is typing). Everything a
//! live event says can also be read through the REST API: events only tell the client *what*
//! to refetch, so a client that misses some (reconnect) just reloads what it shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// First frame after connecting.
    Hello {
        /// This connection's id (presence entries carry it, so a tab can tell itself apart
        /// from the same user's other tabs).
        connection_id: u64,
    },
    /// Something happened to a ticket the user may see (audit events, in order).
    TicketChanged {
        number: i64,
        inbox_id: i64,
        /// The id of the newest audit event behind this notice.
        event_id: i64,
        /// Event kinds, e.g. `message.added`, `ticket.updated`, `ticket.assigned`.
        kinds: Vec<String>,
    },
    /// Who is looking at a ticket right now (sent to everyone who views it, whenever it
    /// changes, and once to a connection that starts viewing it).
    Presence { number: i64, viewers: Vec<Viewer> },
}

/// Someone viewing a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Viewer {
    pub connection_id: u64,
    pub user_id: i64,
    pub display_name: String,
    /// Typing a reply or a note right now.
    pub typing: bool,
    pub since: DateTime<Utc>,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LiveCommand {
    /// The tab now shows this ticket (`null`: no ticket).
    Viewing { number: Option<i64> },
    /// The user started or stopped typing on the ticket being viewed.
    Typing { typing: bool },
}

/// `GET /api/v1/tickets/counts`: sizes of the sidebar views, among the tickets the user may
/// see. Merged tickets are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewCounts {
    /// Active (new, open, pending, on hold) and not assigned to anyone.
    pub unassigned: i64,
    /// Active and assigned to the caller.
    pub mine: i64,
    /// Status new or open.
    pub open: i64,
    pub pending: i64,
    /// Active with `snoozed_until` in the future.
    pub snoozed: i64,
    /// Active with an SLA due time passed.
    #[serde(default)]
    pub breached: i64,
    /// Active inside an SLA warning margin, not breached.
    #[serde(default)]
    pub at_risk: i64,
    pub solved: i64,
    /// Active tickets per inbox, by inbox id; inboxes without any are left out.
    pub inboxes: Vec<ViewCount>,
    /// Active tickets per team, by team id; teams without any are left out.
    pub teams: Vec<ViewCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewCount {
    pub id: i64,
    pub count: i64,
}
