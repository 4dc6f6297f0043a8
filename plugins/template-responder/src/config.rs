//! Configuration and its defaults (English, Russian, Polish, French).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::hours::Schedule;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Acknowledgement by language.
    pub templates: BTreeMap<String, Template>,
    /// Sent instead outside business hours.
    pub closed_templates: BTreeMap<String, Template>,
    /// Used when the inbox has no business hours of its own; none means always open.
    pub business_hours: Option<Hours>,
    pub outage: Outage,
    /// At most one automatic reply per contact within this many minutes.
    pub min_minutes_between_replies: u32,
    /// No automatic reply to mail written (its `Date`) more than this many hours before it is
    /// handled: old mail imported from a mailbox's history or an mbox file is not acknowledged
    /// months late. 0: no limit.
    pub max_age_hours: u32,
    /// Language used when the ticket's has no template.
    pub default_language: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub subject: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outage {
    /// While on, every new ticket gets the incident notice instead of the acknowledgement.
    pub enabled: bool,
    pub templates: BTreeMap<String, Template>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    #[serde(default)]
    pub utc_offset_minutes: i32,
    pub windows: Vec<Window>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// "HH:MM", local time.
    pub start: String,
    pub end: String,
}

impl Config {
    /// What would make a reply fail on some ticket: no template in the default language for
    /// a case the configuration can reach (acknowledgement; closed hours, when it sets
    /// business hours; the incident notice, in outage mode), or business hours that do not
    /// parse. Answers the configured business hours, parsed.
    pub fn check(&self) -> Result<Option<Schedule>, String> {
        let default = &self.default_language;
        if !self.templates.contains_key(default) {
            return Err(format!("no acknowledgement template for the default language `{default}`"));
        }
        let schedule = self.business_hours.as_ref().map(Schedule::from_config).transpose()?;
        if schedule.is_some() && !self.closed_templates.contains_key(default) {
            return Err(format!("business hours are set but there is no closed-hours template for the default language `{default}`"));
        }
        if self.outage.enabled && !self.outage.templates.contains_key(default) {
            return Err(format!("outage mode is on but there is no incident notice for the default language `{default}`"));
        }
        Ok(schedule)
    }
}

fn t(subject: &str, text: &str) -> Template {
    Template { subject: subject.to_owned(), text: text.to_owned() }
}

impl Default for Config {
    fn default() -> Self {
        let mut templates = BTreeMap::new();
        templates.insert("en".to_owned(), t(
            "[#{{ticket.number}}] We received your message: {{ticket.subject}}",
            "Hello {{contact.name}},\n\nthank you for writing to {{inbox.name}}. Your request has the number #{{ticket.number}}; \
             we will answer as soon as possible. Reply to this email to add anything.\n\n{{inbox.name}}",
        ));
        templates.insert("ru".to_owned(), t(
            "[#{{ticket.number}}] Мы получили ваше обращение: {{ticket.subject}}",
            "Здравствуйте, {{contact.name}}!\n\nСпасибо за обращение в {{inbox.name}}. Номер вашего запроса — #{{ticket.number}}; \
             мы ответим как можно скорее. Чтобы что-то добавить, просто ответьте на это письмо.\n\n{{inbox.name}}",
        ));
        templates.insert("pl".to_owned(), t(
            "[#{{ticket.number}}] Otrzymaliśmy Twoją wiadomość: {{ticket.subject}}",
            "Dzień dobry {{contact.name}},\n\ndziękujemy za wiadomość do {{inbox.name}}. Zgłoszenie ma numer #{{ticket.number}}; \
             odpowiemy najszybciej, jak to możliwe. Aby coś dodać, odpowiedz na tę wiadomość.\n\n{{inbox.name}}",
        ));
        templates.insert("fr".to_owned(), t(
            "[#{{ticket.number}}] Nous avons bien reçu votre message : {{ticket.subject}}",
            "Bonjour {{contact.name}},\n\nmerci d'avoir écrit à {{inbox.name}}. Votre demande porte le numéro #{{ticket.number}} ; \
             nous vous répondrons dès que possible. Répondez à ce message pour ajouter quoi que ce soit.\n\n{{inbox.name}}",
        ));
        let mut closed = BTreeMap::new();
        closed.insert("en".to_owned(), t(
            "[#{{ticket.number}}] We received your message: {{ticket.subject}}",
            "Hello {{contact.name}},\n\nthank you for writing to {{inbox.name}}. We are closed right now and will answer from \
             {{opening}}. Your request has the number #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        closed.insert("ru".to_owned(), t(
            "[#{{ticket.number}}] Мы получили ваше обращение: {{ticket.subject}}",
            "Здравствуйте, {{contact.name}}!\n\nСпасибо за обращение в {{inbox.name}}. Сейчас мы не работаем и ответим начиная с \
             {{opening}}. Номер вашего запроса — #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        closed.insert("pl".to_owned(), t(
            "[#{{ticket.number}}] Otrzymaliśmy Twoją wiadomość: {{ticket.subject}}",
            "Dzień dobry {{contact.name}},\n\ndziękujemy za wiadomość do {{inbox.name}}. Obecnie nie pracujemy; odpowiemy od \
             {{opening}}. Zgłoszenie ma numer #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        closed.insert("fr".to_owned(), t(
            "[#{{ticket.number}}] Nous avons bien reçu votre message : {{ticket.subject}}",
            "Bonjour {{contact.name}},\n\nmerci d'avoir écrit à {{inbox.name}}. Nous sommes fermés pour le moment et vous \
             répondrons à partir de {{opening}}. Votre demande porte le numéro #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        Config {
            templates,
            closed_templates: closed,
            business_hours: None,
            outage: Outage::default(),
            min_minutes_between_replies: 60,
            max_age_hours: 24,
            default_language: "en".to_owned(),
        }
    }
}

impl Default for Outage {
    fn default() -> Self {
        let mut outage = BTreeMap::new();
        outage.insert("en".to_owned(), t(
            "[#{{ticket.number}}] Known incident: {{ticket.subject}}",
            "Hello {{contact.name}},\n\nwe are aware of an ongoing incident and are working on it. You do not need to do \
             anything; we will write again when it is resolved. Your request has the number #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        outage.insert("ru".to_owned(), t(
            "[#{{ticket.number}}] Известный сбой: {{ticket.subject}}",
            "Здравствуйте, {{contact.name}}!\n\nМы знаем о текущем сбое и уже работаем над ним. Ничего делать не нужно: мы \
             напишем, когда всё будет исправлено. Номер вашего запроса — #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        outage.insert("pl".to_owned(), t(
            "[#{{ticket.number}}] Znana awaria: {{ticket.subject}}",
            "Dzień dobry {{contact.name}},\n\nwiemy o trwającej awarii i pracujemy nad nią. Nie musisz nic robić; napiszemy, \
             gdy zostanie usunięta. Zgłoszenie ma numer #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        outage.insert("fr".to_owned(), t(
            "[#{{ticket.number}}] Incident en cours : {{ticket.subject}}",
            "Bonjour {{contact.name}},\n\nnous sommes au courant d'un incident en cours et y travaillons. Vous n'avez rien à \
             faire ; nous vous écrirons dès qu'il sera résolu. Votre demande porte le numéro #{{ticket.number}}.\n\n{{inbox.name}}",
        ));
        Outage { enabled: false, templates: outage }
    }
}
