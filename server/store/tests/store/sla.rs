//! SLA, reminders, snooze and auto-solve, on SQLite and PostgreSQL, with a clock the tests
//! move: due times in business hours, the pause while pending, warnings and breaches raised
//! once each with their escalations, the breached and at-risk views, and the other timers.

use chrono::{Duration, TimeZone, Utc};
use tandem_domain::Clock;
use tandem_proto::{self as proto, MessageKind, NotificationKind, Priority, SlaState, SlaView, TicketStatus};
use tandem_store::{
    StoreError, TicketFilter, backend_tests,
    testing::{Backend, actor, clock, desk, fresh_database, new_ticket, open_store},
};

backend_tests! {
    business_hours_due_times_pause_and_resume,
    warnings_and_breaches_are_raised_once_and_escalate,
    snoozes_reminders_and_auto_solve_follow_the_clock,
}

fn office_hours() -> proto::SaveCalendar {
    proto::SaveCalendar {
        name: "Warsaw office".into(),
        time_zone: "Europe/Warsaw".into(),
        hours: tandem_domain::sla::calendar::weekdays("09:00", "17:00"),
        holidays: vec![chrono::NaiveDate::from_ymd_opt(2026, 3, 4).expect("date")],
    }
}

fn policy(name: &str) -> proto::SaveSlaPolicy {
    proto::SaveSlaPolicy {
        name: name.into(),
        position: 0,
        enabled: true,
        inbox_id: None,
        priority: None,
        tag: None,
        company: None,
        first_response_minutes: Some(240),
        next_response_minutes: Some(120),
        resolution_minutes: Some(24 * 60),
        calendar_id: None,
        warn_before_minutes: 30,
        escalation: proto::SlaEscalation::default(),
    }
}

fn utc(d: u32, h: u32, m: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).single().expect("valid")
}

async fn business_hours_due_times_pause_and_resume(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock(); // Monday 2 March 2026, 09:00 UTC = 10:00 in Warsaw.
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let agent = actor(&store, &desk.agent).await;

    // Agents read policies but may not write them.
    let denied = store.save_calendar(&agent, None, office_hours()).await;
    assert!(matches!(denied, Err(StoreError::Domain(tandem_domain::DomainError::Forbidden(_)))), "{denied:?}");
    let bad = proto::SaveCalendar { time_zone: "Mars/Olympus".into(), ..office_hours() };
    assert!(matches!(store.save_calendar(&admin, None, bad).await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));
    let calendar = store.save_calendar(&admin, None, office_hours()).await.expect("calendar");

    // Existing open tickets come under a new policy at once (the desk's ticket A was created at 09:00 UTC).
    let high = proto::SaveSlaPolicy { priority: Some(Priority::High), first_response_minutes: Some(60), position: 0, calendar_id: Some(calendar.id), ..policy("High") };
    let general = proto::SaveSlaPolicy { position: 1, calendar_id: Some(calendar.id), ..policy("General") };
    store.save_sla_policy(&admin, None, high).await.expect("high policy");
    let general = store.save_sla_policy(&admin, None, general).await.expect("general policy");
    assert_eq!(store.list_sla_policies(&agent).await.expect("agents read policies").len(), 2);
    let ticket = store.get_ticket(&agent, desk.ticket_a).await.expect("ticket").ticket;
    let sla = ticket.sla.expect("under the general policy");
    assert_eq!(sla.policy_id, general.id);
    assert_eq!(sla.state, SlaState::OnTrack);
    // 4 working hours from Monday 10:00 Warsaw time: 14:00 Warsaw = 13:00 UTC.
    assert_eq!(sla.first_response_due_at, Some(utc(2, 13, 0)));
    // 24 working hours (3 days of 8): Monday 7 h, Tuesday 8 h, Wednesday is a holiday,
    // Thursday 8 h, Friday 1 h → Friday 10:00 Warsaw = 09:00 UTC.
    assert_eq!(sla.resolution_due_at, Some(utc(6, 9, 0)));

    // Raising the priority brings the stricter policy: one working hour.
    let version = ticket.version;
    let raised = store
        .update_ticket(&agent, desk.ticket_a, proto::UpdateTicket { priority: Some(Priority::High), version, ..Default::default() })
        .await
        .expect("priority");
    assert_eq!(raised.sla.as_ref().map(|s| s.policy_name.as_str()), Some("High"));
    assert_eq!(raised.sla.as_ref().and_then(|s| s.first_response_due_at), Some(utc(2, 10, 0)));

    // Two hours later the agent replies and sets the ticket pending: first response met,
    // the resolution clock pauses.
    clock.advance(Duration::hours(2));
    let reply = proto::PostMessage { body_text: "Which browser?".into(), seen_version: Some(raised.version), set_status: Some(TicketStatus::Pending), ..Default::default() };
    let posted = store.post_message(&agent, desk.ticket_a, MessageKind::Reply, reply).await.expect("reply");
    let sla = posted.ticket.sla.expect("sla");
    assert_eq!((sla.state, sla.first_response_due_at, sla.resolution_due_at), (SlaState::Paused, None, None));

    // The customer answers the next day at 10:00 UTC (11:00 Warsaw): open again, a next response
    // is owed within 2 working hours, and the resolution clock resumes with 2 h used.
    clock.set(utc(3, 10, 0));
    store.add_customer_message(desk.ticket_a, "Firefox 140").await.expect("customer message");
    let sla = store.get_ticket(&agent, desk.ticket_a).await.expect("ticket").ticket.sla.expect("sla");
    assert_eq!(sla.next_response_due_at, Some(utc(3, 12, 0)));
    // 22 working hours left from Tuesday 11:00 Warsaw: Tuesday 6 h, Thursday 8 h, Friday 8 h → Friday 17:00 Warsaw.
    assert_eq!(sla.resolution_due_at, Some(utc(6, 16, 0)));

    // Deleting the policies leaves the ticket without SLA.
    for p in store.list_sla_policies(&admin).await.expect("policies") {
        store.delete_sla_policy(&admin, p.id).await.expect("delete");
    }
    assert_eq!(store.get_ticket(&agent, desk.ticket_a).await.expect("ticket").ticket.sla, None);
    store.delete_calendar(&admin, calendar.id).await.expect("unused calendar deleted");
}

