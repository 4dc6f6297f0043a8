//! Service-level agreements, without I/O: which policy applies to a ticket ([`policy`]), how
//! business hours turn a target into a due time ([`calendar`]), what a ticket owes and when
//! ([`clock`]), and which warnings and breaches are due ([`alerts`]).
//!
//! Times are microseconds since the Unix epoch, like every stored timestamp.

pub mod alerts;
pub mod calendar;
pub mod clock;
pub mod policy;

pub use alerts::{Alert, AlertKind, Plan, plan};
pub use calendar::{BusinessCalendar, Hours};
pub use clock::{Progress, SlaClock};
pub use policy::{Policy, TicketFacts, select};

/// Microseconds in a minute.
pub const MINUTE: i64 = 60_000_000;
