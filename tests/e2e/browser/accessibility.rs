//! Every page of the UI audited with axe-core (the WCAG 2.1 A and AA rules: labels, names,
//! contrast, landmarks, ARIA use, language), on the real pages with data, as an admin sees
//! them (the role with the most on each page), and the sign-in page.

use tandem_tests::browser::{Browser, signed_in};

/// Runs the audit on `path` once `ready` is on the page; returns "path: violation" lines.
async fn audit(browser: &Browser, base: &str, path: &str, ready: &str) -> Vec<String> {
    browser.goto(&format!("{base}{path}")).await;
    browser.wait_for(ready).await;
    browser.accessibility_violations().await.into_iter().map(|v| format!("{path}: {v}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_an_axe_audit() {
    let (server, browser) = signed_in("admin@desk.test").await;
    let base = server.base.clone();
    let number = server.desk.ticket_a;
    // The audit finds what it should: a text field without a label, put on the page for a
    // moment, is reported (so an empty result below means a clean page, not a silent audit).
    browser.wait_for("#ticket-list .ticket-row").await;
    browser.js("const i = document.createElement('input'); i.id = 'unlabelled-probe'; document.body.appendChild(i); return 1").await;
    let probe = browser.accessibility_violations().await;
    assert!(probe.iter().any(|v| v.starts_with("label ") && v.contains("#unlabelled-probe")), "axe-core missed an unlabelled field: {probe:?}");
    browser.js("document.getElementById('unlabelled-probe').remove(); return 1").await;

    let mut violations = Vec::new();
    for (path, ready) in [
        ("/views/open".to_owned(), "#ticket-list .ticket-row"),
        (format!("/tickets/{number}"), "#conversation .message"),
        ("/search?q=password".to_owned(), "#search-results"),
        ("/reports".to_owned(), "#report-kpis"),
        ("/profile".to_owned(), "#profile-save"),
        ("/admin/users".to_owned(), "#user-list"),
        ("/admin/inboxes".to_owned(), "#inbox-list"),
        ("/admin/teams".to_owned(), "#team-list"),
        ("/admin/sla".to_owned(), "#policy-list"),
        ("/admin/templates".to_owned(), "#template-list"),
        ("/admin/plugins".to_owned(), "#plugin-list"),
        ("/admin/audit".to_owned(), "#audit-list"),
    ] {
        violations.extend(audit(&browser, &base, &path, ready).await);
    }
    // The sign-in page, signed out.
    browser.click("#logout").await;
    browser.wait_for("#login-email").await;
    violations.extend(browser.accessibility_violations().await.into_iter().map(|v| format!("sign-in: {v}")));
    assert!(violations.is_empty(), "axe-core found {} violation(s):\n{}", violations.len(), violations.join("\n"));
    browser.close().await;
}
