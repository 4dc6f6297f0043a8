//! Email intake figures (a benchmark, not a timed test; `./x bench-mail`, numbers in
//! BENCHMARKS.md):
//!
//! 1. Throughput: N mails from `../shared/bench/gen_mail.py --seed 1` are put into a Dovecot
//!    mailbox; the time of one plain `UID FETCH 1:* BODY.PEEK[]` of the whole mailbox (the
//!    limit) is measured, then Tandem imports the same mailbox over IMAP with the bundled
//!    plugins enabled and three agents online (so the router assigns), on SQLite, until every
//!    mail is made into a ticket (or a reply) and run through the plugins: mails per second,
//!    and the ratio to the plain fetch.
//!    Meanwhile an agent works through the API, every 100 ms alternately: opens a ticket and
//!    writes an internal note on it (a write, which waits for SQLite's one writer behind the
//!    import's transactions), or reads the first page of the ticket list: p50/p99/max of
//!    each request, and the same with the desk idle after the import.
//! 2. Latency: 200 single deliveries into the mailbox while Tandem waits in IMAP IDLE, each
//!    timed from the delivery (Maildir rename) to the committed intake entry: p50/p99.
//!
//! `TANDEM_BENCH_MAILS` changes N (default 10,000).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde_json::json;
use tandem_channel::ChannelSettings;
use tandem_store::testing::Backend;
use tandem_tests::{
    TestServer, generated_mail, machine, percentile,
    mailserver::{MAIL_PASSWORD, MailServers},
};

