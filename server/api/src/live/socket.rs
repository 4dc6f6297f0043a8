//! One live connection, from the upgraded handshake to its end.
//!
//! 1. Registers with the hub (presence, the change feed), waits for the feed to run, sends
//!    `Hello`.
//! 2. Then, until either side closes: forwards ticket changes the user may see and presence
//!    updates; applies the client's commands; pings every [`PING_EVERY`] and re-checks the
//!    credential then (a signed-out session or revoked token closes with 1008, a membership
//!    change applies); clears a lapsed typing flag.
//! 3. Its presence is removed when it ends, however it ends (the registration is dropped).
//!
//! **Malformed frames are ignored and logged** (at debug level): text that is not a
//! [`LiveCommand`] (bad JSON, an unknown `type`, unknown fields), and binary frames. The socket
//! stays open, so a newer client talking to an older server (a rolling deploy) keeps its
//! ticket changes; a frame over [`MAX_FRAME_BYTES`] is a protocol error that ends the
//! connection (the client reconnects). Viewing a ticket the user may not see is refused the
//! same way (logged), and the connection then views nothing.

use std::time::Duration;

use axum::{
    extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code},
    response::Response,
};
use tandem_domain::{
    Actor,
    policy::{self, Action},
};
use tandem_proto::{LiveCommand, LiveEvent};
use tandem_store::Store;
use tokio::{
    sync::broadcast::error::RecvError,
    time::{Instant, MissedTickBehavior},
};

use super::{Connection, LiveHub, feed::TicketChange};
use crate::auth::Credential;

/// The server pings this often; clients (browsers) answer by themselves.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A socket that sent nothing (not even a pong) for this long is closed.
pub const SILENT_LIMIT: Duration = Duration::from_secs(65);
/// Largest frame or message accepted from a client (commands are a few dozen bytes).
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// A send that does not complete within this is a dead or stuck client.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a new socket waits for the feed before it says `Hello` anyway.
const FEED_WAIT: Duration = Duration::from_secs(5);

/// Accepts the handshake (already authenticated and checked for its origin) and runs the
/// connection in its own task.
pub fn accept(upgrade: WebSocketUpgrade, hub: LiveHub, store: Store, actor: Actor, credential: Credential) -> Response {
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "live: WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            let connection = hub.connect(actor.user_id, &actor.display_name).await;
            let session = Session { socket, hub, store, actor, credential, viewing: None, typing_deadline: None, last_heard: Instant::now() };
            session.run(connection).await;
        })
}

/// Why the loop ended, and how to tell the client.
enum End {
    /// The client closed, the connection broke, or a send failed: nothing more to say.
    Gone,
    Close(u16, &'static str),
}

/// What woke the loop.
enum Step {
    Frame(Option<Result<Message, axum::Error>>),
    Change(Result<std::sync::Arc<TicketChange>, RecvError>),
    Direct(LiveEvent),
    Ping,
    TypingLapsed,
    Shutdown,
}

struct Session {
    socket: WebSocket,
    hub: LiveHub,
    store: Store,
    actor: Actor,
    credential: Credential,
    /// The ticket viewed and its inbox (to drop it when the user may no longer see it).
    viewing: Option<(i64, i64)>,
    typing_deadline: Option<std::time::Instant>,
    last_heard: Instant,
}

impl Session {
    async fn run(mut self, mut connection: Connection) {
        let id = connection.id;
        if !self.hub.feed_ready(FEED_WAIT).await {
            tracing::warn!(connection = id, "live: the ticket feed is not running yet; the socket starts anyway");
        }
        tracing::debug!(connection = id, user = self.actor.user_id, "live: connected");
        if !self.send(&LiveEvent::Hello { connection_id: id }).await {
            return;
        }
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let end = loop {
            let typing_deadline = self.typing_deadline.map(Instant::from_std);
            let step = tokio::select! {
                frame = self.socket.recv() => Step::Frame(frame),
                change = connection.changes.recv() => Step::Change(change),
                Some(event) = connection.direct.recv() => Step::Direct(event),
                _ = ping.tick() => Step::Ping,
                _ = sleep_until(typing_deadline), if typing_deadline.is_some() => Step::TypingLapsed,
                _ = connection.shutdown.wait_for(|stop| *stop) => Step::Shutdown,
            };
            let outcome = match step {
                Step::Frame(frame) => self.frame(id, frame).await,
                Step::Change(Ok(change)) => self.change(id, &change).await,
                Step::Change(Err(RecvError::Lagged(skipped))) => {
                    tracing::debug!(connection = id, skipped, "live: socket fell behind the ticket feed; changes skipped");
                    Ok(())
                }
                Step::Change(Err(RecvError::Closed)) => Err(End::Close(close_code::AWAY, "server shutting down")),
                Step::Direct(event) => self.send(&event).await.then_some(()).ok_or(End::Gone),
                Step::Ping => self.ping(id).await,
                Step::TypingLapsed => {
                    self.typing_deadline = self.hub.expire_typing(id);
                    Ok(())
                }
                Step::Shutdown => Err(End::Close(close_code::AWAY, "server shutting down")),
            };
            if let Err(end) = outcome {
                break end;
            }
        };
        if let End::Close(code, reason) = end {
            self.close(code, reason).await;
        }
        tracing::debug!(connection = id, "live: disconnected");
        // `connection` drops here: presence removed, viewers told.
        drop(connection);
    }

