//! The composer: a reply to the customer or an internal note, with templates, a draft kept in
//! the browser until sent, the typing signal for others, and send-and-set-status.
//!
//! Ids: `#composer`, `#mode-reply`, `#mode-note`, `#template-picker`, `#composer-body`,
//! `#send-status`, `#send`, `#composer-error`, `#composer-sent`.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{MessagePosted, PostMessage, PreviewTemplate, RenderedTemplate, Template, TicketStatus};

use crate::api::{self, Method};
use crate::i18n::{Msg, t};
use crate::labels;
use crate::live::use_live;
use crate::shell::use_current;
use crate::shortcuts::{Command, use_shortcuts};
use crate::storage::{self, Draft};
use crate::ticket::TicketState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reply,
    Note,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Reply => "reply",
            Mode::Note => "note",
        }
    }
}

#[component]
pub fn Composer(state: TicketState) -> impl IntoView {
    let current = use_current();
    let live = use_live();
    let shortcuts = use_shortcuts();
    let user_id = current.user_id();
    let number = state.number;

    let draft = storage::load_draft(user_id, number).unwrap_or_default();
    let mode = RwSignal::new(if draft.mode == "note" { Mode::Note } else { Mode::Reply });
    let body = RwSignal::new(draft.body);
    let set_status = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sent = RwSignal::new(None::<&'static str>);
    let templates = RwSignal::new(Vec::<Template>::new());
    let body_ref = NodeRef::<leptos::html::Textarea>::new();

    spawn_local(async move {
        if let Ok(list) = api::get::<Vec<Template>>("/api/v1/templates", &[]).await {
            templates.set(list);
        }
    });

    // Typing: tell others at most every 3 s while keys come, and "stopped" 4 s after the last.
    let last_typing_sent = StoredValue::new(0f64);
    let last_key = StoredValue::new(0f64);
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        body.set(text.clone());
        sent.set(None);
        storage::save_draft(user_id, number, &Draft { mode: mode.get_untracked().as_str().into(), body: text });
        let now = js_sys::Date::now();
        last_key.set_value(now);
        if now - last_typing_sent.get_value() > 3000.0 {
            last_typing_sent.set_value(now);
            live.typing(true);
        }
        set_timeout(
            move || {
                if js_sys::Date::now() - last_key.get_value() >= 3900.0 && last_typing_sent.get_value() > 0.0 {
                    last_typing_sent.set_value(0.0);
                    live.typing(false);
                }
            },
            Duration::from_millis(4000),
        );
    };
    let set_mode = move |next: Mode| {
        mode.set(next);
        storage::save_draft(user_id, number, &Draft { mode: next.as_str().into(), body: body.get_untracked() });
    };

    let on_template = move |ev: leptos::ev::Event| {
        let Ok(template_id) = event_target_value(&ev).parse::<i64>() else { return };
        let request = PreviewTemplate { template_id: Some(template_id), ticket_number: Some(number), ..PreviewTemplate::default() };
        spawn_local(async move {
            match api::send_json::<_, RenderedTemplate>(Method::Post, "/api/v1/templates/preview", &request).await {
                Ok(rendered) => {
                    // Inserted for editing, after whatever was written already.
                    let existing = body.get_untracked();
                    let text = if existing.trim().is_empty() { rendered.body } else { format!("{}\n\n{}", existing.trim_end(), rendered.body) };
                    body.set(text.clone());
                    storage::save_draft(user_id, number, &Draft { mode: mode.get_untracked().as_str().into(), body: text });
                    if let Some(area) = body_ref.get_untracked() {
                        let _ = area.focus();
                    }
                }
                Err(failure) => error.set(Some(current.explain(Msg::TemplateFailed, &failure))),
            }
        });
    };

    let send = move || {
        let text = body.get_untracked();
        if sending.get_untracked() || text.trim().is_empty() {
            return;
        }
        let current_mode = mode.get_untracked();
        let status = set_status.get_untracked().parse::<TicketStatus>().ok().filter(|_| current_mode == Mode::Reply);
        let request = PostMessage {
            body_text: text,
            body_html: None,
            seen_version: None,
            last_seen_message_id: state.last_seen_message_id(),
            set_status: status,
        };
        let path = match current_mode {
            Mode::Reply => format!("/api/v1/tickets/{number}/replies"),
            Mode::Note => format!("/api/v1/tickets/{number}/notes"),
        };
        sending.set(true);
        error.set(None);
        spawn_local(async move {
            match api::send_json::<_, MessagePosted>(Method::Post, &path, &request).await {
                Ok(posted) => {
                    state.posted(posted.message, posted.ticket);
                    body.set(String::new());
                    set_status.set(String::new());
                    storage::clear_draft(user_id, number);
                    sent.set(Some(t(if current_mode == Mode::Reply { Msg::ReplySent } else { Msg::NoteAdded })));
                    last_typing_sent.set_value(0.0);
                    live.typing(false);
                }
                Err(failure) if failure.is_conflict() && !failure.unseen().is_empty() => {
                    // The guard: nothing was sent; show what arrived, keep the draft.
                    state.reveal(failure.unseen().to_vec());
                    error.set(Some(t(Msg::GuardStopped).to_owned()));
                }
                Err(failure) => error.set(Some(current.explain(Msg::SendFailed, &failure))),
            }
            sending.set(false);
        });
    };

    let focus_as = move |next: Mode| {
        set_mode(next);
        if let Some(area) = body_ref.get_untracked() {
            let _ = area.focus();
        }
    };
    shortcuts.on(move |command| match command {
        Command::Reply => focus_as(Mode::Reply),
        Command::Note => focus_as(Mode::Note),
        _ => {}
    });

    view! {
        <form id="composer" class="composer" class:note=move || mode.get() == Mode::Note
            on:submit=move |ev| { ev.prevent_default(); send(); }>
            <div class="tabs" role="radiogroup" aria-label=t(Msg::ComposerMode)>
                <button id="mode-reply" type="button" role="radio" class="tab"
                    aria-checked=move || (mode.get() == Mode::Reply).to_string()
                    on:click=move |_| set_mode(Mode::Reply)>{t(Msg::Reply)}</button>
                <button id="mode-note" type="button" role="radio" class="tab"
                    aria-checked=move || (mode.get() == Mode::Note).to_string()
                    on:click=move |_| set_mode(Mode::Note)>{t(Msg::InternalNote)}</button>
                <label class="visually-hidden" for="template-picker">{t(Msg::InsertTemplate)}</label>
                <select id="template-picker" on:change=on_template prop:value="">
                    <option value="">{t(Msg::InsertTemplate)}</option>
                    {move || templates.get().into_iter().map(|tpl| view! {
                        <option value=tpl.id.to_string()>{tpl.name}</option>
                    }).collect_view()}
                </select>
            </div>
            <label class="visually-hidden" for="composer-body">
                {move || t(if mode.get() == Mode::Note { Msg::NotePlaceholder } else { Msg::ReplyPlaceholder })}
            </label>
            <textarea id="composer-body" rows="6" node_ref=body_ref
                placeholder=move || t(if mode.get() == Mode::Note { Msg::NotePlaceholder } else { Msg::ReplyPlaceholder })
                prop:value=move || body.get()
                on:input=on_input
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        send();
                    }
                }></textarea>
            {move || error.get().map(|message| view! { <p id="composer-error" class="error" role="alert">{message}</p> })}
            {move || sent.get().map(|message| view! { <p id="composer-sent" class="notice" role="status">{message}</p> })}
            <div class="composer-actions">
                {move || (mode.get() == Mode::Reply).then(|| view! {
                    <label for="send-status" class="inline-label">{t(Msg::AndSetStatus)}</label>
                    <select id="send-status" prop:value=move || set_status.get()
                        on:change=move |ev| set_status.set(event_target_value(&ev))>
                        <option value="">{t(Msg::KeepStatus)}</option>
                        {[TicketStatus::Pending, TicketStatus::OnHold, TicketStatus::Solved].into_iter().map(|s| view! {
                            <option value=s.as_str()>{labels::status(s)}</option>
                        }).collect_view()}
                    </select>
                })}
                <button id="send" type="submit" disabled=move || sending.get() || body.with(|b| b.trim().is_empty())>
                    {move || t(if mode.get() == Mode::Note { Msg::AddNote } else { Msg::SendReply })}
                </button>
            </div>
        </form>
    }
}
