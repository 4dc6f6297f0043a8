//! The role matrix: every endpoint, called as anonymous, observer, agent (non-member and
//! member of the ticket's inbox), supervisor and admin, with the expected status of each.
//! The table is checked against the OpenAPI document, so a new route without a row fails.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use tandem_proto as proto;
use tandem_domain::Clock;
use tandem_store::{backend_tests, testing::{Backend, actor}};
use tandem_tests::{Api, TestServer};

/// Callers, in the order of the expectation arrays.
const ROLES: [&str; 6] = ["anonymous", "observer", "agent (non-member)", "agent (member)", "supervisor", "admin"];

/// What a row needs prepared before each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prep {
    Nothing,
    /// A file the admin attached to ticket A and has not sent (`ctx.fresh` is its id).
    AdminUpload,
    /// Two fresh tickets in inbox A (merge).
    FreshTickets,
    /// A fresh ticket with two customer messages (split).
    SplitTicket,
    /// A fresh template (delete).
    FreshTemplate,
    /// A fresh API token of the admin (revoke).
    AdminToken,
    /// A fresh saved view of the admin (`ctx.fresh`: change, delete).
    AdminView,
    /// A fresh business-hours calendar (update, delete).
    FreshCalendar,
    /// A fresh SLA policy (update, delete).
    FreshPolicy,
    /// A reminder of the caller, pending (delete) or fired into a notification (read).
    OwnReminder,
    OwnNotification,
    /// A reply of the admin on ticket A whose delivery failed (`ctx.fresh`), inbox A with
    /// SMTP set up (to a closed port: no sender runs in this server).
    FailedReply,
}

/// Values the paths and bodies refer to.
#[derive(Debug, Clone, Default)]
struct Ctx {
    me: i64,
    a: i64,
    version_a: i64,
    inbox_a: i64,
    inbox_b: i64,
    team: i64,
    agent: i64,
    agent_b: i64,
    observer: i64,
    template: i64,
    contact: i64,
    attachment: i64,
    fresh: i64,
    fresh2: i64,
    message: i64,
    token: i64,
    plugin: i64,
    /// An intake entry (raw inbound message) and the message it made.
    inbound: i64,
    inbound_message: i64,
    unique: String,
    /// A day after the server's clock, RFC 3339.
    later: String,
}

type PathFn = Box<dyn Fn(&Ctx) -> String>;
type BodyFn = Box<dyn Fn(&Ctx) -> Option<Value>>;

struct Row {
    /// The OpenAPI operation, e.g. `GET /api/v1/tickets/{number}`.
    spec: &'static str,
    path: PathFn,
    body: BodyFn,
    prep: Prep,
    expect: [u16; 6],
    /// Sent as a component upload (raw bytes of this built plugin) instead of JSON.
    wasm: Option<&'static str>,
}

fn row(spec: &'static str, path: impl Fn(&Ctx) -> String + 'static, body: impl Fn(&Ctx) -> Option<Value> + 'static, prep: Prep, expect: [u16; 6]) -> Row {
    Row { spec, path: Box::new(path), body: Box::new(body), prep, expect, wasm: None }
}

fn fixed(spec: &'static str, expect: [u16; 6]) -> Row {
    let path = spec.split_once(' ').map(|(_, p)| p.to_owned()).unwrap_or_default();
    row(spec, move |_| path.clone(), |_| None, Prep::Nothing, expect)
}

fn none(_: &Ctx) -> Option<Value> {
    None
}

const ALL_OK: [u16; 6] = [200; 6];
const SIGNED_IN: [u16; 6] = [401, 200, 200, 200, 200, 200];
const ADMIN_ONLY: [u16; 6] = [401, 403, 403, 403, 403, 200];
const ADMIN_ONLY_201: [u16; 6] = [401, 403, 403, 403, 403, 201];
const ADMIN_ONLY_204: [u16; 6] = [401, 403, 403, 403, 403, 204];
const TICKET_READ: [u16; 6] = [401, 200, 404, 200, 200, 200];
const TICKET_WORK: [u16; 6] = [401, 403, 404, 200, 200, 200];
const TICKET_WORK_201: [u16; 6] = [401, 403, 404, 201, 201, 201];
const TICKET_READ_201: [u16; 6] = [401, 201, 404, 201, 201, 201];
const SIGNED_IN_204: [u16; 6] = [401, 204, 204, 204, 204, 204];
const REPORTS: [u16; 6] = [401, 200, 403, 403, 200, 200];

