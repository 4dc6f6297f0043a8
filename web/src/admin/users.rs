//! Users and roles: create, change role or language, disable, reset a password.
//!
//! Ids: `#user-list` (rows `.user-row[data-email]`, role selects `.user-role`, buttons
//! `.user-disable`), `#new-user-email`, `#new-user-name`, `#new-user-password`,
//! `#new-user-role`, `#new-user-submit`, `#user-result`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{CreateUser, Role, UpdateUser, User};

use crate::admin::outcome;
use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t, tf};
use crate::labels;
use crate::shell::use_current;

#[component]
pub fn Users() -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let result = RwSignal::new(None::<(bool, String)>);
    let users = RwSignal::new(Vec::<User>::new());
    let load = move || {
        spawn_local(async move {
            match api::get::<Vec<User>>("/api/v1/users", &[]).await {
                Ok(list) => users.set(list),
                Err(error) => result.set(Some((false, current.explain(Msg::LoadFailed, &error)))),
            }
        });
    };
    load();

    let update = move |id: i64, change: UpdateUser| {
        spawn_local(async move {
            match api::send_json::<_, User>(Method::Patch, &format!("/api/v1/users/{id}"), &change).await {
                Ok(user) => {
                    result.set(Some((true, tf(Msg::UserSaved, &[("name", &user.display_name)]))));
                    load();
                    directory.reload();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };

    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Agent.as_str().to_owned());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateUser {
            email: email.get_untracked().trim().to_owned(),
            display_name: name.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            role: role.get_untracked().parse().unwrap_or(Role::Agent),
            language: None,
            skills: Vec::new(),
        };
        spawn_local(async move {
            match api::send_json::<_, User>(Method::Post, "/api/v1/users", &request).await {
                Ok(user) => {
                    result.set(Some((true, tf(Msg::UserCreated, &[("name", &user.display_name)]))));
                    email.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                    load();
                    directory.reload();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };

    view! {
        <h1>{t(Msg::Users)}</h1>
        {outcome(result, "user-result")}
        <table id="user-list" class="tickets">
            <thead><tr>
                <th scope="col">{t(Msg::Name)}</th>
                <th scope="col">{t(Msg::Email)}</th>
                <th scope="col">{t(Msg::Role)}</th>
                <th scope="col">{t(Msg::Skills)}</th>
                <th scope="col">{t(Msg::Availability)}</th>
                <th scope="col">{t(Msg::State)}</th>
                <th scope="col">{t(Msg::Password)}</th>
            </tr></thead>
            <tbody>
                {move || users.get().into_iter().map(|user| {
                    let id = user.id;
                    let disabled = user.disabled;
                    view! {
                        <tr class="user-row" data-email=user.email.clone() class:disabled=disabled>
                            <td>{user.display_name.clone()}</td>
                            <td>{user.email.clone()}</td>
                            <td>
                                <label class="visually-hidden" for=format!("user-role-{id}")>{t(Msg::Role)}</label>
                                <select id=format!("user-role-{id}") class="user-role" on:change=move |ev| {
                                    if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                                        update(id, UpdateUser { role: Some(role), ..UpdateUser::default() });
                                    }
                                }>
                                    {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == user.role>{labels::role(*r)}</option> }).collect_view()}
                                </select>
                            </td>
                            <td>
                                <label class="visually-hidden" for=format!("user-skills-{id}")>{t(Msg::Skills)}</label>
                                <input id=format!("user-skills-{id}") class="user-skills short" type="text" value=user.skills.join(", ")
                                    on:change=move |ev| {
                                        let skills = event_target_value(&ev).split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                                        update(id, UpdateUser { skills: Some(skills), ..UpdateUser::default() });
                                    } />
                            </td>
                            <td>{labels::availability(user.availability)}</td>
                            <td>
                                <button type="button" class="secondary small user-disable"
                                    on:click=move |_| update(id, UpdateUser { disabled: Some(!disabled), ..UpdateUser::default() })>
                                    {t(if disabled { Msg::Enable } else { Msg::Disable })}
                                </button>
                            </td>
                            <td>
                                <label class="visually-hidden" for=format!("user-password-{id}")>{t(Msg::NewPassword)}</label>
                                <input id=format!("user-password-{id}") class="user-password short" type="password" autocomplete="new-password"
                                    placeholder=t(Msg::SetNewPassword)
                                    on:change=move |ev| {
                                        let password = event_target_value(&ev);
                                        if !password.is_empty() {
                                            update(id, UpdateUser { password: Some(password), ..UpdateUser::default() });
                                        }
                                    } />
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <form class="card" on:submit=create>
            <h2>{t(Msg::NewUser)}</h2>
            <label for="new-user-email">{t(Msg::Email)}</label>
            <input id="new-user-email" type="email" required bind:value=email />
            <label for="new-user-name">{t(Msg::DisplayName)}</label>
            <input id="new-user-name" type="text" required bind:value=name />
            <label for="new-user-password">{t(Msg::Password)}</label>
            <input id="new-user-password" type="password" autocomplete="new-password" required bind:value=password />
            <label for="new-user-role">{t(Msg::Role)}</label>
            <select id="new-user-role" on:change=move |ev| role.set(event_target_value(&ev))>
                {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == Role::Agent>{labels::role(*r)}</option> }).collect_view()}
            </select>
            <button id="new-user-submit" type="submit">{t(Msg::Create)}</button>
        </form>
    }
}
