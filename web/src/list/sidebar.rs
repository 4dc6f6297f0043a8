//! The sidebar: the views with live counts, per inbox and team, and saved views.
//!
//! Ids: `#view-unassigned`, `#view-mine`, `#view-open`, `#view-pending`, `#view-snoozed`,
//! `#view-solved`, `#view-inbox-{id}`, `#view-team-{id}`, `#view-saved-{id}`; counts in
//! `.count`.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::ViewCounts;

use crate::api;
use crate::directory::use_directory;
use crate::i18n::{self, Msg, t};
use crate::live::use_live;
use crate::route::{Route, View, use_router};
use crate::list::saved::use_saved_views;
use crate::shell::use_current;

#[component]
pub fn Sidebar() -> impl IntoView {
    let router = use_router();
    let live = use_live();
    let current = use_current();
    let directory = use_directory();
    let counts = RwSignal::new(None::<ViewCounts>);
    let saved = use_saved_views();
    let me = current.user_id();

    // Counts load now, and again shortly after any change the live channel reports
    // (several changes in a burst cause one reload).
    let pending = StoredValue::new(false);
    let reload = move || {
        if pending.get_value() {
            return;
        }
        pending.set_value(true);
        set_timeout(
            move || {
                pending.set_value(false);
                spawn_local(async move {
                    match api::get::<ViewCounts>("/api/v1/tickets/counts", &[]).await {
                        Ok(next) => counts.set(Some(next)),
                        Err(error) if error.is_unauthenticated() => current.expired.run(()),
                        Err(_) => {}
                    }
                });
            },
            Duration::from_millis(250),
        );
    };
    Effect::new(move |_| {
        live.any_change.track();
        live.resync.track();
        reload();
    });

    let count = move |pick: fn(&ViewCounts) -> i64| {
        move || counts.with(|c| c.as_ref().map(|c| i18n::number(pick(c))).unwrap_or_default())
    };
    let item = move |view: View, id: String, label: String, count: Signal<String>| {
        let href = Route::List(view).path();
        view! {
            <li>
                <a
                    id=id
                    href=href
                    class:active=move || router.route.get() == Route::List(view)
                    aria-current=move || (router.route.get() == Route::List(view)).then_some("page")
                    on:click=move |ev| {
                        ev.prevent_default();
                        router.go(Route::List(view));
                    }
                >
                    <span class="label">{label}</span>
                    <span class="count">{move || count.get()}</span>
                </a>
            </li>
        }
    };

    let fixed = [
        (View::Unassigned, "view-unassigned", Msg::ViewUnassigned, (|c: &ViewCounts| c.unassigned) as fn(&ViewCounts) -> i64),
        (View::Mine, "view-mine", Msg::ViewMine, |c: &ViewCounts| c.mine),
        (View::Open, "view-open", Msg::ViewAllOpen, |c: &ViewCounts| c.open),
        (View::Pending, "view-pending", Msg::ViewPending, |c: &ViewCounts| c.pending),
        (View::Snoozed, "view-snoozed", Msg::ViewSnoozed, |c: &ViewCounts| c.snoozed),
        (View::Breached, "view-breached", Msg::ViewBreached, |c: &ViewCounts| c.breached),
        (View::AtRisk, "view-at-risk", Msg::ViewAtRisk, |c: &ViewCounts| c.at_risk),
        (View::Solved, "view-solved", Msg::ViewSolved, |c: &ViewCounts| c.solved),
    ];

    view! {
        <nav class="sidebar" aria-label=t(Msg::Views)>
            <ul class="views">
                {fixed
                    .into_iter()
                    .map(|(view, id, msg, pick)| item(view, id.to_owned(), t(msg).to_owned(), Signal::derive(count(pick))))
                    .collect_view()}
            </ul>
            <h2 class="sidebar-head">{t(Msg::Inboxes)}</h2>
            <ul class="views">
                {move || directory.inboxes.get().into_iter().map(|inbox| {
                    let id = inbox.id;
                    let n = Signal::derive(move || counts.with(|c| c.as_ref()
                        .and_then(|c| c.inboxes.iter().find(|v| v.id == id))
                        .map(|v| i18n::number(v.count)).unwrap_or_default()));
                    item(View::Inbox(id), format!("view-inbox-{id}"), inbox.name, n)
                }).collect_view()}
            </ul>
            {move || {
                let teams = directory.teams.get();
                (!teams.is_empty()).then(|| view! {
                    <h2 class="sidebar-head">{t(Msg::Teams)}</h2>
                    <ul class="views">
                        {teams.into_iter().map(|team| {
                            let id = team.id;
                            let n = Signal::derive(move || counts.with(|c| c.as_ref()
                                .and_then(|c| c.teams.iter().find(|v| v.id == id))
                                .map(|v| i18n::number(v.count)).unwrap_or_default()));
                            item(View::Team(id), format!("view-team-{id}"), team.name, n)
                        }).collect_view()}
                    </ul>
                })
            }}
            {move || {
                // The user's own views (those they share marked so), then others' shared ones.
                let (own, shared): (Vec<_>, Vec<_>) = saved.views.get().into_iter().partition(|v| v.owner_id == me);
                let own = (!own.is_empty()).then(|| view! {
                    <h2 class="sidebar-head">{t(Msg::SavedFilters)}</h2>
                    <ul id="saved-views" class="views">
                        {own.into_iter().map(|view| {
                            let mark = if view.shared { t(Msg::SharedMark) } else { "" };
                            item(View::Saved(view.id), format!("view-saved-{}", view.id), view.name, Signal::derive(move || mark.to_owned()))
                        }).collect_view()}
                    </ul>
                });
                let shared = (!shared.is_empty()).then(|| view! {
                    <h2 class="sidebar-head">{t(Msg::SharedViews)}</h2>
                    <ul id="shared-views" class="views">
                        {shared.into_iter().map(|view| {
                            item(View::Saved(view.id), format!("view-saved-{}", view.id), view.name, Signal::derive(String::new))
                        }).collect_view()}
                    </ul>
                });
                (own, shared)
            }}
        </nav>
    }
}
