//! The sign-in page.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::Me;

use crate::api;
use crate::i18n::{Lang, Msg, lang, t};
use crate::LangSetting;

/// Email and password form; on success hands the signed-in user to `on_signed_in`.
#[component]
pub fn SignInPage(
    /// Shown above the form, e.g. why the previous session ended.
    notice: Option<String>,
    on_signed_in: Callback<Me>,
) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let lang_setting = use_context::<LangSetting>();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let email = email.get_untracked().trim().to_owned();
        let password_value = password.get_untracked();
        spawn_local(async move {
            match api::sign_in(email, password_value).await {
                Ok(me) => on_signed_in.run(me),
                Err(failure) => {
                    pending.set(false);
                    password.set(String::new());
                    error.set(Some(failure.to_string()));
                }
            }
        });
    };

    view! {
        <main class="centered">
            <form class="card sign-in" on:submit=submit>
                <h1>"Tandem"</h1>
                <p class="muted">{t(Msg::SignInIntro)}</p>
                {notice.map(|text| view! { <p id="session-notice" class="notice">{text}</p> })}
                <label for="login-email">{t(Msg::Email)}</label>
                <input
                    id="login-email"
                    name="email"
                    type="email"
                    autocomplete="username"
                    required
                    bind:value=email
                />
                <label for="login-password">{t(Msg::Password)}</label>
                <input
                    id="login-password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                {move || {
                    error
                        .get()
                        .map(|message| {
                            view! {
                                <p id="login-error" class="error" role="alert">
                                    {message}
                                </p>
                            }
                        })
                }}
                <button
                    id="login-submit"
                    type="submit"
                    disabled=move || pending.get()
                    aria-busy=move || if pending.get() { "true" } else { "false" }
                >
                    {t(Msg::SignIn)}
                </button>
                <label for="login-language">{t(Msg::Language)}</label>
                <select id="login-language" on:change=move |ev| {
                    if let Some(setting) = lang_setting {
                        setting.set(Lang::from_tag(&event_target_value(&ev)));
                    }
                }>
                    {Lang::ALL.iter().map(|l| view! {
                        <option value=l.tag() selected=*l == lang()>{l.native_name()}</option>
                    }).collect_view()}
                </select>
            </form>
        </main>
    }
}
