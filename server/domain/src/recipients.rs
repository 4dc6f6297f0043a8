//! Who besides the ticket's contact a reply goes to: copies (Cc) and blind copies (Bcc).
//!
//! A customer often writes with a colleague in Cc, or a colleague answers for them. A reply
//! that went to the contact alone would drop those people from the conversation, so by default
//! a reply goes to everyone on the customer's latest mail ("reply all"): its sender and its To
//! and Cc recipients, less the contact (the reply's To) and this desk's own addresses (a copy
//! to ourselves would come back as mail). The agent sees that list in the composer and may
//! change it; what is sent is stored on the reply.

use tandem_proto::{MailAddress, MailInfo};

use crate::{DomainError, validate};

/// Most copies (Cc and Bcc each) one reply may carry.
pub const MAX_COPIES: usize = 50;

/// Reads the copies an agent gave, each `ann@example.com` or `Ann Lee <ann@example.com>`:
/// checked, lower-cased, without repeats. `is_ours` tells this desk's own addresses, which
/// are refused (the copy would come back as mail), as is the contact, who gets the reply
/// anyway. Errors name `field`.
pub fn parse_copies(field: &str, raw: &[String], contact_email: &str, is_ours: &dyn Fn(&str) -> bool) -> Result<Vec<MailAddress>, DomainError> {
    if raw.len() > MAX_COPIES {
        return Err(DomainError::validation(field, format!("at most {MAX_COPIES} addresses")));
    }
    let mut out: Vec<MailAddress> = Vec::new();
    for entry in raw {
        let address = parse_address(field, entry)?;
        if is_ours(&address.email) {
            return Err(DomainError::validation(field, format!("`{}` is one of this desk's own addresses", address.email)));
        }
        if address.email.eq_ignore_ascii_case(contact_email) {
            return Err(DomainError::validation(field, format!("`{}` is the ticket's contact, who gets the reply anyway", address.email)));
        }
        if !out.iter().any(|a| a.email == address.email) {
            out.push(address);
        }
    }
    Ok(out)
}

/// `ann@example.com` or `Ann Lee <ann@example.com>` (the name may be quoted).
pub fn parse_address(field: &str, raw: &str) -> Result<MailAddress, DomainError> {
    let raw = raw.trim();
    let (name, email) = match raw.rsplit_once('<') {
        Some((name, rest)) => {
            let email = rest.strip_suffix('>').ok_or_else(|| DomainError::validation(field, format!("`{raw}` is not an email address")))?;
            let name = name.trim().trim_matches('"').trim();
            (Some(name).filter(|n| !n.is_empty()), email)
        }
        None => (None, raw),
    };
    let email = validate::email(field, email)?;
    if let Some(name) = name
        && (name.chars().count() > validate::MAX_NAME_CHARS || name.chars().any(char::is_control))
    {
        return Err(DomainError::validation(field, format!("the name in `{raw}` is too long or has control characters")));
    }
    Ok(MailAddress { email, name: name.map(str::to_owned) })
}

/// The copies a reply goes to unless the agent changes them: everyone on `latest` (the
/// customer's latest mail) — its sender, To and Cc — except the contact and this desk's own
/// addresses, in that order, without repeats, at most [`MAX_COPIES`]. Addresses that are not
/// valid are left out (they came from someone else's mail).
pub fn reply_all(latest: &MailInfo, contact_email: &str, is_ours: &dyn Fn(&str) -> bool) -> Vec<MailAddress> {
    let mut out: Vec<MailAddress> = Vec::new();
    for a in latest.from.iter().chain(&latest.to).chain(&latest.cc) {
        let Ok(email) = validate::email("cc", &a.email) else { continue };
        if email.eq_ignore_ascii_case(contact_email) || is_ours(&email) || out.iter().any(|o| o.email == email) {
            continue;
        }
        out.push(MailAddress { email, name: a.name.clone().filter(|n| !n.trim().is_empty()) });
        if out.len() == MAX_COPIES {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(email: &str) -> bool {
        let base = match email.split_once('@') {
            Some((local, domain)) => format!("{}@{domain}", local.split('+').next().unwrap_or(local)),
            None => email.to_owned(),
        };
        base == "support@desk.test" || base == "help@desk.test"
    }

    fn addr(email: &str, name: Option<&str>) -> MailAddress {
        MailAddress { email: email.into(), name: name.map(Into::into) }
    }

    fn mail(from: MailAddress, to: Vec<MailAddress>, cc: Vec<MailAddress>) -> MailInfo {
        MailInfo {
            subject: "Printer".into(),
            from: Some(from),
            to,
            cc,
            nature: "person".into(),
            has_remote_content: false,
            folded_from: None,
            skipped_parts: vec![],
            forwarded: vec![],
            inbound_id: None,
        }
    }

    #[test]
    fn reply_all_keeps_everyone_but_the_contact_and_the_desk() {
        let m = mail(
            addr("Carl@Customer.test", Some("Carl")),
            vec![addr("support@desk.test", None), addr("boss@customer.test", Some("Boss"))],
            vec![addr("help+t12@desk.test", None), addr("dana@customer.test", None), addr("BOSS@customer.test", None), addr("not an address", None)],
        );
        assert_eq!(reply_all(&m, "carl@customer.test", &ours), vec![addr("boss@customer.test", Some("Boss")), addr("dana@customer.test", None)]);
        // A colleague answered for the contact: the colleague is copied.
        let m = mail(addr("dana@customer.test", Some("Dana")), vec![addr("support@desk.test", None)], vec![addr("carl@customer.test", None)]);
        assert_eq!(reply_all(&m, "carl@customer.test", &ours), vec![addr("dana@customer.test", Some("Dana"))]);
        let many: Vec<MailAddress> = (0..80).map(|i| addr(&format!("p{i}@x.test"), None)).collect();
        assert_eq!(reply_all(&mail(addr("carl@customer.test", None), vec![], many), "carl@customer.test", &ours).len(), MAX_COPIES);
    }

    #[test]
    fn an_agents_copies_are_checked() {
        let given = vec!["Ann Lee <Ann@Example.test>".to_owned(), "\"Bo, Jr\" <bo@example.test>".to_owned(), " ann@example.test ".to_owned(), "cy@example.test".to_owned()];
        assert_eq!(
            parse_copies("cc", &given, "carl@customer.test", &ours).expect("valid"),
            vec![addr("ann@example.test", Some("Ann Lee")), addr("bo@example.test", Some("Bo, Jr")), addr("cy@example.test", None)]
        );
        for bad in ["nobody", "Ann <ann@example.test", "a@b@c", "x y@z.test", ""] {
            let e = parse_copies("cc", &[bad.to_owned()], "carl@customer.test", &ours).expect_err(bad);
            assert!(matches!(&e, DomainError::Validation { field: Some(f), .. } if f == "cc"), "{e:?}");
        }
        let e = parse_copies("bcc", &["support+t4@desk.test".to_owned()], "carl@customer.test", &ours).expect_err("ours");
        assert!(e.to_string().contains("own addresses"), "{e}");
        let e = parse_copies("cc", &["Carl@customer.test".to_owned()], "carl@customer.test", &ours).expect_err("contact");
        assert!(e.to_string().contains("contact"), "{e}");
        let many: Vec<String> = (0..51).map(|i| format!("p{i}@x.test")).collect();
        assert!(parse_copies("cc", &many, "carl@customer.test", &ours).is_err());
        assert!(parse_address("cc", &format!("{} <a@b.test>", "n".repeat(201))).is_err());
    }
}
