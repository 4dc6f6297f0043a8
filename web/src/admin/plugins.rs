//! Plugins: upload a component, see versions and health, enable/disable, reorder, scope to
//! inboxes, edit the configuration, dry-run against a ticket, roll back.
//!
//! Ids: list `#plugin-list` (rows `.plugin-row[data-name]`), `#upload-name`, `#upload-world`,
//! `#upload-file`, `#upload-submit`, `#upload-result`; detail `#plugin-name`, `#plugin-enabled`
//! (toggle button), `#plugin-position`, `#plugin-config`, `#plugin-inboxes`, `#plugin-save`,
//! `#plugin-result`, `#plugin-health`, `#plugin-versions` (rows `.version-row[data-number]`,
//! buttons `.activate-version`), `#dryrun-ticket`, `#dryrun-version`, `#dryrun-submit`,
//! `#dryrun-output`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{DryRun, DryRunResult, Plugin, PluginWorld, UpdatePlugin};
use wasm_bindgen::JsCast;

use crate::admin::outcome;
use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{self, Msg, t, tf};
use crate::route::{AdminPage, Route, use_router};
use crate::shell::use_current;

fn world_label(world: PluginWorld) -> &'static str {
    t(match world {
        PluginWorld::Classifier => Msg::WorldClassifier,
        PluginWorld::Router => Msg::WorldRouter,
        PluginWorld::Responder => Msg::WorldResponder,
    })
}

