//! Real mail through the real channel: every message of the corpus delivered into Dovecot and
//! imported over IMAP (none lost, none crashing), and the real reply threads grouped into one
//! ticket each.
//!
//! The corpus is `../shared/corpus` (or `TANDEM_CORPUS_DIR`); without it, the 54-message subset
//! in `tests/fixtures/mail`. The threads are vendored in `tests/fixtures/threads`.

use std::{
    collections::{BTreeMap, HashSet},
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::{Value, json};
use tandem_channel::ChannelSettings;
use tandem_store::testing::Backend;
use tandem_tests::{
    TestServer,
    mailserver::{MAIL_PASSWORD, MailServers},
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_message_is_imported_through_dovecot() {
    let (dir, _) = tandem_plugins::testing::corpus_dir();
    let files: Vec<String> = tandem_plugins::testing::corpus_manifest(&dir).into_iter().map(|(file, _)| file).collect();
    let servers = MailServers::start();
    let mut expected_ids = HashSet::new();
    // Mail without a Message-ID is deduplicated by content, as Dovecot serves it (CRLF line
    // endings): the corpus has one message twice, with LF and with CRLF endings.
    let mut without_id = HashSet::new();
    for (i, file) in files.iter().enumerate() {
        let raw = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        match tandem_mail::peek_message_id(&raw) {
            Some(id) => {
                expected_ids.insert(id);
            }
            None => {
                let mut crlf = Vec::with_capacity(raw.len());
                for (i, &b) in raw.iter().enumerate() {
                    if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                        crlf.push(b'\r');
                    }
                    crlf.push(b);
                }
                without_id.insert(tandem_mail::content_hash(&crlf));
            }
        }
        servers.deliver("support", &format!("{i:05}.corpus"), &raw);
    }
    eprintln!("{} corpus messages from {} ({} distinct Message-IDs, {} distinct messages without one)", files.len(), dir.display(), expected_ids.len(), without_id.len());

    let server = TestServer::start_mail(Backend::Sqlite, ChannelSettings { imap_poll: Duration::from_secs(1), ..ChannelSettings::default() }).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    let (status, body) = admin
        .patch(&format!("/api/v1/inboxes/{inbox}/mail"), &json!({
            "imap": { "enabled": true, "host": "127.0.0.1", "port": servers.imap_port, "tls": "none", "user": "support", "password": MAIL_PASSWORD, "after_import": "leave" }
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    let want = expected_ids.len() + without_id.len();
    let started = std::time::Instant::now();
    let mut last_report = std::time::Instant::now();
    let entries = loop {
        let entries = admin.intake_log(inbox).await;
        let settled = entries.iter().all(|e| e["state"] != "received");
        if entries.len() >= want && settled {
            break entries;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("{} of {want} after {:?}", entries.len(), started.elapsed());
            last_report = std::time::Instant::now();
        }
        assert!(started.elapsed() < Duration::from_secs(600), "{} of {want} imported after 10 min", entries.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("imported {} in {:?}", entries.len(), started.elapsed());
    assert_eq!(entries.len(), want, "one intake entry per distinct message");

    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_ids = HashSet::new();
    for e in &entries {
        let state = e["state"].as_str().expect("state").to_owned();
        match state.as_str() {
            "ticket" | "reply" => assert!(e["ticket_number"].is_i64(), "a message on a ticket: {e}"),
            "bounce" | "auto_reply" | "loop" => assert!(e["detail"].is_string(), "recorded with a reason: {e}"),
            "unparseable" => assert!(e["detail"].as_str().unwrap_or_default().contains("cannot be parsed"), "{e}"),
            other => panic!("unexpected state {other}: {e}"),
        }
        if let Some(id) = e["message_id"].as_str() {
            seen_ids.insert(id.to_owned());
        }
        *by_state.entry(state).or_default() += 1;
    }
    let missing: Vec<&String> = expected_ids.difference(&seen_ids).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    eprintln!("outcomes: {by_state:?}");
    // The server kept answering throughout.
    assert_eq!(admin.get("/api/v1/me").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_threads_become_one_ticket_each() {
    let server = TestServer::start(Backend::Sqlite).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    let root = fixtures().join("threads");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root).expect("threads").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    folders.sort();
    assert_eq!(folders.len(), 8);
    let mut tickets_of_threads = HashSet::new();
    for folder in &folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder).expect("folder").flatten().map(|e| e.path()).collect();
        files.sort();
        let mut numbers = Vec::new();
        for file in &files {
            let raw = std::fs::read(file).expect("message");
            let response = admin
                .request(reqwest::Method::POST, &format!("/api/v1/inboxes/{inbox}/messages/raw"))
                .body(raw)
                .send()
                .await
                .expect("post");
            assert_eq!(response.status().as_u16(), 201, "{}", file.display());
            let body: Value = response.json().await.expect("json");
            numbers.push((file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(), body["inbound"]["ticket_number"].as_i64()));
        }
        let distinct: HashSet<Option<i64>> = numbers.iter().map(|(_, n)| *n).collect();
        assert_eq!(distinct.len(), 1, "{} split across tickets: {numbers:?}", folder.display());
        let number = numbers[0].1.expect("a ticket");
        assert!(tickets_of_threads.insert(number), "{} joined another thread's ticket", folder.display());
    }
}
