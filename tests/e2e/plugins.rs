//! Plugins through the HTTP API on a real server: the bundled three on a new ticket, uploads
//! (good and bad), dry runs, hostile plugins contained while the API keeps answering,
//! automatic disabling, roll-back, and hot swaps under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tandem_plugins::testing::component;
use tandem_proto as proto;
use tandem_store::{backend_tests, testing::{Backend, actor}};
use tandem_tests::{Api, TestServer};

async fn with_bundled(backend: Backend) -> (TestServer, Api) {
    let server = TestServer::start(backend).await;
    let installed = tandem_plugins::testing::install_bundled(server.plugins.registry()).await;
    assert_eq!(installed, vec!["keyword-classifier", "skills-router", "template-responder"]);
    let admin = server.login(&server.desk.admin.email).await;
    (server, admin)
}

fn events_of<'a>(detail: &'a Value, kind: &str) -> Vec<&'a Value> {
    detail["events"].as_array().expect("events").iter().filter(|e| e["kind"] == kind).collect()
}

/// How many automatic replies a ticket's detail holds.
fn auto_replies(detail: &Value) -> usize {
    detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "auto_reply").count()
}

/// Receives `raw` through the intake into inbox A as one batch from `source` and waits for the
/// plugin runs; answers each mail's ticket number, in order.
async fn receive_and_run(server: &TestServer, raw: &[Vec<u8>], source: &str) -> Vec<i64> {
    let items: Vec<(&[u8], Option<&str>)> = raw.iter().map(|r| (r.as_slice(), None)).collect();
    let queue = server.mail.pipeline_queue();
    let received = server.mail.receive_batch_queued(server.desk.inbox_a.id, &items, source, &queue).await.expect("batch");
    queue.finish().await;
    received.iter().map(|r| r.outcome.ticket_number.expect("a ticket each")).collect()
}

