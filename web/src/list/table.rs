//! The dense ticket table of a view, with narrowing, sorting, selection and live reloads.
//!
//! Ids: `#ticket-list` (rows `.ticket-row` with `data-number`, checkboxes `.select-row`),
//! `#list-search`, `#filter-status`, `#filter-priority`, `#filter-tag`, `#sort`,
//! `#select-all`, `#load-more`, `#save-filter`.

use std::collections::BTreeSet;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Page, Priority, SlaState, Ticket, TicketSort, TicketStatus};
use tandem_web_core::filter::{self, Filter, FilterExt};

use crate::api;
use crate::i18n::{self, Msg, t, tf};
use crate::labels;
use crate::list::bulk::BulkBar;
use crate::list::saved::{SavedViews, use_saved_views};
use crate::live::use_live;
use crate::route::{Route, View, use_router};
use crate::shell::use_current;
use crate::shortcuts::{Command, use_shortcuts};

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Clone, PartialEq)]
enum Rows {
    Loading,
    Loaded { items: Vec<Ticket>, next: Option<String> },
    Failed(String),
}

#[component]
pub fn TicketList(view: View) -> impl IntoView {
    let router = use_router();
    let live = use_live();
    let current = use_current();
    let shortcuts = use_shortcuts();
    let saved = use_saved_views();

    let narrowing = RwSignal::new(Filter::default());
    let search = RwSignal::new(String::new());
    let rows = RwSignal::new(Rows::Loading);
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let cursor = RwSignal::new(0usize);
    let search_ref = NodeRef::<leptos::html::Input>::new();

    // A saved view's own filter: `None` until the saved views have loaded (and for the other
    // views), `Some(None)` when there is no such view. Its list waits for it rather than
    // showing every ticket meanwhile.
    let saved_filter = Memo::new(move |_| match view {
        View::Saved(id) => saved.filter(id),
        _ => None,
    });
    let ready = move || !matches!(view, View::Saved(_)) || matches!(saved_filter.get_untracked(), Some(Some(_)));
    let query = move |cursor: Option<&str>| {
        let base = saved.views.with_untracked(|s| filter::of_view(view, s));
        base.narrowed(&narrowing.get_untracked()).query(PAGE_SIZE, cursor)
    };
    // Reloads the first page; `quiet` keeps the rows on screen while loading (live updates).
    let load = move |quiet: bool| {
        if !ready() {
            return;
        }
        if !quiet {
            rows.set(Rows::Loading);
        }
        let q = query(None);
        spawn_local(async move {
            match api::get::<Page<Ticket>>("/api/v1/tickets", &q).await {
                Ok(page) => {
                    let numbers: BTreeSet<i64> = page.items.iter().map(|t| t.number).collect();
                    selected.update(|s| s.retain(|n| numbers.contains(n)));
                    mark_render_start();
                    rows.set(Rows::Loaded { items: page.items, next: page.next_cursor });
                    request_animation_frame(mark_render_end);
                }
                Err(error) => rows.set(Rows::Failed(current.explain(Msg::LoadTicketsFailed, &error))),
            }
        });
    };
    let load_more = move |_| {
        let Rows::Loaded { next: Some(next), .. } = rows.get_untracked() else { return };
        let q = query(Some(&next));
        spawn_local(async move {
            match api::get::<Page<Ticket>>("/api/v1/tickets", &q).await {
                Ok(page) => rows.update(|rows| {
                    if let Rows::Loaded { items, next } = rows {
                        items.extend(page.items);
                        *next = page.next_cursor;
                    }
                }),
                Err(error) => rows.set(Rows::Failed(current.explain(Msg::LoadTicketsFailed, &error))),
            }
        });
    };

    // First load, and a reload when the narrowing changes (or a saved view's filter arrives).
    Effect::new(move |_| {
        narrowing.track();
        match (view, saved_filter.get()) {
            (View::Saved(_), None) => rows.set(Rows::Loading),
            (View::Saved(_), Some(None)) => rows.set(Rows::Failed(t(Msg::SavedViewMissing).to_owned())),
            _ => load(false),
        }
    });
    // Live: reload quietly, at most every 300 ms.
    let reload_pending = StoredValue::new(false);
    let start_change = live.any_change.get_untracked();
    let start_resync = live.resync.get_untracked();
    Effect::new(move |_| {
        let changes = live.any_change.get();
        let resyncs = live.resync.get();
        if (changes, resyncs) == (start_change, start_resync) || reload_pending.get_value() {
            return;
        }
        reload_pending.set_value(true);
        set_timeout(
            move || {
                reload_pending.set_value(false);
                load(true);
            },
            Duration::from_millis(300),
        );
    });

    // The rows shown: the page, narrowed by the search box (number, subject, contact, tag).
    let visible = Memo::new(move |_| {
        let needle = search.get().trim().trim_start_matches('#').to_lowercase();
        rows.with(|rows| match rows {
            Rows::Loaded { items, .. } => items
                .iter()
                .filter(|ticket| needle.is_empty() || matches_search(ticket, &needle))
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });

    let open = move |number: i64| router.go(Route::Ticket(number));
    shortcuts.on(move |command| match command {
        Command::Next => cursor.update(|c| *c = (*c + 1).min(visible.with_untracked(|v| v.len().saturating_sub(1)))),
        Command::Prev => cursor.update(|c| *c = c.saturating_sub(1)),
        Command::Open => {
            if let Some(ticket) = visible.with_untracked(|v| v.get(cursor.get_untracked()).cloned()) {
                open(ticket.number);
            }
        }
        Command::Search => {
            if let Some(input) = search_ref.get_untracked() {
                let _ = input.focus();
            }
        }
        _ => {}
    });

    let on_search_key = move |ev: leptos::ev::KeyboardEvent| {
        // `#1234` + Enter opens that ticket even when it is not in this view; other text +
        // Enter searches every ticket (the search page).
        if ev.key() == "Enter" {
            let text = search.get_untracked();
            if let Ok(number) = text.trim().trim_start_matches('#').parse::<i64>() {
                open(number);
            } else if !text.trim().is_empty() {
                router.search(text.trim());
            }
        }
    };
    let set_narrowing = move |update: fn(&mut Filter, Option<String>)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            narrowing.update(|f| update(f, Some(value).filter(|v| !v.is_empty())));
        }
    };

    let save_name = RwSignal::new(None::<String>);
    let save_shared = RwSignal::new(false);
    let save_error = RwSignal::new(None::<String>);
    let may_share = current.may_share_views();
    let me = current.user_id();
    // The open saved view, once the list of views has loaded.
    let this_view = move || match view {
        View::Saved(id) => saved.get(id),
        _ => None,
    };
    let save_filter = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(name) = save_name.get_untracked().filter(|n| !n.trim().is_empty()) else { return };
        let base = saved.views.with_untracked(|s| filter::of_view(view, s));
        let filter = base.narrowed(&narrowing.get_untracked());
        save_error.set(None);
        spawn_local(async move {
            let shared = may_share && save_shared.get_untracked();
            match saved.create(tandem_proto::CreateSavedView { name: name.trim().to_owned(), filter, shared }).await {
                Ok(created) => {
                    save_name.set(None);
                    save_shared.set(false);
                    router.go(Route::List(View::Saved(created.id)));
                }
                Err(error) if error.is_unauthenticated() => current.expired.run(()),
                Err(error) => save_error.set(Some(error.to_string())),
            }
        });
    };
    let delete_saved = move |_| {
        if let View::Saved(id) = view {
            save_error.set(None);
            spawn_local(async move {
                match saved.delete(id).await {
                    Ok(()) => router.go(Route::List(View::Open)),
                    Err(error) if error.is_unauthenticated() => current.expired.run(()),
                    Err(error) => save_error.set(Some(error.to_string())),
                }
            });
        }
    };

    let toggle_shared = move |_| {
        let Some(open) = this_view() else { return };
        save_error.set(None);
        spawn_local(async move {
            match saved.set_shared(open.id, !open.shared).await {
                Ok(()) => {}
                Err(error) if error.is_unauthenticated() => current.expired.run(()),
                Err(error) => save_error.set(Some(error.to_string())),
            }
        });
    };

    let directory = crate::directory::use_directory();
    let title = move || view_title(view, saved, directory);
    let can_work = current.can_work();
    let status_options = TicketStatus::ALL.iter().map(|s| (s.as_str(), labels::status(*s))).collect::<Vec<_>>();
    let priority_options = Priority::ALL.iter().map(|p| (p.as_str(), labels::priority(*p))).collect::<Vec<_>>();
    let sort_options = [
        (TicketSort::UpdatedDesc, Msg::SortUpdatedDesc),
        (TicketSort::UpdatedAsc, Msg::SortUpdatedAsc),
        (TicketSort::CreatedDesc, Msg::SortCreatedDesc),
        (TicketSort::CreatedAsc, Msg::SortCreatedAsc),
        (TicketSort::NumberDesc, Msg::SortNumberDesc),
        (TicketSort::NumberAsc, Msg::SortNumberAsc),
    ];

    view! {
        <div class="section-head">
            <h1 id="list-title">{title}</h1>
            {move || this_view().map(|open| {
                let own = open.owner_id == me;
                view! {
                    {(!own).then(|| view! {
                        <span id="view-owner" class="muted small">{tf(Msg::SharedByName, &[("name", &open.owner_name)])}</span>
                    })}
                    {(own && may_share).then(|| view! {
                        <button id="share-view" type="button" class="secondary small" aria-pressed=open.shared.to_string() on:click=toggle_shared>
                            {t(if open.shared { Msg::StopSharing } else { Msg::ShareWithEveryone })}
                        </button>
                    })}
                    {(own || current.is_admin()).then(|| view! {
                        <button id="delete-view" type="button" class="secondary small" on:click=delete_saved>{t(Msg::DeleteSavedFilter)}</button>
                    })}
                }
            })}
        </div>
        <div class="toolbar" role="search">
            <label class="visually-hidden" for="list-search">{t(Msg::SearchTickets)}</label>
            <input id="list-search" type="search" node_ref=search_ref placeholder=t(Msg::SearchPlaceholder)
                bind:value=search on:keydown=on_search_key />
            <label class="visually-hidden" for="filter-status">{t(Msg::Status)}</label>
            <select id="filter-status" on:change=set_narrowing(|f, v| f.status = v)>
                <option value="">{t(Msg::AnyStatusOfView)}</option>
                {status_options.into_iter().map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
            </select>
            <label class="visually-hidden" for="filter-priority">{t(Msg::Priority)}</label>
            <select id="filter-priority" on:change=set_narrowing(|f, v| f.priority = v)>
                <option value="">{t(Msg::AnyPriority)}</option>
                {priority_options.into_iter().map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
            </select>
            <label class="visually-hidden" for="filter-tag">{t(Msg::Tag)}</label>
            <input id="filter-tag" class="short" type="text" placeholder=t(Msg::Tag)
                on:change=set_narrowing(|f, v| f.tag = v) />
            <label class="visually-hidden" for="sort">{t(Msg::Sort)}</label>
            <select id="sort" on:change=move |ev| {
                let value = event_target_value(&ev);
                narrowing.update(|f| f.sort = value.parse::<TicketSort>().ok());
            }>
                {sort_options.into_iter().map(|(sort, msg)| view! { <option value=sort.as_str()>{t(msg)}</option> }).collect_view()}
            </select>
            {move || match save_name.get() {
                None => view! {
                    <button id="save-filter" type="button" class="secondary small" on:click=move |_| save_name.set(Some(String::new()))>
                        {t(Msg::SaveFilter)}
                    </button>
                }.into_any(),
                Some(_) => view! {
                    <form class="inline" on:submit=save_filter>
                        <label class="visually-hidden" for="save-filter-name">{t(Msg::FilterName)}</label>
                        <input id="save-filter-name" class="short" type="text" placeholder=t(Msg::FilterName) autofocus
                            on:input=move |ev| save_name.set(Some(event_target_value(&ev))) />
                        {may_share.then(|| view! {
                            <label class="inline-check">
                                <input id="save-filter-shared" type="checkbox" prop:checked=move || save_shared.get()
                                    on:change=move |ev| save_shared.set(event_target_checked(&ev)) />
                                {t(Msg::ShareWithEveryone)}
                            </label>
                        })}
                        <button id="save-filter-submit" type="submit" class="small">{t(Msg::Save)}</button>
                    </form>
                }.into_any(),
            }}
            {move || save_error.get().map(|message| view! { <p id="save-filter-error" class="error" role="alert">{message}</p> })}
        </div>
        {move || can_work.then(|| view! { <BulkBar selected=selected on_done=Callback::new(move |()| load(true)) /> })}
        {move || match rows.get() {
            Rows::Loading => view! { <p class="muted" aria-live="polite">{t(Msg::LoadingTickets)}</p> }.into_any(),
            Rows::Failed(message) => view! {
                <div class="error" role="alert">
                    <p id="ticket-error">{message}</p>
                    <button type="button" class="secondary" on:click=move |_| load(false)>{t(Msg::TryAgain)}</button>
                </div>
            }.into_any(),
            Rows::Loaded { next, .. } => {
                let more = next.is_some();
                view! {
                    <table id="ticket-list" class="tickets">
                        <caption class="visually-hidden">{t(Msg::Tickets)}</caption>
                        <thead>
                            <tr>
                                <th scope="col" class="check">
                                    <input id="select-all" type="checkbox" aria-label=t(Msg::SelectAll)
                                        prop:checked=move || {
                                            let shown = visible.get();
                                            !shown.is_empty() && selected.with(|s| shown.iter().all(|t| s.contains(&t.number)))
                                        }
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            let shown: Vec<i64> = visible.get_untracked().iter().map(|t| t.number).collect();
                                            selected.update(|s| for n in shown { if on { s.insert(n); } else { s.remove(&n); } });
                                        } />
                                </th>
                                <th scope="col" class="num">{t(Msg::Number)}</th>
                                <th scope="col">{t(Msg::Subject)}</th>
                                <th scope="col">{t(Msg::Contact)}</th>
                                <th scope="col">{t(Msg::Status)}</th>
                                <th scope="col">{t(Msg::Priority)}</th>
                                <th scope="col">{t(Msg::Assignee)}</th>
                                <th scope="col">{t(Msg::Waiting)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || visible.get().into_iter().enumerate()
                                key=|(index, ticket)| (*index, ticket.number, ticket.version)
                                children=move |(index, ticket)| ticket_row(ticket, index, cursor, selected, open)
                            />
                        </tbody>
                    </table>
                    {move || visible.with(Vec::is_empty).then(|| view! { <p class="muted empty">{t(Msg::NoTickets)}</p> })}
                    {more.then(|| view! {
                        <button id="load-more" type="button" class="secondary" on:click=load_more>{t(Msg::LoadMore)}</button>
                    })}
                }.into_any()
            }
        }}
    }
}

/// `tandem:list-render` in the page's performance timeline: from the moment the list's data
/// arrived to the next frame, i.e. the time to render it (read by `./x bench-web`).
fn mark_render_start() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("tandem:list-data");
    }
}

