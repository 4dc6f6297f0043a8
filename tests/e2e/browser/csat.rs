//! Customer satisfaction in the browser: the admin switches the rating request on for an
//! inbox, a solving reply carries the link, the customer rates on the public page (no
//! account, no JavaScript needed), and the agent sees the rating on the ticket.

use serde_json::json;
use tandem_tests::browser::signed_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_rates_and_the_agent_sees_it() {
    let (server, browser) = signed_in("admin@desk.test").await;
    let inbox = server.desk.inbox_a.id;

    // The admin turns it on in the inbox's mail settings.
    browser.client.goto(&server.url("/admin/inboxes")).await.expect("inboxes page");
    let form = format!("#mail-{inbox}");
    browser.wait_for(&format!("{form} .csat-enabled")).await;
    browser.click(&format!("{form} .csat-enabled")).await;
    browser.click(&format!("{form} button[type='submit']")).await;
    browser.wait_text("#inbox-card-result", "").await;
    let admin = server.login(&server.desk.admin.email).await;
    let started = std::time::Instant::now();
    loop {
        let (_, settings) = admin.get(&format!("/api/v1/inboxes/{inbox}/mail")).await;
        if settings["csat_enabled"] == true {
            break;
        }
        assert!(started.elapsed() < tandem_tests::browser::WAIT, "the switch was not saved: {settings}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The agent's solving reply carries the link.
    let agent = server.login(&server.desk.agent.email).await;
    let number = server.desk.ticket_a;
    let (_, detail) = agent.get(&format!("/api/v1/tickets/{number}")).await;
    let (s, posted) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({ "body_text": "All set now.", "seen_version": detail["ticket"]["version"], "set_status": "solved" }))
        .await;
    assert_eq!(s, 201, "{posted}");
    let body = posted["message"]["body_text"].as_str().expect("body").to_owned();
    let link_start = body.find("/csat/").expect("a satisfaction link");
    let path: String = body[link_start..].chars().take_while(|c| !c.is_whitespace()).collect();

    // The customer's page (it needs no session; the signed link is the credential).
    browser.client.goto(&server.url(&path)).await.expect("rating page");
    browser.wait_for("input[name='rating'][value='good']").await;
    browser.click("input[name='rating'][value='good']").await;
    browser.type_into("#comment", "Thank you, <b>fast</b>!").await;
    browser.click("button[type='submit']").await;
    browser.wait_text("#thanks", "Thank you").await;
    browser.screenshot("csat-page").await;

    // The team sees it on the ticket, the comment as text.
    browser.client.goto(&server.url(&format!("/tickets/{number}"))).await.expect("ticket");
    browser.wait_text("#satisfaction", "Good").await;
    browser.wait_text("#satisfaction .csat-comment", "Thank you, <b>fast</b>!").await;
    browser.close().await;
}
