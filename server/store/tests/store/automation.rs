//! Writing a plugin pipeline run, on SQLite and PostgreSQL: one transaction, every call on the
//! timeline in order, decisions the rules refuse at write time recorded as failures.

use serde_json::json;
use tandem_proto::{self as proto, PluginFailure, PluginFailureKind, PluginUsage, PluginWorld, Priority, UpdatePlugin};
use tandem_store::{
    Group, Store, backend_tests,
    automation::{PluginRef, PluginStep, RunToWrite, RunWritten, StepRecord},
    plugins::NewPluginVersion,
    testing::{Backend, actor, clock, desk, fresh_database, new_ticket, open_store},
};

backend_tests! {
    a_run_is_written_whole_in_call_order,
    decisions_refused_at_write_time_are_failures,
    a_marked_message_is_run_once,
    a_group_is_written_until_a_run_differs_from_what_was_computed,
}

async fn plugin(store: &Store, name: &str, world: PluginWorld) -> PluginRef {
    let p = store
        .add_plugin_version(None, NewPluginVersion {
            name,
            world,
            wit_version: "0.1.0",
            bytes: name.as_bytes(),
            bundled: false,
            enable_new: true,
            initial_config: json!({}),
        })
        .await
        .expect("plugin");
    PluginRef { id: p.id, name: p.name, version: p.active_version.number }
}

fn step(plugin: &PluginRef, record: StepRecord) -> PluginStep {
    PluginStep { plugin: plugin.clone(), usage: PluginUsage { duration_us: 42, fuel: 1_000, memory_bytes: 65_536 }, record }
}

fn classified(tags: &[&str], priority: Priority) -> StepRecord {
    StepRecord::Classified(proto::Classification {
        add_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        priority: Some(priority),
        category: Some("login".into()),
        language: Some("en".into()),
        spam: Some(false),
        confidence: 0.8,
        reason: "keywords".into(),
    })
}

