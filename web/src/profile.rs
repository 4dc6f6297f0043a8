//! The user's own profile: name, language, availability, password.
//!
//! Ids: `#profile-name`, `#profile-language`, `#profile-availability`, `#profile-save`,
//! `#profile-saved`, `#password-current`, `#password-new`, `#password-save`, `#password-result`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Availability, ChangePassword, UpdateProfile, User};

use crate::api::{self, Method};
use crate::i18n::{self, Lang, Msg, t};
use crate::labels;
use crate::shell::use_current;
use crate::{SessionUpdate, storage};

#[component]
pub fn ProfilePage() -> impl IntoView {
    let current = use_current();
    let session_update = expect_context::<SessionUpdate>();
    let user = current.me.with_value(|me| me.user.clone());

    let name = RwSignal::new(user.display_name.clone());
    let language = RwSignal::new(Lang::from_tag(&user.language).tag().to_owned());
    let availability = RwSignal::new(user.availability.as_str().to_owned());
    let saving = RwSignal::new(false);
    let result = RwSignal::new(None::<(bool, String)>);

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saving.set(true);
        let request = UpdateProfile {
            display_name: Some(name.get_untracked().trim().to_owned()),
            language: Some(language.get_untracked()),
            availability: availability.get_untracked().parse::<Availability>().ok(),
        };
        spawn_local(async move {
            match api::send_json::<_, User>(Method::Patch, "/api/v1/me", &request).await {
                Ok(user) => {
                    saving.set(false);
                    if Lang::from_tag(&user.language) != i18n::lang() {
                        // A new language: reload, so that every string is read again (drafts
                        // and filters are in localStorage and survive).
                        storage::set_last_language(Lang::from_tag(&user.language).tag());
                        if let Some(window) = web_sys::window() {
                            let _ = window.location().reload();
                        }
                        return;
                    }
                    let mut me = current.me.get_value();
                    me.user = user;
                    // Rebuilds the view with the new name: this page's signals are gone
                    // afterwards, so this is the last thing done here.
                    session_update.0.run(me);
                }
                Err(error) => {
                    saving.set(false);
                    result.set(Some((false, current.explain(Msg::SaveFailed, &error))));
                }
            }
        });
    };

    let old_password = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let password_result = RwSignal::new(None::<(bool, String)>);
    let change_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = ChangePassword { current_password: old_password.get_untracked(), new_password: new_password.get_untracked() };
        spawn_local(async move {
            let outcome = api::send_empty_json(Method::Post, "/api/v1/me/password", &request).await;
            old_password.set(String::new());
            new_password.set(String::new());
            password_result.set(Some(match outcome {
                Ok(()) => (true, t(Msg::PasswordChanged).to_owned()),
                Err(error) => (false, format!("{} {error}.", t(Msg::PasswordNotChanged))),
            }));
        });
    };

    view! {
        <h1>{t(Msg::YourProfile)}</h1>
        <div class="cards">
            <form class="card" on:submit=save>
                <label for="profile-name">{t(Msg::DisplayName)}</label>
                <input id="profile-name" type="text" required bind:value=name />
                <label for="profile-language">{t(Msg::Language)}</label>
                <select id="profile-language" on:change=move |ev| language.set(event_target_value(&ev))>
                    {Lang::ALL.iter().map(|l| view! {
                        <option value=l.tag() selected=l.tag() == language.get_untracked()>{l.native_name()}</option>
                    }).collect_view()}
                </select>
                <label for="profile-availability">{t(Msg::Availability)}</label>
                <select id="profile-availability" on:change=move |ev| availability.set(event_target_value(&ev))>
                    {Availability::ALL.iter().map(|a| view! {
                        <option value=a.as_str() selected=a.as_str() == availability.get_untracked()>{labels::availability(*a)}</option>
                    }).collect_view()}
                </select>
                {move || result.get().map(|(ok, text)| view! {
                    <p id="profile-saved" class=if ok { "notice" } else { "error" } role="status">{text}</p>
                })}
                <button id="profile-save" type="submit" disabled=move || saving.get()>{t(Msg::Save)}</button>
            </form>
            <form class="card" on:submit=change_password>
                <h2>{t(Msg::ChangePassword)}</h2>
                <label for="password-current">{t(Msg::CurrentPassword)}</label>
                <input id="password-current" type="password" autocomplete="current-password" required bind:value=old_password />
                <label for="password-new">{t(Msg::NewPassword)}</label>
                <input id="password-new" type="password" autocomplete="new-password" required minlength="8" bind:value=new_password />
                {move || password_result.get().map(|(ok, text)| view! {
                    <p id="password-result" class=if ok { "notice" } else { "error" } role="status">{text}</p>
                })}
                <button id="password-save" type="submit">{t(Msg::ChangePassword)}</button>
            </form>
        </div>
    }
}
