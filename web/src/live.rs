//! The live channel: one WebSocket per tab (`/api/v1/live`) that tells the UI which tickets
//! changed and who is looking at which ticket. It reconnects by itself with a growing delay;
//! after a reconnect every view reloads what it shows (events sent meanwhile are not replayed).

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use tandem_proto::{LiveCommand, LiveEvent, Viewer};
use tandem_web_core::reconnect;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Signals fed by the socket. Cheap to copy; provided as context.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// Whether the socket is open now.
    pub connected: RwSignal<bool>,
    /// This tab's connection id (to tell itself apart in presence lists).
    pub connection_id: RwSignal<Option<u64>>,
    /// Newest audit event id per changed ticket number.
    pub changed: RwSignal<HashMap<i64, i64>>,
    /// Bumped on every ticket change the user may see (lists reload on it).
    pub any_change: RwSignal<u64>,
    /// Bumped after a reconnect: everything shown may be stale.
    pub resync: RwSignal<u64>,
    /// Who views which ticket.
    pub presence: RwSignal<HashMap<i64, Vec<Viewer>>>,
    /// Which `start` this is: a view rebuilt around a newer one must not stop it.
    generation: u64,
}

#[derive(Default)]
struct Connection {
    socket: Option<WebSocket>,
    /// What the server should know about this tab, resent after a reconnect.
    viewing: Option<i64>,
    typing: bool,
    attempts: u32,
    ever_connected: bool,
    stopped: bool,
    generation: u64,
    // Closures the socket calls; dropped (and replaced) with the socket.
    handlers: Vec<Box<dyn std::any::Any>>,
}

thread_local! {
    static CONNECTION: RefCell<Connection> = RefCell::new(Connection::default());
}

impl Live {
    /// Opens the socket. Call once, after signing in.
    pub fn start() -> Live {
        let generation = CONNECTION.with(|c| {
            let mut c = c.borrow_mut();
            c.generation += 1;
            c.stopped = false;
            c.attempts = 0;
            c.ever_connected = false;
            c.generation
        });
        let live = Live {
            generation,
            connected: RwSignal::new(false),
            connection_id: RwSignal::new(None),
            changed: RwSignal::new(HashMap::new()),
            any_change: RwSignal::new(0),
            resync: RwSignal::new(0),
            presence: RwSignal::new(HashMap::new()),
        };
        connect(live);
        // The view that owns these signals is being replaced or closed: so is the socket.
        on_cleanup(move || live.stop());
        live
    }

    /// Closes the socket for good (signing out, or the view being rebuilt).
    pub fn stop(self) {
        CONNECTION.with(|c| {
            let mut c = c.borrow_mut();
            if c.generation != self.generation {
                return;
            }
            c.stopped = true;
            if let Some(socket) = c.socket.take() {
                detach_and_close(&socket);
            }
            c.handlers.clear();
            c.viewing = None;
        });
    }

    /// The tab now shows `number` (or no ticket).
    pub fn viewing(self, number: Option<i64>) {
        let changed = CONNECTION.with(|c| {
            let mut c = c.borrow_mut();
            let changed = c.viewing != number;
            c.viewing = number;
            c.typing = false;
            changed
        });
        if changed {
            send(&LiveCommand::Viewing { number });
        }
    }

    /// The user is (or stopped) typing on the ticket shown. Repeat while typing: the server
    /// forgets the flag after a few seconds without news.
    pub fn typing(self, typing: bool) {
        CONNECTION.with(|c| c.borrow_mut().typing = typing);
        send(&LiveCommand::Typing { typing });
    }

    /// Everyone viewing `number`, other than this tab.
    pub fn others_viewing(self, number: i64) -> Vec<Viewer> {
        let me = self.connection_id.get();
        self.presence.with(|p| {
            p.get(&number)
                .map(|viewers| viewers.iter().filter(|v| Some(v.connection_id) != me).cloned().collect())
                .unwrap_or_default()
        })
    }
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/api/v1/live", location.host().ok()?))
}

fn send(command: &LiveCommand) {
    let Ok(text) = serde_json::to_string(command) else { return };
    CONNECTION.with(|c| {
        if let Some(socket) = c.borrow().socket.as_ref()
            && socket.ready_state() == WebSocket::OPEN
        {
            let _ = socket.send_with_str(&text);
        }
    });
}

/// Unhooks our handlers (they are about to be dropped) before closing the socket.
fn detach_and_close(socket: &WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
    let _ = socket.close();
}

fn connect(live: Live) {
    let Some(url) = socket_url() else { return };
    if let Some(old) = CONNECTION.with(|c| c.borrow_mut().socket.take()) {
        detach_and_close(&old);
    }
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        Err(_) => {
            schedule_reconnect(live);
            return;
        }
    };

    let on_open = Closure::<dyn Fn()>::new(move || {
        live.connected.set(true);
        let (viewing, typing) = CONNECTION.with(|c| {
            let mut c = c.borrow_mut();
            c.attempts = 0;
            (c.viewing, c.typing)
        });
        if viewing.is_some() {
            send(&LiveCommand::Viewing { number: viewing });
            if typing {
                send(&LiveCommand::Typing { typing });
            }
        }
    });
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else { return };
        match serde_json::from_str::<LiveEvent>(&text) {
            Ok(event) => apply(live, event),
            Err(error) => leptos::logging::warn!("live: unexpected frame ({error}): {text}"),
        }
    });
    let on_close = Closure::<dyn Fn(CloseEvent)>::new(move |_event: CloseEvent| {
        live.connected.set(false);
        live.presence.set(HashMap::new());
        let stopped = CONNECTION.with(|c| {
            let mut c = c.borrow_mut();
            c.socket = None;
            c.stopped
        });
        if !stopped {
            schedule_reconnect(live);
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    CONNECTION.with(|c| {
        let mut c = c.borrow_mut();
        c.socket = Some(socket);
        c.handlers = vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
    });
}

fn apply(live: Live, event: LiveEvent) {
    match event {
        LiveEvent::Hello { connection_id } => {
            live.connection_id.set(Some(connection_id));
            let reconnected = CONNECTION.with(|c| {
                let mut c = c.borrow_mut();
                std::mem::replace(&mut c.ever_connected, true)
            });
            if reconnected {
                live.resync.update(|n| *n += 1);
            }
        }
        LiveEvent::TicketChanged { number, event_id, .. } => {
            live.changed.update(|changed| {
                changed.insert(number, event_id);
            });
            live.any_change.update(|n| *n += 1);
        }
        LiveEvent::Presence { number, viewers } => {
            live.presence.update(|presence| {
                if viewers.is_empty() {
                    presence.remove(&number);
                } else {
                    presence.insert(number, viewers);
                }
            });
        }
    }
}

fn schedule_reconnect(live: Live) {
    let attempts = CONNECTION.with(|c| {
        let mut c = c.borrow_mut();
        c.attempts += 1;
        c.attempts
    });
    set_timeout(
        move || {
            let current = CONNECTION.with(|c| {
                let c = c.borrow();
                !c.stopped && c.generation == live.generation
            });
            if current {
                connect(live);
            }
        },
        reconnect::delay(attempts),
    );
}
