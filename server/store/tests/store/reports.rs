//! Reports on SQLite and PostgreSQL: volume, backlog, response and resolution times (in
//! business hours where the SLA policy has a calendar), SLA compliance, replies per ticket,
//! satisfaction, breakdowns, the CSV export, who may read them and bad filters.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use tandem_domain::Clock;
use tandem_proto::{self as proto, CsatRating, MessageKind, ReportDimension, ReportInterval, ReportQuery, TicketStatus};
use tandem_store::{
    StoreError, backend_tests,
    testing::{Backend, actor, clock, desk, fresh_database, new_ticket, open_store},
};

use crate::csat::token_in;

backend_tests! {
    the_dashboard_counts_what_happened,
    pre_aggregates_agree_with_the_tickets,
    the_backlog_keeps_its_history,
    next_responses_are_measured,
}

/// Three weeks of varied work (two inboxes, tags added and removed, reassignments, solves
/// and reopenings, spam, breaches), then every kind of report query answered from the
/// pre-aggregates must equal the same query answered from the tickets' own figures.
async fn pre_aggregates_agree_with_the_tickets(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let supervisor = actor(&store, &desk.supervisor).await;
    let agent = actor(&store, &desk.agent).await;
    let policy = proto::SaveSlaPolicy {
        name: "All".into(),
        position: 0,
        enabled: true,
        inbox_id: None,
        priority: None,
        tag: None,
        company: None,
        first_response_minutes: Some(120),
        next_response_minutes: Some(90),
        resolution_minutes: Some(24 * 60),
        calendar_id: None,
        warn_before_minutes: 0,
        escalation: proto::SlaEscalation::default(),
    };
    store.save_sla_policy(&admin, None, policy).await.expect("policy");
    let mut seed: u64 = 7;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let tags = ["billing", "vip", "bug"];
    let mut numbers = Vec::new();
    for i in 0..36u64 {
        clock.advance(Duration::minutes(60 + next(600) as i64));
        let inbox = if next(3) == 0 { desk.inbox_b.id } else { desk.inbox_a.id };
        let mut input = new_ticket(inbox, &format!("Case {i}"), &format!("c{}@customer.test", next(9)));
        input.tags = (0..next(3)).map(|k| tags[((i + k) % 3) as usize].to_owned()).collect();
        let number = store.create_ticket(&admin, input).await.expect("ticket").ticket.number;
        numbers.push(number);
        if next(4) > 0 {
            let team = (next(2) == 0).then_some(desk.team.id);
            let input = proto::AssignTicket { assignee_id: Some(desk.admin.id), team_id: Some(team), version: None };
            store.assign_ticket(&admin, number, input).await.expect("assign");
        }
        clock.advance(Duration::minutes(next(300) as i64));
        if next(5) > 0 {
            let version = store.get_ticket(&admin, number).await.expect("t").ticket.version;
            let status = match next(3) { 0 => Some(TicketStatus::Solved), 1 => Some(TicketStatus::Pending), _ => None };
            let input = proto::PostMessage { body_text: "Answer".into(), seen_version: Some(version), set_status: status, ..Default::default() };
            store.post_message(&admin, number, MessageKind::Reply, input).await.expect("reply");
        }
        // Now and then: an older ticket is retagged, reopened by its customer, solved, or spam.
        let old = numbers[next(numbers.len() as u64) as usize];
        let t = store.get_ticket(&admin, old).await.expect("old").ticket;
        let change = match next(5) {
            0 => proto::UpdateTicket { tags: Some(vec![tags[next(3) as usize].to_owned()]), version: t.version, ..Default::default() },
            1 if t.status != TicketStatus::Closed && t.status != TicketStatus::Spam => {
                store.add_customer_message(old, "Still broken").await.expect("customer");
                if next(2) == 0 {
                    // Answered, in time or late (next response within 90 minutes), and solved.
                    clock.advance(Duration::minutes(next(180) as i64));
                    let version = store.get_ticket(&admin, old).await.expect("t").ticket.version;
                    let input = proto::PostMessage { body_text: "Again".into(), seen_version: Some(version), set_status: Some(TicketStatus::Solved), ..Default::default() };
                    store.post_message(&admin, old, MessageKind::Reply, input).await.expect("reply");
                }
                continue;
            }
            2 if t.status != TicketStatus::Closed => proto::UpdateTicket { status: Some(TicketStatus::Solved), version: t.version, ..Default::default() },
            3 if i % 7 == 0 && t.status != TicketStatus::Closed => proto::UpdateTicket { status: Some(TicketStatus::Spam), version: t.version, ..Default::default() },
            _ => continue,
        };
        store.update_ticket(&admin, old, change).await.expect("change");
        if i % 9 == 0 {
            store.run_timers().await.expect("timers");
        }
    }
    store.run_timers().await.expect("timers");
    let start = tandem_store::testing::clock().now().date_naive();
    let today = clock.now().date_naive();
    let mut queries = Vec::new();
    for (from, to) in [(start, today), (start + Duration::days(2), today - Duration::days(3)), (start + Duration::days(5), start + Duration::days(5)), (start - Duration::days(10), today + Duration::days(9)), (start - Duration::days(29), today + Duration::days(40))] {
        let base = ReportQuery { from: Some(from), to: Some(to), ..Default::default() };
        queries.push(base.clone());
        queries.push(ReportQuery { interval: Some(ReportInterval::Week), ..base.clone() });
        queries.push(ReportQuery { inbox: Some(desk.inbox_a.id), ..base.clone() });
        queries.push(ReportQuery { team: Some(desk.team.id), ..base.clone() });
        queries.push(ReportQuery { agent: Some(desk.admin.id), channel: Some("api".into()), ..base.clone() });
        queries.push(ReportQuery { tag: Some("vip".into()), ..base.clone() });
        queries.push(ReportQuery { tag: Some("billing".into()), inbox: Some(desk.inbox_a.id), ..base.clone() });
        queries.push(ReportQuery { tag: Some("bug".into()), team: Some(desk.team.id), ..base.clone() });
    }
    for q in &queries {
        for who in [&admin, &supervisor] {
            let aggregated = store.report_dashboard(who, q).await.expect("dashboard");
            let direct = store.report_dashboard_unaggregated(who, q).await.expect("dashboard");
            assert_eq!(aggregated, direct, "dashboard {q:?}");
            for by in [ReportDimension::Agent, ReportDimension::Team, ReportDimension::Inbox, ReportDimension::Tag, ReportDimension::Channel] {
                let q = ReportQuery { by: Some(by), ..q.clone() };
                let aggregated = store.report_breakdown(who, &q).await.expect("breakdown");
                let direct = store.report_breakdown_unaggregated(who, &q).await.expect("breakdown");
                assert_eq!(aggregated, direct, "breakdown {q:?}");
            }
        }
    }
    // Recomputed from scratch (an upgrade of the figures' definition), the pre-aggregates
    // still agree with the tickets' own figures and the spells rebuilt from them.
    store.rebuild_ticket_metrics().await.expect("rebuild");
    for q in &queries[..8] {
        let aggregated = store.report_dashboard(&admin, q).await.expect("dashboard");
        assert_eq!(aggregated, store.report_dashboard_unaggregated(&admin, q).await.expect("dashboard"), "rebuilt: dashboard {q:?}");
        let q = ReportQuery { by: Some(ReportDimension::Agent), ..q.clone() };
        let aggregated = store.report_breakdown(&admin, &q).await.expect("breakdown");
        assert_eq!(aggregated, store.report_breakdown_unaggregated(&admin, &q).await.expect("breakdown"), "rebuilt: breakdown {q:?}");
    }
    let everything = store.report_dashboard(&admin, &queries[0]).await.expect("dashboard");
    assert!(everything.created > 30 && everything.solved > 5 && everything.sla_first_response.breached > 0, "{everything:?}");
    assert!(everything.sla_next_response.met + everything.sla_next_response.breached > 0, "{everything:?}");
    assert!(store.report_dashboard(&agent, &queries[0]).await.is_err());
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).expect("date")
}

