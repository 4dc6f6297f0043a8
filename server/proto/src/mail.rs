//! The email channel on the wire: inbox mail settings (secrets are write-only), the intake
//! log of raw messages, and what an email message carries besides its body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// How a connection to a mail server is secured.
    TlsMode {
        /// TLS from the first byte (IMAPS 993, SMTPS 465).
        Implicit => "implicit",
        /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587).
        Starttls => "starttls",
        /// No encryption: accepted only for servers on loopback.
        None => "none",
    }
}

wire_enum! {
    /// What intake does on the IMAP server once a message is safely stored.
    AfterImport {
        /// Set the `\Seen` flag.
        Seen => "seen",
        /// Move the message to `move_to`.
        Move => "move",
        /// Leave it as it is (Tandem tracks UIDs, not flags).
        Leave => "leave",
    }
}

wire_enum! {
    /// Which of the mail already in a folder is imported the first time Tandem reads it (a
    /// newly connected mailbox, a folder added later). Mail arriving after that is always
    /// imported; a folder read before keeps its place whatever this says.
    ExistingMail {
        /// Everything in the folder.
        All => "all",
        /// The mail that arrived in the last `recent_days` days (the server's arrival date),
        /// and everything after the first such message.
        Recent => "recent",
        /// None: only mail arriving from now on.
        None => "none",
    }
}

wire_enum! {
    /// What became of a raw inbound message.
    IntakeState {
        /// Stored, not processed yet (processing resumes after a restart).
        Received => "received",
        /// Opened a new ticket.
        Ticket => "ticket",
        /// Added to an existing ticket.
        Reply => "reply",
        /// An automatic reply that matched no ticket: recorded, no ticket opened.
        AutoReply => "auto_reply",
        /// A delivery failure report: the failed outbound message is marked.
        Bounce => "bounce",
        /// Mail Tandem itself sent, coming back: ignored.
        Loop => "loop",
        /// Could not be read; the raw message is kept.
        Unparseable => "unparseable",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImapSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    /// Whether a password is stored (it is never returned).
    pub password_set: bool,
    pub folders: Vec<String>,
    pub after_import: AfterImport,
    pub move_to: Option<String>,
    /// What of the mail already in a folder is imported when the folder is first read.
    pub existing_mail: ExistingMail,
    /// The days `existing_mail: recent` reaches back (1–3650).
    pub recent_days: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmtpSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Empty: no authentication.
    pub user: String,
    pub password_set: bool,
}

/// `GET /api/v1/inboxes/{id}/mail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailSettings {
    pub inbox_id: i64,
    pub address: String,
    /// Further addresses delivering into this inbox.
    pub aliases: Vec<String>,
    /// Display name of outbound mail; `{agent}` and `{inbox}` are replaced.
    pub from_name_format: String,
    /// Appended to agent replies.
    pub signature: String,
    /// A reply that solves a ticket carries a satisfaction link (`{public_url}/csat/{token}`).
    #[serde(default)]
    pub csat_enabled: bool,
    /// Good / okay / bad (default) or 1 to 5.
    #[serde(default)]
    pub csat_scale: crate::CsatScale,
    /// Pending tickets the customer has not answered for this many days are solved, with a
    /// notice to the customer; absent: never.
    #[serde(default)]
    pub auto_solve_after_days: Option<i64>,
    pub imap: ImapSettings,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateImap {
    pub enabled: Option<bool>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<TlsMode>,
    pub user: Option<String>,
    /// Write-only; `""` removes it.
    pub password: Option<String>,
    pub folders: Option<Vec<String>>,
    pub after_import: Option<AfterImport>,
    pub move_to: Option<Option<String>>,
    pub existing_mail: Option<ExistingMail>,
    pub recent_days: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateSmtp {
    pub enabled: Option<bool>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<TlsMode>,
    pub user: Option<String>,
    /// Write-only; `""` removes it.
    pub password: Option<String>,
}

/// `PATCH /api/v1/inboxes/{id}/mail`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMailSettings {
    pub aliases: Option<Vec<String>>,
    pub from_name_format: Option<String>,
    pub signature: Option<String>,
    pub csat_enabled: Option<bool>,
    pub csat_scale: Option<crate::CsatScale>,
    /// 1 to 365 days; `null` switches auto-solving off.
    #[serde(default, with = "crate::double_option", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub auto_solve_after_days: Option<Option<i64>>,
    pub imap: Option<UpdateImap>,
    pub smtp: Option<UpdateSmtp>,
}

/// The answer of a "test connection" call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionTest {
    pub ok: bool,
    /// What the server said (greeting, capabilities, login answer), or the error.
    pub transcript: Vec<String>,
    pub duration_ms: u64,
}

/// One raw inbound message in the intake log (`GET /api/v1/inboxes/{id}/intake`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboundMail {
    pub id: i64,
    pub inbox_id: i64,
    pub state: IntakeState,
    pub detail: Option<String>,
    pub message_id: Option<String>,
    pub sha256: String,
    pub size: i64,
    /// `imap`, `api`, `mbox`.
    pub source: String,
    /// e.g. `INBOX uidvalidity 17 uid 42`, or the mbox file and offset.
    pub source_ref: Option<String>,
    pub ticket_number: Option<i64>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/inboxes/{id}/messages/raw`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestResult {
    pub inbound: InboundMail,
    /// The same message (same Message-ID, or same bytes) had been received before.
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailAddress {
    pub email: String,
    pub name: Option<String>,
}

/// A part kept only in the raw message (too large), shown on the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedPart {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub reason: String,
}

/// A message forwarded as an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForwardedMessage {
    pub subject: String,
    pub from: Option<MailAddress>,
    pub message_id: Option<String>,
    pub text: String,
}

/// What an email message carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailInfo {
    pub subject: String,
    pub from: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    /// `person`, `auto_reply`, `bulk`.
    pub nature: String,
    /// The HTML refers to remote images, blocked until the reader asks
    /// (`GET /api/v1/messages/{id}/html?remote=true`).
    pub has_remote_content: bool,
    /// Byte offset in `body_text` where quoted history or a signature begins (to fold).
    pub folded_from: Option<u64>,
    pub skipped_parts: Vec<SkippedPart>,
    pub forwarded: Vec<ForwardedMessage>,
    /// The intake log entry holding the raw message.
    pub inbound_id: Option<i64>,
}
