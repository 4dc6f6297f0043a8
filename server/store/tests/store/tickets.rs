//! Tickets and the rest of storage, on SQLite and PostgreSQL: replies with uploads, mentions,
//! numbering and scoped lists, the send guard, versions and events, lifecycle timestamps,
//! merge and split, paging, bulk changes, sanitised HTML and templates, sessions and tokens,
//! the live feed, the outbox's claims.

use std::sync::Arc;

use chrono::Duration;
use tandem_proto::{self as proto, MessageKind, Priority, TicketStatus};
use tandem_store::{
    AssigneeFilter, StoreError, TicketFilter, backend_tests,
    testing::{Backend, actor, clock, desk, fresh_database, new_ticket, open_store},
};

backend_tests! {
    numbers_are_sequential_and_lists_are_scoped,
    send_guard_stops_stale_replies,
    updates_need_the_current_version_and_record_events,
    lifecycle_timestamps_follow_replies_and_status,
    merge_moves_messages_and_points_to_the_survivor,
    split_moves_a_message_into_a_new_ticket,
    cursor_pagination_visits_every_ticket_once,
    bulk_changes_report_each_refusal,
    html_is_sanitised_and_templates_render,
    sessions_and_tokens,
    the_live_feed_reads_ticket_events_after_an_id,
    notes_notify_the_colleagues_they_mention,
    composer_uploads_go_out_with_the_reply,
    the_outbox_hands_out_due_mail_in_order_and_once,
}

async fn composer_uploads_go_out_with_the_reply(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let agent = actor(&store, &desk.agent).await;
    let sup = actor(&store, &desk.supervisor).await;
    let a = desk.ticket_a;
    let guide = store.upload_attachment(&agent, a, "../Guide.pdf", "Application/PDF", b"%PDF-1.4 guide").await.expect("upload");
    assert_eq!((guide.filename.as_str(), guide.content_type.as_str(), guide.size), ("Guide.pdf", "application/pdf", 14));
    let log = store.upload_attachment(&agent, a, "log.txt", "", b"line 1").await.expect("upload");
    assert_eq!(log.content_type, "application/octet-stream");
    assert_eq!(store.pending_uploads(&agent, a).await.expect("pending").len(), 2);
    assert!(store.pending_uploads(&sup, a).await.expect("pending").is_empty(), "each user sees their own");
    // Who may not upload: the observer (read-only), an agent of another inbox; nor empty files.
    let observer = actor(&store, &desk.observer).await;
    assert!(matches!(store.upload_attachment(&observer, a, "x.txt", "text/plain", b"x").await, Err(StoreError::Domain(_))));
    let agent_b = actor(&store, &desk.agent_b).await;
    assert!(matches!(store.upload_attachment(&agent_b, a, "x.txt", "text/plain", b"x").await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.upload_attachment(&agent, a, "x.txt", "text/plain", b"").await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));

    // Someone else's upload cannot be sent; a discarded one neither.
    let seen = store.get_ticket(&sup, a).await.expect("get").ticket.version;
    let theirs = proto::PostMessage { body_text: "Here".into(), seen_version: Some(seen), attachment_ids: vec![guide.id], ..Default::default() };
    assert!(matches!(store.post_message(&sup, a, MessageKind::Reply, theirs).await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));
    store.discard_upload(&agent, log.id).await.expect("discard");
    assert!(matches!(store.discard_upload(&agent, log.id).await, Err(StoreError::NotFound(_))));
    let seen = store.get_ticket(&agent, a).await.expect("get").ticket.version;
    let with_log = proto::PostMessage { body_text: "Here".into(), seen_version: Some(seen), attachment_ids: vec![guide.id, log.id], ..Default::default() };
    assert!(matches!(store.post_message(&agent, a, MessageKind::Reply, with_log).await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));
    assert_eq!(store.pending_uploads(&agent, a).await.expect("pending").len(), 1, "a refused reply takes nothing");

    // The reply takes the upload: the message has it, the outbox mails it, it is no longer pending.
    let reply = proto::PostMessage { body_text: "The guide is attached.".into(), seen_version: Some(seen), attachment_ids: vec![guide.id], ..Default::default() };
    let posted = store.post_message(&agent, a, MessageKind::Reply, reply).await.expect("reply");
    assert_eq!(posted.message.attachments.len(), 1);
    assert_eq!(posted.message.attachments[0].filename, "Guide.pdf");
    assert!(store.pending_uploads(&agent, a).await.expect("pending").is_empty());
    let jobs = store.claim_outbox(10).await.expect("claim");
    let job = jobs.iter().find(|j| j.body_text == "The guide is attached.").expect("the reply is queued");
    assert_eq!(job.attachments.iter().map(|(name, ct, _)| (name.as_str(), ct.as_str())).collect::<Vec<_>>(), [("Guide.pdf", "application/pdf")]);
    let (_, bytes) = store.attachment(&agent, posted.message.attachments[0].id).await.expect("download");
    assert_eq!(bytes, b"%PDF-1.4 guide");
    // Sent once: the same id cannot go out again.
    let seen = posted.ticket.version;
    let again = proto::PostMessage { body_text: "Again".into(), seen_version: Some(seen), attachment_ids: vec![guide.id], ..Default::default() };
    assert!(matches!(store.post_message(&agent, a, MessageKind::Note, again).await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));
    // An upload never sent is dropped by the timers a day later.
    let late = store.upload_attachment(&agent, a, "late.txt", "text/plain", b"late").await.expect("upload");
    assert_eq!(store.run_timers().await.expect("timers").uploads_dropped, 0);
    clock.advance(Duration::hours(25));
    assert_eq!(store.run_timers().await.expect("timers").uploads_dropped, 1);
    assert!(matches!(store.discard_upload(&agent, late.id).await, Err(StoreError::NotFound(_))));
}