async fn bundled_plugins_classify_route_and_answer(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let (status, plugins) = admin.get("/api/v1/plugins").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = plugins.as_array().expect("list").iter().map(|p| p["name"].as_str().unwrap_or_default()).collect();
    assert_eq!(names.len(), 3, "{plugins}");
    assert!(plugins.as_array().expect("list").iter().all(|p| p["enabled"] == true && p["bundled"] == true));

    let supervisor = server.login(&server.desk.supervisor.email).await;
    let (status, created) = supervisor
        .post("/api/v1/tickets", &json!({
            "inbox_id": server.desk.inbox_a.id,
            "subject": "Срочно: не работает оплата",
            "body_text": "Здравствуйте! Срочно: у нас не работает оплата на сайте, клиенты не могут заплатить.",
            "contact": { "email": "ivan@customer.test", "name": "Иван" }
        }))
        .await;
    assert_eq!(status, 201, "{created}");
    let ticket = &created["ticket"];
    assert_eq!(ticket["priority"], "urgent", "{created}");
    assert_eq!(ticket["language"], "ru");
    assert_eq!(ticket["category"], "billing");
    assert!(ticket["tags"].as_array().expect("tags").contains(&json!("billing")));

    let classified = events_of(&created, "plugin.classified");
    assert_eq!(classified.len(), 1, "{created}");
    assert_eq!(classified[0]["actor"]["kind"], "plugin");
    assert_eq!(classified[0]["after"]["plugin"], "keyword-classifier");
    assert_eq!(classified[0]["after"]["version"], 1);
    assert!(classified[0]["after"]["duration_us"].as_u64().is_some_and(|d| d > 0));
    assert!(classified[0]["after"]["decision"]["reason"].as_str().is_some_and(|r| r.contains("срочно")), "{}", classified[0]);
    // The router ran and said what it did (the test desk's agents are offline: a team queue
    // or no decision, either way with a reason on the timeline).
    let routed = events_of(&created, "plugin.routed").len() + events_of(&created, "plugin.no_decision").len();
    assert_eq!(routed, 1, "{created}");

    let replies: Vec<&Value> = created["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "auto_reply").collect();
    assert_eq!(replies.len(), 1, "{created}");
    let number = ticket["number"].as_i64().expect("number");
    assert!(replies[0]["body_text"].as_str().is_some_and(|t| t.contains("Спасибо") && t.contains(&format!("#{number}"))), "{}", replies[0]);
    assert_eq!(replies[0]["delivery_state"], "queued");
    let responded = events_of(&created, "plugin.responded");
    assert_eq!(responded[0]["after"]["reason"], "acknowledgement in ru", "{}", responded[0]);

    // The same contact writes a new ticket right away: no second automatic reply.
    let (_, again) = supervisor
        .post("/api/v1/tickets", &json!({
            "inbox_id": server.desk.inbox_a.id, "subject": "Ещё вопрос", "body_text": "И ещё один вопрос по счёту.",
            "contact": { "email": "ivan@customer.test" }
        }))
        .await;
    assert_eq!(auto_replies(&again), 0, "{again}");
    let no_reply = events_of(&again, "plugin.no_reply");
    assert!(no_reply[0]["after"]["reason"].as_str().is_some_and(|r| r.contains("min ago")), "{again}");
}

async fn uploads_are_checked_and_versions_roll_back(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let real = component("keyword-classifier");

    let bad: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"\0asm\x01\0\0\0".to_vec(), "name=core", 422, "core WebAssembly module"),
        (real[..real.len() / 3].to_vec(), "name=truncated", 422, "not a valid WebAssembly component"),
        (b"hello".to_vec(), "name=junk", 422, "not a WebAssembly file"),
        (component("skills-router"), "name=wrong-world&world=classifier", 422, "implements the router world"),
        (real.clone(), "name=Bad%20Name", 422, "plugin names"),
        (component("hostile-enum-plugin"), "name=bad-enum", 422, "does not start as a tandem:plugin@0.1.0 classifier"),
    ];
    for (bytes, query, status, needle) in bad {
        let (got, body) = admin.upload_component(query, bytes).await;
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(needle)), "{query}: {body}");
    }
    let (status, body) = admin.call(reqwest::Method::POST, "/api/v1/plugins?name=x", Some(&json!({}))).await;
    assert_eq!(status, 415, "{body}");
    let (status, list) = admin.get("/api/v1/plugins").await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(0)), "nothing stored by failed uploads");

    // Version 1, then version 2 (another build: the hostile fixture is a classifier too).
    let (status, v1) = admin.upload_component("name=rules&world=classifier", real.clone()).await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(v1["enabled"], false, "uploads start disabled");
    let id = v1["id"].as_i64().expect("id");
    let (status, v2) = admin.upload_component("name=rules", component("hostile-plugin")).await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["active_version"]["number"], 2);
    assert_eq!(v2["versions"].as_array().map(Vec::len), Some(2));
    let v1_id = v2["versions"][0]["id"].as_i64().expect("v1 id");

    // Dry run on a sample: version 2 is the fixture, which tags `hostile-fixture-ok`.
    let sample = json!({ "sample": { "from": "x@customer.test", "subject": "URGENT: site down", "text": "Our site is down, asap please" } });
    let (_, run) = admin.post(&format!("/api/v1/plugins/{id}/dry-run"), &sample).await;
    assert_eq!(run["decision"]["add_tags"], json!(["hostile-fixture-ok"]), "{run}");
    // … and any version can be dry-run; version 1 is the real classifier.
    let (_, run1) = admin.post(&format!("/api/v1/plugins/{id}/dry-run"), &json!({ "version_id": v1_id, "sample": sample["sample"] })).await;
    assert_eq!(run1["decision"]["priority"], "urgent", "{run1}");
    assert_eq!(run1["version"], 1);
    assert!(run1["usage"]["fuel"].as_u64().is_some_and(|f| f > 0));

    // Roll back to version 1 and enable: the next ticket is classified by it.
    let (status, rolled) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "active_version_id": v1_id, "enabled": true })).await;
    assert_eq!(status, 200, "{rolled}");
    assert_eq!(rolled["active_version"]["number"], 1);
    let (_, created) = admin
        .post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": "Site down", "body_text": "Everything is down, urgent!", "contact": { "email": "a@customer.test" } }))
        .await;
    assert_eq!(created["ticket"]["priority"], "urgent", "{created}");

    // Scoped to the other inbox, it no longer sees tickets of this one.
    let (status, _) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "inbox_ids": [server.desk.inbox_b.id] })).await;
    assert_eq!(status, 200);
    let (_, unscoped) = admin
        .post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": "Site down", "body_text": "Everything is down, urgent!", "contact": { "email": "b@customer.test" } }))
        .await;
    assert_eq!(unscoped["ticket"]["priority"], "normal", "{unscoped}");
    assert!(events_of(&unscoped, "plugin.classified").is_empty(), "{unscoped}");

    // Bad settings are refused with the field named.
    for (patch, field) in [
        (json!({ "limits": { "memory_mib": 0, "timeout_ms": 50, "max_consecutive_failures": 5 } }), "limits.memory_mib"),
        (json!({ "config": [1, 2] }), "config"),
        (json!({ "inbox_ids": [999999] }), "inbox_ids"),
        (json!({ "active_version_id": 999999 }), "active_version_id"),
    ] {
        let (status, body) = admin.patch(&format!("/api/v1/plugins/{id}"), &patch).await;
        assert_eq!(status, 422, "{patch}: {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    let (status, body) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "surprise": 1 })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("surprise")), "{body}");

    // A configuration the plugin itself refuses (its `invalid-config` answer when tried on a
    // sample message) is refused too, in its words, and the one in force stays.
    let (_, before) = admin.get(&format!("/api/v1/plugins/{id}")).await;
    for (config, needle) in [
        (json!({ "rules": [{ "add_tags": ["x"] }] }), "rules[0] has no condition"),
        (json!({ "rules": [{ "keywords": ["invoice"], "regex": "[", "add_tags": ["x"] }] }), "rules[0].regex"),
        (json!({ "urgent_keyword": { "en": ["asap"] } }), "unknown field `urgent_keyword`"),
    ] {
        let (status, body) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "config": config })).await;
        assert_eq!(status, 422, "{config}: {body}");
        assert_eq!(body["error"]["field"], "config", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("the plugin refuses this configuration") && message.contains(needle), "{body}");
    }
    let (_, after) = admin.get(&format!("/api/v1/plugins/{id}")).await;
    assert_eq!(after["config"], before["config"], "the configuration in force stays");
    let good = json!({ "rules": [{ "name": "vip", "sender_domain": "bigcustomer.com", "add_tags": ["vip"] }] });
    let (status, saved) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "config": good })).await;
    assert_eq!((status, &saved["config"]), (200, &good), "{saved}");
}

