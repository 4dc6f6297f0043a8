//! The live channel over a real WebSocket (`GET /api/v1/live`): the handshake's checks,
//! presence between users, ticket changes from the audit trail filtered by inbox, malformed
//! frames; and the sidebar counts and the `snoozed` filter that the live UI reloads.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::{Method, header};
use serde_json::{Value, json};
use tandem_proto::{LiveCommand, LiveEvent, Viewer};
use tandem_store::{backend_tests, testing::Backend};
use tandem_tests::{Api, TestServer};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue, protocol::frame::coding::CloseCode},
};

type Stream = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a change or a presence update may take to arrive.
const WITHIN: Duration = Duration::from_secs(5);
/// How long we listen to be sure that nothing arrives.
const QUIET: Duration = Duration::from_millis(800);

/// The handshake: `Ok` with the socket, or the HTTP status and body of the refusal.
async fn handshake(server: &TestServer, headers: &[(&'static str, String)]) -> Result<Stream, (u16, Value)> {
    let url = format!("{}/api/v1/live", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("a WebSocket request");
    for (name, value) in headers {
        request.headers_mut().insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, response)) => {
            assert_eq!(response.status(), 101);
            Ok(stream)
        }
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
            Err((response.status().as_u16(), body))
        }
        Err(e) => panic!("WebSocket handshake failed: {e}"),
    }
}

/// A handshake that must be refused: its status and error body.
async fn refused(server: &TestServer, headers: &[(&'static str, String)]) -> (u16, Value) {
    match handshake(server, headers).await {
        Ok(_) => panic!("the handshake with {:?} was accepted", headers.iter().map(|(name, _)| name).collect::<Vec<_>>()),
        Err(refusal) => refusal,
    }
}

/// The `tandem_session=…` pair of a fresh sign-in.
async fn session_cookie(server: &TestServer, email: &str) -> String {
    let response = server
        .anonymous()
        .send(Method::POST, "/api/v1/session", Some(&json!({ "email": email, "password": tandem_tests::PASSWORD })))
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).expect("a session cookie");
    cookie.split(';').next().expect("name=value").to_owned()
}

/// A connected client that has received its `Hello`.
struct Client {
    stream: Stream,
    id: u64,
    name: &'static str,
}

impl Client {
    async fn with(server: &TestServer, name: &'static str, headers: &[(&'static str, String)]) -> Client {
        let stream = handshake(server, headers).await.unwrap_or_else(|(status, body)| panic!("{name}: handshake refused with {status}: {body}"));
        let mut client = Client { stream, id: 0, name };
        match client.next(WITHIN).await {
            Some(LiveEvent::Hello { connection_id }) => client.id = connection_id,
            other => panic!("{name}: the first frame must be Hello, got {other:?}"),
        }
        client
    }

    /// Connects with a bearer token.
    async fn token(server: &TestServer, name: &'static str, api: &Api) -> Client {
        let token = api.bearer.clone().expect("a token client");
        Client::with(server, name, &[("authorization", format!("Bearer {token}"))]).await
    }

    /// The next event within `limit`; `None` when nothing came. Panics when the server closes.
    async fn next(&mut self, limit: Duration) -> Option<LiveEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(frame) => frame,
            };
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(text.as_str()).unwrap_or_else(|e| panic!("{}: not a LiveEvent ({e}): {text}", self.name)));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("{}: unexpected frame or end: {other:?}", self.name),
            }
        }
    }

    /// Reads until an event matches; panics with what came instead after [`WITHIN`].
    async fn expect(&mut self, what: &str, matches: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
        let deadline = tokio::time::Instant::now() + WITHIN;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(event) if matches(&event) => return event,
                Some(event) => seen.push(event),
                None => panic!("{}: no {what} within {WITHIN:?}; received {seen:#?}", self.name),
            }
        }
    }

    /// The next presence list of `number`.
    async fn presence(&mut self, number: i64) -> Vec<Viewer> {
        match self.expect(&format!("presence of #{number}"), |e| matches!(e, LiveEvent::Presence { number: n, .. } if *n == number)).await {
            LiveEvent::Presence { viewers, .. } => viewers,
            _ => unreachable!("matched a presence event"),
        }
    }

    /// Reads presence lists of `number` until one shows `want` (names and typing flags).
    async fn presence_until(&mut self, number: i64, want: &[(&str, bool)]) -> Vec<Viewer> {
        let deadline = tokio::time::Instant::now() + WITHIN;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(LiveEvent::Presence { number: n, viewers }) if n == number && who(&viewers) == want => return viewers,
                Some(event) => seen.push(event),
                None => panic!("{}: no presence {want:?} of #{number} within {WITHIN:?}; received {seen:#?}", self.name),
            }
        }
    }

    /// The next change of `number`.
    async fn change(&mut self, number: i64) -> (i64, i64, Vec<String>) {
        match self.expect(&format!("change of #{number}"), |e| matches!(e, LiveEvent::TicketChanged { number: n, .. } if *n == number)).await {
            LiveEvent::TicketChanged { inbox_id, event_id, kinds, .. } => (inbox_id, event_id, kinds),
            _ => unreachable!("matched a change"),
        }
    }

    /// Everything that arrives within `limit`.
    async fn drain(&mut self, limit: Duration) -> Vec<LiveEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut events = Vec::new();
        while let Some(event) = self.next(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            events.push(event);
        }
        events
    }

    async fn send(&mut self, command: &LiveCommand) {
        let text = serde_json::to_string(command).expect("serialises");
        self.raw(Message::Text(text.into())).await;
    }

    async fn raw(&mut self, message: Message) {
        self.stream.send(message).await.unwrap_or_else(|e| panic!("{}: send failed: {e}", self.name));
    }

    async fn close(mut self) {
        self.stream.close(None).await.expect("close");
        // Read the server's closing reply.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WITHIN, self.stream.next()).await {}
    }
}