/// Classify, route, a second router not consulted, reply: one version step, one timestamp,
/// the events in call order, the reply queued and sanitised, each call in its plugin's health.
async fn a_run_is_written_whole_in_call_order(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let (classifier, router, second, responder) = (
        plugin(&store, "classifier", PluginWorld::Classifier).await,
        plugin(&store, "router", PluginWorld::Router).await,
        plugin(&store, "second-router", PluginWorld::Router).await,
        plugin(&store, "responder", PluginWorld::Responder).await,
    );
    let before = store.get_ticket(&admin, desk.ticket_a).await.expect("ticket");

    let steps = [
        step(&classifier, classified(&["urgent"], Priority::High)),
        step(&router, StepRecord::Routed(proto::Routing { decided: true, team_id: Some(desk.team.id), assignee_id: Some(desk.agent.id), reason: "skills".into() })),
        step(&second, StepRecord::NotConsulted { why: "an earlier router decided".into() }),
        step(&responder, StepRecord::Replied {
            reply: proto::AutoReply {
                subject: "We got your message".into(),
                text: "Thank you, we answer soon.".into(),
                html: Some("<p>Thank you<script>alert(1)</script></p>".into()),
                template: Some("ack".into()),
            },
            reason: "first message".into(),
        }),
    ];
    let written = store.write_pipeline_run(desk.ticket_a, before.messages[0].id, false, &steps).await.expect("write");
    assert_eq!(written, RunWritten::default());

    let after = store.get_ticket(&admin, desk.ticket_a).await.expect("ticket");
    let t = &after.ticket;
    assert_eq!(t.tags, ["urgent"]);
    assert_eq!((t.priority, t.category.as_deref(), t.language.as_deref()), (Priority::High, Some("login"), Some("en")));
    assert_eq!((t.team_id, t.assignee.as_ref().map(|a| a.id)), (Some(desk.team.id), Some(desk.agent.id)));
    assert_eq!(t.version, before.ticket.version + 1, "one save for the whole run");
    let reply = after.messages.last().expect("reply");
    assert_eq!(reply.kind, proto::MessageKind::AutoReply);
    assert_eq!(reply.delivery_state, Some(proto::DeliveryState::Queued));
    let html = reply.body_html.as_deref().expect("html");
    assert!(html.contains("Thank you") && !html.contains("script"), "{html}");

    let new: Vec<&proto::Event> = after.events.iter().filter(|e| !before.events.iter().any(|b| b.id == e.id)).collect();
    let kinds: Vec<(&str, Option<&str>)> = new.iter().map(|e| (e.kind.as_str(), e.field.as_deref())).collect();
    assert_eq!(kinds[..8], [
        ("ticket.updated", Some("priority")),
        ("ticket.updated", Some("tags")),
        ("ticket.updated", Some("category")),
        ("ticket.updated", Some("language")),
        ("plugin.classified", None),
        ("ticket.updated", Some("team_id")),
        ("ticket.updated", Some("assignee_id")),
        ("plugin.routed", None),
    ]);
    assert!(kinds[8..].starts_with(&[("plugin.not_consulted", None)]), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&("plugin.responded", None)), "{kinds:?}");
    assert!(new.iter().all(|e| e.created_at == new[0].created_at), "one transaction, one time");
    let classified = new.iter().find(|e| e.kind == "plugin.classified").expect("classified");
    assert_eq!(classified.after["changed"], json!(["priority", "tags", "category", "language"]));
    assert_eq!((classified.after["plugin"].as_str(), classified.after["duration_us"].as_i64()), (Some("classifier"), Some(42)));
    let responded = new.iter().find(|e| e.kind == "plugin.responded").expect("responded");
    assert_eq!(responded.after["message_id"], json!(reply.id));
    assert_eq!(responded.actor.name, "responder");

    let mut calls: Vec<(String, i64)> = store.list_plugins(&admin).await.expect("plugins").into_iter().map(|p| (p.name, p.health.calls)).collect();
    calls.sort();
    assert_eq!(calls, [("classifier".to_owned(), 1), ("responder".to_owned(), 1), ("router".to_owned(), 1), ("second-router".to_owned(), 0)]);
}

/// The snapshot the plugins saw went stale: the router's assignee left the inbox before the
/// write. That decision is the router's failure (on the timeline and in its health), the other
/// calls are written; a plugin whose failures reach its limit is disabled by the write.
async fn decisions_refused_at_write_time_are_failures(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let (classifier, router) = (plugin(&store, "classifier", PluginWorld::Classifier).await, plugin(&store, "router", PluginWorld::Router).await);
    store
        .update_plugin(&admin, classifier.id, UpdatePlugin {
            limits: Some(proto::PluginLimits { max_consecutive_failures: 2, ..proto::PluginLimits::default() }),
            ..UpdatePlugin::default()
        })
        .await
        .expect("limits");
    store.set_membership(None, Group::Inbox, desk.inbox_b.id, desk.agent_b.id, false).await.expect("agent b leaves inbox b");
    let message = store.get_ticket(&admin, desk.ticket_b).await.expect("ticket").messages[0].id;

    let routed = StepRecord::Routed(proto::Routing { decided: true, team_id: None, assignee_id: Some(desk.agent_b.id), reason: "load".into() });
    let written = store
        .write_pipeline_run(desk.ticket_b, message, false, &[step(&classifier, classified(&["quote"], Priority::Low)), step(&router, routed)])
        .await
        .expect("write");
    assert_eq!(written.refused.len(), 1, "{written:?}");
    let (index, failure) = &written.refused[0];
    assert_eq!((*index, failure.kind), (1, PluginFailureKind::InvalidOutput));
    assert!(failure.message.starts_with("routing refused: "), "{}", failure.message);

    let after = store.get_ticket(&admin, desk.ticket_b).await.expect("ticket");
    assert_eq!((after.ticket.tags.as_slice(), after.ticket.priority), (&["quote".to_owned()][..], Priority::Low), "the classification stays");
    assert_eq!(after.ticket.assignee, None, "the refused routing changed nothing");
    let failed = after.events.iter().find(|e| e.kind == "plugin.failed").expect("failure on the timeline");
    assert_eq!(failed.after["failure"]["message"], json!(failure.message));
    let health = store.get_plugin(&admin, router.id).await.expect("router").health;
    assert_eq!((health.calls, health.failures, health.consecutive_failures), (1, 1, 1));

    // Two failed calls in a row reach the classifier's limit: the second write disables it.
    let crashed = || StepRecord::Failed(PluginFailure { kind: PluginFailureKind::Trap, message: "unreachable".into() });
    let first = store.write_pipeline_run(desk.ticket_b, message, false, &[step(&classifier, crashed())]).await.expect("write");
    assert!(first.disabled.is_empty());
    let second = store.write_pipeline_run(desk.ticket_b, message, false, &[step(&classifier, crashed())]).await.expect("write");
    assert_eq!(second.disabled.len(), 1);
    assert_eq!(second.disabled[0].0, classifier.id);
    let p = store.get_plugin(&admin, classifier.id).await.expect("classifier");
    assert!(!p.enabled);
    assert_eq!(p.health.auto_disabled_reason.as_deref(), Some(second.disabled[0].1.as_str()));
}