async fn hostile_plugins_are_contained_and_disabled(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let (_, plugin) = admin.upload_component("name=hostile", component("hostile-plugin")).await;
    let id = plugin["id"].as_i64().expect("id");
    // A generous time limit: the suite runs tests in parallel on two cores, and only the
    // endless loop should hit it.
    let limits = json!({ "memory_mib": 32, "timeout_ms": 1000, "max_consecutive_failures": 7 });
    let (status, _) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "enabled": true, "limits": limits })).await;
    assert_eq!(status, 200);

    let modes = [
        ("loop", "timeout"),
        ("memory", "memory_exhausted"),
        ("recursion", "stack_overflow"),
        ("panic", "trap"),
        ("huge-output", "memory_exhausted"),
        ("huge-tags", "invalid_output"),
        ("bad-values", "invalid_output"),
    ];
    for (i, (mode, kind)) in modes.iter().enumerate() {
        let (status, _) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "config": { "mode": mode } })).await;
        assert_eq!(status, 200);
        let subject = format!("Ticket {i}");
        let (status, created) = admin
            .post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": subject, "body_text": "Hello", "contact": { "email": "h@customer.test" } }))
            .await;
        assert_eq!(status, 201, "{mode}: the ticket is created whatever the plugin does: {created}");
        let failed = events_of(&created, "plugin.failed");
        assert_eq!(failed.len(), 1, "{mode}: {created}");
        assert_eq!(failed[0]["after"]["failure"]["kind"], *kind, "{mode}: {}", failed[0]);
        assert_eq!(created["ticket"]["tags"], json!([]), "{mode}: nothing applied");
        // The API keeps answering normally.
        let (status, _) = admin.get("/api/v1/me").await;
        assert_eq!(status, 200);
    }
    // Seven failures in a row: disabled, with the reason for admins.
    let (_, after) = admin.get(&format!("/api/v1/plugins/{id}")).await;
    assert_eq!(after["enabled"], false, "{after}");
    assert_eq!(after["health"]["consecutive_failures"], 7);
    assert!(after["health"]["auto_disabled_reason"].as_str().is_some_and(|r| r.contains("7 consecutive failures")), "{after}");
    let (_, audit) = admin.get("/api/v1/events?kind=plugin.auto_disabled").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");

    // A disabled plugin is not called.
    let (_, created) = admin
        .post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": "After", "body_text": "Hello", "contact": { "email": "h@customer.test" } }))
        .await;
    assert!(events_of(&created, "plugin.failed").is_empty(), "{created}");

    // Enabling again clears the streak; a well-behaved mode then works.
    let (_, enabled) = admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "enabled": true, "config": { "mode": "ok" } })).await;
    assert_eq!(enabled["health"]["consecutive_failures"], 0);
    assert_eq!(enabled["health"]["auto_disabled_reason"], Value::Null);
    let (_, created) = admin
        .post("/api/v1/tickets", &json!({ "inbox_id": server.desk.inbox_a.id, "subject": "Fine", "body_text": "Hello", "contact": { "email": "h@customer.test" } }))
        .await;
    assert_eq!(created["ticket"]["tags"], json!(["hostile-fixture-ok"]), "{created}");
}