fn who(viewers: &[Viewer]) -> Vec<(&str, bool)> {
    viewers.iter().map(|v| (v.display_name.as_str(), v.typing)).collect()
}

/// The newest audit event id of a ticket, as its timeline shows it.
async fn newest_event(api: &Api, number: i64) -> i64 {
    let (status, detail) = api.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, 200, "{detail}");
    detail["events"].as_array().expect("events").iter().filter_map(|e| e["id"].as_i64()).max().expect("an event")
}

async fn version(api: &Api, number: i64) -> i64 {
    let (status, detail) = api.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, 200, "{detail}");
    detail["ticket"]["version"].as_i64().expect("version")
}

async fn live_handshake_is_authenticated_and_same_origin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    // No credentials, or a bad one: 401 in the API's error format.
    let (status, body) = refused(&server, &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")), "{body}");
    let (status, _) = refused(&server, &[("authorization", "Bearer not-a-token".into())]).await;
    assert_eq!(status, 401);
    let (status, _) = refused(&server, &[("cookie", "tandem_session=forged".into())]).await;
    assert_eq!(status, 401);
    // A valid cookie from another site's page: cross-site WebSocket hijacking, refused.
    let cookie = session_cookie(&server, "supervisor@desk.test").await;
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        let (status, body) = refused(&server, &[("cookie", cookie.clone()), ("origin", origin.into())]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("csrf")), "{origin}: {body}");
    }
    // The same cookie from our own page, and a token from a non-browser client, connect.
    let a = Client::with(&server, "cookie", &[("cookie", cookie.clone()), ("origin", format!("http://{host}"))]).await;
    let api = server.token_for(&server.desk.agent).await;
    let b = Client::token(&server, "token", &api).await;
    assert_ne!(a.id, b.id, "each connection has its own id");
    // A plain GET is not a handshake: a clear 4xx, never a hang or a 500.
    let (status, body) = api.get("/api/v1/live").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "{body}");
    a.close().await;
    b.close().await;
}