fn mark_render_end() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.measure_with_start_mark("tandem:list-render", "tandem:list-data");
    }
}

fn view_title(view: View, saved: SavedViews, directory: crate::directory::Directory) -> String {
    match view {
        View::Unassigned => t(Msg::ViewUnassigned).to_owned(),
        View::Mine => t(Msg::ViewMine).to_owned(),
        View::Open => t(Msg::ViewAllOpen).to_owned(),
        View::Pending => t(Msg::ViewPending).to_owned(),
        View::Snoozed => t(Msg::ViewSnoozed).to_owned(),
        View::Breached => t(Msg::ViewBreached).to_owned(),
        View::AtRisk => t(Msg::ViewAtRisk).to_owned(),
        View::Solved => t(Msg::ViewSolved).to_owned(),
        View::Inbox(id) => directory.inbox_name(id),
        View::Team(id) => directory.team_name(id),
        View::Saved(id) => saved.name(id).unwrap_or_default(),
    }
}

fn matches_search(ticket: &Ticket, needle: &str) -> bool {
    ticket.number.to_string().starts_with(needle)
        || ticket.subject.to_lowercase().contains(needle)
        || ticket.contact.email.to_lowercase().contains(needle)
        || ticket.contact.name.to_lowercase().contains(needle)
        || ticket.tags.iter().any(|tag| tag.to_lowercase().contains(needle))
}

