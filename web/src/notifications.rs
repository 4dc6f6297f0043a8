//! The bell in the top bar: the signed-in user's notifications (SLA warnings and breaches,
//! reminders), fetched on start and every 30 seconds; a click opens the ticket and marks the
//! notification read.
//!
//! Ids: `#notifications` (the bell), `#notification-count`, `#notification-list`,
//! `#notifications-read`.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{NotificationKind, Notifications};

use crate::api::{self, Method};
use crate::i18n::{self, Msg, t};
use crate::route::{Route, use_router};

const REFRESH: Duration = Duration::from_secs(30);

fn kind_label(kind: NotificationKind) -> &'static str {
    t(match kind {
        NotificationKind::SlaWarning => Msg::SlaAtRisk,
        NotificationKind::SlaBreach => Msg::SlaBreached,
        NotificationKind::Reminder => Msg::Reminder,
        NotificationKind::Mention => Msg::Mention,
    })
}

#[component]
pub fn Bell() -> impl IntoView {
    let router = use_router();
    let data = RwSignal::new(None::<Notifications>);
    let open = RwSignal::new(false);
    let load = move || {
        spawn_local(async move {
            if let Ok(n) = api::get::<Notifications>("/api/v1/notifications", &[("limit", "20".to_owned())]).await {
                data.set(Some(n));
            }
        });
    };
    load();
    if let Ok(handle) = set_interval_with_handle(load, REFRESH) {
        on_cleanup(move || handle.clear());
    }
    let read_all = move |_| {
        spawn_local(async move {
            if api::send_empty(Method::Post, "/api/v1/notifications/read").await.is_ok() {
                load();
            }
        });
    };
    let unread = move || data.with(|d| d.as_ref().map_or(0, |d| d.unread));
    view! {
        <div class="bell">
            <button id="notifications" type="button" class="secondary small" aria-haspopup="true"
                aria-expanded=move || open.get().to_string() title=t(Msg::Notifications)
                on:click=move |_| { open.update(|o| *o = !*o); if open.get_untracked() { load(); } }>
                <svg class="bell-icon" width="14" height="14" viewBox="0 0 24 24" aria-hidden="true">
                    <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z"/>
                </svg>
                <span class="visually-hidden">{t(Msg::Notifications)}</span>
                {move || (unread() > 0).then(|| view! { <span id="notification-count" class="count">{i18n::number(unread())}</span> })}
            </button>
            {move || open.get().then(|| view! {
                <div id="notification-list" class="popover" role="dialog" aria-label=t(Msg::Notifications)>
                    <div class="row">
                        <strong>{t(Msg::Notifications)}</strong>
                        <button id="notifications-read" type="button" class="secondary small" on:click=read_all>{t(Msg::MarkAllRead)}</button>
                    </div>
                    <ul class="plain">
                        {move || {
                            let items = data.with(|d| d.as_ref().map(|d| d.items.clone()).unwrap_or_default());
                            if items.is_empty() {
                                return view! { <li class="muted">{t(Msg::NoNotifications)}</li> }.into_any();
                            }
                            items.into_iter().map(|n| {
                                let id = n.id;
                                let number = n.ticket_number;
                                let go = move |ev: leptos::ev::MouseEvent| {
                                    ev.prevent_default();
                                    open.set(false);
                                    spawn_local(async move {
                                        let _ = api::send_empty(Method::Post, &format!("/api/v1/notifications/{id}/read")).await;
                                        load();
                                    });
                                    if let Some(number) = number {
                                        router.go(Route::Ticket(number));
                                    }
                                };
                                view! {
                                    <li class=format!("notification {}", n.kind.as_str()) class:unread=n.read_at.is_none()>
                                        <a href=number.map(|n| Route::Ticket(n).path()).unwrap_or_default() on:click=go>
                                            <span class="kind">{kind_label(n.kind)}</span>" "{n.text}
                                        </a>
                                        <span class="muted">" "{i18n::datetime(n.created_at)}</span>
                                    </li>
                                }
                            }).collect_view().into_any()
                        }}
                    </ul>
                </div>
            })}
        </div>
    }
}
