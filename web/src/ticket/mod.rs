//! The ticket page: conversation and timeline, composer, side panel, and who else is here.
//!
//! The send guard: the page remembers the newest message the agent has been shown. Messages
//! that arrive while the page is open are announced (`#new-activity`), not slipped in above
//! the agent's draft; a reply or note sent without having seen them is refused by the server
//! (409) and the UI then shows them, marked as new, keeping the draft.
//!
//! Ids: `#ticket-subject`, `#presence` (`.viewer[data-user]`, `.typing`), `#new-activity`
//! (`#show-new`), `#ticket-error`.

mod caret;
mod composer;
mod conversation;
mod panel;
mod reminders;

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Message, Ticket, TicketDetail};

use crate::api;
use crate::i18n::{Msg, t, tf};
use crate::labels;
use crate::live::use_live;
use crate::shell::use_current;

use composer::Composer;
use conversation::Conversation;
use panel::SidePanel;

/// What the page shows and knows about one ticket. Cheap to copy; passed to the parts.
#[derive(Debug, Clone, Copy)]
pub struct TicketState {
    pub number: i64,
    /// The ticket's fields as the server has them now (updated live).
    pub ticket: RwSignal<Option<Ticket>>,
    /// Messages shown in the conversation.
    pub shown: RwSignal<Vec<Message>>,
    /// Messages that arrived while the page was open, not shown yet.
    pub waiting: RwSignal<Vec<Message>>,
    /// Ids of messages to mark as new (they were shown because of the guard or on request).
    pub fresh: RwSignal<BTreeSet<i64>>,
    pub events: RwSignal<Vec<tandem_proto::Event>>,
    /// The customer's rating, if they gave one.
    pub satisfaction: RwSignal<Option<tandem_proto::Satisfaction>>,
    /// Whom a reply copies unless the agent changes it (the composer's Cc field starts so).
    pub reply_cc: RwSignal<Vec<tandem_proto::MailAddress>>,
}

impl TicketState {
    /// The newest message id the agent has been shown (what the send guard checks).
    pub fn last_seen_message_id(self) -> Option<i64> {
        let shown = self.shown.with_untracked(|m| m.iter().map(|m| m.id).max());
        // Anything from the first unseen message on counts as unseen, even if the agent's
        // own later message (another tab) is shown.
        match self.waiting.with_untracked(|w| w.iter().map(|m| m.id).min()) {
            Some(first_unseen) => shown.map(|id| id.min(first_unseen - 1)),
            None => shown,
        }
    }

    /// Shows the waiting messages (or those the server says were missed), marked as new.
    pub fn reveal(self, mut messages: Vec<Message>) {
        messages.extend(self.waiting.get_untracked());
        self.waiting.set(Vec::new());
        self.shown.update(|shown| {
            let known: BTreeSet<i64> = shown.iter().map(|m| m.id).collect();
            for message in messages {
                if !known.contains(&message.id) && !shown.iter().any(|m| m.id == message.id) {
                    self.fresh.update(|f| {
                        f.insert(message.id);
                    });
                    shown.push(message);
                }
            }
            shown.sort_by_key(|m| m.id);
        });
    }

    /// The agent's own message, just posted: shown at once.
    pub fn posted(self, message: Message, ticket: Ticket) {
        self.shown.update(|shown| {
            if !shown.iter().any(|m| m.id == message.id) {
                shown.push(message);
            }
        });
        self.ticket.set(Some(ticket));
    }
}