/// Swaps between two versions while pipelines run: no call fails, and every call ran wholly
/// on one version (each run's decision names the tag of exactly one version).
async fn hot_swap_under_load(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin_user = actor(&server.store, &server.desk.admin).await;
    let admin = server.login(&server.desk.admin.email).await;
    let (_, v1) = admin.upload_component("name=swapped", component("keyword-classifier")).await;
    let id = v1["id"].as_i64().expect("id");
    let (_, v2) = admin.upload_component("name=swapped", component("hostile-plugin")).await;
    let versions: Vec<i64> = v2["versions"].as_array().expect("versions").iter().map(|v| v["id"].as_i64().expect("id")).collect();
    admin.patch(&format!("/api/v1/plugins/{id}"), &json!({ "enabled": true, "limits": { "memory_mib": 32, "timeout_ms": 2000, "max_consecutive_failures": 5 } })).await;

    let mut numbers = Vec::new();
    for i in 0..24 {
        let input = tandem_store::testing::new_ticket(server.desk.inbox_a.id, &format!("Load {i}"), "load@customer.test");
        numbers.push(server.store.create_ticket(&admin_user, input).await.expect("ticket").ticket.number);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (registry, store, stop) = (Arc::clone(server.plugins.registry()), server.store.clone(), Arc::clone(&stop));
        let admin_user = admin_user.clone();
        tokio::spawn(async move {
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) {
                let version = versions[swaps % 2];
                registry.update(&admin_user, id, proto::UpdatePlugin { active_version_id: Some(version), ..Default::default() }).await.expect("swap");
                swaps += 1;
                tokio::task::yield_now().await;
            }
            drop(store);
            swaps
        })
    };
    let mut runs = Vec::new();
    for chunk in numbers.chunks(6) {
        let calls = chunk.iter().map(|n| {
            let pipeline = server.plugins.clone();
            let n = *n;
            tokio::spawn(async move { pipeline.on_inbound(n, None).await })
        });
        for call in calls.collect::<Vec<_>>() {
            runs.push(call.await.expect("joined").expect("pipeline"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.await.expect("swapper");
    assert!(swaps >= 2, "swapped {swaps} times");
    let mut seen = [0, 0];
    for report in &runs {
        assert_eq!(report.steps.len(), 1, "{report:?}");
        let step = &report.steps[0];
        let tandem_plugins::pipeline::StepOutcome::Applied(proto::PluginDecision::Classifier(c)) = &step.outcome else {
            panic!("a failed or skipped call during swaps: {step:?}");
        };
        let hostile = c.add_tags == vec!["hostile-fixture-ok".to_owned()];
        // Version numbers and behaviour agree: v2 is the fixture, v1 the real classifier.
        assert_eq!(hostile, step.version == 2, "{step:?}");
        seen[usize::from(hostile)] += 1;
    }
    assert_eq!(seen[0] + seen[1], 24);
}

backend_tests! {
    bundled_plugins_classify_route_and_answer,
    uploads_are_checked_and_versions_roll_back,
    hostile_plugins_are_contained_and_disabled,
    hot_swap_under_load,
    a_pipeline_run_cut_off_by_a_crash_runs_at_the_next_start,
    a_fetched_batch_returns_with_every_run_written_in_order,
    batches_sharing_a_queue_keep_their_runs_in_order,
    a_run_sees_the_ticket_as_its_message_found_it,
    messages_of_an_inbox_no_plugin_covers_are_not_marked,
    runs_of_a_group_see_the_load_the_runs_before_them_left,
    groups_of_runs_come_to_what_runs_one_at_a_time_do,
    a_mails_headers_reach_the_plugins,
    imported_history_is_not_acknowledged,
}

/// A mail applied by the intake, then the process gone before the plugins ran (the state a
/// crash leaves): the next start's recovery runs the bundled plugins on it, once.
async fn a_pipeline_run_cut_off_by_a_crash_runs_at_the_next_start(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let raw = b"From: Luc <luc@client.test>\r\nTo: support@desk.test\r\nSubject: Compte bloque\r\nMessage-ID: <crash@client.test>\r\n\r\nBonjour, notre compte est bloque, c'est urgent.\r\n";
    let recorded = server.store.record_inbound(server.desk.inbox_a.id, raw, "imap", None).await.expect("record");
    let parsed = tandem_mail::parse(raw, &tandem_mail::Limits::default());
    let outcome = server.store.apply_inbound(recorded.id, parsed.as_ref(), true).await.expect("apply");
    let number = outcome.ticket_number.expect("a ticket");
    let (_, before) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    assert!(events_of(&before, "plugin.classified").is_empty(), "{before}");

    assert_eq!(server.mail.recover_pipeline_runs().await.expect("recover"), 1);
    let (_, after) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(events_of(&after, "plugin.classified").len(), 1, "{after}");
    assert_eq!(after["ticket"]["language"], "fr", "{after}");
    let replies = auto_replies(&after);
    assert_eq!(replies, 1, "{after}");

    assert_eq!(server.mail.recover_pipeline_runs().await.expect("recover again"), 0, "run once");
    let (_, again) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(events_of(&again, "plugin.classified").len(), 1);
}

/// An IMAP batch: the pipeline runs beside the intake of the next messages, yet the batch
/// returns only once every run is written, and the runs keep the messages' order (the
/// responder's once-per-contact window sees the run of the contact's earlier mail).
async fn a_fetched_batch_returns_with_every_run_written_in_order(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let raw: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            // Three contacts, two new tickets each; the second mail of each is a reply to the first.
            let (contact, n) = (i % 3, i / 3);
            let threading = if n == 1 { format!("In-Reply-To: <b{contact}-0@client.test>\r\n") } else { String::new() };
            format!(
                "From: Client {contact} <client{contact}@client.test>\r\nTo: support@desk.test\r\nSubject: Urgent: login broken ({contact})\r\n\
                 Message-ID: <b{contact}-{n}@client.test>\r\n{threading}\r\nHello, login is broken, this is urgent. ({contact}/{n})\r\n"
            )
            .into_bytes()
        })
        .collect();
    // The first contact writes once more, about something else: a ticket of its own, no reply.
    let mut raw = raw;
    raw.push(b"From: Client 0 <client0@client.test>\r\nTo: support@desk.test\r\nSubject: Another question\r\nMessage-ID: <b0-2@client.test>\r\n\r\nAnd one more thing.\r\n".to_vec());
    let items: Vec<(&[u8], Option<&str>)> = raw.iter().map(|r| (r.as_slice(), None)).collect();
    let received = server.mail.receive_batch(server.desk.inbox_a.id, &items, "imap").await.expect("batch");
    assert_eq!(received.len(), 7);
    assert!(server.store.pending_pipeline_runs(0, 100).await.expect("pending").is_empty(), "every run written when the batch returns");

    let mut numbers: Vec<i64> = received.iter().filter_map(|r| r.outcome.ticket_number).collect();
    numbers.dedup();
    let mut replies = 0;
    for number in [numbers[0], numbers[1], numbers[2]] {
        let (status, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
        assert_eq!(status, 200);
        let inbound = detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "inbound").count();
        assert_eq!(inbound, 2, "the reply threaded onto its ticket: {detail}");
        // Both customer messages went through the classifier, in their order.
        assert_eq!(events_of(&detail, "plugin.classified").len(), 2, "{detail}");
        assert_eq!(detail["ticket"]["priority"], "urgent", "{detail}");
        replies += auto_replies(&detail);
    }
    assert_eq!(replies, 3, "one acknowledgement per contact, for the first mail only");
    let last = received.last().and_then(|r| r.outcome.ticket_number).expect("the last mail opened a ticket");
    assert!(!numbers[..3].contains(&last));
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{last}")).await;
    assert_eq!(events_of(&detail, "plugin.no_reply").len(), 1, "the contact was answered moments ago: {detail}");
}

/// The batches of one folder sync share a plugin queue: a batch returns once it is applied,
/// its runs are made while the next one is applied, and they keep the messages' order across
/// batches (the second batch's mail from the same contact sees the first one's reply). More
/// runs than the queue holds make applying wait for the plugins rather than lose a run.
async fn batches_sharing_a_queue_keep_their_runs_in_order(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let mail = |contact: usize, n: usize| {
        format!(
            "From: Client {contact} <q{contact}@client.test>\r\nTo: support@desk.test\r\nSubject: Question {n} from {contact}\r\n\
             Message-ID: <q{contact}-{n}@client.test>\r\n\r\nI have question number {n}.\r\n"
        )
        .into_bytes()
    };
    // Batch one: 150 contacts write once (more runs than the queue holds). Batch two: the
    // first of them writes again, about something else.
    let first: Vec<Vec<u8>> = (0..150).map(|c| mail(c, 0)).collect();
    let second = [mail(0, 1)];
    let queue = server.mail.pipeline_queue();
    let mut numbers = Vec::new();
    for batch in [&first[..], &second[..]] {
        let items: Vec<(&[u8], Option<&str>)> = batch.iter().map(|r| (r.as_slice(), None)).collect();
        let received = server.mail.receive_batch_queued(server.desk.inbox_a.id, &items, "imap", &queue).await.expect("batch");
        assert_eq!(received.len(), batch.len());
        numbers.extend(received.iter().map(|r| r.outcome.ticket_number.expect("a new ticket")));
    }
    queue.finish().await;
    assert!(server.store.pending_pipeline_runs(0, 1000).await.expect("pending").is_empty(), "every run written once the queue is finished");
    assert_eq!(numbers.len(), 151);
    for &number in &numbers[..150] {
        let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
        let replies = auto_replies(&detail);
        assert_eq!(replies, 1, "each contact's first mail acknowledged: {detail}");
    }
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{}", numbers[150])).await;
    assert_eq!(events_of(&detail, "plugin.no_reply").len(), 1, "the contact was answered by the first batch's run: {detail}");
}

/// A mail's own headers reach the plugins through the intake (not only From and Subject): an
/// admin's header rule and an upstream spam filter's verdict both act on real mail.
async fn a_mails_headers_reach_the_plugins(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let (_, plugins) = admin.get("/api/v1/plugins").await;
    let classifier = plugins.as_array().expect("list").iter().find(|p| p["name"] == "keyword-classifier").expect("classifier")["id"].clone();
    let rule = json!({ "rules": [{ "name": "via partner", "header": { "name": "X-Partner", "contains": "acme" }, "category": "partner" }] });
    let (status, body) = admin.patch(&format!("/api/v1/plugins/{classifier}"), &json!({ "config": rule })).await;
    assert_eq!(status, 200, "{body}");
    let mail = |id: &str, header: &str| {
        format!(
            "Received: from mx.client.test by mx.desk.test; Mon, 2 Mar 2026 08:59:58 +0000\r\nFrom: Ola <{id}@client.test>\r\n\
             To: support@desk.test\r\nSubject: A question\r\nMessage-ID: <{id}@client.test>\r\n{header}\r\n\r\nHello, a question.\r\n"
        )
        .into_bytes()
    };
    let raw = [mail("partner", "X-Partner: ACME reseller"), mail("flagged", "X-Spam-Flag: YES")];
    let numbers = receive_and_run(&server, &raw, "imap").await;
    let (_, partner) = admin.get(&format!("/api/v1/tickets/{}", numbers[0])).await;
    assert_eq!(partner["ticket"]["category"], "partner", "{partner}");
    let (_, flagged) = admin.get(&format!("/api/v1/tickets/{}", numbers[1])).await;
    assert_eq!(flagged["ticket"]["status"], "spam", "{flagged}");
}

/// Mail written long ago (a mailbox's history imported on connecting it, an mbox import) gets
/// a ticket but no acknowledgement; mail written an hour before it arrives gets one.
async fn imported_history_is_not_acknowledged(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let now = tandem_domain::Clock::now(&*server.clock);
    let mail = |id: &str, written: chrono::DateTime<chrono::Utc>| {
        format!(
            "From: Zoe <{id}@client.test>\r\nTo: support@desk.test\r\nSubject: Invoice question\r\nMessage-ID: <{id}@client.test>\r\n\
             Date: {}\r\n\r\nWhere is my invoice?\r\n",
            written.to_rfc2822()
        )
        .into_bytes()
    };
    let raw = [mail("history", now - chrono::TimeDelta::days(40)), mail("fresh", now - chrono::TimeDelta::hours(1))];
    let numbers = receive_and_run(&server, &raw, "mbox").await;
    let (_, old) = admin.get(&format!("/api/v1/tickets/{}", numbers[0])).await;
    assert_eq!(auto_replies(&old), 0, "{old}");
    let no_reply = events_of(&old, "plugin.no_reply");
    assert!(no_reply[0]["after"]["reason"].as_str().is_some_and(|r| r.contains("written 40 days ago") && r.contains("too late")), "{old}");
    let (_, fresh) = admin.get(&format!("/api/v1/tickets/{}", numbers[1])).await;
    assert_eq!(auto_replies(&fresh), 1, "{fresh}");
}

/// A run on a message sees the ticket's messages up to that message, even when the customer's
/// next mail landed before the run (here: both applied, then the runs recovered in order), so
/// the first mail is still acknowledged and the follow-up is not.
async fn a_run_sees_the_ticket_as_its_message_found_it(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let first = b"From: Ana <ana@client.test>\r\nTo: support@desk.test\r\nSubject: Cannot log in\r\nMessage-ID: <seen-1@client.test>\r\n\r\nI cannot log in since this morning.\r\n";
    let second = b"From: Ana <ana@client.test>\r\nTo: support@desk.test\r\nSubject: Re: Cannot log in\r\nMessage-ID: <seen-2@client.test>\r\nIn-Reply-To: <seen-1@client.test>\r\n\r\nStill broken.\r\n";
    let mut number = None;
    for raw in [&first[..], &second[..]] {
        let recorded = server.store.record_inbound(server.desk.inbox_a.id, raw, "imap", None).await.expect("record");
        let parsed = tandem_mail::parse(raw, &tandem_mail::Limits::default());
        let outcome = server.store.apply_inbound(recorded.id, parsed.as_ref(), true).await.expect("apply");
        assert!(outcome.run_pipeline);
        assert!(number.is_none() || number == outcome.ticket_number, "the second mail threads onto the first's ticket");
        number = outcome.ticket_number;
    }
    assert_eq!(server.mail.recover_pipeline_runs().await.expect("runs"), 2);
    let number = number.expect("a ticket");
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    let replies = auto_replies(&detail);
    assert_eq!(replies, 1, "the first mail acknowledged: {detail}");
    let no_reply = events_of(&detail, "plugin.no_reply");
    assert_eq!(no_reply.len(), 1, "{detail}");
    assert_eq!(no_reply[0]["after"]["reason"], "customer reply on an existing ticket", "{detail}");
}

/// With every plugin scoped to inbox B, a mail or an API ticket in inbox A is not marked for
/// the pipeline and gets no run (nothing to read, nothing to write); one in inbox B does, and
/// so does a reply in inbox A that lands on inbox B's ticket.
async fn messages_of_an_inbox_no_plugin_covers_are_not_marked(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let (inbox_a, inbox_b) = (server.desk.inbox_a.id, server.desk.inbox_b.id);
    let (_, plugins) = admin.get("/api/v1/plugins").await;
    for plugin in plugins.as_array().expect("list") {
        let (status, body) = admin.patch(&format!("/api/v1/plugins/{}", plugin["id"]), &json!({ "inbox_ids": [inbox_b] })).await;
        assert_eq!(status, 200, "{body}");
    }
    let mail = |id: &str| format!("From: Ana <ana@client.test>\r\nTo: support@desk.test\r\nSubject: Urgent: login broken\r\nMessage-ID: <{id}@client.test>\r\n\r\nHello, login is broken, this is urgent.\r\n");

    let received = server.mail.receive(inbox_a, mail("a").as_bytes(), "api", None).await.expect("receive");
    assert!(!received.outcome.run_pipeline, "no plugin covers inbox A");
    let (status, created) = admin
        .post("/api/v1/tickets", &json!({ "inbox_id": inbox_a, "subject": "Urgent: login broken", "body_text": "This is urgent.", "contact": { "email": "bo@client.test" } }))
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(server.store.pending_pipeline_runs(0, 100).await.expect("pending").is_empty(), "nothing marked");
    for number in [received.outcome.ticket_number.expect("a ticket"), created["ticket"]["number"].as_i64().expect("number")] {
        let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
        let plugin_events = detail["events"].as_array().expect("events").iter().filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("plugin."))).count();
        assert_eq!(plugin_events, 0, "{detail}");
        assert_eq!(detail["ticket"]["priority"], "normal", "not classified: {detail}");
    }

    let in_b = server.mail.receive(inbox_b, mail("b").as_bytes(), "api", None).await.expect("receive");
    assert!(in_b.outcome.run_pipeline, "the plugins cover inbox B");
    let number_b = in_b.outcome.ticket_number.expect("a ticket");
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{number_b}")).await;
    assert_eq!(events_of(&detail, "plugin.classified").len(), 1, "{detail}");
    assert_eq!(detail["ticket"]["priority"], "urgent", "{detail}");

    // What decides is the inbox of the ticket the message lands on: a reply in inbox A naming
    // (in its subject) A's ticket, since merged into inbox B's ticket, is marked and run there.
    let number_a = received.outcome.ticket_number.expect("a ticket");
    let (status, body) = admin.post(&format!("/api/v1/tickets/{number_a}/merge"), &json!({ "into": number_b })).await;
    assert_eq!(status, 200, "{body}");
    let reply = format!("From: Ana <ana@client.test>\r\nTo: support@desk.test\r\nSubject: Re: [#{number_a}] Urgent: login broken\r\nMessage-ID: <a2@client.test>\r\n\r\nStill broken.\r\n");
    let followed = server.mail.receive(inbox_a, reply.as_bytes(), "api", None).await.expect("receive");
    assert_eq!(followed.outcome.ticket_number, Some(number_b), "the ticket token, then the merge followed");
    assert!(followed.outcome.run_pipeline, "the ticket's inbox B is covered");
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{number_b}")).await;
    assert_eq!(events_of(&detail, "plugin.classified").len(), 2, "{detail}");
}