fn calendar_body(name: &str) -> Value {
    json!({ "name": name, "time_zone": "Europe/Paris", "hours": [{ "day": "mon", "open": "09:00", "close": "17:00" }] })
}

fn policy_body(name: &str) -> Value {
    json!({ "name": name, "priority": "urgent", "first_response_minutes": 30, "position": 50 })
}

fn rows() -> Vec<Row> {
    vec![
        // Operational endpoints and the document itself are public.
        fixed("GET /healthz", ALL_OK),
        fixed("GET /readyz", ALL_OK),
        fixed("GET /metrics", ALL_OK),
        fixed("GET /api/v1/openapi.json", ALL_OK),
        // Session and self-service.
        row("POST /api/v1/session", |_| "/api/v1/session".into(), |_| Some(json!({ "email": "agent@desk.test", "password": tandem_tests::PASSWORD })), Prep::Nothing, ALL_OK),
        row("DELETE /api/v1/session", |_| "/api/v1/session".into(), none, Prep::Nothing, [204; 6]),
        fixed("GET /api/v1/me", SIGNED_IN),
        row("PATCH /api/v1/me", |_| "/api/v1/me".into(), |_| Some(json!({ "availability": "online" })), Prep::Nothing, SIGNED_IN),
        row("POST /api/v1/me/password", |_| "/api/v1/me/password".into(),
            |_| Some(json!({ "current_password": tandem_tests::PASSWORD, "new_password": tandem_tests::PASSWORD })), Prep::Nothing, [401, 204, 204, 204, 204, 204]),
        fixed("GET /api/v1/me/tokens", SIGNED_IN),
        row("POST /api/v1/me/tokens", |_| "/api/v1/me/tokens".into(), |_| Some(json!({ "name": "matrix" })), Prep::Nothing, [401, 201, 201, 201, 201, 201]),
        // Only the owner may revoke a token: here the admin's.
        row("DELETE /api/v1/me/tokens/{id}", |c| format!("/api/v1/me/tokens/{}", c.token), none, Prep::AdminToken, [401, 404, 404, 404, 404, 204]),
        fixed("GET /api/v1/me/views", SIGNED_IN),
        row("POST /api/v1/me/views", |_| "/api/v1/me/views".into(), |c| Some(json!({ "name": c.unique, "filter": { "status": "open" } })), Prep::Nothing,
            [401, 201, 201, 201, 201, 201]),
        row("PATCH /api/v1/me/views/{id}", |c| format!("/api/v1/me/views/{}", c.fresh), |_| Some(json!({ "position": 0 })), Prep::AdminView,
            [401, 404, 404, 404, 404, 200]),
        row("DELETE /api/v1/me/views/{id}", |c| format!("/api/v1/me/views/{}", c.fresh), none, Prep::AdminView, [401, 404, 404, 404, 404, 204]),
        // Tickets.
        fixed("GET /api/v1/tickets", SIGNED_IN),
        // Each caller counts among the tickets they may see (live.rs checks the numbers).
        fixed("GET /api/v1/tickets/counts", SIGNED_IN),
        // Satisfaction links are public; a made-up token is refused alike for everyone.
        fixed("GET /api/v1/csat/{token}", [404; 6]),
        row("POST /api/v1/csat/{token}", |_| "/api/v1/csat/{token}".into(), |_| Some(json!({ "rating": "good" })), Prep::Nothing, [404; 6]),
        row("GET /api/v1/search", |_| "/api/v1/search?q=login%20status:new,open".into(), none, Prep::Nothing, SIGNED_IN),
        row("POST /api/v1/tickets", |_| "/api/v1/tickets".into(),
            |c| Some(json!({ "inbox_id": c.inbox_a, "subject": "Matrix", "body_text": "Hello", "contact": { "email": "matrix@customer.test" } })),
            Prep::Nothing, [401, 403, 422, 201, 201, 201]),
        row("GET /api/v1/tickets/{number}", |c| format!("/api/v1/tickets/{}", c.a), none, Prep::Nothing, TICKET_READ),
        row("PATCH /api/v1/tickets/{number}", |c| format!("/api/v1/tickets/{}", c.a), |c| Some(json!({ "version": c.version_a, "tags": ["matrix"] })), Prep::Nothing, TICKET_WORK),
        row("POST /api/v1/tickets/{number}/replies", |c| format!("/api/v1/tickets/{}/replies", c.a),
            |c| Some(json!({ "body_text": "A reply", "seen_version": c.version_a })), Prep::Nothing, TICKET_WORK_201),
        row("POST /api/v1/tickets/{number}/notes", |c| format!("/api/v1/tickets/{}/notes", c.a),
            |c| Some(json!({ "body_text": "A note", "seen_version": c.version_a })), Prep::Nothing, TICKET_WORK_201),
        // Each caller takes the ticket for themselves: agents may take unassigned tickets,
        // supervisors and admins may reassign.
        row("POST /api/v1/tickets/{number}/assign", |c| format!("/api/v1/tickets/{}/assign", c.a), |c| Some(json!({ "assignee_id": c.me })), Prep::Nothing, TICKET_WORK),
        row("POST /api/v1/tickets/{number}/merge", |c| format!("/api/v1/tickets/{}/merge", c.fresh), |c| Some(json!({ "into": c.fresh2 })), Prep::FreshTickets, TICKET_WORK),
        row("POST /api/v1/tickets/{number}/split", |c| format!("/api/v1/tickets/{}/split", c.fresh), |c| Some(json!({ "message_id": c.message })), Prep::SplitTicket, TICKET_WORK_201),
        // Bulk answers 200 with a per-ticket report; refusals are inside (see api.rs).
        row("POST /api/v1/tickets/bulk", |_| "/api/v1/tickets/bulk".into(), |c| Some(json!({ "numbers": [c.a], "priority": "high" })), Prep::Nothing, SIGNED_IN),
        row("POST /api/v1/tickets/bulk-reply", |_| "/api/v1/tickets/bulk-reply".into(), |c| Some(json!({ "numbers": [c.a], "body_text": "Incident notice" })), Prep::Nothing, SIGNED_IN),
        row("GET /api/v1/attachments/{id}", |c| format!("/api/v1/attachments/{}", c.attachment), none, Prep::Nothing, TICKET_READ),
        // Composer uploads: any bytes (here JSON text) under the caller's name; one's own only.
        row("POST /api/v1/tickets/{number}/uploads", |c| format!("/api/v1/tickets/{}/uploads?filename=matrix.json", c.a),
            |_| Some(json!({ "file": "matrix" })), Prep::Nothing, TICKET_WORK_201),
        row("GET /api/v1/tickets/{number}/uploads", |c| format!("/api/v1/tickets/{}/uploads", c.a), none, Prep::Nothing, TICKET_READ),
        row("DELETE /api/v1/uploads/{id}", |c| format!("/api/v1/uploads/{}", c.fresh), none, Prep::AdminUpload, [401, 404, 404, 404, 404, 204]),
        // Users.
        fixed("GET /api/v1/users", SIGNED_IN),
        row("POST /api/v1/users", |_| "/api/v1/users".into(),
            |c| Some(json!({ "email": format!("{}@desk.test", c.unique), "display_name": "New", "password": "a long password", "role": "agent" })), Prep::Nothing, ADMIN_ONLY_201),
        row("GET /api/v1/users/{id}", |c| format!("/api/v1/users/{}", c.agent), none, Prep::Nothing, SIGNED_IN),
        row("PATCH /api/v1/users/{id}", |c| format!("/api/v1/users/{}", c.agent), |_| Some(json!({ "skills": ["billing"] })), Prep::Nothing, ADMIN_ONLY),
        // Inboxes: members see their inboxes; only admins change them.
        fixed("GET /api/v1/inboxes", SIGNED_IN),
        row("POST /api/v1/inboxes", |_| "/api/v1/inboxes".into(), |c| Some(json!({ "name": "New", "address": format!("{}@desk.test", c.unique) })), Prep::Nothing, ADMIN_ONLY_201),
        row("GET /api/v1/inboxes/{id}", |c| format!("/api/v1/inboxes/{}", c.inbox_a), none, Prep::Nothing, TICKET_READ),
        row("PATCH /api/v1/inboxes/{id}", |c| format!("/api/v1/inboxes/{}", c.inbox_a), |_| Some(json!({ "name": "Support desk" })), Prep::Nothing, ADMIN_ONLY),
        row("GET /api/v1/inboxes/{id}/members", |c| format!("/api/v1/inboxes/{}/members", c.inbox_a), none, Prep::Nothing, TICKET_READ),
        row("POST /api/v1/inboxes/{id}/members", |c| format!("/api/v1/inboxes/{}/members", c.inbox_b), |c| Some(json!({ "user_id": c.observer })), Prep::Nothing, ADMIN_ONLY_204),
        row("DELETE /api/v1/inboxes/{id}/members/{user_id}", |c| format!("/api/v1/inboxes/{}/members/{}", c.inbox_b, c.observer), none, Prep::Nothing, ADMIN_ONLY_204),
        // Teams.
        fixed("GET /api/v1/teams", SIGNED_IN),
        row("POST /api/v1/teams", |_| "/api/v1/teams".into(), |c| Some(json!({ "name": c.unique })), Prep::Nothing, ADMIN_ONLY_201),
        row("GET /api/v1/teams/{id}", |c| format!("/api/v1/teams/{}", c.team), none, Prep::Nothing, SIGNED_IN),
        row("PATCH /api/v1/teams/{id}", |c| format!("/api/v1/teams/{}", c.team), |_| Some(json!({ "description": "Escalations" })), Prep::Nothing, ADMIN_ONLY),
        row("POST /api/v1/teams/{id}/members", |c| format!("/api/v1/teams/{}/members", c.team), |c| Some(json!({ "user_id": c.agent_b })), Prep::Nothing, ADMIN_ONLY_204),
        row("DELETE /api/v1/teams/{id}/members/{user_id}", |c| format!("/api/v1/teams/{}/members/{}", c.team, c.agent_b), none, Prep::Nothing, ADMIN_ONLY_204),
        // Contacts are shared; observers only read them.
        fixed("GET /api/v1/contacts", SIGNED_IN),
        row("POST /api/v1/contacts", |_| "/api/v1/contacts".into(), |c| Some(json!({ "email": format!("{}@customer.test", c.unique) })), Prep::Nothing, [401, 403, 201, 201, 201, 201]),
        row("GET /api/v1/contacts/{id}", |c| format!("/api/v1/contacts/{}", c.contact), none, Prep::Nothing, SIGNED_IN),
        row("PATCH /api/v1/contacts/{id}", |c| format!("/api/v1/contacts/{}", c.contact), |_| Some(json!({ "name": "Anna K." })), Prep::Nothing, [401, 403, 200, 200, 200, 200]),
        row("GET /api/v1/contacts/{id}/tickets", |c| format!("/api/v1/contacts/{}/tickets", c.contact), none, Prep::Nothing, SIGNED_IN),
        fixed("GET /api/v1/tags", SIGNED_IN),
        // Templates: everyone signed in reads; supervisors and admins write.
        fixed("GET /api/v1/templates", SIGNED_IN),
        row("POST /api/v1/templates", |_| "/api/v1/templates".into(), |c| Some(json!({ "name": c.unique, "body": "Hi {{ contact.name }}" })), Prep::Nothing, [401, 403, 403, 403, 201, 201]),
        row("GET /api/v1/templates/{id}", |c| format!("/api/v1/templates/{}", c.template), none, Prep::Nothing, SIGNED_IN),
        row("PATCH /api/v1/templates/{id}", |c| format!("/api/v1/templates/{}", c.template), |_| Some(json!({ "subject": "Hello" })), Prep::Nothing, [401, 403, 403, 403, 200, 200]),
        row("DELETE /api/v1/templates/{id}", |c| format!("/api/v1/templates/{}", c.fresh), none, Prep::FreshTemplate, [401, 403, 403, 403, 204, 204]),
        row("POST /api/v1/templates/preview", |_| "/api/v1/templates/preview".into(), |c| Some(json!({ "template_id": c.template, "ticket_number": c.a })), Prep::Nothing, TICKET_READ),
        // Reports: supervisors, observers and admins.
        row("GET /api/v1/reports/dashboard", |_| "/api/v1/reports/dashboard?interval=week".into(), none, Prep::Nothing, REPORTS),
        row("GET /api/v1/reports/breakdown", |_| "/api/v1/reports/breakdown?by=tag".into(), none, Prep::Nothing, REPORTS),
        row("GET /api/v1/reports/export", |_| "/api/v1/reports/export?table=agent".into(), none, Prep::Nothing, REPORTS),
        // Service levels: everyone reads them, admins write them; notifications and reminders are each user's own.
        row("GET /api/v1/sla/calendars", |_| "/api/v1/sla/calendars".into(), none, Prep::Nothing, SIGNED_IN),
        row("POST /api/v1/sla/calendars", |_| "/api/v1/sla/calendars".into(), |c| Some(calendar_body(&c.unique)), Prep::Nothing, ADMIN_ONLY_201),
        row("PUT /api/v1/sla/calendars/{id}", |c| format!("/api/v1/sla/calendars/{}", c.fresh), |c| Some(calendar_body(&c.unique)), Prep::FreshCalendar, ADMIN_ONLY),
        row("DELETE /api/v1/sla/calendars/{id}", |c| format!("/api/v1/sla/calendars/{}", c.fresh), none, Prep::FreshCalendar, ADMIN_ONLY_204),
        row("GET /api/v1/sla/policies", |_| "/api/v1/sla/policies".into(), none, Prep::Nothing, SIGNED_IN),
        row("POST /api/v1/sla/policies", |_| "/api/v1/sla/policies".into(), |c| Some(policy_body(&c.unique)), Prep::Nothing, ADMIN_ONLY_201),
        row("PUT /api/v1/sla/policies/{id}", |c| format!("/api/v1/sla/policies/{}", c.fresh), |c| Some(policy_body(&c.unique)), Prep::FreshPolicy, ADMIN_ONLY),
        row("DELETE /api/v1/sla/policies/{id}", |c| format!("/api/v1/sla/policies/{}", c.fresh), none, Prep::FreshPolicy, ADMIN_ONLY_204),
        row("GET /api/v1/notifications", |_| "/api/v1/notifications?unread=true".into(), none, Prep::Nothing, SIGNED_IN),
        row("POST /api/v1/notifications/{id}/read", |c| format!("/api/v1/notifications/{}/read", c.fresh), none, Prep::OwnNotification, SIGNED_IN_204),
        row("POST /api/v1/notifications/read", |_| "/api/v1/notifications/read".into(), none, Prep::Nothing, SIGNED_IN_204),
        row("GET /api/v1/reminders", |_| "/api/v1/reminders".into(), none, Prep::Nothing, SIGNED_IN),
        row("DELETE /api/v1/reminders/{id}", |c| format!("/api/v1/reminders/{}", c.fresh), none, Prep::OwnReminder, SIGNED_IN_204),
        row("GET /api/v1/tickets/{number}/reminders", |c| format!("/api/v1/tickets/{}/reminders", c.a), none, Prep::Nothing, TICKET_READ),
        row("POST /api/v1/tickets/{number}/reminders", |c| format!("/api/v1/tickets/{}/reminders", c.a), |c| Some(json!({ "remind_at": c.later, "note": "matrix" })), Prep::Nothing, TICKET_READ_201),
        // The global audit trail.
        fixed("GET /api/v1/events", ADMIN_ONLY),
        // Plugins: admins only.
        fixed("GET /api/v1/plugins", ADMIN_ONLY),
        Row { wasm: Some("hostile-plugin"), ..row("POST /api/v1/plugins", |c| format!("name={}", c.unique), none, Prep::Nothing, ADMIN_ONLY_201) },
        row("GET /api/v1/plugins/{id}", |c| format!("/api/v1/plugins/{}", c.plugin), none, Prep::Nothing, ADMIN_ONLY),
        row("PATCH /api/v1/plugins/{id}", |c| format!("/api/v1/plugins/{}", c.plugin), |_| Some(json!({ "position": 5 })), Prep::Nothing, ADMIN_ONLY),
        row("POST /api/v1/plugins/{id}/dry-run", |c| format!("/api/v1/plugins/{}/dry-run", c.plugin),
            |_| Some(json!({ "sample": { "from": "x@customer.test", "subject": "Hi", "text": "Hello there" } })), Prep::Nothing, ADMIN_ONLY),
        // The email channel: settings, connection tests, raw intake and its log are for admins;
        // a message's HTML is readable like its ticket.
        row("GET /api/v1/inboxes/{id}/mail", |c| format!("/api/v1/inboxes/{}/mail", c.inbox_a), none, Prep::Nothing, ADMIN_ONLY),
        row("PATCH /api/v1/inboxes/{id}/mail", |c| format!("/api/v1/inboxes/{}/mail", c.inbox_a), |_| Some(json!({ "signature": "Support" })), Prep::Nothing, ADMIN_ONLY),
        row("POST /api/v1/inboxes/{id}/mail/test-imap", |c| format!("/api/v1/inboxes/{}/mail/test-imap", c.inbox_a), none, Prep::Nothing, ADMIN_ONLY),
        row("POST /api/v1/inboxes/{id}/mail/test-smtp", |c| format!("/api/v1/inboxes/{}/mail/test-smtp", c.inbox_a), none, Prep::Nothing, ADMIN_ONLY),
        row("POST /api/v1/inboxes/{id}/messages/raw", |c| format!("/api/v1/inboxes/{}/messages/raw", c.inbox_a),
            |c| Some(json!(format!("From: m@customer.test\r\nSubject: {0}\r\nMessage-ID: <{0}@matrix>\r\n\r\nhello", c.unique))), Prep::Nothing, ADMIN_ONLY_201),
        row("GET /api/v1/inboxes/{id}/intake", |c| format!("/api/v1/inboxes/{}/intake", c.inbox_a), none, Prep::Nothing, ADMIN_ONLY),
        row("GET /api/v1/intake/{id}/raw", |c| format!("/api/v1/intake/{}/raw", c.inbound), none, Prep::Nothing, ADMIN_ONLY),
        // The live WebSocket: authenticated first; a plain GET is then no handshake (400).
        // Real sockets, origins and what each role hears are in live.rs.
        fixed("GET /api/v1/live", [401, 400, 400, 400, 400, 400]),
        row("GET /api/v1/messages/{id}/html", |c| format!("/api/v1/messages/{}/html", c.inbound_message), none, Prep::Nothing, TICKET_READ),
        row("POST /api/v1/messages/{id}/resend", |c| format!("/api/v1/messages/{}/resend", c.fresh), none, Prep::FailedReply, TICKET_WORK),
    ]
}

