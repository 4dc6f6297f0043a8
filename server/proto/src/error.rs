use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Message;

/// Every error response has this shape: `{ "error": { "code", "message", "field"? } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `conflict`, `validation`.
    pub code: String,
    /// Human-readable explanation, lowercase, no trailing period.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On a collision (409 from a reply, a note or an update): what the caller has not seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
}

/// What changed on a ticket since the version the caller saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// The ticket's version now: send this back once the caller has looked at the news.
    pub current_version: i64,
    /// Replies, notes and customer messages added after the version the caller saw.
    pub unseen_messages: Vec<Message>,
    pub updated_at: DateTime<Utc>,
}

/// Stable error codes.
pub mod codes {
    pub const BAD_REQUEST: &str = "bad_request";
    pub const VALIDATION: &str = "validation";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_FOUND: &str = "not_found";
    pub const CONFLICT: &str = "conflict";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
}
