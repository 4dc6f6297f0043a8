//! Reports: one row of figures per ticket (`ticket_metrics`), kept in step with the ticket by
//! every write, and the pre-aggregates reports read: counts and sums per day, duration
//! histograms per ISO week and per calendar month (`span`), per (inbox, team, assignee, channel) and per (inbox, tag), updated by the
//! difference between a ticket's old and new figures in the same transaction. Existing tickets
//! are filled in at start-up (`ticket_metrics_version`). Team and assignee 0 mean "none".

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE ticket_metrics (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    inbox_id BIGINT NOT NULL,
    team_id BIGINT,
    assignee_id BIGINT,
    channel TEXT NOT NULL,
    created_day BIGINT NOT NULL,
    solved_day BIGINT,
    first_response_secs BIGINT,
    first_response_bucket BIGINT,
    resolution_secs BIGINT,
    resolution_bucket BIGINT,
    replies BIGINT NOT NULL,
    sla_first_response_met BIGINT,
    sla_resolution_met BIGINT,
    tags TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX ticket_metrics_created ON ticket_metrics(created_day, inbox_id, team_id, assignee_id, channel, first_response_bucket,
    first_response_secs, sla_first_response_met, ticket_id);
CREATE INDEX ticket_metrics_solved ON ticket_metrics(solved_day, inbox_id, team_id, assignee_id, channel, resolution_bucket,
    resolution_secs, sla_resolution_met, replies, ticket_id) WHERE solved_day IS NOT NULL;
CREATE INDEX ticket_metrics_open ON ticket_metrics(created_day, inbox_id, team_id, assignee_id, channel, ticket_id) WHERE solved_day IS NULL;
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
INSERT INTO counters (name, value) VALUES ('ticket_metrics_version', 0)
"#;

const DOWN: &str = "DELETE FROM counters WHERE name = 'ticket_metrics_version'; DROP TABLE report_tag_hist; DROP TABLE report_tag_counts; \
    DROP TABLE report_hist; DROP TABLE report_counts; DROP TABLE ticket_metrics";

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
