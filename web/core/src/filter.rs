//! What a ticket list shows: a sidebar view plus the user's own narrowing, turned into the
//! query of `GET /api/v1/tickets`.

use tandem_proto::{SavedView, SlaView};

use crate::route::View;

/// Statuses still to be worked on.
pub const ACTIVE: &str = "new,open,pending,on_hold";

/// The ticket list query the UI can express: the wire type of saved views, so that a view
/// saved here is stored as it is. Absent fields do not filter.
pub type Filter = tandem_proto::ViewFilter;

/// The query a sidebar view stands for (`saved`: the user's saved views).
pub fn of_view(view: View, saved: &[SavedView]) -> Filter {
    let active = || Some(ACTIVE.to_owned());
    match view {
        View::Unassigned => Filter { status: active(), assignee: Some("none".into()), snoozed: Some(false), ..Filter::default() },
        View::Mine => Filter { status: active(), assignee: Some("me".into()), snoozed: Some(false), ..Filter::default() },
        View::Open => Filter { status: Some("new,open".into()), snoozed: Some(false), ..Filter::default() },
        View::Pending => Filter { status: Some("pending".into()), ..Filter::default() },
        View::Snoozed => Filter { status: active(), snoozed: Some(true), ..Filter::default() },
        View::Breached => Filter { status: active(), sla: Some(SlaView::Breached), ..Filter::default() },
        View::AtRisk => Filter { status: active(), sla: Some(SlaView::AtRisk), ..Filter::default() },
        View::Solved => Filter { status: Some("solved".into()), ..Filter::default() },
        View::Inbox(id) => Filter { status: active(), inbox: Some(id), ..Filter::default() },
        View::Team(id) => Filter { status: active(), team: Some(id), ..Filter::default() },
        View::Saved(id) => saved.iter().find(|s| s.id == id).map(|s| s.filter.clone()).unwrap_or_default(),
    }
}

/// What the list does with a filter.
pub trait FilterExt {
    /// The view's query with the user's narrowing on top (a narrowing field replaces the view's).
    fn narrowed(&self, by: &Filter) -> Filter;
    /// Query pairs for `GET /api/v1/tickets`.
    fn query(&self, limit: u32, cursor: Option<&str>) -> Vec<(&'static str, String)>;
}

impl FilterExt for Filter {
    fn narrowed(&self, by: &Filter) -> Filter {
        Filter {
            status: by.status.clone().or_else(|| self.status.clone()),
            priority: by.priority.clone().or_else(|| self.priority.clone()),
            assignee: by.assignee.clone().or_else(|| self.assignee.clone()),
            inbox: by.inbox.or(self.inbox),
            team: by.team.or(self.team),
            tag: by.tag.clone().or_else(|| self.tag.clone()),
            snoozed: by.snoozed.or(self.snoozed),
            sla: by.sla.or(self.sla),
            sort: by.sort.or(self.sort),
        }
    }

    fn query(&self, limit: u32, cursor: Option<&str>) -> Vec<(&'static str, String)> {
        let mut query = vec![("limit", limit.to_string())];
        let mut push = |key: &'static str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
                query.push((key, value.trim().to_owned()));
            }
        };
        push("status", self.status.clone());
        push("priority", self.priority.clone());
        push("assignee", self.assignee.clone());
        push("inbox", self.inbox.map(|v| v.to_string()));
        push("team", self.team.map(|v| v.to_string()));
        push("tag", self.tag.clone());
        push("snoozed", self.snoozed.map(|v| v.to_string()));
        push("sla", self.sla.map(|v| v.as_str().to_owned()));
        push("sort", self.sort.map(|s| s.as_str().to_owned()));
        push("cursor", cursor.map(str::to_owned));
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_become_queries() {
        let q = of_view(View::Unassigned, &[]).query(50, None);
        assert!(q.contains(&("status", ACTIVE.to_owned())), "{q:?}");
        assert!(q.contains(&("assignee", "none".to_owned())), "{q:?}");
        assert!(q.contains(&("snoozed", "false".to_owned())), "{q:?}");
        let q = of_view(View::Inbox(4), &[]).query(20, Some("abc"));
        assert!(q.contains(&("inbox", "4".to_owned())) && q.contains(&("cursor", "abc".to_owned())), "{q:?}");
        assert!(q.contains(&("limit", "20".to_owned())), "{q:?}");
        assert_eq!(of_view(View::Saved(3), &[]), Filter::default());
        let q = of_view(View::Breached, &[]).query(50, None);
        assert!(q.contains(&("sla", "breached".to_owned())), "{q:?}");
    }

    #[test]
    fn narrowing_replaces_the_views_fields() {
        let view = of_view(View::Mine, &[]);
        let narrowed = view.narrowed(&Filter { status: Some("pending".into()), tag: Some("vip".into()), ..Filter::default() });
        assert_eq!(narrowed.status.as_deref(), Some("pending"));
        assert_eq!(narrowed.assignee.as_deref(), Some("me"));
        assert_eq!(narrowed.tag.as_deref(), Some("vip"));
        // Blank values send nothing.
        let q = Filter { tag: Some("  ".into()), ..Filter::default() }.query(50, None);
        assert_eq!(q, vec![("limit", "50".to_owned())]);
    }
}