async fn notes_notify_the_colleagues_they_mention(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let unread = |user: proto::User| {
        let store = store.clone();
        async move {
            let me = actor(&store, &user).await;
            store.notifications(&me, true, 50).await.expect("notifications").items
        }
    };
    // Agent B is not a member of inbox A (cannot open the ticket); the supervisor is the
    // author; the observer is not mentioned; an address is not a mention; "@nobody" is no one.
    let text = "@agent can you call back? cc @ADMIN@desk.test, @agent_b, @supervisor, @nobody; mail observer@desk.test";
    let seen = store.get_ticket(&sup, desk.ticket_a).await.expect("get").ticket.version;
    let note = proto::PostMessage { body_text: text.into(), seen_version: Some(seen), ..Default::default() };
    store.post_message(&sup, desk.ticket_a, MessageKind::Note, note).await.expect("note");
    for user in [desk.agent.clone(), desk.admin.clone()] {
        let got = unread(user.clone()).await;
        assert_eq!(got.len(), 1, "{}: {got:?}", user.email);
        assert_eq!(got[0].kind, proto::NotificationKind::Mention);
        assert_eq!(got[0].ticket_number, Some(desk.ticket_a));
        assert!(got[0].text.starts_with("supervisor mentioned you on #1001") && got[0].text.contains("can you call back?"), "{}", got[0].text);
    }
    for user in [desk.agent_b.clone(), desk.supervisor.clone(), desk.observer.clone()] {
        assert!(unread(user.clone()).await.is_empty(), "{} was not to be notified", user.email);
    }
    // The two are mailed as well.
    let mails = store.claim_notification_mail(10).await.expect("claim");
    let mut to: Vec<_> = mails.iter().map(|m| m.to_email.clone()).collect();
    to.sort();
    assert_eq!(to, ["admin@desk.test", "agent@desk.test"]);
    // A reply to the customer mentions no one.
    let agent = actor(&store, &desk.agent).await;
    let seen = store.get_ticket(&agent, desk.ticket_a).await.expect("get").ticket.version;
    let reply = proto::PostMessage { body_text: "Thanks, @observer will call".into(), seen_version: Some(seen), ..Default::default() };
    store.post_message(&agent, desk.ticket_a, MessageKind::Reply, reply).await.expect("reply");
    assert!(unread(desk.observer.clone()).await.is_empty());
}

