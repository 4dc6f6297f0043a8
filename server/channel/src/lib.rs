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

/// What "test connection" answers when the inbox names no server: there is nothing to connect
/// to (rather than a resolver's error about an empty host name).
fn no_server(protocol: &str) -> tandem_proto::ConnectionTest {
    let advice = format!("no {protocol} server is set: enter its host (and port, TLS, user and password) in the inbox's mail settings, save, then test again");
    tandem_proto::ConnectionTest { ok: false, transcript: vec![advice], duration_ms: 0 }
}