async fn the_dashboard_counts_what_happened(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock(); // Monday 2 March 2026, 09:00 UTC; the desk's tickets A and B exist.
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let agent = actor(&store, &desk.agent).await;
    let supervisor = actor(&store, &desk.supervisor).await;
    let policy = |name: &str, inbox: i64, calendar: Option<i64>| proto::SaveSlaPolicy {
        name: name.into(),
        position: 0,
        enabled: true,
        inbox_id: Some(inbox),
        priority: None,
        tag: None,
        company: None,
        first_response_minutes: Some(60),
        next_response_minutes: None,
        resolution_minutes: Some(8 * 60),
        calendar_id: calendar,
        warn_before_minutes: 0,
        escalation: proto::SlaEscalation::default(),
    };
    store.save_sla_policy(&admin, None, policy("Support", desk.inbox_a.id, None)).await.expect("policy a");
    let office = proto::SaveCalendar {
        name: "Office".into(),
        time_zone: "UTC".into(),
        hours: tandem_domain::sla::calendar::weekdays("09:00", "17:00"),
        holidays: vec![],
    };
    let office = store.save_calendar(&admin, None, office).await.expect("calendar");
    store.save_sla_policy(&admin, None, policy("Sales", desk.inbox_b.id, Some(office.id))).await.expect("policy b");
    let settings = proto::UpdateMailSettings { csat_enabled: Some(true), ..Default::default() };
    store.update_mail_settings(&admin, desk.inbox_a.id, settings).await.expect("csat on");

    let take = async |number: i64| {
        let input = proto::AssignTicket { assignee_id: Some(agent.user_id), team_id: None, version: None };
        store.assign_ticket(&agent, number, input).await.expect("take");
    };
    let reply = async |number: i64, text: &str, status: Option<TicketStatus>| {
        let version = store.get_ticket(&agent, number).await.expect("ticket").ticket.version;
        let input = proto::PostMessage { body_text: text.into(), seen_version: Some(version), set_status: status, ..Default::default() };
        store.post_message(&agent, number, MessageKind::Reply, input).await.expect("reply").message.body_text
    };
    // Ticket 1: answered in 30 minutes, solved after 2 hours (both in time), rated good.
    let t1 = store.create_ticket(&agent, new_ticket(desk.inbox_a.id, "Login", "a@customer.test")).await.expect("t1").ticket.number;
    take(t1).await;
    clock.advance(Duration::minutes(30));
    reply(t1, "Try this", Some(TicketStatus::Pending)).await;
    clock.advance(Duration::minutes(90));
    let solved = reply(t1, "Fixed", Some(TicketStatus::Solved)).await;
    store.rate_ticket(&token_in(&solved), proto::RateTicket { rating: Some(CsatRating::Good), score: None, comment: None }).await.expect("rated");
    // Ticket 2 (created at 11:00): answered after 90 minutes (late), solved the next day (late), rated bad.
    let t2 = store.create_ticket(&agent, new_ticket(desk.inbox_a.id, "Invoice", "b@customer.test")).await.expect("t2").ticket.number;
    take(t2).await;
    clock.advance(Duration::minutes(90));
    reply(t2, "Looking", None).await;
    clock.set(Utc.with_ymd_and_hms(2026, 3, 3, 11, 0, 0).single().expect("time"));
    let solved = reply(t2, "Done", Some(TicketStatus::Solved)).await;
    store.rate_ticket(&token_in(&solved), proto::RateTicket { rating: Some(CsatRating::Bad), score: None, comment: None }).await.expect("rated");
    // Ticket 3 (the next day): still open. Ticket 4 (inbox B, business hours 09–17 UTC on weekdays): written
    // on Saturday, answered on Monday at 10:00: one working hour.
    store.create_ticket(&agent, new_ticket(desk.inbox_a.id, "Export", "c@customer.test")).await.expect("t3");
    clock.set(Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).single().expect("time"));
    let t4 = store.create_ticket(&admin, new_ticket(desk.inbox_b.id, "Quote", "d@buyer.test")).await.expect("t4").ticket.number;
    clock.set(Utc.with_ymd_and_hms(2026, 3, 9, 10, 0, 0).single().expect("time"));
    let version = store.get_ticket(&admin, t4).await.expect("t4").ticket.version;
    let input = proto::PostMessage { body_text: "Here".into(), seen_version: Some(version), ..Default::default() };
    store.post_message(&admin, t4, MessageKind::Reply, input).await.expect("reply t4");

    let period = ReportQuery { from: Some(date(1)), to: Some(date(9)), ..Default::default() };
    let d = store.report_dashboard(&admin, &period).await.expect("dashboard");
    // Created: the desk's A and B, tickets 1–4. Solved: 1 and 2. Open at the end: 4.
    assert_eq!((d.created, d.solved, d.backlog), (6, 2, 4), "{d:?}");
    assert_eq!(d.series.len(), 9);
    assert_eq!(d.series[1], proto::SeriesPoint { period: date(2), created: 4, solved: 1, backlog: 3 });
    assert_eq!(d.series[2], proto::SeriesPoint { period: date(3), created: 1, solved: 1, backlog: 3 });
    // First responses: 30 min, 90 min, 1 working hour; the average is exact, the median and
    // the 90th percentile are within 5 %.
    assert_eq!(d.first_response.count, 3);
    assert_eq!(d.first_response.average_secs, Some((1800 + 5400 + 3600) / 3));
    let near = |value: Option<i64>, expected: i64| value.is_some_and(|v| (v - expected).abs() * 20 <= expected);
    assert!(near(d.first_response.median_secs, 3600), "{:?}", d.first_response);
    assert!(near(d.first_response.p90_secs, 5400), "{:?}", d.first_response);
    assert_eq!(d.resolution.count, 2);
    assert_eq!(d.resolution.average_secs, Some((2 * 3600 + 24 * 3600) / 2));
    assert_eq!((d.sla_first_response.met, d.sla_first_response.breached, d.sla_first_response.percent), (2, 1, Some(66.7)));
    assert_eq!((d.sla_resolution.met, d.sla_resolution.breached), (1, 1));
    assert_eq!(d.replies_per_ticket, Some(2.0));
    assert_eq!((d.csat.good, d.csat.bad, d.csat.percent), (1, 1, Some(50.0)));

    // A breach raised by the scheduler counts before the ticket is answered: the desk's
    // tickets A and B and ticket 3 were never answered.
    store.run_timers().await.expect("timers");
    let d = store.report_dashboard(&admin, &period).await.expect("dashboard");
    assert_eq!((d.sla_first_response.met, d.sla_first_response.breached), (2, 4), "{:?}", d.sla_first_response);

    // Weeks start on Monday; filters narrow; the supervisor sees inbox A only; agents see nothing.
    let weekly = store.report_dashboard(&admin, &ReportQuery { interval: Some(ReportInterval::Week), ..period.clone() }).await.expect("weekly");
    assert_eq!(weekly.series.iter().map(|p| p.period).collect::<Vec<_>>(), vec![NaiveDate::from_ymd_opt(2026, 2, 23).expect("d"), date(2), date(9)]);
    let inbox_b = store.report_dashboard(&admin, &ReportQuery { inbox: Some(desk.inbox_b.id), ..period.clone() }).await.expect("inbox b");
    assert_eq!((inbox_b.created, inbox_b.first_response.average_secs), (2, Some(3600)));
    assert_eq!(store.report_dashboard(&supervisor, &period).await.expect("supervisor").created, 4);
    assert!(matches!(store.report_dashboard(&agent, &period).await, Err(StoreError::Domain(tandem_domain::DomainError::Forbidden(_)))));
    let bad = ReportQuery { from: Some(date(9)), to: Some(date(1)), ..Default::default() };
    assert!(matches!(store.report_dashboard(&admin, &bad).await, Err(StoreError::Domain(tandem_domain::DomainError::Validation { .. }))));
    let fax = ReportQuery { channel: Some("fax".into()), ..period.clone() };
    assert!(store.report_dashboard(&admin, &fax).await.is_err());

    // Per agent: the agent solved two; per channel: everything came through the API.
    let by_agent = store.report_breakdown(&admin, &ReportQuery { by: Some(ReportDimension::Agent), ..period.clone() }).await.expect("by agent");
    let row = by_agent.rows.iter().find(|r| r.label == "agent").expect("the agent's row");
    assert_eq!((row.solved, row.csat_percent, row.sla_percent), (2, Some(50.0), Some(50.0)), "{by_agent:?}");
    let by_channel = store.report_breakdown(&admin, &ReportQuery { by: Some(ReportDimension::Channel), ..period.clone() }).await.expect("by channel");
    assert_eq!(by_channel.rows.iter().map(|r| (r.key.as_str(), r.created)).collect::<Vec<_>>(), vec![("api", 6)]);
    let csv = store.report_csv(&admin, &ReportQuery { table: Some(proto::ReportTable::Agent), ..period.clone() }).await.expect("csv");
    assert!(csv.starts_with("key,label,created,solved,"), "{csv}");
    assert!(csv.lines().any(|l| l.contains(",agent,")), "{csv}");
    let series = store.report_csv(&admin, &period).await.expect("series csv");
    assert!(series.contains("2026-03-02,4,1,3\r\n"), "{series}");
    assert!(clock.now() > Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).single().expect("t"));
}