async fn live_presence_between_two_users(backend: Backend) {
    let server = TestServer::start(backend).await;
    let a = server.desk.ticket_a;
    let cookie = session_cookie(&server, "supervisor@desk.test").await;
    let mut sup = Client::with(&server, "supervisor", &[("cookie", cookie)]).await;
    let agent_api = server.token_for(&server.desk.agent).await;
    let mut agent = Client::token(&server, "agent", &agent_api).await;

    // Whoever starts viewing gets the current list at once; the others hear about it.
    sup.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false)]);
    agent.send(&LiveCommand::Viewing { number: Some(a) }).await;
    let seen_by_agent = agent.presence(a).await;
    assert_eq!(who(&seen_by_agent), [("supervisor", false), ("agent", false)]);
    assert_eq!(seen_by_agent[0].connection_id, sup.id);
    assert_eq!(seen_by_agent[1].connection_id, agent.id);
    assert_eq!(seen_by_agent[1].user_id, server.desk.agent.id);
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false), ("agent", false)]);

    // Typing shows, and clears.
    agent.send(&LiveCommand::Typing { typing: true }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false), ("agent", true)]);
    agent.send(&LiveCommand::Typing { typing: false }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false), ("agent", false)]);
    // Moving away clears typing and the viewer.
    agent.send(&LiveCommand::Typing { typing: true }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false), ("agent", true)]);
    agent.send(&LiveCommand::Viewing { number: None }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false)]);

    // A closed socket, and one that just drops its TCP connection, leave the list.
    agent.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false), ("agent", false)]);
    agent.close().await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false)]);
    let mut second = Client::token(&server, "agent again", &agent_api).await;
    second.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false), ("agent", false)]);
    drop(second);
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false)]);
    sup.close().await;
}

/// Two server processes on one database (as behind a load balancer): agents connected to
/// different processes see each other on a ticket, typing included, and ticket changes made
/// through one process reach the sockets of the other; a stopped process's viewers go at
/// once, a crashed one's (no heartbeat) after 30 s.
async fn live_presence_across_processes(backend: Backend) {
    let one = TestServer::start(backend).await;
    let two = one.peer().await;
    let a = one.desk.ticket_a;
    let sup_api = one.token_for(&one.desk.supervisor).await;
    let agent_api = two.token_for(&two.desk.agent).await;
    let mut sup = Client::token(&one, "supervisor on one", &sup_api).await;
    let mut agent = Client::token(&two, "agent on two", &agent_api).await;
    assert_ne!(sup.id >> 32, agent.id >> 32, "each process numbers its connections in its own range");

    sup.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false)]);
    agent.send(&LiveCommand::Viewing { number: Some(a) }).await;
    let seen_by_agent = agent.presence_until(a, &[("supervisor", false), ("agent", false)]).await;
    assert_eq!((seen_by_agent[0].connection_id, seen_by_agent[0].user_id), (sup.id, one.desk.supervisor.id));
    assert_eq!(seen_by_agent[1].connection_id, agent.id);
    sup.presence_until(a, &[("supervisor", false), ("agent", false)]).await;

    // Typing on one process shows on the other, and clears.
    agent.send(&LiveCommand::Typing { typing: true }).await;
    sup.presence_until(a, &[("supervisor", false), ("agent", true)]).await;
    sup.send(&LiveCommand::Typing { typing: true }).await;
    agent.presence_until(a, &[("supervisor", true), ("agent", true)]).await;
    agent.send(&LiveCommand::Typing { typing: false }).await;
    sup.presence_until(a, &[("supervisor", true), ("agent", false)]).await;
    sup.send(&LiveCommand::Typing { typing: false }).await;

    // A note written through process two reaches the supervisor's socket on process one.
    let seen_version = version(&agent_api, a).await;
    let (status, body) = agent_api
        .post(&format!("/api/v1/tickets/{a}/notes"), &json!({ "body_text": "Written on the other process", "seen_version": seen_version }))
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, _, kinds) = sup.change(a).await;
    assert!(kinds.iter().any(|k| k == "message.added"), "{kinds:?}");

    // Leaving on one process is seen on the other.
    agent.close().await;
    sup.presence_until(a, &[("supervisor", false)]).await;

    // A process that stops (a deploy) takes its viewers with it at once.
    let mut agent = Client::token(&two, "agent on two again", &agent_api).await;
    agent.send(&LiveCommand::Viewing { number: Some(a) }).await;
    sup.presence_until(a, &[("supervisor", false), ("agent", false)]).await;
    let mut two = two;
    two.stop_serving().await;
    sup.presence_until(a, &[("supervisor", false)]).await;
    drop(agent);

    // A process that crashed: its viewer shows until its heartbeat is 30 s old.
    let ghost_node = one.store.register_live_node().await.expect("node");
    let admin = &one.desk.admin;
    let ghost = tandem_store::SharedViewer {
        connection_id: (u64::try_from(ghost_node).expect("positive") << 32) | 1,
        user_id: admin.id,
        display_name: admin.display_name.clone(),
        number: a,
        typing: true,
        since: tandem_domain::Clock::now(one.clock.as_ref()) - chrono::Duration::minutes(1),
    };
    one.store.put_live_viewer(ghost_node, &ghost).await.expect("a viewer");
    sup.presence_until(a, &[(admin.display_name.as_str(), true), ("supervisor", false)]).await;
    one.clock.advance(chrono::Duration::seconds(31));
    sup.presence_until(a, &[("supervisor", false)]).await;
    sup.close().await;
}

