//! `keyword-classifier`, bundled with Tandem: priority, tags and category from rules;
//! multilingual urgency defaults; language detection; spam heuristics.
//!
//! Configuration: see [`config::Config`] (every key optional). Example:
//!
//! ```json
//! { "rules": [ { "name": "vip", "sender_domain": "bigcustomer.com", "add_tags": ["vip"], "priority": "high" } ] }
//! ```

pub mod config;
pub mod language;
pub mod spam;

use regex_lite::Regex;
use tandem_plugin_sdk::{Classification, ClassifyInput, Classifier, Context, Message, PluginError, Priority};

use config::{Config, Rule};

#[derive(Debug)]
pub struct KeywordClassifier;

impl Classifier for KeywordClassifier {
    fn classify(input: ClassifyInput, cx: &Context) -> Result<Classification, PluginError> {
        let config: Config = cx.config()?;
        classify(&input, &config)
    }

    /// Once, at upload: whatlang builds its alphabet tables on first use, which a fresh
    /// instance would otherwise do on every call; classifying a message in a Latin and one
    /// in a Cyrillic script builds them (and leaves the heap grown as a call grows it).
    fn warm_up() {
        let config = Config::default();
        for (from, subject, text) in [
            ("warm-up@example.com", "Warm-up", "Hello, this message only warms the classifier up before its first call."),
            ("warm-up@example.com", "Разогрев", "Здравствуйте, это сообщение только готовит классификатор к первому вызову."),
        ] {
            let _ = classify(&tandem_plugin_sdk::sample::classify_input(from, subject, text), &config);
        }
        // Russian is told from Cyrillic letters without whatlang: its Cyrillic table is
        // built by detecting among the other Cyrillic languages.
        let _ = whatlang::Detector::with_allowlist(vec![whatlang::Lang::Ukr, whatlang::Lang::Rus]).detect("Добрий день, це лише розігрів класифікатора.");
    }
}

tandem_plugin_sdk::export_classifier!(KeywordClassifier);

/// The whole decision, separate from the host so tests can call it with any configuration.
pub fn classify(input: &ClassifyInput, config: &Config) -> Result<Classification, PluginError> {
    let message = &input.message;
    let text = format!("{}\n{}", message.subject, message.text);
    let lower = text.to_lowercase();
    let domain = sender_domain(&message.from_address);
    // Every rule is checked up front, so a broken rule is reported on every call (and when an
    // admin saves the configuration: the host asks the plugin then), not only once a message
    // gets as far as that rule.
    let regexes = compile_rules(&config.rules)?;
    let mut out = Classification::none();
    let mut reasons: Vec<String> = Vec::new();

    let detected = language::detect(&message.text, &config.languages).or_else(|| language::detect(&text, &config.languages));
    if let Some((lang, confidence)) = &detected {
        out.language = Some(lang.clone());
        out.confidence = *confidence as f32;
        reasons.push(format!("language {lang} ({:.0} %)", confidence * 100.0));
    }

    // Urgency: every language's words are checked (customers mix languages), urgent first.
    if let Some((lang, word)) = first_hit(&lower, &config.urgent_keywords) {
        out.priority = Some(Priority::Urgent);
        reasons.push(format!("urgent: \"{word}\" ({lang})"));
    } else if let Some((lang, word)) = first_hit(&lower, &config.high_keywords) {
        out.priority = Some(Priority::High);
        reasons.push(format!("high: \"{word}\" ({lang})"));
    }

    if let Some((category, word)) = config
        .categories
        .iter()
        .find_map(|c| c.keywords.iter().find(|k| contains_word(&lower, k)).map(|k| (c.name.clone(), k.clone())))
    {
        reasons.push(format!("category {category}: \"{word}\""));
        out.add_tags.push(category.clone());
        out.category = Some(category);
    }

    for (index, (rule, regex)) in config.rules.iter().zip(&regexes).enumerate() {
        if rule_matches(rule, regex.as_ref(), message, &text, &lower, &domain) {
            let name = if rule.name.is_empty() { format!("rule {}", index + 1) } else { rule.name.clone() };
            for tag in &rule.add_tags {
                if !out.add_tags.contains(tag) {
                    out.add_tags.push(tag.clone());
                }
            }
            if let Some(priority) = rule.priority {
                out.priority = Some(priority.to_wit());
            }
            if let Some(category) = &rule.category {
                out.category = Some(category.clone());
            }
            if let Some(spam) = rule.spam {
                out.spam = Some(spam);
            }
            reasons.push(format!("{name} matched"));
        }
    }

    if out.spam.is_none() {
        let verdict = spam::score(message, &domain, &config.spam);
        if verdict.score >= config.spam.threshold {
            out.spam = Some(true);
            out.add_tags.push("spam".to_owned());
            reasons.push(format!("spam (score {}: {})", verdict.score, verdict.signals.join("; ")));
        } else if !verdict.signals.is_empty() {
            reasons.push(format!("spam score {} below {} ({})", verdict.score, config.spam.threshold, verdict.signals.join("; ")));
        }
    }

    if detected.is_none() {
        out.confidence = if reasons.is_empty() { 0.0 } else { 0.5 };
    }
    out.reason = if reasons.is_empty() { "no rule matched".to_owned() } else { reasons.join("; ") };
    Ok(out)
}

