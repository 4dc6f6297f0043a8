//! Report figures (a benchmark, not a timed test; `./x bench-reports`, numbers in
//! BENCHMARKS.md).
//!
//! 1. Load: two inboxes, eight agents, two teams, an SLA policy on a business-hours calendar,
//!    then 100,000 tickets (`TANDEM_BENCH_REPORT_TICKETS`) spread over a year with 3 messages
//!    each, written by `tandem_store::seed::bulk_seed` (multi-row INSERTs: the loader is not
//!    what is measured), a rating on every fifth solved ticket, and every ticket's figures
//!    computed by `Store::rebuild_ticket_metrics`, the same per-ticket code every ticket write
//!    runs.
//! 2. Queries: the dashboard (`Store::report_dashboard`) and the breakdowns by agent, team,
//!    inbox, tag and channel (`Store::report_breakdown`), each for the last 30 days, the last
//!    year by week, and the last 90 days of one inbox, as an admin (every inbox) and a
//!    supervisor (one inbox); 10 warm-up runs, then 200 timed runs
//!    (`TANDEM_BENCH_REPORT_RUNS`). p50 / p99 per query; goal p99 ≤ 50 ms on SQLite.
//!
//! `TANDEM_BENCH_REPORT_BACKENDS=sqlite,postgres` (default both; PostgreSQL needs
//! `TANDEM_TEST_PG_URL`, which `./x bench-reports` provides). `TANDEM_BENCH_REPORT_KEEP=FILE`
//! keeps a copy of the loaded SQLite database in FILE, to look at query plans with `sqlite3`;
//! `TANDEM_BENCH_REPORT_REUSE=FILE` measures a copy of such a file instead of loading anew.

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, FromQueryResult};
use tandem_domain::{Actor, SystemClock};
use tandem_proto::{self as proto, ReportDimension, ReportInterval, ReportQuery, Role};
use tandem_store::{Group, Store, seed::BulkSpec, testing::Backend};
use tandem_tests::{machine, percentile};

const GOAL_P99: Duration = Duration::from_millis(50);

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

struct Desk {
    admin: Actor,
    supervisor: Actor,
    inbox: i64,
}

async fn load(store: &Store, tickets: u64) -> Desk {
    let started = Instant::now();
    let support = store.create_inbox(None, proto::CreateInbox { name: "Support".into(), address: "support@bench.test".into() }).await.expect("inbox");
    let sales = store.create_inbox(None, proto::CreateInbox { name: "Sales".into(), address: "sales@bench.test".into() }).await.expect("inbox");
    for name in ["Tier 1", "Tier 2"] {
        store.create_team(None, proto::CreateTeam { name: name.into(), description: String::new() }).await.expect("team");
    }
    let user = |email: String, role: Role| proto::CreateUser { email, display_name: "Bench".into(), password: "bench-password-1".into(), role, language: None, skills: vec![] };
    let admin = store.create_user(None, user("admin@bench.test".into(), Role::Admin)).await.expect("admin");
    let supervisor = store.create_user(None, user("supervisor@bench.test".into(), Role::Supervisor)).await.expect("supervisor");
    store.set_membership(None, Group::Inbox, support.id, supervisor.id, true).await.expect("member");
    for i in 0..8 {
        let agent = store.create_user(None, user(format!("agent{i}@bench.test"), Role::Agent)).await.expect("agent");
        let inbox = if i % 2 == 0 { support.id } else { sales.id };
        store.set_membership(None, Group::Inbox, inbox, agent.id, true).await.expect("member");
    }
    let admin = store.actor_by_id(admin.id).await.expect("load").expect("admin");
    let calendar = proto::SaveCalendar {
        name: "Office".into(),
        time_zone: "Europe/Warsaw".into(),
        hours: tandem_domain::sla::calendar::weekdays("09:00", "17:00"),
        holidays: vec![],
    };
    let calendar = store.save_calendar(&admin, None, calendar).await.expect("calendar");
    let policy = proto::SaveSlaPolicy {
        name: "Support".into(),
        position: 0,
        enabled: true,
        inbox_id: None,
        priority: None,
        tag: None,
        company: None,
        first_response_minutes: Some(240),
        next_response_minutes: None,
        resolution_minutes: Some(24 * 60),
        calendar_id: Some(calendar.id),
        warn_before_minutes: 0,
        escalation: proto::SlaEscalation::default(),
    };
    store.save_sla_policy(&admin, None, policy).await.expect("policy");
    let spec = BulkSpec { tickets, spread_days: 365, analyze: false, ..BulkSpec::default() };
    let seeded = store.bulk_seed(spec).await.expect("bulk seed");
    // A rating on every fifth solved ticket: good, good, okay, bad.
    store
        .db()
        .connection()
        .execute_unprepared(
            "INSERT INTO csat_ratings (ticket_id, rating, comment, rated_at) SELECT id, \
             CASE id % 4 WHEN 0 THEN 'good' WHEN 1 THEN 'good' WHEN 2 THEN 'okay' ELSE 'bad' END, NULL, solved_at \
             FROM tickets WHERE solved_at IS NOT NULL AND id % 5 = 0",
        )
        .await
        .expect("ratings");
    let loaded = started.elapsed();
    let metrics_started = Instant::now();
    let rows = store.rebuild_ticket_metrics().await.expect("metrics");
    println!(
        "loaded {} tickets, {} messages in {:.1} s; figures of {rows} tickets computed in {:.1} s",
        seeded.tickets,
        seeded.messages,
        loaded.as_secs_f64(),
        metrics_started.elapsed().as_secs_f64()
    );
    let supervisor = store.actor_by_id(supervisor.id).await.expect("load").expect("supervisor");
    Desk { admin, supervisor, inbox: support.id }
}