async fn numbers_are_sequential_and_lists_are_scoped(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    assert_eq!((desk.ticket_a, desk.ticket_b), (1001, 1002));
    let sup = actor(&store, &desk.supervisor).await;
    let third = store.create_ticket(&sup, new_ticket(desk.inbox_a.id, "Third", "c@customer.test")).await.expect("create");
    assert_eq!(third.ticket.number, 1003);
    assert_eq!(third.ticket.status, TicketStatus::New);
    assert_eq!(third.messages.len(), 1);
    assert_eq!(third.messages[0].kind, MessageKind::Inbound);

    // Agent B sees only inbox B; the admin sees both; a foreign ticket is "not found".
    let agent_b = actor(&store, &desk.agent_b).await;
    let page = store.list_tickets(&agent_b, TicketFilter::default()).await.expect("list");
    assert_eq!(page.items.iter().map(|t| t.number).collect::<Vec<_>>(), [1002]);
    assert!(matches!(store.get_ticket(&agent_b, desk.ticket_a).await, Err(StoreError::NotFound("ticket"))));
    let admin = actor(&store, &desk.admin).await;
    assert_eq!(store.list_tickets(&admin, TicketFilter::default()).await.expect("list").items.len(), 3);
    // The observer cannot create.
    let observer = actor(&store, &desk.observer).await;
    let denied = store.create_ticket(&observer, new_ticket(desk.inbox_a.id, "Nope", "x@customer.test")).await;
    assert!(matches!(denied, Err(StoreError::Domain(tandem_domain::DomainError::Forbidden(_)))), "{denied:?}");
    // Filters: unassigned in inbox A, by contact.
    let unassigned = TicketFilter { inbox_id: Some(desk.inbox_a.id), assignee: AssigneeFilter::Nobody, ..Default::default() };
    assert_eq!(store.list_tickets(&admin, unassigned).await.expect("list").items.len(), 2);
    let by_contact = TicketFilter { contact_id: Some(third.ticket.contact.id), ..Default::default() };
    assert_eq!(store.list_tickets(&admin, by_contact).await.expect("list").items[0].number, 1003);
}

