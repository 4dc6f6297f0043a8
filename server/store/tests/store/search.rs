//! Full-text search, run against SQLite FTS5 and PostgreSQL full-text alike: the four
//! languages, filters, visibility, the index following every write, highlighting, paging
//! and hostile queries.

use tandem_domain::Actor;
use tandem_proto::{self as proto, MessageKind, TicketStatus};
use tandem_store::{
    Store, StoreError, backend_tests,
    testing::{Backend, Desk, actor, clock, desk, fresh_database, new_ticket, open_store},
};

backend_tests! {
    four_languages_fold_case_accents_and_inflections,
    filters_and_visibility_never_leak,
    the_index_follows_every_write,
    hits_are_highlighted_and_paged,
    hostile_queries_are_refused_or_answered,
}

struct World {
    store: Store,
    desk: Desk,
    admin: Actor,
    en: i64,
    fr: i64,
    pl: i64,
    ru: i64,
    sales: i64,
}

async fn world(backend: Backend) -> (tandem_store::testing::TestDb, World) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let create = async |inbox: i64, subject: &str, body: &str, email: &str, name: &str| {
        let mut input = new_ticket(inbox, subject, email);
        input.body_text = body.into();
        input.contact.name = Some(name.into());
        store.create_ticket(&admin, input).await.expect("create").ticket.number
    };
    let a = desk.inbox_a.id;
    let en = create(a, "Invoice 4711 looks wrong", "The invoices we received list the wrong company name.", "anna@acme.com", "Anna Smith").await;
    let fr = create(a, "Facture erronée", "La facture reçue indique un mauvais nom de société. Réinitialisation impossible.", "camille@atelier-durand.fr", "Camille Dubois").await;
    let pl = create(a, "Błędna faktura", "Na otrzymanej fakturze jest błędna nazwa firmy. Zamówienie nie zostało wysłane.", "lukasz@budmax.com.pl", "Łukasz Wójcik").await;
    let ru = create(a, "Ошибка в счёте", "В полученном счёте указано неверное название организации. Заказа нет.", "ivan@stroytech.ru", "Иван Петров").await;
    let sales = create(desk.inbox_b.id, "Invoice for the sales team", "Please send the invoice again.", "bob@acme.com", "Bob Jones").await;
    (db, World { store, desk, admin, en, fr, pl, ru, sales })
}

async fn numbers(store: &Store, actor: &Actor, q: &str) -> Vec<i64> {
    let params = proto::SearchParams { q: q.into(), offset: None, limit: Some(100) };
    let mut found: Vec<i64> = store.search(actor, &params).await.unwrap_or_else(|e| panic!("{q}: {e}")).hits.iter().map(|h| h.ticket.number).collect();
    found.sort_unstable();
    found
}

async fn four_languages_fold_case_accents_and_inflections(backend: Backend) {
    let (_db, w) = world(backend).await;
    let (s, admin) = (&w.store, &w.admin);
    // English: case, plural via the stem.
    assert_eq!(numbers(s, admin, "INVOICE").await, [w.en, w.sales]);
    assert_eq!(numbers(s, admin, "invoices").await, [w.en, w.sales]);
    // French: accents either way, plural.
    assert_eq!(numbers(s, admin, "erronee").await, [w.fr]);
    assert_eq!(numbers(s, admin, "RÉINITIALISATION").await, [w.fr]);
    assert_eq!(numbers(s, admin, "factures").await, [w.fr]);
    // Polish: diacritics (ł, ó) dropped or typed, case forms of "faktura".
    assert_eq!(numbers(s, admin, "zamowienie").await, [w.pl]);
    assert_eq!(numbers(s, admin, "BŁĘDNA").await, [w.pl]);
    assert_eq!(numbers(s, admin, "faktury").await, [w.pl]);
    assert_eq!(numbers(s, admin, "wojcik").await, [w.pl]);
    // Russian: ё typed as е, case forms of "заказ" and "счёт".
    assert_eq!(numbers(s, admin, "счет").await, [w.ru]);
    assert_eq!(numbers(s, admin, "ЗАКАЗ").await, [w.ru]);
    assert_eq!(numbers(s, admin, "организация").await, [w.ru]);
    // Phrases keep word order; a word that is nowhere finds nothing.
    assert_eq!(numbers(s, admin, "\"wrong company\"").await, [w.en]);
    assert!(numbers(s, admin, "\"company wrong\"").await.is_empty());
    assert!(numbers(s, admin, "kubernetes").await.is_empty());
    // Two words may sit in different parts of a ticket (subject and body).
    assert_eq!(numbers(s, admin, "4711 company").await, [w.en]);
    // Contact addresses and names.
    assert_eq!(numbers(s, admin, "budmax").await, [w.pl]);
    assert_eq!(numbers(s, admin, "Петров").await, [w.ru]);
}

