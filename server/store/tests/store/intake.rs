//! Recording raw inbound mail, on SQLite and PostgreSQL: a batch (an IMAP fetch) records each
//! message once, however its copies are spread over the batch and earlier ones.

use tandem_store::{
    backend_tests,
    testing::{Backend, clock, desk, fresh_database, open_store},
};

backend_tests! {
    a_batch_records_each_message_once,
}

fn mail(message_id: Option<&str>, body: &str) -> Vec<u8> {
    let header = message_id.map(|id| format!("Message-ID: <{id}>\r\n")).unwrap_or_default();
    format!("From: Carla <carla@customer.test>\r\nTo: support@desk.test\r\nSubject: Invoice\r\n{header}\r\n{body}\r\n").into_bytes()
}

/// Copies within one batch and across batches (same Message-ID, or the same bytes when there
/// is none) answer the entry of the first copy, as duplicates; every other message gets an
/// entry of its own, in the batch's order, with its raw bytes kept.
async fn a_batch_records_each_message_once(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let inbox = desk.inbox_a.id;
    let first = [
        mail(Some("a@customer.test"), "one"),
        mail(None, "no id"),
        mail(Some("b@customer.test"), "two"),
        // A second delivery of `a` (other bytes, same Message-ID) and of the message without one.
        mail(Some("a@customer.test"), "one, delivered again"),
        mail(None, "no id"),
    ];
    let items: Vec<(&[u8], Option<&str>)> = first.iter().enumerate().map(|(i, raw)| (raw.as_slice(), Some(["1", "2", "3", "4", "5"][i]))).collect();
    let recorded = store.record_inbound_batch(inbox, &items, "imap").await.expect("record");
    let ids: Vec<i64> = recorded.iter().map(|r| r.id).collect();
    let duplicate: Vec<bool> = recorded.iter().map(|r| r.duplicate).collect();
    assert_eq!(duplicate, [false, false, false, true, true]);
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "entries in the batch's order: {ids:?}");
    assert_eq!((ids[3], ids[4]), (ids[0], ids[1]), "copies answer the first copy's entry");
    for (i, id) in ids[..3].iter().enumerate() {
        assert_eq!(store.inbound_raw(None, *id).await.expect("raw"), first[i], "raw of entry {i}");
    }

    let second = [mail(Some("c@customer.test"), "three"), mail(Some("b@customer.test"), "two"), mail(None, "no id")];
    let items: Vec<(&[u8], Option<&str>)> = second.iter().map(|raw| (raw.as_slice(), None)).collect();
    let again = store.record_inbound_batch(inbox, &items, "imap").await.expect("record again");
    assert!(!again[0].duplicate && again[0].id > ids[2], "{again:?}");
    assert_eq!((again[1].id, again[1].duplicate), (ids[2], true));
    assert_eq!((again[2].id, again[2].duplicate), (ids[1], true));
    assert_eq!(store.pending_inbound(10).await.expect("pending").len(), 4, "four messages, each recorded once");
    assert!(store.record_inbound_batch(inbox, &[], "imap").await.expect("nothing").is_empty());
    assert!(store.record_inbound_batch(i64::MAX, &items, "imap").await.is_err(), "no such inbox");
}
