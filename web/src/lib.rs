//! Tandem's web UI: a Leptos client-side app compiled to `wasm32-unknown-unknown`.
//!
//! `cargo xtask build-web` turns this crate into `web/dist/` (`index.html`, `style.css`,
//! `tandem_web.js`, `tandem_web_bg.wasm`). The page loads the JS glue, which instantiates the
//! module and runs [`start`], which mounts [`App`] into `<body>`.
//!
//! What needs no browser (the message catalogues, routes, labels, list filters, key
//! bindings, text helpers) is the crate `tandem-web-core` (`web/core`), unit-tested on the
//! host; this crate is built for wasm32 only and tested in a real browser (`tests/e2e/browser`).
//!
//! Map: [`api`] calls the REST API, [`live`] holds the WebSocket, [`route`] the address bar,
//! [`i18n`] every string and `Intl` formatting; pages live in [`list`] (sidebar views and the
//! ticket list), [`ticket`] (conversation, composer, side panel), [`admin`], [`profile`] and
//! [`login`].
//! Stable element ids for the browser tests are documented where the elements are made.

mod admin;
mod api;
mod directory;
mod i18n;
mod list;
mod live;
mod login;
mod notifications;
mod profile;
mod reports;
mod route;
mod search;
mod shell;
mod shortcuts;
mod storage;
mod ticket;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::Me;
use tandem_web_core::labels;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::i18n::{Lang, Msg, t};
use crate::login::SignInPage;
use crate::shell::SignedIn;

/// Entry point, run by the wasm-bindgen glue as soon as the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// Where the user stands with the server.
#[derive(Debug, Clone, PartialEq)]
enum Session {
    /// `GET /api/v1/me` has not answered yet.
    Checking,
    /// Nobody is signed in. `notice` explains why the session could not be checked, when the
    /// answer was something other than a plain 401.
    SignedOut { notice: Option<String> },
    SignedIn(Box<Me>),
}

/// The language the UI is shown in: the user's own once signed in, else the last one used in
/// this browser, else the browser's.
fn initial_lang() -> Lang {
    if let Some(tag) = storage::last_language() {
        return Lang::from_tag(&tag);
    }
    let browser = web_sys::window().and_then(|w| w.navigator().language());
    Lang::from_tag(&browser.unwrap_or_default())
}

/// The whole app: the sign-in page or the signed-in view, depending on the session. The tree
/// is rebuilt when the language changes, so every string is read in the new one.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(Session::Checking);
    let lang = RwSignal::new(initial_lang());
    i18n::set_lang(lang.get_untracked());
    provide_context(LangSetting(lang));

    // The user's own language applies from the moment they are known to be signed in.
    let signed_in = move |me: Me| {
        let user_lang = Lang::from_tag(&me.user.language);
        storage::set_last_language(user_lang.tag());
        lang.set(user_lang);
        session.set(Session::SignedIn(Box::new(me)));
    };

    provide_context(SessionUpdate(Callback::new(signed_in)));

    spawn_local(async move {
        let next = match api::me().await {
            Ok(me) => return signed_in(me),
            Err(error) if error.is_unauthenticated() => Session::SignedOut { notice: None },
            Err(error) => Session::SignedOut {
                notice: Some(format!("{} {error}.", t(Msg::SessionCheckFailed))),
            },
        };
        session.set(next);
    });

    move || {
        let current = lang.get();
        i18n::set_lang(current);
        match session.get() {
            Session::Checking => view! {
                <main class="centered">
                    <p class="muted" aria-live="polite">{t(Msg::Loading)}</p>
                </main>
            }
            .into_any(),
            Session::SignedOut { notice } => view! {
                <SignInPage
                    notice=notice
                    on_signed_in=Callback::new(signed_in)
                />
            }
            .into_any(),
            Session::SignedIn(me) => {
                view! {
                    <SignedIn
                        me=*me
                        on_signed_out=Callback::new(move |notice: Option<String>| {
                            session.set(Session::SignedOut { notice });
                        })
                    />
                }
                .into_any()
            }
        }
    }
}

/// The language signal, for the pages that change it (profile, sign-in page).
#[derive(Debug, Clone, Copy)]
pub struct LangSetting(pub RwSignal<Lang>);

impl LangSetting {
    pub fn set(self, lang: Lang) {
        storage::set_last_language(lang.tag());
        self.0.set(lang);
    }
}

/// Replaces the signed-in user (after they changed their profile): their language applies and
/// the view is rebuilt.
#[derive(Debug, Clone, Copy)]
pub struct SessionUpdate(pub Callback<Me>);
