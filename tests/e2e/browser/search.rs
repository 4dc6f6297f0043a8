//! Full-text search in the browser: from the list's search box to ranked, highlighted hits,
//! a readable error for a bad filter, and nothing from an inbox the agent is not in.

use tandem_proto as proto;
use tandem_store::testing::{actor, new_ticket};
use tandem_tests::browser::signed_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_searches_in_every_language_and_only_sees_own_inboxes() {
    let (server, browser) = signed_in("agent@desk.test").await;
    let admin = actor(&server.store, &server.desk.admin).await;
    let create = async |inbox: i64, subject: &str, body: &str| {
        let mut input = new_ticket(inbox, subject, "ewa@transpol.pl");
        input.body_text = body.into();
        server.store.create_ticket(&admin, input).await.expect("create").ticket.number
    };
    let mine = create(server.desk.inbox_a.id, "Zamówienie 4711 nie dotarło", "Dzień dobry, zamówienie nadal nie zostało wysłane.").await;
    let foreign = create(server.desk.inbox_b.id, "Zamówienie hurtowe", "Prośba o ofertę na zamówienie hurtowe.").await;
    let note = proto::PostMessage {
        body_text: "Проверил: счёт выставлен дважды.".into(),
        seen_version: Some(server.store.get_ticket(&admin, mine).await.expect("ticket").ticket.version),
        ..Default::default()
    };
    server.store.post_message(&admin, mine, proto::MessageKind::Note, note).await.expect("note");

    // Enter in the list's search box searches every ticket (not just the loaded page).
    browser.wait_for("#ticket-list").await;
    browser.type_into("#list-search", "zamowienie\u{E007}").await;
    browser.wait_for("#search-results .search-hit").await;
    assert!(browser.client.current_url().await.expect("url").as_str().ends_with("/search?q=zamowienie"));
    browser.wait_text("#search-count", "1").await;
    let numbers = browser.js("return [...document.querySelectorAll('.search-hit')].map(e => Number(e.dataset.number))").await;
    assert_eq!(numbers, serde_json::json!([mine]), "ticket #{foreign} of the other inbox must not show");
    let marked = browser.js("return [...document.querySelectorAll('.search-hit mark')].map(m => m.textContent)").await;
    assert!(marked.as_array().is_some_and(|m| m.iter().any(|t| t == "Zamówienie") && m.iter().any(|t| t == "zamówienie")), "{marked}");
    browser.screenshot("search").await;

    // Russian, in an internal note, with ё typed as е: the note is labelled as such.
    browser.client.find(fantoccini::Locator::Css("#search-query")).await.expect("query").clear().await.expect("clear");
    browser.type_into("#search-query", "счет\u{E007}").await;
    browser.wait_text("#search-results .excerpt.note", "счёт").await;

    // A filter the language does not know is explained, not ignored.
    browser.client.find(fantoccini::Locator::Css("#search-query")).await.expect("query").clear().await.expect("clear");
    browser.type_into("#search-query", "status:someday\u{E007}").await;
    browser.wait_text("#search-error", "status:someday").await;

    // Filters narrow; a hit opens its ticket, and Back returns to the same search.
    browser.client.find(fantoccini::Locator::Css("#search-query")).await.expect("query").clear().await.expect("clear");
    browser.type_into("#search-query", "from:transpol.pl status:new \"nie dotarło\"\u{E007}").await;
    browser.wait_for(&format!(".search-hit[data-number='{mine}']")).await;
    browser.click(&format!(".search-hit[data-number='{mine}'] .hit-subject")).await;
    browser.wait_text("#ticket-subject", "Zamówienie 4711").await;
    browser.client.back().await.expect("back");
    browser.wait_for(&format!(".search-hit[data-number='{mine}']")).await;
    let query = browser.js("return document.querySelector('#search-query').value").await;
    assert_eq!(query, "from:transpol.pl status:new \"nie dotarło\"");
    browser.close().await;
}
