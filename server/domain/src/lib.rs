//! Tandem's domain: the rules of a shared-inbox helpdesk, free of I/O.
//!
//! Nothing here knows about HTTP or SQL. The storage layer loads state, asks these functions
//! what a change means (is it allowed, which fields move, which events to record) and writes
//! the answer in one transaction. That keeps every rule testable in microseconds.
//!
//! - [`policy`]: who may do what — the one place where permissions are decided.
//! - [`ticket`]: status transitions, field updates and their audit changes, merge and split rules.
//! - [`guard`]: the send guard ("traffic cop") that stops a reply written against stale state.
//! - [`html`]: sanitising HTML bodies (ammonia) so they are safe to show.
//! - [`template`]: canned responses rendered with MiniJinja.
//! - [`recipients`]: who besides the contact a reply goes to (Cc, Bcc; reply all by default).
//! - [`validate`]: normalisation of emails, tags, names and texts.
//! - [`view`]: what a saved view's name and filter must be.
//! - [`search`]: the search query language, text folding and stemming, highlighting.
//! - [`csat`]: signed customer-satisfaction links.
//! - [`report`]: duration histograms and percentiles, days and weeks, the backlog series.
//! - [`sla`]: service-level policies, business-hours calendars, due times and alerts.
//! - [`clock`]: the injected clock.

pub mod actor;
pub mod clock;
pub mod csat;
pub mod error;
pub mod guard;
pub mod html;
pub mod mention;
pub mod policy;
pub mod recipients;
pub mod report;
pub mod search;
pub mod sla;
pub mod template;
pub mod ticket;
pub mod validate;
pub mod view;

pub use actor::Actor;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::DomainError;
