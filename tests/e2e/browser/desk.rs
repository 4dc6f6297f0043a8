//! Agents at work in the browser: a ticket worked end to end, and two people on one ticket.

use serde_json::Value;

use tandem_tests::browser::{Browser, WAIT, sign_in, signed_in};
use tandem_tests::PASSWORD;

/// The ticket as the API sees it (as the admin).
async fn ticket(server: &tandem_tests::TestServer, number: i64) -> Value {
    let admin = server.login(&server.desk.admin.email).await;
    let (status, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, 200, "{detail}");
    detail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_works_a_ticket_end_to_end() {
    let (server, browser) = signed_in("agent@desk.test").await;
    let number = server.desk.ticket_a;

    // The sidebar counts come from the server, and the list shows the ticket.
    browser.wait_text("#view-open .count", "1").await;
    browser.wait_text("#ticket-list", "Cannot log in").await;
    browser.screenshot("ticket-list").await;

    // Open it from the list.
    browser.click(&format!(".ticket-row[data-number='{number}'] .subject a")).await;
    browser.wait_text("#ticket-subject", "Cannot log in").await;
    assert!(browser.client.current_url().await.expect("url").path().ends_with(&format!("/tickets/{number}")));
    browser.wait_for("#conversation .message[data-kind='inbound']").await;

    // Reply with the template: the variables are filled in, the text stays editable.
    browser.select("#template-picker", &server.desk.template.id.to_string()).await;
    let started = std::time::Instant::now();
    let body = loop {
        let body = browser.js("return document.querySelector('#composer-body').value").await;
        let body = body.as_str().unwrap_or_default().to_owned();
        if !body.is_empty() || started.elapsed() > WAIT {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(!body.is_empty() && !body.contains("{{"), "template not filled in: {body:?}");
    browser.type_into("#composer-body", "\nThanks for waiting.").await;
    // A file goes with the reply: uploaded when picked, shown as a chip, sent with the reply.
    let dir = std::env::temp_dir().join(format!("tandem-browser-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("steps-to-reset.txt");
    std::fs::write(&file, "1. Open the sign-in page\n2. Choose \"Forgot password\"\n").expect("write the file");
    browser.type_into("#composer-files", &file.display().to_string()).await;
    browser.wait_text("#composer-attachments .attachment-chip", "steps-to-reset.txt").await;
    // Copies: a colleague of the customer in Cc (a name with a comma, quoted), a blind copy.
    browser.type_into("#composer-cc", "\"Lee, Dana\" <dana@client.test>").await;
    browser.type_into("#composer-bcc", "audit@partner.test").await;
    browser.select("#send-status", "pending").await;
    browser.click("#send").await;
    browser.wait_text("#composer-sent", "").await;
    browser.wait_for("#conversation .message[data-kind='reply']").await;
    browser.wait_text("#conversation .message[data-kind='reply'] .copies", "dana@client.test").await;
    browser.wait_text("#conversation .message[data-kind='reply'] .blind-copies", "audit@partner.test").await;

    // A note (press n: the composer switches to notes).
    browser.click("#ticket-subject").await;
    browser.client.active_element().await.expect("active").send_keys("n").await.expect("key n");
    browser.wait_for("#composer.note").await;
    browser.type_into("#composer-body", "Checked the logs:\npassword reset loop, ask @").await;
    // "@" offers the inbox's members and the admins, the first one active; ↓ moves on.
    browser.wait_for("#mention-suggestions #mention-option-1").await;
    let active = "return document.querySelector('#composer-body').getAttribute('aria-activedescendant')";
    assert_eq!(browser.js(active).await.as_str(), Some("mention-option-0"));
    browser.type_into("#composer-body", "\u{e015}").await; // ArrowDown
    assert_eq!(browser.js(active).await.as_str(), Some("mention-option-1"));
    browser.wait_for("#mention-option-1[aria-selected='true']").await;
    // Typing on narrows the list to the supervisor, active again from the top.
    browser.type_into("#composer-body", "sup").await;
    browser.wait_gone("#mention-option-1").await;
    browser.wait_text("#mention-option-0", "supervisor").await;
    assert_eq!(browser.js(active).await.as_str(), Some("mention-option-0"));
    // The list opens at the `@`: below the second line, to the right of the text area's edge.
    let place = browser
        .js("const a = document.querySelector('#composer-body'); const r = a.getBoundingClientRect(); \
             const l = document.querySelector('#mention-suggestions').getBoundingClientRect(); \
             return [l.left - r.left, l.top - r.top, parseFloat(getComputedStyle(a).lineHeight) || 1.2 * parseFloat(getComputedStyle(a).fontSize)]")
        .await;
    let [dx, dy, line] = [0, 1, 2].map(|i| place[i].as_f64().unwrap_or_else(|| panic!("a number: {place}")));
    assert!(dx > 80.0, "the list opens at the caret, not at the left edge: {place}");
    assert!(dy > 1.5 * line && dy < 3.5 * line, "the list opens under the second line: {place}");
    browser.screenshot("mention-list").await;
    // Enter picks the active colleague and writes their handle (no line break).
    browser.type_into("#composer-body", "\u{e007}").await; // Enter
    browser.wait_gone("#mention-suggestions").await;
    let body = browser.js("return document.querySelector('#composer-body').value").await;
    assert_eq!(body.as_str(), Some("Checked the logs:\npassword reset loop, ask @supervisor "), "{body}");
    // A click picks too.
    browser.type_into("#composer-body", "please confirm, cc @adm").await;
    browser.wait_text("#mention-suggestions", "admin").await;
    browser.click("#mention-suggestions .mention-option").await;
    let body = browser.js("return document.querySelector('#composer-body').value").await;
    assert_eq!(body.as_str(), Some("Checked the logs:\npassword reset loop, ask @supervisor please confirm, cc @admin "), "{body}");
    browser.click("#send").await;
    browser.wait_for("#conversation .message[data-kind='note']").await;
    let sup = server.login(&server.desk.supervisor.email).await;
    let (_, notes) = sup.get("/api/v1/notifications?unread=true").await;
    assert_eq!(notes["items"][0]["kind"], "mention", "the mentioned supervisor is notified: {notes}");

    // Take it, then solve it.
    browser.click("#assign-me").await;
    browser.wait_gone("#assign-me").await;
    browser.screenshot("ticket").await;
    browser.click("#solve").await;
    browser.wait_gone("#solve").await;

    let detail = ticket(&server, number).await;
    assert_eq!(detail["ticket"]["status"], "solved", "{detail}");
    assert_eq!(detail["ticket"]["assignee"]["email"], "agent@desk.test");
    let kinds: Vec<&str> = detail["messages"].as_array().expect("messages").iter().filter_map(|m| m["kind"].as_str()).collect();
    assert!(kinds.contains(&"reply") && kinds.contains(&"note"), "{kinds:?}");
    let reply = detail["messages"].as_array().expect("messages").iter().find(|m| m["kind"] == "reply").expect("reply");
    assert!(reply["body_text"].as_str().unwrap_or_default().contains("Thanks for waiting."), "{reply}");
    assert_eq!(reply["attachments"][0]["filename"], "steps-to-reset.txt", "{reply}");
    assert_eq!(reply["attachments"][0]["content_type"], "text/plain", "{reply}");
    assert_eq!(reply["cc"], serde_json::json!([{ "email": "dana@client.test", "name": "Lee, Dana" }]), "{reply}");
    assert_eq!(reply["bcc"], serde_json::json!([{ "email": "audit@partner.test", "name": null }]), "{reply}");
    let _ = std::fs::remove_dir_all(&dir);
    // The draft was cleared once sent.
    let drafts = browser.js("return Object.keys(localStorage).filter(k => k.startsWith('tandem.draft')).length").await;
    assert_eq!(drafts, 0, "drafts left behind");

    // A customer's mail with a colleague in Cc: the reply's Cc field starts with the colleague.
    let admin = server.login(&server.desk.admin.email).await;
    let raw = "From: Carla Customer <carla@client.test>\r\nTo: support@desk.test\r\nCc: Dana Lee <dana@client.test>\r\n\
               Subject: Invoice address\r\nMessage-ID: <cc-browser@client.test>\r\n\r\nPlease change it.\r\n";
    let response = admin
        .request(reqwest::Method::POST, &format!("/api/v1/inboxes/{}/messages/raw", server.desk.inbox_a.id))
        .body(raw)
        .send()
        .await
        .expect("raw mail");
    assert_eq!(response.status().as_u16(), 201);
    let posted: Value = response.json().await.expect("json");
    let mailed = posted["inbound"]["ticket_number"].as_i64().unwrap_or_else(|| panic!("a ticket: {posted}"));
    browser.goto(&server.url(&format!("/tickets/{mailed}"))).await;
    browser.wait_text("#ticket-subject", "Invoice address").await;
    let started = std::time::Instant::now();
    let cc = loop {
        let cc = browser.js("return document.querySelector('#composer-cc').value").await;
        if cc.as_str().is_some_and(|v| !v.is_empty()) || started.elapsed() > WAIT {
            break cc;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(cc.as_str(), Some("Dana Lee <dana@client.test>"), "reply all by default");
    browser.screenshot("reply-copies").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_see_each_other_and_the_guard_stops_the_second_sender() {
    let (server, first) = signed_in("agent@desk.test").await;
    let number = server.desk.ticket_a;
    let second = Browser::start().await;
    second.goto(&server.url(&format!("/tickets/{number}"))).await;
    sign_in(&second, &server.desk.supervisor.email, PASSWORD).await;
    first.goto(&server.url(&format!("/tickets/{number}"))).await;

    // Each sees the other's avatar.
    first.wait_for(&format!("#presence .viewer[data-user='{}']", server.desk.supervisor.id)).await;
    second.wait_for(&format!("#presence .viewer[data-user='{}']", server.desk.agent.id)).await;

    // The supervisor starts typing: the agent sees it.
    second.type_into("#composer-body", "I'll take this one: ").await;
    first.wait_for(&format!("#presence .viewer.typing[data-user='{}']", server.desk.supervisor.id)).await;
    first.screenshot("presence").await;

    // The agent sends first.
    first.type_into("#composer-body", "We are on it.").await;
    first.click("#send").await;
    first.wait_for("#conversation .message[data-kind='reply']").await;

    // The supervisor is told something arrived, and sending without reading it is stopped.
    second.wait_for("#new-activity").await;
    second.type_into("#composer-body", "resetting your password now.").await;
    second.click("#send").await;
    let error = second.text("#composer-error").await;
    assert!(!error.is_empty(), "no guard message");
    second.wait_for("#conversation .message.fresh[data-kind='reply']").await;
    second.screenshot("guard").await;
    let detail = ticket(&server, number).await;
    let replies = detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "reply").count();
    assert_eq!(replies, 1, "the second reply went out despite the guard");
    // The draft survived; having seen the news, the supervisor can send.
    let kept = second.js("return document.querySelector('#composer-body').value").await;
    assert!(kept.as_str().unwrap_or_default().contains("resetting your password now."), "draft lost: {kept}");
    second.click("#send").await;
    second.wait_for("#composer-sent").await;
    let detail = ticket(&server, number).await;
    let replies = detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "reply").count();
    assert_eq!(replies, 2);

    // One leaves: the other no longer sees them.
    second.close().await;
    first.wait_gone(&format!("#presence .viewer[data-user='{}']", server.desk.supervisor.id)).await;
    first.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_and_the_chosen_language_survive_a_reload() {
    let (server, browser) = signed_in("agent@desk.test").await;
    let number = server.desk.ticket_a;
    browser.goto(&server.url(&format!("/tickets/{number}"))).await;
    browser.type_into("#composer-body", "A long answer in progress").await;
    browser.type_into("#composer-cc", "dana@client.test").await;
    browser.type_into("#composer-bcc", "audit@partner.test").await;
    browser.wait_for("#live-status.on").await;

    // A reload (as after a crash) keeps the draft, its copies too.
    browser.client.refresh().await.expect("reload");
    browser.wait_text("#ticket-subject", "Cannot log in").await;
    let kept = browser.js("return [document.querySelector('#composer-body').value, document.querySelector('#composer-cc').value, document.querySelector('#composer-bcc').value]").await;
    assert_eq!(kept, serde_json::json!(["A long answer in progress", "dana@client.test", "audit@partner.test"]));

    // Russian, chosen on the profile page, persists.
    browser.goto(&server.url("/profile")).await;
    browser.select("#profile-language", "ru").await;
    browser.click("#profile-save").await;
    browser.wait_text("#profile-save", "Сохранить").await;
    browser.client.refresh().await.expect("reload");
    browser.wait_text("#logout", "Выйти").await;
    let lang = browser.js("return document.documentElement.lang").await;
    assert_eq!(lang, "ru");
    browser.screenshot("profile-ru").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_survives_a_server_restart() {
    let (mut server, browser) = signed_in("agent@desk.test").await;
    let number = server.desk.ticket_a;
    browser.goto(&server.url(&format!("/tickets/{number}"))).await;
    browser.wait_text("#ticket-subject", "Cannot log in").await;
    browser.wait_for("#live-status.on").await;
    browser.type_into("#composer-body", "Thanks for the details, ").await;

    // The server goes down: the page says it is reconnecting, keeps working, and a reply
    // sent meanwhile fails with a readable message and loses nothing.
    server.stop_serving().await;
    browser.wait_for("#live-status.off").await;
    browser.type_into("#composer-body", "we are looking into it.").await;
    browser.click("#send").await;
    let error = browser.wait_for("#composer-error").await.text().await.expect("error text");
    assert!(!error.trim().is_empty(), "no message for a failed send");
    let kept = browser.js("return document.querySelector('#composer-body').value").await;
    assert_eq!(kept, "Thanks for the details, we are looking into it.");

    // Back up (new process state, same database and port): the socket reconnects by itself
    // and the open ticket is told of a colleague's note without a reload.
    server.serve_again().await;
    browser.wait_for("#live-status.on").await;
    let supervisor = server.login(&server.desk.supervisor.email).await;
    let (status, detail) = supervisor.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, 200, "{detail}");
    let (status, body) = supervisor
        .post(
            &format!("/api/v1/tickets/{number}/notes"),
            &serde_json::json!({ "body_text": "Customer called too.", "seen_version": detail["ticket"]["version"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    browser.wait_for("#new-activity").await;
    browser.click("#show-new").await;
    browser.wait_text("#conversation .message[data-kind='note']", "Customer called too.").await;

    // The draft is still there and goes out once.
    let kept = browser.js("return document.querySelector('#composer-body').value").await;
    assert_eq!(kept, "Thanks for the details, we are looking into it.");
    browser.click("#send").await;
    browser.wait_for("#conversation .message[data-kind='reply']").await;
    let detail = ticket(&server, number).await;
    let replies: Vec<&Value> = detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "reply").collect();
    assert_eq!(replies.len(), 1, "{detail}");
    assert!(replies[0]["body_text"].as_str().unwrap_or_default().contains("we are looking into it."), "{detail}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_views_follow_the_agent_to_another_browser() {
    let (server, browser) = signed_in("agent@desk.test").await;
    let number = server.desk.ticket_a;
    let agent = server.login(&server.desk.agent.email).await;

    // Narrow the open tickets to new ones and save that as a view: the list now shows it.
    browser.wait_text("#ticket-list", "Cannot log in").await;
    browser.select("#filter-status", "new").await;
    browser.click("#save-filter").await;
    browser.type_into("#save-filter-name", "Fresh mail").await;
    browser.click("#save-filter-submit").await;
    browser.wait_text("#list-title", "Fresh mail").await;
    let (status, views) = agent.get("/api/v1/me/views").await;
    assert_eq!(status, 200, "{views}");
    assert_eq!(views[0]["name"], "Fresh mail", "{views}");
    assert_eq!(views[0]["filter"]["status"], "new", "{views}");
    let id = views[0]["id"].as_i64().expect("id");
    // The same name again is refused with a readable message.
    browser.goto(&server.url("/views/open")).await;
    browser.click("#save-filter").await;
    browser.type_into("#save-filter-name", "Fresh mail").await;
    browser.click("#save-filter-submit").await;
    browser.wait_text("#save-filter-error", "Fresh mail").await;
    browser.close().await;

    // Another browser (nothing in its storage but a filter an earlier version kept there):
    // the saved view is in the sidebar, and the old filter moves to the server.
    let other = Browser::start().await;
    other.goto(&server.url("/")).await;
    let legacy = serde_json::json!([{ "name": "Old urgent", "filter": { "priority": "urgent" } }]);
    other.js(&format!("localStorage.setItem('tandem.filters.{}', {:?}); return 1", server.desk.agent.id, legacy.to_string())).await;
    sign_in(&other, &server.desk.agent.email, PASSWORD).await;
    other.wait_text(&format!("#view-saved-{id}"), "Fresh mail").await;
    other.wait_text("#saved-views", "Old urgent").await;
    other.click(&format!("#view-saved-{id}")).await;
    other.wait_text("#list-title", "Fresh mail").await;
    other.wait_for(&format!(".ticket-row[data-number='{number}']")).await;
    // Opened by its address (a reload, a bookmark), it waits for its filter; an unknown view
    // says so instead of listing every ticket.
    other.client.refresh().await.expect("reload");
    other.wait_text("#list-title", "Fresh mail").await;
    other.wait_for(&format!(".ticket-row[data-number='{number}']")).await;
    other.goto(&server.url("/views/saved/999999")).await;
    other.wait_text("#ticket-error", "saved view").await;
    assert!(!other.is_present(".ticket-row").await, "an unknown view listed tickets");
    other.click(&format!("#view-saved-{id}")).await;
    other.wait_text("#list-title", "Fresh mail").await;
    let left = other.js("return Object.keys(localStorage).filter(k => k.startsWith('tandem.filters')).length").await;
    assert_eq!(left, 0, "the moved filters stay in the browser");
    let (_, views) = agent.get("/api/v1/me/views").await;
    let names: Vec<&str> = views.as_array().expect("views").iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["Fresh mail", "Old urgent"]);

    // Deleting it there removes it for good.
    other.click("#delete-view").await;
    other.wait_gone(&format!("#view-saved-{id}")).await;
    let (_, views) = agent.get("/api/v1/me/views").await;
    assert_eq!(views.as_array().map(Vec::len), Some(1), "{views}");
    other.close().await;
}

/// A supervisor shares a view with everyone: an agent finds it under "Shared views", uses it,
/// cannot delete it; once the supervisor stops sharing it, it is gone from the agent's sidebar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_shares_a_view_with_the_team() {
    let (server, browser) = signed_in("supervisor@desk.test").await;
    let number = server.desk.ticket_a;
    browser.wait_text("#ticket-list", "Cannot log in").await;
    browser.select("#filter-status", "new").await;
    browser.click("#save-filter").await;
    browser.type_into("#save-filter-name", "New mail, team").await;
    browser.click("#save-filter-shared").await;
    browser.click("#save-filter-submit").await;
    browser.wait_text("#list-title", "New mail, team").await;
    let supervisor = server.login(&server.desk.supervisor.email).await;
    let (_, views) = supervisor.get("/api/v1/me/views").await;
    assert_eq!((views[0]["name"].as_str(), views[0]["shared"].as_bool()), (Some("New mail, team"), Some(true)), "{views}");
    let id = views[0]["id"].as_i64().expect("id");
    // Marked as shared in the owner's own sidebar, with the button to stop sharing.
    browser.wait_text(&format!("#view-saved-{id}"), "shared").await;
    browser.wait_text("#share-view", "Stop sharing").await;

    // An agent (not allowed to share: no such box) sees it under "Shared views" and uses it.
    let agent = Browser::start().await;
    agent.goto(&server.url("/")).await;
    sign_in(&agent, &server.desk.agent.email, PASSWORD).await;
    agent.wait_text(&format!("#shared-views #view-saved-{id}"), "New mail, team").await;
    agent.click("#save-filter").await;
    agent.wait_for("#save-filter-name").await;
    assert!(!agent.is_present("#save-filter-shared").await, "agents cannot share views");
    agent.click(&format!("#view-saved-{id}")).await;
    agent.wait_text("#list-title", "New mail, team").await;
    agent.wait_text("#view-owner", "supervisor").await;
    agent.wait_for(&format!(".ticket-row[data-number='{number}']")).await;
    assert!(!agent.is_present("#delete-view").await && !agent.is_present("#share-view").await, "only the owner changes it");

    // The supervisor stops sharing it: after a reload the agent's sidebar no longer has it.
    browser.click("#share-view").await;
    browser.wait_text("#share-view", "Share with everyone").await;
    agent.client.refresh().await.expect("reload");
    agent.wait_for("#whoami").await;
    agent.wait_gone(&format!("#view-saved-{id}")).await;
    browser.close().await;
    agent.close().await;
}

/// A reply that could not be delivered (the inbox had no SMTP) says why under the message;
/// "Send again" says why not while SMTP is still off, and once an admin has set it up sends
/// the reply: the message shows it delivered, the button goes, the customer has it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reply_is_sent_again_from_the_conversation() {
    let servers = tandem_tests::mailserver::MailServers::start();
    let (server, browser) = signed_in("agent@desk.test").await;
    let number = server.desk.ticket_a;
    let agent = server.login(&server.desk.agent.email).await;
    let version = ticket(&server, number).await["ticket"]["version"].clone();
    let (status, posted) = agent.post(&format!("/api/v1/tickets/{number}/replies"), &serde_json::json!({ "body_text": "Try the reset link.", "seen_version": version })).await;
    assert_eq!(status, 201, "{posted}");
    let id = posted["message"]["id"].as_i64().expect("id");
    let reply = format!("#conversation .message[data-id='{id}']");
    browser.goto(&server.url(&format!("/tickets/{number}"))).await;
    browser.wait_text(&format!("{reply} .delivery-error"), "SMTP disabled").await;
    browser.wait_for(&format!("{reply} .delivery.failed")).await;

    browser.click(&format!("{reply} .send-again")).await;
    browser.wait_text(&format!("{reply} .send-again-row .error"), "SMTP").await;
    browser.screenshot("delivery-failed").await;
    let admin = server.login(&server.desk.admin.email).await;
    let smtp = serde_json::json!({ "smtp": { "enabled": true, "host": "127.0.0.1", "port": servers.smtp_port, "tls": "none" } });
    let (status, body) = admin.patch(&format!("/api/v1/inboxes/{}/mail", server.desk.inbox_a.id), &smtp).await;
    assert_eq!(status, 200, "{body}");
    browser.click(&format!("{reply} .send-again")).await;
    browser.wait_for(&format!("{reply} .delivery.sent")).await;
    browser.wait_gone(&format!("{reply} .send-again")).await;
    browser.wait_gone(&format!("{reply} .delivery-error")).await;
    browser.wait_text("#conversation .event[data-kind='message.resent']", "send a message again").await;
    browser.screenshot("sent-again").await;
    assert_eq!(servers.messages("anna").len(), 1, "delivered once");
    browser.close().await;
}

