//! Which SLA policy applies to a ticket, and what a valid policy is.

use tandem_proto::{Priority, SaveSlaPolicy, SlaEscalation};

use crate::{DomainError, validate};

/// Targets are at most a year of working time.
pub const MAX_TARGET_MINUTES: i64 = 366 * 24 * 60;
/// Warnings come at most a week before the due time.
pub const MAX_WARN_MINUTES: i64 = 7 * 24 * 60;

/// A policy as the rules see it (loaded and ordered by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: i64,
    pub name: String,
    pub inbox_id: Option<i64>,
    pub priority: Option<Priority>,
    pub tag: Option<String>,
    /// Lower case.
    pub company: Option<String>,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    pub calendar_id: Option<i64>,
    pub warn_before_minutes: i64,
    pub escalation: SlaEscalation,
}

/// What a policy's conditions look at.
#[derive(Debug, Clone, Copy)]
pub struct TicketFacts<'a> {
    pub inbox_id: i64,
    pub priority: Priority,
    pub tags: &'a [String],
    pub company: Option<&'a str>,
}

impl Policy {
    pub fn matches(&self, t: &TicketFacts<'_>) -> bool {
        self.inbox_id.is_none_or(|id| id == t.inbox_id)
            && self.priority.is_none_or(|p| p == t.priority)
            && self.tag.as_ref().is_none_or(|tag| t.tags.iter().any(|have| have == tag))
            && self.company.as_ref().is_none_or(|c| t.company.is_some_and(|have| have.trim().to_lowercase() == *c))
    }
}

/// The first policy (in the given order: enabled ones by position) whose conditions all hold.
pub fn select<'a>(policies: &'a [Policy], ticket: &TicketFacts<'_>) -> Option<&'a Policy> {
    policies.iter().find(|p| p.matches(ticket))
}

fn minutes(field: &str, value: Option<i64>) -> Result<Option<i64>, DomainError> {
    match value {
        Some(m) if !(1..=MAX_TARGET_MINUTES).contains(&m) => {
            Err(DomainError::validation(field, format!("a target is 1 to {MAX_TARGET_MINUTES} minutes")))
        }
        other => Ok(other),
    }
}

/// Checks and normalises a policy before it is stored.
pub fn check(input: SaveSlaPolicy) -> Result<SaveSlaPolicy, DomainError> {
    let name = validate::text("name", &input.name, validate::MAX_NAME_CHARS)?;
    let first_response_minutes = minutes("first_response_minutes", input.first_response_minutes)?;
    let next_response_minutes = minutes("next_response_minutes", input.next_response_minutes)?;
    let resolution_minutes = minutes("resolution_minutes", input.resolution_minutes)?;
    if first_response_minutes.is_none() && next_response_minutes.is_none() && resolution_minutes.is_none() {
        return Err(DomainError::validation("first_response_minutes", "a policy needs at least one target"));
    }
    if !(0..=MAX_WARN_MINUTES).contains(&input.warn_before_minutes) {
        return Err(DomainError::validation("warn_before_minutes", format!("warnings come 0 to {MAX_WARN_MINUTES} minutes before the due time")));
    }
    if !(0..=10_000).contains(&input.position) {
        return Err(DomainError::validation("position", "position is 0 to 10000"));
    }
    let tag = match input.tag.as_deref() {
        Some(tag) => validate::tags(&[tag.to_owned()])?.into_iter().next(),
        None => None,
    };
    let company = match input.company.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(c) => Some(validate::text("company", c, validate::MAX_NAME_CHARS)?.to_lowercase()),
    };
    Ok(SaveSlaPolicy {
        name,
        tag,
        company,
        first_response_minutes,
        next_response_minutes,
        resolution_minutes,
        ..input
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: i64) -> Policy {
        Policy {
            id,
            name: format!("p{id}"),
            inbox_id: None,
            priority: None,
            tag: None,
            company: None,
            first_response_minutes: Some(60),
            next_response_minutes: None,
            resolution_minutes: None,
            calendar_id: None,
            warn_before_minutes: 0,
            escalation: SlaEscalation::default(),
        }
    }

    #[test]
    fn the_first_matching_policy_wins() {
        let tags = vec!["vip".to_owned()];
        let facts = TicketFacts { inbox_id: 1, priority: Priority::High, tags: &tags, company: Some(" ACME Ltd ") };
        let vip = Policy { tag: Some("vip".into()), ..policy(1) };
        let other_inbox = Policy { inbox_id: Some(2), ..policy(2) };
        let high = Policy { priority: Some(Priority::High), ..policy(3) };
        let catch_all = policy(4);
        assert_eq!(select(&[other_inbox.clone(), high.clone(), catch_all.clone()], &facts).map(|p| p.id), Some(3));
        assert_eq!(select(&[vip.clone(), high.clone()], &facts).map(|p| p.id), Some(1));
        let acme = Policy { company: Some("acme ltd".into()), ..policy(5) };
        assert_eq!(select(std::slice::from_ref(&acme), &facts).map(|p| p.id), Some(5));
        let nobody = TicketFacts { company: None, tags: &[], ..facts };
        assert_eq!(select(&[acme, vip, other_inbox], &nobody).map(|p| p.id), None);
    }

    #[test]
    fn policies_are_checked() {
        let base = SaveSlaPolicy {
            name: "High".into(),
            position: 0,
            enabled: true,
            inbox_id: None,
            priority: Some(Priority::High),
            tag: Some(" Billing ".into()),
            company: Some(" ACME ".into()),
            first_response_minutes: Some(240),
            next_response_minutes: None,
            resolution_minutes: None,
            calendar_id: None,
            warn_before_minutes: 30,
            escalation: SlaEscalation::default(),
        };
        let ok = check(base.clone()).expect("valid");
        assert_eq!(ok.tag.as_deref(), Some("billing"));
        assert_eq!(ok.company.as_deref(), Some("acme"));
        let none = SaveSlaPolicy { first_response_minutes: None, ..base.clone() };
        assert!(check(none).is_err());
        assert!(check(SaveSlaPolicy { first_response_minutes: Some(0), ..base.clone() }).is_err());
        assert!(check(SaveSlaPolicy { warn_before_minutes: -1, ..base.clone() }).is_err());
        assert!(check(SaveSlaPolicy { name: " ".into(), ..base }).is_err());
    }
}