async fn warnings_and_breaches_are_raised_once_and_escalate(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let agent = actor(&store, &desk.agent).await;
    let supervisor = actor(&store, &desk.supervisor).await;
    let escalation = proto::SlaEscalation { notify: true, raise_priority: true, team_id: Some(desk.team.id) };
    let strict = proto::SaveSlaPolicy { inbox_id: Some(desk.inbox_a.id), first_response_minutes: Some(60), escalation, ..policy("Support 1h") };
    store.save_sla_policy(&admin, None, strict).await.expect("policy");
    let number = store.create_ticket(&agent, new_ticket(desk.inbox_a.id, "Invoice missing", "iris@customer.test")).await.expect("ticket").ticket.number;
    let version = store.get_ticket(&agent, number).await.expect("ticket").ticket.version;
    store.assign_ticket(&agent, number, proto::AssignTicket { assignee_id: Some(agent.user_id), team_id: None, version: Some(version) }).await.expect("take");
    // Ticket B's inbox has no policy.
    assert_eq!(store.get_ticket(&admin, desk.ticket_b).await.expect("b").ticket.sla, None);

    let breached = TicketFilter { sla: Some(SlaView::Breached), limit: 50, ..Default::default() };
    let at_risk = TicketFilter { sla: Some(SlaView::AtRisk), limit: 50, ..Default::default() };
    let numbers = async |filter: &TicketFilter| -> Vec<i64> {
        let mut n: Vec<i64> = store.list_tickets(&admin, filter.clone()).await.expect("list").items.iter().map(|t| t.number).collect();
        n.sort();
        n
    };
    assert_eq!(store.run_timers().await.expect("timers").sla_warnings, 0);
    assert_eq!(numbers(&at_risk).await, Vec::<i64>::new());

    // 30 minutes before the due time: a warning for each of the two tickets of inbox A.
    clock.advance(Duration::minutes(31));
    let report = store.run_timers().await.expect("timers");
    assert_eq!((report.sla_warnings, report.sla_breaches), (2, 0));
    assert_eq!(numbers(&at_risk).await, vec![desk.ticket_a, number]);
    assert_eq!(store.run_timers().await.expect("again").sla_warnings, 0, "a warning is raised once");
    let mine = store.notifications(&agent, true, 50).await.expect("notifications");
    assert_eq!(mine.unread, 1, "the assignee hears about their ticket only: {mine:?}");
    assert_eq!(mine.items[0].kind, NotificationKind::SlaWarning);
    assert_eq!(mine.items[0].ticket_number, Some(number));
    assert_eq!(store.notifications(&supervisor, true, 50).await.expect("supervisor").unread, 2, "supervisors of the inbox hear about both");

    // At the due time: breaches, priority raised one step, the team takes over.
    clock.advance(Duration::minutes(30));
    let report = store.run_timers().await.expect("timers");
    assert_eq!((report.sla_warnings, report.sla_breaches), (0, 2));
    assert_eq!(store.run_timers().await.expect("again").sla_breaches, 0, "a breach is raised once");
    let detail = store.get_ticket(&agent, number).await.expect("ticket");
    assert_eq!(detail.ticket.priority, Priority::High);
    assert_eq!(detail.ticket.team_id, Some(desk.team.id));
    assert_eq!(detail.ticket.sla.as_ref().map(|s| s.state), Some(SlaState::Breached));
    let kinds: Vec<&str> = detail.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"sla.warning") && kinds.contains(&"sla.breached"), "{kinds:?}");
    assert_eq!(numbers(&breached).await, vec![desk.ticket_a, number]);
    assert_eq!(numbers(&at_risk).await, Vec::<i64>::new());
    let mine = store.notifications(&agent, false, 50).await.expect("notifications");
    assert_eq!(mine.items.iter().map(|n| n.kind).collect::<Vec<_>>(), vec![NotificationKind::SlaBreach, NotificationKind::SlaWarning]);
    store.mark_notifications_read(&agent, Some(mine.items[0].id)).await.expect("read one");
    assert_eq!(store.notifications(&agent, false, 50).await.expect("n").unread, 1);
    assert!(matches!(store.mark_notifications_read(&supervisor, Some(mine.items[1].id)).await, Err(StoreError::NotFound(_))), "not someone else's");
    store.mark_notifications_read(&agent, None).await.expect("read all");
    assert_eq!(store.notifications(&agent, true, 50).await.expect("n").unread, 0);

    // Answering ends the breach: nothing is due, the ticket leaves the view.
    let version = store.get_ticket(&agent, number).await.expect("ticket").ticket.version;
    let reply = proto::PostMessage { body_text: "Here it is.".into(), seen_version: Some(version), set_status: Some(TicketStatus::Solved), ..Default::default() };
    store.post_message(&agent, number, MessageKind::Reply, reply).await.expect("reply");
    assert_eq!(numbers(&breached).await, vec![desk.ticket_a]);
}

