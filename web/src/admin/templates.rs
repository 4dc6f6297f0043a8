//! Templates (canned replies) with a live preview against sample data or a ticket.
//!
//! Ids: `#template-list` (`.template-row[data-name]`), `#template-name`, `#template-body`,
//! `#template-preview-ticket`, `#template-preview`, `#template-preview-output`,
//! `#template-save`, `#template-result`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{CreateTemplate, PreviewTemplate, RenderedTemplate, Template, UpdateTemplate};

use crate::admin::outcome;
use crate::api::{self, Method};
use crate::i18n::{Msg, t, tf};
use crate::shell::use_current;

#[component]
pub fn Templates() -> impl IntoView {
    let current = use_current();
    let templates = RwSignal::new(Vec::<Template>::new());
    let result = RwSignal::new(None::<(bool, String)>);
    let editing = RwSignal::new(None::<i64>);
    let name = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let preview_ticket = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<Result<RenderedTemplate, String>>);

    let load = move || {
        spawn_local(async move {
            match api::get::<Vec<Template>>("/api/v1/templates", &[]).await {
                Ok(list) => templates.set(list),
                Err(error) => result.set(Some((false, current.explain(Msg::LoadFailed, &error)))),
            }
        });
    };
    load();

    let edit = move |tpl: Option<Template>| {
        preview.set(None);
        match tpl {
            Some(tpl) => {
                editing.set(Some(tpl.id));
                name.set(tpl.name);
                subject.set(tpl.subject);
                body.set(tpl.body);
            }
            None => {
                editing.set(None);
                name.set(String::new());
                subject.set(String::new());
                body.set(String::new());
            }
        }
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, s, b) = (name.get_untracked(), subject.get_untracked(), body.get_untracked());
        spawn_local(async move {
            let outcome = match editing.get_untracked() {
                Some(id) => api::send_json::<_, Template>(Method::Patch, &format!("/api/v1/templates/{id}"),
                    &UpdateTemplate { name: Some(n), subject: Some(s), body: Some(b) }).await,
                None => api::send_json::<_, Template>(Method::Post, "/api/v1/templates", &CreateTemplate { name: n, subject: s, body: b }).await,
            };
            match outcome {
                Ok(tpl) => {
                    result.set(Some((true, tf(Msg::TemplateSaved, &[("name", &tpl.name)]))));
                    editing.set(Some(tpl.id));
                    load();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    let delete = move |id: i64| {
        spawn_local(async move {
            match api::send_empty(Method::Delete, &format!("/api/v1/templates/{id}")).await {
                Ok(()) => {
                    edit(None);
                    load();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    let run_preview = move |_| {
        let request = PreviewTemplate {
            template_id: None,
            subject: Some(subject.get_untracked()),
            body: Some(body.get_untracked()),
            ticket_number: preview_ticket.get_untracked().trim().trim_start_matches('#').parse().ok(),
        };
        spawn_local(async move {
            let outcome = api::send_json::<_, RenderedTemplate>(Method::Post, "/api/v1/templates/preview", &request).await;
            preview.set(Some(outcome.map_err(|e| current.explain(Msg::TemplateFailed, &e))));
        });
    };

    view! {
        <h1>{t(Msg::Templates)}</h1>
        {outcome(result, "template-result")}
        <div class="two-columns">
            <ul id="template-list" class="plain">
                {move || templates.get().into_iter().map(|tpl| {
                    let id = tpl.id;
                    let label = tpl.name.clone();
                    let data_name = tpl.name.clone();
                    view! {
                        <li class="template-row" data-name=data_name class:active=move || editing.get() == Some(id)>
                            <button type="button" class="link" on:click=move |_| edit(Some(tpl.clone()))>{label}</button>
                        </li>
                    }
                }).collect_view()}
                <li><button type="button" class="secondary small" on:click=move |_| edit(None)>{t(Msg::NewTemplate)}</button></li>
            </ul>
            <form class="card" on:submit=save>
                <label for="template-name">{t(Msg::Name)}</label>
                <input id="template-name" type="text" required bind:value=name />
                <label for="template-subject">{t(Msg::Subject)}</label>
                <input id="template-subject" type="text" bind:value=subject />
                <label for="template-body">{t(Msg::Body)}</label>
                <textarea id="template-body" rows="8" prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                <p class="muted small">{t(Msg::TemplateVariablesHint)}</p>
                <div class="row">
                    <button id="template-save" type="submit">{t(Msg::Save)}</button>
                    {move || editing.get().map(|id| view! {
                        <button type="button" class="secondary" on:click=move |_| delete(id)>{t(Msg::Delete)}</button>
                    })}
                </div>
                <h2>{t(Msg::Preview)}</h2>
                <label for="template-preview-ticket">{t(Msg::PreviewWithTicket)}</label>
                <input id="template-preview-ticket" class="short" type="text" bind:value=preview_ticket />
                <button id="template-preview" type="button" class="secondary small" on:click=run_preview>{t(Msg::Preview)}</button>
                {move || preview.get().map(|p| match p {
                    Ok(r) => view! { <div id="template-preview-output" class="preview"><strong>{r.subject}</strong><pre>{r.body}</pre></div> }.into_any(),
                    Err(message) => view! { <p id="template-preview-output" class="error">{message}</p> }.into_any(),
                })}
            </form>
        </div>
    }
}