async fn live_ticket_changes_follow_visibility(backend: Backend) {
    let server = TestServer::start(backend).await;
    let desk = server.desk.clone();
    let (a, b) = (desk.ticket_a, desk.ticket_b);
    let sup_api = server.token_for(&desk.supervisor).await;
    let agent_api = server.token_for(&desk.agent).await;
    let admin_api = server.token_for(&desk.admin).await;
    let agent_b_api = server.token_for(&desk.agent_b).await;
    let mut sup = Client::token(&server, "supervisor", &sup_api).await;
    let mut agent_b = Client::token(&server, "agent_b", &agent_b_api).await;

    // Agent B (inbox B only) cannot view ticket A: refused, not listed.
    agent_b.send(&LiveCommand::Viewing { number: Some(a) }).await;
    sup.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&sup.presence(a).await), [("supervisor", false)]);
    let heard = agent_b.drain(QUIET).await;
    assert!(heard.is_empty(), "agent_b heard about ticket A: {heard:?}");

    // A reply through REST reaches the supervisor's socket; the event id is the newest.
    let started = std::time::Instant::now();
    let (status, body) = agent_api
        .post(&format!("/api/v1/tickets/{a}/replies"), &json!({ "body_text": "On it", "seen_version": version(&agent_api, a).await }))
        .await;
    assert_eq!(status, 201, "{body}");
    let newest = newest_event(&sup_api, a).await;
    let (inbox, mut event_id, mut kinds) = sup.change(a).await;
    assert_eq!(inbox, desk.inbox_a.id);
    while event_id < newest {
        let (_, id, more) = sup.change(a).await;
        event_id = id;
        kinds.extend(more);
    }
    assert_eq!(event_id, newest);
    assert!(kinds.iter().any(|k| k == "message.added"), "{kinds:?}");
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());

    // A change of ticket B reaches agent B, and nothing of ticket A ever did.
    let (status, body) = admin_api.patch(&format!("/api/v1/tickets/{b}"), &json!({ "version": version(&admin_api, b).await, "priority": "high" })).await;
    assert_eq!(status, 200, "{body}");
    let mut heard = Vec::new();
    loop {
        let event = agent_b.next(WITHIN).await.expect("the change of ticket B");
        let done = matches!(event, LiveEvent::TicketChanged { number, .. } if number == b);
        heard.push(event);
        if done {
            break;
        }
    }
    heard.extend(agent_b.drain(QUIET).await);
    assert!(heard.iter().all(|e| !matches!(e, LiveEvent::TicketChanged { number, .. } if *number == a)), "agent_b: {heard:?}");
    assert!(heard.iter().all(|e| !matches!(e, LiveEvent::Presence { .. })), "agent_b: {heard:?}");
    // And the supervisor, not a member of inbox B, hears nothing of ticket B.
    let heard = sup.drain(QUIET).await;
    assert!(heard.iter().all(|e| !matches!(e, LiveEvent::TicketChanged { number, .. } if *number == b)), "supervisor: {heard:?}");

    // A ticket moved from A to B: members of both inboxes hear it (it leaves A's lists).
    let (status, created) = sup_api
        .post("/api/v1/tickets", &json!({ "inbox_id": desk.inbox_a.id, "subject": "Moving", "body_text": "x", "contact": { "email": "move@customer.test" } }))
        .await;
    assert_eq!(status, 201, "{created}");
    let moving = created["ticket"]["number"].as_i64().expect("number");
    sup.change(moving).await;
    let (status, body) = admin_api
        .patch(&format!("/api/v1/tickets/{moving}"), &json!({ "version": version(&admin_api, moving).await, "inbox_id": desk.inbox_b.id }))
        .await;
    assert_eq!(status, 200, "{body}");
    let (inbox, _, kinds) = sup.change(moving).await;
    assert_eq!((inbox, kinds.as_slice()), (desk.inbox_b.id, ["ticket.updated".to_owned()].as_slice()));
    let (inbox, _, _) = agent_b.change(moving).await;
    assert_eq!(inbox, desk.inbox_b.id);
    sup.close().await;
    agent_b.close().await;
}

