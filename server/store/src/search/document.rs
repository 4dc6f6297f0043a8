//! The index document of a ticket: what a search can find it by.
//!
//! One document per ticket (so a search for two words finds a ticket whose subject has one
//! and a reply the other), rebuilt from the ticket's rows inside every transaction that
//! changes them. Pure: built from plain values, tested without a database.

use tandem_domain::search::text::{Indexed, fold};

/// Folded words of all messages kept per ticket; the rest of a very long thread is not indexed.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// What a ticket is made of, as far as search is concerned.
#[derive(Debug, Clone, Default)]
pub(crate) struct TicketText<'a> {
    pub subject: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tags: &'a [String],
    pub contact_name: &'a str,
    pub contact_email: &'a str,
    /// (author name, body text) of each message, oldest first.
    pub messages: Vec<(&'a str, &'a str)>,
}

/// The columns of the index, all space-separated terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Document {
    pub subject: String,
    pub body: String,
    pub people: String,
    pub tags: String,
    pub stems: String,
    pub facets: String,
}

/// Filter tokens. The `zz` prefix keeps them apart from words people write; the SQL filters
/// that run beside the index have the last word anyway.
pub(crate) mod facet {
    use super::fold;

    pub const ALL: &str = "zzall";
    pub const NOBODY: &str = "zznobody";

    pub fn status(status: &str) -> String {
        format!("zzstatus{}", fold(status))
    }
    pub fn priority(priority: &str) -> String {
        format!("zzpriority{}", fold(priority))
    }
    pub fn inbox(id: i64) -> String {
        format!("zzinbox{id}")
    }
    pub fn team(id: i64) -> String {
        format!("zzteam{id}")
    }
    pub fn assignee(id: i64) -> String {
        format!("zzassignee{id}")
    }
    pub fn tag(tag: &str) -> String {
        format!("zztag{}", fold(tag))
    }
    pub fn address(email: &str) -> String {
        format!("zzfrom{}", fold(email))
    }
    pub fn domain(domain: &str) -> String {
        format!("zzdomain{}", fold(domain))
    }

    /// `a.b.acme.com` → `a.b.acme.com`, `b.acme.com`, `acme.com`: `from:acme.com` finds subdomains.
    pub fn domains_of(email: &str) -> Vec<String> {
        let Some((_, host)) = email.rsplit_once('@') else { return Vec::new() };
        let labels: Vec<&str> = host.split('.').collect();
        (0..labels.len().saturating_sub(1)).map(|i| domain(&labels[i..].join("."))).collect()
    }
}

impl Document {
    pub(crate) fn build(t: &TicketText<'_>) -> Document {
        let mut text = Indexed::of(t.subject, usize::MAX);
        let subject = std::mem::take(&mut text.words);
        let mut body = Indexed::default();
        for (_, message) in &t.messages {
            body.push_text(message, MAX_BODY_BYTES);
        }
        let mut people = Indexed::of(t.contact_name, usize::MAX);
        people.push_text(t.contact_email, usize::MAX);
        let mut names = vec![Indexed::of(t.contact_name, usize::MAX).words];
        for (author, _) in &t.messages {
            let name = Indexed::of(author, usize::MAX).words;
            if !names.contains(&name) {
                people.push_text(author, 16 * 1024);
                names.push(name);
            }
        }
        let tags = Indexed::of(&t.tags.join(" "), usize::MAX);
        let stems = [text.stems, body.stems, tags.stems].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");

        let mut facets = vec![facet::ALL.to_owned(), facet::status(t.status), facet::priority(t.priority), facet::inbox(t.inbox_id)];
        facets.push(t.assignee_id.map_or_else(|| facet::NOBODY.to_owned(), facet::assignee));
        facets.extend(t.team_id.map(facet::team));
        facets.extend(t.tags.iter().map(|tag| facet::tag(tag)));
        facets.push(facet::address(t.contact_email));
        facets.extend(facet::domains_of(&t.contact_email.to_lowercase()));
        Document { subject, body: body.words, people: people.words, tags: tags.words, stems, facets: facets.join(" ") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_holds_folded_words_stems_and_facets() {
        let tags = vec!["billing".to_owned(), "vip-eu".to_owned()];
        let doc = Document::build(&TicketText {
            subject: "Błędna faktura",
            status: "open",
            priority: "high",
            inbox_id: 3,
            team_id: None,
            assignee_id: Some(7),
            tags: &tags,
            contact_name: "Łukasz Wójcik",
            contact_email: "lukasz@mail.Budmax.com.pl",
            messages: vec![("Łukasz Wójcik", "Proszę o korektę faktur."), ("Anna Agent", "Invoices fixed")],
        });
        assert_eq!(doc.subject, "bledna faktura");
        assert_eq!(doc.body, "prosze o korekte faktur invoices fixed");
        assert_eq!(doc.people, "lukasz wojcik lukasz mail budmax com pl anna agent");
        assert_eq!(doc.tags, "billing vip eu");
        assert!(doc.stems.split(' ').any(|s| s == "invoic"), "{}", doc.stems);
        let facets: Vec<&str> = doc.facets.split(' ').collect();
        for expected in ["zzall", "zzstatusopen", "zzpriorityhigh", "zzinbox3", "zzassignee7", "zztagbilling", "zztagvipeu",
            "zzfromlukaszmailbudmaxcompl", "zzdomainbudmaxcompl", "zzdomaincompl", "zzdomainmailbudmaxcompl"]
        {
            assert!(facets.contains(&expected), "{expected} missing from {facets:?}");
        }
        assert!(!facets.contains(&"zznobody"));
    }

    #[test]
    fn very_long_threads_are_capped() {
        let long = "word ".repeat(200_000);
        let doc = Document::build(&TicketText { subject: "s", status: "open", priority: "normal", messages: vec![("a", &long), ("b", "tail")], ..Default::default() });
        assert!(doc.body.len() <= MAX_BODY_BYTES + 8, "{}", doc.body.len());
        assert!(!doc.body.ends_with("tail"));
    }
}
