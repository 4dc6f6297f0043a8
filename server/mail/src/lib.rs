//! Tandem's mail logic, without any I/O: what an inbound RFC 5322 message means for the
//! helpdesk, and how an outbound one is written.
//!
//! - [`parse`] turns raw bytes into an [`Inbound`]: addresses, threading keys, a plain text body
//!   (always), sanitised HTML (remote content blocked, and allowed as a separate variant),
//!   attachments within [`Limits`], and what kind of mail it is ([`Nature`]: a person, an
//!   auto-reply, bulk/list mail, or a bounce with its delivery-status report).
//! - [`tnef`] unpacks the files (and a plain-text body) inside an Outlook `winmail.dat`, which
//!   `parse` lists as the message's attachments.
//! - [`thread`] holds the keys a message is matched to a ticket by: Message-IDs, our
//!   plus-addressed Reply-To (`support+t1234@…`) and the subject token (`[#1234]`).
//! - [`outbound`] builds the MIME message for a reply or an auto-reply.
//!
//! Nothing here knows about tickets in the database, IMAP or SMTP: the store applies an
//! `Inbound`, the channel crate moves bytes.

pub mod html;
pub mod nature;
pub mod outbound;
mod parse;
pub mod tnef;
pub mod quote;
pub mod thread;

pub use nature::{Bounce, Nature};
pub use parse::{Attachment, Forwarded, Inbound, Limits, MailAddress, Skipped, clean_filename, content_hash, normalize_line_endings, parse, peek_message_id};

/// Why a message could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("no mail header (From, To, Subject, Date, Message-ID…) could be read from the message")]
    NoHeaders,
}
