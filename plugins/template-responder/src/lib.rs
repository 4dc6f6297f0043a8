//! `template-responder`, bundled with Tandem: acknowledges a new ticket with its number, in the
//! customer's language, from configurable templates. Outside business hours it says when the
//! team is back; in outage mode it sends the incident notice instead. It never answers
//! automatic mail (Auto-Submitted, Precedence, X-Auto-Response-Suppress, mailing lists,
//! bounces and delivery reports, no-reply senders) nor mail written long ago (imported
//! history), and writes at most once per contact per window, so two robots cannot loop.

pub mod config;
pub mod hours;

use tandem_plugin_sdk::{AutoReply, Context, Message, MessageKind, PluginError, RespondInput, Responder, Response, TicketStatus};

use config::{Config, Template};
use hours::Schedule;

#[derive(Debug)]
pub struct TemplateResponder;

impl Responder for TemplateResponder {
    fn respond(input: RespondInput, cx: &Context) -> Result<Response, PluginError> {
        let config: Config = cx.config()?;
        respond(&input, &config, cx.now())
    }
}

tandem_plugin_sdk::export_responder!(TemplateResponder);

const MINUTE: i64 = 60 * 1_000_000;
const HOUR: i64 = 60 * MINUTE;
/// The host refuses longer subjects; customers' subjects can be longer than that.
const MAX_SUBJECT_CHARS: usize = 250;

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

pub fn respond(input: &RespondInput, config: &Config, now: i64) -> Result<Response, PluginError> {
    // Checked before anything else, so a configuration that would fail on some ticket fails on
    // every call (and when an admin saves it: the host asks the plugin then).
    let configured_hours = config.check().map_err(PluginError::InvalidConfig)?;
    if let Some(reason) = suppressed(input, config, now) {
        return Ok(Response::no_reply(reason));
    }
    let language = input.ticket.language.clone().filter(|l| config.templates.contains_key(l)).unwrap_or(config.default_language.clone());

    let schedule = match &input.inbox.business_hours {
        Some(inbox_hours) => Some(Schedule::from_inbox(inbox_hours)),
        None => configured_hours,
    };
    let (kind, templates) = if config.outage.enabled {
        ("outage notice", &config.outage.templates)
    } else if schedule.as_ref().is_some_and(|s| !s.windows.is_empty() && !s.is_open(now)) {
        ("closed-hours acknowledgement", &config.closed_templates)
    } else {
        ("acknowledgement", &config.templates)
    };
    let Some((template_language, template)) = pick(templates, &language, &config.default_language) else {
        return Err(PluginError::InvalidConfig(format!("no {kind} template for `{language}` nor for the default language `{}`", config.default_language)));
    };
    let opening = schedule
        .as_ref()
        .and_then(|s| s.next_opening(now).map(|(day, minute)| hours::describe_opening(day, minute, s.utc_offset_minutes, template_language)))
        .unwrap_or_default();
    let reply = AutoReply {
        subject: truncate_chars(&render(&template.subject, input, &opening), MAX_SUBJECT_CHARS),
        text: render(&template.text, input, &opening),
        html: None,
        template: Some(format!("{kind} ({template_language})")),
    };
    Ok(Response { reply: Some(reply), reason: format!("{kind} in {template_language}") })
}

fn pick<'a>(templates: &'a std::collections::BTreeMap<String, Template>, language: &str, default: &str) -> Option<(&'a str, &'a Template)> {
    templates.get_key_value(language).or_else(|| templates.get_key_value(default)).map(|(l, t)| (l.as_str(), t))
}

/// Why no reply may go out, if so.
fn suppressed(input: &RespondInput, config: &Config, now: i64) -> Option<String> {
    let message = &input.message;
    if message.kind != MessageKind::Inbound {
        return Some("not a customer message".to_owned());
    }
    if input.ticket.status == TicketStatus::Spam {
        return Some("ticket is spam".to_owned());
    }
    if input.ticket.message_count > 1 {
        return Some("customer reply on an existing ticket".to_owned());
    }
    if let Some(reason) = automatic(message) {
        return Some(reason);
    }
    if let Some(reason) = too_old(message, config.max_age_hours, now) {
        return Some(reason);
    }
    if let Some(last) = input.contact.last_auto_reply_at {
        let window = i64::from(config.min_minutes_between_replies) * MINUTE;
        if now - last < window {
            return Some(format!("contact got an automatic reply {} min ago (window {} min)", (now - last) / MINUTE, config.min_minutes_between_replies));
        }
    }
    None
}

