//! Report history: when each ticket was in the backlog (`ticket_backlog`, one row per open
//! spell per key, so a ticket solved and reopened later counts as solved in between), next
//! response compliance, and satisfaction ratings in the pre-aggregates (by the day they were
//! given) instead of a join per rating. The pre-aggregates are created anew with these
//! counters, as clustered (`WITHOUT ROWID`) tables on SQLite, since reports read them in key
//! order. Existing tickets are recomputed at start-up (`ticket_metrics_version` 2): their
//! backlog spells start on the day they were created and end on the day they were solved.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE ticket_backlog (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    inbox_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    from_day BIGINT NOT NULL,
    to_day BIGINT
);
CREATE INDEX ticket_backlog_ticket ON ticket_backlog(ticket_id, to_day);
CREATE INDEX ticket_backlog_days ON ticket_backlog(tag, from_day, to_day, inbox_id, team_id, assignee_id, channel);
ALTER TABLE ticket_metrics ADD COLUMN next_met BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ticket_metrics ADD COLUMN next_breached BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ticket_metrics ADD COLUMN rating TEXT;
ALTER TABLE ticket_metrics ADD COLUMN rated_day BIGINT;
DROP INDEX ticket_metrics_solved;
CREATE INDEX ticket_metrics_solving ON ticket_metrics(solved_day, inbox_id, team_id, assignee_id, channel, resolution_bucket,
    resolution_secs, sla_resolution_met, replies, next_met, next_breached, ticket_id) WHERE solved_day IS NOT NULL;
CREATE INDEX ticket_metrics_rated ON ticket_metrics(rated_day, inbox_id, team_id, assignee_id, channel, rating, ticket_id) WHERE rated_day IS NOT NULL;
ALTER TABLE tickets ADD COLUMN sla_next_met BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN sla_next_breached BIGINT NOT NULL DEFAULT 0;
DROP TABLE report_counts;
DROP TABLE report_hist;
DROP TABLE report_tag_counts;
DROP TABLE report_tag_hist;
CREATE TABLE report_counts (
    day BIGINT NOT NULL, inbox_id BIGINT NOT NULL, team_id BIGINT NOT NULL, assignee_id BIGINT NOT NULL, channel TEXT NOT NULL,
    {counters},
    PRIMARY KEY (day, inbox_id, team_id, assignee_id, channel)
){without_rowid};
CREATE TABLE report_hist (
    span TEXT NOT NULL, period BIGINT NOT NULL, inbox_id BIGINT NOT NULL, team_id BIGINT NOT NULL, assignee_id BIGINT NOT NULL,
    channel TEXT NOT NULL, side TEXT NOT NULL, bucket BIGINT NOT NULL, n BIGINT NOT NULL,
    PRIMARY KEY (span, period, inbox_id, team_id, assignee_id, channel, side, bucket)
){without_rowid};
CREATE TABLE report_tag_counts (
    day BIGINT NOT NULL, inbox_id BIGINT NOT NULL, tag TEXT NOT NULL,
    {counters},
    PRIMARY KEY (day, inbox_id, tag)
){without_rowid};
CREATE TABLE report_tag_hist (
    span TEXT NOT NULL, period BIGINT NOT NULL, inbox_id BIGINT NOT NULL, tag TEXT NOT NULL, side TEXT NOT NULL, bucket BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (span, period, inbox_id, tag, side, bucket)
){without_rowid};
UPDATE counters SET value = 0 WHERE name = 'ticket_metrics_version'
"#;

/// The counters of a pre-aggregate row (`reports::metrics::COUNTERS`).
const COUNTERS: &str = "created BIGINT NOT NULL, fr_n BIGINT NOT NULL, fr_secs BIGINT NOT NULL, fr_met BIGINT NOT NULL, \
    fr_breached BIGINT NOT NULL, solved BIGINT NOT NULL, res_secs BIGINT NOT NULL, res_met BIGINT NOT NULL, \
    res_breached BIGINT NOT NULL, replies BIGINT NOT NULL, next_met BIGINT NOT NULL, next_breached BIGINT NOT NULL, \
    csat_good BIGINT NOT NULL, csat_okay BIGINT NOT NULL, csat_bad BIGINT NOT NULL, backlog BIGINT NOT NULL";

/// Back to m0007's tables (empty: the start-up after a downgrade fills them again).
const DOWN: &str = r#"
DROP TABLE report_tag_hist;
DROP TABLE report_tag_counts;
DROP TABLE report_hist;
DROP TABLE report_counts;
CREATE TABLE report_counts (
    day BIGINT NOT NULL, inbox_id BIGINT NOT NULL, team_id BIGINT NOT NULL, assignee_id BIGINT NOT NULL, channel TEXT NOT NULL,
    created BIGINT NOT NULL, fr_n BIGINT NOT NULL, fr_secs BIGINT NOT NULL, fr_met BIGINT NOT NULL, fr_breached BIGINT NOT NULL, solved BIGINT NOT NULL, res_secs BIGINT NOT NULL, res_met BIGINT NOT NULL, res_breached BIGINT NOT NULL, replies BIGINT NOT NULL,
    PRIMARY KEY (day, inbox_id, team_id, assignee_id, channel)
);
CREATE TABLE report_hist (
    span TEXT NOT NULL, period BIGINT NOT NULL, inbox_id BIGINT NOT NULL, team_id BIGINT NOT NULL, assignee_id BIGINT NOT NULL,
    channel TEXT NOT NULL, side TEXT NOT NULL, bucket BIGINT NOT NULL, n BIGINT NOT NULL,
    PRIMARY KEY (span, period, inbox_id, team_id, assignee_id, channel, side, bucket)
);
CREATE TABLE report_tag_counts (
    day BIGINT NOT NULL, inbox_id BIGINT NOT NULL, tag TEXT NOT NULL,
    created BIGINT NOT NULL, fr_n BIGINT NOT NULL, fr_secs BIGINT NOT NULL, fr_met BIGINT NOT NULL, fr_breached BIGINT NOT NULL, solved BIGINT NOT NULL, res_secs BIGINT NOT NULL, res_met BIGINT NOT NULL, res_breached BIGINT NOT NULL, replies BIGINT NOT NULL,
    PRIMARY KEY (day, inbox_id, tag)
);
CREATE TABLE report_tag_hist (
    span TEXT NOT NULL, period BIGINT NOT NULL, inbox_id BIGINT NOT NULL, tag TEXT NOT NULL, side TEXT NOT NULL, bucket BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (span, period, inbox_id, tag, side, bucket)
);
ALTER TABLE tickets DROP COLUMN sla_next_breached;
ALTER TABLE tickets DROP COLUMN sla_next_met;
DROP INDEX ticket_metrics_rated;
DROP INDEX ticket_metrics_solving;
CREATE INDEX ticket_metrics_solved ON ticket_metrics(solved_day, inbox_id, team_id, assignee_id, channel, resolution_bucket,
    resolution_secs, sla_resolution_met, replies, ticket_id) WHERE solved_day IS NOT NULL;
ALTER TABLE ticket_metrics DROP COLUMN rated_day;
ALTER TABLE ticket_metrics DROP COLUMN rating;
ALTER TABLE ticket_metrics DROP COLUMN next_breached;
ALTER TABLE ticket_metrics DROP COLUMN next_met;
DROP TABLE ticket_backlog;
UPDATE counters SET value = 0 WHERE name = 'ticket_metrics_version'
"#;

#[allow(elided_lifetimes_in_paths)] // the trait is declared this way
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, &UP.replace("{counters}", COUNTERS)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, DOWN).await
    }
}