/// Mail the intake applies for the pipeline is marked in the same transaction; the run's write
/// clears the mark; a second run claiming the same message writes nothing (the intake and its
/// recovery after a crash cannot both answer a mail). An import without plugins marks nothing.
async fn a_marked_message_is_run_once(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let classifier = plugin(&store, "classifier", PluginWorld::Classifier).await;
    let mail = |n: u32| {
        format!("From: Carla <carla{n}@customer.test>\r\nTo: support@desk.test\r\nSubject: Invoice {n}\r\nMessage-ID: <m{n}@customer.test>\r\n\r\nWrong amount.\r\n")
            .into_bytes()
    };
    let apply = |raw: Vec<u8>, pipeline: bool| {
        let store = store.clone();
        async move {
            let recorded = store.record_inbound(desk.inbox_a.id, &raw, "test", None).await.expect("record");
            let parsed = tandem_mail::parse(&raw, &tandem_mail::Limits::default());
            store.apply_inbound(recorded.id, parsed.as_ref(), pipeline).await.expect("apply")
        }
    };

    let outcome = apply(mail(1), true).await;
    let (number, message) = (outcome.ticket_number.expect("ticket"), outcome.message_row_id.expect("message"));
    assert!(outcome.run_pipeline);
    assert_eq!(store.pending_pipeline_runs(0, 10).await.expect("pending"), [(number, message)]);
    assert!(store.pending_pipeline_runs(message, 10).await.expect("pending").is_empty(), "after the cursor");

    let once = store.write_pipeline_run(number, message, true, &[step(&classifier, classified(&["billing"], Priority::High))]).await.expect("write");
    assert!(!once.already_written);
    assert!(store.pending_pipeline_runs(0, 10).await.expect("pending").is_empty(), "the write cleared the mark");
    let twice = store.write_pipeline_run(number, message, true, &[step(&classifier, classified(&["other"], Priority::Low))]).await.expect("write");
    assert!(twice.already_written);
    let detail = store.get_ticket(&admin, number).await.expect("ticket");
    assert_eq!(detail.events.iter().filter(|e| e.kind == "plugin.classified").count(), 1);
    assert_eq!((detail.ticket.tags.as_slice(), detail.ticket.priority), (&["billing".to_owned()][..], Priority::High));

    let unmarked = apply(mail(2), false).await;
    assert!(!unmarked.run_pipeline);
    assert!(store.pending_pipeline_runs(0, 10).await.expect("pending").is_empty(), "no plugins, no mark");

    // Tickets opened through the API for the pipeline are marked too; seeded ones are not.
    let supervisor = actor(&store, &desk.supervisor).await;
    let api = store.create_ticket_for_plugins(&supervisor, new_ticket(desk.inbox_a.id, "Login", "dora@customer.test")).await.expect("ticket");
    store.create_ticket(&supervisor, new_ticket(desk.inbox_a.id, "Seeded", "eve@customer.test")).await.expect("ticket");
    assert_eq!(store.pending_pipeline_runs(0, 10).await.expect("pending"), [(api.ticket.number, api.messages[0].id)]);
}