/// Marked messages are run a group at a time (views read together, runs written in one
/// transaction), yet each run is routed as if the runs before it were written first: the
/// router sees the agents' open tickets as those runs leave them, not as the group found them.
async fn runs_of_a_group_see_the_load_the_runs_before_them_left(backend: Backend) {
    let (server, admin) = with_bundled(backend).await;
    let (inbox, agent, supervisor) = (server.desk.inbox_a.id, server.desk.agent.id, server.desk.supervisor.id);
    // The supervisor holds two open tickets, the agent none (the agents are offline while
    // these are opened, so the router leaves them alone).
    let (status, second) = admin
        .post("/api/v1/tickets", &json!({ "inbox_id": inbox, "subject": "Invoice copy", "body_text": "Could I get a copy?", "contact": { "email": "eva@client.test" } }))
        .await;
    assert_eq!(status, 201, "{second}");
    for number in [server.desk.ticket_a, second["ticket"]["number"].as_i64().expect("number")] {
        let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
        let patch = json!({ "version": detail["ticket"]["version"], "assignee_id": supervisor });
        let (status, body) = admin.patch(&format!("/api/v1/tickets/{number}"), &patch).await;
        assert_eq!(status, 200, "{body}");
    }
    for user in [agent, supervisor] {
        let (status, body) = admin.patch(&format!("/api/v1/users/{user}"), &json!({ "availability": "online" })).await;
        assert_eq!(status, 200, "{body}");
    }
    // Four customers write at once; their mails are applied, then the four runs made as one group.
    let mut numbers = Vec::new();
    for i in 0..4 {
        let raw = format!(
            "From: Customer {i} <customer{i}@client.test>\r\nTo: support@desk.test\r\nSubject: Question {i}\r\n\
             Message-ID: <group-{i}@client.test>\r\n\r\nHello, I have a question about my account settings.\r\n"
        );
        let recorded = server.store.record_inbound(inbox, raw.as_bytes(), "imap", None).await.expect("record");
        let parsed = tandem_mail::parse(raw.as_bytes(), &tandem_mail::Limits::default());
        let outcome = server.store.apply_inbound(recorded.id, parsed.as_ref(), true).await.expect("apply");
        numbers.push(outcome.ticket_number.expect("a ticket"));
    }
    let runs: Vec<(i64, i64)> = server.store.pending_pipeline_runs(0, 10).await.expect("pending");
    assert_eq!(runs.len(), 4);
    let reports = server.plugins.on_marked_in_order(&runs).await;
    assert!(reports.iter().all(|r| r.as_ref().is_ok_and(|r| r.written)), "{reports:?}");

    // One after another: the agent takes the first two (0 and then 1 open, against 2); then
    // both hold 2 and the two after rotate between them: the agent 3 of the 4, the supervisor 1.
    let mut by_assignee = std::collections::BTreeMap::new();
    for number in &numbers {
        let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
        assert_eq!(events_of(&detail, "plugin.routed").len(), 1, "{detail}");
        *by_assignee.entry(detail["ticket"]["assignee"]["id"].as_i64().expect("assigned")).or_insert(0) += 1;
    }
    assert_eq!(by_assignee, [(supervisor, 1), (agent, 3)].into_iter().collect(), "agent {agent}, supervisor {supervisor}");
}

