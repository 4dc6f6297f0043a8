//! The UI's routes and their paths: the address bar is the state of the page, so reload,
//! back/forward and links work (`tandem_web::route` follows the address bar).

/// The sidebar views of the ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Unassigned,
    Mine,
    Open,
    Pending,
    Snoozed,
    /// Tickets past an SLA due time.
    Breached,
    /// Tickets inside an SLA warning margin.
    AtRisk,
    Solved,
    Inbox(i64),
    Team(i64),
    /// One of the user's saved views (its id).
    Saved(i64),
}

impl View {
    fn path(self) -> String {
        match self {
            View::Unassigned => "/views/unassigned".into(),
            View::Mine => "/views/mine".into(),
            View::Open => "/views/open".into(),
            View::Pending => "/views/pending".into(),
            View::Snoozed => "/views/snoozed".into(),
            View::Breached => "/views/breached".into(),
            View::AtRisk => "/views/at-risk".into(),
            View::Solved => "/views/solved".into(),
            View::Inbox(id) => format!("/views/inbox/{id}"),
            View::Team(id) => format!("/views/team/{id}"),
            View::Saved(index) => format!("/views/saved/{index}"),
        }
    }
}

/// Admin pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminPage {
    Users,
    Inboxes,
    Teams,
    Sla,
    Templates,
    Plugins,
    Plugin(i64),
    Audit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    List(View),
    Ticket(i64),
    /// Full-text search; the query is the address's `q` (`/search?q=…`).
    Search,
    /// Reports for supervisors, observers and admins.
    Reports,
    Profile,
    Admin(AdminPage),
    NotFound,
}

impl Route {
    pub fn parse(path: &str) -> Route {
        let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
        let id = |s: &str| s.parse::<i64>().ok();
        match parts.as_slice() {
            [] | ["views"] => Route::List(View::Open),
            ["views", "unassigned"] => Route::List(View::Unassigned),
            ["views", "mine"] => Route::List(View::Mine),
            ["views", "open"] => Route::List(View::Open),
            ["views", "pending"] => Route::List(View::Pending),
            ["views", "snoozed"] => Route::List(View::Snoozed),
            ["views", "breached"] => Route::List(View::Breached),
            ["views", "at-risk"] => Route::List(View::AtRisk),
            ["views", "solved"] => Route::List(View::Solved),
            ["views", "inbox", n] => id(n).map_or(Route::NotFound, |n| Route::List(View::Inbox(n))),
            ["views", "team", n] => id(n).map_or(Route::NotFound, |n| Route::List(View::Team(n))),
            ["views", "saved", n] => id(n).map_or(Route::NotFound, |n| Route::List(View::Saved(n))),
            ["tickets", n] => id(n).map_or(Route::NotFound, Route::Ticket),
            ["search"] => Route::Search,
            ["reports"] => Route::Reports,
            ["profile"] => Route::Profile,
            ["admin"] | ["admin", "users"] => Route::Admin(AdminPage::Users),
            ["admin", "inboxes"] => Route::Admin(AdminPage::Inboxes),
            ["admin", "teams"] => Route::Admin(AdminPage::Teams),
            ["admin", "sla"] => Route::Admin(AdminPage::Sla),
            ["admin", "templates"] => Route::Admin(AdminPage::Templates),
            ["admin", "plugins"] => Route::Admin(AdminPage::Plugins),
            ["admin", "plugins", n] => id(n).map_or(Route::NotFound, |n| Route::Admin(AdminPage::Plugin(n))),
            ["admin", "audit"] => Route::Admin(AdminPage::Audit),
            _ => Route::NotFound,
        }
    }

    pub fn path(self) -> String {
        match self {
            Route::List(view) => view.path(),
            Route::Ticket(n) => format!("/tickets/{n}"),
            Route::Search => "/search".into(),
            Route::Reports => "/reports".into(),
            Route::Profile => "/profile".into(),
            Route::Admin(AdminPage::Users) => "/admin/users".into(),
            Route::Admin(AdminPage::Inboxes) => "/admin/inboxes".into(),
            Route::Admin(AdminPage::Teams) => "/admin/teams".into(),
            Route::Admin(AdminPage::Sla) => "/admin/sla".into(),
            Route::Admin(AdminPage::Templates) => "/admin/templates".into(),
            Route::Admin(AdminPage::Plugins) => "/admin/plugins".into(),
            Route::Admin(AdminPage::Plugin(id)) => format!("/admin/plugins/{id}"),
            Route::Admin(AdminPage::Audit) => "/admin/audit".into(),
            Route::NotFound => "/".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let routes = [
            Route::List(View::Unassigned),
            Route::List(View::Mine),
            Route::List(View::Open),
            Route::List(View::Pending),
            Route::List(View::Snoozed),
            Route::List(View::Breached),
            Route::List(View::AtRisk),
            Route::List(View::Solved),
            Route::List(View::Inbox(3)),
            Route::List(View::Team(4)),
            Route::List(View::Saved(7)),
            Route::Ticket(1001),
            Route::Search,
            Route::Reports,
            Route::Profile,
            Route::Admin(AdminPage::Users),
            Route::Admin(AdminPage::Inboxes),
            Route::Admin(AdminPage::Teams),
            Route::Admin(AdminPage::Sla),
            Route::Admin(AdminPage::Templates),
            Route::Admin(AdminPage::Plugins),
            Route::Admin(AdminPage::Plugin(7)),
            Route::Admin(AdminPage::Audit),
        ];
        for route in routes {
            assert_eq!(Route::parse(&route.path()), route, "{}", route.path());
        }
        assert_eq!(Route::parse("/"), Route::List(View::Open));
        assert_eq!(Route::parse("/tickets/abc"), Route::NotFound);
        assert_eq!(Route::parse("/nowhere"), Route::NotFound);
        assert_eq!(Route::parse("/tickets/12/"), Route::Ticket(12));
    }
}
