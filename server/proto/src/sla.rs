//! Service-level agreements: business-hours calendars, policies, a ticket's due times; and the
//! in-app notifications and reminders the scheduler raises.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Priority;

wire_enum! {
    /// The three clocks of a service-level agreement.
    SlaTarget {
        /// From the ticket's creation to the first agent reply.
        FirstResponse => "first_response",
        /// From a customer's later message to the agent reply that answers it.
        NextResponse => "next_response",
        /// From creation to solved; pending and on hold pause it.
        Resolution => "resolution",
    }
}

wire_enum! {
    /// Where a ticket stands against its policy.
    SlaState {
        OnTrack => "on_track",
        /// A due time is nearer than the policy's warning margin.
        AtRisk => "at_risk",
        /// A due time has passed.
        Breached => "breached",
        /// Nothing is due now: waiting on the customer (pending, on hold).
        Paused => "paused",
    }
}

wire_enum! {
    Weekday {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
}

/// One span of working time on a weekday, in the calendar's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    pub day: Weekday,
    /// `HH:MM`, e.g. `09:00`.
    pub open: String,
    /// `HH:MM` after `open`; `24:00` is the end of the day.
    pub close: String,
}

/// A business-hours calendar: SLA clocks only run inside its hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Calendar {
    pub id: i64,
    pub name: String,
    /// An IANA name such as `Europe/Warsaw`.
    pub time_zone: String,
    pub hours: Vec<WorkingHours>,
    /// Whole days off, in the calendar's time zone.
    pub holidays: Vec<NaiveDate>,
}

/// `POST /api/v1/sla/calendars`, `PUT /api/v1/sla/calendars/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaveCalendar {
    pub name: String,
    pub time_zone: String,
    pub hours: Vec<WorkingHours>,
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

/// What happens when a ticket breaches its policy (warnings only notify).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaEscalation {
    /// Notify the assignee and the inbox's supervisors, in the app and by email.
    #[serde(default)]
    pub notify: bool,
    /// Raise the priority one step (low → normal → high → urgent).
    #[serde(default)]
    pub raise_priority: bool,
    /// Hand the ticket to this team.
    #[serde(default)]
    pub team_id: Option<i64>,
}

/// Targets for the tickets a policy matches. The first enabled policy (lowest `position`)
/// whose conditions all hold applies; an absent condition matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaPolicy {
    pub id: i64,
    pub name: String,
    pub position: i64,
    pub enabled: bool,
    pub inbox_id: Option<i64>,
    pub priority: Option<Priority>,
    pub tag: Option<String>,
    /// The contact's company, compared without regard to case.
    pub company: Option<String>,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    /// Business hours; absent: calendar hours (24/7).
    pub calendar_id: Option<i64>,
    /// How long before a due time the warning comes (wall-clock minutes).
    pub warn_before_minutes: i64,
    pub escalation: SlaEscalation,
}

/// `POST /api/v1/sla/policies`, `PUT /api/v1/sla/policies/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaveSlaPolicy {
    pub name: String,
    #[serde(default)]
    pub position: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub inbox_id: Option<i64>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub first_response_minutes: Option<i64>,
    #[serde(default)]
    pub next_response_minutes: Option<i64>,
    #[serde(default)]
    pub resolution_minutes: Option<i64>,
    #[serde(default)]
    pub calendar_id: Option<i64>,
    #[serde(default)]
    pub warn_before_minutes: i64,
    #[serde(default)]
    pub escalation: SlaEscalation,
}

fn yes() -> bool {
    true
}

/// A ticket's service level: the policy that applies and what is due when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketSla {
    pub policy_id: i64,
    pub policy_name: String,
    pub state: SlaState,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub first_response_due_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub next_response_due_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// The earliest of the due times above.
    #[serde(serialize_with = "crate::timestamp::serialize_opt")]
    pub due_at: Option<DateTime<Utc>>,
}

wire_enum! {
    NotificationKind {
        SlaWarning => "sla_warning",
        SlaBreach => "sla_breach",
        Reminder => "reminder",
        /// A colleague @mentioned the user in an internal note.
        Mention => "mention",
    }
}

/// Something the app tells one user (also sent by email when it matters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: i64,
    pub kind: NotificationKind,
    pub ticket_number: Option<i64>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/notifications`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notifications {
    pub items: Vec<Notification>,
    pub unread: i64,
}

/// A follow-up an agent set on a ticket for themself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reminder {
    pub id: i64,
    pub ticket_number: i64,
    pub remind_at: DateTime<Utc>,
    pub note: Option<String>,
    pub fired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/tickets/{number}/reminders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateReminder {
    pub remind_at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}