    async fn frame(&mut self, id: u64, frame: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        let message = match frame {
            None => return Err(End::Gone),
            Some(Err(e)) => {
                tracing::debug!(connection = id, error = %e, "live: socket error");
                return Err(End::Gone);
            }
            Some(Ok(message)) => message,
        };
        self.last_heard = Instant::now();
        match message {
            Message::Text(text) => self.command(id, text.as_str()).await,
            Message::Binary(bytes) => {
                tracing::debug!(connection = id, len = bytes.len(), "live: binary frame ignored");
                Ok(())
            }
            // Pings are answered by the WebSocket layer; pongs only prove the client is there.
            Message::Ping(_) | Message::Pong(_) => Ok(()),
            Message::Close(_) => {
                // Let the WebSocket layer send its reply to the close.
                let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.recv()).await;
                Err(End::Gone)
            }
        }
    }

    async fn command(&mut self, id: u64, text: &str) -> Result<(), End> {
        let command = match serde_json::from_str::<LiveCommand>(text) {
            Ok(command) => command,
            Err(e) => {
                tracing::debug!(connection = id, error = %e, "live: malformed command ignored");
                return Ok(());
            }
        };
        match command {
            LiveCommand::Viewing { number: None } => self.view(id, None),
            LiveCommand::Viewing { number: Some(number) } if self.viewing.is_some_and(|(n, _)| n == number) => {
                // Already there: the hub resends the list to this connection only.
                self.hub.view(id, Some(number));
            }
            LiveCommand::Viewing { number: Some(number) } => match self.store.visible_ticket_inbox(&self.actor, number).await {
                Ok(Some(inbox)) => self.view(id, Some((number, inbox))),
                Ok(None) => {
                    tracing::debug!(connection = id, user = self.actor.user_id, ticket = number, "live: viewing a ticket the user may not see: refused");
                    self.view(id, None);
                }
                Err(e) => tracing::warn!(connection = id, ticket = number, error = %e, "live: cannot check a viewed ticket"),
            },
            LiveCommand::Typing { typing } => self.typing_deadline = self.hub.typing(id, typing),
        }
        Ok(())
    }

    fn view(&mut self, id: u64, viewing: Option<(i64, i64)>) {
        self.viewing = viewing;
        self.typing_deadline = None;
        self.hub.view(id, viewing.map(|(number, _)| number));
    }

    async fn change(&mut self, id: u64, change: &TicketChange) -> Result<(), End> {
        if let Some((number, _)) = self.viewing
            && number == change.number
        {
            // The viewed ticket may have moved to an inbox this user cannot see.
            self.viewing = Some((number, change.inbox_id));
            if !self.may_see(change.inbox_id) {
                self.view(id, None);
            }
        }
        if !change.visible_to(&self.actor) {
            return Ok(());
        }
        let event = LiveEvent::TicketChanged {
            number: change.number,
            inbox_id: change.inbox_id,
            event_id: change.event_id,
            kinds: change.kinds.clone(),
        };
        if self.send(&event).await { Ok(()) } else { Err(End::Gone) }
    }

    /// Keepalive: the client must have said something lately, and its credential must still
    /// hold (memberships may have changed meanwhile).
    async fn ping(&mut self, id: u64) -> Result<(), End> {
        if self.last_heard.elapsed() > SILENT_LIMIT {
            tracing::debug!(connection = id, "live: client silent too long");
            return Err(End::Close(close_code::AWAY, "no answer to pings"));
        }
        match self.credential.actor(&self.store).await {
            Ok(Some(actor)) => {
                self.actor = actor;
                if let Some((_, inbox)) = self.viewing
                    && !self.may_see(inbox)
                {
                    self.view(id, None);
                }
            }
            Ok(None) => return Err(End::Close(close_code::POLICY, "signed out")),
            Err(e) => tracing::warn!(connection = id, error = ?e.detail, "live: cannot re-check the credential"),
        }
        let ping = tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Ping(Default::default()))).await;
        if matches!(ping, Ok(Ok(()))) { Ok(()) } else { Err(End::Gone) }
    }

    fn may_see(&self, inbox_id: i64) -> bool {
        policy::authorize(&self.actor, Action::ViewTicket { inbox_id }).is_ok()
    }

    /// Sends one event; `false` when the client is gone or too slow.
    async fn send(&mut self, event: &LiveEvent) -> bool {
        let text = match serde_json::to_string(event) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!(error = %e, "live: cannot serialise an event");
                return true;
            }
        };
        matches!(tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        if matches!(tokio::time::timeout(SEND_TIMEOUT, self.socket.send(frame)).await, Ok(Ok(()))) {
            // Wait briefly for the client's closing reply, reading anything still in flight.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Some(Ok(message)) = self.socket.recv().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// Sleeps until `deadline` (used only when there is one).
async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}