/// A ticket solved on Tuesday and reopened on Friday is out of the backlog in between, even
/// after it was reopened; a ticket handed from one agent to another leaves the first one's
/// backlog on the day it moved, not before.
async fn the_backlog_keeps_its_history(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock(); // Monday 2 March 2026, 09:00 UTC; the desk's tickets A and B exist.
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let assign = async |number: i64, user: i64| {
        let input = proto::AssignTicket { assignee_id: Some(user), team_id: None, version: None };
        store.assign_ticket(&admin, number, input).await.expect("assign");
    };
    let set_status = async |number: i64, status: TicketStatus| {
        let version = store.get_ticket(&admin, number).await.expect("ticket").ticket.version;
        store.update_ticket(&admin, number, proto::UpdateTicket { status: Some(status), version, ..Default::default() }).await.expect("status");
    };
    let mut input = new_ticket(desk.inbox_a.id, "Refund", "r@customer.test");
    input.tags = vec!["billing".into()];
    let t = store.create_ticket(&admin, input).await.expect("ticket").ticket.number;
    assign(t, desk.agent.id).await;
    clock.set(Utc.with_ymd_and_hms(2026, 3, 3, 15, 0, 0).single().expect("time"));
    set_status(t, TicketStatus::Solved).await;
    clock.set(Utc.with_ymd_and_hms(2026, 3, 6, 10, 0, 0).single().expect("time"));
    store.add_customer_message(t, "It came back").await.expect("reopened");
    assert_eq!(store.get_ticket(&admin, t).await.expect("ticket").ticket.status, TicketStatus::Open);
    clock.set(Utc.with_ymd_and_hms(2026, 3, 9, 10, 0, 0).single().expect("time"));
    assign(t, desk.admin.id).await;

    let period = ReportQuery { from: Some(date(2)), to: Some(date(10)), ..Default::default() };
    let backlog = |d: &proto::Dashboard| d.series.iter().map(|p| p.backlog).collect::<Vec<_>>();
    // Everything: the desk's A and B stay open; the refund is out from the 3rd to the 5th.
    let all = store.report_dashboard(&admin, &period).await.expect("dashboard");
    assert_eq!(backlog(&all), vec![3, 2, 2, 2, 3, 3, 3, 3, 3], "{all:?}");
    assert_eq!(all, store.report_dashboard_unaggregated(&admin, &period).await.expect("direct"));
    // The tag and the agents see the same history.
    let billing = ReportQuery { tag: Some("billing".into()), ..period.clone() };
    let d = store.report_dashboard(&admin, &billing).await.expect("billing");
    assert_eq!(backlog(&d), vec![1, 0, 0, 0, 1, 1, 1, 1, 1], "{d:?}");
    let agent = ReportQuery { agent: Some(desk.agent.id), ..period.clone() };
    let d = store.report_dashboard(&admin, &agent).await.expect("agent");
    assert_eq!(backlog(&d), vec![1, 0, 0, 0, 1, 1, 1, 0, 0], "{d:?}");
    assert_eq!(d, store.report_dashboard_unaggregated(&admin, &agent).await.expect("direct"));
    let taker = ReportQuery { agent: Some(desk.admin.id), ..period.clone() };
    let d = store.report_dashboard(&admin, &taker).await.expect("admin");
    assert_eq!(backlog(&d), vec![0, 0, 0, 0, 0, 0, 0, 1, 1], "{d:?}");
    // A tag and an agent together are answered from the spells themselves.
    let both = ReportQuery { tag: Some("billing".into()), agent: Some(desk.agent.id), ..period.clone() };
    let d = store.report_dashboard(&admin, &both).await.expect("both");
    assert_eq!(backlog(&d), vec![1, 0, 0, 0, 1, 1, 1, 0, 0], "{d:?}");
    // Spam leaves the backlog from the day it is marked.
    set_status(t, TicketStatus::Spam).await;
    let d = store.report_dashboard(&admin, &billing).await.expect("billing");
    assert_eq!(backlog(&d), vec![1, 0, 0, 0, 1, 1, 1, 0, 0], "{d:?}");
    assert_eq!(d, store.report_dashboard_unaggregated(&admin, &billing).await.expect("direct"));
}

