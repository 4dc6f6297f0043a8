//! Search figures (a benchmark, not a timed test; `./x bench-search`, numbers in
//! BENCHMARKS.md).
//!
//! 1. Corpus: N messages (default 1,000,000; `TANDEM_BENCH_SEARCH_MESSAGES`) written by
//!    `../shared/bench/gen_mail.py` in two shards (seeds 1 and 2, run side by side), parsed by
//!    Tandem's own mail parser and grouped into tickets by the generator's thread roots. The
//!    parsed corpus is cached as JSON lines under `target/bench-search/`.
//! 2. Load: two inboxes, eight agents, and the tickets, contacts, tags and messages written
//!    with multi-row INSERTs (the loader is not what is measured); then the index is built by
//!    `Store::rebuild_search_index`, the same per-ticket code every ticket write runs. The
//!    SQLite database is kept under `target/bench-search/` and reused by later runs.
//! 3. Queries: single words and phrases in English, French, Polish and Russian, alone and with
//!    filters, each as an agent who sees one of the two inboxes and as an admin who sees both;
//!    20 warm-up runs, then 200 timed runs (`TANDEM_BENCH_SEARCH_RUNS`) of `Store::search`
//!    (ranking, visibility, the page of 25 hits and their highlighting; no HTTP). p50 / p99
//!    per query; goal p99 ≤ 30 ms on SQLite.
//! 4. Index size: the FTS5 tables (SQLite) / the table, its TOAST and the GIN index (PostgreSQL).
//!
//! `TANDEM_BENCH_SEARCH_BACKENDS=sqlite,postgres` (default both; PostgreSQL needs
//! `TANDEM_TEST_PG_URL`, which `./x bench-search` provides).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    io::{BufRead, BufWriter, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, Statement, Value};
use serde_json::{Value as Json, json};
use tandem_domain::{Actor, SystemClock};
use tandem_proto::{self as proto, Role};
use tandem_store::{Group, Store, testing::Backend};
use tandem_tests::{machine, percentile};

const GOAL_P99: Duration = Duration::from_millis(30);
/// Runs per query and actor (`TANDEM_BENCH_SEARCH_RUNS`, default 200), after a tenth as many
/// warm-up runs.
fn runs() -> usize {
    std::env::var("TANDEM_BENCH_SEARCH_RUNS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(200)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Record {
    thread: String,
    subject: String,
    text: String,
    email: String,
    name: String,
}

fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("bench-search");
    std::fs::create_dir_all(&dir).expect("cache dir");
    dir
}

/// The parsed corpus of `n` messages, generated and parsed on the first run.
fn corpus(n: usize) -> Vec<Record> {
    let path = cache_dir().join(format!("corpus-{n}.jsonl"));
    if !path.is_file() {
        let started = Instant::now();
        let work = tempfile::tempdir_in(cache_dir()).expect("temp dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/gen_mail.py");
        assert!(script.is_file(), "{} is needed for this benchmark", script.display());
        let shards = [(1, n / 2), (2, n - n / 2)];
        let children: Vec<_> = shards
            .iter()
            .map(|(seed, count)| {
                Command::new("python3")
                    .arg(&script)
                    .args(["-n", &count.to_string(), "--seed", &seed.to_string(), "--to", "support@bench.test", "--out"])
                    .arg(work.path().join(format!("shard{seed}")))
                    .spawn()
                    .expect("run gen_mail.py")
            })
            .collect();
        for mut child in children {
            assert!(child.wait().expect("gen_mail.py").success());
        }
        println!("generated {n} mails with gen_mail.py in {:.0?}", started.elapsed());
        let parsing = Instant::now();
        let records: Vec<Record> = shards.iter().flat_map(|(seed, _)| parse_shard(&work.path().join(format!("shard{seed}")), *seed)).collect();
        println!("parsed them with tandem-mail in {:.0?}", parsing.elapsed());
        let mut out = BufWriter::new(std::fs::File::create(&path).expect("corpus file"));
        for r in &records {
            serde_json::to_writer(&mut out, r).expect("write");
            out.write_all(b"\n").expect("write");
        }
        out.flush().expect("flush");
        return records;
    }
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("corpus"));
    file.lines().map(|l| serde_json::from_str(&l.expect("line")).expect("record")).collect()
}