async fn filters_and_visibility_never_leak(backend: Backend) {
    let (_db, w) = world(backend).await;
    let s = &w.store;
    let supervisor = actor(s, &w.desk.supervisor).await;
    let agent_b = actor(s, &w.desk.agent_b).await;
    let observer = actor(s, &w.desk.observer).await;
    // The admin sees both inboxes, the supervisor and observer inbox A, agent B inbox B.
    assert_eq!(numbers(s, &w.admin, "invoice from:acme.com").await, [w.en, w.sales]);
    assert_eq!(numbers(s, &supervisor, "invoice").await, [w.en]);
    assert_eq!(numbers(s, &observer, "invoice from:acme.com").await, [w.en]);
    assert_eq!(numbers(s, &agent_b, "invoice").await, [w.sales]);
    assert!(numbers(s, &agent_b, "facture").await.is_empty());
    assert!(numbers(s, &agent_b, "from:anna@acme.com").await.is_empty());
    // Naming a foreign inbox does not open it.
    assert!(numbers(s, &agent_b, "invoice inbox:Support").await.is_empty());
    assert_eq!(numbers(s, &w.admin, "invoice inbox:sales").await, [w.sales]);
    // from: by address and by domain (with subdomains).
    assert_eq!(numbers(s, &w.admin, "from:anna@acme.com").await, [w.en]);
    assert_eq!(numbers(s, &w.admin, "from:com.pl").await, [w.pl]);
    assert!(numbers(s, &w.admin, "from:cme.com").await.is_empty(), "a domain matches whole labels only");
    // Exclusion.
    assert_eq!(numbers(s, &w.admin, "invoice -sales").await, [w.en]);
    // Status, priority, assignee and tag filters, alone or with words.
    let agent = actor(s, &w.desk.agent).await;
    let ticket = s.get_ticket(&w.admin, w.en).await.expect("ticket").ticket;
    s.update_ticket(&w.admin, w.en, proto::UpdateTicket {
        version: ticket.version,
        status: Some(TicketStatus::Open),
        priority: Some(proto::Priority::High),
        assignee_id: Some(Some(w.desk.agent.id)),
        tags: Some(vec!["billing".into()]),
        ..Default::default()
    })
    .await
    .expect("update");
    let example = "status:open assignee:me tag:billing from:acme.com \"wrong company\"";
    assert_eq!(numbers(s, &agent, example).await, [w.en]);
    assert_eq!(numbers(s, &agent, "status:open,pending priority:high").await, [w.en]);
    assert_eq!(numbers(s, &w.admin, "assignee:agent@desk.test").await, [w.en]);
    assert_eq!(numbers(s, &w.admin, "assignee:none invoice").await, [w.sales]);
    assert!(numbers(s, &w.admin, "tag:billing tag:vip").await.is_empty());
    assert!(numbers(s, &supervisor, "assignee:me").await.is_empty());
    // Unknown names are explained, not ignored.
    for q in ["assignee:ghost@desk.test", "inbox:Nowhere", "team:Nobody", "status:maybe"] {
        let err = s.search(&w.admin, &proto::SearchParams { q: q.into(), ..Default::default() }).await.expect_err(q);
        assert!(matches!(err, StoreError::Domain(tandem_domain::DomainError::Validation { .. })), "{q}: {err:?}");
    }
}