/// The desk of a database `load` filled earlier.
async fn found(store: &Store) -> Desk {
    #[derive(sea_orm::FromQueryResult)]
    struct Id {
        id: i64,
    }
    let id = async |sql: &str| {
        let stmt = sea_orm::Statement::from_string(store.db().connection().get_database_backend(), sql);
        Id::find_by_statement(stmt).one(store.db().connection()).await.expect("query").expect("row").id
    };
    let admin = id("SELECT id FROM users WHERE email = 'admin@bench.test'").await;
    let supervisor = id("SELECT id FROM users WHERE email = 'supervisor@bench.test'").await;
    let inbox = id("SELECT id FROM inboxes WHERE name = 'Support'").await;
    Desk {
        admin: store.actor_by_id(admin).await.expect("load").expect("admin"),
        supervisor: store.actor_by_id(supervisor).await.expect("load").expect("supervisor"),
        inbox,
    }
}

async fn measure(name: &str, store: &Store, desk: &Desk) -> bool {
    let runs = env_number("TANDEM_BENCH_REPORT_RUNS", 200);
    let today = store.clock().now().date_naive();
    let periods = [
        ("30 days", ReportQuery { from: Some(today - chrono::Duration::days(29)), to: Some(today), ..Default::default() }),
        ("365 days by week", ReportQuery { from: Some(today - chrono::Duration::days(364)), to: Some(today), interval: Some(ReportInterval::Week), ..Default::default() }),
        ("90 days, one inbox", ReportQuery { from: Some(today - chrono::Duration::days(89)), to: Some(today), inbox: Some(desk.inbox), ..Default::default() }),
    ];
    let dimensions = [ReportDimension::Agent, ReportDimension::Team, ReportDimension::Inbox, ReportDimension::Tag, ReportDimension::Channel];
    println!("\n{name}: {runs} runs per query after {} warm-up runs", runs / 20);
    println!("| query | period | actor | p50 ms | p99 ms |");
    println!("|---|---|---|---:|---:|");
    let mut worst = Duration::ZERO;
    for (period, query) in &periods {
        for (who, actor) in [("admin", &desk.admin), ("supervisor", &desk.supervisor)] {
            let mut queries: Vec<(String, Option<ReportDimension>)> = vec![("dashboard".into(), None)];
            queries.extend(dimensions.iter().map(|d| (format!("breakdown by {d}"), Some(*d))));
            for (label, by) in queries {
                let q = ReportQuery { by, ..query.clone() };
                let mut times = Vec::with_capacity(runs);
                for i in 0..runs + runs / 20 {
                    let started = Instant::now();
                    match by {
                        None => {
                            let d = store.report_dashboard(actor, &q).await.expect("dashboard");
                            assert!(d.created > 0, "{period}: no tickets created");
                        }
                        Some(_) => {
                            let b = store.report_breakdown(actor, &q).await.expect("breakdown");
                            assert!(!b.rows.is_empty(), "{period}: an empty breakdown");
                        }
                    }
                    if i >= runs / 20 {
                        times.push(started.elapsed());
                    }
                }
                times.sort();
                let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
                worst = worst.max(p99);
                println!("| {label} | {period} | {who} | {:.2} | {:.2} |", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
            }
        }
    }
    let met = worst <= GOAL_P99;
    println!("{name}: worst p99 {:.2} ms (goal ≤ {} ms: {})", worst.as_secs_f64() * 1e3, GOAL_P99.as_millis(), if met { "met" } else { "missed" });
    met
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tickets = env_number("TANDEM_BENCH_REPORT_TICKETS", 100_000) as u64;
    let backends = std::env::var("TANDEM_BENCH_REPORT_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!("machine: {}", machine());
    let clock: Arc<dyn tandem_domain::Clock> = Arc::new(SystemClock);
    for backend in backends.split(',').map(str::trim) {
        let (name, backend) = match backend {
            "sqlite" => ("SQLite", Backend::Sqlite),
            "postgres" => ("PostgreSQL", Backend::Postgres),
            other => panic!("unknown backend {other}"),
        };
        let db = tandem_store::testing::fresh_database(backend).await;
        let reuse = std::env::var("TANDEM_BENCH_REPORT_REUSE").ok().filter(|_| backend == Backend::Sqlite);
        if let Some(file) = &reuse {
            let path = db.url.trim_start_matches("sqlite://").trim_end_matches("?mode=rwc");
            std::fs::copy(file, path).expect("copy the kept database");
        }
        let store = Store::open(&db.url, &db.data_dir, clock.clone()).await.expect("open");
        let desk = match reuse {
            Some(file) => {
                println!("measuring a copy of {file}");
                found(&store).await
            }
            None => load(&store, tickets).await,
        };
        if let (Backend::Sqlite, Ok(keep)) = (backend, std::env::var("TANDEM_BENCH_REPORT_KEEP")) {
            let _ = std::fs::remove_file(&keep);
            let sql = format!("VACUUM INTO '{}'", keep.replace('\'', "''"));
            store.db().connection().execute_unprepared(&sql).await.expect("keep a copy");
            println!("a copy of the loaded database is in {keep}");
        }
        if backend == Backend::Postgres {
            store.db().connection().execute_unprepared("VACUUM ANALYZE").await.expect("analyze");
        }
        measure(name, &store, &desk).await;
    }
}