/// Parses one shard's mail on two threads, in delivery order.
fn parse_shard(dir: &Path, seed: u32) -> Vec<Record> {
    let truth = std::fs::read_to_string(dir.join("truth.jsonl")).expect("truth.jsonl");
    let rows: Vec<Json> = truth.lines().map(|l| serde_json::from_str(l).expect("truth row")).collect();
    let parse_part = |part: &[Json]| -> Vec<Record> {
        part.iter()
            .map(|row| {
                let file = row["file"].as_str().expect("file");
                let raw = std::fs::read(dir.join(file)).expect("eml");
                let mail = tandem_mail::parse(&raw, &tandem_mail::Limits::default()).expect("generated mail parses");
                let from = mail.from.clone().expect("sender");
                Record {
                    thread: format!("{seed}:{}", row["root"].as_str().expect("root")),
                    subject: mail.subject.clone(),
                    text: mail.text.clone(),
                    name: from.name.clone().unwrap_or_default(),
                    email: from.email.to_lowercase(),
                }
            })
            .collect()
    };
    let (a, b) = rows.split_at(rows.len() / 2);
    std::thread::scope(|s| {
        let first = s.spawn(|| parse_part(a));
        let mut second = parse_part(b);
        let mut all = first.join().expect("parser thread");
        all.append(&mut second);
        all
    })
}

