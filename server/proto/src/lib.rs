//! Wire types of Tandem's REST API (`/api/v1`).
//!
//! This crate is shared by the server (`tandem-api`) and the browser UI (`tandem-web`), so it
//! holds plain data only: no I/O, no framework types. Request bodies reject unknown fields so a
//! typo in an integration fails loudly instead of being ignored.

mod auth;
mod csat;
mod directory;
#[macro_use]
mod enums;
mod error;
mod live;
mod mail;
mod page;
mod plugins;
mod reports;
mod search;
mod sla;
mod templates;
mod tickets;
pub mod timestamp;
mod views;

pub use auth::*;
pub use csat::*;
pub use directory::*;
pub use enums::*;
pub use error::*;
pub use live::*;
pub use mail::*;
pub use page::*;
pub use plugins::*;
pub use reports::*;
pub use search::*;
pub use sla::*;
pub use templates::*;
pub use tickets::*;
pub use views::*;

/// Timestamps on the wire are RFC 3339 in UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
