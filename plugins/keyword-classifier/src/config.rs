//! The classifier's configuration (admin-set JSON). Every key is optional; what is left out
//! takes the defaults below, which cover English, Russian, Polish and French.

use std::collections::BTreeMap;

use serde::Deserialize;
use tandem_plugin_sdk::Priority;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Custom rules, checked in order; every matching rule applies.
    pub rules: Vec<Rule>,
    /// Words that make a message urgent, by language. Replaces the defaults when given.
    pub urgent_keywords: BTreeMap<String, Vec<String>>,
    /// Words that make a message high priority (less than urgent), by language.
    pub high_keywords: BTreeMap<String, Vec<String>>,
    /// Category → words that put a message in it. The first category with a match wins.
    pub categories: Vec<Category>,
    pub spam: SpamConfig,
    /// Languages the detector may answer (ISO 639-1); others are reported as unknown.
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    pub keywords: Vec<String>,
}

/// One rule: all of the given conditions must hold (at least one must be given).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Any of these words or phrases in the subject or body (case-insensitive).
    pub keywords: Vec<String>,
    /// A regular expression matched against "subject\nbody".
    pub regex: Option<String>,
    /// The sender's domain (`example.com`, also matching subdomains).
    pub sender_domain: Option<String>,
    /// A header that must be present, optionally with a value containing `contains`.
    pub header: Option<HeaderCondition>,
    // What the rule does:
    pub add_tags: Vec<String>,
    pub priority: Option<PriorityName>,
    pub category: Option<String>,
    pub spam: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderCondition {
    pub name: String,
    #[serde(default)]
    pub contains: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PriorityName {
    Low,
    Normal,
    High,
    Urgent,
}

impl PriorityName {
    pub fn to_wit(self) -> Priority {
        match self {
            PriorityName::Low => Priority::Low,
            PriorityName::Normal => Priority::Normal,
            PriorityName::High => Priority::High,
            PriorityName::Urgent => Priority::Urgent,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpamConfig {
    pub enabled: bool,
    /// Score at which a message is spam (each signal adds to it; see `spam.rs`).
    pub threshold: u32,
    pub keywords: Vec<String>,
    /// Sender domains that are always spam.
    pub blocked_domains: Vec<String>,
    /// Sender domains never treated as spam.
    pub trusted_domains: Vec<String>,
    /// More links than this in one message is a signal.
    pub max_links: usize,
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

impl Default for Config {
    fn default() -> Self {
        let mut urgent = BTreeMap::new();
        urgent.insert("en".to_owned(), words(&["urgent", "asap", "emergency", "is down", "site down", "outage", "critical", "immediately"]));
        urgent.insert("ru".to_owned(), words(&["срочно", "не работает", "авария", "критично", "немедленно"]));
        urgent.insert("pl".to_owned(), words(&["pilne", "pilnie", "awaria", "nie działa", "krytyczne", "natychmiast"]));
        urgent.insert("fr".to_owned(), words(&["urgent", "bloqué", "bloquée", "en panne", "critique", "immédiatement"]));
        let mut high = BTreeMap::new();
        high.insert("en".to_owned(), words(&["not working", "cannot", "can't", "unable to", "broken", "error"]));
        high.insert("ru".to_owned(), words(&["ошибка", "не могу", "сломал"]));
        high.insert("pl".to_owned(), words(&["błąd", "nie mogę", "zepsu"]));
        high.insert("fr".to_owned(), words(&["erreur", "impossible", "ne fonctionne pas", "ne marche pas"]));
        let categories = vec![
            Category {
                name: "billing".to_owned(),
                keywords: words(&[
                    "invoice", "refund", "payment", "charged", "billing", "subscription", "receipt", "счёт", "счет", "оплат", "возврат",
                    "платеж", "платёж", "faktur", "płatnoś", "zwrot", "rachun", "facture", "rembours", "paiement", "prélèvement",
                ]),
            },
            Category {
                name: "login".to_owned(),
                keywords: words(&[
                    "password", "log in", "login", "sign in", "2fa", "two-factor", "locked out", "пароль", "войти", "вход", "логин",
                    "hasło", "hasla", "zalogować", "logowanie", "mot de passe", "connexion", "me connecter", "identifiant",
                ]),
            },
            Category {
                name: "bug".to_owned(),
                keywords: words(&[
                    "bug", "crash", "error", "exception", "broken", "doesn't work", "does not work", "ошибк", "баг", "не работает",
                    "сбой", "błąd", "nie działa", "awaria", "erreur", "plantage", "ne fonctionne pas", "dysfonctionnement",
                ]),
            },
            Category {
                name: "sales".to_owned(),
                keywords: words(&[
                    "pricing", "price", "quote", "demo", "purchase", "buy", "licen", "enterprise plan", "цена", "стоимость", "купить",
                    "коммерческое предложение", "cena", "cennik", "oferta", "zakup", "kupić", "tarif", "devis", "acheter", "prix",
                ]),
            },
        ];
        Config {
            rules: Vec::new(),
            urgent_keywords: urgent,
            high_keywords: high,
            categories,
            spam: SpamConfig::default(),
            languages: words(&["en", "ru", "pl", "fr", "de", "es", "it", "pt", "nl", "uk"]),
        }
    }
}

impl Default for SpamConfig {
    fn default() -> Self {
        SpamConfig {
            enabled: true,
            threshold: 5,
            keywords: words(&[
                "viagra", "cialis", "casino", "lottery", "you have won", "you've won", "bitcoin giveaway", "crypto giveaway",
                "seo services", "rank your website", "first page of google", "nigerian prince", "wire transfer fee", "weight loss",
                "work from home and earn", "100% free", "click here to claim", "казино", "выигрыш", "kasyno", "wygrałeś",
            ]),
            blocked_domains: Vec::new(),
            trusted_domains: Vec::new(),
            max_links: 8,
        }
    }
}
