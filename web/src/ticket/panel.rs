//! The side panel: the ticket's fields (status, priority, assignee, team, tags, category) and
//! the contact with their other tickets.
//!
//! Ids: `#ticket-status`, `#ticket-priority`, `#ticket-assignee`, `#assign-me`, `#ticket-team`,
//! `#ticket-tags`, `#ticket-category`, `#solve`, `#panel-error`, `#contact-tickets`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{AssignTicket, Page, Priority, Ticket, TicketStatus, UpdateTicket};

use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t};
use crate::labels;
use crate::route::{Route, use_router};
use crate::shell::use_current;
use crate::shortcuts::{Command, use_shortcuts};
use crate::ticket::TicketState;

#[component]
pub fn SidePanel(state: TicketState) -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let router = use_router();
    let shortcuts = use_shortcuts();
    let number = state.number;
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let others = RwSignal::new(Vec::<Ticket>::new());
    let assignee_ref = NodeRef::<leptos::html::Select>::new();
    let can_work = current.can_work();

    // The contact's other tickets, once the ticket is known.
    let contact_id = Memo::new(move |_| state.ticket.with(|t| t.as_ref().map(|t| t.contact.id)));
    Effect::new(move |_| {
        let Some(id) = contact_id.get() else { return };
        spawn_local(async move {
            let path = format!("/api/v1/contacts/{id}/tickets");
            if let Ok(page) = api::get::<Page<Ticket>>(&path, &[]).await {
                others.set(page.items.into_iter().filter(|t| t.number != number).collect());
            }
        });
    });

    let finish = move |result: Result<Ticket, api::ApiError>| {
        match result {
            Ok(ticket) => state.ticket.set(Some(ticket)),
            Err(failure) if failure.is_conflict() => {
                error.set(Some(t(Msg::TicketChangedMeanwhile).to_owned()));
                // Fetch the current fields so the next change uses the right version.
                spawn_local(async move {
                    if let Ok(detail) = api::get::<tandem_proto::TicketDetail>(&format!("/api/v1/tickets/{number}"), &[]).await {
                        state.ticket.set(Some(detail.ticket));
                    }
                });
            }
            Err(failure) => error.set(Some(current.explain(Msg::ChangeFailed, &failure))),
        }
        busy.set(false);
    };
    let update = move |change: UpdateTicket| {
        let Some(version) = state.ticket.with_untracked(|t| t.as_ref().map(|t| t.version)) else { return };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let request = UpdateTicket { version, ..change };
            finish(api::send_json::<_, Ticket>(Method::Patch, &format!("/api/v1/tickets/{number}"), &request).await);
        });
    };
    let assign = move |assignee_id: Option<i64>| {
        busy.set(true);
        error.set(None);
        let version = state.ticket.with_untracked(|t| t.as_ref().map(|t| t.version));
        spawn_local(async move {
            let request = AssignTicket { assignee_id, team_id: None, version };
            finish(api::send_json::<_, Ticket>(Method::Post, &format!("/api/v1/tickets/{number}/assign"), &request).await);
        });
    };

    shortcuts.on(move |command| match command {
        Command::Assign if can_work => {
            if let Some(select) = assignee_ref.get_untracked() {
                let _ = select.focus();
            }
        }
        Command::Solve if can_work => update(UpdateTicket { status: Some(TicketStatus::Solved), ..UpdateTicket::default() }),
        _ => {}
    });

    move || {
        let Some(ticket) = state.ticket.get() else {
            return view! { <aside class="side-panel"><p class="muted">{t(Msg::Loading)}</p></aside> }.into_any();
        };
        let me = current.user_id();
        let assignee_id = ticket.assignee.as_ref().map(|u| u.id);
        let tags = ticket.tags.join(", ");
        let contact_name = if ticket.contact.name.trim().is_empty() { ticket.contact.email.clone() } else { ticket.contact.name.clone() };
        view! {
            <aside class="side-panel" aria-label=t(Msg::TicketDetails)>
                {move || error.get().map(|message| view! { <p id="panel-error" class="error" role="alert">{message}</p> })}
                <section>
                    <h2>{t(Msg::Contact)}</h2>
                    <p class="contact"><strong>{contact_name}</strong><br/><span class="muted">{ticket.contact.email.clone()}</span></p>
                </section>
                <section class="fields">
                    <label for="ticket-status">{t(Msg::Status)}</label>
                    <select id="ticket-status" disabled=move || busy.get() || !can_work
                        on:change=move |ev| {
                            if let Ok(status) = event_target_value(&ev).parse::<TicketStatus>() {
                                update(UpdateTicket { status: Some(status), ..UpdateTicket::default() });
                            }
                        }>
                        {TicketStatus::ALL.iter().map(|s| view! {
                            <option value=s.as_str() selected=*s == ticket.status>{labels::status(*s)}</option>
                        }).collect_view()}
                    </select>
                    <label for="ticket-priority">{t(Msg::Priority)}</label>
                    <select id="ticket-priority" disabled=move || busy.get() || !can_work
                        on:change=move |ev| {
                            if let Ok(priority) = event_target_value(&ev).parse::<Priority>() {
                                update(UpdateTicket { priority: Some(priority), ..UpdateTicket::default() });
                            }
                        }>
                        {Priority::ALL.iter().map(|p| view! {
                            <option value=p.as_str() selected=*p == ticket.priority>{labels::priority(*p)}</option>
                        }).collect_view()}
                    </select>
                    <label for="ticket-assignee">{t(Msg::Assignee)}</label>
                    <div class="row">
                        <select id="ticket-assignee" node_ref=assignee_ref disabled=move || busy.get() || !can_work
                            on:change=move |ev| {
                                let value = event_target_value(&ev);
                                assign(value.parse::<i64>().ok());
                            }>
                            <option value="" selected=assignee_id.is_none()>{t(Msg::Unassigned)}</option>
                            {move || directory.users.get().into_iter().filter(|u| !u.disabled).map(|user| view! {
                                <option value=user.id.to_string() selected=Some(user.id) == assignee_id>{user.display_name}</option>
                            }).collect_view()}
                        </select>
                        {(can_work && assignee_id != Some(me)).then(|| view! {
                            <button id="assign-me" type="button" class="secondary small" disabled=move || busy.get()
                                on:click=move |_| assign(Some(me))>{t(Msg::TakeIt)}</button>
                        })}
                    </div>
                    <label for="ticket-team">{t(Msg::Team)}</label>
                    <select id="ticket-team" disabled=move || busy.get() || !can_work
                        on:change=move |ev| {
                            let team = event_target_value(&ev).parse::<i64>().ok();
                            update(UpdateTicket { team_id: Some(team), ..UpdateTicket::default() });
                        }>
                        <option value="" selected=ticket.team_id.is_none()>{t(Msg::NoTeam)}</option>
                        {move || directory.teams.get().into_iter().map(|team| view! {
                            <option value=team.id.to_string() selected=Some(team.id) == ticket.team_id>{team.name}</option>
                        }).collect_view()}
                    </select>
                    <label for="ticket-tags">{t(Msg::Tags)}</label>
                    <input id="ticket-tags" type="text" value=tags disabled=!can_work
                        on:change=move |ev| {
                            let tags = event_target_value(&ev).split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
                            update(UpdateTicket { tags: Some(tags), ..UpdateTicket::default() });
                        } />
                    <label for="ticket-category">{t(Msg::Category)}</label>
                    <input id="ticket-category" type="text" value=ticket.category.clone().unwrap_or_default() disabled=!can_work
                        on:change=move |ev| {
                            let value = event_target_value(&ev).trim().to_owned();
                            update(UpdateTicket { category: Some(Some(value).filter(|v| !v.is_empty())), ..UpdateTicket::default() });
                        } />
                    {(can_work && ticket.status != TicketStatus::Solved).then(|| view! {
                        <button id="solve" type="button" disabled=move || busy.get()
                            on:click=move |_| update(UpdateTicket { status: Some(TicketStatus::Solved), ..UpdateTicket::default() })>
                            {t(Msg::MarkSolved)}
                        </button>
                    })}
                </section>
                {ticket.sla.clone().map(|sla| {
                    let due = |msg: Msg, at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| view! {
                        <dt>{t(msg)}</dt><dd>{crate::i18n::datetime(at)}</dd>
                    });
                    view! {
                        <section id="sla" class=format!("sla sla-{}", sla.state.as_str())>
                            <h2>{t(Msg::ServiceLevel)}</h2>
                            <p><span class=format!("badge sla-{}", sla.state.as_str())>{labels::sla_state(sla.state)}</span>" "
                                <span class="muted">{sla.policy_name.clone()}</span></p>
                            <dl class="sla-dues">
                                {due(Msg::FirstResponseDue, sla.first_response_due_at)}
                                {due(Msg::NextResponseDue, sla.next_response_due_at)}
                                {due(Msg::ResolutionDue, sla.resolution_due_at)}
                            </dl>
                        </section>
                    }
                })}
                <super::reminders::Reminders number=number />
                {move || state.satisfaction.get().map(|s| view! {
                    <section id="satisfaction" class=format!("csat csat-{}", s.rating.as_str())>
                        <h2>{t(Msg::CustomerRating)}</h2>
                        <p><strong>{labels::csat(s.rating)}</strong>{s.score.map(|n| format!(" ({n}/5)"))}" "<span class="muted">{crate::i18n::datetime(s.rated_at)}</span></p>
                        {s.comment.map(|c| view! { <blockquote class="csat-comment">{c}</blockquote> })}
                    </section>
                })}
                <section>
                    <h2>{t(Msg::OtherTickets)}</h2>
                    <ul id="contact-tickets" class="plain">
                        {move || {
                            let list = others.get();
                            if list.is_empty() {
                                view! { <li class="muted">{t(Msg::NoOtherTickets)}</li> }.into_any()
                            } else {
                                list.into_iter().map(|other| {
                                    let n = other.number;
                                    view! {
                                        <li>
                                            <a href=Route::Ticket(n).path() on:click=move |ev| { ev.prevent_default(); router.go(Route::Ticket(n)); }>
                                                {labels::ticket_number(n)}" "{other.subject}
                                            </a>
                                            " "<span class=format!("badge status-{}", other.status.as_str())>{labels::status(other.status)}</span>
                                        </li>
                                    }
                                }).collect_view().into_any()
                            }
                        }}
                    </ul>
                </section>
            </aside>
        }.into_any()
    }
}
