//! The email channel: per-inbox mail settings (secrets kept here, never returned), IMAP
//! progress per folder, every raw inbound message (recorded before it is parsed), the outbox,
//! and what a mail message carries besides its body.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE inboxes ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
ALTER TABLE inboxes ADD COLUMN from_name_format TEXT NOT NULL DEFAULT '{agent} via {inbox}';
ALTER TABLE inboxes ADD COLUMN signature TEXT NOT NULL DEFAULT '';
CREATE TABLE inbox_channels (
    inbox_id BIGINT PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    imap_enabled {bool} NOT NULL DEFAULT FALSE,
    imap_host TEXT NOT NULL DEFAULT '',
    imap_port BIGINT NOT NULL DEFAULT 993,
    imap_tls TEXT NOT NULL DEFAULT 'implicit',
    imap_user TEXT NOT NULL DEFAULT '',
    imap_password TEXT,
    imap_folders TEXT NOT NULL DEFAULT '["INBOX"]',
    imap_after_import TEXT NOT NULL DEFAULT 'seen',
    imap_move_to TEXT,
    smtp_enabled {bool} NOT NULL DEFAULT FALSE,
    smtp_host TEXT NOT NULL DEFAULT '',
    smtp_port BIGINT NOT NULL DEFAULT 465,
    smtp_tls TEXT NOT NULL DEFAULT 'implicit',
    smtp_user TEXT NOT NULL DEFAULT '',
    smtp_password TEXT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE imap_folders (
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (inbox_id, folder)
);
CREATE TABLE inbound_mail (
    id {pk},
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id),
    dedupe_key TEXT NOT NULL,
    message_id_header TEXT,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    size BIGINT NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT,
    state TEXT NOT NULL,
    detail TEXT,
    ticket_id BIGINT REFERENCES tickets(id),
    message_row_id BIGINT REFERENCES messages(id),
    received_at BIGINT NOT NULL,
    processed_at BIGINT,
    UNIQUE (inbox_id, dedupe_key)
);
CREATE INDEX inbound_mail_state ON inbound_mail(state, id);
CREATE INDEX inbound_mail_inbox ON inbound_mail(inbox_id, id);
ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE messages ADD COLUMN body_html_remote TEXT;
ALTER TABLE messages ADD COLUMN folded_from BIGINT;
ALTER TABLE messages ADD COLUMN mail_json TEXT;
ALTER TABLE attachments ADD COLUMN content_id TEXT;
ALTER TABLE attachments ADD COLUMN inline {bool} NOT NULL DEFAULT FALSE;
CREATE TABLE outbox (
    id {pk},
    message_row_id BIGINT NOT NULL UNIQUE REFERENCES messages(id),
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id),
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at)
"#;

const DOWN: &str = r#"
DROP TABLE outbox;
ALTER TABLE attachments DROP COLUMN inline;
ALTER TABLE attachments DROP COLUMN content_id;
ALTER TABLE messages DROP COLUMN mail_json;
ALTER TABLE messages DROP COLUMN folded_from;
ALTER TABLE messages DROP COLUMN body_html_remote;
ALTER TABLE messages DROP COLUMN subject;
DROP TABLE inbound_mail; DROP TABLE imap_folders; DROP TABLE inbox_channels;
ALTER TABLE inboxes DROP COLUMN signature;
ALTER TABLE inboxes DROP COLUMN from_name_format;
ALTER TABLE inboxes DROP COLUMN aliases
"#;

#[allow(elided_lifetimes_in_paths)] // the trait is declared this way
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, DOWN).await
    }
}
