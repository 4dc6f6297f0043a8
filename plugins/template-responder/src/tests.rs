use serde_json::json;
use tandem_plugin_sdk::{BusinessHours, Header, Opening, sample};

use super::*;

fn run(input: &RespondInput, config: serde_json::Value, now: i64) -> Result<Response, PluginError> {
    let cx = Context::for_test(config, now);
    respond(input, &cx.config()?, cx.now())
}

fn input(language: Option<&str>) -> RespondInput {
    let mut input = sample::respond_input("anna@customer.test", "Cannot log in", "Hello, I cannot log in.");
    input.contact.name = Some("Anna".to_owned());
    input.ticket.language = language.map(str::to_owned);
    input
}

#[test]
fn acknowledges_in_the_customers_language_with_the_number() {
    for (lang, needle) in [("en", "thank you"), ("ru", "Спасибо"), ("pl", "dziękujemy"), ("fr", "merci")] {
        let out = run(&input(Some(lang)), json!({}), sample::MONDAY_9AM).expect("ok");
        let reply = out.reply.expect("a reply");
        assert!(reply.subject.starts_with("[#1001]"), "{}", reply.subject);
        assert!(reply.text.contains(needle) && reply.text.contains("#1001") && reply.text.contains("Anna"), "{}", reply.text);
    }
    // Unknown language → default.
    let reply = run(&input(Some("de")), json!({}), sample::MONDAY_9AM).expect("ok").reply.expect("reply");
    assert!(reply.text.contains("thank you"));
}

#[test]
fn closed_hours_say_when_we_are_back() {
    let mut i = input(Some("fr"));
    // Open weekdays 10:00–18:00 UTC; Monday 09:00 UTC is before opening.
    i.inbox.business_hours =
        Some(BusinessHours { utc_offset_minutes: 0, windows: (1..=5).map(|d| Opening { weekday: d, start_minute: 600, end_minute: 1080 }).collect() });
    let out = run(&i, json!({}), sample::MONDAY_9AM).expect("ok");
    let reply = out.reply.expect("reply");
    assert!(reply.text.contains("lundi 10:00 (UTC+00:00)"), "{}", reply.text);
    assert_eq!(reply.template.as_deref(), Some("closed-hours acknowledgement (fr)"));
    // Config hours apply when the inbox has none.
    let config = json!({ "business_hours": { "utc_offset_minutes": 120, "windows": [{ "weekday": 2, "start": "08:00", "end": "16:00" }] } });
    let reply = run(&input(Some("en")), config, sample::MONDAY_9AM).expect("ok").reply.expect("reply");
    assert!(reply.text.contains("Tuesday 08:00 (UTC+02:00)"), "{}", reply.text);
}

#[test]
fn outage_mode_sends_the_incident_notice() {
    let out = run(&input(Some("pl")), json!({ "outage": { "enabled": true } }), sample::MONDAY_9AM).expect("ok");
    let reply = out.reply.expect("reply");
    assert!(reply.subject.contains("Znana awaria"), "{}", reply.subject);
}

#[test]
fn never_answers_machines() {
    let cases: Vec<(&str, &str)> = vec![
        ("Auto-Submitted", "auto-replied"),
        ("Precedence", "bulk"),
        ("Precedence", "list"),
        ("X-Auto-Response-Suppress", "DR, OOF, AutoReply"),
        ("List-Id", "<news.example.com>"),
        ("List-Unsubscribe", "<mailto:u@example.com>"),
        ("Content-Type", "multipart/report; report-type=delivery-status"),
        ("Return-Path", "<>"),
        ("Mailing-List", "contact list-help@lists.example.org; run by ezmlm"),
        ("Delivered-To", "mailing list list@lists.example.org"),
        ("Content-Type", "message/delivery-status"),
    ];
    for (name, value) in cases {
        let mut i = input(Some("en"));
        i.message.headers.push(Header { name: name.to_owned(), value: value.to_owned() });
        let out = run(&i, json!({}), sample::MONDAY_9AM).expect("ok");
        assert!(out.reply.is_none(), "{name}: {value}");
        assert!(!out.reason.is_empty());
    }
    let mut i = input(Some("en"));
    i.message.headers.push(Header { name: "Auto-Submitted".to_owned(), value: "no".to_owned() });
    assert!(run(&i, json!({}), sample::MONDAY_9AM).expect("ok").reply.is_some(), "Auto-Submitted: no is a person");
    let mut i = input(Some("en"));
    i.message.from_address = "MAILER-DAEMON@mx.example.com".to_lowercase();
    assert!(run(&i, json!({}), sample::MONDAY_9AM).expect("ok").reply.is_none());
}

#[test]
fn long_subjects_are_shortened_and_senders_without_address_get_nothing() {
    let mut i = input(Some("en"));
    i.ticket.subject = "x".repeat(1_000);
    let reply = run(&i, json!({}), sample::MONDAY_9AM).expect("ok").reply.expect("reply");
    assert_eq!(reply.subject.chars().count(), MAX_SUBJECT_CHARS);
    assert!(reply.subject.ends_with('…'));
    let mut i = input(Some("en"));
    i.message.from_address = String::new();
    assert!(run(&i, json!({}), sample::MONDAY_9AM).expect("ok").reply.is_none());
}

