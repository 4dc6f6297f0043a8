use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::{CsatRating, CsatScale};

/// A customer's rating of a solved ticket (through the link in the reply that solved it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Satisfaction {
    pub rating: CsatRating,
    /// 1 to 5 when the inbox rates on five points.
    #[serde(default)]
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// What a satisfaction link shows: the ticket it rates and the rating so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsatForm {
    pub ticket_number: i64,
    pub subject: String,
    /// The ticket's language (`en`, `ru`, `pl`, `fr`), for the page.
    pub language: Option<String>,
    pub current: Option<Satisfaction>,
    /// Good / okay / bad, or 1 to 5.
    #[serde(default)]
    pub scale: CsatScale,
    /// Until then the same link may change the rating.
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/csat/{token}` (and the public page's form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateTicket {
    /// Good / okay / bad; or give `score` instead.
    #[serde(default)]
    pub rating: Option<CsatRating>,
    /// 1 to 5, on an inbox that rates on five points.
    #[serde(default)]
    pub score: Option<i64>,
    /// At most 2,000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}
