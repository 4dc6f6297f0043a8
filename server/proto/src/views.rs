//! Saved views: a user's named ticket-list filters, kept on the server so they follow the
//! user to every browser (`/api/v1/me/views`). Supervisors and admins may share theirs with
//! everyone: a shared view is in every user's list, and lists for each of them the tickets
//! they may see.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{SlaView, TicketSort};

/// What a saved view lists: the filters of `GET /api/v1/tickets` (same meaning and syntax),
/// without paging. Absent fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ViewFilter {
    /// One status or several, comma-separated (`open,pending`).
    #[serde(default)]
    pub status: Option<String>,
    /// One priority or several, comma-separated.
    #[serde(default)]
    pub priority: Option<String>,
    /// A user id, `me` (whoever uses the view) or `none`.
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub inbox: Option<i64>,
    #[serde(default)]
    pub team: Option<i64>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub snoozed: Option<bool>,
    #[serde(default)]
    pub sla: Option<SlaView>,
    #[serde(default)]
    pub sort: Option<TicketSort>,
}

/// A saved view: one of the signed-in user's, or one someone shared with everyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    pub filter: ViewFilter,
    /// Place among its owner's views, from 0.
    pub position: i64,
    pub created_at: DateTime<Utc>,
    /// Shown to everyone.
    #[serde(default)]
    pub shared: bool,
    /// Who saved it (the caller for their own views).
    #[serde(default)]
    pub owner_id: i64,
    #[serde(default)]
    pub owner_name: String,
}

/// `POST /api/v1/me/views`: the new view goes last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSavedView {
    pub name: String,
    pub filter: ViewFilter,
    /// Share it with everyone (supervisors and admins).
    #[serde(default)]
    pub shared: bool,
}

/// `PATCH /api/v1/me/views/{id}`: rename, change the filter, move (0 = first), share. Only
/// the owner changes a view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateSavedView {
    pub name: Option<String>,
    pub filter: Option<ViewFilter>,
    pub position: Option<i64>,
    /// Share it with everyone (supervisors and admins) or stop sharing it.
    pub shared: Option<bool>,
}
