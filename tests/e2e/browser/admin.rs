//! Admin pages in the browser, and an agent kept out of them.

use serde_json::json;
use tandem_tests::browser::{signed_in, ticket_rows};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_uploads_dry_runs_swaps_and_rolls_back_a_plugin() {
    let (server, browser) = signed_in("admin@desk.test").await;
    let admin = server.login(&server.desk.admin.email).await;
    // chromedriver wants canonical paths for file inputs.
    let dir = tandem_plugins::testing::component_dir().canonicalize().expect("the plugin components (`./x plugins`)");
    let classifier = dir.join("keyword_classifier.wasm");
    let hostile = dir.join("hostile_plugin.wasm");
    assert!(classifier.is_file() && hostile.is_file(), "build the plugins first (`./x plugins`): {}", dir.display());

    browser.click("#nav-admin").await;
    browser.wait_for("#plugin-list").await;

    // Upload version 1.
    browser.type_into("#upload-name", "rules").await;
    browser.select("#upload-world", "classifier").await;
    browser.type_into("#upload-file", &classifier.display().to_string()).await;
    browser.click("#upload-submit").await;
    browser.wait_text("#upload-result", "rules").await;
    browser.click(".plugin-row[data-name='rules'] a").await;
    browser.wait_text("#plugin-name", "rules").await;

    // Enable it, dry-run it against a ticket.
    browser.click("#plugin-enabled").await;
    browser.wait_text("#plugin-state", "").await;
    browser.type_into("#dryrun-ticket", &server.desk.ticket_a.to_string()).await;
    browser.click("#dryrun-submit").await;
    let output = browser.wait_text("#dryrun-output", "Version 1,").await;
    assert!(!output.contains("hostile-fixture-ok"), "{output}");
    browser.screenshot("plugin").await;

    // Swap: version 2 under the same name (the hostile fixture, a classifier too).
    let (_, plugins) = admin.get("/api/v1/plugins").await;
    let id = plugins[0]["id"].as_i64().expect("plugin id");
    browser.goto(&server.url("/admin/plugins")).await;
    browser.type_into("#upload-name", "rules").await;
    browser.type_into("#upload-file", &hostile.display().to_string()).await;
    browser.click("#upload-submit").await;
    browser.wait_text("#upload-result", "version 2").await;
    browser.goto(&server.url(&format!("/admin/plugins/{id}"))).await;
    browser.wait_for(".version-row[data-number='2'].active").await;
    browser.type_into("#dryrun-ticket", &server.desk.ticket_a.to_string()).await;
    browser.click("#dryrun-submit").await;
    let output = browser.wait_text("#dryrun-output", "hostile-fixture-ok").await;
    assert!(output.contains("Version 2,"), "{output}");

    // Roll back to version 1.
    browser.click(".version-row[data-number='1'] .activate-version").await;
    browser.wait_for(".version-row[data-number='1'].active").await;
    let (_, plugin) = admin.get(&format!("/api/v1/plugins/{id}")).await;
    assert_eq!(plugin["active_version"]["number"], 1, "{plugin}");
    assert_eq!(plugin["enabled"], true, "{plugin}");
    browser.wait_gone("#dryrun-output").await;
    browser.click("#dryrun-submit").await;
    let output = browser.wait_text("#dryrun-output", "Version 1,").await;
    assert!(!output.contains("hostile-fixture-ok"), "still version 2: {output}");

    // The audit log shows what was done.
    browser.click("#admin-audit").await;
    browser.wait_for(".audit-row[data-kind='plugin.updated']").await;
    browser.screenshot("audit").await;
    browser.close().await;
}

/// Waits until the API (as the admin) answers `path` with something `done` accepts.
async fn api_until(server: &tandem_tests::TestServer, path: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let admin = server.login(&server.desk.admin.email).await;
    let started = std::time::Instant::now();
    loop {
        let (_, answer) = admin.get(path).await;
        if done(&answer) {
            return answer;
        }
        assert!(started.elapsed() < tandem_tests::browser::WAIT, "{path} never got there: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_describes_teams_and_sets_the_sender_name() {
    let (server, browser) = signed_in("admin@desk.test").await;
    // A new team with a description; the desk's team gets one too.
    browser.goto(&server.url("/admin/teams")).await;
    browser.type_into("#new-team-name", "Billing").await;
    browser.type_into("#new-team-description", "Invoices and refunds").await;
    browser.click("#new-team-submit").await;
    browser.wait_text("#team-result", "Billing").await;
    let team = server.desk.team.id;
    let field = format!("#team-description-{team}");
    browser.wait_for(&field).await.clear().await.expect("clear");
    browser.type_into(&field, "Second-line support\t").await;
    let teams = api_until(&server, "/api/v1/teams", |teams| {
        teams.as_array().is_some_and(|all| all.iter().any(|t| t["id"] == team && t["description"] == "Second-line support"))
    })
    .await;
    assert!(teams.as_array().expect("teams").iter().any(|t| t["name"] == "Billing" && t["description"] == "Invoices and refunds"), "{teams}");

    // The sender name of an inbox's outgoing mail.
    let inbox = server.desk.inbox_a.id;
    browser.goto(&server.url("/admin/inboxes")).await;
    let form = format!("#mail-{inbox}");
    browser.wait_for(&format!("{form} .from-name")).await.clear().await.expect("clear");
    browser.type_into(&format!("{form} .from-name"), "{agent} at {inbox}").await;
    // What IMAP intake reads and does: the fields that show only when they apply.
    browser.select(&format!("{form} .imap-after-import"), "move").await;
    browser.type_into(&format!("{form} .imap-move-to"), "Archive/Tandem").await;
    browser.select(&format!("{form} .imap-existing-mail"), "recent").await;
    browser.wait_for(&format!("{form} .imap-recent-days")).await.clear().await.expect("clear");
    browser.type_into(&format!("{form} .imap-recent-days"), "30").await;
    browser.wait_for(&format!("{form} .imap-folders")).await.clear().await.expect("clear");
    browser.type_into(&format!("{form} .imap-folders"), "INBOX, Support").await;
    browser.click(&format!("{form} button[type='submit']")).await;
    let saved = api_until(&server, &format!("/api/v1/inboxes/{inbox}/mail"), |s| s["from_name_format"] == "{agent} at {inbox}").await;
    assert_eq!(
        (&saved["imap"]["after_import"], &saved["imap"]["move_to"], &saved["imap"]["existing_mail"], &saved["imap"]["recent_days"], &saved["imap"]["folders"]),
        (&json!("move"), &json!("Archive/Tandem"), &json!("recent"), &json!(30), &json!(["INBOX", "Support"])),
        "{saved}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_reach_admin_pages() {
    let (server, browser) = signed_in("agent@desk.test").await;
    assert!(!browser.is_present("#nav-admin").await, "agents see the admin link");
    assert!(!ticket_rows(&browser).await.is_empty());
    for path in ["/admin/plugins", "/admin/users", "/admin/audit"] {
        browser.goto(&server.url(path)).await;
        browser.wait_for("#forbidden").await;
        assert!(!browser.is_present("#plugin-list").await && !browser.is_present("#user-list").await, "{path}");
    }
    // And the API refuses them anyway.
    let agent = server.login(&server.desk.agent.email).await;
    for path in ["/api/v1/plugins", "/api/v1/events"] {
        let (status, _) = agent.get(path).await;
        assert_eq!(status, 403, "{path}");
    }
    browser.close().await;
}
