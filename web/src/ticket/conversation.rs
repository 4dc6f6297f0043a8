//! The conversation and the timeline, interleaved by time.
//!
//! Ids and classes: `#conversation`; messages `.message` with `data-id` and `data-kind`
//! (`inbound`, `reply`, `note`, `auto_reply`, `system`), `.fresh` when shown by the guard or
//! on request, `.message-body`, `.load-remote`, `.attachment`, a reply's `.copies` and
//! `.blind-copies`, `.delivery-error` and `.send-again` on a failed delivery (the error also on
//! a sent reply whose copies were refused); events `.event` with `data-kind` (e.g.
//! `plugin.classified`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{DeliveryState, Event, Message, MessageKind};
use tandem_web_core::timeline;

use crate::api::{self, Method};
use crate::i18n::{self, Msg, t, tf};
use crate::shell::{Current, use_current};
use crate::ticket::TicketState;

enum Item {
    Message(Message),
    Event(Event),
}

#[component]
pub fn Conversation(state: TicketState) -> impl IntoView {
    let current = use_current();
    let items = move || {
        let mut items: Vec<(chrono::DateTime<chrono::Utc>, i64, Item)> = Vec::new();
        for message in state.shown.get() {
            items.push((message.created_at, message.id, Item::Message(message)));
        }
        for event in state.events.get() {
            // Messages speak for themselves; their `message.added` events add nothing, and
            // bookkeeping timestamps (`first_response_at`, …) are for reports, not readers.
            if event.kind == "message.added" || event.field.as_deref().is_some_and(|f| f.ends_with("_at")) {
                continue;
            }
            items.push((event.created_at, event.id, Item::Event(event)));
        }
        items.sort_by_key(|(at, id, item)| (*at, matches!(item, Item::Event(_)), *id));
        items
    };
    view! {
        <div id="conversation" class="conversation">
            {move || items().into_iter().map(|(_, _, item)| match item {
                Item::Message(message) => {
                    let fresh = state.fresh.with_untracked(|f| f.contains(&message.id));
                    message_view(message, fresh, state, current).into_any()
                }
                Item::Event(event) => event_view(event).into_any(),
            }).collect_view()}
        </div>
    }
}

fn kind_label(kind: MessageKind) -> &'static str {
    t(match kind {
        MessageKind::Inbound => Msg::KindInbound,
        MessageKind::Reply => Msg::KindReply,
        MessageKind::Note => Msg::KindNote,
        MessageKind::AutoReply => Msg::KindAutoReply,
        MessageKind::System => Msg::KindSystem,
    })
}

fn delivery_label(state: DeliveryState) -> &'static str {
    t(match state {
        DeliveryState::Queued => Msg::DeliveryQueued,
        DeliveryState::Sending => Msg::DeliverySending,
        DeliveryState::Sent => Msg::DeliverySent,
        DeliveryState::Failed => Msg::DeliveryFailed,
    })
}

/// Addresses as a line shows them: `a@x.test, b@x.test`.
fn emails<'a>(list: impl IntoIterator<Item = &'a tandem_proto::MailAddress>) -> String {
    list.into_iter().map(|a| a.email.as_str()).collect::<Vec<_>>().join(", ")
}

