//! Normalisation and limits for user-supplied text. Errors name the offending field.

use crate::DomainError;

pub const MAX_SUBJECT_CHARS: usize = 500;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_TAGS: usize = 50;
/// Plain-text bodies above this size belong in attachments.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Lower-cases and checks an email address (`local@domain`, no spaces, a dot in the domain
/// unless it is a single-label test host such as `localhost`).
pub fn email(field: &str, raw: &str) -> Result<String, DomainError> {
    let value = raw.trim().to_lowercase();
    let invalid = || DomainError::validation(field, format!("`{}` is not an email address", raw.trim()));
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',') {
        return Err(invalid());
    }
    let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty() || local.contains('@') || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
        return Err(invalid());
    }
    Ok(value)
}

/// The company a contact probably belongs to, from their address; none for free-mail providers.
pub fn company_from_email(email: &str) -> Option<String> {
    const FREEMAIL: &[&str] = &[
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
        "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
        "web.de", "mail.ru", "yandex.ru", "ya.ru", "wp.pl", "o2.pl", "interia.pl", "onet.pl",
        "orange.fr", "free.fr", "laposte.net", "sfr.fr",
    ];
    let domain = email.rsplit_once('@')?.1;
    if FREEMAIL.contains(&domain) { None } else { Some(domain.to_owned()) }
}

/// Trims a required single-line text and checks its length.
pub fn text(field: &str, raw: &str, max_chars: usize) -> Result<String, DomainError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(DomainError::validation(field, format!("{field} must not be empty")));
    }
    if value.chars().count() > max_chars {
        return Err(DomainError::validation(field, format!("{field} is longer than {max_chars} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(DomainError::validation(field, format!("{field} must be a single line")));
    }
    Ok(value.to_owned())
}

/// A message body: must not be blank, bounded in size, line breaks kept.
pub fn body(field: &str, raw: &str) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        return Err(DomainError::validation(field, format!("{field} must not be empty")));
    }
    if raw.len() > MAX_BODY_BYTES {
        return Err(DomainError::validation(field, format!("{field} is larger than {MAX_BODY_BYTES} bytes")));
    }
    Ok(raw.replace("\r\n", "\n"))
}

/// One tag: trimmed, lower-cased, no commas or spaces inside (they separate tags in filters).
pub fn tag(raw: &str) -> Result<String, DomainError> {
    let value = raw.trim().to_lowercase();
    if value.is_empty() || value.chars().count() > MAX_TAG_CHARS {
        return Err(DomainError::validation("tags", format!("tag `{raw}` must have 1 to {MAX_TAG_CHARS} characters")));
    }
    if value.chars().any(|c| c == ',' || c.is_whitespace() || c.is_control()) {
        return Err(DomainError::validation("tags", format!("tag `{raw}` must not contain commas or spaces")));
    }
    Ok(value)
}

/// A set of tags, normalised, deduplicated and sorted.
pub fn tags(raw: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out = raw.iter().map(|t| tag(t)).collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    if out.len() > MAX_TAGS {
        return Err(DomainError::validation("tags", format!("a ticket has at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

/// A language tag such as `en`, `pt-BR` or `zh-Hant`.
pub fn language(field: &str, raw: &str) -> Result<String, DomainError> {
    let value = raw.trim();
    let mut parts = value.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(value.to_owned())
    } else {
        Err(DomainError::validation(field, format!("`{value}` is not a language tag such as `en` or `pt-BR`")))
    }
}

pub fn password(field: &str, raw: &str) -> Result<(), DomainError> {
    let count = raw.chars().count();
    if count < MIN_PASSWORD_CHARS {
        return Err(DomainError::validation(field, format!("a password needs at least {MIN_PASSWORD_CHARS} characters")));
    }
    if count > MAX_PASSWORD_CHARS {
        return Err(DomainError::validation(field, format!("a password has at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(email("email", " Anna@Example.COM ").as_deref(), Ok("anna@example.com"));
        for bad in ["", "anna", "@example.com", "anna@", "an na@example.com", "a@b@c", "anna@.com", "a,b@c.d"] {
            assert!(email("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn companies_come_from_non_freemail_domains() {
        assert_eq!(company_from_email("ivan@acme.ru").as_deref(), Some("acme.ru"));
        assert_eq!(company_from_email("ivan@gmail.com"), None);
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let raw = vec!["Billing".to_owned(), " billing ".to_owned(), "ru".to_owned()];
        assert_eq!(tags(&raw), Ok(vec!["billing".to_owned(), "ru".to_owned()]));
        assert!(tag("two words").is_err());
        assert!(tag("a,b").is_err());
        assert!(tag("").is_err());
    }

    #[test]
    fn texts_and_languages() {
        assert_eq!(text("subject", "  Hi ", 10).as_deref(), Ok("Hi"));
        assert!(text("subject", "   ", 10).is_err());
        assert!(text("subject", "line\nbreak", 20).is_err());
        assert!(text("subject", "ééééééééééé", 10).is_err());
        assert!(language("language", "pt-BR").is_ok());
        assert!(language("language", "english").is_err());
        assert!(body("body_text", " \n ").is_err());
        assert_eq!(body("body_text", "a\r\nb").as_deref(), Ok("a\nb"));
    }
}
