//! Tandem's web UI: a Leptos client-side app compiled to `wasm32-unknown-unknown`.
//!
//! `cargo xtask build-web` turns this crate into `web/dist/` (`index.html`, `style.css`,
//! `tandem_web.js`, `tandem_web_bg.wasm`). The page loads the JS glue, which instantiates the
//! module and runs [`start`], which mounts [`App`] into `<body>`.
//!
//! Element ids used by the browser tests: `#login-email`, `#login-password`, `#login-submit`,
//! `#login-error`, `#whoami`, `#logout`, `#ticket-list` (rows: `.ticket-row`).

mod api;
mod labels;
mod login;
mod tickets;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::Me;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::login::SignInPage;
use crate::tickets::TicketList;

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
    SignedOut {
        notice: Option<String>,
    },
    SignedIn(Box<Me>),
}

/// The whole app: the sign-in page or the signed-in view, depending on the session.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(Session::Checking);

    spawn_local(async move {
        let next = match api::me().await {
            Ok(me) => Session::SignedIn(Box::new(me)),
            Err(error) if error.is_unauthenticated() => Session::SignedOut { notice: None },
            Err(error) => Session::SignedOut {
                notice: Some(format!("Could not check your session: {error}.")),
            },
        };
        session.set(next);
    });

    move || match session.get() {
        Session::Checking => view! {
            <main class="centered">
                <p class="muted" aria-live="polite">"Loading Tandem…"</p>
            </main>
        }
        .into_any(),
        Session::SignedOut { notice } => view! {
            <SignInPage
                notice=notice
                on_signed_in=Callback::new(move |me: Me| {
                    session.set(Session::SignedIn(Box::new(me)));
                })
            />
        }
        .into_any(),
        Session::SignedIn(me) => view! {
            <SignedIn
                me=*me
                on_signed_out=Callback::new(move |notice: Option<String>| {
                    session.set(Session::SignedOut { notice });
                })
            />
        }
        .into_any(),
    }
}

/// The signed-in view: a header with the user and "Sign out", then the ticket list.
#[component]
fn SignedIn(
    me: Me,
    /// Called once the session is gone, with a notice to show above the sign-in form.
    on_signed_out: Callback<Option<String>>,
) -> impl IntoView {
    let signing_out = RwSignal::new(false);
    let sign_out_error = RwSignal::new(None::<String>);

    let sign_out = move |_| {
        if signing_out.get_untracked() {
            return;
        }
        signing_out.set(true);
        sign_out_error.set(None);
        spawn_local(async move {
            match api::sign_out().await {
                Ok(()) => on_signed_out.run(None),
                Err(error) => {
                    signing_out.set(false);
                    sign_out_error.set(Some(format!("Could not sign out: {error}.")));
                }
            }
        });
    };

    let session_expired = Callback::new(move |()| {
        on_signed_out.run(Some(
            "Your session has ended. Please sign in again.".to_owned(),
        ));
    });

    let user = me.user;
    let role = labels::role(user.role);
    let inbox_count = me.inboxes.len();

    view! {
        <header class="topbar">
            <span class="brand">"Tandem"</span>
            <div class="account">
                <span class="user">
                    <span id="whoami">{user.display_name}</span>
                    <span class="role" title="Your role">{role}</span>
                </span>
                <button
                    id="logout"
                    type="button"
                    class="secondary"
                    on:click=sign_out
                    disabled=move || signing_out.get()
                >
                    "Sign out"
                </button>
            </div>
        </header>
        <main class="content">
            {move || {
                sign_out_error
                    .get()
                    .map(|message| view! { <p class="error" role="alert">{message}</p> })
            }}
            <div class="section-head">
                <h1>"Tickets"</h1>
                <span class="muted">
                    {match inbox_count {
                        1 => "1 inbox".to_owned(),
                        n => format!("{n} inboxes"),
                    }}
                </span>
            </div>
            <TicketList on_unauthenticated=session_expired />
        </main>
    }
}