/// Runs of one group are written in one transaction, in order, each seeing the ones before it;
/// the write stops after a run that is not written as computed (here a routing refused at
/// write time), because the runs after it were computed on what it was expected to leave:
/// their messages stay marked for the caller to run again. A group of runs already written
/// (the recovery first) stops at once.
async fn a_group_is_written_until_a_run_differs_from_what_was_computed(backend: Backend) {
    let db = fresh_database(backend).await;
    let store = open_store(&db, clock()).await;
    let desk = desk(&store).await;
    let admin = actor(&store, &desk.admin).await;
    let (classifier, router) = (plugin(&store, "classifier", PluginWorld::Classifier).await, plugin(&store, "router", PluginWorld::Router).await);
    let mut marked = Vec::new();
    for n in 1..=4 {
        let raw = format!("From: Carla <carla@customer.test>\r\nTo: support@desk.test\r\nSubject: Invoice {n}\r\nMessage-ID: <g{n}@customer.test>\r\n\r\nWrong amount.\r\n");
        let recorded = store.record_inbound(desk.inbox_a.id, raw.as_bytes(), "test", None).await.expect("record");
        let parsed = tandem_mail::parse(raw.as_bytes(), &tandem_mail::Limits::default());
        let outcome = store.apply_inbound(recorded.id, parsed.as_ref(), true).await.expect("apply");
        marked.push((outcome.ticket_number.expect("ticket"), outcome.message_row_id.expect("message")));
    }
    let tagged = |tag: &str| vec![step(&classifier, classified(&[tag], Priority::High))];
    // Agent B is no member of inbox A: the rules refuse that assignment when it is written.
    let refused = StepRecord::Routed(proto::Routing { decided: true, team_id: None, assignee_id: Some(desk.agent_b.id), reason: "load".into() });
    let steps = [tagged("first"), vec![step(&classifier, classified(&["second"], Priority::High)), step(&router, refused)], tagged("third"), tagged("fourth")];
    let runs: Vec<RunToWrite<'_>> =
        marked.iter().zip(&steps).map(|(&(number, message_id), steps)| RunToWrite { number, message_id, claim: true, steps }).collect();

    let written = store.write_pipeline_runs(&runs).await.expect("write");
    assert_eq!(written.len(), 2, "the first two written, the refused routing ends the group: {written:?}");
    assert!(written[0].as_computed() && !written[1].as_computed());
    assert_eq!(written[1].refused.len(), 1);
    for (i, &(number, _)) in marked.iter().enumerate().take(2) {
        let tags = store.get_ticket(&admin, number).await.expect("ticket").ticket.tags;
        assert_eq!(tags, [["first", "second"][i]]);
    }
    assert_eq!(store.pending_pipeline_runs(0, 10).await.expect("pending"), marked[2..], "the rest stay marked");

    let rest = store.write_pipeline_runs(&runs[2..]).await.expect("write the rest");
    assert_eq!(rest, vec![RunWritten::default(), RunWritten::default()]);
    assert_eq!(store.get_ticket(&admin, marked[3].0).await.expect("ticket").ticket.tags, ["fourth"]);
    assert!(store.pending_pipeline_runs(0, 10).await.expect("pending").is_empty());
    let again = store.write_pipeline_runs(&runs).await.expect("write again");
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(again[0].already_written);
}
