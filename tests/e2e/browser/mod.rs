//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver + fantoccini)
//! against the real `tandem` binary (`tandem serve` as a child process) serving the built UI
//! (`web/dist`) at `/`. The two tests that move time (SLA, reports) run the same server code
//! inside the test process instead, on the test clock (`signed_in_on_test_clock`).
//!
//! Needs `TANDEM_BIN`, `TANDEM_WEB_DIR`, `TANDEM_CHROMEDRIVER` and `TANDEM_CHROMIUM`, which
//! `./x test` sets (after building the UI and installing Chromium). Without them the test
//! fails: it never skips.

mod accessibility;
mod admin;
mod csat;
mod desk;
mod hostile;
mod reports;
mod search;
mod sla;

use serde_json::json;
use tandem_tests::{PASSWORD, TestServer};
use tandem_tests::browser::{Browser, sign_in, ticket_rows, ui_settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_shows_own_tickets_and_sign_out() {
    let server = TestServer::start_binary(ui_settings()).await;
    let browser = Browser::start().await;
    let agent = &server.desk.agent;
    assert_eq!(agent.email, "agent@desk.test");

    browser.client.goto(&server.url("/")).await.expect("open the web UI");
    browser.wait_for("#login-email").await;
    browser.wait_for("#login-password").await;
    assert!(!browser.is_present("#login-error").await, "an error before any attempt");

    // A wrong password: an error, still signed out.
    sign_in(&browser, &agent.email, "wrong password").await;
    let error = browser.text("#login-error").await;
    assert!(error.contains("wrong email or password"), "login error: {error:?}");
    assert!(!browser.is_present("#whoami").await, "signed in with a wrong password");

    // The right password (the form emptied the password field after the failure).
    sign_in(&browser, &agent.email, PASSWORD).await;
    assert_eq!(browser.text("#whoami").await, agent.display_name);
    assert_eq!(agent.display_name, "agent");
    assert!(!browser.is_present("#login-email").await, "the sign-in form stays after signing in");

    // Only the tickets of the agent's inboxes: #1001 (inbox A), not #1002 (inbox B).
    let expect_rows = |numbers: &[String]| {
        assert!(numbers.contains(&server.desk.ticket_a.to_string()), "ticket rows {numbers:?}");
        assert!(!numbers.contains(&server.desk.ticket_b.to_string()), "ticket rows {numbers:?}");
    };
    assert_eq!((server.desk.ticket_a, server.desk.ticket_b), (1001, 1002));
    let rows = ticket_rows(&browser).await;
    expect_rows(&rows);
    let table = browser.text("#ticket-list").await;
    assert!(table.contains("#1001") && table.contains("Cannot log in"), "ticket table: {table}");
    assert!(!table.contains("#1002"), "ticket table: {table}");

    // The session survives a reload.
    let cookie = browser.client.get_named_cookie("tandem_session").await.expect("the session cookie");
    browser.client.refresh().await.expect("reload");
    assert_eq!(browser.text("#whoami").await, agent.display_name);
    expect_rows(&ticket_rows(&browser).await);

    // Sign out: the form is back, and the old session cookie no longer works.
    browser.click("#logout").await;
    browser.wait_for("#login-email").await;
    assert!(!browser.is_present("#whoami").await, "still signed in after signing out");
    browser.client.refresh().await.expect("reload");
    browser.wait_for("#login-email").await;
    assert!(!browser.is_present("#whoami").await, "signed in again after a reload");
    let status = reqwest::Client::new()
        .get(server.url("/api/v1/me"))
        .header(reqwest::header::COOKIE, format!("tandem_session={}", cookie.value()))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 401, "the signed-out session cookie still works");

    browser.close().await;
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_signs_in_and_gets_its_own_ui() {
    let server = TestServer::start_binary(ui_settings()).await;
    let browser = Browser::start().await;
    let ticket = server.desk.ticket_a;
    for (role, user) in server.desk.users() {
        browser.goto(&server.url(&format!("/tickets/{ticket}"))).await;
        sign_in(&browser, &user.email, PASSWORD).await;
        assert_eq!(browser.text("#whoami").await, user.display_name, "{role}");
        let admin_link = browser.is_present("#nav-admin").await;
        assert_eq!(admin_link, role == "admin", "{role}: admin link shown = {admin_link}");
        if user.email == server.desk.agent_b.email {
            // Not a member of ticket A's inbox: refused, with a readable message.
            browser.wait_for("#ticket-error").await;
        } else {
            browser.wait_text("#ticket-subject", "Cannot log in").await;
            // Observers read; they get no composer.
            browser.wait_for("#conversation").await;
            assert_eq!(browser.is_present("#composer").await, role != "observer", "{role}: composer");
        }
        if role == "admin" {
            browser.goto(&server.url("/admin/users")).await;
            browser.wait_for(&format!(".user-row[data-email='{}']", server.desk.observer.email)).await;
            browser.screenshot("admin-users").await;
            // Skills are edited in the list (routing uses them).
            let skills = format!("#user-skills-{}", server.desk.agent.id);
            let field = browser.wait_for(&skills).await;
            field.clear().await.expect("clear skills");
            field.send_keys("billing, ru\n").await.expect("type skills");
            browser.click("#user-list thead").await;
            browser.wait_for("#user-result").await;
            let admin = server.login(&user.email).await;
            let (_, agent) = admin.get(&format!("/api/v1/users/{}", server.desk.agent.id)).await;
            assert_eq!(agent["skills"], json!(["billing", "ru"]), "{agent}");
        }
        browser.click("#logout").await;
        browser.wait_for("#login-email").await;
    }
    browser.close().await;
}
