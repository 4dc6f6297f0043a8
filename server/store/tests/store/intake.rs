//! Recording and applying raw inbound mail, on SQLite and PostgreSQL: a batch (an IMAP fetch)
//! records each message once, however its copies are spread over the batch and earlier ones,
//! and a group applying the same entry twice makes one message of it (and its attachments,
//! written together, each on its own message).

use tandem_proto::IntakeState;
use tandem_store::{
    backend_tests,
    testing::{Backend, actor, clock, desk, fresh_database, open_store, record_and_parse},
};

backend_tests! {
    a_batch_records_each_message_once,
    an_entry_twice_in_a_group_is_applied_once,
    a_groups_attachments_land_on_their_own_messages,
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

/// Two deliveries of one message in the same fetch batch share an entry, and both reach the
/// group that applies the batch (neither was processed when the batch was read): the first
/// makes the ticket, the second finds the entry processed and answers what became of it.
async fn an_entry_twice_in_a_group_is_applied_once(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let copies = [mail(Some("twice@customer.test"), "one"), mail(Some("twice@customer.test"), "one, again"), mail(Some("other@customer.test"), "two")];
    let (recorded, parsed) = record_and_parse(&store, desk.inbox_a.id, &copies).await;
    assert_eq!(recorded[0].id, recorded[1].id);
    let group: Vec<_> = recorded.iter().zip(&parsed).map(|(r, p)| (r.id, p.as_ref())).collect();
    let outcomes = store.apply_inbound_many(&group, &|_| true).await.into_result().expect("apply");
    let states: Vec<IntakeState> = outcomes.iter().map(|o| o.state).collect();
    assert_eq!(states, [IntakeState::Ticket, IntakeState::Ticket, IntakeState::Ticket]);
    assert_eq!(outcomes[1].ticket_number, outcomes[0].ticket_number, "the second copy answers the first's ticket");
    assert_eq!(outcomes[1].message_row_id, outcomes[0].message_row_id);
    assert!(outcomes[0].run_pipeline && !outcomes[1].run_pipeline, "one plugin run, for the first copy");
    assert_ne!(outcomes[2].ticket_number, outcomes[0].ticket_number);
    let number = outcomes[0].ticket_number.expect("ticket");
    let ticket = store.get_ticket(&admin, number).await.expect("ticket");
    assert_eq!(ticket.messages.len(), 1, "one message for both copies");
    assert_eq!(store.pending_pipeline_runs(0, 10).await.expect("pending").len(), 2, "the first copy and the other message");
}

fn with_attachments(n: u32, files: &[(&str, &str)]) -> Vec<u8> {
    let mut raw = format!(
        "From: Dana <dana{n}@customer.test>\r\nTo: support@desk.test\r\nSubject: Files {n}\r\nMessage-ID: <files{n}@customer.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
    );
    for (name, body) in files {
        raw.push_str(&format!("--B\r\nContent-Type: text/plain; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n{body}\r\n"));
    }
    raw.push_str("--B--\r\n");
    raw.into_bytes()
}

/// A group's attachments are written together before its transaction; each lands on the
/// message it came with, with its own bytes, whatever the messages around it carry.
async fn a_groups_attachments_land_on_their_own_messages(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let files: [&[(&str, &str)]; 4] = [&[("a.txt", "first a"), ("b.txt", "first b")], &[], &[("c.txt", "third c")], &[("d.txt", "first a")]];
    let raws: Vec<Vec<u8>> = files.iter().enumerate().map(|(i, f)| with_attachments(i as u32, f)).collect();
    let (recorded, parsed) = record_and_parse(&store, desk.inbox_a.id, &raws).await;
    let group: Vec<_> = recorded.iter().zip(&parsed).map(|(r, p)| (r.id, p.as_ref())).collect();
    let outcomes = store.apply_inbound_many(&group, &|_| false).await.into_result().expect("apply");
    for (outcome, want) in outcomes.iter().zip(files) {
        let ticket = store.get_ticket(&admin, outcome.ticket_number.expect("ticket")).await.expect("ticket");
        let attachments = &ticket.messages[0].attachments;
        let names: Vec<&str> = attachments.iter().map(|a| a.filename.as_str()).collect();
        assert_eq!(names, want.iter().map(|(name, _)| *name).collect::<Vec<_>>());
        for (a, (_, body)) in attachments.iter().zip(want) {
            let (_, bytes) = store.attachment(&admin, a.id).await.expect("attachment");
            assert_eq!(String::from_utf8_lossy(&bytes).trim_end(), *body, "{}", a.filename);
        }
    }
}
