//! The email channel's storage: inbox mail settings, IMAP progress, the intake log of raw
//! inbound messages and how a parsed message becomes part of a ticket, the outbox, and
//! notifications waiting to be mailed.
//!
//! Intake is two steps, so that no message is ever lost: [`Store::record_inbound`] writes the
//! raw bytes (content-addressed, synced) and records them, committed before anything parses
//! them; [`Store::apply_inbound`] then applies the parsed message in one transaction. A crash
//! between the two leaves a `received` entry that [`Store::pending_inbound`] hands back.

pub mod intake;
pub mod notify;
pub mod outbox;
mod queue;
pub mod settings;

pub use intake::{GroupApplied, IntakeOutcome, Recorded};
pub use notify::NotificationMail;
pub use outbox::{OutboxJob, OutboxResult};
pub use settings::{ImapAccount, ImapFolderState, SmtpAccount};
