//! The signed-in frame: top bar, sidebar of views, and the page the route points at.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Me, Role};

use crate::admin::AdminPage;
use crate::api;
use crate::i18n::{Msg, t};
use crate::labels;
use crate::list::{Sidebar, TicketList};
use crate::live::Live;
use crate::profile::ProfilePage;
use crate::route::{Route, Router};
use crate::shortcuts::{HelpOverlay, Shortcuts};
use crate::ticket::TicketPage;

/// The signed-in user and what to do when the session turns out to be gone. Context.
#[derive(Debug, Clone, Copy)]
pub struct Current {
    pub me: StoredValue<Me>,
    /// Call on any 401: shows the sign-in page with a notice.
    pub expired: Callback<()>,
}

impl Current {
    pub fn user_id(self) -> i64 {
        self.me.with_value(|me| me.user.id)
    }

    pub fn role(self) -> Role {
        self.me.with_value(|me| me.user.role)
    }

    pub fn is_admin(self) -> bool {
        self.role() == Role::Admin
    }

    /// Agents, supervisors and admins answer tickets; observers only read.
    pub fn can_work(self) -> bool {
        self.role() != Role::Observer
    }

    /// Supervisors and admins share saved views with everyone (the server's `ShareViews`).
    pub fn may_share_views(self) -> bool {
        matches!(self.role(), Role::Supervisor | Role::Admin)
    }

    /// Handles an API error the same way everywhere: a 401 ends the session, anything else
    /// becomes a readable message.
    pub fn explain(self, context: Msg, error: &api::ApiError) -> String {
        if error.is_unauthenticated() {
            self.expired.run(());
        }
        format!("{} {error}.", t(context))
    }
}

pub fn use_current() -> Current {
    expect_context::<Current>()
}

#[component]
pub fn SignedIn(
    me: Me,
    /// Called once the session is gone, with a notice to show above the sign-in form.
    on_signed_out: Callback<Option<String>>,
) -> impl IntoView {
    let live = Live::start();
    provide_context(live);
    let router = Router::install();
    provide_context(router);
    let shortcuts = Shortcuts::install(router);
    provide_context(shortcuts);

    let expired = Callback::new(move |()| {
        live.stop();
        on_signed_out.run(Some(t(Msg::SessionEnded).to_owned()));
    });
    let current = Current { me: StoredValue::new(me.clone()), expired };
    provide_context(current);
    provide_context(crate::directory::Directory::load(me.inboxes.clone(), me.teams.clone()));
    provide_context(crate::list::SavedViews::load(me.user.id));

    let signing_out = RwSignal::new(false);
    let sign_out_error = RwSignal::new(None::<String>);
    let sign_out = move |_| {
        if signing_out.get_untracked() {
            return;
        }
        signing_out.set(true);
        sign_out_error.set(None);
        spawn_local(async move {
            match api::sign_out().await {
                Ok(()) => {
                    live.stop();
                    on_signed_out.run(None);
                }
                Err(error) => {
                    signing_out.set(false);
                    sign_out_error.set(Some(format!("{} {error}.", t(Msg::SignOutFailed))));
                }
            }
        });
    };

    let user = me.user;
    let is_admin = user.role == Role::Admin;
    let go = move |route: Route| move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        router.go(route);
    };

    view! {
        <a class="skip-link" href="#main">{t(Msg::SkipToContent)}</a>
        <header class="topbar">
            <a class="brand" href="/" on:click=go(Route::List(crate::route::View::Open))>"Tandem"</a>
            <span
                id="live-status"
                class=move || if live.connected.get() { "live on" } else { "live off" }
                title=move || t(if live.connected.get() { Msg::LiveConnected } else { Msg::LiveReconnecting })
                role="status"
            >
                {move || if live.connected.get() { "" } else { t(Msg::LiveReconnecting) }}
            </span>
            <nav class="account" aria-label=t(Msg::AccountMenu)>
                <crate::notifications::Bell />
                {(user.role != Role::Agent).then(|| view! {
                    <a id="nav-reports" href="/reports" on:click=go(Route::Reports)>{t(Msg::Reports)}</a>
                })}
                {is_admin.then(|| view! {
                    <a id="nav-admin" href="/admin/plugins" on:click=go(Route::Admin(crate::route::AdminPage::Plugins))>
                        {t(Msg::Administration)}
                    </a>
                })}
                <a id="nav-profile" href="/profile" on:click=go(Route::Profile) class="user">
                    <span id="whoami">{user.display_name}</span>
                    <span class="role" title=t(Msg::YourRole)>{labels::role(user.role)}</span>
                </a>
                <button id="help" type="button" class="secondary small" title=t(Msg::KeyboardShortcuts)
                    on:click=move |_| shortcuts.help.set(true)>"?"</button>
                <button id="logout" type="button" class="secondary small" on:click=sign_out
                    disabled=move || signing_out.get()>
                    {t(Msg::SignOut)}
                </button>
            </nav>
        </header>
        {move || sign_out_error.get().map(|message| view! { <p class="error banner" role="alert">{message}</p> })}
        <div class="layout">
            <Sidebar />
            <main id="main" class="content" tabindex="-1">
                {move || match router.route.get() {
                    Route::List(view) => view! { <TicketList view=view /> }.into_any(),
                    Route::Ticket(number) => view! { <TicketPage number=number /> }.into_any(),
                    Route::Search => view! { <crate::search::SearchPage /> }.into_any(),
                    Route::Reports => view! { <crate::reports::ReportsPage /> }.into_any(),
                    Route::Profile => view! { <ProfilePage /> }.into_any(),
                    Route::Admin(page) if current.is_admin() => view! { <AdminPage page=page /> }.into_any(),
                    Route::Admin(_) => view! {
                        <div id="forbidden" class="error" role="alert">{t(Msg::AdminOnly)}</div>
                    }.into_any(),
                    Route::NotFound => view! {
                        <div id="not-found" class="notice" role="alert">{t(Msg::PageNotFound)}</div>
                    }.into_any(),
                }}
            </main>
        </div>
        <HelpOverlay />
    }
}
