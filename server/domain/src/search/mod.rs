//! Full-text search, the engine-independent half: the query language ([`query`]), how text
//! becomes terms ([`text`]: folding case and accents, Snowball stems for English, French,
//! Polish and Russian), ranking ([`rank`]) and highlighting ([`highlight`]). The storage layer feeds the same
//! terms to SQLite FTS5 or PostgreSQL full-text search, so both find the same tickets.

pub mod highlight;
pub mod query;
pub mod rank;
pub mod text;

pub use highlight::{Excerpt, Matcher, Piece};
pub use query::{AssigneeRef, Filters, FromRef, QueryError, SearchQuery, Term};