fn message_view(message: Message, fresh: bool, state: TicketState, current: Current) -> impl IntoView {
    let id = message.id;
    let kind = message.kind;
    let class = format!("message {}", kind.as_str().replace('_', "-"));
    let remote = RwSignal::new(false);
    let quoted_open = RwSignal::new(false);
    let has_remote = message.mail.as_ref().is_some_and(|m| m.has_remote_content);
    // An inbound mail's recipients; a reply's copies (the blind ones are shown to the team,
    // never mailed as a header).
    let recipients = message.mail.as_ref().map(|mail| emails(mail.to.iter().chain(&mail.cc))).filter(|s| !s.is_empty());
    let copies = Some(emails(&message.cc)).filter(|s| !s.is_empty());
    let blind_copies = Some(emails(&message.bcc)).filter(|s| !s.is_empty());
    let skipped = message.mail.as_ref().map(|m| m.skipped_parts.clone()).unwrap_or_default();
    let forwarded = message.mail.as_ref().map(|m| m.forwarded.clone()).unwrap_or_default();
    let folded_from = message.mail.as_ref().and_then(|m| m.folded_from);
    let failed = message.delivery_state == Some(DeliveryState::Failed);
    // Sent, but the receiving server refused some of the copies: said under the message.
    let refused_copies = (message.delivery_state == Some(DeliveryState::Sent)).then(|| message.delivery_error.clone()).flatten();

    let body = match message.body_html.clone() {
        // Sanitised by the server (ammonia): no scripts, no handlers, remote images removed.
        Some(html) => view! {
            {move || if remote.get() {
                // Remote content only in a sandboxed frame (no scripts), served with its own
                // Content-Security-Policy; this page's own policy keeps blocking remote loads.
                view! {
                    <iframe class="remote-frame" sandbox="" title=t(Msg::MessageWithRemoteImages)
                        src=format!("/api/v1/messages/{id}/html?remote=true&view=document")></iframe>
                }.into_any()
            } else {
                let html = html.clone();
                let has_quote = html.contains("<blockquote");
                view! {
                    <div class="message-body html" class:quoted-open=move || quoted_open.get() inner_html=html></div>
                    {has_quote.then(|| view! {
                        <button type="button" class="link small toggle-quoted" on:click=move |_| quoted_open.update(|o| *o = !*o)>
                            {move || t(if quoted_open.get() { Msg::HideQuoted } else { Msg::ShowQuoted })}
                        </button>
                    })}
                }.into_any()
            }}
        }.into_any(),
        None => {
            let (visible, folded) = timeline::split_folded(&message.body_text, folded_from);
            view! {
                <div class="message-body text">{visible}</div>
                {folded.map(|rest| view! {
                    <details class="quoted">
                        <summary>{t(Msg::ShowQuoted)}</summary>
                        <div class="message-body text">{rest}</div>
                    </details>
                })}
            }.into_any()
        }
    };

    view! {
        <article class=class class:fresh=fresh data-id=id data-kind=kind.as_str()>
            <header class="message-head">
                <strong class="author">{message.author.name.clone()}</strong>
                <span class="badge kind">{kind_label(kind)}</span>
                {fresh.then(|| view! { <span class="badge new">{t(Msg::New)}</span> })}
                <time class="muted" datetime=message.created_at.to_rfc3339()>{i18n::datetime(message.created_at)}</time>
                {message.delivery_state.map(|state| view! {
                    <span class=format!("delivery {}", state.as_str()) title=message.delivery_error.clone().unwrap_or_default()>
                        {delivery_label(state)}
                    </span>
                })}
            </header>
            {recipients.map(|to| view! { <p class="muted small">{tf(Msg::ToRecipients, &[("to", &to)])}</p> })}
            {copies.map(|cc| view! { <p class="muted small copies">{tf(Msg::CcRecipients, &[("cc", &cc)])}</p> })}
            {blind_copies.map(|bcc| view! { <p class="muted small blind-copies">{tf(Msg::BccRecipients, &[("bcc", &bcc)])}</p> })}
            {body}
            {has_remote.then(|| view! {
                <p class="remote-note muted small">
                    {t(Msg::RemoteImagesBlocked)}" "
                    <button type="button" class="link small load-remote" on:click=move |_| remote.set(true)
                        disabled=move || remote.get()>
                        {t(Msg::LoadRemoteImages)}
                    </button>
                </p>
            })}
            {forwarded.into_iter().map(|f| view! {
                <details class="forwarded">
                    <summary>{tf(Msg::ForwardedMessage, &[("subject", &f.subject)])}</summary>
                    <div class="message-body text">{f.text}</div>
                </details>
            }).collect_view()}
            {(!message.attachments.is_empty()).then(|| view! {
                <ul class="attachments">
                    {message.attachments.into_iter().map(|a| view! {
                        <li>
                            <a class="attachment" href=format!("/api/v1/attachments/{}", a.id) download=a.filename.clone()>
                                {a.filename.clone()}
                            </a>
                            <span class="muted small">" "{format_size(a.size)}</span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {skipped.into_iter().map(|part| view! {
                <p class="muted small">{tf(Msg::PartNotStored, &[("name", &part.filename), ("reason", &part.reason)])}</p>
            }).collect_view()}
            {refused_copies.map(|e| view! { <p class="error small delivery-error">{e}</p> })}
            {failed.then(|| view! {
                {message.delivery_error.map(|e| view! { <p class="error small delivery-error">{e}</p> })}
                {current.can_work().then(|| send_again(id, state, current))}
            })}
        </article>
    }
}

/// "Send again" under a failed delivery: the server queues the message again (or says why
/// not, e.g. while the inbox has no SMTP), and the message shows its new state in place.
fn send_again(id: i64, state: TicketState, current: Current) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let click = move |_| {
        busy.set(true);
        spawn_local(async move {
            let outcome = api::send_json::<_, Message>(Method::Post, &format!("/api/v1/messages/{id}/resend"), &()).await;
            // Set before the message is replaced: replacing it renders this view anew.
            busy.try_set(false);
            match outcome {
                Ok(queued) => state.shown.update(|shown| {
                    if let Some(old) = shown.iter_mut().find(|m| m.id == id) {
                        *old = queued;
                    }
                }),
                Err(failure) => {
                    error.try_set(Some(current.explain(Msg::ResendFailed, &failure)));
                }
            }
        });
    };
    view! {
        <div class="send-again-row">
            <button type="button" class="small secondary send-again" on:click=click disabled=move || busy.get()>{t(Msg::SendAgain)}</button>
            {move || error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
        </div>
    }
}

pub(crate) fn format_size(bytes: i64) -> String {
    if bytes < 1024 {
        format!("{} B", i18n::number(bytes))
    } else if bytes < 1024 * 1024 {
        format!("{} KB", i18n::number(bytes / 1024))
    } else {
        format!("{} MB", i18n::number(bytes / (1024 * 1024)))
    }
}

/// One line of the timeline: who did what, and for plugins, what they decided and why.
fn event_view(event: Event) -> impl IntoView {
    let summary = event_summary(&event);
    let reason = timeline::reason_of(&event.after);
    view! {
        <div class="event" data-kind=event.kind.clone()>
            <span class="event-actor">{event.actor.name.clone()}</span>" "
            <span class="event-text">{summary}</span>
            {reason.map(|r| view! { <span class="event-reason">" — "{r}</span> })}
            " "<time class="muted small" datetime=event.created_at.to_rfc3339()>{i18n::datetime(event.created_at)}</time>
        </div>
    }
}

fn event_summary(event: &Event) -> String {
    match (event.kind.as_str(), event.field.as_deref()) {
        ("ticket.created", _) => t(Msg::EventCreated).to_owned(),
        ("ticket.updated", Some(field)) => tf(
            Msg::EventChanged,
            &[("field", &field), ("before", &timeline::compact(&event.before)), ("after", &timeline::compact(&event.after))],
        ),
        ("ticket.merged", _) => tf(Msg::EventMerged, &[("detail", &timeline::compact(&event.after))]),
        ("ticket.absorbed", _) => tf(Msg::EventAbsorbed, &[("detail", &timeline::compact(&event.after))]),
        ("ticket.split", _) => tf(Msg::EventSplit, &[("detail", &timeline::compact(&event.after))]),
        ("ticket.follow_up", _) => tf(Msg::EventFollowUp, &[("detail", &timeline::compact(&event.after))]),
        ("message.bounced", _) => tf(Msg::EventBounced, &[("detail", &timeline::compact(&event.after))]),
        ("message.sent", _) => t(Msg::EventSent).to_owned(),
        ("message.delivery_failed", _) => {
            tf(Msg::EventDeliveryFailed, &[("error", &event.after.get("error").and_then(|e| e.as_str()).unwrap_or_default())])
        }
        ("message.resent", _) => t(Msg::EventResent).to_owned(),
        (kind, _) if kind.starts_with("plugin.") => {
            let decision = event.after.get("decision").map(timeline::compact).unwrap_or_default();
            tf(Msg::EventPlugin, &[("kind", &kind.trim_start_matches("plugin.")), ("decision", &decision)])
        }
        (kind, field) => format!("{kind}{}", field.map(|f| format!(" {f}")).unwrap_or_default()),
    }
}
