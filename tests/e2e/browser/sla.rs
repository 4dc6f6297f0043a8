//! Service levels in the browser: the admin writes a policy on the SLA page, time passes (the
//! server's clock moves, the scheduler's round runs), the ticket shows up in the "SLA
//! breached" view with its badge, the panel shows the state, the bell counts the breach, and
//! a reminder is set from the ticket panel.

use serde_json::json;
use tandem_tests::browser::signed_in_on_test_clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_breach_shows_in_the_view_the_panel_and_the_bell() {
    let (server, browser) = signed_in_on_test_clock("admin@desk.test").await;
    let inbox = server.desk.inbox_a.id;
    let number = server.desk.ticket_a;

    browser.goto(&server.url("/admin/sla")).await;
    browser.wait_for("#policy-form").await;
    browser.type_into("#policy-name", "Support one hour").await;
    browser.select("#policy-inbox", &inbox.to_string()).await;
    browser.js("document.querySelector('#policy-first').value = ''").await;
    browser.type_into("#policy-first", "60").await;
    browser.click("#policy-submit").await;
    browser.wait_text("#policy-list", "Support one hour").await;
    browser.screenshot("sla-admin").await;

    // The admin takes the ticket (so the breach notifies them), then two hours pass.
    let admin = server.login(&server.desk.admin.email).await;
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(detail["ticket"]["sla"]["policy_name"], "Support one hour", "{detail}");
    let (s, _) = admin.post(&format!("/api/v1/tickets/{number}/assign"), &json!({ "assignee_id": server.desk.admin.id })).await;
    assert_eq!(s, 200);
    server.clock.advance(chrono::Duration::hours(2));
    assert_eq!(server.store.run_timers().await.expect("timers").sla_breaches, 1);

    browser.goto(&server.url("/views/breached")).await;
    browser.wait_text("#view-breached", "SLA breached").await;
    browser.wait_text(".ticket-row .tag.sla-breached", "Overdue").await;
    browser.wait_text("#notification-count", "1").await;
    browser.screenshot("sla-breached-view").await;
    browser.click("#notifications").await;
    browser.wait_text("#notification-list", "first response breached").await;
    browser.click("#notifications-read").await;
    browser.wait_gone("#notification-count").await;

    browser.goto(&server.url(&format!("/tickets/{number}"))).await;
    browser.wait_text("#sla", "Overdue").await;
    browser.wait_text("#sla", "Support one hour").await;
    // A reminder for tomorrow, from the panel.
    browser
        .js("const i = document.querySelector('#reminder-at'); i.value = '2030-01-02T09:30'; i.dispatchEvent(new Event('input', { bubbles: true }));")
        .await;
    browser.type_into("#reminder-note", "Call back").await;
    browser.click("#reminder-add").await;
    browser.wait_text("#reminders", "Call back").await;
    let (_, reminders) = admin.get("/api/v1/reminders").await;
    assert_eq!(reminders.as_array().map(Vec::len), Some(1), "{reminders}");
    browser.close().await;
}