#[component]
pub fn TicketPage(number: i64) -> impl IntoView {
    let live = use_live();
    let current = use_current();
    let state = TicketState {
        number,
        ticket: RwSignal::new(None),
        shown: RwSignal::new(Vec::new()),
        waiting: RwSignal::new(Vec::new()),
        fresh: RwSignal::new(BTreeSet::new()),
        events: RwSignal::new(Vec::new()),
        satisfaction: RwSignal::new(None),
        reply_cc: RwSignal::new(Vec::new()),
    };
    let error = RwSignal::new(None::<String>);
    let path = format!("/api/v1/tickets/{number}");

    // `first`: show everything; later (live): update fields and events, hold new messages.
    let load = {
        let path = path.clone();
        move |first: bool| {
            let path = path.clone();
            spawn_local(async move {
                match api::get::<TicketDetail>(&path, &[]).await {
                    Ok(detail) => {
                        error.set(None);
                        if first {
                            state.shown.set(detail.messages);
                        } else {
                            let mine = current.user_id();
                            let mut waiting = Vec::new();
                            state.shown.update(|shown| {
                                for message in detail.messages {
                                    if let Some(old) = shown.iter_mut().find(|m| m.id == message.id) {
                                        // Delivery states change (queued → sent): refresh in place.
                                        *old = message;
                                    } else if message.author.kind == tandem_proto::ActorKind::User && message.author.id == Some(mine) {
                                        // The agent's own messages (from another tab) are not news to them.
                                        shown.push(message);
                                    } else {
                                        waiting.push(message);
                                    }
                                }
                                shown.sort_by_key(|m| m.id);
                            });
                            state.waiting.set(waiting);
                        }
                        state.events.set(detail.events);
                        state.satisfaction.set(detail.satisfaction);
                        state.reply_cc.set(detail.reply_cc);
                        state.ticket.set(Some(detail.ticket));
                    }
                    Err(failure) => error.set(Some(current.explain(Msg::LoadTicketFailed, &failure))),
                }
            });
        }
    };
    load(true);

    live.viewing(Some(number));
    on_cleanup(move || live.viewing(None));

    // Live: reload when this ticket changes or the socket came back (not when other tickets
    // change: `changed` holds every ticket's newest event).
    let reload = load.clone();
    let watched = Memo::new(move |_| (live.changed.with(|c| c.get(&number).copied()), live.resync.get()));
    let start = watched.get_untracked();
    Effect::new(move |_| {
        if watched.get() != start {
            reload(false);
        }
    });

    let viewers = move || live.others_viewing(number);

    view! {
        <div class="ticket-page">
            {move || error.get().map(|message| view! { <p id="ticket-error" class="error" role="alert">{message}</p> })}
            {move || state.ticket.get().map(|ticket| view! {
                <div class="section-head">
                    <h1 id="ticket-subject">
                        <span class="muted">{labels::ticket_number(ticket.number)}" "</span>
                        {ticket.subject.clone()}
                    </h1>
                    {ticket.merged_into.map(|into| view! {
                        <p class="notice">{tf(Msg::MergedIntoNotice, &[("into", &labels::ticket_number(into))])}</p>
                    })}
                </div>
            })}
            <div id="presence" class="presence" aria-live="polite">
                {move || {
                    let others = viewers();
                    (!others.is_empty()).then(|| view! {
                        <span class="muted">{t(Msg::AlsoViewing)}</span>
                        {others.into_iter().map(|viewer| {
                            let initials = labels::initials(&viewer.display_name);
                            let title = if viewer.typing {
                                tf(Msg::IsTyping, &[("name", &viewer.display_name)])
                            } else {
                                viewer.display_name.clone()
                            };
                            let hidden = title.clone();
                            let note = title.clone();
                            view! {
                                <span class="viewer" class:typing=viewer.typing data-user=viewer.user_id title=title>
                                    <span class="avatar" aria-hidden="true">{initials}</span>
                                    <span class="visually-hidden">{hidden}</span>
                                    {viewer.typing.then(|| view! { <span class="typing-note">{note}</span> })}
                                </span>
                            }
                        }).collect_view()}
                    })
                }}
            </div>
            {move || {
                let waiting = state.waiting.get();
                (!waiting.is_empty()).then(|| view! {
                    <div id="new-activity" class="notice" role="status">
                        {tf(Msg::NewMessagesArrived, &[("n", &waiting.len())])}" "
                        <button id="show-new" type="button" class="small" on:click=move |_| state.reveal(Vec::new())>
                            {t(Msg::Show)}
                        </button>
                    </div>
                })
            }}
            <div class="ticket-columns">
                <section class="conversation-column" aria-label=t(Msg::Conversation)>
                    <Conversation state=state />
                    {move || current.can_work().then(|| view! { <Composer state=state /> })}
                </section>
                <SidePanel state=state />
            </div>
        </div>
    }
}