#[test]
fn once_per_contact_per_window_and_only_on_new_tickets() {
    let mut i = input(Some("en"));
    i.contact.last_auto_reply_at = Some(sample::MONDAY_9AM - 10 * MINUTE);
    let out = run(&i, json!({}), sample::MONDAY_9AM).expect("ok");
    assert!(out.reply.is_none() && out.reason.contains("10 min ago"), "{}", out.reason);
    assert!(run(&i, json!({ "min_minutes_between_replies": 5 }), sample::MONDAY_9AM).expect("ok").reply.is_some());

    let mut i = input(Some("en"));
    i.ticket.message_count = 3;
    assert!(run(&i, json!({}), sample::MONDAY_9AM).expect("ok").reply.is_none());
}

#[test]
fn configuration_errors_are_reported() {
    assert!(matches!(run(&input(None), json!({ "templates": 5 }), sample::MONDAY_9AM), Err(PluginError::InvalidConfig(_))));
    let no_default = json!({ "templates": { "xx": { "subject": "s", "text": "t" } }, "default_language": "en" });
    assert!(matches!(run(&input(Some("en")), no_default, sample::MONDAY_9AM), Err(PluginError::InvalidConfig(m)) if m.contains("no acknowledgement template")));
    // Found on any call, even one that sends nothing (a follow-up) or falls in open hours,
    // so the host's check of a new configuration (one sample message) finds it.
    let mut follow_up = input(Some("en"));
    follow_up.ticket.message_count = 2;
    let bad_hours = json!({ "business_hours": { "windows": [{ "weekday": 1, "start": "9am", "end": "17:00" }] } });
    assert!(matches!(run(&follow_up, bad_hours, sample::MONDAY_9AM), Err(PluginError::InvalidConfig(m)) if m.contains("windows[0].start")));
    let no_closed = json!({ "closed_templates": {}, "business_hours": { "windows": [{ "weekday": 1, "start": "08:00", "end": "18:00" }] } });
    assert!(matches!(run(&input(Some("en")), no_closed, sample::MONDAY_9AM), Err(PluginError::InvalidConfig(m)) if m.contains("closed-hours template")));
    let no_notice = json!({ "outage": { "enabled": true, "templates": { "de": { "subject": "s", "text": "t" } } } });
    assert!(matches!(run(&follow_up, no_notice, sample::MONDAY_9AM), Err(PluginError::InvalidConfig(m)) if m.contains("incident notice")));
    assert!(run(&follow_up, json!({ "outage": { "enabled": true } }), sample::MONDAY_9AM).is_ok(), "the defaults hold");
}

#[test]
fn mail_written_long_ago_is_not_acknowledged() {
    let dated = |date: &str| {
        let mut i = input(Some("en"));
        i.message.headers.push(Header { name: "Date".to_owned(), value: date.to_owned() });
        i
    };
    // sample::MONDAY_9AM is Mon, 2 Mar 2026 09:00 UTC.
    let out = run(&dated("Mon, 2 Feb 2026 09:00:00 +0000"), json!({}), sample::MONDAY_9AM).expect("ok");
    assert!(out.reply.is_none() && out.reason.contains("written 28 days ago"), "{}", out.reason);
    let out = run(&dated("Sun, 1 Mar 2026 07:00:00 +0100"), json!({}), sample::MONDAY_9AM).expect("ok");
    assert!(out.reply.is_none() && out.reason.contains("written 27 h ago"), "{}", out.reason);
    for fresh in [
        "Mon, 2 Mar 2026 06:10:00 +0000",  // three hours in transit
        "Sun, 1 Mar 2026 10:00:00 +0000",  // 23 hours
        "Mon, 2 Mar 2026 12:00:00 +0300",  // the same minute, another zone
        "Tue, 3 Mar 2026 09:00:00 +0000",  // a sender's clock a day ahead
        "2 Mar 2026 08:00 GMT",            // no weekday, no seconds
        "Thursday, 32 Foo 2024 25:61:00",  // unreadable: no reason to stay silent
    ] {
        let out = run(&dated(fresh), json!({}), sample::MONDAY_9AM).expect("ok");
        assert!(out.reply.is_some(), "{fresh}: {}", out.reason);
    }
    // The limit is the admin's; 0 switches it off.
    let old = dated("Mon, 2 Feb 2026 09:00:00 +0000");
    assert!(run(&old, json!({ "max_age_hours": 0 }), sample::MONDAY_9AM).expect("ok").reply.is_some());
    assert!(run(&old, json!({ "max_age_hours": 1000 }), sample::MONDAY_9AM).expect("ok").reply.is_some());
    assert!(run(&old, json!({ "max_age_hours": 600 }), sample::MONDAY_9AM).expect("ok").reply.is_none());
    assert!(run(&old, json!({ "max_age_hours": u32::MAX }), sample::MONDAY_9AM).expect("ok").reply.is_some(), "no overflow");
}
