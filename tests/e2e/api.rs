//! API behaviour over real HTTP: sessions and cookies, bad input of every kind, the send
//! guard, CSRF, and the operational endpoints.

use reqwest::{Method, header};
use serde_json::{Value, json};
use tandem_store::{backend_tests, testing::Backend};
use tandem_tests::TestServer;

/// `POST /api/v1/tickets` with a `length`-byte JSON body (white space); the answer is read
/// until the server closes the connection.
async fn body_too_large(server: &TestServer, api: &tandem_tests::Api, length: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let token = api.bearer.as_deref().expect("a token client");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send the head");
    stream.write_all(&vec![b' '; length]).await.expect("send the body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read the answer");
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    // The body may come chunked: the JSON object is the part between the outer braces.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) if start < end => serde_json::from_str(&body[start..=end]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

fn assert_error(status: u16, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

async fn sessions_use_safe_cookies(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server
        .anonymous()
        .send(Method::POST, "/api/v1/session", Some(&json!({ "email": "supervisor@desk.test", "password": tandem_tests::PASSWORD })))
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    for flag in ["tandem_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }
    let me: Value = response.json().await.expect("json");
    assert_eq!(me["user"]["role"], "supervisor");
    assert_eq!(me["inboxes"].as_array().map(Vec::len), Some(1));

    let api = server.login("agent@desk.test").await;
    let (status, me) = api.get("/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["email"], "agent@desk.test");
    // A write from another site with the session cookie is refused.
    let evil = api
        .request(Method::PATCH, "/api/v1/me")
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({ "availability": "away" }))
        .send()
        .await
        .expect("request");
    assert_eq!(evil.status(), 403);
    // Sign out: the cookie no longer works.
    let (status, _) = api.call(Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(status, 204);
    let (status, body) = api.get("/api/v1/me").await;
    assert_error(status, &body, 401, "unauthenticated");
    // Wrong passwords and unknown users get the same answer.
    let (s1, b1) = server.anonymous().post("/api/v1/session", &json!({ "email": "agent@desk.test", "password": "wrong password" })).await;
    let (s2, b2) = server.anonymous().post("/api/v1/session", &json!({ "email": "ghost@desk.test", "password": "wrong password" })).await;
    assert_error(s1, &b1, 401, "invalid_credentials");
    assert_eq!((s1, &b1), (s2, &b2));
    // A malformed bearer header is a clear 401.
    let (status, body) = server
        .anonymous()
        .request(Method::GET, "/api/v1/me")
        .header(header::AUTHORIZATION, "Basic abc")
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map(|s| (s, Value::Null))
        .expect("request");
    assert_eq!(status, 401, "{body}");
}

async fn bad_input_gets_clear_4xx_never_500(backend: Backend) {
    let server = TestServer::start(backend).await;
    let api = server.token_for(&server.desk.supervisor).await;
    let a = server.desk.ticket_a;
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut builder = api.request(method, path).body(body);
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        async move {
            let response = builder.send().await.expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let json_ct = Some("application/json");
    let (s, b) = raw(Method::POST, "/api/v1/tickets", json_ct, b"{\"subject\": ".to_vec()).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = raw(Method::POST, "/api/v1/tickets", json_ct, br#"{"inbox_id": "one", "subject": 1}"#.to_vec()).await;
    assert_error(s, &b, 422, "validation");
    let (s, b) = raw(Method::PATCH, &format!("/api/v1/tickets/{a}"), json_ct, br#"{"version": 1, "colour": "red"}"#.to_vec()).await;
    assert_error(s, &b, 422, "validation");
    assert!(b["error"]["message"].as_str().is_some_and(|m| m.contains("colour")), "{b}");
    let (s, b) = raw(Method::POST, "/api/v1/tickets", Some("text/plain"), b"hello".to_vec()).await;
    assert_error(s, &b, 415, "unsupported_media_type");
    // One byte over the limit (2 MiB by default). Sent by hand and in full before the answer
    // is read: a client still writing a larger body would race the server's early answer.
    let (s, b) = body_too_large(&server, &api, 2 * 1024 * 1024 + 1).await;
    assert_error(s, &b, 413, "payload_too_large");
    let (s, b) = raw(Method::POST, "/api/v1/tickets", json_ct, b"\xff\xfe\x00garbage".to_vec()).await;
    assert!(s == 400 || s == 422, "{s} {b}");
    let (s, b) = api.get("/api/v1/tickets/abc").await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = api.get("/api/v1/tickets?limit=abc").await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = api.get("/api/v1/tickets?status=later").await;
    assert_error(s, &b, 422, "validation");
    assert_eq!(b["error"]["field"], "status");
    assert!(b["error"]["message"].as_str().is_some_and(|m| m.contains("unknown ticket status `later`") && m.contains("on_hold")), "{b}");
    let (s, b) = api.get("/api/v1/tickets?limit=0").await;
    assert_error(s, &b, 422, "validation");
    let (s, b) = api.get("/api/v1/tickets?cursor=forged").await;
    assert_error(s, &b, 422, "validation");
    let (s, b) = api.get("/api/v1/tickets/999999").await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = api.get("/api/v1/no-such-thing").await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = api.call(Method::PUT, "/api/v1/tickets", None).await;
    assert_error(s, &b, 405, "method_not_allowed");
    // Domain refusals: empty subject, bad email, invalid transition, empty patch.
    let (s, b) = api.post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": "  ", "body_text": "x", "contact": { "email": "a@b.test" } })).await;
    assert_error(s, &b, 422, "validation");
    assert_eq!(b["error"]["field"], "subject");
    let (s, b) = api.post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": "Hi", "body_text": "x", "contact": { "email": "not an email" } })).await;
    assert_error(s, &b, 422, "validation");
    assert_eq!(b["error"]["field"], "contact.email");
    let (_, ticket) = api.get(&format!("/api/v1/tickets/{a}")).await;
    let version = ticket["ticket"]["version"].as_i64().expect("version");
    let (s, b) = api.patch(&format!("/api/v1/tickets/{a}"), &json!({ "version": version, "status": "new" })).await;
    assert!(s == 200, "new to new is a no-op: {b}");
    let (_, b) = api.patch(&format!("/api/v1/tickets/{a}"), &json!({ "version": version, "status": "open" })).await;
    let version = b["version"].as_i64().expect("version");
    let (s, b) = api.patch(&format!("/api/v1/tickets/{a}"), &json!({ "version": version, "status": "new" })).await;
    assert_error(s, &b, 422, "invalid_transition");
    let (s, b) = api.patch(&format!("/api/v1/tickets/{a}"), &json!({ "version": version })).await;
    assert_error(s, &b, 422, "validation");
    // Duplicates are a 409 naming the field.
    let admin = server.token_for(&server.desk.admin).await;
    let (s, b) = admin.post("/api/v1/inboxes", &json!({ "name": "Again", "address": "support@desk.test" })).await;
    assert_error(s, &b, 409, "duplicate");
    assert_eq!(b["error"]["field"], "address");
    // Bulk: refusals are reported per ticket, with reasons.
    let observer = server.token_for(&server.desk.observer).await;
    let (s, b) = observer.post("/api/v1/tickets/bulk", &json!({ "numbers": [a, 424242], "status": "solved" })).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["succeeded"], json!([]));
    assert_eq!(b["failed"][0]["error"]["code"], "forbidden");
    assert_eq!(b["failed"][1]["error"]["code"], "not_found");
}

async fn send_guard_over_http(backend: Backend) {
    let server = TestServer::start(backend).await;
    let agent = server.token_for(&server.desk.agent).await;
    let supervisor = server.login("supervisor@desk.test").await;
    let a = server.desk.ticket_a;
    let (_, seen) = agent.get(&format!("/api/v1/tickets/{a}")).await;
    let version = seen["ticket"]["version"].as_i64().expect("version");
    let (s, _) = supervisor.post(&format!("/api/v1/tickets/{a}/notes"), &json!({ "body_text": "I'll call them", "seen_version": version })).await;
    assert_eq!(s, 201);
    let (s, b) = agent.post(&format!("/api/v1/tickets/{a}/replies"), &json!({ "body_text": "Hello!", "seen_version": version })).await;
    assert_error(s, &b, 409, "conflict");
    assert_eq!(b["error"]["conflict"]["unseen_messages"][0]["body_text"], "I'll call them");
    assert_eq!(b["error"]["conflict"]["unseen_messages"][0]["kind"], "note");
    let current = b["error"]["conflict"]["current_version"].as_i64().expect("current");
    let (s, b) = agent
        .post(&format!("/api/v1/tickets/{a}/replies"), &json!({ "body_text": "Hello!", "seen_version": current, "set_status": "pending" }))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["ticket"]["status"], "pending");
    assert_eq!(b["message"]["delivery_state"], "queued");
    // The timeline shows both messages and the status change.
    let (_, detail) = agent.get(&format!("/api/v1/tickets/{a}")).await;
    let kinds: Vec<_> = detail["messages"].as_array().expect("messages").iter().map(|m| m["kind"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(kinds, ["inbound", "note", "reply"]);
    assert!(detail["events"].as_array().expect("events").iter().any(|e| e["field"] == "status" && e["after"] == "pending"));
}

async fn operational_endpoints(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anon = server.anonymous();
    let response = anon.send(Method::GET, "/healthz", None).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-request-id").is_some(), "every answer carries a request id");
    assert_eq!(anon.send(Method::GET, "/readyz", None).await.status(), 200);
    let api = server.token_for(&server.desk.agent).await;
    api.get("/api/v1/tickets").await;
    let metrics = anon.send(Method::GET, "/metrics", None).await.text().await.expect("text");
    assert!(metrics.contains("tandem_http_requests_total{method=\"GET\",route=\"/api/v1/tickets\",status=\"200\"} 1"), "{metrics}");
    assert!(metrics.contains("tandem_http_request_duration_seconds_bucket"), "{metrics}");
    assert!(metrics.contains("tandem_db_pool_connections"), "{metrics}");
    let (status, doc) = anon.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    assert!(doc["paths"]["/api/v1/tickets/{number}/replies"]["post"].is_object());
    // The security headers are on every answer.
    let response = anon.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(response.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    assert!(response.headers().get("content-security-policy").is_some());
}

async fn attachments_download_safely(backend: Backend) {
    let server = TestServer::start(backend).await;
    let api = server.token_for(&server.desk.agent).await;
    let response = api.send(Method::GET, &format!("/api/v1/attachments/{}", server.desk.attachment.id), None).await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers().get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(disposition, "attachment; filename=\"screenshot.png\"");
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), b"\x89PNG fake");
}

async fn search(api: &tandem_tests::Api, q: &str) -> (u16, Value) {
    let response = api.request(Method::GET, "/api/v1/search").query(&[("q", q)]).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn search_over_http(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sup = server.token_for(&server.desk.supervisor).await;
    let inbox = server.desk.inbox_a.id;
    let ticket = json!({
        "inbox_id": inbox, "subject": "Zwrot pieniędzy za zamówienie 4711",
        "body_text": "Dzień dobry, proszę o zwrot pieniędzy.", "contact": { "email": "ewa@transpol.pl", "name": "Ewa Nowak" }
    });
    let (s, created) = sup.post("/api/v1/tickets", &ticket).await;
    assert_eq!(s, 201, "{created}");
    let number = created["ticket"]["number"].as_i64().expect("number");

    let (s, found) = search(&sup, "ZAMOWIENIE from:transpol.pl").await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["total"], 1);
    let hit = &found["hits"][0];
    assert_eq!(hit["ticket"]["number"], number);
    assert!(hit["subject"].as_array().expect("pieces").iter().any(|p| p["hit"] == true && p["text"] == "zamówienie"), "{hit}");
    let (s, found) = search(&sup, "zwrotu prosze").await;
    assert_eq!((s, found["hits"][0]["ticket"]["number"].as_i64()), (200, Some(number)), "{found}");
    assert!(found["hits"][0]["excerpt"]["pieces"].as_array().is_some_and(|p| p.iter().any(|p| p["hit"] == true)), "{found}");

    // Another inbox's agent finds nothing; a bad filter is a 422 naming the problem; no
    // credentials is a 401; a missing `q` a 400.
    let agent_b = server.token_for(&server.desk.agent_b).await;
    let (s, found) = search(&agent_b, "zamowienie").await;
    assert_eq!((s, found["total"].as_u64()), (200, Some(0)), "{found}");
    let (s, b) = search(&sup, "status:someday").await;
    assert_error(s, &b, 422, "validation");
    assert!(b["error"]["message"].as_str().is_some_and(|m| m.contains("status:someday")), "{b}");
    let (s, b) = search(&server.anonymous(), "zamowienie").await;
    assert_error(s, &b, 401, "unauthenticated");
    let (s, b) = sup.get("/api/v1/search").await;
    assert!(s == 400 || s == 422, "{s} {b}");
    let (s, b) = search(&sup, &"x".repeat(600)).await;
    assert_error(s, &b, 422, "validation");
}

async fn sla_over_http(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.token_for(&server.desk.admin).await;
    let agent = server.token_for(&server.desk.agent).await;
    let calendar = json!({ "name": "Paris", "time_zone": "Europe/Paris", "hours": [
        { "day": "mon", "open": "08:00", "close": "12:00" }, { "day": "mon", "open": "13:00", "close": "18:00" },
        { "day": "tue", "open": "08:00", "close": "18:00" }], "holidays": ["2026-12-25"] });
    let (s, created) = admin.post("/api/v1/sla/calendars", &calendar).await;
    assert_eq!(s, 201, "{created}");
    let overlapping = json!({ "name": "Bad", "time_zone": "Europe/Paris", "hours": [
        { "day": "mon", "open": "08:00", "close": "12:00" }, { "day": "mon", "open": "11:00", "close": "18:00" }] });
    let (s, b) = admin.post("/api/v1/sla/calendars", &overlapping).await;
    assert_error(s, &b, 422, "validation");
    let (s, b) = admin.post("/api/v1/sla/policies", &json!({ "name": "No targets" })).await;
    assert_error(s, &b, 422, "validation");
    let (s, b) = admin.post("/api/v1/sla/policies", &json!({ "name": "Typo", "first_respons_minutes": 5 })).await;
    assert!(s == 400 || s == 422, "{s} {b}");
    let policy = json!({ "name": "Support 2h", "inbox_id": server.desk.inbox_a.id, "first_response_minutes": 120,
        "warn_before_minutes": 15, "escalation": { "notify": true, "raise_priority": true } });
    let (s, saved) = admin.post("/api/v1/sla/policies", &policy).await;
    assert_eq!(s, 201, "{saved}");
    let (s, b) = agent.post("/api/v1/sla/policies", &policy).await;
    assert_error(s, &b, 403, "forbidden");

    // The desk's ticket A (created at the test clock's start) owes a first response in 2 h.
    let path = format!("/api/v1/tickets/{}", server.desk.ticket_a);
    let (_, ticket) = agent.get(&path).await;
    assert_eq!(ticket["ticket"]["sla"]["policy_name"], "Support 2h", "{ticket}");
    assert_eq!(ticket["ticket"]["sla"]["state"], "on_track");
    server.clock.advance(chrono::Duration::hours(3));
    let (_, list) = agent.get("/api/v1/tickets?sla=breached").await;
    let numbers: Vec<i64> = list["items"].as_array().expect("items").iter().filter_map(|t| t["number"].as_i64()).collect();
    assert_eq!(numbers, vec![server.desk.ticket_a], "{list}");
    let (s, b) = agent.get("/api/v1/tickets?sla=late").await;
    assert!(s == 400 || s == 422, "{s} {b}");
    // The scheduler's round raises the breach: an event on the ticket, a notification for the
    // inbox's supervisor, the priority one step up.
    let report = server.store.run_timers().await.expect("timers");
    assert_eq!(report.sla_breaches, 1);
    let (_, ticket) = agent.get(&path).await;
    assert_eq!(ticket["ticket"]["priority"], "high");
    assert!(ticket["events"].as_array().expect("events").iter().any(|e| e["kind"] == "sla.breached"), "{ticket}");
    let sup = server.token_for(&server.desk.supervisor).await;
    let (s, notes) = sup.get("/api/v1/notifications?unread=true").await;
    assert_eq!((s, notes["unread"].as_i64()), (200, Some(1)), "{notes}");
    assert_eq!(notes["items"][0]["kind"], "sla_breach");
    assert_eq!(sup.post("/api/v1/notifications/read", &json!({})).await.0, 204);

    // A reminder in the past is refused clearly; one in the future fires as a notification.
    let (s, b) = agent.post(&format!("{path}/reminders"), &json!({ "remind_at": "2020-01-01T00:00:00Z" })).await;
    assert_error(s, &b, 422, "validation");
    let at = (tandem_domain::Clock::now(server.clock.as_ref()) + chrono::Duration::minutes(30)).to_rfc3339();
    let (s, r) = agent.post(&format!("{path}/reminders"), &json!({ "remind_at": at, "note": "Check the refund" })).await;
    assert_eq!(s, 201, "{r}");
    server.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(server.store.run_timers().await.expect("timers").reminders_fired, 1);
    let (_, notes) = agent.get("/api/v1/notifications").await;
    assert!(notes["items"].as_array().expect("items").iter().any(|n| n["kind"] == "reminder" && n["text"].as_str().is_some_and(|t| t.contains("Check the refund"))), "{notes}");
}

async fn reports_over_http(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sup = server.token_for(&server.desk.supervisor).await;
    let (s, d) = sup.get("/api/v1/reports/dashboard?from=2026-03-01&to=2026-03-07&interval=day").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["created"], 1, "the supervisor sees inbox A only: {d}");
    assert_eq!(d["series"].as_array().map(Vec::len), Some(7));
    let (s, b) = sup.get("/api/v1/reports/breakdown?from=2026-03-01&to=2026-03-07&by=inbox").await;
    assert_eq!((s, b["rows"][0]["label"].as_str()), (200, Some("Support")), "{b}");
    let response = sup.request(reqwest::Method::GET, "/api/v1/reports/export?from=2026-03-01&to=2026-03-07&table=series").send().await.expect("export");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().is_ok_and(|v| v.starts_with("text/csv")));
    assert!(response.headers()["content-disposition"].to_str().is_ok_and(|v| v.contains("tandem-series.csv")));
    let csv = response.text().await.expect("body");
    assert!(csv.starts_with("period,created,solved,backlog\r\n2026-03-01,0,0,0\r\n2026-03-02,1,0,1\r\n"), "{csv}");
    let agent = server.token_for(&server.desk.agent).await;
    let (s, b) = agent.get("/api/v1/reports/dashboard").await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = sup.get("/api/v1/reports/dashboard?from=2026-02-30").await;
    assert!(s == 400 || s == 422, "{s} {b}");
    let (s, b) = sup.get("/api/v1/reports/dashboard?from=2020-01-01&to=2026-01-01").await;
    assert_error(s, &b, 422, "validation");
    let (s, b) = sup.get("/api/v1/reports/breakdown?by=planet").await;
    assert!(s == 400 || s == 422, "{s} {b}");
}

backend_tests! {
    reports_over_http,
    sla_over_http,
    search_over_http,
    sessions_use_safe_cookies,
    bad_input_gets_clear_4xx_never_500,
    send_guard_over_http,
    operational_endpoints,
    attachments_download_safely,
}
