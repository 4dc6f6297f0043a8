//! The audit log: every event, newest first, filtered by ticket or kind, paged.
//!
//! Ids: `#audit-list` (rows `.audit-row[data-kind]`), `#audit-ticket`, `#audit-kind`,
//! `#audit-more`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Event, Page};

use crate::api;
use crate::i18n::{self, Msg, t};
use crate::shell::use_current;

#[component]
pub fn Audit() -> impl IntoView {
    let current = use_current();
    let events = RwSignal::new(Vec::<Event>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let ticket = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());

    let load = move |cursor: Option<String>| {
        let mut query = vec![("limit", "100".to_owned())];
        if let Ok(n) = ticket.get_untracked().trim().trim_start_matches('#').parse::<i64>() {
            query.push(("ticket", n.to_string()));
        }
        let kind = kind.get_untracked().trim().to_owned();
        if !kind.is_empty() {
            query.push(("kind", kind));
        }
        let appending = cursor.is_some();
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        spawn_local(async move {
            match api::get::<Page<Event>>("/api/v1/events", &query).await {
                Ok(page) => {
                    error.set(None);
                    if appending {
                        events.update(|e| e.extend(page.items));
                    } else {
                        events.set(page.items);
                    }
                    next.set(page.next_cursor);
                }
                Err(failure) => error.set(Some(current.explain(Msg::LoadFailed, &failure))),
            }
        });
    };
    load(None);

    view! {
        <h1>{t(Msg::AuditLog)}</h1>
        <form class="toolbar" on:submit=move |ev| { ev.prevent_default(); load(None); }>
            <label for="audit-ticket">{t(Msg::TicketNumber)}</label>
            <input id="audit-ticket" class="short" type="text" bind:value=ticket />
            <label for="audit-kind">{t(Msg::Kind)}</label>
            <input id="audit-kind" class="short" type="text" placeholder="ticket.updated" bind:value=kind />
            <button type="submit" class="small">{t(Msg::Filter)}</button>
        </form>
        {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        <table id="audit-list" class="tickets">
            <thead><tr>
                <th scope="col">{t(Msg::When)}</th>
                <th scope="col">{t(Msg::Who)}</th>
                <th scope="col">{t(Msg::Kind)}</th>
                <th scope="col">{t(Msg::Ticket)}</th>
                <th scope="col">{t(Msg::Change)}</th>
            </tr></thead>
            <tbody>
                {move || events.get().into_iter().map(|event| view! {
                    <tr class="audit-row" data-kind=event.kind.clone()>
                        <td>{i18n::datetime(event.created_at)}</td>
                        <td>{event.actor.name.clone()}<span class="muted small">{format!(" ({})", event.actor.kind.as_str())}</span></td>
                        <td>{event.kind.clone()}{event.field.clone().map(|f| format!(" · {f}"))}</td>
                        <td>{event.ticket_number.map(|n| format!("#{n}"))}</td>
                        <td class="mono small">{change_text(&event)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {move || next.get().map(|cursor| view! {
            <button id="audit-more" type="button" class="secondary" on:click=move |_| load(Some(cursor.clone()))>{t(Msg::LoadMore)}</button>
        })}
    }
}

fn change_text(event: &Event) -> String {
    let show = |v: &serde_json::Value| if v.is_null() { String::new() } else { v.to_string() };
    match (show(&event.before), show(&event.after)) {
        (before, after) if before.is_empty() => after,
        (before, after) => format!("{before} → {after}"),
    }
}