/// Multi-row INSERTs within the backend's bind limit.
async fn insert_rows(store: &Store, head: &str, columns: usize, rows: Vec<Vec<Value>>) {
    let db = store.db();
    let per = 30_000 / columns;
    for chunk in rows.chunks(per) {
        let mut sql = String::from(head);
        let mut values = Vec::with_capacity(chunk.len() * columns);
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..columns {
                if j > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                if db.is_postgres() {
                    sql.push_str(&format!("${n}"));
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
            values.extend(row.iter().cloned());
        }
        db.connection().execute_raw(Statement::from_sql_and_values(db.backend(), sql, values)).await.expect("insert");
    }
}

struct Desk {
    admin: Actor,
    agent: Actor,
    tickets: usize,
}

const STATUSES: [&str; 7] = ["open", "pending", "solved", "new", "open", "closed", "on_hold"];
const PRIORITIES: [&str; 4] = ["normal", "low", "high", "normal"];
const TAGS: [&[&str]; 5] = [&["billing"], &[], &["login"], &["vip", "billing"], &[]];

async fn load(store: &Store, corpus: &[Record]) -> Desk {
    let started = Instant::now();
    let support = store.create_inbox(None, proto::CreateInbox { name: "Support".into(), address: "support@bench.test".into() }).await.expect("inbox");
    let sales = store.create_inbox(None, proto::CreateInbox { name: "Sales".into(), address: "sales@bench.test".into() }).await.expect("inbox");
    let mut agents: Vec<Vec<i64>> = vec![Vec::new(), Vec::new()];
    let user = async |email: &str, role: Role| {
        let input = proto::CreateUser { email: email.into(), display_name: email.into(), password: "bench-password".into(), role, language: None, skills: vec![] };
        store.create_user(None, input).await.expect("user").id
    };
    let admin = user("admin@bench.test", Role::Admin).await;
    let mut agent_ids = Vec::new();
    for i in 0..8 {
        agent_ids.push(user(&format!("agent{i}@bench.test"), Role::Agent).await);
    }
    for (i, id) in agent_ids.iter().enumerate() {
        let inbox = if i < 4 { support.id } else { sales.id };
        store.set_membership(None, Group::Inbox, inbox, *id, true).await.expect("member");
        agents[i / 4].push(*id);
    }
    let inboxes = [support.id, sales.id];

    // Threads become tickets, in order of their first message.
    let mut order: Vec<&str> = Vec::new();
    let mut messages: HashMap<&str, Vec<&Record>> = HashMap::new();
    for r in corpus {
        let entry = messages.entry(r.thread.as_str()).or_default();
        if entry.is_empty() {
            order.push(r.thread.as_str());
        }
        entry.push(r);
    }
    let mut contacts: HashMap<&str, i64> = HashMap::new();
    let mut contact_rows = Vec::new();
    let mut ticket_rows = Vec::new();
    let mut tag_rows = Vec::new();
    let mut message_rows = Vec::new();
    let base: i64 = 1_740_000_000_000_000;
    let mut message_id = 0i64;
    for (i, thread) in order.iter().enumerate() {
        let thread = &messages[thread];
        let first = thread[0];
        let next_contact = contacts.len() as i64 + 1;
        let contact_id = *contacts.entry(first.email.as_str()).or_insert_with(|| {
            contact_rows.push(vec![next_contact.into(), first.email.clone().into(), first.name.clone().into(), base.into(), base.into()]);
            next_contact
        });
        let id = i as i64 + 1;
        let status = STATUSES[i % STATUSES.len()];
        let inbox = i % 2;
        let assignee = (status != "new").then(|| agents[inbox][(i / 2) % 4]);
        let tags: Vec<String> = TAGS[i % TAGS.len()].iter().map(|t| t.to_string()).collect();
        let at = base + i as i64 * 60_000_000;
        ticket_rows.push(vec![
            id.into(),
            (1000 + id).into(),
            first.subject.clone().into(),
            status.into(),
            PRIORITIES[(i / 3) % PRIORITIES.len()].into(),
            inboxes[inbox].into(),
            assignee.into(),
            contact_id.into(),
            serde_json::to_string(&tags).expect("json").into(),
            at.into(),
            at.into(),
            at.into(),
            1i64.into(),
        ]);
        for tag in tags {
            tag_rows.push(vec![id.into(), tag.into()]);
        }
        for (k, m) in thread.iter().enumerate() {
            message_id += 1;
            message_rows.push(vec![
                message_id.into(),
                id.into(),
                "inbound".into(),
                "contact".into(),
                contact_id.into(),
                m.name.clone().into(),
                m.text.clone().into(),
                1i64.into(),
                (at + k as i64 * 1_000_000).into(),
            ]);
        }
    }
    let tickets = ticket_rows.len();
    insert_rows(store, "INSERT INTO contacts (id, email, name, created_at, updated_at) VALUES ", 5, contact_rows).await;
    insert_rows(
        store,
        "INSERT INTO tickets (id, number, subject, status, priority, inbox_id, assignee_id, contact_id, tags, created_at, updated_at, \
         last_customer_message_at, version) VALUES ",
        13,
        ticket_rows,
    )
    .await;
    insert_rows(store, "INSERT INTO ticket_tags (ticket_id, tag) VALUES ", 2, tag_rows).await;
    insert_rows(
        store,
        "INSERT INTO messages (id, ticket_id, kind, author_kind, author_id, author_name, body_text, ticket_version, created_at) VALUES ",
        9,
        message_rows,
    )
    .await;
    println!("loaded {tickets} tickets, {} messages, {} contacts in {:.0?}", corpus.len(), contacts.len(), started.elapsed());
    let indexing = Instant::now();
    let indexed = store.rebuild_search_index().await.expect("index");
    let took = indexing.elapsed();
    println!("indexed {indexed} tickets in {took:.0?} ({:.0} tickets/s, {:.0} messages/s)", indexed as f64 / took.as_secs_f64(), corpus.len() as f64 / took.as_secs_f64());
    Desk { admin: actor(store, admin).await, agent: actor(store, agent_ids[0]).await, tickets }
}

async fn user_id(store: &Store, email: &str) -> i64 {
    let db = store.db();
    let sql = format!("SELECT id FROM users WHERE email = '{email}'");
    let row = db.connection().query_one_raw(Statement::from_string(db.backend(), sql)).await.expect("user").expect("row");
    row.try_get::<i64>("", "id").expect("id")
}

async fn actor(store: &Store, id: i64) -> Actor {
    store.actor_by_id(id).await.expect("actor").expect("active")
}

const QUERIES: &[&str] = &[
    "invoice",
    "facture",
    "zamówienie",
    "заказ",
    "\"blank page\"",
    "\"mauvaise adresse\"",
    "\"pustą stronę\"",
    "\"пустая страница\"",
    "status:open invoice",
    "assignee:me facture",
    "from:gmail.com заказ",
    "tag:billing status:open,pending \"blank page\"",
    "priority:high zamowienie -faktura",
    "twelve",
];

async fn index_size(store: &Store) -> (u64, u64) {
    let db = store.db();
    let (sql, docs) = if db.is_postgres() {
        ("SELECT pg_total_relation_size('search_index')::BIGINT AS bytes", "SELECT COUNT(*)::BIGINT AS bytes FROM search_index")
    } else {
        (
            "SELECT CAST(SUM(pgsize) AS BIGINT) AS bytes FROM dbstat WHERE name LIKE 'search_index%'",
            "SELECT COUNT(*) AS bytes FROM search_index_docsize",
        )
    };
    let one = async |sql: &str| -> u64 {
        let row = db.connection().query_one_raw(Statement::from_string(db.backend(), sql.to_owned())).await.expect("size").expect("row");
        row.try_get::<i64>("", "bytes").expect("bytes") as u64
    };
    (one(sql).await, one(docs).await)
}

async fn measure(name: &str, store: &Store, desk: &Desk, messages: usize) -> Json {
    let (bytes, docs) = index_size(store).await;
    println!(
        "\n## {name}: {} tickets, {messages} messages; index {:.1} MiB for {docs} documents ({:.0} bytes per message)\n",
        desk.tickets,
        bytes as f64 / 1048576.0,
        bytes as f64 / messages as f64
    );
    println!("| query | as | matches | p50 | p99 |\n|---|---|---:|---:|---:|");
    let mut all = Vec::new();
    let mut rows = Vec::new();
    for q in QUERIES {
        for (who, actor) in [("agent (1 inbox)", &desk.agent), ("admin (2 inboxes)", &desk.admin)] {
            let params = proto::SearchParams { q: (*q).into(), offset: None, limit: Some(25) };
            let mut first = None;
            for _ in 0..runs().div_ceil(10) {
                first = Some(store.search(actor, &params).await.expect("search"));
            }
            let results = first.expect("ran");
            let mut times = Vec::with_capacity(runs());
            for _ in 0..runs() {
                let t = Instant::now();
                let r = store.search(actor, &params).await.expect("search");
                times.push(t.elapsed());
                std::hint::black_box(r);
            }
            times.sort();
            let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
            let total = if results.more_than_total { format!("{}+", results.total) } else { results.total.to_string() };
            println!("| `{q}` | {who} | {total} | {:.2} ms | {:.2} ms |", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
            rows.push(json!({ "query": q, "as": who, "matches": total, "p50_ms": p50.as_secs_f64() * 1e3, "p99_ms": p99.as_secs_f64() * 1e3 }));
            all.extend(times);
        }
    }
    all.sort();
    let (p50, p99) = (percentile(&all, 0.5), percentile(&all, 0.99));
    let worst = rows.iter().map(|r| r["p99_ms"].as_f64().unwrap_or(0.0)).fold(0.0, f64::max);
    println!(
        "\nall queries: p50 {:.2} ms, p99 {:.2} ms; worst per-query p99 {worst:.2} ms (goal ≤ {} ms)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        GOAL_P99.as_millis()
    );
    json!({ "backend": name, "index_bytes": bytes, "documents": docs, "p50_ms": p50.as_secs_f64() * 1e3, "p99_ms": p99.as_secs_f64() * 1e3, "queries": rows })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("TANDEM_BENCH_SEARCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let backends = std::env::var("TANDEM_BENCH_SEARCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!("machine: {}", machine());
    let corpus = corpus(n);
    let clock: Arc<dyn tandem_domain::Clock> = Arc::new(SystemClock);
    for backend in backends.split(',').map(str::trim) {
        match backend {
            "sqlite" => {
                let dir = cache_dir().join(format!("sqlite-{n}"));
                let done = dir.join("complete");
                if !done.is_file() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                std::fs::create_dir_all(&dir).expect("db dir");
                let url = format!("sqlite://{}?mode=rwc", dir.join("tandem.db").display());
                let store = Store::open(&url, &dir.join("data"), clock.clone()).await.expect("open");
                let desk = if done.is_file() {
                    println!("reusing the SQLite database in {}", dir.display());
                    let tickets = corpus.iter().map(|r| r.thread.as_str()).collect::<std::collections::HashSet<_>>().len();
                    let admin = actor(&store, user_id(&store, "admin@bench.test").await).await;
                    Desk { admin, agent: actor(&store, user_id(&store, "agent0@bench.test").await).await, tickets }
                } else {
                    let desk = load(&store, &corpus).await;
                    std::fs::write(&done, b"").expect("marker");
                    desk
                };
                let db_bytes = std::fs::metadata(dir.join("tandem.db")).map(|m| m.len()).unwrap_or(0);
                println!("SQLite database file: {:.1} MiB", db_bytes as f64 / 1048576.0);
                measure("SQLite (FTS5)", &store, &desk, corpus.len()).await;
            }
            "postgres" => {
                let db = tandem_store::testing::fresh_database(Backend::Postgres).await;
                let store = Store::open(&db.url, &db.data_dir, clock.clone()).await.expect("open");
                let desk = load(&store, &corpus).await;
                store.db().connection().execute_unprepared("VACUUM ANALYZE").await.expect("analyze");
                measure("PostgreSQL (GIN tsvector)", &store, &desk, corpus.len()).await;
            }
            other => panic!("unknown backend {other}"),
        }
    }
}