/// Each time a customer writes again, the answer is due within the policy's next-response
/// time: in time counts as met, late as breached, once, whether the scheduler saw it first or
/// the late answer did; tickets count when they are solved.
async fn next_responses_are_measured(backend: Backend) {
    let db = fresh_database(backend).await;
    let clock = clock();
    let store = open_store(&db, clock.clone()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let policy = proto::SaveSlaPolicy {
        name: "Replies".into(),
        position: 0,
        enabled: true,
        inbox_id: Some(desk.inbox_a.id),
        priority: None,
        tag: Some("sync".into()),
        company: None,
        first_response_minutes: Some(60),
        next_response_minutes: Some(60),
        resolution_minutes: None,
        calendar_id: None,
        warn_before_minutes: 0,
        escalation: proto::SlaEscalation::default(),
    };
    store.save_sla_policy(&admin, None, policy).await.expect("policy");
    let mut input = new_ticket(desk.inbox_a.id, "Sync", "s@customer.test");
    input.tags = vec!["sync".into()];
    let t = store.create_ticket(&admin, input).await.expect("ticket").ticket.number;
    let reply = async |status: Option<TicketStatus>| {
        let version = store.get_ticket(&admin, t).await.expect("ticket").ticket.version;
        let input = proto::PostMessage { body_text: "Answer".into(), seen_version: Some(version), set_status: status, ..Default::default() };
        store.post_message(&admin, t, MessageKind::Reply, input).await.expect("reply");
    };
    clock.advance(Duration::minutes(10));
    reply(None).await; // The first response: not a next response.
    clock.advance(Duration::minutes(30));
    store.add_customer_message(t, "One more thing").await.expect("customer");
    clock.advance(Duration::minutes(20));
    reply(None).await; // Met: 20 minutes.
    clock.advance(Duration::minutes(5));
    store.add_customer_message(t, "And another").await.expect("customer");
    clock.advance(Duration::minutes(150));
    reply(None).await; // Late, and the scheduler never saw it.
    clock.advance(Duration::minutes(5));
    store.add_customer_message(t, "Hello?").await.expect("customer");
    clock.advance(Duration::minutes(61));
    assert_eq!(store.run_timers().await.expect("timers").sla_breaches, 1);
    clock.advance(Duration::minutes(30));
    reply(None).await; // Late, already counted by the scheduler.
    let today = ReportQuery { from: Some(date(2)), to: Some(date(2)), ..Default::default() };
    let d = store.report_dashboard(&admin, &today).await.expect("dashboard");
    assert_eq!((d.sla_next_response.met, d.sla_next_response.breached), (0, 0), "counted when solved: {:?}", d.sla_next_response);
    reply(Some(TicketStatus::Solved)).await;
    let d = store.report_dashboard(&admin, &today).await.expect("dashboard");
    assert_eq!((d.sla_next_response.met, d.sla_next_response.breached, d.sla_next_response.percent), (1, 2, Some(33.3)), "{:?}", d.sla_next_response);
    assert_eq!(d, store.report_dashboard_unaggregated(&admin, &today).await.expect("direct"));
    assert_eq!((d.sla_first_response.met, d.sla_first_response.breached), (1, 0));
}
