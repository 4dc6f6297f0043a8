//! Admin pages: users, inboxes, teams, templates, plugins, audit log. The server checks the
//! role on every call; the UI only hides what an admin-only call would refuse anyway.
//!
//! Ids: `#admin-nav` (links `#admin-users`, `#admin-inboxes`, …).

mod audit;
mod inboxes;
mod plugins;
mod sla;
mod teams;
mod templates;
mod users;

use leptos::prelude::*;

use crate::i18n::{Msg, t};
use crate::route::{AdminPage as Page, Route, use_router};

#[component]
pub fn AdminPage(page: Page) -> impl IntoView {
    let router = use_router();
    let tabs = [
        (Page::Users, "admin-users", Msg::Users),
        (Page::Inboxes, "admin-inboxes", Msg::Inboxes),
        (Page::Teams, "admin-teams", Msg::Teams),
        (Page::Sla, "admin-sla", Msg::ServiceLevels),
        (Page::Templates, "admin-templates", Msg::Templates),
        (Page::Plugins, "admin-plugins", Msg::Plugins),
        (Page::Audit, "admin-audit", Msg::AuditLog),
    ];
    let active = |tab: Page| tab == page || (tab == Page::Plugins && matches!(page, Page::Plugin(_)));
    view! {
        <nav id="admin-nav" class="tabs admin-tabs" aria-label=t(Msg::Administration)>
            {tabs.into_iter().map(|(tab, id, msg)| view! {
                <a id=id href=Route::Admin(tab).path() class="tab" class:active=active(tab)
                    aria-current=active(tab).then_some("page")
                    on:click=move |ev| { ev.prevent_default(); router.go(Route::Admin(tab)); }>
                    {t(msg)}
                </a>
            }).collect_view()}
        </nav>
        {match page {
            Page::Users => view! { <users::Users /> }.into_any(),
            Page::Inboxes => view! { <inboxes::Inboxes /> }.into_any(),
            Page::Teams => view! { <teams::Teams /> }.into_any(),
            Page::Sla => view! { <sla::Sla /> }.into_any(),
            Page::Templates => view! { <templates::Templates /> }.into_any(),
            Page::Plugins => view! { <plugins::Plugins /> }.into_any(),
            Page::Plugin(id) => view! { <plugins::PluginDetail id=id /> }.into_any(),
            Page::Audit => view! { <audit::Audit /> }.into_any(),
        }}
    }
}

/// A result line under a form: green on success, red on failure.
pub fn outcome(result: RwSignal<Option<(bool, String)>>, id: &'static str) -> impl IntoView {
    move || result.get().map(|(ok, text)| view! {
        <p id=id class=if ok { "notice" } else { "error" } role="status">{text}</p>
    })
}
