use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::CsatRating;

/// A customer's rating of a solved ticket (through the link in the reply that solved it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Satisfaction {
    pub rating: CsatRating,
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
    /// Until then the same link may change the rating.
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/csat/{token}` (and the public page's form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateTicket {
    pub rating: CsatRating,
    /// At most 2,000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}
