//! Reports: the dashboard's figures and series, breakdowns per agent, team, inbox, tag or
//! channel, and the filters they share. Durations are in seconds, counted in business hours
//! where the ticket's SLA policy has a calendar.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

wire_enum! {
    ReportInterval {
        Day => "day",
        /// ISO weeks, starting on Monday.
        Week => "week",
    }
}

wire_enum! {
    ReportDimension {
        Agent => "agent",
        Team => "team",
        Inbox => "inbox",
        Tag => "tag",
        Channel => "channel",
    }
}

wire_enum! {
    /// The tables the CSV export offers.
    ReportTable {
        /// The dashboard's series: created, solved and backlog per period.
        Series => "series",
        Agent => "agent",
        Team => "team",
        Inbox => "inbox",
        Tag => "tag",
        Channel => "channel",
    }
}

/// The filters every report takes. Without `from`: the last `days` (default 30) up to `to`
/// (default today, UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The period's length when `from` is absent, 1 to 1098.
    pub days: Option<i64>,
    pub interval: Option<ReportInterval>,
    pub inbox: Option<i64>,
    pub team: Option<i64>,
    /// The assignee's user id.
    pub agent: Option<i64>,
    pub tag: Option<String>,
    /// `email` or `api`.
    pub channel: Option<String>,
    /// Breakdowns: what to group by (default `agent`). Export: which table (default `series`).
    pub by: Option<ReportDimension>,
    pub table: Option<ReportTable>,
}

/// Summary statistics of a set of durations (seconds). Median and 90th percentile come from
/// a log-scale histogram and are within 5 % of the exact value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: i64,
    pub average_secs: Option<i64>,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

/// How many tickets met an SLA target, among those a policy covered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compliance {
    pub met: i64,
    pub breached: i64,
    /// `met / (met + breached)` in percent.
    pub percent: Option<f64>,
}

/// Customer ratings given in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsatSummary {
    pub good: i64,
    pub okay: i64,
    pub bad: i64,
    /// Good ratings in percent of all ratings.
    pub percent: Option<f64>,
}

/// One period of the dashboard's series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    /// The first day of the period.
    pub period: NaiveDate,
    pub created: i64,
    pub solved: i64,
    /// Tickets not solved at the end of the period.
    pub backlog: i64,
}

/// `GET /api/v1/reports/dashboard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub interval: ReportInterval,
    pub created: i64,
    pub solved: i64,
    /// Not solved at the end of the period.
    pub backlog: i64,
    /// Of tickets created in the period.
    pub first_response: Durations,
    /// Of tickets solved in the period.
    pub resolution: Durations,
    pub sla_first_response: Compliance,
    pub sla_resolution: Compliance,
    /// Next responses owed to customers on tickets solved in the period: answered in time, or
    /// late (a breach the scheduler raised counts even if the answer came later).
    pub sla_next_response: Compliance,
    /// Agent replies per ticket solved in the period.
    pub replies_per_ticket: Option<f64>,
    pub csat: CsatSummary,
    pub series: Vec<SeriesPoint>,
}

/// One group of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakdownRow {
    /// The user, team or inbox id, the tag or the channel; empty for "none".
    pub key: String,
    pub label: String,
    pub created: i64,
    pub solved: i64,
    pub first_response_median_secs: Option<i64>,
    pub resolution_median_secs: Option<i64>,
    pub sla_percent: Option<f64>,
    pub csat_percent: Option<f64>,
    pub replies_per_ticket: Option<f64>,
}

/// `GET /api/v1/reports/breakdown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    pub by: ReportDimension,
    pub rows: Vec<BreakdownRow>,
}
