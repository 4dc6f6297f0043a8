//! Actions on the selected tickets: assign, set status, add a tag, merge.
//!
//! Ids: `#bulk-bar`, `#bulk-assign`, `#bulk-status`, `#bulk-tag`, `#bulk-merge`, `#bulk-result`.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{BulkResult, BulkUpdate, MergeTicket, Ticket, TicketStatus};

use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t, tf};
use crate::labels;
use crate::shell::use_current;

#[component]
pub fn BulkBar(selected: RwSignal<BTreeSet<i64>>, on_done: Callback<()>) -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<(bool, String)>);
    let tag = RwSignal::new(String::new());

    let apply = move |update: BulkUpdate| {
        busy.set(true);
        spawn_local(async move {
            match api::send_json::<_, BulkResult>(Method::Post, "/api/v1/tickets/bulk", &update).await {
                Ok(outcome) => {
                    let mut text = tf(Msg::BulkChanged, &[("n", &outcome.succeeded.len())]);
                    for failure in &outcome.failed {
                        text.push_str(&format!(" #{}: {}.", failure.number, failure.error.message));
                    }
                    result.set(Some((outcome.failed.is_empty(), text)));
                    selected.update(|s| s.retain(|n| outcome.failed.iter().any(|f| f.number == *n)));
                    on_done.run(());
                }
                Err(error) => result.set(Some((false, current.explain(Msg::BulkFailed, &error)))),
            }
            busy.set(false);
        });
    };
    let numbers = move || selected.get_untracked().into_iter().collect::<Vec<_>>();

    let on_assign = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let assignee_id = match value.as_str() {
            "" => return,
            "none" => Some(None),
            "me" => Some(Some(current.user_id())),
            id => match id.parse() {
                Ok(id) => Some(Some(id)),
                Err(_) => return,
            },
        };
        apply(BulkUpdate { numbers: numbers(), assignee_id, ..BulkUpdate::default() });
    };
    let on_status = move |ev: leptos::ev::Event| {
        if let Ok(status) = event_target_value(&ev).parse::<TicketStatus>() {
            apply(BulkUpdate { numbers: numbers(), status: Some(status), ..BulkUpdate::default() });
        }
    };
    let on_tag = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = tag.get_untracked().trim().to_owned();
        if !value.is_empty() {
            tag.set(String::new());
            apply(BulkUpdate { numbers: numbers(), add_tags: vec![value], ..BulkUpdate::default() });
        }
    };
    // Merges every other selected ticket into the oldest one (the lowest number).
    let on_merge = move |_| {
        let all = numbers();
        let Some((&into, rest)) = all.split_first() else { return };
        if rest.is_empty() {
            return;
        }
        let rest = rest.to_vec();
        busy.set(true);
        spawn_local(async move {
            let mut failed = Vec::new();
            for number in &rest {
                let path = format!("/api/v1/tickets/{number}/merge");
                if let Err(error) = api::send_json::<_, Ticket>(Method::Post, &path, &MergeTicket { into }).await {
                    failed.push(format!("#{number}: {error}."));
                }
            }
            let mut text = tf(Msg::MergedInto, &[("n", &(rest.len() - failed.len())), ("into", &labels::ticket_number(into))]);
            for line in &failed {
                text.push(' ');
                text.push_str(line);
            }
            result.set(Some((failed.is_empty(), text)));
            selected.set(BTreeSet::new());
            busy.set(false);
            on_done.run(());
        });
    };

    view! {
        {move || result.get().map(|(ok, text)| view! {
            <p id="bulk-result" class=if ok { "notice" } else { "error" } role="status">{text}</p>
        })}
        {move || {
            let count = selected.with(BTreeSet::len);
            (count > 0).then(|| view! {
                <div id="bulk-bar" class="bulk-bar" role="toolbar" aria-label=t(Msg::BulkActions)>
                    <strong>{tf(Msg::SelectedCount, &[("n", &count)])}</strong>
                    <label class="visually-hidden" for="bulk-assign">{t(Msg::AssignTo)}</label>
                    <select id="bulk-assign" on:change=on_assign disabled=move || busy.get()>
                        <option value="">{t(Msg::AssignTo)}</option>
                        <option value="me">{t(Msg::Me)}</option>
                        <option value="none">{t(Msg::Nobody)}</option>
                        {move || directory.users.get().into_iter().filter(|u| !u.disabled).map(|user| view! {
                            <option value=user.id.to_string()>{user.display_name}</option>
                        }).collect_view()}
                    </select>
                    <label class="visually-hidden" for="bulk-status">{t(Msg::SetStatus)}</label>
                    <select id="bulk-status" on:change=on_status disabled=move || busy.get()>
                        <option value="">{t(Msg::SetStatus)}</option>
                        {TicketStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{labels::status(*s)}</option> }).collect_view()}
                    </select>
                    <form class="inline" on:submit=on_tag>
                        <label class="visually-hidden" for="bulk-tag">{t(Msg::AddTag)}</label>
                        <input id="bulk-tag" class="short" type="text" placeholder=t(Msg::AddTag) bind:value=tag />
                    </form>
                    <button id="bulk-merge" type="button" class="secondary small" on:click=on_merge
                        disabled=move || busy.get() || count < 2 title=t(Msg::MergeHint)>
                        {t(Msg::Merge)}
                    </button>
                    <button type="button" class="secondary small" on:click=move |_| selected.set(BTreeSet::new())>
                        {t(Msg::ClearSelection)}
                    </button>
                </div>
            })
        }}
    }
}