async fn prepare(server: &TestServer, prep: Prep, ctx: &mut Ctx) {
    let store = &server.store;
    let desk = &server.desk;
    let admin = actor(store, &desk.admin).await;
    ctx.version_a = store.get_ticket(&admin, desk.ticket_a).await.expect("ticket a").ticket.version;
    match prep {
        Prep::Nothing => {}
        Prep::AdminUpload => {
            ctx.fresh = store.upload_attachment(&admin, desk.ticket_a, "matrix.txt", "text/plain", b"matrix").await.expect("upload").id;
        }
        Prep::FreshTickets => {
            let new = |subject: &'static str| tandem_store::testing::new_ticket(desk.inbox_a.id, subject, "fresh@customer.test");
            ctx.fresh = store.create_ticket(&admin, new("Fresh one")).await.expect("fresh").ticket.number;
            ctx.fresh2 = store.create_ticket(&admin, new("Fresh two")).await.expect("fresh").ticket.number;
        }
        Prep::SplitTicket => {
            let new = tandem_store::testing::new_ticket(desk.inbox_a.id, "Two questions", "split@customer.test");
            ctx.fresh = store.create_ticket(&admin, new).await.expect("fresh").ticket.number;
            ctx.message = store.add_customer_message(ctx.fresh, "And another thing").await.expect("second message").id;
        }
        Prep::FreshTemplate => {
            let template = proto::CreateTemplate { name: ctx.unique.clone(), subject: String::new(), body: "Bye".into() };
            ctx.fresh = store.create_template(None, template).await.expect("template").id;
        }
        Prep::AdminToken => {
            let token = proto::CreateApiToken { name: "revoke me".into(), expires_in_days: None };
            ctx.token = store.create_api_token(&admin, token).await.expect("token").token.id;
        }
        Prep::AdminView => {
            let view = proto::CreateSavedView { name: format!("view {}", ctx.unique), filter: proto::ViewFilter::default(), shared: false };
            ctx.fresh = store.create_saved_view(&admin, view).await.expect("view").id;
        }
        Prep::FreshCalendar => {
            let calendar = serde_json::from_value(calendar_body(&ctx.unique)).expect("calendar");
            ctx.fresh = store.save_calendar(&admin, None, calendar).await.expect("calendar").id;
        }
        Prep::FreshPolicy => {
            let policy = serde_json::from_value(policy_body(&ctx.unique)).expect("policy");
            ctx.fresh = store.save_sla_policy(&admin, None, policy).await.expect("policy").id;
        }
        Prep::OwnReminder | Prep::OwnNotification => {
            let Some(me) = store.actor_by_id(ctx.me).await.expect("caller") else { return };
            // On a ticket the caller can see: ticket B for the agent of inbox B.
            let number = if me.belongs_to(desk.inbox_a.id) { desk.ticket_a } else { desk.ticket_b };
            let remind_at = server.clock.now() + chrono::Duration::minutes(1);
            let reminder = proto::CreateReminder { remind_at, note: None };
            ctx.fresh = store.create_reminder(&me, number, reminder).await.expect("reminder").id;
            if prep == Prep::OwnNotification {
                server.clock.advance(chrono::Duration::minutes(2));
                store.run_timers().await.expect("timers");
                ctx.fresh = store.notifications(&me, true, 1).await.expect("notifications").items[0].id;
            }
        }
        Prep::FailedReply => {
            let smtp = json!({ "smtp": { "enabled": true, "host": "127.0.0.1", "port": 9, "tls": "none" } });
            store.update_mail_settings(&admin, desk.inbox_a.id, serde_json::from_value(smtp).expect("settings")).await.expect("smtp");
            let reply = serde_json::from_value(json!({ "body_text": "Matrix reply", "seen_version": ctx.version_a })).expect("reply");
            ctx.fresh = store.post_message(&admin, desk.ticket_a, proto::MessageKind::Reply, reply).await.expect("reply").message.id;
            for job in store.claim_outbox(1_000).await.expect("claim") {
                store.finish_outbox(&job, tandem_store::mail::OutboxResult::Failed("550 matrix".into()), 30).await.expect("failed");
            }
        }
    }
    ctx.later = (server.clock.now() + chrono::Duration::days(1)).to_rfc3339();
}

