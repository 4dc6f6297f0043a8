//! The composer's Cc and Bcc fields: addresses as an agent reads and types them
//! (`Dana Lee <dana@example.com>, boss@example.com`), to and from the wire's lists.

use tandem_proto::MailAddress;

/// The addresses of a field, split at commas, semicolons and line breaks outside double
/// quotes (`"Lee, Dana" <dana@example.com>` is one), trimmed, empty ones dropped. The server
/// checks each one.
pub fn split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' | ';' | '\n' | '\r' if !quoted => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect()
}

/// The addresses as the field shows them; [`split`] reads them back.
pub fn format(addresses: &[MailAddress]) -> String {
    addresses
        .iter()
        .map(|a| match a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) if name.contains([',', ';', '"', '<', '>']) => format!("\"{}\" <{}>", name.replace('"', ""), a.email),
            Some(name) => format!("{name} <{}>", a.email),
            None => a.email.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(email: &str, name: Option<&str>) -> MailAddress {
        MailAddress { email: email.into(), name: name.map(Into::into) }
    }

    #[test]
    fn a_field_splits_outside_quotes() {
        assert_eq!(split(" a@x.test,b@x.test ; \n\"Lee, Dana\" <d@x.test>,, "), ["a@x.test", "b@x.test", "\"Lee, Dana\" <d@x.test>"]);
        assert!(split("  , ;").is_empty());
    }

    #[test]
    fn what_is_shown_reads_back() {
        let list = [addr("a@x.test", None), addr("d@x.test", Some("Lee, Dana")), addr("b@x.test", Some("Bo")), addr("q@x.test", Some("Say \"hi\""))];
        let shown = format(&list);
        assert_eq!(shown, "a@x.test, \"Lee, Dana\" <d@x.test>, Bo <b@x.test>, \"Say hi\" <q@x.test>");
        assert_eq!(split(&shown).len(), 4);
    }
}