async fn send_guard_stops_stale_replies(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let agent = actor(&store, &desk.agent).await;
    let seen = store.get_ticket(&agent, desk.ticket_a).await.expect("get").ticket.version;
    // The supervisor adds a note while the agent is typing.
    let note = proto::PostMessage { body_text: "Customer is a VIP".into(), seen_version: Some(seen), ..Default::default() };
    store.post_message(&sup, desk.ticket_a, MessageKind::Note, note).await.expect("note");
    let reply = proto::PostMessage { body_text: "Try resetting your password".into(), seen_version: Some(seen), ..Default::default() };
    match store.post_message(&agent, desk.ticket_a, MessageKind::Reply, reply.clone()).await {
        Err(StoreError::Conflict { conflict, .. }) => {
            assert_eq!(conflict.unseen_messages.len(), 1);
            assert_eq!(conflict.unseen_messages[0].body_text, "Customer is a VIP");
            assert_eq!(conflict.current_version, seen + 1);
            // Having seen the note, the agent sends again and it goes through.
            let again = proto::PostMessage { seen_version: Some(conflict.current_version), ..reply };
            let posted = store.post_message(&agent, desk.ticket_a, MessageKind::Reply, again).await.expect("reply");
            assert_eq!(posted.message.delivery_state, Some(proto::DeliveryState::Queued));
            assert!(posted.message.message_id.as_deref().is_some_and(|id| id.ends_with("@desk.test") && !id.contains('<')));
            assert_eq!(posted.ticket.status, TicketStatus::Open);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A pure field change does not block a reply; a missing marker is refused.
    let detail = store.get_ticket(&agent, desk.ticket_a).await.expect("get");
    let bump = proto::UpdateTicket { version: detail.ticket.version, priority: Some(Priority::High), ..Default::default() };
    store.update_ticket(&sup, desk.ticket_a, bump).await.expect("update");
    let last = detail.messages.last().map(|m| m.id);
    let by_id = proto::PostMessage { body_text: "Follow-up".into(), last_seen_message_id: last, ..Default::default() };
    store.post_message(&agent, desk.ticket_a, MessageKind::Note, by_id).await.expect("not blocked by a field change");
    let unmarked = proto::PostMessage { body_text: "x".into(), ..Default::default() };
    assert!(matches!(store.post_message(&agent, desk.ticket_a, MessageKind::Reply, unmarked).await, Err(StoreError::Domain(_))));
}

async fn updates_need_the_current_version_and_record_events(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let agent = actor(&store, &desk.agent).await;
    let ticket = store.get_ticket(&sup, desk.ticket_a).await.expect("get").ticket;
    let update = proto::UpdateTicket {
        version: ticket.version,
        status: Some(TicketStatus::Pending),
        tags: Some(vec!["Billing".into(), "vip".into()]),
        team_id: Some(Some(desk.team.id)),
        assignee_id: Some(Some(desk.agent.id)),
        ..Default::default()
    };
    let updated = store.update_ticket(&sup, desk.ticket_a, update.clone()).await.expect("update");
    assert_eq!(updated.version, ticket.version + 1);
    assert_eq!(updated.tags, ["billing", "vip"]);
    assert_eq!(updated.assignee.as_ref().map(|a| a.id), Some(desk.agent.id));
    // The same stale version again: 409.
    assert!(matches!(store.update_ticket(&sup, desk.ticket_a, update).await, Err(StoreError::Conflict { .. })));
    // Agents cannot reassign someone else's ticket, nor assign an observer.
    let steal = proto::AssignTicket { assignee_id: Some(desk.supervisor.id), ..Default::default() };
    assert!(store.assign_ticket(&agent, desk.ticket_a, steal).await.is_err());
    let to_observer = proto::AssignTicket { assignee_id: Some(desk.observer.id), ..Default::default() };
    assert!(matches!(store.assign_ticket(&sup, desk.ticket_a, to_observer).await, Err(StoreError::Domain(_))));
    // Every field change is in the timeline with before and after.
    let detail = store.get_ticket(&sup, desk.ticket_a).await.expect("get");
    let status_event = detail.events.iter().find(|e| e.field.as_deref() == Some("status")).expect("status event");
    assert_eq!(status_event.before, serde_json::json!("new"));
    assert_eq!(status_event.after, serde_json::json!("pending"));
    assert_eq!(status_event.actor.id, Some(desk.supervisor.id));
    // The tag filter finds it.
    let tagged = TicketFilter { tag: Some("vip".into()), ..Default::default() };
    assert_eq!(store.list_tickets(&sup, tagged).await.expect("list").items.len(), 1);
    // Invalid transitions are refused: back to new.
    let back = proto::UpdateTicket { version: updated.version, status: Some(TicketStatus::New), ..Default::default() };
    assert!(matches!(store.update_ticket(&sup, desk.ticket_a, back).await, Err(StoreError::Domain(tandem_domain::DomainError::InvalidTransition { .. }))));
}

async fn lifecycle_timestamps_follow_replies_and_status(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let agent = actor(&store, &desk.agent).await;
    let created = store.get_ticket(&agent, desk.ticket_a).await.expect("get").ticket;
    clock.advance(Duration::minutes(30));
    let reply = proto::PostMessage {
        body_text: "Fixed".into(),
        seen_version: Some(created.version),
        set_status: Some(TicketStatus::Solved),
        ..Default::default()
    };
    let posted = store.post_message(&agent, desk.ticket_a, MessageKind::Reply, reply).await.expect("reply");
    let t = posted.ticket;
    assert_eq!(t.status, TicketStatus::Solved);
    assert_eq!(t.first_response_at.map(|at| at - created.created_at), Some(Duration::minutes(30)));
    assert_eq!(t.solved_at, t.first_response_at);
    // Closing is final.
    let admin = actor(&store, &desk.admin).await;
    let closed = store
        .update_ticket(&admin, desk.ticket_a, proto::UpdateTicket { version: t.version, status: Some(TicketStatus::Closed), ..Default::default() })
        .await
        .expect("close");
    assert!(closed.closed_at.is_some());
    let reopen = proto::UpdateTicket { version: closed.version, status: Some(TicketStatus::Open), ..Default::default() };
    assert!(store.update_ticket(&admin, desk.ticket_a, reopen).await.is_err());
}

async fn merge_moves_messages_and_points_to_the_survivor(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let dup = store.create_ticket(&sup, new_ticket(desk.inbox_a.id, "Still cannot log in", "anna@customer.test")).await.expect("dup");
    let survivor = store.merge_tickets(&sup, dup.ticket.number, desk.ticket_a).await.expect("merge");
    assert_eq!(survivor.number, desk.ticket_a);
    let merged = store.get_ticket(&sup, dup.ticket.number).await.expect("merged");
    assert_eq!(merged.ticket.merged_into, Some(desk.ticket_a));
    assert_eq!(merged.ticket.status, TicketStatus::Closed);
    assert!(merged.messages.iter().all(|m| m.kind == MessageKind::System));
    let detail = store.get_ticket(&sup, desk.ticket_a).await.expect("survivor");
    assert_eq!(detail.messages.iter().filter(|m| m.kind == MessageKind::Inbound).count(), 2);
    assert!(detail.events.iter().any(|e| e.kind == "ticket.absorbed"));
    // Merging again, into itself, or across inboxes the actor cannot see is refused.
    assert!(store.merge_tickets(&sup, dup.ticket.number, desk.ticket_a).await.is_err());
    assert!(store.merge_tickets(&sup, desk.ticket_a, desk.ticket_a).await.is_err());
    assert!(store.merge_tickets(&sup, desk.ticket_a, desk.ticket_b).await.is_err());
    // Replies to a merged ticket are refused with a pointer to the survivor.
    let reply = proto::PostMessage { body_text: "x".into(), seen_version: Some(merged.ticket.version), ..Default::default() };
    let err = store.post_message(&sup, dup.ticket.number, MessageKind::Note, reply).await.expect_err("merged");
    assert!(err.to_string().contains(&format!("#{}", desk.ticket_a)), "{err}");
}

async fn split_moves_a_message_into_a_new_ticket(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let other = store.create_ticket(&sup, new_ticket(desk.inbox_a.id, "Another question", "anna@customer.test")).await.expect("t");
    store.merge_tickets(&sup, other.ticket.number, desk.ticket_a).await.expect("merge");
    let detail = store.get_ticket(&sup, desk.ticket_a).await.expect("get");
    let second = detail.messages.iter().filter(|m| m.kind == MessageKind::Inbound).nth(1).expect("second inbound").id;
    let split = store
        .split_ticket(&sup, desk.ticket_a, proto::SplitTicket { message_id: second, subject: Some("Separate question".into()) })
        .await
        .expect("split");
    assert_eq!(split.subject, "Separate question");
    let new_detail = store.get_ticket(&sup, split.number).await.expect("new");
    assert_eq!(new_detail.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [second]);
    assert!(new_detail.events.iter().any(|e| e.kind == "ticket.created" && e.before["split_from"] == desk.ticket_a));
    // The only customer message of a ticket cannot be split off.
    let only = new_detail.messages[0].id;
    assert!(store.split_ticket(&sup, split.number, proto::SplitTicket { message_id: only, subject: None }).await.is_err());
}

async fn cursor_pagination_visits_every_ticket_once(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    for i in 0..23 {
        // Several tickets share a timestamp: the id breaks ties.
        if i % 3 == 0 {
            clock.advance(Duration::seconds(1));
        }
        store.create_ticket(&sup, new_ticket(desk.inbox_a.id, &format!("Question {i}"), "p@customer.test")).await.expect("t");
    }
    for sort in [proto::TicketSort::UpdatedDesc, proto::TicketSort::CreatedAsc, proto::TicketSort::NumberDesc] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let filter = TicketFilter { inbox_id: Some(desk.inbox_a.id), sort: Some(sort), cursor, limit: 5, ..Default::default() };
            let page = store.list_tickets(&sup, filter).await.expect("page");
            seen.extend(page.items.iter().map(|t| t.number));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 24, "{sort}: {seen:?}");
        assert_eq!(seen.len(), 24, "{sort}: duplicates in {seen:?}");
    }
    let bad = TicketFilter { cursor: Some("garbage".into()), ..Default::default() };
    assert!(matches!(store.list_tickets(&sup, bad).await, Err(StoreError::Domain(_))));
}

