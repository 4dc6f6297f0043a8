//! The email channel end to end, against real servers started on 127.0.0.1: Dovecot for IMAP
//! and an aiosmtpd SMTP server delivering into the Dovecot users' Maildirs
//! (`tandem_tests::mailserver`). Also the raw-message API's threading, loop and bounce rules.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tandem_channel::ChannelSettings;
use tandem_mail::Limits;
use tandem_store::{backend_tests, testing::Backend};
use tandem_tests::{
    Api, TestServer,
    mailserver::{MAIL_PASSWORD, MailServers},
};

fn channel_settings() -> ChannelSettings {
    ChannelSettings { imap_poll: Duration::from_secs(1), outbox_tick: Duration::from_millis(200), retry_base_secs: 1, workers: true }
}

/// Waits until `check` returns `Some`, polling; panics with `what` after `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn connect_inbox(admin: &Api, inbox_id: i64, servers: &MailServers) {
    let (status, body) = admin
        .patch(&format!("/api/v1/inboxes/{inbox_id}/mail"), &json!({
            "imap": { "enabled": true, "host": "127.0.0.1", "port": servers.imap_port, "tls": "none", "user": "support",
                      "password": MAIL_PASSWORD, "folders": ["INBOX"], "after_import": "seen" },
            "smtp": { "enabled": true, "host": "127.0.0.1", "port": servers.smtp_port, "tls": "none" },
            "signature": "The Support Team"
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imap"]["password_set"], true);
    assert!(body["imap"].get("password").is_none(), "secrets are write-only: {body}");
}

/// Mail servers, a desk with its mail workers, the admin, and the first inbox connected.
async fn connected_desk(backend: Backend) -> (MailServers, TestServer, Api) {
    let servers = MailServers::start();
    let server = TestServer::start_mail(backend, channel_settings()).await;
    let admin = server.login(&server.desk.admin.email).await;
    connect_inbox(&admin, server.desk.inbox_a.id, &servers).await;
    (servers, server, admin)
}

fn customer_mail(id: &str, subject: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "From: Carla Customer <customer@client.test>\r\nTo: support@desk.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn tickets(api: &Api) -> Vec<Value> {
    let (status, page) = api.get("/api/v1/tickets?limit=200").await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn ticket(api: &Api, number: i64) -> Value {
    let (status, detail) = api.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, 200, "{detail}");
    detail
}

/// Customer mail in Dovecot → ticket (IDLE) → agent reply with a file over SMTP into the
/// customer's mailbox with threading headers → the customer's reply lands on the same ticket.
async fn round_trip_through_dovecot_and_smtp(backend: Backend) {
    let (servers, server, admin) = connected_desk(backend).await;
    let inbox = server.desk.inbox_a.id;

    let (status, test) = admin.post(&format!("/api/v1/inboxes/{inbox}/mail/test-imap"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(test["ok"], true, "{test}");
    let transcript = test["transcript"].to_string();
    assert!(transcript.contains("IDLE") && transcript.contains("Dovecot"), "{transcript}");
    let (_, test) = admin.post(&format!("/api/v1/inboxes/{inbox}/mail/test-smtp"), &json!({})).await;
    assert_eq!(test["ok"], true, "{test}");

    // Let the worker connect and enter IDLE, then deliver.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = Instant::now();
    servers.deliver("support", "1.customer", &customer_mail("first@client.test", "Printer on fire", "It is on fire. Help!", ""));
    let number = eventually("the ticket from IMAP", Duration::from_secs(15), || async {
        tickets(&admin).await.iter().find(|t| t["subject"] == "Printer on fire").and_then(|t| t["number"].as_i64())
    })
    .await;
    eprintln!("IMAP delivery → ticket in {:?} (IDLE)", delivered.elapsed());

    let detail = ticket(&admin, number).await;
    let first = &detail["messages"][0];
    assert_eq!(first["message_id"], "first@client.test");
    assert_eq!(first["mail"]["from"]["email"], "customer@client.test");
    assert_eq!(detail["ticket"]["contact"]["email"], "customer@client.test");

    // The agent replies with a file; it goes out through the SMTP server into the customer's
    // Maildir.
    let agent = server.login(&server.desk.agent.email).await;
    let manual = b"%PDF-1.4 how to unplug a printer\n\x00\xff binary tail".to_vec();
    let response = agent
        .request(reqwest::Method::POST, &format!("/api/v1/tickets/{number}/uploads"))
        .query(&[("filename", "Unplugging guide.pdf")])
        .header(reqwest::header::CONTENT_TYPE, "application/pdf")
        .body(manual.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201);
    let upload: Value = response.json().await.expect("upload json");
    let (status, posted) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({
            "body_text": "Unplug it, please.", "seen_version": detail["ticket"]["version"], "attachment_ids": [upload["id"]]
        }))
        .await;
    assert_eq!(status, 201, "{posted}");
    let reply_id = posted["message"]["id"].as_i64().expect("id");
    let sent = eventually("the reply in the customer's mailbox", Duration::from_secs(15), || async {
        servers.messages("customer").into_iter().next()
    })
    .await;
    let out = tandem_mail::parse(&sent, &Limits::default()).expect("our reply parses");
    assert_eq!(out.in_reply_to, vec!["first@client.test".to_owned()]);
    assert_eq!(out.references, vec!["first@client.test".to_owned()]);
    assert_eq!(out.subject, format!("[#{number}] Re: Printer on fire"));
    assert_eq!(out.reply_to.as_ref().map(|a| a.email.as_str()), Some(format!("support+t{number}@desk.test").as_str()));
    assert_eq!(out.from.as_ref().map(|a| a.email.as_str()), Some("support@desk.test"));
    assert!(out.text.contains("Unplug it, please.") && out.text.contains("The Support Team"), "{}", out.text);
    let files: Vec<_> = out.attachments.iter().map(|a| (a.filename.as_str(), a.content_type.as_str(), a.bytes.as_slice())).collect();
    assert_eq!(files, [("Unplugging guide.pdf", "application/pdf", manual.as_slice())], "the file goes out with the reply");
    let our_id = out.message_id.clone().expect("our Message-ID");
    eventually("delivery state sent", Duration::from_secs(10), || async {
        let d = ticket(&admin, number).await;
        d["messages"].as_array()?.iter().find(|m| m["id"] == reply_id && m["delivery_state"] == "sent").map(|_| ())
    })
    .await;

    // The customer answers our reply: same ticket, reopened from pending.
    servers.deliver("support", "2.customer", &customer_mail(
        "second@client.test",
        &format!("Re: [#{number}] Re: Printer on fire"),
        "Done, thanks.\r\n\r\nOn Mon, Support wrote:\r\n> Unplug it, please.",
        &format!("In-Reply-To: <{our_id}>\r\nReferences: <first@client.test> <{our_id}>\r\n"),
    ));
    let detail = eventually("the customer's reply on the ticket", Duration::from_secs(15), || async {
        let d = ticket(&admin, number).await;
        (d["messages"].as_array()?.len() == 3).then_some(d)
    })
    .await;
    assert_eq!(detail["messages"][2]["message_id"], "second@client.test");
    assert_eq!(detail["ticket"]["status"], "open", "a customer reply reopens a pending ticket");
    assert!(detail["messages"][2]["mail"]["folded_from"].is_u64(), "the quote is marked for folding");
    let printer_tickets = tickets(&admin).await.iter().filter(|t| t["subject"].as_str().unwrap_or_default().contains("Printer")).count();
    assert_eq!(printer_tickets, 1, "no second ticket");

    // The same message delivered again (another client copied it back) is not imported twice.
    servers.deliver("support", "3.again", &customer_mail("second@client.test", "Re: whatever", "Done, thanks.", ""));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ticket(&admin, number).await["messages"].as_array().map(Vec::len), Some(3));
    let (_, log) = admin.get(&format!("/api/v1/inboxes/{inbox}/intake")).await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(2), "{log}");
    assert!(servers.dovecot_log().contains("Login: user=<support>"));
}

/// A customer writes with a colleague in Cc: the reply goes to both ("reply all", the
/// colleague named in its Cc), a blind copy goes out unnamed, and none comes back to the
/// desk; the colleague's answer lands on the ticket and is copied next time; an agent can
/// narrow the copies, and what they may not copy is refused.
async fn a_reply_goes_to_everyone_on_the_customers_mail(backend: Backend) {
    let (servers, server, admin) = connected_desk(backend).await;
    servers.deliver("support", "1.customer", &customer_mail(
        "cc-first@client.test",
        "Invoice address",
        "Please change our invoice address.",
        "Cc: Dana Colleague <colleague@client.test>, support@desk.test\r\n",
    ));
    let number = eventually("the ticket from IMAP", Duration::from_secs(15), || async {
        tickets(&admin).await.iter().find(|t| t["subject"] == "Invoice address").and_then(|t| t["number"].as_i64())
    })
    .await;
    let detail = ticket(&admin, number).await;
    assert_eq!(detail["reply_cc"], json!([{ "email": "colleague@client.test", "name": "Dana Colleague" }]), "the desk's own address is not copied");

    let agent = server.login(&server.desk.agent.email).await;
    let (status, posted) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({
            "body_text": "Done.", "seen_version": detail["ticket"]["version"], "bcc": ["Accounts <accounts@partner.test>"]
        }))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["message"]["cc"], json!([{ "email": "colleague@client.test", "name": "Dana Colleague" }]));
    assert_eq!(posted["message"]["bcc"], json!([{ "email": "accounts@partner.test", "name": "Accounts" }]));
    let mut copies = Vec::new();
    for user in ["customer", "colleague", "accounts"] {
        let raw = eventually(&format!("the reply in {user}'s mailbox"), Duration::from_secs(15), || async { servers.messages(user).into_iter().next() }).await;
        copies.push(raw);
    }
    assert!(copies.windows(2).all(|w| w[0] == w[1]), "one message to three recipients");
    let out = tandem_mail::parse(&copies[0], &Limits::default()).expect("our reply parses");
    assert_eq!(out.to.iter().map(|a| a.email.as_str()).collect::<Vec<_>>(), ["customer@client.test"]);
    assert_eq!(out.cc.iter().map(|a| (a.email.as_str(), a.name.as_deref())).collect::<Vec<_>>(), [("colleague@client.test", Some("Dana Colleague"))]);
    assert!(out.header("bcc").is_none() && !String::from_utf8_lossy(&copies[0]).contains("accounts@partner.test"), "a blind copy is not named");
    let our_id = out.message_id.clone().expect("our Message-ID");
    // The copy's server bounces it later: the reply stays sent (the customer has it; a "send
    // again" would send it twice), the copy's failure is said on it.
    eventually("the reply sent", Duration::from_secs(10), || async {
        let d = ticket(&admin, number).await;
        d["messages"].as_array()?.iter().any(|m| m["message_id"] == our_id.as_str() && m["delivery_state"] == "sent").then_some(())
    })
    .await;
    servers.deliver("support", "2.dsn", format!(
        "From: MAILER-DAEMON@mx.client.test\r\nTo: support@desk.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <cc-dsn@mx>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; Colleague@client.test\r\nAction: failed\r\n\
         Status: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{our_id}>\r\n\r\n--B--\r\n"
    ).as_bytes());
    let reply = eventually("the copy's bounce on the reply", Duration::from_secs(15), || async {
        let d = ticket(&admin, number).await;
        d["messages"].as_array()?.iter().find(|m| m["message_id"] == our_id.as_str() && !m["delivery_error"].is_null()).cloned()
    })
    .await;
    assert_eq!(reply["delivery_state"], "sent", "{reply}");
    let error = reply["delivery_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("not delivered to 5.2.2 Colleague@client.test") && error.contains("mailbox full"), "{reply}");
    let detail = ticket(&admin, number).await;
    let bounced = detail["events"].as_array().expect("events").iter().find(|e| e["kind"] == "message.bounced").expect("bounce event").clone();
    assert_eq!((bounced["after"]["copy"].as_bool(), bounced["after"]["failed"].as_bool()), (Some(true), Some(true)), "{bounced}");
    let added = detail["events"].as_array().expect("events").iter().rev().find(|e| e["kind"] == "message.added").expect("event").clone();
    assert_eq!(added["after"]["cc"], json!(["colleague@client.test"]), "{added}");
    assert_eq!(added["after"]["bcc"], json!(["accounts@partner.test"]), "{added}");

    // The colleague answers for the customer, who is in Cc: same ticket; the next reply
    // copies the colleague (the contact is its To).
    servers.deliver("support", "3.colleague", format!(
        "From: Dana Colleague <colleague@client.test>\r\nTo: support@desk.test\r\nCc: customer@client.test\r\nSubject: Re: [#{number}] Invoice address\r\n\
         Message-ID: <cc-second@client.test>\r\nIn-Reply-To: <{our_id}>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nThe new address is attached.\r\n"
    ).as_bytes());
    let detail = eventually("the colleague's answer on the ticket", Duration::from_secs(15), || async {
        let d = ticket(&admin, number).await;
        (d["messages"].as_array()?.len() == 3).then_some(d)
    })
    .await;
    assert_eq!(detail["reply_cc"], json!([{ "email": "colleague@client.test", "name": "Dana Colleague" }]));

    // What may not be copied is refused, and nothing is sent.
    let version = &detail["ticket"]["version"];
    for (body, field) in [
        (json!({ "body_text": "x", "seen_version": version, "cc": ["support+t1@desk.test"] }), "cc"),
        (json!({ "body_text": "x", "seen_version": version, "cc": ["not an address"] }), "cc"),
        (json!({ "body_text": "x", "seen_version": version, "bcc": ["colleague@client.test"] }), "bcc"),
    ] {
        let (status, refused) = agent.post(&format!("/api/v1/tickets/{number}/replies"), &body).await;
        assert_eq!((status, refused["error"]["field"].as_str()), (422, Some(field)), "{refused}");
    }
    let (status, refused) = agent.post(&format!("/api/v1/tickets/{number}/notes"), &json!({ "body_text": "x", "seen_version": version, "cc": ["a@b.test"] })).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (422, Some("cc")), "notes are not mailed: {refused}");

    // The agent takes the copies out: only the customer gets this one.
    let (status, posted) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({ "body_text": "Changed.", "seen_version": version, "cc": [] }))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert!(posted["message"].get("cc").is_none(), "{posted}");
    eventually("the second reply in the customer's mailbox", Duration::from_secs(15), || async { (servers.messages("customer").len() == 2).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(servers.messages("colleague").len(), 1, "not copied this time");
    assert_eq!(servers.messages("accounts").len(), 1);
    assert_eq!(servers.messages("support").len(), 3, "no copy came back to the desk (the customer's mail, the bounce, the colleague's)");

    // Whoever a reply copied takes part in the ticket: a new mail of theirs with its token
    // (no threading headers) joins it, as the contact's would; a stranger's would not.
    let before = tickets(&admin).await.len();
    servers.deliver("support", "4.accounts", format!(
        "From: Accounts <accounts@partner.test>\r\nTo: support@desk.test\r\nSubject: [#{number}] Invoice address: the copy we need\r\n\
         Message-ID: <cc-accounts@partner.test>\r\n\r\nPlease send the invoice here too.\r\n"
    ).as_bytes());
    eventually("the blind copy's mail on the ticket", Duration::from_secs(15), || async {
        let d = ticket(&admin, number).await;
        d["messages"].as_array()?.iter().any(|m| m["message_id"] == "cc-accounts@partner.test").then_some(())
    })
    .await;
    assert_eq!(tickets(&admin).await.len(), before, "no new ticket");

    // A copy the receiving server refuses (the sink refuses `reject*`) does not keep the reply
    // from the others: sent, the refusal named on the message.
    let version = ticket(&admin, number).await["ticket"]["version"].clone();
    let (status, posted) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({
            "body_text": "One more thing.", "seen_version": version, "cc": ["reject-typo@client.test", "colleague@client.test"]
        }))
        .await;
    assert_eq!(status, 201, "{posted}");
    let reply_id = posted["message"]["id"].as_i64().expect("id");
    let sent = eventually("the reply sent despite the refused copy", Duration::from_secs(15), || async {
        let d = ticket(&admin, number).await;
        d["messages"].as_array()?.iter().find(|m| m["id"] == reply_id && m["delivery_state"] == "sent").cloned()
    })
    .await;
    let error = sent["delivery_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("not delivered to reject-typo@client.test: ") && error.contains("550"), "{sent}");
    assert_eq!(servers.messages("customer").len(), 3);
    assert_eq!(servers.messages("colleague").len(), 2, "the other copy went out");
    assert!(servers.messages("reject-typo").is_empty());
}

/// The SMTP server is down while a reply is sent: the message stays queued with the error
/// visible, and is delivered exactly once when the server is back.
async fn smtp_outage_then_recovery(backend: Backend) {
    let (mut servers, server, admin) = connected_desk(backend).await;
    servers.deliver("support", "1.customer", &customer_mail("outage@client.test", "Outage test", "Hello?", ""));
    let number = eventually("the ticket", Duration::from_secs(15), || async {
        tickets(&admin).await.iter().find(|t| t["subject"] == "Outage test").and_then(|t| t["number"].as_i64())
    })
    .await;

    servers.stop_smtp();
    let agent = server.login(&server.desk.agent.email).await;
    let mut reply_ids = Vec::new();
    for text in ["First answer.", "Second answer."] {
        let detail = ticket(&agent, number).await;
        let (status, posted) = agent
            .post(&format!("/api/v1/tickets/{number}/replies"), &json!({ "body_text": text, "seen_version": detail["ticket"]["version"] }))
            .await;
        assert_eq!(status, 201, "{posted}");
        reply_ids.push(posted["message"]["id"].as_i64().expect("id"));
    }
    let failed_attempt = eventually("a failed attempt recorded", Duration::from_secs(10), || async {
        let d = ticket(&admin, number).await;
        d["messages"].as_array()?.iter().find(|m| m["id"] == reply_ids[0] && m["delivery_state"] == "queued" && m["delivery_error"].is_string()).cloned()
    })
    .await;
    assert!(failed_attempt["delivery_error"].as_str().unwrap_or_default().len() > 5, "{failed_attempt}");
    assert!(servers.messages("customer").is_empty());

    servers.start_smtp();
    eventually("both replies sent", Duration::from_secs(30), || async {
        let d = ticket(&admin, number).await;
        let msgs = d["messages"].as_array()?;
        reply_ids.iter().all(|id| msgs.iter().any(|m| m["id"] == *id && m["delivery_state"] == "sent")).then_some(())
    })
    .await;
    let delivered = servers.messages("customer");
    assert_eq!(delivered.len(), 2, "each reply exactly once");
    assert_eq!(server.store.outbox_counts().await.expect("counts"), vec![("sent".to_owned(), 2)], "outbox drained");
}

/// Dovecot is restarted in the middle of importing 1,000 messages: everything arrives once.
async fn dovecot_restart_during_a_large_import(backend: Backend) {
    let mut servers = MailServers::start();
    const N: usize = 1000;
    for i in 0..N {
        let raw = format!(
            "From: Customer {i} <c{i}@bulk.test>\r\nTo: support@desk.test\r\nSubject: Question number {i}\r\nMessage-ID: <q{i}@bulk.test>\r\n\r\nBody of question {i}.\r\n"
        );
        servers.deliver("support", &format!("{i:05}.bulk"), raw.as_bytes());
    }
    let server = TestServer::start_mail(backend, channel_settings()).await;
    let admin = server.login(&server.desk.admin.email).await;
    connect_inbox(&admin, server.desk.inbox_a.id, &servers).await;
    let inbox = server.desk.inbox_a.id;
    let count = || async {
        let (_, log) = admin.get(&format!("/api/v1/inboxes/{inbox}/intake?limit=1")).await;
        log["items"][0]["id"].as_i64().unwrap_or(0)
    };
    eventually("the import to start", Duration::from_secs(30), || async { (count().await >= 50).then_some(()) }).await;
    servers.stop_dovecot();
    let at_restart = count().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    servers.start_dovecot();
    eprintln!("Dovecot restarted after {at_restart} of {N} messages");
    eventually("all messages imported", Duration::from_secs(180), || async {
        // Stored first, then processed: read the count before the pending list, or the last
        // message can be stored between the two reads and be taken for processed.
        let total = count().await;
        let n = server.store.pending_inbound(1).await.ok()?;
        (n.is_empty() && total as usize >= N).then_some(())
    })
    .await;
    // Exactly N intake entries, N tickets, no duplicates.
    let mut seen = std::collections::HashSet::new();
    for item in admin.intake_log(inbox).await {
        assert_eq!(item["state"], "ticket", "{item}");
        assert!(seen.insert(item["message_id"].as_str().expect("id").to_owned()), "duplicate {item}");
    }
    assert_eq!(seen.len(), N);
}

/// Threading, loops, bounces and bad input through `POST /inboxes/{id}/messages/raw`.
async fn raw_intake_threads_and_defends(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    let post_raw = |raw: Vec<u8>| {
        let admin = admin.clone();
        async move {
            let response = admin.request(reqwest::Method::POST, &format!("/api/v1/inboxes/{inbox}/messages/raw")).body(raw).send().await.expect("request");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, first) = post_raw(customer_mail("root@client.test", "Cannot log in", "Password reset does not work.", "")).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["inbound"]["state"], "ticket");
    let number = first["inbound"]["ticket_number"].as_i64().expect("number");

    // The same message again: a duplicate, not a second message.
    let (status, again) = post_raw(customer_mail("root@client.test", "Cannot log in", "Password reset does not work.", "")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);

    // References-only follow-up (Zammad #5716) threads.
    let (_, r) = post_raw(customer_mail("ref-only@client.test", "more info", "Here is a screenshot.", "References: <unknown@x> <root@client.test>\r\n")).await;
    assert_eq!(r["inbound"]["state"], "reply", "{r}");
    assert_eq!(r["inbound"]["ticket_number"], number);

    // The plus address threads (a client that drops In-Reply-To).
    let plus = format!("From: customer@client.test\r\nTo: support+t{number}@desk.test\r\nSubject: hello\r\nMessage-ID: <plus@client.test>\r\n\r\nvia plus\r\n");
    let (_, r) = post_raw(plus.into_bytes()).await;
    assert_eq!(r["inbound"]["ticket_number"], number, "{r}");

    // The subject token threads only for participants (Zammad #5064): a stranger opens a new ticket.
    let stranger = format!("From: mallory@evil.test\r\nTo: support@desk.test\r\nSubject: Re: [#{number}] Cannot log in\r\nMessage-ID: <s@evil.test>\r\n\r\nlet me in\r\n");
    let (_, r) = post_raw(stranger.into_bytes()).await;
    assert_eq!(r["inbound"]["state"], "ticket", "{r}");
    assert_ne!(r["inbound"]["ticket_number"], number);
    let (_, r) = post_raw(customer_mail("token@client.test", &format!("Re: [#{number}] Cannot log in"), "still broken", "")).await;
    assert_eq!(r["inbound"]["ticket_number"], number, "{r}");

    // A reply without any threading header joins an open ticket with its subject that the
    // sender takes part in: here one they wrote on without owning it; a stranger's does not.
    let mail = |from: &str, id: &str, headers: &str| {
        format!("From: {from}\r\nTo: support@desk.test\r\nSubject: Re: Cannot log in\r\nMessage-ID: <{id}>\r\n{headers}\r\nsame here\r\n").into_bytes()
    };
    let (_, r) = post_raw(mail("colleague@client.test", "c1@client.test", "In-Reply-To: <root@client.test>\r\n")).await;
    assert_eq!(r["inbound"]["ticket_number"], number, "{r}");
    let (_, r) = post_raw(mail("colleague@client.test", "c2@client.test", "")).await;
    assert_eq!(r["inbound"]["state"], "reply", "{r}");
    assert_eq!(r["inbound"]["ticket_number"], number, "{r}");
    let (_, r) = post_raw(mail("outsider@else.test", "o1@else.test", "")).await;
    assert_eq!(r["inbound"]["state"], "ticket", "{r}");
    assert_ne!(r["inbound"]["ticket_number"], number);

    // An auto-reply that matches no ticket: recorded, no ticket.
    let ooo = "From: away@client.test\r\nTo: support@desk.test\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@client.test>\r\n\r\nI am away.\r\n";
    let (_, r) = post_raw(ooo.as_bytes().to_vec()).await;
    assert_eq!(r["inbound"]["state"], "auto_reply", "{r}");
    assert!(r["inbound"]["ticket_number"].is_null());

    // Unparseable input is kept and visible.
    let (status, r) = post_raw(b"\r\n\r\n   \r\n".to_vec()).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["inbound"]["state"], "unparseable");
    let (status, raw) = {
        let response = admin.request(reqwest::Method::GET, &format!("/api/v1/intake/{}/raw", r["inbound"]["id"])).send().await.expect("raw");
        (response.status().as_u16(), response.bytes().await.expect("bytes"))
    };
    assert_eq!(status, 200);
    assert_eq!(&raw[..], b"\r\n\r\n   \r\n");
    // A provider's JSON webhook posted here by mistake is not mail: visible, not a ticket.
    let tickets_before = tickets(&admin).await.len();
    let (status, r) = post_raw(br#"{"event": "inbound", "from": "customer@client.test", "subject": "Hi"}"#.to_vec()).await;
    assert_eq!((status, r["inbound"]["state"].as_str()), (201, Some("unparseable")), "{r}");
    assert!(r["inbound"]["detail"].as_str().unwrap_or_default().contains("no mail header"), "{r}");
    assert_eq!(tickets(&admin).await.len(), tickets_before);

    // A bounce of our reply marks it failed and opens nothing.
    let detail = ticket(&admin, number).await;
    let agent = server.login(&server.desk.agent.email).await;
    let (_, posted) = agent.post(&format!("/api/v1/tickets/{number}/replies"), &json!({ "body_text": "Try now.", "seen_version": detail["ticket"]["version"] })).await;
    let our_id = posted["message"]["message_id"].as_str().expect("our id").to_owned();
    let before = tickets(&admin).await.len();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.client.test\r\nTo: support@desk.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; customer@client.test\r\nAction: failed\r\n\
         Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{our_id}>\r\n\r\n--B--\r\n"
    );
    let (_, r) = post_raw(dsn.into_bytes()).await;
    assert_eq!(r["inbound"]["state"], "bounce", "{r}");
    assert_eq!(tickets(&admin).await.len(), before, "a bounce opens no ticket");
    let detail = ticket(&admin, number).await;
    let reply = detail["messages"].as_array().expect("messages").iter().find(|m| m["message_id"] == our_id.as_str()).expect("reply");
    assert_eq!(reply["delivery_state"], "failed");
    assert!(reply["delivery_error"].as_str().unwrap_or_default().contains("mailbox unavailable"), "{reply}");

    // Our own mail coming back is a loop, not a ticket: known by its Message-ID alone, even
    // when a forwarder rewrote the sender and dropped our header (the group test below sends
    // one known by our address and header).
    let looped = format!("From: forwarder@client.test\r\nTo: support@desk.test\r\nSubject: [#{number}] Re: x\r\nMessage-ID: <{our_id}>\r\n\r\nloop\r\n");
    let (_, r) = post_raw(looped.into_bytes()).await;
    assert_eq!(r["inbound"]["state"], "loop", "{r}");

    // A customer writing to a closed ticket gets a new ticket linked to the old one.
    let detail = ticket(&admin, number).await;
    let (status, closed) = admin.patch(&format!("/api/v1/tickets/{number}"), &json!({ "status": "closed", "version": detail["ticket"]["version"] })).await;
    assert_eq!(status, 200, "{closed}");
    let (_, r) = post_raw(customer_mail("late@client.test", "Re: Cannot log in", "One more thing", &format!("In-Reply-To: <{our_id}>\r\n"))).await;
    assert_eq!(r["inbound"]["state"], "ticket", "{r}");
    assert!(r["inbound"]["detail"].as_str().unwrap_or_default().contains(&format!("#{number}")), "{r}");

    // Wrong role, wrong inbox, empty and oversized bodies: clear errors.
    let agent_raw = agent.request(reqwest::Method::POST, &format!("/api/v1/inboxes/{inbox}/messages/raw")).body("From: a@b\r\n\r\nx").send().await.expect("req");
    assert_eq!(agent_raw.status().as_u16(), 403);
    let (status, _) = {
        let r = admin.request(reqwest::Method::POST, "/api/v1/inboxes/999999/messages/raw").body("From: a@b\r\n\r\nx").send().await.expect("req");
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 404);
    let (status, _) = post_raw(Vec::new()).await;
    assert_eq!(status, 422);
    // 65 MiB declared: refused from the headers alone, before any of the body is sent (a
    // client writing the whole body would race the server's answer and closed connection).
    let token = server.token_for(&server.desk.admin).await.bearer.expect("a token");
    let head = format!(
        "POST /api/v1/inboxes/{inbox}/messages/raw HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
        server.base.trim_start_matches("http://"),
        65 * 1024 * 1024
    );
    let answer = raw_http(&server.base, head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    // Without a declared length (chunked), the body is read up to the limit and refused once
    // it goes past it: here one byte past, after which the client sends nothing more.
    let limit = 64 * 1024 * 1024;
    let mut chunked = format!(
        "POST /api/v1/inboxes/{inbox}/messages/raw HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: message/rfc822\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.base.trim_start_matches("http://")
    )
    .into_bytes();
    let piece = vec![b'a'; 1024 * 1024];
    for _ in 0..limit / piece.len() {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(&piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"1\r\na\r\n");
    let answer = raw_http(&server.base, &chunked).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{}", answer.chars().take(300).collect::<String>());
    assert_eq!(admin.get("/api/v1/me").await.0, 200);
}

/// Sends `request` as is on a new connection and returns what the server answers (until it
/// closes the connection or stops sending for a second).
async fn raw_http(base: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.expect("connect");
    stream.write_all(request).await.expect("send the request head");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(std::time::Duration::from_secs(1), stream.read(&mut buffer)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// An SLA breach is mailed to the inbox's supervisor through the inbox's SMTP server (the
/// sender's steps called one by one on the test clock), with a link to the ticket; a second
/// claim finds nothing left to send.
async fn sla_alerts_are_mailed_to_the_people_they_notify(backend: Backend) {
    let server = TestServer::start(backend).await;
    let servers = MailServers::start();
    let admin = server.token_for(&server.desk.admin).await;
    let (s, b) = admin
        .patch(&format!("/api/v1/inboxes/{}/mail", server.desk.inbox_a.id), &json!({
            "smtp": { "enabled": true, "host": "127.0.0.1", "port": servers.smtp_port, "tls": "none" } }))
        .await;
    assert_eq!(s, 200, "{b}");
    let policy = json!({ "name": "Support 1h", "inbox_id": server.desk.inbox_a.id, "first_response_minutes": 60, "escalation": { "notify": true } });
    assert_eq!(admin.post("/api/v1/sla/policies", &policy).await.0, 201);
    server.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(server.store.run_timers().await.expect("timers").sla_breaches, 1);
    let mails = server.store.claim_notification_mail(10).await.expect("claim");
    assert_eq!(mails.len(), 1, "the supervisor of inbox A (the ticket has no assignee): {mails:?}");
    for mail in &mails {
        let result = tandem_channel::smtp::deliver_notification(&server.store, mail).await;
        assert!(matches!(result, tandem_store::mail::OutboxResult::Sent), "{result:?}");
        server.store.finish_notification_mail(mail, result, 1).await.expect("finish");
    }
    assert!(server.store.claim_notification_mail(10).await.expect("claim again").is_empty());
    let received = eventually("the notification in the supervisor's mailbox", Duration::from_secs(10), || async {
        servers.messages("supervisor").into_iter().next()
    })
    .await;
    // Unfolded: long header lines are folded onto continuation lines.
    let text = String::from_utf8_lossy(&received).replace("\r\n ", " ").replace("\n ", " ");
    assert!(text.contains(&format!("Subject: [Tandem] #{} Cannot log in: first response breached", server.desk.ticket_a)), "{text}");
    assert!(text.contains(&format!("/tickets/{}", server.desk.ticket_a)), "{text}");
    assert!(text.contains("Auto-Submitted: auto-generated") && !text.contains("\nReply-To:"), "a notice, not a reply into the ticket: {text}");
}

backend_tests! {
    round_trip_through_dovecot_and_smtp,
    a_reply_goes_to_everyone_on_the_customers_mail,
    raw_intake_threads_and_defends,
    sla_alerts_are_mailed_to_the_people_they_notify,
    messages_applied_together_thread_and_fail_together,
    a_refused_mail_holds_back_only_the_mails_after_it,
    a_failed_imap_batch_leaves_the_folder_at_the_last_good_one,
    large_mails_are_fetched_a_few_at_a_time,
    an_automatic_reply_to_an_api_ticket_goes_out_at_once,
    a_failed_reply_is_sent_again_once_smtp_is_set_up,
    the_files_inside_a_winmail_dat_are_the_messages_attachments,
    a_first_read_imports_the_existing_mail_the_inbox_asks_for,
}

/// Outlook's TNEF `winmail.dat` (a real one, from MimeKit's tests): the picture inside is the
/// message's attachment, whole and downloadable; the two embedded Outlook messages, which
/// cannot be shown, are listed as kept in the raw message; the `winmail.dat` itself is not
/// offered as an opaque file.
async fn the_files_inside_a_winmail_dat_are_the_messages_attachments(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    let raw = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail/mimekit/tnef/rich-text.eml")).expect("fixture");
    let response = admin.request(reqwest::Method::POST, &format!("/api/v1/inboxes/{inbox}/messages/raw")).body(raw).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 201);
    let posted: Value = response.json().await.expect("json");
    assert_eq!(posted["inbound"]["state"], "ticket", "{posted}");
    let detail = ticket(&admin, posted["inbound"]["ticket_number"].as_i64().expect("number")).await;
    let message = &detail["messages"][0];
    let files: Vec<(&str, &str, i64)> = message["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| (a["filename"].as_str().unwrap_or(""), a["content_type"].as_str().unwrap_or(""), a["size"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(files, [("kitten-playing-with-a-christmas-tree.jpg", "image/jpeg", 375_081)], "{message}");
    let id = message["attachments"][0]["id"].as_i64().expect("id");
    let download = admin.send(reqwest::Method::GET, &format!("/api/v1/attachments/{id}"), None).await;
    assert_eq!(download.status().as_u16(), 200);
    let bytes = download.bytes().await.expect("bytes");
    assert_eq!(bytes.len(), 375_081);
    assert_eq!(&bytes[..4], b"\xff\xd8\xff\xe0", "a JPEG (JFIF)");
    let skipped = message["mail"]["skipped_parts"].as_array().expect("skipped parts");
    assert_eq!(skipped.len(), 2, "{message}");
    assert!(skipped.iter().all(|p| p["reason"].as_str().is_some_and(|r| r.contains("winmail.dat") && r.contains("kept in the raw message"))), "{skipped:?}");
}

/// A reply written while the inbox has no SMTP fails at once, visibly; "send again" is refused
/// until an admin sets SMTP up (and for anything but a failed reply, and for callers who may not
/// work the ticket); then two agents asking at once send it once, into the customer's mailbox,
/// with the resend and the delivery on the ticket's timeline.
async fn a_failed_reply_is_sent_again_once_smtp_is_set_up(backend: Backend) {
    let servers = MailServers::start();
    let server = TestServer::start_mail(backend, channel_settings()).await;
    let desk = server.desk.clone();
    let number = desk.ticket_a;
    let (admin, agent, supervisor) = (server.login(&desk.admin.email).await, server.login(&desk.agent.email).await, server.login(&desk.supervisor.email).await);
    let detail = ticket(&agent, number).await;
    let (status, posted) = agent
        .post(&format!("/api/v1/tickets/{number}/replies"), &json!({ "body_text": "Please try again now.", "seen_version": detail["ticket"]["version"] }))
        .await;
    assert_eq!(status, 201, "{posted}");
    let reply = posted["message"]["id"].as_i64().expect("id");
    let failed = eventually("the reply failed", Duration::from_secs(10), || async {
        ticket(&agent, number).await["messages"].as_array()?.iter().find(|m| m["id"] == reply && m["delivery_state"] == "failed").cloned()
    })
    .await;
    assert!(failed["delivery_error"].as_str().unwrap_or_default().contains("SMTP disabled"), "{failed}");

    let resend = |id: i64| format!("/api/v1/messages/{id}/resend");
    let (status, refused) = agent.post(&resend(reply), &json!({})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("invalid_state")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("SMTP"), "{refused}");
    let (status, patched) = admin
        .patch(&format!("/api/v1/inboxes/{}/mail", desk.inbox_a.id), &json!({
            "smtp": { "enabled": true, "host": "127.0.0.1", "port": servers.smtp_port, "tls": "none" } }))
        .await;
    assert_eq!(status, 200, "{patched}");
    // Who may not, and what is not a failed reply.
    let (status, body) = server.login(&desk.observer.email).await.post(&resend(reply), &json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.login(&desk.agent_b.email).await.post(&resend(reply), &json!({})).await;
    assert_eq!(status, 404, "another inbox's message is not found: {body}");
    let (status, body) = agent.post(&resend(i64::MAX), &json!({})).await;
    assert_eq!(status, 404, "{body}");
    let customers = detail["messages"][0]["id"].as_i64().expect("the customer's message");
    let (status, body) = agent.post(&resend(customers), &json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(servers.messages("anna").is_empty(), "nothing sent so far");

    // Two agents at once: one queues it, the other finds it on its way; it goes out once.
    let (path, empty) = (resend(reply), json!({}));
    let ((s1, b1), (s2, b2)) = tokio::join!(agent.post(&path, &empty), supervisor.post(&path, &empty));
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{b1} {b2}");
    let queued = if s1 == 200 { b1 } else { b2 };
    assert_eq!((queued["id"].as_i64(), queued["kind"].as_str()), (Some(reply), Some("reply")), "{queued}");
    assert!(queued["delivery_error"].is_null() && queued["delivery_state"] != "failed", "{queued}");
    eventually("the reply sent", Duration::from_secs(20), || async {
        ticket(&agent, number).await["messages"].as_array()?.iter().any(|m| m["id"] == reply && m["delivery_state"] == "sent").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = servers.messages("anna");
    assert_eq!(delivered.len(), 1, "sent once");
    let out = tandem_mail::parse(&delivered[0], &Limits::default()).expect("parses");
    assert!(out.subject.contains(&format!("[#{number}]")) && out.text.contains("Please try again now."), "{} / {}", out.subject, out.text);
    assert_eq!(out.message_id.as_deref(), failed["message_id"].as_str(), "the same message, not a copy");
    let (status, again) = agent.post(&path, &json!({})).await;
    assert_eq!(status, 409, "a delivered message is not sent twice: {again}");

    let events = ticket(&admin, number).await["events"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).filter(|k| k.starts_with("message.") && *k != "message.added").collect();
    assert_eq!(kinds, ["message.delivery_failed", "message.resent", "message.sent"], "{events:?}");
    let resent = events.iter().find(|e| e["kind"] == "message.resent").expect("resent");
    assert!([desk.agent.id, desk.supervisor.id].contains(&resent["actor"]["id"].as_i64().unwrap_or_default()), "{resent}");
    assert!(resent["before"]["error"].as_str().unwrap_or_default().contains("SMTP disabled"), "{resent}");
    assert_eq!(server.store.outbox_counts().await.expect("counts"), vec![("sent".to_owned(), 1)]);
}

/// A ticket opened through the API whose pipeline queues an automatic reply wakes the sender:
/// the reply is in the customer's mailbox long before the sender's next tick (two minutes
/// here).
async fn an_automatic_reply_to_an_api_ticket_goes_out_at_once(backend: Backend) {
    let servers = MailServers::start();
    let settings = ChannelSettings { imap_poll: Duration::from_secs(30), outbox_tick: Duration::from_secs(120), retry_base_secs: 1, workers: true };
    let server = TestServer::start_mail(backend, settings).await;
    tandem_plugins::testing::install_bundled(server.plugins.registry()).await;
    let admin = server.login(&server.desk.admin.email).await;
    let (status, body) = admin
        .patch(&format!("/api/v1/inboxes/{}/mail", server.desk.inbox_a.id), &json!({
            "smtp": { "enabled": true, "host": "127.0.0.1", "port": servers.smtp_port, "tls": "none" } }))
        .await;
    assert_eq!(status, 200, "{body}");
    // Let the sender take its first look at the outbox (nothing there) and wait for its tick.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (status, created) = admin
        .post("/api/v1/tickets", &json!({
            "inbox_id": server.desk.inbox_a.id,
            "subject": "Cannot log in",
            "body_text": "Hello, I cannot log in since this morning.",
            "contact": { "email": "customer@client.test", "name": "Carla Customer" }
        }))
        .await;
    assert_eq!(status, 201, "{created}");
    let number = created["ticket"]["number"].as_i64().expect("number");
    assert!(created["messages"].as_array().expect("messages").iter().any(|m| m["kind"] == "auto_reply"), "{created}");
    let sent = eventually("the acknowledgement in the customer's mailbox", Duration::from_secs(20), || async {
        servers.messages("customer").into_iter().next()
    })
    .await;
    let out = tandem_mail::parse(&sent, &Limits::default()).expect("parses");
    assert!(out.subject.contains(&format!("[#{number}]")), "{}", out.subject);
}

/// Mails of ~7 MB each are fetched two to a batch (at most 16 MiB of mail a round trip, which
/// is held in memory while it is applied), not fifty: with the fifth refused, the sync stops
/// with the folder remembered at the fourth; the next sync takes the last two, and every mail
/// is a ticket with its whole attachment.
async fn large_mails_are_fetched_a_few_at_a_time(backend: Backend) {
    let servers = MailServers::start();
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    let account = servers.imap_account("support", inbox);
    let line = format!("{}\r\n", "0123456789".repeat(7));
    let attachment = line.repeat(7_000_000 / line.len());
    for i in 1..=6 {
        let body = if i == 5 { "POISON in this body." } else { "The log is attached." };
        let raw = format!(
            "From: Carla Customer <customer@client.test>\r\nTo: support@desk.test\r\nSubject: Log {i}\r\nMessage-ID: <large-{i}@client.test>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{body}\r\n\
             --b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\n\r\n{attachment}--b--\r\n"
        );
        servers.deliver("support", &format!("{i}.large"), raw.as_bytes());
    }
    let mut transcript = Vec::new();
    let mut session = tandem_channel::imap::connect(&account, &mut transcript).await.expect("imap");
    // Two batches of two are in before the third fails.
    sync_past_poison(&server, backend, &account, &mut session, 4, 2).await;
    let log = admin.intake_log(inbox).await;
    assert_eq!(log.iter().filter(|e| e["state"] == "ticket").count(), 6, "{log:?}");
    // The line break before the closing boundary belongs to the boundary.
    let whole = attachment.len() as i64 - 2;
    let listed: Vec<Value> = tickets(&admin).await.into_iter().filter(|t| t["subject"].as_str().is_some_and(|s| s.starts_with("Log "))).collect();
    assert_eq!(listed.len(), 6);
    for t in listed {
        let detail = ticket(&admin, t["number"].as_i64().expect("number")).await;
        let sizes: Vec<i64> = detail["messages"][0]["attachments"].as_array().expect("attachments").iter().filter_map(|a| a["size"].as_i64()).collect();
        assert_eq!(sizes, [whole], "{}", t["subject"]);
    }
    session.logout().await.ok();
}

/// Messages applied in one transaction (an IMAP batch): a reply finds the ticket its first mail
/// opened moments before in the same transaction, our own mail coming back is still told
/// from customers' mail (the transaction reads our addresses once), and when one of them
/// fails nothing of the others is written (the intake then applies them one at a time).
async fn messages_applied_together_thread_and_fail_together(backend: Backend) {
    use tandem_proto::IntakeState;
    let server = TestServer::start(backend).await;
    let raw = [
        customer_mail("together-1@client.test", "Invoice missing", "Where is my invoice?", ""),
        customer_mail("together-2@client.test", "Re: Invoice missing", "Still waiting.", "In-Reply-To: <together-1@client.test>\r\n"),
        customer_mail("together-3@client.test", "Another thing", "Unrelated question.", ""),
        b"From: support@desk.test\r\nTo: support@desk.test\r\nSubject: [#1] Re: x\r\nX-Tandem-Ticket: 1\r\nMessage-ID: <together-4@desk.test>\r\n\r\nloop\r\n".to_vec(),
    ];
    let (recorded, parsed) = tandem_store::testing::record_and_parse(&server.store, server.desk.inbox_a.id, &raw).await;
    let mut apply: Vec<_> = recorded.iter().zip(&parsed).map(|(r, p)| (r.id, p.as_ref())).collect();
    let admin = server.login(&server.desk.admin.email).await;
    let tickets_before = tickets(&admin).await.len();

    // An entry that does not exist fails the group: the three before it stay unprocessed.
    apply.push((i64::MAX, parsed[0].as_ref()));
    let failed = server.store.apply_inbound_many(&apply, &|_| false).await;
    assert!(failed.error.is_some() && failed.outcomes.is_empty(), "{failed:?}");
    assert_eq!(server.store.pending_inbound(10).await.expect("pending").len(), 4, "nothing written");
    assert_eq!(tickets(&admin).await.len(), tickets_before, "no ticket opened");

    apply.pop();
    let outcomes = server.store.apply_inbound_many(&apply, &|_| false).await.into_result().expect("apply together");
    let states: Vec<IntakeState> = outcomes.iter().map(|o| o.state).collect();
    assert_eq!(states, [IntakeState::Ticket, IntakeState::Reply, IntakeState::Ticket, IntakeState::Loop]);
    assert_eq!(outcomes[0].ticket_number, outcomes[1].ticket_number, "the reply joined the ticket opened in the same transaction");
    assert_ne!(outcomes[0].ticket_number, outcomes[2].ticket_number);
    assert!(server.store.pending_inbound(10).await.expect("pending").is_empty());
    assert_eq!(tickets(&admin).await.len(), tickets_before + 2);
}

/// A mailbox with history connected to an inbox: its first read imports what the inbox's
/// `existing_mail` asks for (here the last week's mail, by the server's arrival date), never
/// the rest, and everything that arrives after; `none` takes only new mail, and a folder
/// recreated on the server (another UIDVALIDITY) is read again from a day before its last read.
async fn a_first_read_imports_the_existing_mail_the_inbox_asks_for(backend: Backend) {
    use std::time::SystemTime;
    let days_ago = |d: u64| SystemTime::from(tandem_domain::Clock::now(&tandem_domain::SystemClock)) - Duration::from_secs(d * 86_400);
    let subjects = |list: Vec<Value>, prefix: &str| {
        let mut found: Vec<String> = list.iter().filter_map(|t| t["subject"].as_str()).filter(|s| s.starts_with(prefix)).map(str::to_owned).collect();
        found.sort();
        found
    };
    let servers = MailServers::start();
    let server = TestServer::start_mail(backend, channel_settings()).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    for (name, subject, age) in [("1.old", "History: forty days", 40), ("2.old", "History: thirty days", 30), ("3.recent", "History: two days", 2)] {
        servers.deliver_arrived("support", name, &customer_mail(&format!("{name}@client.test"), subject, "From before.", ""), days_ago(age));
    }
    servers.deliver("support", "4.today", &customer_mail("4.today@client.test", "History: today", "From today.", ""));

    let path = format!("/api/v1/inboxes/{inbox}/mail");
    let (status, body) = admin.patch(&path, &json!({ "imap": { "recent_days": 0 } })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("imap.recent_days")), "{body}");
    let (status, body) = admin.patch(&path, &json!({ "imap": { "existing_mail": "some" } })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("recent")), "says what is accepted: {body}");
    let (status, body) = admin.patch(&path, &json!({ "imap": { "existing_mail": "recent", "recent_days": 7 } })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["imap"]["existing_mail"].as_str(), body["imap"]["recent_days"].as_i64()), (Some("recent"), Some(7)));
    connect_inbox(&admin, inbox, &servers).await;
    let (_, body) = admin.get(&path).await;
    assert_eq!(body["imap"]["existing_mail"], "recent", "connecting kept the choice: {body}");

    eventually("the last week's mail as tickets", Duration::from_secs(15), || async {
        (subjects(tickets(&admin).await, "History:").len() == 2).then_some(())
    })
    .await;
    servers.deliver("support", "5.later", &customer_mail("5.later@client.test", "History: after connecting", "New.", ""));
    eventually("the new mail as a ticket", Duration::from_secs(15), || async {
        (subjects(tickets(&admin).await, "History:").len() == 3).then_some(())
    })
    .await;
    assert_eq!(subjects(tickets(&admin).await, "History:"), ["History: after connecting", "History: today", "History: two days"]);
    assert_eq!(admin.intake_log(inbox).await.len(), 3, "the older mail was never taken in");

    // `none`, read directly (this inbox's IMAP is not enabled, so no worker reads it too).
    let other = server.desk.inbox_b.id;
    let mut account = servers.imap_account("sales", other);
    account.existing_mail = tandem_proto::ExistingMail::None;
    servers.deliver_arrived("sales", "1.old", &customer_mail("s1@client.test", "Sales: ten days", "Old.", ""), days_ago(10));
    servers.deliver_arrived("sales", "2.old", &customer_mail("s2@client.test", "Sales: three days", "Old.", ""), days_ago(3));
    let mut transcript = Vec::new();
    let mut session = tandem_channel::imap::connect(&account, &mut transcript).await.expect("imap");
    let sync = async |session: &mut tandem_channel::imap::ImapSession| {
        tandem_channel::imap::sync_folder(&server.mail, &account, session, "INBOX").await.expect("sync")
    };
    assert_eq!(sync(&mut session).await, 0, "nothing of what was there");
    let state = server.store.imap_folder_state(other, "INBOX").await.expect("state").expect("remembered at once");
    assert_eq!(state.last_uid, 2);
    servers.deliver("sales", "3.new", &customer_mail("s3@client.test", "Sales: new", "New.", ""));
    assert_eq!(sync(&mut session).await, 1);
    // As if the folder had been recreated: read again from a day before the last read (the
    // new mail, found imported already), not from the start.
    server.store.set_imap_folder_state(other, "INBOX", state.uid_validity + 1, 3).await.expect("forget");
    assert_eq!(sync(&mut session).await, 1, "only what arrived since the day before the last read");
    let log = admin.intake_log(other).await;
    assert_eq!(log.len(), 1, "the new mail once: {log:?}");
    assert_eq!(subjects(tickets(&admin).await, "Sales:"), ["Sales: new"]);
    session.logout().await.ok();
}

mod sqlite_only {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn smtp_outage() {
        smtp_outage_then_recovery(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dovecot_restart() {
        dovecot_restart_during_a_large_import(Backend::Sqlite).await
    }
}

/// Makes the database refuse every message whose body says POISON (a trigger).
async fn refuse_poison(server: &TestServer, backend: Backend) {
    use sea_orm::ConnectionTrait;
    let refuse: &[&str] = match backend {
        Backend::Sqlite => &["CREATE TRIGGER refuse_poison BEFORE INSERT ON messages WHEN NEW.body_text LIKE '%POISON%' \
                              BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN IF NEW.body_text LIKE '%POISON%' THEN \
             RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ],
    };
    for sql in refuse {
        server.store.db().connection().execute_unprepared(sql).await.expect("trigger");
    }
}

/// Syncs INBOX with [`refuse_poison`] in force: the sync reports the refused mail and the
/// folder is remembered at `remembered`, the last good batch's highest UID; with the trigger
/// gone the next sync takes the `rest`, the failed batch on.
async fn sync_past_poison(
    server: &TestServer,
    backend: Backend,
    account: &tandem_store::mail::ImapAccount,
    session: &mut tandem_channel::imap::ImapSession,
    remembered: u32,
    rest: usize,
) {
    refuse_poison(server, backend).await;
    let failed = tandem_channel::imap::sync_folder(&server.mail, account, session, "INBOX").await;
    assert!(failed.is_err(), "the sync reports the refused mail: {failed:?}");
    let state = server.store.imap_folder_state(account.inbox_id, "INBOX").await.expect("state").expect("remembered");
    assert_eq!(state.last_uid, remembered, "the folder is remembered at the last good batch");
    take_poison(server, backend).await;
    let synced = tandem_channel::imap::sync_folder(&server.mail, account, session, "INBOX").await.expect("the next sync");
    assert_eq!(synced, rest, "the next sync takes the failed batch again");
}

/// Undoes [`refuse_poison`].
async fn take_poison(server: &TestServer, backend: Backend) {
    use sea_orm::ConnectionTrait;
    let undo = match backend {
        Backend::Sqlite => "DROP TRIGGER refuse_poison",
        Backend::Postgres => "DROP TRIGGER refuse_poison ON messages",
    };
    server.store.db().connection().execute_unprepared(undo).await.expect("drop trigger");
}

/// An IMAP batch whose group of mails the database refuses (here a trigger refuses one of
/// them, as a constraint would) is applied again one mail at a time: the mails before the
/// refused one are written, it and those after it stay recorded for a later attempt, nothing
/// is written twice, and once the database takes it the recovery applies the rest.
async fn a_refused_mail_holds_back_only_the_mails_after_it(backend: Backend) {
    use tandem_proto::IntakeState;
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let tickets_before = tickets(&admin).await.len();
    refuse_poison(&server, backend).await;
    let raw = [
        customer_mail("held-1@client.test", "Printer jammed", "The printer is jammed.", ""),
        customer_mail("held-2@client.test", "Re: Printer jammed", "Still jammed.", "In-Reply-To: <held-1@client.test>\r\n"),
        customer_mail("held-3@client.test", "Odd one", "POISON in this body.", ""),
        customer_mail("held-4@client.test", "Scanner offline", "The scanner is offline.", ""),
        customer_mail("held-5@client.test", "Re: Scanner offline", "Any news?", "In-Reply-To: <held-4@client.test>\r\n"),
    ];
    let items: Vec<(&[u8], Option<&str>)> = raw.iter().map(|r| (r.as_slice(), None)).collect();
    let refused = server.mail.receive_batch(server.desk.inbox_a.id, &items, "imap").await;
    assert!(refused.is_err(), "the batch reports the refused mail");

    let held = server.store.pending_inbound(10).await.expect("pending");
    let held_ids: Vec<Option<String>> = held.iter().map(|e| e.message_id.clone()).collect();
    assert_eq!(held.len(), 3, "the refused mail and the two after it stay recorded: {held_ids:?}");
    let in_order = held_ids.iter().zip(["held-3@", "held-4@", "held-5@"]).all(|(id, want)| id.as_deref().is_some_and(|id| id.contains(want)));
    assert!(in_order, "{held_ids:?}");
    let after_refusal = tickets(&admin).await;
    assert_eq!(after_refusal.len(), tickets_before + 1, "the first mail opened its ticket, the second joined it");
    let first = after_refusal.iter().find(|t| t["subject"] == "Printer jammed").expect("the first mail's ticket");
    let number = first["number"].as_i64().expect("number");
    let (_, detail) = admin.get(&format!("/api/v1/tickets/{number}")).await;
    let inbound = detail["messages"].as_array().expect("messages").iter().filter(|m| m["kind"] == "inbound").count();
    assert_eq!(inbound, 2, "{detail}");

    // The database takes the mail again: the recovery applies the three, in order, once.
    take_poison(&server, backend).await;
    assert_eq!(server.mail.recover().await.expect("recover"), 3);
    assert!(server.store.pending_inbound(10).await.expect("pending").is_empty());
    let all = tickets(&admin).await;
    assert_eq!(all.len(), tickets_before + 3, "the held mails opened two tickets, the reply joined one");
    let log = admin.intake_log(server.desk.inbox_a.id).await;
    assert_eq!(log.len(), 5, "one intake entry per mail: {log:?}");
    let states: Vec<IntakeState> = log.iter().map(|e| serde_json::from_value(e["state"].clone()).expect("state")).collect();
    assert_eq!(states.iter().filter(|s| **s == IntakeState::Ticket).count(), 3, "{states:?}");
    assert_eq!(states.iter().filter(|s| **s == IntakeState::Reply).count(), 2, "{states:?}");
}

/// A folder sync whose third batch of 50 fails (the database refuses its last mail) reports
/// the failure and remembers how far it got, the last good batch; the next sync takes the
/// rest, and every mail is in once.
async fn a_failed_imap_batch_leaves_the_folder_at_the_last_good_one(backend: Backend) {
    let servers = MailServers::start();
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let inbox = server.desk.inbox_a.id;
    let account = servers.imap_account("support", inbox);
    let mut transcript = Vec::new();
    let mut session = tandem_channel::imap::connect(&account, &mut transcript).await.expect("imap");
    for i in 1..120 {
        servers.deliver("support", &format!("{i:03}.bulk"), &customer_mail(&format!("bulk-{i}@client.test"), &format!("Question {i}"), "A question.", ""));
    }
    // Dovecot numbers the 119 now, so the refused mail is the 120th.
    session.select("INBOX").await.expect("select");
    servers.deliver("support", "120.bulk", &customer_mail("bulk-120@client.test", "Question 120", "POISON in this body.", ""));
    session.select("INBOX").await.expect("select");
    let poison: Vec<u32> = session.uid_search("BODY POISON").await.expect("search").into_iter().collect();
    assert_eq!(poison, vec![120]);
    sync_past_poison(&server, backend, &account, &mut session, 100, 20).await;
    let state = server.store.imap_folder_state(inbox, "INBOX").await.expect("state").expect("remembered");
    assert_eq!(state.last_uid, 120);
    // The mails of the failed batch applied before the refused one were not applied twice.
    let log = admin.intake_log(inbox).await;
    assert_eq!(log.len(), 120, "one intake entry per mail");
    assert!(server.store.pending_inbound(10).await.expect("pending").is_empty());
    assert_eq!(log.iter().filter(|e| e["state"] == "ticket").count(), 120, "{log:?}");
    session.logout().await.ok();
}
