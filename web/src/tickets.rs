//! The ticket list of the signed-in view.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Page, Ticket};

use crate::api::{self, ApiError};
use crate::labels;

#[derive(Debug, Clone, PartialEq)]
enum Tickets {
    Loading,
    Loaded(Page<Ticket>),
    Failed(String),
}

/// The first page of `GET /api/v1/tickets` as a table. A 401 (the session expired meanwhile)
/// is handed to `on_unauthenticated` instead of being shown.
#[component]
pub fn TicketList(on_unauthenticated: Callback<()>) -> impl IntoView {
    let tickets = RwSignal::new(Tickets::Loading);

    let load = move || {
        tickets.set(Tickets::Loading);
        spawn_local(async move {
            match api::first_ticket_page().await {
                Ok(page) => tickets.set(Tickets::Loaded(page)),
                Err(error) if error.is_unauthenticated() => on_unauthenticated.run(()),
                Err(error) => tickets.set(Tickets::Failed(describe(&error))),
            }
        });
    };
    load();

    move || match tickets.get() {
        Tickets::Loading => {
            view! { <p class="muted" aria-live="polite">"Loading tickets…"</p> }.into_any()
        }
        Tickets::Failed(message) => view! {
            <div class="error" role="alert">
                <p id="ticket-error">{message}</p>
                <button type="button" class="secondary" on:click=move |_| load()>
                    "Try again"
                </button>
            </div>
        }
        .into_any(),
        Tickets::Loaded(page) => {
            let more = page.next_cursor.is_some();
            let empty = page.items.is_empty();
            let count = page.items.len();
            view! {
                <table id="ticket-list" class="tickets">
                    <caption class="visually-hidden">"Tickets"</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="num">"Number"</th>
                            <th scope="col">"Subject"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Priority"</th>
                            <th scope="col">"Contact"</th>
                            <th scope="col">"Assignee"</th>
                        </tr>
                    </thead>
                    <tbody>{page.items.into_iter().map(ticket_row).collect_view()}</tbody>
                </table>
                {empty.then(|| view! { <p class="muted empty">"No tickets to show."</p> })}
                {more
                    .then(|| {
                        view! {
                            <p class="muted more">
                                {format!("Showing the first {count} tickets.")}
                            </p>
                        }
                    })}
            }
            .into_any()
        }
    }
}

fn ticket_row(ticket: Ticket) -> impl IntoView {
    let status_class = format!("badge status-{}", ticket.status.as_str());
    let priority_class = format!("badge priority-{}", ticket.priority.as_str());
    let contact_title = ticket.contact.email.clone();
    let contact = if ticket.contact.name.trim().is_empty() {
        ticket.contact.email
    } else {
        ticket.contact.name
    };
    let assignee = match ticket.assignee {
        Some(user) => view! { <span>{user.display_name}</span> }.into_any(),
        None => view! { <span class="muted">"Unassigned"</span> }.into_any(),
    };
    view! {
        <tr class="ticket-row" data-number=ticket.number>
            <td class="num">{labels::ticket_number(ticket.number)}</td>
            <td class="subject">{ticket.subject}</td>
            <td>
                <span class=status_class>{labels::status(ticket.status)}</span>
            </td>
            <td>
                <span class=priority_class>{labels::priority(ticket.priority)}</span>
            </td>
            <td title=contact_title>{contact}</td>
            <td>{assignee}</td>
        </tr>
    }
}

fn describe(error: &ApiError) -> String {
    format!("Could not load tickets: {error}.")
}
