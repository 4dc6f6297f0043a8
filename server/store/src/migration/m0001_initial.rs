use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE users (
    id {pk},
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    language TEXT NOT NULL,
    skills TEXT NOT NULL DEFAULT '[]',
    availability TEXT NOT NULL DEFAULT 'off',
    disabled {bool} NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE api_tokens (
    id {pk},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE TABLE inboxes (
    id {pk},
    name TEXT NOT NULL,
    address TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE inbox_members (
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, user_id)
);
CREATE INDEX inbox_members_user ON inbox_members(user_id);
CREATE TABLE teams (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);
CREATE TABLE contacts (
    id {pk},
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    company TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket_number', 1000);
CREATE TABLE tickets (
    id {pk},
    number BIGINT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id),
    team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    tags TEXT NOT NULL DEFAULT '[]',
    category TEXT,
    language TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_response_at BIGINT,
    last_customer_message_at BIGINT,
    last_agent_message_at BIGINT,
    solved_at BIGINT,
    closed_at BIGINT,
    snoozed_until BIGINT,
    merged_into BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX tickets_inbox_status_updated ON tickets(inbox_id, status, updated_at, id);
CREATE INDEX tickets_inbox_updated ON tickets(inbox_id, updated_at, id);
CREATE INDEX tickets_assignee_updated ON tickets(assignee_id, updated_at, id);
CREATE INDEX tickets_team_updated ON tickets(team_id, updated_at, id);
CREATE INDEX tickets_contact ON tickets(contact_id, updated_at);
CREATE INDEX tickets_updated ON tickets(updated_at, id);
CREATE TABLE ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags(tag, ticket_id);
CREATE TABLE messages (
    id {pk},
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    author_id BIGINT,
    author_name TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    message_id TEXT,
    in_reply_to TEXT,
    references_json TEXT NOT NULL DEFAULT '[]',
    delivery_state TEXT,
    delivery_error TEXT,
    ticket_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE attachments (
    id {pk},
    message_id BIGINT NOT NULL REFERENCES messages(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE TABLE events (
    id {pk},
    ticket_id BIGINT REFERENCES tickets(id),
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    field TEXT,
    before_json TEXT NOT NULL DEFAULT 'null',
    after_json TEXT NOT NULL DEFAULT 'null',
    created_at BIGINT NOT NULL
);
CREATE INDEX events_ticket ON events(ticket_id, id);
CREATE INDEX events_kind ON events(kind, id);
CREATE TABLE templates (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)
"#;

const DOWN: &str = r#"
DROP TABLE templates; DROP TABLE events; DROP TABLE attachments; DROP TABLE blobs;
DROP TABLE messages; DROP TABLE ticket_tags; DROP TABLE tickets; DROP TABLE counters;
DROP TABLE contacts; DROP TABLE team_members; DROP TABLE teams; DROP TABLE inbox_members;
DROP TABLE inboxes; DROP TABLE api_tokens; DROP TABLE sessions; DROP TABLE users
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
