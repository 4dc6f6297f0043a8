//! Saved views: what a name and a filter must be to be kept.

use std::str::FromStr;

use tandem_proto::{Priority, TicketStatus, ViewFilter};

use crate::{DomainError, validate};

/// Longest name of a saved view (it is a sidebar entry).
pub const MAX_NAME_CHARS: usize = 80;
/// Saved views one user may have.
pub const MAX_VIEWS_PER_USER: usize = 50;

/// The view's name, trimmed and checked.
pub fn name(raw: &str) -> Result<String, DomainError> {
    validate::text("name", raw, MAX_NAME_CHARS)
}

/// The filter with its lists normalised (trimmed, lower-case, in a known order, no
/// repeats), refused when a value could never match: an unknown status or priority, an
/// assignee that is neither a user id, `me` nor `none`, or an id that is not positive.
pub fn filter(raw: &ViewFilter) -> Result<ViewFilter, DomainError> {
    let assignee = match raw.assignee.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(a @ ("me" | "none")) => Some(a.to_owned()),
        Some(id) => match id.parse::<i64>() {
            Ok(n) if n > 0 => Some(n.to_string()),
            _ => return Err(DomainError::validation("filter.assignee", "use a user id, `me` or `none`")),
        },
    };
    for (field, id) in [("filter.inbox", raw.inbox), ("filter.team", raw.team)] {
        if id.is_some_and(|id| id <= 0) {
            return Err(DomainError::validation(field, "not an id"));
        }
    }
    let tag = match raw.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(tag) => Some(validate::tag(tag).map_err(|e| DomainError::validation("filter.tag", e.to_string()))?),
        None => None,
    };
    Ok(ViewFilter {
        status: list::<TicketStatus>("filter.status", raw.status.as_deref(), TicketStatus::as_str)?,
        priority: list::<Priority>("filter.priority", raw.priority.as_deref(), Priority::as_str)?,
        assignee,
        inbox: raw.inbox,
        team: raw.team,
        tag,
        snoozed: raw.snoozed,
        sla: raw.sla,
        sort: raw.sort,
    })
}

/// A comma-separated list of wire values, parsed, sorted and written back.
fn list<T: FromStr + Ord + Copy>(field: &str, raw: Option<&str>, name: fn(T) -> &'static str) -> Result<Option<String>, DomainError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut values = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let value = part
            .to_lowercase()
            .parse::<T>()
            .map_err(|_| DomainError::validation(field, format!("`{part}` is not a known value")))?;
        values.push(value);
    }
    values.sort_unstable();
    values.dedup();
    Ok((!values.is_empty()).then(|| values.into_iter().map(name).collect::<Vec<_>>().join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_normalised() {
        let raw = ViewFilter {
            status: Some(" Pending, open ,open,".into()),
            priority: Some("urgent,high".into()),
            assignee: Some(" me ".into()),
            tag: Some("  VIP ".into()),
            ..ViewFilter::default()
        };
        let clean = filter(&raw).expect("valid");
        assert_eq!(clean.status.as_deref(), Some("open,pending"));
        assert_eq!(clean.priority.as_deref(), Some("high,urgent"));
        assert_eq!(clean.assignee.as_deref(), Some("me"));
        assert_eq!(clean.tag.as_deref(), Some("vip"));
        // Blank lists and blank values do not filter.
        let blank = ViewFilter { status: Some(" , ".into()), assignee: Some(" ".into()), tag: Some("".into()), ..ViewFilter::default() };
        assert_eq!(filter(&blank).expect("valid"), ViewFilter::default());
    }

    #[test]
    fn values_that_never_match_are_refused_by_field() {
        let cases = [
            (ViewFilter { status: Some("open,someday".into()), ..ViewFilter::default() }, "filter.status"),
            (ViewFilter { priority: Some("meh".into()), ..ViewFilter::default() }, "filter.priority"),
            (ViewFilter { assignee: Some("bob".into()), ..ViewFilter::default() }, "filter.assignee"),
            (ViewFilter { assignee: Some("-3".into()), ..ViewFilter::default() }, "filter.assignee"),
            (ViewFilter { inbox: Some(0), ..ViewFilter::default() }, "filter.inbox"),
            (ViewFilter { team: Some(-1), ..ViewFilter::default() }, "filter.team"),
            (ViewFilter { tag: Some("a\nb".into()), ..ViewFilter::default() }, "filter.tag"),
        ];
        for (raw, field) in cases {
            match filter(&raw) {
                Err(DomainError::Validation { field: Some(f), .. }) => assert_eq!(f, field, "{raw:?}"),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn names_are_single_short_lines() {
        assert_eq!(name("  Urgent billing ").expect("valid"), "Urgent billing");
        assert!(name("  ").is_err());
        assert!(name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(name("two\nlines").is_err());
    }
}
