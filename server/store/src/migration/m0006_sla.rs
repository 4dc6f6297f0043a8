//! Service levels and timers: business-hours calendars, SLA policies, each ticket's SLA clock
//! (policy, resolution time used, due times, when the scheduler looks next), the alerts raised
//! (keyed so that no alert is raised twice), in-app notifications, reminders, the per-inbox
//! auto-solve period and the scheduler lease.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE sla_calendars (
    id {pk},
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    hours TEXT NOT NULL,
    holidays TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE sla_policies (
    id {pk},
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    enabled {bool} NOT NULL,
    inbox_id BIGINT REFERENCES inboxes(id) ON DELETE CASCADE,
    priority TEXT,
    tag TEXT,
    company TEXT,
    first_response_minutes BIGINT,
    next_response_minutes BIGINT,
    resolution_minutes BIGINT,
    calendar_id BIGINT REFERENCES sla_calendars(id),
    warn_before_minutes BIGINT NOT NULL,
    escalation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
ALTER TABLE tickets ADD COLUMN sla_policy_id BIGINT;
ALTER TABLE tickets ADD COLUMN sla_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN sla_running_since BIGINT;
ALTER TABLE tickets ADD COLUMN sla_first_response_due BIGINT;
ALTER TABLE tickets ADD COLUMN sla_next_response_due BIGINT;
ALTER TABLE tickets ADD COLUMN sla_resolution_due BIGINT;
ALTER TABLE tickets ADD COLUMN sla_due_at BIGINT;
ALTER TABLE tickets ADD COLUMN sla_warn_at BIGINT;
ALTER TABLE tickets ADD COLUMN sla_check_at BIGINT;
CREATE INDEX tickets_sla_check ON tickets(sla_check_at) WHERE sla_check_at IS NOT NULL;
CREATE INDEX tickets_sla_due ON tickets(sla_due_at) WHERE sla_due_at IS NOT NULL;
CREATE INDEX tickets_snoozed ON tickets(snoozed_until) WHERE snoozed_until IS NOT NULL;
CREATE TABLE sla_alerts (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    raised_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, target, kind, due_at)
);
CREATE TABLE notifications (
    id {pk},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ticket_id BIGINT REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE TABLE reminders (
    id {pk},
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    remind_at BIGINT NOT NULL,
    note TEXT,
    fired_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX reminders_due ON reminders(remind_at) WHERE fired_at IS NULL;
CREATE INDEX reminders_ticket ON reminders(ticket_id);
ALTER TABLE inboxes ADD COLUMN auto_solve_after_days BIGINT;
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
)
"#;

const DOWN: &str = "DROP TABLE leases; ALTER TABLE inboxes DROP COLUMN auto_solve_after_days; DROP TABLE reminders; \
    DROP TABLE notifications; DROP TABLE sla_alerts; DROP INDEX tickets_snoozed; DROP INDEX tickets_sla_due; DROP INDEX tickets_sla_check; \
    ALTER TABLE tickets DROP COLUMN sla_check_at; ALTER TABLE tickets DROP COLUMN sla_warn_at; ALTER TABLE tickets DROP COLUMN sla_due_at; \
    ALTER TABLE tickets DROP COLUMN sla_resolution_due; ALTER TABLE tickets DROP COLUMN sla_next_response_due; \
    ALTER TABLE tickets DROP COLUMN sla_first_response_due; ALTER TABLE tickets DROP COLUMN sla_running_since; \
    ALTER TABLE tickets DROP COLUMN sla_used; ALTER TABLE tickets DROP COLUMN sla_policy_id; DROP TABLE sla_policies; DROP TABLE sla_calendars";

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
