//! The signed-in user's reminders on a ticket: set one (a local date and time, an optional
//! note), see them, delete them. A reminder fires as a notification (the bell in the top bar).
//!
//! Ids: `#reminders`, `#reminder-at`, `#reminder-note`, `#reminder-add`, `#reminder-error`.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{CreateReminder, Reminder};

use crate::api::{self, Method};
use crate::i18n::{self, Msg, t};
use crate::shell::use_current;

/// The value of a `datetime-local` input (the browser's time zone) as a UTC time.
fn local_input_to_utc(value: &str) -> Option<DateTime<Utc>> {
    if value.trim().is_empty() {
        return None;
    }
    let millis = js_sys::Date::new(&value.into()).get_time();
    if millis.is_nan() {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

#[component]
pub fn Reminders(number: i64) -> impl IntoView {
    let current = use_current();
    let reminders = RwSignal::new(Vec::<Reminder>::new());
    let error = RwSignal::new(None::<String>);
    let at = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let path = format!("/api/v1/tickets/{number}/reminders");
    let load = {
        let path = path.clone();
        move || {
            let path = path.clone();
            spawn_local(async move {
                if let Ok(list) = api::get::<Vec<Reminder>>(&path, &[]).await {
                    reminders.set(list);
                }
            });
        }
    };
    load();
    let add = {
        let path = path.clone();
        let load = load.clone();
        move |_| {
            let Some(remind_at) = local_input_to_utc(&at.get_untracked()) else {
                error.set(Some(t(Msg::ReminderNeedsTime).to_owned()));
                return;
            };
            let note = Some(note.get_untracked().trim().to_owned()).filter(|n| !n.is_empty());
            busy.set(true);
            error.set(None);
            let path = path.clone();
            let load = load.clone();
            spawn_local(async move {
                match api::send_json::<_, Reminder>(Method::Post, &path, &CreateReminder { remind_at, note }).await {
                    Ok(_) => {
                        at.set(String::new());
                        load();
                    }
                    Err(failure) => error.set(Some(current.explain(Msg::ChangeFailed, &failure))),
                }
                busy.set(false);
            });
        }
    };
    let delete = move |id: i64| {
        let load = load.clone();
        spawn_local(async move {
            match api::send_empty(Method::Delete, &format!("/api/v1/reminders/{id}")).await {
                Ok(()) => load(),
                Err(failure) => error.set(Some(current.explain(Msg::ChangeFailed, &failure))),
            }
        });
    };
    view! {
        <section class="reminders">
            <h2>{t(Msg::Reminders)}</h2>
            {move || error.get().map(|m| view! { <p id="reminder-error" class="error" role="alert">{m}</p> })}
            <ul id="reminders" class="plain">
                {move || reminders.get().into_iter().map(|r| {
                    let id = r.id;
                    let delete = delete.clone();
                    view! {
                        <li class:fired=r.fired_at.is_some()>
                            {i18n::datetime(r.remind_at)}
                            {r.note.map(|n| view! { " — "<span>{n}</span> })}
                            {r.fired_at.is_none().then(|| view! {
                                " "<button type="button" class="secondary small reminder-delete" title=t(Msg::Delete)
                                    on:click=move |_| delete(id)>"×"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <label class="visually-hidden" for="reminder-at">{t(Msg::RemindMeAt)}</label>
            <input id="reminder-at" type="datetime-local" bind:value=at />
            <label class="visually-hidden" for="reminder-note">{t(Msg::ReminderNote)}</label>
            <input id="reminder-note" type="text" maxlength="500" placeholder=t(Msg::ReminderNote) bind:value=note />
            <button id="reminder-add" type="button" class="secondary small" disabled=move || busy.get() on:click=add>
                {t(Msg::RemindMe)}
            </button>
        </section>
    }
}