async fn the_index_follows_every_write(backend: Backend) {
    let (_db, w) = world(backend).await;
    let s = &w.store;
    // A reply, then a note, are searchable at once.
    let ticket = s.get_ticket(&w.admin, w.ru).await.expect("ticket");
    let reply = proto::PostMessage { body_text: "Мы оформили кредит-ноту.".into(), seen_version: Some(ticket.ticket.version), ..Default::default() };
    s.post_message(&w.admin, w.ru, MessageKind::Reply, reply).await.expect("reply");
    assert_eq!(numbers(s, &w.admin, "кредит").await, [w.ru]);
    let ticket = s.get_ticket(&w.admin, w.ru).await.expect("ticket");
    let note = proto::PostMessage { body_text: "Internal: escalate to Fenwick".into(), seen_version: Some(ticket.ticket.version), ..Default::default() };
    s.post_message(&w.admin, w.ru, MessageKind::Note, note).await.expect("note");
    assert_eq!(numbers(s, &w.admin, "fenwick").await, [w.ru]);
    // A customer message arriving by the channel.
    s.add_customer_message(w.fr, "Merci, et le remboursement ?").await.expect("customer message");
    assert_eq!(numbers(s, &w.admin, "remboursement").await, [w.fr]);
    // A new subject replaces the old one.
    let ticket = s.get_ticket(&w.admin, w.pl).await.expect("ticket").ticket;
    s.update_ticket(&w.admin, w.pl, proto::UpdateTicket { version: ticket.version, subject: Some("Korekta dokumentu".into()), ..Default::default() })
        .await
        .expect("rename");
    assert_eq!(numbers(s, &w.admin, "korekta").await, [w.pl]);
    assert!(numbers(s, &w.admin, "bledna").await.contains(&w.pl), "the body still says błędna");
    assert!(numbers(s, &w.admin, "Błędna -nazwa").await.is_empty());
    // Tags are searchable as words and as a filter; removing a tag removes both.
    let ticket = s.get_ticket(&w.admin, w.fr).await.expect("ticket").ticket;
    s.update_ticket(&w.admin, w.fr, proto::UpdateTicket { version: ticket.version, tags: Some(vec!["goldtier".into()]), ..Default::default() })
        .await
        .expect("tag");
    assert_eq!(numbers(s, &w.admin, "goldtier").await, [w.fr]);
    assert_eq!(numbers(s, &w.admin, "tag:goldtier").await, [w.fr]);
    let ticket = s.get_ticket(&w.admin, w.fr).await.expect("ticket").ticket;
    s.update_ticket(&w.admin, w.fr, proto::UpdateTicket { version: ticket.version, tags: Some(vec![]), ..Default::default() }).await.expect("untag");
    assert!(numbers(s, &w.admin, "tag:goldtier").await.is_empty());
    assert!(numbers(s, &w.admin, "goldtier").await.is_empty());
    // Stems reach across word forms: the note said "escalate".
    assert_eq!(numbers(s, &w.admin, "escalated").await, [w.ru]);
    // Renaming a contact reaches their tickets.
    let contact = s.get_ticket(&w.admin, w.en).await.expect("ticket").ticket.contact.id;
    s.update_contact(&w.admin, contact, proto::UpdateContact { name: Some("Anna Quillfeather".into()), company: None }).await.expect("rename");
    assert_eq!(numbers(s, &w.admin, "quillfeather").await, [w.en]);
    // A merged ticket is found as its survivor only.
    s.merge_tickets(&w.admin, w.sales, w.en).await.expect("merge");
    assert_eq!(numbers(s, &w.admin, "invoice").await, [w.en]);
    assert_eq!(numbers(s, &w.admin, "\"send the invoice again\"").await, [w.en]);
    // Moving a ticket to another inbox moves it out of sight of that inbox's agents.
    let supervisor = actor(s, &w.desk.supervisor).await;
    assert_eq!(numbers(s, &supervisor, "счет").await, [w.ru]);
    let ticket = s.get_ticket(&w.admin, w.ru).await.expect("ticket").ticket;
    s.update_ticket(&w.admin, w.ru, proto::UpdateTicket { version: ticket.version, inbox_id: Some(w.desk.inbox_b.id), ..Default::default() })
        .await
        .expect("move");
    assert!(numbers(s, &supervisor, "счет").await.is_empty());
    // A full rebuild gives the same answers.
    let queries = ["invoice", "счет", "facture", "quillfeather", "status:new"];
    let mut before = Vec::new();
    for q in queries {
        before.push(numbers(s, &w.admin, q).await);
    }
    assert!(s.rebuild_search_index().await.expect("rebuild") >= 5);
    for (q, expected) in queries.iter().zip(before) {
        assert_eq!(numbers(s, &w.admin, q).await, expected, "{q}");
    }
}