/// Why the message is too old to acknowledge, if it is: written (its `Date` header) more than
/// `max_age_hours` before `now` (0: no limit). A missing or unreadable date, or one in the
/// future (a sender's clock ahead), is not a reason.
fn too_old(message: &Message, max_age_hours: u32, now: i64) -> Option<String> {
    if max_age_hours == 0 {
        return None;
    }
    let date = message.header("Date")?.trim();
    let written = chrono::DateTime::parse_from_rfc2822(date).ok()?.timestamp_micros();
    let age = now.checked_sub(written)?;
    if age <= i64::from(max_age_hours).saturating_mul(HOUR) {
        return None;
    }
    let hours = age / HOUR;
    let ago = if hours < 48 { format!("{hours} h") } else { format!("{} days", hours / 24) };
    Some(format!("written {ago} ago (Date: {date}), more than {max_age_hours} h: too late to acknowledge"))
}

/// Whether the message was sent by a machine (RFC 3834 and common practice).
pub fn automatic(message: &Message) -> Option<String> {
    if let Some(v) = message.header("Auto-Submitted")
        && !v.trim().eq_ignore_ascii_case("no")
    {
        return Some(format!("Auto-Submitted: {}", v.trim()));
    }
    if let Some(v) = message.header("Precedence")
        && ["bulk", "list", "junk", "auto_reply"].contains(&v.trim().to_ascii_lowercase().as_str())
    {
        return Some(format!("Precedence: {}", v.trim()));
    }
    if let Some(v) = message.header("X-Auto-Response-Suppress") {
        let v = v.to_ascii_lowercase();
        if ["all", "autoreply", "oof"].iter().any(|flag| v.split(|c: char| c == ',' || c.is_whitespace()).any(|f| f == *flag)) {
            return Some(format!("X-Auto-Response-Suppress: {v}"));
        }
    }
    // Mailing lists (RFC 2369 and 2919, ezmlm's Mailing-List, fml's X-ML-*) and robots.
    for list_header in [
        "List-Id", "List-Unsubscribe", "List-Post", "List-Subscribe", "List-Help", "List-Archive", "Mailing-List", "X-Mailing-List",
        "X-ML-Name", "X-MLServer", "X-Autoreply", "X-Autorespond", "X-Loop",
    ] {
        if message.header(list_header).is_some() {
            return Some(format!("{list_header} present"));
        }
    }
    if message.headers.iter().any(|h| h.name.eq_ignore_ascii_case("Delivered-To") && h.value.to_ascii_lowercase().starts_with("mailing list")) {
        return Some("Delivered-To: mailing list".to_owned());
    }
    if let Some(v) = message.header("Content-Type") {
        let v = v.to_ascii_lowercase();
        for report in ["multipart/report", "message/delivery-status", "message/disposition-notification", "message/feedback-report"] {
            if v.contains(report) {
                return Some(format!("delivery or feedback report ({report})"));
            }
        }
    }
    if message.header("Return-Path").is_some_and(|v| v.trim() == "<>") {
        return Some("null Return-Path (a bounce)".to_owned());
    }
    let Some((local, _)) = message.from_address.trim().split_once('@') else {
        return Some("no sender address to answer".to_owned());
    };
    let local = local.trim_start_matches('<').to_ascii_lowercase();
    if ["mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"].contains(&local.as_str()) {
        return Some(format!("sender {} does not take replies", message.from_address));
    }
    None
}

/// Fills `{{ticket.number}}`, `{{ticket.subject}}`, `{{contact.name}}`, `{{contact.email}}`,
/// `{{inbox.name}}`, `{{inbox.address}}` and `{{opening}}`.
fn render(template: &str, input: &RespondInput, opening: &str) -> String {
    let name = input.contact.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| input.contact.email.clone());
    let values = [
        ("ticket.number", input.ticket.number.to_string()),
        ("ticket.subject", input.ticket.subject.clone()),
        ("contact.name", name),
        ("contact.email", input.contact.email.clone()),
        ("inbox.name", input.inbox.name.clone()),
        ("inbox.address", input.inbox.address.clone()),
        ("opening", opening.to_owned()),
    ];
    let mut out = template.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), &value).replace(&format!("{{{{ {key} }}}}"), &value);
    }
    out
}

#[cfg(test)]
mod tests;