async fn live_malformed_frames_are_ignored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let a = server.desk.ticket_a;
    let api = server.token_for(&server.desk.agent).await;
    let mut client = Client::token(&server, "agent", &api).await;
    for text in ["not json", "{}", r#"{"type":"dance"}"#, r#"{"type":"viewing","number":"x"}"#, r#"{"type":"viewing","number":1001,"extra":1}"#, r#"{"type":"typing"}"#] {
        client.raw(Message::Text(text.into())).await;
    }
    client.raw(Message::Binary(vec![0xff, 0x00, 0x7b].into())).await;
    // Typing without viewing anything is a no-op too.
    client.send(&LiveCommand::Typing { typing: true }).await;
    let heard = client.drain(QUIET).await;
    assert!(heard.is_empty(), "malformed frames are ignored without an answer: {heard:?}");
    // The socket still works, and so does the server.
    client.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&client.presence(a).await), [("agent", false)]);
    assert_eq!(api.get("/healthz").await.0, 200);

    // A frame over the size limit is a protocol error: that socket ends, the server goes on.
    let (status, _) = api.get("/api/v1/me").await;
    assert_eq!(status, 200);
    // (The server may drop the connection while the frame is still being written.)
    let _ = client.stream.send(Message::Text("x".repeat(20 * 1024).into())).await;
    let end = tokio::time::timeout(WITHIN, async {
        loop {
            match client.stream.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the oversized frame ends the socket");
    assert!(matches!(end, None | Some(CloseCode::Size) | Some(CloseCode::Protocol)), "{end:?}");
    let mut again = Client::token(&server, "agent again", &api).await;
    again.send(&LiveCommand::Viewing { number: Some(a) }).await;
    assert_eq!(who(&again.presence(a).await), [("agent", false)]);
    again.close().await;
}

async fn counts(api: &Api) -> Value {
    let (status, body) = api.get("/api/v1/tickets/counts").await;
    assert_eq!(status, 200, "{body}");
    body
}

fn totals(counts: &Value) -> [i64; 6] {
    ["unassigned", "mine", "open", "pending", "snoozed", "solved"].map(|k| counts[k].as_i64().unwrap_or(-1))
}

fn groups(counts: &Value, key: &str) -> Vec<(i64, i64)> {
    counts[key].as_array().expect("a list").iter().map(|g| (g["id"].as_i64().unwrap_or(-1), g["count"].as_i64().unwrap_or(-1))).collect()
}

async fn numbers(api: &Api, query: &str) -> Vec<i64> {
    let (status, page) = api.get(&format!("/api/v1/tickets?{query}")).await;
    assert_eq!(status, 200, "{page}");
    let mut numbers: Vec<i64> = page["items"].as_array().expect("items").iter().filter_map(|t| t["number"].as_i64()).collect();
    numbers.sort_unstable();
    numbers
}

async fn live_counts_and_snoozed_filter(backend: Backend) {
    let server = TestServer::start(backend).await;
    let desk = server.desk.clone();
    let (inbox_a, inbox_b, team) = (desk.inbox_a.id, desk.inbox_b.id, desk.team.id);
    let sup = server.token_for(&desk.supervisor).await;
    let agent = server.token_for(&desk.agent).await;
    let agent_b = server.token_for(&desk.agent_b).await;
    let admin = server.token_for(&desk.admin).await;
    // The desk: ticket A (inbox A) and ticket B (inbox B), both new and unassigned.
    let start = counts(&sup).await;
    assert_eq!(totals(&start), [1, 0, 1, 0, 0, 0], "{start}");
    assert_eq!(groups(&start, "inboxes"), [(inbox_a, 1)]);
    assert_eq!(groups(&start, "teams"), []);

    let mut created = Vec::new();
    for i in 0..5 {
        let (status, body) = sup
            .post("/api/v1/tickets", &json!({ "inbox_id": inbox_a, "subject": format!("Count {i}"), "body_text": "x", "contact": { "email": format!("c{i}@customer.test") } }))
            .await;
        assert_eq!(status, 201, "{body}");
        created.push(body["ticket"]["number"].as_i64().expect("number"));
    }
    let [mine, teamed, solved, snoozed, merged] = created.try_into().expect("five tickets");
    let call = |api: &Api, method: Method, path: String, body: Value| {
        let api = api.clone();
        async move {
            let (status, answer) = api.call(method, &path, Some(&body)).await;
            assert!(status == 200 || status == 201, "{path}: {status} {answer}");
        }
    };
    call(&sup, Method::POST, format!("/api/v1/tickets/{mine}/assign"), json!({ "assignee_id": desk.supervisor.id })).await;
    call(&sup, Method::PATCH, format!("/api/v1/tickets/{mine}"), json!({ "version": version(&sup, mine).await, "status": "pending" })).await;
    call(&sup, Method::POST, format!("/api/v1/tickets/{teamed}/assign"), json!({ "assignee_id": desk.agent.id, "team_id": team })).await;
    call(&sup, Method::PATCH, format!("/api/v1/tickets/{solved}"), json!({ "version": version(&sup, solved).await, "status": "solved" })).await;
    let tomorrow = "2026-03-03T09:00:00Z";
    call(&sup, Method::PATCH, format!("/api/v1/tickets/{snoozed}"), json!({ "version": version(&sup, snoozed).await, "snoozed_until": tomorrow })).await;
    call(&sup, Method::POST, format!("/api/v1/tickets/{merged}/merge"), json!({ "into": snoozed })).await;

    // Active in inbox A: A and `snoozed` unassigned, `mine` (pending, the supervisor's),
    // `teamed` (the agent's, team Tier 2); `solved` is solved; `merged` is not counted.
    let a = desk.ticket_a;
    let by_supervisor = counts(&sup).await;
    assert_eq!(totals(&by_supervisor), [2, 1, 3, 1, 1, 1], "{by_supervisor}");
    assert_eq!(groups(&by_supervisor, "inboxes"), [(inbox_a, 4)]);
    assert_eq!(groups(&by_supervisor, "teams"), [(team, 1)]);
    let by_agent = counts(&agent).await;
    assert_eq!(totals(&by_agent), [2, 1, 3, 1, 1, 1], "{by_agent}");
    // Agent B sees only inbox B; the admin sees both.
    let by_agent_b = counts(&agent_b).await;
    assert_eq!(totals(&by_agent_b), [1, 0, 1, 0, 0, 0], "{by_agent_b}");
    assert_eq!(groups(&by_agent_b, "inboxes"), [(inbox_b, 1)]);
    assert_eq!(groups(&by_agent_b, "teams"), []);
    let by_admin = counts(&admin).await;
    assert_eq!(totals(&by_admin), [3, 0, 4, 1, 1, 1], "{by_admin}");
    assert_eq!(groups(&by_admin, "inboxes"), [(inbox_a, 4), (inbox_b, 1)]);
    // Anonymous callers get nothing.
    assert_eq!(server.anonymous().get("/api/v1/tickets/counts").await.0, 401);

    // The `snoozed` filter of the list.
    assert_eq!(numbers(&sup, "snoozed=true").await, [snoozed]);
    let awake = numbers(&sup, "snoozed=false").await;
    assert!(!awake.contains(&snoozed) && awake.contains(&a) && awake.contains(&mine), "{awake:?}");
    assert_eq!(numbers(&sup, "snoozed=true&status=new").await, [snoozed]);
    assert_eq!(numbers(&sup, "snoozed=true&status=open").await, Vec::<i64>::new());
    let (status, body) = sup.get("/api/v1/tickets?snoozed=maybe").await;
    assert_eq!(status, 400, "{body}");
    // Once the snooze has passed, the ticket is no longer snoozed anywhere.
    server.clock.advance(chrono::Duration::days(2));
    assert_eq!(numbers(&sup, "snoozed=true").await, Vec::<i64>::new());
    assert!(numbers(&sup, "snoozed=false").await.contains(&snoozed));
    assert_eq!(totals(&counts(&sup).await)[4], 0);
}

fn cache_hits(metrics: &str, cache: &str) -> u64 {
    let line = format!("tandem_read_cache_lookups_total{{cache=\"{cache}\",result=\"hit\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&line)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// The list and the counts that every open UI reloads are answered from memory between
/// writes (`response_cache`): a write shows at once, to every caller, within what each may see,
/// and a snooze that runs out shows without any write.
async fn cached_reads_follow_every_write(backend: Backend) {
    let server = TestServer::start(backend).await;
    let desk = server.desk.clone();
    let sup = server.token_for(&desk.supervisor).await;
    let agent = server.token_for(&desk.agent).await;
    let admin = server.token_for(&desk.admin).await;
    let a = desk.ticket_a;
    let metrics = || async { server.anonymous().send(Method::GET, "/metrics", None).await.text().await.expect("text") };
    for _ in 0..3 {
        assert_eq!(numbers(&agent, "status=new").await, [a]);
        assert_eq!(totals(&counts(&agent).await), [1, 0, 1, 0, 0, 0]);
    }
    let text = metrics().await;
    assert!(cache_hits(&text, "tickets") >= 2 && cache_hits(&text, "counts") >= 2, "the repeated reads came from the cache: {text}");

    // Another caller's write: the agent's very next reads see it.
    let (status, body) = sup.patch(&format!("/api/v1/tickets/{a}"), &json!({ "version": version(&sup, a).await, "status": "open" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(numbers(&agent, "status=new").await, Vec::<i64>::new());
    assert_eq!(numbers(&agent, "status=open").await, [a]);
    // A write that does not go through HTTP (the store itself, as mail intake does).
    let tomorrow = tandem_domain::Clock::now(server.clock.as_ref()) + chrono::Duration::days(1);
    let actor = tandem_store::testing::actor(&server.store, &desk.supervisor).await;
    let current = server.store.get_ticket(&actor, a).await.expect("ticket").ticket;
    server
        .store
        .update_ticket(&actor, a, tandem_proto::UpdateTicket { version: current.version, snoozed_until: Some(Some(tomorrow)), ..Default::default() })
        .await
        .expect("snooze");
    assert_eq!(numbers(&agent, "snoozed=true").await, [a]);
    assert_eq!(totals(&counts(&agent).await)[4], 1);
    // The clock passing the snooze changes the answer with no write at all.
    server.clock.advance(chrono::Duration::days(2));
    assert_eq!(numbers(&agent, "snoozed=true").await, Vec::<i64>::new());
    assert_eq!(totals(&counts(&agent).await)[4], 0);
    // Membership is part of what a caller sees: removed from inbox A, the agent's list and
    // counts are empty at once; the admin's are not.
    let (status, body) = admin.call(Method::DELETE, &format!("/api/v1/inboxes/{}/members/{}", desk.inbox_a.id, desk.agent.id), None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(numbers(&agent, "status=open").await, Vec::<i64>::new());
    assert_eq!(totals(&counts(&agent).await), [0, 0, 0, 0, 0, 0]);
    assert_eq!(numbers(&admin, "status=open").await, [a]);
}

backend_tests! {
    cached_reads_follow_every_write,
    live_handshake_is_authenticated_and_same_origin,
    live_presence_between_two_users,
    live_presence_across_processes,
    live_ticket_changes_follow_visibility,
    live_malformed_frames_are_ignored,
    live_counts_and_snoozed_filter,
}