/// Runs made a group at a time come to what the same runs made one at a time come to, on
/// realistic mail: 60 generated mails (four languages, twelve customers who write again,
/// replies to earlier mails) applied to two servers whose agents are online and speak
/// different languages; one makes the runs one by one, the other in groups of ten. Every
/// ticket ends with the same fields, automatic replies and plugin events (their reasons
/// too, which name the load the router saw).
async fn groups_of_runs_come_to_what_runs_one_at_a_time_do(backend: Backend) {
    // Written from an hour before the test clock's time on (the responder leaves older mail
    // unanswered).
    let (_dir, files) = tandem_tests::generated_mail(60, 7, &["--customers", "12", "--base-date", "2026-03-02T08:00:00+00:00"]);
    let mut outcomes = Vec::new();
    for grouped in [false, true] {
        let (server, admin) = with_bundled(backend).await;
        let desk = &server.desk;
        server.desk_at_work(&admin).await;
        for file in &files {
            let raw = std::fs::read(file).expect("eml");
            let recorded = server.store.record_inbound(desk.inbox_a.id, &raw, "imap", None).await.expect("record");
            let parsed = tandem_mail::parse(&raw, &tandem_mail::Limits::default());
            server.store.apply_inbound(recorded.id, parsed.as_ref(), true).await.expect("apply");
        }
        let runs = server.store.pending_pipeline_runs(0, 1_000).await.expect("pending");
        assert_eq!(runs.len(), files.len(), "every generated mail is a customer message");
        let mut reports = Vec::new();
        if grouped {
            for group in runs.chunks(10) {
                reports.extend(server.plugins.on_marked_in_order(group).await);
            }
        } else {
            for &(number, message) in &runs {
                reports.push(server.plugins.on_marked(number, message).await);
            }
        }
        assert!(reports.iter().all(|r| r.as_ref().is_ok_and(|r| r.written)), "{reports:?}");
        let mut numbers: Vec<i64> = runs.iter().map(|&(number, _)| number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut tickets = Vec::new();
        for number in numbers {
            let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
            tickets.push(run_outcome(&detail));
        }
        outcomes.push(tickets);
    }
    let (one_by_one, grouped) = (&outcomes[0], &outcomes[1]);
    assert_eq!(one_by_one.len(), grouped.len());
    for (one, group) in one_by_one.iter().zip(grouped) {
        assert_eq!(one, group);
    }
    // What the groups had to get right happened: loads spread over the three agents, replies
    // threaded onto earlier tickets, customers answered once within the window.
    let assignees: std::collections::BTreeSet<String> = grouped.iter().map(|t| t["assignee"].to_string()).collect();
    assert!(assignees.len() >= 3, "{assignees:?}");
    let count = |kind: &str| grouped.iter().map(|t| t["events"].as_array().map_or(0, |e| e.iter().filter(|e| e["kind"] == kind).count())).sum::<usize>();
    assert!(grouped.len() < files.len(), "some mails are replies to earlier ones");
    assert!(count("plugin.responded") > 0 && count("plugin.no_reply") > 0, "{} replies", count("plugin.responded"));
}

/// What a ticket came to after its plugin runs, without what differs between two servers
/// (a call's duration and fuel).
fn run_outcome(detail: &Value) -> Value {
    let t = &detail["ticket"];
    let events: Vec<Value> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("plugin.") || k == "ticket.updated"))
        .map(|e| {
            let mut after = e["after"].clone();
            if let Some(map) = after.as_object_mut() {
                map.remove("duration_us");
                map.remove("fuel");
            }
            json!({ "kind": e["kind"], "field": e["field"], "before": e["before"], "after": after, "at": e["created_at"] })
        })
        .collect();
    let messages: Vec<Value> = detail["messages"].as_array().expect("messages").iter().map(|m| json!([m["kind"], m["body_text"]])).collect();
    json!({
        "number": t["number"], "status": t["status"], "priority": t["priority"], "tags": t["tags"], "category": t["category"],
        "language": t["language"], "team_id": t["team_id"], "assignee": t["assignee"]["id"], "events": events, "messages": messages,
    })
}