fn sender_domain(address: &str) -> String {
    address.rsplit_once('@').map(|(_, d)| d.trim().trim_end_matches('>').to_ascii_lowercase()).unwrap_or_default()
}

fn first_hit(lower: &str, table: &std::collections::BTreeMap<String, Vec<String>>) -> Option<(String, String)> {
    table.iter().find_map(|(lang, words)| words.iter().find(|w| contains_word(lower, w)).map(|w| (lang.clone(), w.clone())))
}

/// Whether `needle` occurs in `haystack` (already lower-case) starting at a word boundary, so
/// that "asap" does not match inside "asaparagus" but "оплат" matches "оплата".
fn contains_word(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    if needle.is_empty() {
        return false;
    }
    haystack.match_indices(&needle).any(|(at, _)| haystack[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric()))
}

/// Each rule's regular expression, compiled; an error for a rule without a condition or with
/// an expression that does not compile.
fn compile_rules(rules: &[Rule]) -> Result<Vec<Option<Regex>>, PluginError> {
    rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            if rule.keywords.is_empty() && rule.regex.is_none() && rule.sender_domain.is_none() && rule.header.is_none() {
                return Err(PluginError::InvalidConfig(format!("rules[{index}] has no condition (keywords, regex, sender_domain or header)")));
            }
            rule.regex
                .as_deref()
                .map(|pattern| Regex::new(pattern).map_err(|e| PluginError::InvalidConfig(format!("rules[{index}].regex: {e}"))))
                .transpose()
        })
        .collect()
}

/// Whether every condition the rule gives holds (it gives at least one: [`compile_rules`]).
/// `text` is "subject\nbody", `lower` the same in lower case.
fn rule_matches(rule: &Rule, regex: Option<&Regex>, message: &Message, text: &str, lower: &str, domain: &str) -> bool {
    if !rule.keywords.is_empty() && !rule.keywords.iter().any(|k| contains_word(lower, k)) {
        return false;
    }
    if let Some(regex) = regex
        && !regex.is_match(text)
    {
        return false;
    }
    if let Some(want) = &rule.sender_domain {
        let want = want.trim().trim_start_matches('@').to_ascii_lowercase();
        if !(domain == want || domain.ends_with(&format!(".{want}"))) {
            return false;
        }
    }
    if let Some(condition) = &rule.header {
        let Some(value) = message.header(&condition.name) else { return false };
        if let Some(part) = &condition.contains
            && !value.to_lowercase().contains(&part.to_lowercase())
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests;
