//! The composer: a reply to the customer or an internal note, with templates, a draft kept in
//! the browser until sent, the typing signal for others, and send-and-set-status.
//!
//! In a note, typing `@` and the start of a colleague's name or address offers the inbox's
//! members (and the admins) in a list that opens at the caret; ↑/↓ move through it, Enter or
//! Tab (or a click) picks, Esc closes. Picking one writes `@local-part`, which notifies them
//! (the server reads the mentions: `tandem_domain::mention`).
//!
//! Files are uploaded as soon as they are picked (`POST …/uploads`, kept by the server until
//! sent or for a day, so they survive a reload like the draft) and go with the next reply or
//! note.
//!
//! Ids: `#composer`, `#mode-reply`, `#mode-note`, `#template-picker`, `#composer-body`,
//! `#mention-suggestions` (a listbox of `.mention-option`s, `#mention-option-{i}`, the active one
//! `aria-selected`), `#composer-files` (the file input),
//! `#composer-attachments` (`.attachment-chip`, each with a `.remove-attachment` button),
//! `#composer-cc` and `#composer-bcc` (replies only: copies, the Cc starting as the server's
//! "reply all" list until the agent edits it), `#send-status`, `#send`, `#composer-error`,
//! `#composer-sent`.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{MessagePosted, PostMessage, PreviewTemplate, RenderedTemplate, Role, Template, TicketStatus, Upload, UserRef};
use tandem_web_core::{mention, recipients};
use wasm_bindgen::JsCast;

use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t};
use crate::labels;
use crate::live::use_live;
use crate::shell::use_current;
use crate::shortcuts::{Command, use_shortcuts};
use crate::storage::{self, Draft};
use crate::ticket::TicketState;
use crate::ticket::caret;
use crate::ticket::conversation::format_size;

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

