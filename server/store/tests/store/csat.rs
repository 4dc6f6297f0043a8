//! Customer satisfaction, on SQLite and PostgreSQL: the link in a solving reply, rating and
//! re-rating through it, forged and expired links, and the per-inbox switch.

use chrono::Duration;
use tandem_proto::{self as proto, CsatRating, MessageKind, TicketStatus};
use tandem_store::{
    StoreError, backend_tests,
    testing::{Backend, actor, clock, desk, fresh_database, open_store},
};

backend_tests! {
    a_solving_reply_carries_a_link_that_rates_its_ticket_only,
    the_link_is_a_template_variable_too,
}

/// `{{ csat_link }}` in a canned response renders the ticket's own link; a solving reply that
/// carries it gets no second one.
async fn the_link_is_a_template_variable_too(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await.with_public_url("https://help.example.com");
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let settings = proto::UpdateMailSettings { csat_enabled: Some(true), ..Default::default() };
    store.update_mail_settings(&admin, desk.inbox_a.id, settings).await.expect("switch on");
    let preview = proto::PreviewTemplate {
        template_id: None,
        subject: None,
        body: Some("Rate us: {{ csat_link }}".into()),
        ticket_number: Some(desk.ticket_a),
    };
    let body = store.preview_template(&admin, preview).await.expect("preview").body;
    assert!(body.starts_with("Rate us: https://help.example.com/csat/"), "{body}");
    let version = store.get_ticket(&admin, desk.ticket_a).await.expect("ticket").ticket.version;
    let input = proto::PostMessage { body_text: body.clone(), seen_version: Some(version), set_status: Some(TicketStatus::Solved), ..Default::default() };
    let sent = store.post_message(&admin, desk.ticket_a, MessageKind::Reply, input).await.expect("reply").message.body_text;
    assert_eq!(sent.matches("/csat/").count(), 1, "{sent}");
    store.rate_ticket(&token_in(&sent), proto::RateTicket { rating: Some(CsatRating::Good), score: None, comment: None }).await.expect("rates ticket A");
    assert_eq!(store.get_ticket(&admin, desk.ticket_a).await.expect("a").satisfaction.map(|s| s.rating), Some(CsatRating::Good));
}

/// The token of the satisfaction link in a sent mail body (also used by the reports tests).
pub(crate) fn token_in(body: &str) -> String {
    let start = body.find("/csat/").expect("a satisfaction link") + "/csat/".len();
    body[start..].chars().take_while(char::is_ascii_hexdigit).collect()
}

fn flip_last(token: &str, at_byte: usize) -> String {
    let mut bytes = hex::decode(token).expect("hex");
    bytes[at_byte] ^= 1;
    hex::encode(bytes)
}

async fn a_solving_reply_carries_a_link_that_rates_its_ticket_only(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await.with_public_url("https://help.example.com/");
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let reply = async |number: i64, text: &str, solve: bool| {
        let version = store.get_ticket(&admin, number).await.expect("ticket").ticket.version;
        let input = proto::PostMessage {
            body_text: text.into(),
            seen_version: Some(version),
            set_status: solve.then_some(TicketStatus::Solved),
            ..Default::default()
        };
        store.post_message(&admin, number, MessageKind::Reply, input).await.expect("reply").message.body_text
    };

    // Off by default: a solving reply is sent as written.
    let body = reply(desk.ticket_a, "Fixed, see you.", true).await;
    assert!(!body.contains("/csat/"), "{body}");
    let settings = proto::UpdateMailSettings { csat_enabled: Some(true), ..Default::default() };
    assert!(store.update_mail_settings(&admin, desk.inbox_a.id, settings).await.expect("switch on").csat_enabled);

    // A reply that does not solve carries no link; one that solves does.
    let body = reply(desk.ticket_a, "Still looking.", false).await;
    assert!(!body.contains("/csat/"), "{body}");
    let body = reply(desk.ticket_a, "Fixed for good.", true).await;
    assert!(body.starts_with("Fixed for good."), "{body}");
    assert!(body.contains("https://help.example.com/csat/"), "{body}");
    let token = token_in(&body);

    let form = store.csat_form(&token).await.expect("form");
    assert_eq!((form.ticket_number, form.current.clone()), (desk.ticket_a, None));
    let rated = store.rate_ticket(&token, proto::RateTicket { rating: Some(CsatRating::Good), score: None, comment: Some("  Quick and kind  ".into()) }).await.expect("rate");
    let current = rated.current.expect("rated");
    assert_eq!((current.rating, current.comment.as_deref()), (CsatRating::Good, Some("Quick and kind")));
    // The same link changes the rating; the ticket shows the latest, its timeline both.
    store.rate_ticket(&token, proto::RateTicket { rating: Some(CsatRating::Bad), score: None, comment: None }).await.expect("re-rate");
    let detail = store.get_ticket(&admin, desk.ticket_a).await.expect("ticket");
    assert_eq!(detail.satisfaction.as_ref().map(|s| s.rating), Some(CsatRating::Bad));
    assert_eq!(detail.events.iter().filter(|e| e.kind == "csat.rated").count(), 2);

    // Forgeries: another ticket id or expiry under the old signature, a shortened token,
    // garbage. None rates anything, and the answer does not say which part was wrong.
    for forged in [flip_last(&token, 7), flip_last(&token, 12), flip_last(&token, 20), token[..30].to_owned(), "xyz".into(), String::new()] {
        let refused = store.rate_ticket(&forged, proto::RateTicket { rating: Some(CsatRating::Good), score: None, comment: None }).await;
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{forged}: {refused:?}");
    }
    assert_eq!(store.get_ticket(&admin, desk.ticket_b).await.expect("b").satisfaction, None);

    // Bad input: a comment too long, and nothing changes.
    let long = proto::RateTicket { rating: Some(CsatRating::Good), score: None, comment: Some("x".repeat(2001)) };
    assert!(matches!(store.rate_ticket(&token, long).await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));

    // Inbox B has the switch off: its solving replies carry no link.
    let body = reply(desk.ticket_b, "Done.", true).await;
    assert!(!body.contains("/csat/"), "{body}");

    // Thirty days on, the link has expired (the clock moves, nobody sleeps).
    clock.advance(Duration::days(30));
    let expired = store.rate_ticket(&token, proto::RateTicket { rating: Some(CsatRating::Good), score: None, comment: None }).await;
    assert!(matches!(expired, Err(StoreError::Domain(tandem_domain::DomainError::State(_)))), "{expired:?}");
    let detail = store.get_ticket(&admin, desk.ticket_a).await.expect("ticket");
    assert_eq!(detail.satisfaction.map(|s| s.rating), Some(CsatRating::Bad));
}
