//! Threading keys: how an inbound message names the ticket it belongs to.

/// A Message-ID without its angle brackets and surrounding space; `None` if nothing is left.
pub fn normalize_message_id(raw: &str) -> Option<String> {
    let id = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    if id.is_empty() || id.len() > 998 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        None
    } else {
        Some(id.to_owned())
    }
}

/// The ticket number in a subject token such as `[#1234]` (the first one).
pub fn subject_token(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// The ticket number in a plus address `local+t1234@domain`.
pub fn plus_token(address: &str) -> Option<i64> {
    let (local, _) = address.rsplit_once('@')?;
    let (_, tag) = local.rsplit_once('+')?;
    let digits = tag.strip_prefix('t').or_else(|| tag.strip_prefix('T'))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `support@x.test` with the `+tag` removed: the address an alias or plus address points to.
pub fn base_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{}@{}", local.to_lowercase(), domain.to_lowercase())
        }
        None => address.to_lowercase(),
    }
}

/// The plus-addressed Reply-To for a ticket: `support+t1234@x.test`.
pub fn reply_address(inbox_address: &str, number: i64) -> String {
    match inbox_address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+t{number}@{domain}"),
        None => inbox_address.to_owned(),
    }
}

/// The subject Tandem sends: the ticket token first, once, then the subject without any
/// reply prefixes or older tokens (`Re: [#12] Re: Printer` → `[#12] Re: Printer`).
pub fn outbound_subject(number: i64, subject: &str) -> String {
    let token = format!("[#{number}]");
    let clean = strip_reply_prefixes(&subject.replace(&token, ""));
    if clean.is_empty() { format!("{token} Re:") } else { format!("{token} Re: {clean}") }
}

/// A subject reduced to what stays the same across a thread: list tags (`[dovecot]`), ticket
/// tokens and reply prefixes removed, lowercase, single spaces. `None` when nothing is left.
pub fn normalize_subject(subject: &str) -> Option<String> {
    let mut s = subject.trim().to_owned();
    loop {
        let before = s.clone();
        // A leading `[tag]` (mailing-list or ticket token), then reply prefixes.
        if s.starts_with('[')
            && let Some(end) = s.find(']')
        {
            s = s[end + 1..].trim_start().to_owned();
        }
        s = strip_reply_prefixes(&s);
        if s == before {
            break;
        }
    }
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    (!s.is_empty()).then_some(s)
}

/// Whether a subject says it is a reply (`Re:`, `AW:` … after any list tag).
pub fn is_reply_subject(subject: &str) -> bool {
    let mut s = subject.trim();
    while s.starts_with('[') {
        match s.find(']') {
            Some(end) => s = s[end + 1..].trim_start(),
            None => break,
        }
    }
    strip_reply_prefixes(s) != s.trim()
}

/// The subject without leading `Re:`, `Fwd:`, `AW:`, `WG:`, `SV:`, `Odp:`, `RE :` … prefixes.
pub fn strip_reply_prefixes(subject: &str) -> String {
    const PREFIXES: [&str; 12] = ["re", "fw", "fwd", "aw", "wg", "sv", "vs", "odp", "tr", "rif", "antw", "отв"];
    let mut s = subject.trim();
    while let Some(colon) = s.find(':') {
        let head = s[..colon].trim().to_lowercase();
        // `Re[2]:` style counters.
        let head = head.split('[').next().unwrap_or_default().trim().to_owned();
        if PREFIXES.contains(&head.as_str()) {
            s = s[colon + 1..].trim_start();
        } else {
            break;
        }
    }
    s.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_lose_brackets_and_reject_junk() {
        assert_eq!(normalize_message_id(" <a.b@c> ").as_deref(), Some("a.b@c"));
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id("<a b@c>"), None);
    }

    #[test]
    fn tokens() {
        assert_eq!(subject_token("Re: [#1234] Printer"), Some(1234));
        assert_eq!(subject_token("[#] [#x] no"), None);
        assert_eq!(subject_token("[#12 nope] [#13]"), Some(13));
        assert_eq!(plus_token("support+t1234@x.test"), Some(1234));
        assert_eq!(plus_token("support+news@x.test"), None);
        assert_eq!(plus_token("support@x.test"), None);
        assert_eq!(base_address("Support+t9@X.Test"), "support@x.test");
        assert_eq!(reply_address("support@x.test", 7), "support+t7@x.test");
    }

    #[test]
    fn subjects() {
        assert_eq!(outbound_subject(12, "Re: [#12] AW: Printer"), "[#12] Re: Printer");
        assert_eq!(outbound_subject(12, "Printer"), "[#12] Re: Printer");
        assert_eq!(strip_reply_prefixes("RE : Fwd: Re[2]: Hello: world"), "Hello: world");
        assert_eq!(normalize_subject("[dovecot] Re: Still  problems").as_deref(), Some("still problems"));
        assert_eq!(normalize_subject("Re: [#12] AW: still problems"), normalize_subject("still problems"));
        assert_eq!(normalize_subject("Re: "), None);
        assert!(is_reply_subject("[dovecot] Re: still problems"));
        assert!(!is_reply_subject("[dovecot] still problems"));
    }
}
