//! Spam heuristics: a score from independent signals. Each signal found is named in the reason.

use tandem_plugin_sdk::Message;

use crate::config::SpamConfig;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub score: u32,
    pub signals: Vec<String>,
}

impl Verdict {
    fn add(&mut self, points: u32, signal: impl Into<String>) {
        self.score += points;
        self.signals.push(signal.into());
    }
}

pub fn score(message: &Message, sender_domain: &str, config: &SpamConfig) -> Verdict {
    let mut verdict = Verdict::default();
    if !config.enabled || domain_listed(sender_domain, &config.trusted_domains) {
        return verdict;
    }
    if domain_listed(sender_domain, &config.blocked_domains) {
        verdict.add(100, format!("sender domain {sender_domain} is blocked"));
    }
    if let Some(flag) = message.header("X-Spam-Flag")
        && flag.trim().eq_ignore_ascii_case("yes")
    {
        verdict.add(10, "X-Spam-Flag: YES");
    }
    if let Some(status) = message.header("X-Spam-Status")
        && status.trim_start().to_ascii_lowercase().starts_with("yes")
    {
        verdict.add(10, "X-Spam-Status: Yes");
    }
    let haystack = format!("{}\n{}", message.subject, message.text).to_lowercase();
    let hits: Vec<&String> = config.keywords.iter().filter(|k| !k.is_empty() && haystack.contains(&k.to_lowercase())).collect();
    if !hits.is_empty() {
        let hits_text: Vec<&str> = hits.iter().map(|s| s.as_str()).collect();
        verdict.add(3 * hits.len() as u32, format!("spam phrases: {}", hits_text.join(", ")));
    }
    let links = haystack.matches("http://").count() + haystack.matches("https://").count();
    if links > config.max_links {
        verdict.add(3, format!("{links} links"));
    }
    let letters: Vec<char> = message.subject.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 12 && letters.iter().all(|c| c.is_uppercase()) {
        verdict.add(2, "subject in capitals");
    }
    if message.subject.matches('!').count() >= 3 {
        verdict.add(1, "!!! in subject");
    }
    verdict
}

fn domain_listed(domain: &str, list: &[String]) -> bool {
    list.iter().any(|d| {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        !d.is_empty() && (domain == d || domain.ends_with(&format!(".{d}")))
    })
}
