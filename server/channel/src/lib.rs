//! Tandem's email channel: everything that moves mail bytes.
//!
//! - [`Intake`] is the one path every raw inbound message takes, whatever brought it (IMAP, the
//!   raw-message API, an mbox import): record the raw bytes first, parse, apply in one
//!   transaction, then run the plugin pipeline on new customer messages.
//! - [`imap`] keeps one supervised task per inbox: UID-tracked import, IDLE when the server
//!   has it (polling otherwise), reconnects with backoff.
//! - [`smtp`] delivers the outbox with lettre, with retries and backoff.
//! - [`Channel::start`] runs all of it and restarts an inbox's worker when its settings change.

mod error;
pub mod imap;
mod intake;
pub mod smtp;
mod supervisor;
mod tls;

pub use error::ChannelError;
pub use intake::{Intake, PipelineQueue, Received};
pub use supervisor::{Channel, ChannelSettings};
