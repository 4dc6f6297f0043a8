//! Client-side routing: the address bar is the state of the page, so reload, back/forward and
//! links work. The routes themselves are `tandem_web_core::route`. The server answers every
//! unknown path with `index.html`.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};

pub use tandem_web_core::route::{AdminPage, Route, View};

/// The current route, kept in step with the address bar. Provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct Router {
    pub route: RwSignal<Route>,
    /// The search query of [`Route::Search`] (the `q` of the address).
    pub query: RwSignal<String>,
}

impl Router {
    /// Reads the address bar and follows back/forward.
    pub fn install() -> Router {
        let route = RwSignal::new(Route::parse(&current_path()));
        let query = RwSignal::new(current_query());
        let on_pop = Closure::<dyn Fn()>::new(move || {
            query.set(current_query());
            route.set(Route::parse(&current_path()));
        });
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        }
        // Lives as long as the page.
        on_pop.forget();
        Router { route, query }
    }

    /// Shows the search page for `q` (a new history entry, so Back returns to the list).
    pub fn search(self, q: &str) {
        if self.route.get_untracked() == Route::Search && self.query.get_untracked() == q {
            return;
        }
        let url = format!("/search?q={}", String::from(js_sys::encode_uri_component(q)));
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url));
        }
        self.query.set(q.to_owned());
        self.route.set(Route::Search);
    }

    pub fn go(self, route: Route) {
        if self.route.get_untracked() == route {
            return;
        }
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&route.path()));
        }
        self.route.set(route);
    }
}

pub fn use_router() -> Router {
    expect_context::<Router>()
}

/// `q` of the address's query string, decoded.
fn current_query() -> String {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    query_param(&search, "q")
}

/// The value of `name` in a query string (`?a=1&q=x%20y`); `+` is a space, as in forms.
pub fn query_param(search: &str, name: &str) -> String {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| js_sys::decode_uri_component(&value.replace('+', " ")).ok())
        .map(String::from)
        .unwrap_or_default()
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into())
}
