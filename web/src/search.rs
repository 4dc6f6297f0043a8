//! The search page (`/search?q=…`): full-text search over every ticket the user may see,
//! through `GET /api/v1/search`, best match first, matching words marked.
//!
//! Element ids (used by the browser tests): `#search-form`, `#search-query`, `#search-count`,
//! `#search-results` (one `li.search-hit[data-number]` per ticket, `mark` around matching
//! words), `#search-more`, `#search-error`, `#search-help`.

use leptos::prelude::*;
use tandem_proto::{Highlight, MessageKind, SearchHit, SearchResults};

use crate::{
    api,
    i18n::{Msg, t, tf},
    labels,
    route::{Route, use_router},
    shell::use_current,
};

const PAGE: u32 = 25;

#[derive(Debug, Clone)]
enum Results {
    Idle,
    Loading,
    Failed(String),
    Loaded { hits: Vec<SearchHit>, total: u32, more_than_total: bool, next: Option<u32> },
}

/// Words in pieces; matching ones in `<mark>`. Text only, never HTML.
fn pieces(pieces: Vec<Highlight>) -> impl IntoView {
    pieces
        .into_iter()
        .map(|p| if p.hit { view! { <mark>{p.text}</mark> }.into_any() } else { p.text.into_any() })
        .collect_view()
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let router = use_router();
    let current = use_current();
    let input = RwSignal::new(router.query.get_untracked());
    let results = RwSignal::new(Results::Idle);
    // Answers to an older query (or page) are dropped: only the latest request may write.
    let generation = StoredValue::new(0u64);

    let fetch = move |q: String, offset: u32| {
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        if offset == 0 {
            results.set(if q.trim().is_empty() { Results::Idle } else { Results::Loading });
        }
        if q.trim().is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            let query = [("q", q), ("offset", offset.to_string()), ("limit", PAGE.to_string())];
            let answer = api::get::<SearchResults>("/api/v1/search", &query).await;
            if generation.get_value() != mine {
                return;
            }
            match answer {
                Ok(page) => results.update(|r| {
                    let mut hits = match (offset, std::mem::replace(r, Results::Idle)) {
                        (0, _) => Vec::new(),
                        (_, Results::Loaded { hits, .. }) => hits,
                        _ => Vec::new(),
                    };
                    hits.extend(page.hits);
                    *r = Results::Loaded { hits, total: page.total, more_than_total: page.more_than_total, next: page.next_offset };
                }),
                Err(error) => results.set(Results::Failed(current.explain(Msg::SearchFailed, &error))),
            }
        });
    };
    // A new query in the address (a submit, Back/Forward) runs the search again.
    Effect::new(move |_| {
        let q = router.query.get();
        input.set(q.clone());
        fetch(q, 0);
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = input.get_untracked();
        if q == router.query.get_untracked() {
            fetch(q, 0);
        } else {
            router.search(&q);
        }
    };
    let more = move |_| {
        if let Results::Loaded { next: Some(offset), .. } = results.get_untracked() {
            fetch(router.query.get_untracked(), offset);
        }
    };
    let open = move |number: i64| move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        router.go(Route::Ticket(number));
    };

    let hit_view = move |hit: SearchHit| {
        let ticket = hit.ticket;
        let number = ticket.number;
        let subject = match hit.subject {
            Some(marked) => pieces(marked).into_any(),
            None => ticket.subject.clone().into_any(),
        };
        let contact = if ticket.contact.name.trim().is_empty() { ticket.contact.email.clone() } else { ticket.contact.name.clone() };
        let excerpt = hit.excerpt.map(|e| {
            let note = e.kind == MessageKind::Note;
            view! {
                <p class="excerpt" class:note=note>
                    {note.then(|| view! { <span class="tag">{t(Msg::InternalNote)}</span> })}
                    <span class="author">{e.author_name}": "</span>
                    {e.cut_before.then_some("… ")}
                    {pieces(e.pieces)}
                    {e.cut_after.then_some(" …")}
                </p>
            }
        });
        view! {
            <li class="search-hit" data-number=number>
                <div class="hit-head">
                    <a class="hit-subject" href=Route::Ticket(number).path() on:click=open(number)>
                        <span class="num">{labels::ticket_number(number)}</span>" "{subject}
                    </a>
                    <span class=format!("badge status-{}", ticket.status.as_str())>{labels::status(ticket.status)}</span>
                    <span class="muted" title=ticket.contact.email.clone()>{contact}</span>
                    {ticket.assignee.map(|a| view! { <span class="muted">"→ "{a.display_name}</span> })}
                    {ticket.tags.into_iter().map(|tag| view! { <span class="tag">{tag}</span> }).collect_view()}
                </div>
                {excerpt}
            </li>
        }
    };

    view! {
        <div class="section-head">
            <h1 id="search-title">{t(Msg::SearchTitle)}</h1>
        </div>
        <form id="search-form" class="toolbar" role="search" on:submit=submit>
            <label class="visually-hidden" for="search-query">{t(Msg::SearchTickets)}</label>
            <input id="search-query" class="wide" type="search" autofocus placeholder=t(Msg::SearchAllTickets)
                bind:value=input maxlength="500" />
            <button type="submit">{t(Msg::SearchButton)}</button>
        </form>
        <details id="search-help" class="help">
            <summary>{t(Msg::SearchSyntax)}</summary>
            <p>{t(Msg::SearchSyntaxWords)}</p>
            <p>{t(Msg::SearchSyntaxPhrase)}</p>
            <p>
                {t(Msg::SearchSyntaxFilters)}" "
                <code>"status:open,pending"</code>" "<code>"priority:high"</code>" "<code>"assignee:me"</code>" "
                <code>"assignee:none"</code>" "<code>"tag:billing"</code>" "<code>"from:acme.com"</code>" "
                <code>"inbox:Support"</code>" "<code>"team:Billing"</code>
            </p>
        </details>
        {move || match results.get() {
            Results::Idle => view! { <p class="muted">{t(Msg::SearchEmpty)}</p> }.into_any(),
            Results::Loading => view! { <p class="muted" aria-live="polite">{t(Msg::Searching)}</p> }.into_any(),
            Results::Failed(message) => view! { <p id="search-error" class="error" role="alert">{message}</p> }.into_any(),
            Results::Loaded { hits, total, more_than_total, next } => {
                let count = crate::i18n::number(i64::from(total));
                let summary = if more_than_total { tf(Msg::SearchCountMore, &[("count", &count)]) } else { tf(Msg::SearchCount, &[("count", &count)]) };
                view! {
                    <p id="search-count" class="muted" aria-live="polite">{summary}</p>
                    {hits.is_empty().then(|| view! { <p class="muted empty">{t(Msg::SearchNoResults)}</p> })}
                    <ol id="search-results" class="search-results">
                        {hits.into_iter().map(hit_view).collect_view()}
                    </ol>
                    {next.map(|_| view! {
                        <button id="search-more" type="button" class="secondary" on:click=more>{t(Msg::LoadMore)}</button>
                    })}
                }.into_any()
            }
        }}
    }
}