async fn intake_count(server: &TestServer, inbox: i64) -> i64 {
    let actor = tandem_store::testing::actor(&server.store, &server.desk.admin).await;
    let page = server.store.list_inbound(&actor, inbox, None, None, 1).await.expect("intake");
    page.items.first().map(|e| e.id).unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("TANDEM_BENCH_MAILS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    println!("machine: {}", machine());
    let (_gen, files) = generated_mail(n, 1, &[]);
    let servers = MailServers::start();
    let load = Instant::now();
    let mut bytes = 0usize;
    for (i, f) in files.iter().enumerate() {
        let raw = std::fs::read(f).expect("eml");
        bytes += raw.len();
        servers.deliver("support", &format!("{i:06}.bench"), &raw);
    }
    println!("{} mails ({:.1} MiB) put into the Dovecot mailbox in {:.1?}", files.len(), bytes as f64 / 1048576.0, load.elapsed());

    // The limit: one plain fetch of every message.
    let account = servers.imap_account("support", 0);
    let mut transcript = Vec::new();
    let mut session = tandem_channel::imap::connect(&account, &mut transcript).await.expect("imap");
    session.select("INBOX").await.expect("select");
    let fetch_started = Instant::now();
    let fetched: Vec<_> = session.uid_fetch("1:*", "(UID BODY.PEEK[])").await.expect("fetch").try_collect().await.expect("fetch stream");
    let fetch_time = fetch_started.elapsed();
    assert_eq!(fetched.len(), files.len());
    drop(fetched);
    session.logout().await.ok();
    let fetch_rate = files.len() as f64 / fetch_time.as_secs_f64();
    println!("plain IMAP FETCH of the mailbox: {:.2?} → {fetch_rate:.0} mails/s", fetch_time);

    // Tandem with the bundled plugins, on SQLite.
    let server = TestServer::start_mail(Backend::Sqlite, ChannelSettings { imap_poll: Duration::from_secs(1), ..ChannelSettings::default() }).await;
    let installed = tandem_plugins::testing::install_bundled(server.plugins.registry()).await;
    println!("plugins enabled: {installed:?}");
    let admin = server.login(&server.desk.admin.email).await;
    // gen_mail.py dates its mail from 2025-03-03 on, and the responder does not acknowledge
    // mail written more than a day before it arrives (imported history): the benchmark keeps
    // the work of a live desk, every new ticket acknowledged as if its mail had just been sent.
    let (_, plugins) = admin.get("/api/v1/plugins").await;
    let responder = plugins.as_array().into_iter().flatten().find(|p| p["name"] == "template-responder").and_then(|p| p["id"].as_i64());
    let (status, body) = admin
        .patch(&format!("/api/v1/plugins/{}", responder.expect("the responder is installed")), &json!({ "config": { "max_age_hours": 0 } }))
        .await;
    assert_eq!(status, 200, "{body}");
    let inbox = server.desk.inbox_a.id;
    // The desk's people are at work, as on a real desk: the router assigns the tickets it
    // can (each to the least loaded agent with the skill), which the import then writes.
    let desk = &server.desk;
    server.desk_at_work(&admin).await;
    let agent_at_work = AgentProbe::start(server.login(&desk.agent.email).await, desk.ticket_a);
    let import_started = Instant::now();
    let (status, body) = admin
        .patch(&format!("/api/v1/inboxes/{inbox}/mail"), &json!({
            "imap": { "enabled": true, "host": "127.0.0.1", "port": servers.imap_port, "tls": "none", "user": "support", "password": MAIL_PASSWORD, "after_import": "seen" }
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    loop {
        let count = intake_count(&server, inbox).await;
        // Imported means made into tickets and run through the plugins: no mail waiting for
        // either.
        if count as usize >= files.len()
            && server.store.pending_inbound(1).await.expect("pending").is_empty()
            && server.store.pending_pipeline_runs(0, 1).await.expect("pending runs").is_empty()
        {
            break;
        }
        assert!(import_started.elapsed() < Duration::from_secs(3600), "import stalled at {count}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let import_time = import_started.elapsed();
    let during_import = agent_at_work.stop().await;
    let rate = files.len() as f64 / import_time.as_secs_f64();
    println!(
        "Tandem import over IMAP with plugins: {} mails in {:.1?} → {rate:.0} mails/s ({:.2} % of the plain fetch rate)",
        files.len(),
        import_time,
        100.0 * rate / fetch_rate
    );
    let mut assigned = 0;
    let actor = tandem_store::testing::actor(&server.store, &desk.admin).await;
    for user in [desk.admin.id, desk.supervisor.id, desk.agent.id] {
        let mut cursor = None;
        loop {
            let filter = tandem_store::TicketFilter { assignee: tandem_store::AssigneeFilter::User(user), cursor, limit: 200, ..Default::default() };
            let page = server.store.list_tickets(&actor, filter).await.expect("tickets");
            assigned += page.items.len();
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    println!("tickets the router assigned to the three agents online: {assigned}");
    let met = |ok: bool| if ok { "met" } else { "missed" };
    println!(
        "Goals: ≥ 1,000 mails/s {}; ≥ 50 % of the plain fetch rate {}",
        met(rate >= 1_000.0),
        met(rate >= 0.5 * fetch_rate)
    );

    let agent_idle = AgentProbe::start(server.login(&desk.agent.email).await, desk.ticket_a);
    tokio::time::sleep(during_import.duration.min(Duration::from_secs(15))).await;
    let idle = agent_idle.stop().await;
    println!("| an agent's action through the API (ms) | samples | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    for (what, probe) in [("during the import", &during_import), ("desk idle", &idle)] {
        for (action, samples) in [("open a ticket (read)", &probe.opens), ("internal note on it (write)", &probe.notes), ("ticket list (read)", &probe.lists)] {
            let mut sorted = samples.clone();
            sorted.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {action}, {what} | {} | {:.1} | {:.1} | {:.1} |",
                sorted.len(),
                ms(percentile(&sorted, 0.5)),
                ms(percentile(&sorted, 0.99)),
                ms(sorted.last().copied().unwrap_or_default())
            );
        }
    }

    // Latency with IDLE: single deliveries.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut latencies = Vec::new();
    for i in 0..200 {
        let before = intake_count(&server, inbox).await;
        let raw = format!(
            "From: Lat Ency <latency{i}@bench.test>\r\nTo: support@desk.test\r\nSubject: latency probe {i}\r\nMessage-ID: <latency{i}@bench.test>\r\n\r\nprobe {i}\r\n"
        );
        let started = Instant::now();
        servers.deliver("support", &format!("lat{i:04}.bench"), raw.as_bytes());
        loop {
            if intake_count(&server, inbox).await > before {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "delivery {i} not imported");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    println!(
        "arrival → ticket with IDLE over {} deliveries: p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
}

/// An agent at work while something else runs: every 100 ms, alternately, opening a ticket
/// and writing an internal note on it (with the version seen, as the web app does), or the
/// first page of the ticket list; each request timed.
struct AgentProbe {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Actions>,
}

#[derive(Default)]
struct Actions {
    opens: Vec<Duration>,
    notes: Vec<Duration>,
    lists: Vec<Duration>,
    duration: Duration,
}

impl AgentProbe {
    fn start(agent: tandem_tests::Api, ticket: i64) -> AgentProbe {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut actions = Actions::default();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            for i in 0u64.. {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                let at = Instant::now();
                if i % 2 == 0 {
                    let (status, detail) = agent.get(&format!("/api/v1/tickets/{ticket}")).await;
                    assert_eq!(status, 200, "{detail}");
                    actions.opens.push(at.elapsed());
                    let seen = detail["ticket"]["version"].as_i64().expect("version");
                    let at = Instant::now();
                    let note = json!({ "body_text": format!("Still looking into it ({i})."), "seen_version": seen });
                    let (status, body) = agent.post(&format!("/api/v1/tickets/{ticket}/notes"), &note).await;
                    assert_eq!(status, 201, "{body}");
                    actions.notes.push(at.elapsed());
                } else {
                    let (status, body) = agent.get("/api/v1/tickets?limit=50").await;
                    assert_eq!(status, 200, "{body}");
                    actions.lists.push(at.elapsed());
                }
            }
            actions.duration = started.elapsed();
            actions
        });
        AgentProbe { stop, task }
    }

    async fn stop(self) -> Actions {
        let _ = self.stop.send(true);
        self.task.await.expect("agent probe")
    }
}