async fn snoozes_reminders_and_auto_solve_follow_the_clock(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let agent = actor(&store, &desk.agent).await;
    let agent_b = actor(&store, &desk.agent_b).await;

    // Snooze a pending ticket for a day: it comes back open when the day has passed.
    let ticket = store.get_ticket(&agent, desk.ticket_a).await.expect("ticket").ticket;
    let until = clock.now() + Duration::days(1);
    let snoozed = store
        .update_ticket(&agent, desk.ticket_a, proto::UpdateTicket { status: Some(TicketStatus::Pending), snoozed_until: Some(Some(until)), version: ticket.version, ..Default::default() })
        .await
        .expect("snooze");
    assert_eq!(snoozed.snoozed_until, Some(until));

    // Reminders: in the future only, on tickets one can see, fired once as a notification.
    let past = proto::CreateReminder { remind_at: clock.now() - Duration::minutes(1), note: None };
    assert!(matches!(store.create_reminder(&agent, desk.ticket_a, past).await, Err(StoreError::Domain(_))));
    let other_inbox = proto::CreateReminder { remind_at: until, note: None };
    assert!(matches!(store.create_reminder(&agent_b, desk.ticket_a, other_inbox).await, Err(StoreError::NotFound(_))));
    let reminder = store
        .create_reminder(&agent, desk.ticket_a, proto::CreateReminder { remind_at: clock.now() + Duration::hours(3), note: Some("Call Anna back".into()) })
        .await
        .expect("reminder");
    assert_eq!(store.reminders(&agent, None).await.expect("mine").len(), 1);
    assert!(matches!(store.delete_reminder(&agent_b, reminder.id).await, Err(StoreError::NotFound(_))));

    clock.advance(Duration::hours(3));
    let report = store.run_timers().await.expect("timers");
    assert_eq!((report.reminders_fired, report.snoozes_ended), (1, 0));
    assert_eq!(store.run_timers().await.expect("again").reminders_fired, 0);
    let notes = store.notifications(&agent, true, 10).await.expect("notifications");
    assert_eq!(notes.items[0].kind, NotificationKind::Reminder);
    assert!(notes.items[0].text.contains("Call Anna back"), "{:?}", notes.items[0]);
    assert_eq!(store.reminders(&agent, None).await.expect("pending").len(), 0);
    assert!(store.reminders(&agent, Some(desk.ticket_a)).await.expect("on the ticket")[0].fired_at.is_some());

    clock.advance(Duration::hours(21));
    assert_eq!(store.run_timers().await.expect("timers").snoozes_ended, 1);
    let back = store.get_ticket(&agent, desk.ticket_a).await.expect("ticket").ticket;
    assert_eq!((back.status, back.snoozed_until), (TicketStatus::Open, None));

    // Auto-solve: inbox A solves pending tickets after 3 quiet days, with a notice to the customer.
    let settings = proto::UpdateMailSettings { auto_solve_after_days: Some(Some(3)), ..Default::default() };
    assert_eq!(store.update_mail_settings(&admin, desk.inbox_a.id, settings).await.expect("settings").auto_solve_after_days, Some(3));
    let bad = proto::UpdateMailSettings { auto_solve_after_days: Some(Some(0)), ..Default::default() };
    assert!(store.update_mail_settings(&admin, desk.inbox_a.id, bad).await.is_err());
    let quiet = store.create_ticket(&agent, new_ticket(desk.inbox_a.id, "Password reset", "paul@customer.test")).await.expect("t").ticket.number;
    let answered = store.create_ticket(&agent, new_ticket(desk.inbox_a.id, "Export", "olga@customer.test")).await.expect("t").ticket.number;
    for n in [quiet, answered] {
        let v = store.get_ticket(&agent, n).await.expect("t").ticket.version;
        let ask = proto::PostMessage { body_text: "Did that help?".into(), seen_version: Some(v), set_status: Some(TicketStatus::Pending), ..Default::default() };
        store.post_message(&agent, n, MessageKind::Reply, ask).await.expect("ask");
    }
    clock.advance(Duration::days(2));
    store.add_customer_message(answered, "Not yet, still broken").await.expect("customer answers");
    let v = store.get_ticket(&agent, answered).await.expect("t").ticket.version;
    let ask = proto::PostMessage { body_text: "Try again now?".into(), seen_version: Some(v), set_status: Some(TicketStatus::Pending), ..Default::default() };
    store.post_message(&agent, answered, MessageKind::Reply, ask).await.expect("ask again");
    clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(store.run_timers().await.expect("timers").auto_solved, 1);
    let solved = store.get_ticket(&agent, quiet).await.expect("t");
    assert_eq!(solved.ticket.status, TicketStatus::Solved);
    let notice = solved.messages.last().expect("a notice");
    assert_eq!(notice.kind, MessageKind::AutoReply);
    assert!(notice.body_text.contains("3 days"), "{}", notice.body_text);
    assert!(solved.events.iter().any(|e| e.kind == "ticket.auto_solved"));
    assert_eq!(store.get_ticket(&agent, answered).await.expect("t").ticket.status, TicketStatus::Pending, "its quiet period restarted");
    clock.advance(Duration::days(2));
    assert_eq!(store.run_timers().await.expect("timers").auto_solved, 1);
}