fn method_of(spec: &str) -> Method {
    spec.split_once(' ').and_then(|(m, _)| m.parse().ok()).unwrap_or(Method::GET)
}

async fn role_matrix(backend: Backend) {
    let server = TestServer::start(backend).await;
    let desk = server.desk.clone();
    let callers: Vec<(Option<&proto::User>, Api)> = vec![
        (None, server.anonymous()),
        (Some(&desk.observer), server.token_for(&desk.observer).await),
        (Some(&desk.agent_b), server.token_for(&desk.agent_b).await),
        (Some(&desk.agent), server.token_for(&desk.agent).await),
        (Some(&desk.supervisor), server.token_for(&desk.supervisor).await),
        (Some(&desk.admin), server.token_for(&desk.admin).await),
    ];
    let plugin = install(&server, "hostile-plugin", "matrix-plugin").await;
    let raw = b"From: Mail Matrix <matrix@customer.test>\r\nSubject: Matrix\r\nMessage-ID: <matrix@customer.test>\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>";
    let received = server.mail.receive(desk.inbox_a.id, raw, "api", None).await.expect("raw intake");
    let (inbound, inbound_message) = (received.recorded.id, received.outcome.message_row_id.expect("a message"));
    let contact = server.store.get_ticket(&actor(&server.store, &desk.admin).await, desk.ticket_a).await.expect("a").ticket.contact.id;
    let mut failures = Vec::new();
    let mut counter = 0;
    let rows = rows();
    for row in &rows {
        for (i, (user, api)) in callers.iter().enumerate() {
            counter += 1;
            let mut ctx = Ctx {
                me: user.map(|u| u.id).unwrap_or(0),
                a: desk.ticket_a,
                inbox_a: desk.inbox_a.id,
                inbox_b: desk.inbox_b.id,
                team: desk.team.id,
                agent: desk.agent.id,
                agent_b: desk.agent_b.id,
                observer: desk.observer.id,
                template: desk.template.id,
                contact,
                attachment: desk.attachment.id,
                plugin,
                inbound,
                inbound_message,
                unique: format!("matrix{counter}"),
                ..Ctx::default()
            };
            prepare(&server, row.prep, &mut ctx).await;
            let path = (row.path)(&ctx);
            let body = (row.body)(&ctx);
            let (status, answer) = match row.wasm {
                Some(component) => api.upload_component(&path, tandem_plugins::testing::component(component)).await,
                None => api.call(method_of(row.spec), &path, body.as_ref()).await,
            };
            if status != row.expect[i] {
                failures.push(format!("{} as {}: expected {}, got {status}: {answer}", row.spec, ROLES[i], row.expect[i]));
            }
            // Error answers always have the uniform shape.
            if status >= 400 {
                assert!(answer["error"]["code"].is_string() && answer["error"]["message"].is_string(), "{} as {}: {answer}", row.spec, ROLES[i]);
            }
            assert!(status < 500, "{} as {} answered {status}: {answer}", row.spec, ROLES[i]);
        }
    }
    assert!(failures.is_empty(), "{} of {counter} calls differ:\n{}", failures.len(), failures.join("\n"));

    // Every operation of the OpenAPI document has a row, and every row is a real operation.
    let (_, doc) = server.anonymous().get("/api/v1/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "patch", "put", "delete"] {
            if item.get(method).is_some() {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let covered: BTreeSet<String> = rows.iter().map(|r| r.spec.to_owned()).filter(|s| s.contains("/api/v1/") && !s.ends_with("openapi.json")).collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&documented).collect();
    assert!(missing.is_empty(), "operations without a row in the role matrix: {missing:?}");
    assert!(unknown.is_empty(), "rows for operations the API does not document: {unknown:?}");
}

/// Registers a built component as a (disabled) plugin the way the server does, without an
/// actor; returns its id.
async fn install(server: &TestServer, component: &str, name: &str) -> i64 {
    let bytes = tandem_plugins::testing::component(component);
    let registration = tandem_plugins::registry::Registration::default();
    server.plugins.registry().register(None, name, None, bytes, registration).await.expect("registered").id
}

backend_tests! { role_matrix }