async fn bulk_changes_report_each_refusal(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let update = proto::BulkUpdate {
        numbers: vec![desk.ticket_a, desk.ticket_b, 9999],
        status: Some(TicketStatus::Open),
        add_tags: vec!["outage".into()],
        ..Default::default()
    };
    let outcome = store.bulk_update(&sup, update).await.expect("bulk");
    assert_eq!(outcome.succeeded, [desk.ticket_a]);
    let failed: Vec<_> = outcome.failed.iter().map(|(n, _)| *n).collect();
    assert_eq!(failed, [desk.ticket_b, 9999]);
    let reply = proto::BulkReply { numbers: vec![desk.ticket_a], body_text: "We are on it.".into(), ..Default::default() };
    let outcome = store.bulk_reply(&sup, reply).await.expect("bulk reply");
    assert_eq!(outcome.succeeded, [desk.ticket_a]);
    let tags = store.list_tags(&sup).await.expect("tags");
    assert_eq!(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["outage"]);
}

async fn html_is_sanitised_and_templates_render(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let sup = actor(&store, &desk.supervisor).await;
    let mut input = new_ticket(desk.inbox_a.id, "HTML", "h@customer.test");
    input.body_html = Some(r#"<p onmouseover="x()">Hi</p><script>steal()</script>"#.into());
    let detail = store.create_ticket(&sup, input).await.expect("create");
    assert_eq!(detail.messages[0].body_html.as_deref(), Some("<p>Hi</p>"));
    let preview = store
        .preview_template(&sup, proto::PreviewTemplate { template_id: Some(desk.template.id), ticket_number: Some(desk.ticket_a), ..Default::default() })
        .await
        .expect("preview");
    assert_eq!(preview.subject, "Re: Cannot log in");
    assert_eq!(preview.body, "Hello anna,\n\nsupervisor");
    let broken = proto::PreviewTemplate { body: Some("{% if %}".into()), ..Default::default() };
    assert!(matches!(store.preview_template(&sup, broken).await, Err(StoreError::Domain(_))));
    let agent = actor(&store, &desk.agent).await;
    let denied = store.create_template(Some(&agent), proto::CreateTemplate { name: "x".into(), subject: String::new(), body: "y".into() }).await;
    assert!(denied.is_err());
}

async fn sessions_and_tokens(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    assert!(matches!(store.login("agent@desk.test", "wrong password!").await, Err(StoreError::InvalidCredentials)));
    assert!(matches!(store.login("nobody@desk.test", tandem_store::testing::PASSWORD).await, Err(StoreError::InvalidCredentials)));
    let session = store.login(" Agent@Desk.test ", tandem_store::testing::PASSWORD).await.expect("login");
    assert_eq!(session.me.user.id, desk.agent.id);
    assert_eq!(session.me.inboxes.len(), 1);
    assert!(store.actor_for_session(&session.secret).await.expect("lookup").is_some());
    // Sessions expire.
    clock.advance(Duration::days(tandem_store::SESSION_TTL_DAYS) + Duration::seconds(1));
    assert!(store.actor_for_session(&session.secret).await.expect("lookup").is_none());
    let agent = actor(&store, &desk.agent).await;
    let token = store.create_api_token(&agent, proto::CreateApiToken { name: "CI".into(), expires_in_days: Some(1) }).await.expect("token");
    assert!(token.secret.starts_with(&token.token.prefix));
    assert_eq!(store.actor_for_api_token(&token.secret).await.expect("lookup").map(|a| a.user_id), Some(desk.agent.id));
    store.revoke_api_token(&agent, token.token.id).await.expect("revoke");
    assert!(store.actor_for_api_token(&token.secret).await.expect("lookup").is_none());
    // Disabling a user ends their sessions.
    let session = store.login("agent@desk.test", tandem_store::testing::PASSWORD).await.expect("login");
    let admin = actor(&store, &desk.admin).await;
    store.update_user(&admin, desk.agent.id, proto::UpdateUser { disabled: Some(true), ..Default::default() }).await.expect("disable");
    assert!(store.actor_for_session(&session.secret).await.expect("lookup").is_none());
    let _ = Arc::clone(store.clock());
}

async fn the_live_feed_reads_ticket_events_after_an_id(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let start = store.last_event_id().await.expect("last id");
    assert!(start > 0, "the desk wrote events");
    assert_eq!(store.ticket_events_after(start, 100).await.expect("read"), tandem_store::LiveEventPage::default());
    // An event of no ticket, then a ticket change, then a move to inbox B.
    store.create_team(None, proto::CreateTeam { name: "Night".into(), description: String::new() }).await.expect("team");
    let version = store.get_ticket(&admin, desk.ticket_a).await.expect("a").ticket.version;
    let update = proto::UpdateTicket { version, priority: Some(Priority::High), ..Default::default() };
    let moved = store.update_ticket(&admin, desk.ticket_a, update).await.expect("update");
    let update = proto::UpdateTicket { version: moved.version, inbox_id: Some(desk.inbox_b.id), ..Default::default() };
    store.update_ticket(&admin, desk.ticket_a, update).await.expect("move");
    let page = store.ticket_events_after(start, 100).await.expect("read");
    assert_eq!(page.ids.len(), 3, "{page:?}");
    assert!(page.ids.windows(2).all(|w| w[0] < w[1]));
    let events: Vec<_> = page.events.iter().map(|e| (e.number, e.inbox_id, e.previous_inbox_id, e.kind.as_str())).collect();
    assert_eq!(events, [
        (desk.ticket_a, desk.inbox_b.id, None, "ticket.updated"),
        (desk.ticket_a, desk.inbox_b.id, Some(desk.inbox_a.id), "ticket.updated"),
    ]);
    assert_eq!(page.events[1].event_id, store.last_event_id().await.expect("last id"));
    // The limit counts every event read, and reading on from an id continues there.
    let first = store.ticket_events_after(start, 1).await.expect("read");
    assert_eq!((first.ids.len(), first.events.len()), (1, 0), "the team event comes first");
    let rest = store.ticket_events_after(first.ids[0], 100).await.expect("read");
    assert_eq!(rest.events, page.events);
    // Visibility of one ticket, as the live channel checks it.
    let agent = actor(&store, &desk.agent).await;
    assert_eq!(store.visible_ticket_inbox(&admin, desk.ticket_a).await.expect("check"), Some(desk.inbox_b.id));
    assert_eq!(store.visible_ticket_inbox(&agent, desk.ticket_a).await.expect("check"), None, "moved out of the agent's inbox");
    assert_eq!(store.visible_ticket_inbox(&agent, 999_999).await.expect("check"), None);
}

async fn the_outbox_hands_out_due_mail_in_order_and_once(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    // Three replies a minute apart, on both tickets; the second carries two files.
    let mut replies = Vec::new();
    for (number, text, files) in [(desk.ticket_a, "First", &[][..]), (desk.ticket_b, "Second", &["a.txt", "b.txt"][..]), (desk.ticket_a, "Third", &[][..])] {
        let mut ids = Vec::new();
        for name in files {
            ids.push(store.upload_attachment(&admin, number, name, "text/plain", name.as_bytes()).await.expect("upload").id);
        }
        let seen = store.get_ticket(&admin, number).await.expect("get").ticket.version;
        let reply = proto::PostMessage { body_text: text.into(), seen_version: Some(seen), attachment_ids: ids, ..Default::default() };
        let posted = store.post_message(&admin, number, MessageKind::Reply, reply).await.expect("reply");
        replies.push((number, posted.message.id));
        clock.advance(Duration::minutes(1));
    }
    // The earliest due first, each with its own files, each handed out once.
    let first = store.claim_outbox(1).await.expect("claim");
    assert_eq!(first.iter().map(|j| j.body_text.as_str()).collect::<Vec<_>>(), ["First"]);
    let rest = store.claim_outbox(10).await.expect("claim");
    assert_eq!(rest.iter().map(|j| j.body_text.as_str()).collect::<Vec<_>>(), ["Second", "Third"]);
    assert_eq!(rest[0].attachments.iter().map(|(name, _, _)| name.as_str()).collect::<Vec<_>>(), ["a.txt", "b.txt"]);
    assert!(first[0].attachments.is_empty() && rest[1].attachments.is_empty());
    assert_eq!((rest[0].ticket_number, rest[0].message_row_id), replies[1]);
    assert!(store.claim_outbox(10).await.expect("claim again").is_empty());
    let state = |number: i64, message: i64| {
        let store = store.clone();
        let admin = admin.clone();
        async move {
            let detail = store.get_ticket(&admin, number).await.expect("get");
            let message = detail.messages.iter().find(|m| m.id == message).expect("message").clone();
            (message.delivery_state, message.delivery_error, detail.events)
        }
    };
    assert_eq!(state(replies[1].0, replies[1].1).await.0, Some(proto::DeliveryState::Sending));

    // Sent: the message says so, and its own ticket records it.
    store.finish_outbox(&rest[0], tandem_store::mail::OutboxResult::Sent, 30).await.expect("finish");
    let (delivery, _, events) = state(replies[1].0, replies[1].1).await;
    assert_eq!(delivery, Some(proto::DeliveryState::Sent));
    assert!(events.iter().any(|e| e.kind == "message.sent" && e.after["message_id"] == replies[1].1), "{events:?}");
    // A temporary failure is queued again, due after the backoff, with the attempt counted.
    store.finish_outbox(&first[0], tandem_store::mail::OutboxResult::Retry("451 try later".into()), 30).await.expect("finish");
    assert_eq!(state(replies[0].0, replies[0].1).await.0, Some(proto::DeliveryState::Queued));
    assert!(store.claim_outbox(10).await.expect("not yet due").is_empty());
    clock.advance(Duration::minutes(2));
    let retried = store.claim_outbox(10).await.expect("claim the retry");
    assert_eq!((retried.len(), retried[0].attempts, retried[0].message_row_id), (1, 1, replies[0].1));
    // A permanent failure is final and visible.
    store.finish_outbox(&rest[1], tandem_store::mail::OutboxResult::Failed("550 no such user".into()), 30).await.expect("finish");
    let (delivery, error, events) = state(replies[2].0, replies[2].1).await;
    assert_eq!((delivery, error.as_deref()), (Some(proto::DeliveryState::Failed), Some("550 no such user")));
    assert!(events.iter().any(|e| e.kind == "message.delivery_failed"), "{events:?}");
}