/// The mention list's width (CSS `.mention-suggestions`): it opens at the caret, but no
/// further right than the text area allows.
const MENTION_LIST_PX: f64 = 256.0;

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
    // The Cc field follows the server's "reply all" list until the agent edits it.
    let cc_edited = RwSignal::new(draft.cc.is_some());
    let cc = RwSignal::new(draft.cc.unwrap_or_default());
    let bcc = RwSignal::new(draft.bcc);
    // Everything being written, kept in the browser until sent.
    let keep_draft = move |mode: Mode, body: String| {
        let cc = cc_edited.get_untracked().then(|| cc.get_untracked());
        storage::save_draft(user_id, number, &Draft { mode: mode.as_str().into(), body, cc, bcc: bcc.get_untracked() });
    };
    Effect::new(move |_| {
        let default = state.reply_cc.with(|list| recipients::format(list));
        if !cc_edited.get_untracked() {
            cc.set(default);
        }
    });
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let sent = RwSignal::new(None::<&'static str>);
    let templates = RwSignal::new(Vec::<Template>::new());
    let body_ref = NodeRef::<leptos::html::Textarea>::new();
    let directory = use_directory();
    // Files attached and not sent yet (already on the server), and how many are uploading.
    let attached = RwSignal::new(Vec::<Upload>::new());
    let uploading = RwSignal::new(0usize);
    let files_ref = NodeRef::<leptos::html::Input>::new();
    spawn_local(async move {
        if let Ok(list) = api::get::<Vec<Upload>>(&format!("/api/v1/tickets/{number}/uploads"), &[]).await {
            attached.set(list);
        }
    });
    let on_files = move |_| {
        let Some(files) = files_ref.get_untracked().and_then(|input| input.files()) else { return };
        let picked: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        if let Some(input) = files_ref.get_untracked() {
            // Picking the same file again fires `change` again.
            input.set_value("");
        }
        error.set(None);
        for file in picked {
            uploading.update(|n| *n += 1);
            spawn_local(async move {
                let content_type = if file.type_().is_empty() { "application/octet-stream".to_owned() } else { file.type_() };
                let blob: &web_sys::Blob = file.unchecked_ref();
                let query = [("filename", file.name())];
                match api::post_blob::<Upload>(&format!("/api/v1/tickets/{number}/uploads"), &query, &content_type, blob).await {
                    Ok(upload) => attached.update(|list| list.push(upload)),
                    Err(failure) => error.set(Some(current.explain(Msg::UploadFailed, &failure))),
                }
                uploading.update(|n| *n = n.saturating_sub(1));
            });
        }
    };
    let remove_file = move |id: i64| {
        attached.update(|list| list.retain(|u| u.id != id));
        spawn_local(async move {
            let _ = api::send_empty(Method::Delete, &format!("/api/v1/uploads/{id}")).await;
        });
    };
    // Who a note may mention (loaded on the first `@`): the ticket inbox's members and the
    // admins, not the author.
    let colleagues = RwSignal::new(None::<Vec<UserRef>>);
    // The mention being typed: where its `@` is, and what follows it.
    let mention = RwSignal::new(None::<(usize, String)>);
    // Where its list opens (below the caret, in pixels from the text area's corner), and
    // which choice Enter picks.
    let mention_place = RwSignal::new((0f64, 0f64));
    let mention_active = RwSignal::new(0usize);
    let choices = Memo::new(move |_| {
        let Some((_, typed)) = mention.get() else { return Vec::new() };
        colleagues.with(|people| people.as_deref().map(|people| mention::matching(people, &typed).into_iter().cloned().collect()).unwrap_or_default())
    });
    let load_colleagues = move || {
        if colleagues.get_untracked().is_some() {
            return;
        }
        colleagues.set(Some(Vec::new()));
        let Some(inbox) = state.ticket.with_untracked(|t| t.as_ref().map(|t| t.inbox_id)) else { return };
        spawn_local(async move {
            let mut people = api::get::<Vec<UserRef>>(&format!("/api/v1/inboxes/{inbox}/members"), &[]).await.unwrap_or_default();
            directory.users.with_untracked(|users| {
                for admin in users.iter().filter(|u| u.role == Role::Admin && !u.disabled) {
                    if !people.iter().any(|p| p.id == admin.id) {
                        people.push(UserRef { id: admin.id, display_name: admin.display_name.clone(), email: admin.email.clone() });
                    }
                }
            });
            people.retain(|p| p.id != user_id);
            people.sort_by_key(|p| p.display_name.to_lowercase());
            colleagues.set(Some(people));
        });
    };
    let follow_cursor = move |text: &str| {
        let area = (mode.get_untracked() == Mode::Note).then(|| body_ref.get_untracked()).flatten();
        let caret = area.as_ref().and_then(|area| area.selection_start().ok().flatten());
        let typing = caret.and_then(|units| mention::typed_at(text, mention::byte_offset(text, units))).map(|(start, typed)| (start, typed.to_owned()));
        if let (Some((start, _)), Some(area)) = (&typing, &area) {
            load_colleagues();
            // The list opens under the `@`, so it stays put while the name is typed.
            let at = text[..*start].encode_utf16().count() as u32;
            if let Some((left, top)) = caret::below_caret(area, at) {
                let widest = (f64::from(area.client_width()) - MENTION_LIST_PX).max(0.0);
                mention_place.set((left.clamp(0.0, widest), top));
            }
        }
        if typing != mention.get_untracked() {
            mention_active.set(0);
            mention.set(typing);
        }
    };
    let pick = move |handle: String| {
        let Some((start, typed)) = mention.get_untracked() else { return };
        let text = body.get_untracked();
        if text.get(start..start + 1 + typed.len()) != Some(&format!("@{typed}")) {
            return;
        }
        let (text, cursor) = mention::complete(&text, start, &typed, &handle);
        body.set(text.clone());
        keep_draft(mode.get_untracked(), text.clone());
        mention.set(None);
        if let Some(area) = body_ref.get_untracked() {
            area.set_value(&text);
            let units = text[..cursor].encode_utf16().count() as u32;
            let _ = area.set_selection_range(units, units);
            let _ = area.focus();
        }
    };

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
        follow_cursor(&text);
        sent.set(None);
        keep_draft(mode.get_untracked(), text);
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
        mention.set(None);
        keep_draft(next, body.get_untracked());
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
                    keep_draft(mode.get_untracked(), text);
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
            attachment_ids: attached.get_untracked().iter().map(|u| u.id).collect(),
            cc: (current_mode == Mode::Reply).then(|| recipients::split(&cc.get_untracked())),
            bcc: if current_mode == Mode::Reply { recipients::split(&bcc.get_untracked()) } else { Vec::new() },
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
                    attached.set(Vec::new());
                    mention.set(None);
                    set_status.set(String::new());
                    cc_edited.set(false);
                    cc.set(state.reply_cc.with_untracked(|list| recipients::format(list)));
                    bcc.set(String::new());
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
            {move || (mode.get() == Mode::Reply).then(|| view! {
                <div class="composer-copies">
                    <label for="composer-cc" class="inline-label">{t(Msg::Cc)}</label>
                    <input id="composer-cc" type="text" autocomplete="off" placeholder=t(Msg::CopiesHint)
                        prop:value=move || cc.get()
                        on:input=move |ev| {
                            cc_edited.set(true);
                            cc.set(event_target_value(&ev));
                            keep_draft(mode.get_untracked(), body.get_untracked());
                        }/>
                    <label for="composer-bcc" class="inline-label">{t(Msg::Bcc)}</label>
                    <input id="composer-bcc" type="text" autocomplete="off" placeholder=t(Msg::CopiesHint)
                        prop:value=move || bcc.get()
                        on:input=move |ev| {
                            bcc.set(event_target_value(&ev));
                            keep_draft(mode.get_untracked(), body.get_untracked());
                        }/>
                </div>
            })}
            <label class="visually-hidden" for="composer-body">
                {move || t(if mode.get() == Mode::Note { Msg::NotePlaceholder } else { Msg::ReplyPlaceholder })}
            </label>
            <div class="composer-field">
            <textarea id="composer-body" rows="6" node_ref=body_ref
                placeholder=move || t(if mode.get() == Mode::Note { Msg::NotePlaceholder } else { Msg::ReplyPlaceholder })
                prop:value=move || body.get()
                on:input=on_input
                aria-autocomplete="list"
                aria-controls=move || (!choices.with(Vec::is_empty)).then_some("mention-suggestions")
                aria-activedescendant=move || (!choices.with(Vec::is_empty)).then(|| format!("mention-option-{}", mention_active.get()))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    let offered = choices.with_untracked(Vec::len);
                    let key = ev.key();
                    if key == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        send();
                    } else if key == "Escape" {
                        mention.set(None);
                    } else if offered > 0 && (key == "ArrowDown" || key == "ArrowUp") {
                        ev.prevent_default();
                        let step = if key == "ArrowDown" { 1 } else { offered - 1 };
                        mention_active.update(|i| *i = (*i + step) % offered);
                    } else if offered > 0 && (key == "Enter" || key == "Tab") && !ev.shift_key() {
                        ev.prevent_default();
                        let chosen = choices.with_untracked(|c| c.get(mention_active.get_untracked().min(offered - 1)).map(|p| mention::handle(&p.email).to_owned()));
                        if let Some(handle) = chosen {
                            pick(handle);
                        }
                    }
                }
                on:keyup=move |ev: leptos::ev::KeyboardEvent| {
                    // The caret moved without input (arrows, Home, End): in or out of a mention.
                    if matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End") {
                        follow_cursor(&body.get_untracked());
                    }
                }
                on:click=move |_| follow_cursor(&body.get_untracked())></textarea>
            {move || {
                let list = choices.get();
                let (left, top) = mention_place.get();
                (!list.is_empty()).then(|| view! {
                    <ul id="mention-suggestions" class="mention-suggestions" role="listbox" aria-label=t(Msg::MentionSuggestions)
                        style=format!("left: {left:.0}px; top: {top:.0}px")>
                        {list.into_iter().enumerate().map(|(i, person)| {
                            let handle = mention::handle(&person.email).to_owned();
                            let shown = handle.clone();
                            view! {
                                <li id=format!("mention-option-{i}") class="mention-option" role="option"
                                    aria-selected=move || (mention_active.get() == i).to_string()
                                    on:mousedown=|ev: leptos::ev::MouseEvent| ev.prevent_default()
                                    on:mouseenter=move |_| mention_active.set(i)
                                    on:click=move |_| pick(handle.clone())>
                                    {person.display_name}" "<span class="muted">"@"{shown}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })
            }}
            </div>
            {move || (!attached.get().is_empty()).then(|| view! {
                <ul id="composer-attachments" class="composer-attachments" aria-label=t(Msg::Attachments)>
                    {attached.get().into_iter().map(|upload| {
                        let id = upload.id;
                        view! {
                            <li class="attachment-chip">{upload.filename}" "<span class="muted small">{format_size(upload.size)}</span>
                                <button type="button" class="remove-attachment" aria-label=t(Msg::RemoveAttachment)
                                    on:click=move |_| remove_file(id)>"×"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            {move || error.get().map(|message| view! { <p id="composer-error" class="error" role="alert">{message}</p> })}
            {move || sent.get().map(|message| view! { <p id="composer-sent" class="notice" role="status">{message}</p> })}
            <div class="composer-actions">
                <label for="composer-files" class="attach-label">{t(Msg::AttachFiles)}</label>
                <input id="composer-files" type="file" multiple node_ref=files_ref on:change=on_files/>
                {move || (uploading.get() != 0).then(|| view! { <span class="muted small" role="status">{t(Msg::Uploading)}</span> })}
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
                <button id="send" type="submit" disabled=move || sending.get() || uploading.get() != 0 || body.with(|b| b.trim().is_empty())>
                    {move || t(if mode.get() == Mode::Note { Msg::AddNote } else { Msg::SendReply })}
                </button>
            </div>
        </form>
    }
}
