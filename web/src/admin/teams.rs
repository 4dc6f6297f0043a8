//! Teams and their members (skills are set on users).
//!
//! Ids: `#team-list` (`.team-row`, each with a `.team-description` field saved on change),
//! `#new-team-name`, `#new-team-description`, `#new-team-submit`, `#team-result`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{AddMember, CreateTeam, Team, UpdateTeam};

use crate::admin::outcome;
use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t, tf};
use crate::shell::use_current;

#[component]
pub fn Teams() -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let result = RwSignal::new(None::<(bool, String)>);
    directory.reload();

    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateTeam { name: name.get_untracked().trim().into(), description: description.get_untracked().trim().into() };
        spawn_local(async move {
            match api::send_json::<_, Team>(Method::Post, "/api/v1/teams", &request).await {
                Ok(team) => {
                    result.set(Some((true, tf(Msg::TeamCreated, &[("name", &team.name)]))));
                    name.set(String::new());
                    description.set(String::new());
                    directory.reload();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    let describe = move |team: i64, text: String| {
        let request = UpdateTeam { name: None, description: Some(text.trim().to_owned()) };
        spawn_local(async move {
            match api::send_json::<_, Team>(Method::Patch, &format!("/api/v1/teams/{team}"), &request).await {
                Ok(team) => {
                    result.set(Some((true, tf(Msg::TeamSaved, &[("name", &team.name)]))));
                    directory.reload();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    let member = move |team: i64, user: Option<i64>, remove: Option<i64>| {
        spawn_local(async move {
            let outcome = match (user, remove) {
                (Some(user_id), _) => api::send_empty_json(Method::Post, &format!("/api/v1/teams/{team}/members"), &AddMember { user_id }).await,
                (_, Some(user_id)) => api::send_empty(Method::Delete, &format!("/api/v1/teams/{team}/members/{user_id}")).await,
                _ => Ok(()),
            };
            match outcome {
                Ok(()) => directory.reload(),
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };

    view! {
        <h1>{t(Msg::Teams)}</h1>
        {outcome(result, "team-result")}
        <div id="team-list">
            {move || directory.teams.get().into_iter().map(|team| {
                let id = team.id;
                view! {
                    <section class="card team-row" data-id=id>
                        <h2>{team.name.clone()}</h2>
                        <label class="visually-hidden" for=format!("team-description-{id}")>{t(Msg::Description)}</label>
                        <input id=format!("team-description-{id}") class="team-description" type="text"
                            placeholder=t(Msg::Description) prop:value=team.description.clone()
                            on:change=move |ev| describe(id, event_target_value(&ev)) />
                        <ul class="plain chips">
                            {team.members.iter().cloned().map(|m| {
                                let user_id = m.id;
                                view! { <li class="chip">{m.display_name}" "
                                    <button type="button" class="link small" aria-label=t(Msg::Remove) on:click=move |_| member(id, None, Some(user_id))>"×"</button></li> }
                            }).collect_view()}
                        </ul>
                        <label class="visually-hidden" for=format!("team-add-{id}")>{t(Msg::AddMember)}</label>
                        <select id=format!("team-add-{id}") on:change=move |ev| member(id, event_target_value(&ev).parse().ok(), None)>
                            <option value="">{t(Msg::AddMember)}</option>
                            {directory.users.get_untracked().into_iter().map(|u| view! { <option value=u.id.to_string()>{u.display_name}</option> }).collect_view()}
                        </select>
                    </section>
                }
            }).collect_view()}
        </div>
        <form class="card" on:submit=create>
            <h2>{t(Msg::NewTeam)}</h2>
            <label for="new-team-name">{t(Msg::Name)}</label>
            <input id="new-team-name" type="text" required bind:value=name />
            <label for="new-team-description">{t(Msg::Description)}</label>
            <input id="new-team-description" type="text" bind:value=description />
            <button id="new-team-submit" type="submit">{t(Msg::Create)}</button>
        </form>
    }
}
