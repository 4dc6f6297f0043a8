use serde::{Deserialize, Serialize};

use crate::{MessageKind, Ticket};

/// Query of `GET /api/v1/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words, `"exact phrases"`, `-excluded` words and filters: `status:open,pending`,
    /// `priority:high`, `assignee:me|none|EMAIL`, `tag:billing`, `from:acme.com` or
    /// `from:anna@acme.com`, `inbox:ID|NAME`, `team:ID|NAME`. At most 500 characters.
    pub q: String,
    /// Hits to skip (from `next_offset` of the previous page).
    pub offset: Option<u32>,
    /// Hits per page: 1 to 100, default 25.
    pub limit: Option<u32>,
}

/// One page of search results, best match first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Matching tickets ranked; when `more_than_total`, at least this many match: the
    /// ranking looks at the newest matches only (see ARCHITECTURE.md), narrow the search to
    /// reach older ones.
    pub total: u32,
    pub more_than_total: bool,
    /// Pass as `offset` for the next page; absent on the last one.
    pub next_offset: Option<u32>,
}

/// A matching ticket, with what matched marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub ticket: Ticket,
    /// The subject in pieces when it matched.
    pub subject: Option<Vec<Highlight>>,
    /// An excerpt of the first message that matched, if the match is in a message.
    pub excerpt: Option<SearchExcerpt>,
}

/// A short excerpt of a message around its first matching word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchExcerpt {
    pub message_id: i64,
    pub kind: MessageKind,
    pub author_name: String,
    pub pieces: Vec<Highlight>,
    /// The message goes on before / after the excerpt.
    pub cut_before: bool,
    pub cut_after: bool,
}

/// Plain text; `hit` marks a word that matched. Never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Highlight {
    pub text: String,
    pub hit: bool,
}