/// Time the customer has been waiting for an answer: since their last message, when it is
/// newer than the last answer and the ticket is still to be worked on.
pub fn waiting_since(ticket: &Ticket) -> Option<chrono::DateTime<chrono::Utc>> {
    if !ticket.status.is_active() || ticket.status == TicketStatus::Pending {
        return None;
    }
    let customer = ticket.last_customer_message_at?;
    match ticket.last_agent_message_at {
        Some(agent) if agent >= customer => None,
        _ => Some(customer),
    }
}

fn ticket_row(
    ticket: Ticket,
    index: usize,
    cursor: RwSignal<usize>,
    selected: RwSignal<BTreeSet<i64>>,
    open: impl Fn(i64) + Copy + 'static,
) -> impl IntoView {
    let number = ticket.number;
    let status_class = format!("badge status-{}", ticket.status.as_str());
    let priority_class = format!("badge priority-{}", ticket.priority.as_str());
    let contact_title = ticket.contact.email.clone();
    let contact = if ticket.contact.name.trim().is_empty() { ticket.contact.email.clone() } else { ticket.contact.name.clone() };
    let waiting = waiting_since(&ticket).map(|since| i18n::duration_since(since, i18n::now()));
    let assignee = match ticket.assignee {
        Some(user) => view! { <span>{user.display_name}</span> }.into_any(),
        None => view! { <span class="muted">{t(Msg::Unassigned)}</span> }.into_any(),
    };
    let href = Route::Ticket(number).path();
    let snoozed = ticket.snoozed_until.filter(|until| *until > i18n::now());
    view! {
        <tr
            class="ticket-row"
            class:current=move || cursor.get() == index
            class:selected=move || selected.with(|s| s.contains(&number))
            data-number=number
            on:click=move |_| cursor.set(index)
        >
            <td class="check">
                <input type="checkbox" class="select-row"
                    aria-label=tf(Msg::SelectTicket, &[("number", &number)])
                    prop:checked=move || selected.with(|s| s.contains(&number))
                    on:click=|ev| ev.stop_propagation()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|s| { if on { s.insert(number); } else { s.remove(&number); } });
                    } />
            </td>
            <td class="num">{labels::ticket_number(number)}</td>
            <td class="subject">
                <a href=href on:click=move |ev| { ev.prevent_default(); open(number); }>{ticket.subject}</a>
                {ticket.tags.into_iter().map(|tag| view! { <span class="tag">{tag}</span> }).collect_view()}
                {snoozed.map(|until| view! { <span class="tag snoozed" title=i18n::datetime(until)>{t(Msg::Snoozed)}</span> })}
                {ticket.sla.filter(|s| matches!(s.state, SlaState::Breached | SlaState::AtRisk)).map(|s| view! {
                    <span class=format!("tag sla sla-{}", s.state.as_str()) title=s.due_at.map(i18n::datetime).unwrap_or_default()>
                        {labels::sla_state(s.state)}
                    </span>
                })}
            </td>
            <td title=contact_title>{contact}</td>
            <td><span class=status_class>{labels::status(ticket.status)}</span></td>
            <td><span class=priority_class>{labels::priority(ticket.priority)}</span></td>
            <td>{assignee}</td>
            <td class="waiting">{waiting}</td>
        </tr>
    }
}
