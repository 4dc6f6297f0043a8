//! Keyboard shortcuts: j/k move, Enter/o open, r reply, n note, a assign, e solve, / search,
//! ? help, Esc closes. Keys typed into a field are left alone (Esc leaves the field).

use leptos::ev;
use leptos::prelude::*;
use tandem_web_core::keys::command_for;
use wasm_bindgen::JsCast;

use crate::i18n::{Msg, t};
use crate::route::{Route, Router};

pub use tandem_web_core::keys::Command;

/// Context: the last command (with a sequence number, so the same key twice counts twice)
/// and whether the help is open.
#[derive(Debug, Clone, Copy)]
pub struct Shortcuts {
    pub help: RwSignal<bool>,
    command: RwSignal<(u64, Option<Command>)>,
}

impl Shortcuts {
    pub fn install(router: Router) -> Shortcuts {
        let shortcuts = Shortcuts { help: RwSignal::new(false), command: RwSignal::new((0, None)) };
        let handle = window_event_listener(ev::keydown, move |event: web_sys::KeyboardEvent| {
            if event.ctrl_key() || event.meta_key() || event.alt_key() || event.default_prevented() {
                return;
            }
            let key = event.key();
            if key == "Escape" {
                shortcuts.help.set(false);
                if let Some(active) = active_element() {
                    let _ = active.blur();
                }
                return;
            }
            if in_text_field(&event) {
                return;
            }
            if key == "?" {
                event.prevent_default();
                shortcuts.help.update(|open| *open = !*open);
                return;
            }
            // `Enter` on a focused button or link keeps its own meaning.
            if key == "Enter" && active_element().is_some_and(|el| matches!(el.tag_name().as_str(), "BUTTON" | "A")) {
                return;
            }
            if let Some(command) = command_for(&key) {
                // j/k and / have browser meanings (scroll, quick find) that we replace.
                event.prevent_default();
                if command == Command::Search && !matches!(router.route.get_untracked(), Route::List(_)) {
                    router.go(Route::List(crate::route::View::Open));
                }
                shortcuts.command.update(|(seq, last)| {
                    *seq += 1;
                    *last = Some(command);
                });
            }
        });
        on_cleanup(move || handle.remove());
        shortcuts
    }

    /// Runs `handler` for every command given after this call (not for earlier ones).
    pub fn on(self, handler: impl Fn(Command) + 'static) {
        let start = self.command.get_untracked().0;
        Effect::new(move |_| {
            let (seq, command) = self.command.get();
            if let Some(command) = command
                && seq > start
            {
                handler(command);
            }
        });
    }
}

pub fn use_shortcuts() -> Shortcuts {
    expect_context::<Shortcuts>()
}

fn active_element() -> Option<web_sys::HtmlElement> {
    web_sys::window()?.document()?.active_element()?.dyn_into().ok()
}

fn in_text_field(event: &web_sys::KeyboardEvent) -> bool {
    let Some(target) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || target.is_content_editable()
}

/// The `?` overlay listing the shortcuts.
#[component]
pub fn HelpOverlay() -> impl IntoView {
    let shortcuts = use_shortcuts();
    let rows = [
        ("j / k", Msg::ShortcutMove),
        ("Enter / o", Msg::ShortcutOpen),
        ("r", Msg::ShortcutReply),
        ("n", Msg::ShortcutNote),
        ("a", Msg::ShortcutAssign),
        ("e", Msg::ShortcutSolve),
        ("/", Msg::ShortcutSearch),
        ("?", Msg::ShortcutHelp),
        ("Esc", Msg::ShortcutEscape),
    ];
    move || {
        shortcuts.help.get().then(|| {
            view! {
                <div id="shortcut-help" class="overlay" role="dialog" aria-modal="true" aria-labelledby="shortcut-title">
                    <div class="card">
                        <h2 id="shortcut-title">{t(Msg::KeyboardShortcuts)}</h2>
                        <dl class="shortcuts">
                            {rows.iter().map(|(keys, msg)| view! { <dt><kbd>{*keys}</kbd></dt><dd>{t(*msg)}</dd> }).collect_view()}
                        </dl>
                        <button type="button" class="secondary" autofocus on:click=move |_| shortcuts.help.set(false)>
                            {t(Msg::Close)}
                        </button>
                    </div>
                </div>
            }
        })
    }
}