#[component]
pub fn Plugins() -> impl IntoView {
    let current = use_current();
    let router = use_router();
    let plugins = RwSignal::new(None::<Result<Vec<Plugin>, String>>);
    let load = move || {
        spawn_local(async move {
            let result = api::get::<Vec<Plugin>>("/api/v1/plugins", &[]).await.map_err(|e| current.explain(Msg::LoadFailed, &e));
            plugins.set(Some(result));
        });
    };
    load();

    let name = RwSignal::new(String::new());
    let world = RwSignal::new(PluginWorld::Classifier.as_str().to_owned());
    let uploading = RwSignal::new(false);
    let result = RwSignal::new(None::<(bool, String)>);
    let file_ref = NodeRef::<leptos::html::Input>::new();
    let upload = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = file_ref.get_untracked().and_then(|input| input.files()).and_then(|files| files.get(0)) else {
            result.set(Some((false, t(Msg::ChooseComponentFile).to_owned())));
            return;
        };
        let query = vec![("name", name.get_untracked().trim().to_owned()), ("world", world.get_untracked())];
        uploading.set(true);
        result.set(None);
        spawn_local(async move {
            let blob: &web_sys::Blob = file.unchecked_ref();
            match api::post_blob::<Plugin>("/api/v1/plugins", &query, "application/wasm", blob).await {
                Ok(plugin) => {
                    result.set(Some((true, tf(Msg::PluginUploaded, &[("name", &plugin.name), ("version", &plugin.active_version.number)]))));
                    load();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::UploadFailed, &error)))),
            }
            uploading.set(false);
        });
    };

    view! {
        <h1>{t(Msg::Plugins)}</h1>
        {move || match plugins.get() {
            None => view! { <p class="muted">{t(Msg::Loading)}</p> }.into_any(),
            Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Some(Ok(list)) => view! {
                <table id="plugin-list" class="tickets">
                    <thead><tr>
                        <th scope="col">{t(Msg::Name)}</th>
                        <th scope="col">{t(Msg::Kind)}</th>
                        <th scope="col">{t(Msg::Position)}</th>
                        <th scope="col">{t(Msg::Version)}</th>
                        <th scope="col">{t(Msg::State)}</th>
                        <th scope="col">{t(Msg::Health)}</th>
                    </tr></thead>
                    <tbody>
                        {list.into_iter().map(|plugin| {
                            let id = plugin.id;
                            let href = Route::Admin(AdminPage::Plugin(id)).path();
                            view! {
                                <tr class="plugin-row" data-name=plugin.name.clone()>
                                    <td><a href=href on:click=move |ev| { ev.prevent_default(); router.go(Route::Admin(AdminPage::Plugin(id))); }>{plugin.name.clone()}</a></td>
                                    <td>{world_label(plugin.world)}</td>
                                    <td>{plugin.position}</td>
                                    <td>{format!("v{}", plugin.active_version.number)}</td>
                                    <td>{state_label(&plugin)}</td>
                                    <td>{tf(Msg::CallsFailures, &[("calls", &i18n::number(plugin.health.calls)), ("failures", &i18n::number(plugin.health.failures))])}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
        <form class="card" on:submit=upload>
            <h2>{t(Msg::UploadComponent)}</h2>
            <p class="muted small">{t(Msg::UploadHint)}</p>
            <label for="upload-name">{t(Msg::Name)}</label>
            <input id="upload-name" type="text" required pattern="[a-z0-9-]+" bind:value=name />
            <label for="upload-world">{t(Msg::Kind)}</label>
            <select id="upload-world" on:change=move |ev| world.set(event_target_value(&ev))>
                {PluginWorld::ALL.iter().map(|w| view! { <option value=w.as_str()>{world_label(*w)}</option> }).collect_view()}
            </select>
            <label for="upload-file">{t(Msg::ComponentFile)}</label>
            <input id="upload-file" type="file" accept=".wasm,application/wasm" node_ref=file_ref required />
            {outcome(result, "upload-result")}
            <button id="upload-submit" type="submit" disabled=move || uploading.get()>{t(Msg::Upload)}</button>
        </form>
    }
}

fn state_label(plugin: &Plugin) -> String {
    match (&plugin.health.auto_disabled_reason, plugin.enabled) {
        (Some(reason), false) => tf(Msg::AutoDisabled, &[("reason", reason)]),
        (_, true) => t(Msg::Enabled).to_owned(),
        (_, false) => t(Msg::Disabled).to_owned(),
    }
}

#[component]
pub fn PluginDetail(id: i64) -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let plugin = RwSignal::new(None::<Result<Plugin, String>>);
    let path = format!("/api/v1/plugins/{id}");
    let result = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let dry_ticket = RwSignal::new(String::new());
    let dry_version = RwSignal::new(String::new());
    let dry_output = RwSignal::new(None::<Result<DryRunResult, String>>);

    let load = {
        let path = path.clone();
        move || {
            let path = path.clone();
            spawn_local(async move {
                plugin.set(Some(api::get::<Plugin>(&path, &[]).await.map_err(|e| current.explain(Msg::LoadFailed, &e))));
            });
        }
    };
    load();

    let patch = {
        let path = path.clone();
        move |change: UpdatePlugin, done: Msg| {
            let path = path.clone();
            busy.set(true);
            spawn_local(async move {
                match api::send_json::<_, Plugin>(Method::Patch, &path, &change).await {
                    Ok(updated) => {
                        // A dry run's output belongs to the version it ran.
                        dry_output.set(None);
                        plugin.set(Some(Ok(updated)));
                        result.set(Some((true, t(done).to_owned())));
                    }
                    Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
                }
                busy.set(false);
            });
        }
    };

    // Dry run.
    let dry_run = {
        let path = path.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let Ok(ticket_number) = dry_ticket.get_untracked().trim().trim_start_matches('#').parse::<i64>() else {
                dry_output.set(Some(Err(t(Msg::EnterTicketNumber).to_owned())));
                return;
            };
            let request = DryRun {
                ticket_number: Some(ticket_number),
                sample: None,
                version_id: dry_version.get_untracked().parse().ok(),
                config: None,
                now: None,
            };
            let path = format!("{}/dry-run", path);
            dry_output.set(None);
            spawn_local(async move {
                let outcome = api::send_json::<_, DryRunResult>(Method::Post, &path, &request).await;
                dry_output.set(Some(outcome.map_err(|e| current.explain(Msg::DryRunFailed, &e))));
            });
        }
    };

    move || {
        let patch = patch.clone();
        let dry_run = dry_run.clone();
        match plugin.get() {
            None => view! { <p class="muted">{t(Msg::Loading)}</p> }.into_any(),
            Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            Some(Ok(p)) => {
                let enabled = p.enabled;
                let config = RwSignal::new(serde_json::to_string_pretty(&p.config).unwrap_or_default());
                let position = RwSignal::new(p.position.to_string());
                let scope = RwSignal::new(p.inbox_ids.clone());
                let active_version = p.active_version.id;
                let patch_toggle = patch.clone();
                let patch_save = patch.clone();
                let save = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    let config = match serde_json::from_str::<serde_json::Value>(&config.get_untracked()) {
                        Ok(value) => value,
                        Err(error) => {
                            result.set(Some((false, tf(Msg::ConfigNotJson, &[("error", &error)]))));
                            return;
                        }
                    };
                    let Ok(position) = position.get_untracked().trim().parse::<i64>() else {
                        result.set(Some((false, t(Msg::PositionNotNumber).to_owned())));
                        return;
                    };
                    patch_save(UpdatePlugin { config: Some(config), position: Some(position), inbox_ids: Some(scope.get_untracked()), ..UpdatePlugin::default() }, Msg::Saved);
                };
                view! {
                    <h1 id="plugin-name">{p.name.clone()}" "<span class="muted">{world_label(p.world)}</span></h1>
                    {outcome(result, "plugin-result")}
                    <div class="cards">
                        <section class="card" id="plugin-health">
                            <h2>{t(Msg::Health)}</h2>
                            <p id="plugin-state">{state_label(&p)}</p>
                            <p>{tf(Msg::CallsFailures, &[("calls", &i18n::number(p.health.calls)), ("failures", &i18n::number(p.health.failures))])}</p>
                            {p.health.last_failure.clone().map(|f| view! {
                                <p class="error small">{tf(Msg::LastFailure, &[("kind", &f.kind.as_str()), ("message", &f.message)])}
                                    {p.health.last_failure_at.map(|at| format!(" ({})", i18n::datetime(at)))}</p>
                            })}
                            <button id="plugin-enabled" type="button" disabled=move || busy.get()
                                on:click=move |_| patch_toggle(UpdatePlugin { enabled: Some(!enabled), ..UpdatePlugin::default() },
                                    if enabled { Msg::PluginDisabled } else { Msg::PluginEnabled })>
                                {t(if enabled { Msg::Disable } else { Msg::Enable })}
                            </button>
                        </section>
                        <form class="card" on:submit=save>
                            <h2>{t(Msg::Settings)}</h2>
                            <label for="plugin-position">{t(Msg::Position)}</label>
                            <input id="plugin-position" type="number" bind:value=position />
                            <fieldset id="plugin-inboxes">
                                <legend>{t(Msg::InboxScope)}</legend>
                                {move || directory.inboxes.get().into_iter().map(|inbox| {
                                    let inbox_id = inbox.id;
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" prop:checked=move || scope.with(|s| s.contains(&inbox_id))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    scope.update(|s| { s.retain(|i| *i != inbox_id); if on { s.push(inbox_id); } });
                                                } />
                                            " "{inbox.name}
                                        </label>
                                    }
                                }).collect_view()}
                                <p class="muted small">{t(Msg::NoInboxMeansAll)}</p>
                            </fieldset>
                            <label for="plugin-config">{t(Msg::ConfigurationJson)}</label>
                            <textarea id="plugin-config" rows="8" class="mono" prop:value=move || config.get()
                                on:input=move |ev| config.set(event_target_value(&ev))></textarea>
                            <button id="plugin-save" type="submit" disabled=move || busy.get()>{t(Msg::Save)}</button>
                        </form>
                    </div>
                    <section class="card">
                        <h2>{t(Msg::Versions)}</h2>
                        <table id="plugin-versions" class="tickets">
                            <thead><tr>
                                <th scope="col">{t(Msg::Version)}</th>
                                <th scope="col">{t(Msg::Uploaded)}</th>
                                <th scope="col">"SHA-256"</th>
                                <th scope="col">{t(Msg::Size)}</th>
                                <th scope="col"></th>
                            </tr></thead>
                            <tbody>
                                {p.versions.iter().rev().map(|v| {
                                    let patch = patch.clone();
                                    let is_active = v.id == active_version;
                                    view! {
                                        <tr class="version-row" class:active=is_active data-number=v.number>
                                            <td>{format!("v{}", v.number)}</td>
                                            <td>{i18n::datetime(v.uploaded_at)}" "{v.uploaded_by.clone().unwrap_or_default()}</td>
                                            <td class="mono">{v.sha256.chars().take(12).collect::<String>()}</td>
                                            <td>{i18n::number(v.size_bytes)}</td>
                                            <td>{if is_active {
                                                view! { <strong>{t(Msg::Active)}</strong> }.into_any()
                                            } else {
                                                let version_id = v.id;
                                                view! {
                                                    <button type="button" class="secondary small activate-version" disabled=move || busy.get()
                                                        on:click=move |_| patch(UpdatePlugin { active_version_id: Some(version_id), ..UpdatePlugin::default() }, Msg::VersionActivated)>
                                                        {t(Msg::MakeActive)}
                                                    </button>
                                                }.into_any()
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                    <form class="card" on:submit=dry_run>
                        <h2>{t(Msg::DryRun)}</h2>
                        <p class="muted small">{t(Msg::DryRunHint)}</p>
                        <label for="dryrun-ticket">{t(Msg::TicketNumber)}</label>
                        <input id="dryrun-ticket" type="text" class="short" bind:value=dry_ticket />
                        <label for="dryrun-version">{t(Msg::Version)}</label>
                        <select id="dryrun-version" on:change=move |ev| dry_version.set(event_target_value(&ev))>
                            <option value="">{t(Msg::ActiveVersion)}</option>
                            {p.versions.iter().rev().map(|v| view! { <option value=v.id.to_string()>{format!("v{}", v.number)}</option> }).collect_view()}
                        </select>
                        <button id="dryrun-submit" type="submit">{t(Msg::Run)}</button>
                        {move || dry_output.get().map(|out| match out {
                            Ok(r) => view! {
                                <div id="dryrun-output" class="dry-run">
                                    <p>{tf(Msg::DryRunVersion, &[("version", &r.version), ("us", &i18n::number(r.usage.duration_us as i64))])}</p>
                                    {r.failure.map(|f| view! { <p class="error">{format!("{}: {}", f.kind.as_str(), f.message)}</p> })}
                                    <pre class="mono">{r.decision.map(|d| serde_json::to_string_pretty(&d).unwrap_or_default()).unwrap_or_else(|| t(Msg::NoDecision).to_owned())}</pre>
                                    {(!r.logs.is_empty()).then(|| view! {
                                        <h3>{t(Msg::Logs)}</h3>
                                        <pre class="mono">{r.logs.iter().map(|l| format!("{} {}\n", l.level.as_str(), l.message)).collect::<String>()}</pre>
                                    })}
                                </div>
                            }.into_any(),
                            Err(message) => view! { <p id="dryrun-output" class="error" role="alert">{message}</p> }.into_any(),
                        })}
                    </form>
                }.into_any()
            }
        }
    }
}
