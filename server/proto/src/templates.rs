use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};



/// A canned response. `subject` and `body` are MiniJinja templates with the variables
/// `contact.*`, `ticket.*`, `agent.*` and `inbox.*`, e.g. `Hello {{ contact.name }}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    pub name: String,
    #[serde(default)]
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    pub name: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
}

/// `POST /api/v1/templates/preview`: render a saved template (`template_id`) or a draft
/// (`subject` + `body`) against a ticket, or against sample data when no ticket is given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    pub template_id: Option<i64>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub ticket_number: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenderedTemplate {
    pub subject: String,
    pub body: String,
}