async fn hits_are_highlighted_and_paged(backend: Backend) {
    // PostgreSQL reads the window newest first in widening slices of ticket ids: 2, 8, 32, 128.
    tandem_store::testing::narrow_search_slices(2);
    let (_db, w) = world(backend).await;
    let s = &w.store;
    let results = s.search(&w.admin, &proto::SearchParams { q: "invoices".into(), ..Default::default() }).await.expect("search");
    let hit = results.hits.iter().find(|h| h.ticket.number == w.en).expect("en hit");
    let subject = hit.subject.as_ref().expect("subject matched");
    assert!(subject.iter().any(|p| p.hit && p.text == "Invoice"), "{subject:?}");
    let excerpt = hit.excerpt.as_ref().expect("excerpt");
    assert_eq!(excerpt.kind, MessageKind::Inbound);
    assert!(excerpt.pieces.iter().any(|p| p.hit && p.text == "invoices"), "{excerpt:?}");
    // The subject is a better match than the body only: the English ticket ranks first
    // among tickets that have the word in both places.
    assert_eq!(results.hits.len(), 2);

    // Thirty similar tickets come back in pages, each once.
    for i in 0..30 {
        let input = new_ticket(w.desk.inbox_a.id, &format!("Printer jam number {i}"), &format!("p{i}@print.test"));
        s.create_ticket(&w.admin, input).await.expect("create");
    }
    let mut seen = Vec::new();
    let mut offset = None;
    loop {
        let page = s.search(&w.admin, &proto::SearchParams { q: "printer".into(), offset, limit: Some(12) }).await.expect("page");
        assert_eq!(page.total, 30);
        assert!(!page.more_than_total);
        seen.extend(page.hits.iter().map(|h| h.ticket.number));
        match page.next_offset {
            Some(next) => offset = Some(next),
            None => break,
        }
    }
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (30, 30));
    for limit in [0, 101] {
        let err = s.search(&w.admin, &proto::SearchParams { q: "printer".into(), offset: None, limit: Some(limit) }).await;
        assert!(err.is_err(), "limit {limit}");
    }
}

async fn hostile_queries_are_refused_or_answered(backend: Backend) {
    let (_db, w) = world(backend).await;
    let hostile = [
        "\"", "\"\"\"", "AND", "OR NOT", "NEAR(invoice wrong)", "invoice*", "^invoice", "subject:invoice", "facets:zzall",
        "'; DROP TABLE tickets; --", "\\", "a & b | !c", "invoice <-> wrong", "(((", "zzall", "-", "--", "- -x", ":", "::x",
        "from:", "tag:", "status:", "💥 invoice", "\u{0}", "%", "_", "from:%.com", "from:a_c.com",
    ];
    for q in hostile {
        match w.store.search(&w.admin, &proto::SearchParams { q: q.into(), ..Default::default() }).await {
            Ok(_) => {}
            Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. })) => {}
            Err(other) => panic!("{q:?} gave {other:?}"),
        }
    }
    // "zzall" typed as a word is just a word: it matches no ticket text.
    assert!(numbers(&w.store, &w.admin, "zzall").await.is_empty());
    assert!(numbers(&w.store, &w.admin, "from:%.com").await.is_empty());
}
