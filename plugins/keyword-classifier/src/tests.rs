use serde_json::json;
use tandem_plugin_sdk::{Context, Header, Priority, sample};

use super::*;

fn run(input: &ClassifyInput, config: serde_json::Value) -> Result<Classification, PluginError> {
    let cx = Context::for_test(config, sample::MONDAY_9AM);
    let config: Config = cx.config()?;
    classify(input, &config)
}

#[test]
fn multilingual_urgency_defaults() {
    let cases = [
        ("Site down", "Our whole shop is down since 8am, this is urgent, please help ASAP.", "en"),
        ("Срочно", "Здравствуйте! Срочно: у нас не работает оплата на сайте, клиенты жалуются.", "ru"),
        ("Awaria", "Dzień dobry, mamy awarię, system nie działa od rana. To bardzo pilne!", "pl"),
        ("Compte bloqué", "Bonjour, notre compte est bloqué et nous ne pouvons plus travailler, c'est urgent.", "fr"),
    ];
    for (subject, text, lang) in cases {
        let out = run(&sample::classify_input("a@customer.test", subject, text), json!({})).expect("classified");
        assert_eq!(out.priority, Some(Priority::Urgent), "{text}: {}", out.reason);
        assert_eq!(out.language.as_deref(), Some(lang), "{text}: {}", out.reason);
    }
}

#[test]
fn categories_by_keyword_become_tags() {
    let out = run(&sample::classify_input("a@customer.test", "Invoice question", "Hello, I was charged twice on my last invoice. Could you refund one?"), json!({}))
        .expect("classified");
    assert_eq!(out.category.as_deref(), Some("billing"));
    assert!(out.add_tags.contains(&"billing".to_owned()));
    let out = run(&sample::classify_input("a@customer.test", "Mot de passe", "Bonjour, j'ai oublié mon mot de passe et je ne peux plus me connecter."), json!({}))
        .expect("classified");
    assert_eq!(out.category.as_deref(), Some("login"));
}

#[test]
fn configured_rules_apply_by_domain_header_keyword_and_regex() {
    let config = json!({ "rules": [
        { "name": "vip", "sender_domain": "bigcorp.com", "add_tags": ["vip"], "priority": "high" },
        { "name": "order ref", "regex": "ORD-[0-9]{5}", "add_tags": ["has-order"] },
        { "name": "via partner", "header": { "name": "X-Partner", "contains": "acme" }, "category": "partner" },
        { "keywords": ["gdpr"], "add_tags": ["legal"] }
    ]});
    let mut input = sample::classify_input("Jane@Sales.BigCorp.com", "Order ORD-12345", "Hi, about my order, and also a GDPR request.");
    input.message.headers.push(Header { name: "x-partner".to_owned(), value: "ACME reseller".to_owned() });
    let out = run(&input, config).expect("classified");
    for tag in ["vip", "has-order", "legal"] {
        assert!(out.add_tags.contains(&tag.to_owned()), "{tag} in {:?}", out.add_tags);
    }
    assert_eq!(out.priority, Some(Priority::High));
    assert_eq!(out.category.as_deref(), Some("partner"));
    assert!(out.reason.contains("vip matched"), "{}", out.reason);
}

#[test]
fn bad_configuration_is_the_plugins_invalid_config_error() {
    let input = sample::classify_input("a@b.test", "x", "hello there");
    assert!(matches!(run(&input, json!({ "rules": [{ "regex": "(" , "add_tags": ["x"] }] })), Err(PluginError::InvalidConfig(m)) if m.contains("rules[0].regex")));
    assert!(matches!(run(&input, json!({ "rules": [{ "add_tags": ["x"] }] })), Err(PluginError::InvalidConfig(m)) if m.contains("no condition")));
    assert!(matches!(run(&input, json!({ "unknown_key": 1 })), Err(PluginError::InvalidConfig(_))));
    assert!(matches!(run(&input, json!({ "rules": "nope" })), Err(PluginError::InvalidConfig(_))));
    // A broken rule after one whose keywords this message lacks is still reported: every rule
    // is checked on every call, so the host's check of a new configuration (one sample
    // message) finds it.
    let unreached = json!({ "rules": [{ "keywords": ["invoice"], "regex": "[", "add_tags": ["x"] }] });
    assert!(matches!(run(&input, unreached), Err(PluginError::InvalidConfig(m)) if m.contains("rules[0].regex")));
}

#[test]
fn spam_heuristics() {
    let spam = sample::classify_input(
        "promo@cheap-deals.biz",
        "YOU HAVE WON A FREE CRUISE!!!",
        "Congratulations, you have won! Click here to claim your prize at our casino: http://a.biz http://b.biz",
    );
    let out = run(&spam, json!({})).expect("classified");
    assert_eq!(out.spam, Some(true), "{}", out.reason);
    assert!(out.add_tags.contains(&"spam".to_owned()));

    let mut flagged = sample::classify_input("x@y.test", "Hello", "Normal looking text about an order.");
    flagged.message.headers.push(Header { name: "X-Spam-Flag".to_owned(), value: "YES".to_owned() });
    assert_eq!(run(&flagged, json!({})).expect("classified").spam, Some(true));

    let customer = sample::classify_input("anna@customer.test", "Login problem", "I cannot log in since yesterday, error 500.");
    assert_eq!(run(&customer, json!({})).expect("classified").spam, None);

    let trusted = run(&spam, json!({ "spam": { "trusted_domains": ["cheap-deals.biz"] } })).expect("classified");
    assert_eq!(trusted.spam, None);
}

#[test]
fn words_match_at_word_starts_only() {
    assert!(contains_word("please reply asap.", "asap"));
    assert!(!contains_word("wasapi driver", "asap"));
    assert!(contains_word("проблема с оплатой", "оплат"));
    assert!(!contains_word("anything", ""));
}

#[test]
fn plain_message_has_no_opinion_but_a_reason() {
    let out = run(&sample::classify_input("a@b.test", "Hi", "ok"), json!({})).expect("classified");
    assert_eq!(out.priority, None);
    assert_eq!(out.spam, None);
    assert_eq!(out.reason, "no rule matched");
}
