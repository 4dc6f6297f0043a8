//! Reports in the browser: a supervisor opens the page from the top bar, sees the KPI cards,
//! the SVG chart with one group per day, and the breakdown per agent; the CSV link downloads
//! the same table through the session.

use serde_json::json;
use tandem_tests::browser::signed_in_on_test_clock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_reads_the_dashboard() {
    let (server, browser) = signed_in_on_test_clock("supervisor@desk.test").await;
    // The agent answers and solves the desk's ticket A an hour after it came in.
    let agent = server.login(&server.desk.agent.email).await;
    let number = server.desk.ticket_a;
    let (_, t) = agent.get(&format!("/api/v1/tickets/{number}")).await;
    let (s, _) = agent.post(&format!("/api/v1/tickets/{number}/assign"), &json!({ "assignee_id": server.desk.agent.id, "version": t["ticket"]["version"] })).await;
    assert_eq!(s, 200);
    server.clock.advance(chrono::Duration::hours(1));
    let (_, t) = agent.get(&format!("/api/v1/tickets/{number}")).await;
    let (s, b) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({ "body_text": "Done.", "seen_version": t["ticket"]["version"], "set_status": "solved" }))
        .await;
    assert_eq!(s, 201, "{b}");

    browser.click("#nav-reports").await;
    // The last 30 days of the server's clock: one created (the desk's ticket A), one solved.
    browser.wait_text("#report-kpis .kpi:nth-child(2) .kpi-value", "1").await;
    browser.wait_text("#report-kpis .kpi:nth-child(1) .kpi-value", "1").await;
    browser.wait_text("#breakdown", "agent").await;
    browser.wait_for("#volume-chart").await;
    let groups = browser.js("return document.querySelectorAll('#volume-chart g.period').length").await;
    assert_eq!(groups.as_u64(), Some(30), "one group per day of the last 30 days");
    browser.select("#report-interval", "week").await;
    browser.wait_for("#breakdown").await;
    browser.select("#report-by", "inbox").await;
    browser.screenshot("reports").await;
    let href = browser.js("return document.querySelector('h2 .csv-link').getAttribute('href')").await;
    assert!(href.as_str().is_some_and(|h| h.starts_with("/api/v1/reports/export?") && h.contains("table=series")), "{href}");
    browser.close().await;
}
