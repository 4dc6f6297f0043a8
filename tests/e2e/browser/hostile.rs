//! Hostile HTML mail in the ticket view: no script runs, nothing remote loads.

use std::path::Path;

use tandem_tests::browser::signed_in;

/// Ingests a raw message into inbox A; returns the ticket number it opened.
async fn ingest(server: &tandem_tests::TestServer, raw: Vec<u8>) -> Option<i64> {
    let admin = server.login(&server.desk.admin.email).await;
    let response = admin
        .request(reqwest::Method::POST, &format!("/api/v1/inboxes/{}/messages/raw", server.desk.inbox_a.id))
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("ingest");
    let body: serde_json::Value = response.json().await.expect("json");
    body["inbound"]["ticket_number"].as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_html_mail_runs_no_script_and_loads_nothing_remote() {
    let (server, browser) = signed_in("agent@desk.test").await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut mails = vec![("flag.eml".to_owned(), std::fs::read(fixtures.join("hostile/flag.eml")).expect("flag.eml"))];
    let (corpus, _) = tandem_plugins::testing::corpus_dir();
    for (file, tags) in tandem_plugins::testing::corpus_manifest(&corpus) {
        if tags.iter().any(|t| t == "html-script/xss-vector" || t == "html-iframe/form/object") && !mails.iter().any(|(f, _)| *f == file) {
            mails.push((file.clone(), std::fs::read(corpus.join(&file)).expect("corpus file")));
        }
    }
    assert!(mails.len() >= 4, "hostile mails found: {}", mails.len());

    let origin = server.url("");
    let mut rendered = 0;
    for (file, raw) in mails {
        // List mail and spam may be recorded without a ticket (nothing to render then).
        let Some(number) = ingest(&server, raw).await else {
            assert_ne!(file, "flag.eml", "the crafted hostile mail opened no ticket");
            continue;
        };
        rendered += 1;
        browser.goto(&server.url(&format!("/tickets/{number}"))).await;
        browser.wait_for("#conversation .message[data-kind='inbound']").await;
        // Let images, frames and handlers have their chance.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let flag = browser.js("return window.tandemPwned === undefined ? null : String(window.tandemPwned)").await;
        assert!(flag.is_null(), "{file}: a script ran in the page ({flag})");
        let live = browser
            .js("return document.querySelectorAll('#conversation script, #conversation iframe:not(.remote-frame), #conversation object, #conversation embed, #conversation [onload], #conversation [onerror], #conversation a[href^=\"javascript:\"]').length")
            .await;
        assert_eq!(live, 0, "{file}: active content in the rendered message");
        // The browser's own record of what it fetched: nothing but the server itself.
        let fetched = browser.js("return performance.getEntriesByType('resource').map(e => e.name)").await;
        for url in fetched.as_array().expect("resource list") {
            let url = url.as_str().unwrap_or_default();
            assert!(url.starts_with(origin.trim_end_matches('/')) || url.starts_with("data:"), "{file}: the page fetched {url}");
        }
        if file == "flag.eml" {
            browser.screenshot("hostile-mail").await;
            // Asking for remote images shows them in a sandboxed frame only: still no script.
            browser.click(".load-remote").await;
            browser.wait_for(".remote-frame").await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let flag = browser.js("return window.tandemPwned === undefined ? null : String(window.tandemPwned)").await;
            assert!(flag.is_null(), "the remote view ran a script ({flag})");
        }
    }
    assert!(rendered >= 3, "only {rendered} hostile mails became tickets");
    browser.close().await;
}
