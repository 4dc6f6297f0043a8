//! The search box language: words, "exact phrases", `-excluded` terms and `key:value` filters.
//!
//! ```text
//! status:open assignee:me tag:billing from:acme.com "exact phrase" refund -test
//! ```
//!
//! Filters of different keys combine with AND; several values of one key (`status:open,pending`
//! or `status:open status:pending`) with OR, except `tag:`, where every tag must be present.
//! A `key:value` with a key that is not a filter (`error:502`) is searched as text.

use tandem_proto::{Priority, TicketStatus};

use super::text::{fold, indexable, stems, words};

/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most text terms (words and phrases) in one query.
pub const MAX_TERMS: usize = 16;

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub terms: Vec<Term>,
    pub filters: Filters,
}

/// A text term: a word (matched with its stems) or an exact phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Word { folded: String, stems: Vec<String>, negated: bool },
    /// Folded words that must follow each other.
    Phrase { words: Vec<String>, negated: bool },
}

impl Term {
    pub fn negated(&self) -> bool {
        match self {
            Term::Word { negated, .. } | Term::Phrase { negated, .. } => *negated,
        }
    }
}

/// Whose tickets `assignee:` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeRef {
    Me,
    Nobody,
    /// A user's email address (as typed; the store resolves it).
    Email(String),
}

/// Who wrote to us, for `from:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromRef {
    /// A whole address: `from:anna@acme.com`.
    Address(String),
    /// A mail domain and its subdomains: `from:acme.com`.
    Domain(String),
}

/// The structured part of a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub assignee: Option<AssigneeRef>,
    /// Every one must be on the ticket (lower-cased).
    pub tags: Vec<String>,
    pub from: Vec<FromRef>,
    /// An inbox id or name (the store resolves it).
    pub inbox: Option<String>,
    /// A team id or name (the store resolves it).
    pub team: Option<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }
}

/// Why a query was refused; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("type something to search for")]
    Empty,
    #[error("the search is too long: at most {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("the search has too many words: at most {MAX_TERMS} words and phrases")]
    TooManyTerms,
    #[error("`{key}:{value}` is not a filter value: {expected}")]
    BadFilter { key: String, value: String, expected: String },
    #[error("a search needs at least one word or filter that is not excluded with `-`")]
    OnlyExclusions,
}

impl SearchQuery {
    /// Parses what the user typed.
    pub fn parse(input: &str) -> Result<SearchQuery, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut query = SearchQuery::default();
        for token in tokens(input) {
            query.add(token)?;
        }
        if query.terms.len() > MAX_TERMS {
            return Err(QueryError::TooManyTerms);
        }
        if query.terms.is_empty() && query.filters.is_empty() {
            return Err(QueryError::Empty);
        }
        if query.filters.is_empty() && query.terms.iter().all(Term::negated) {
            return Err(QueryError::OnlyExclusions);
        }
        Ok(query)
    }

    /// Terms that must match (not excluded).
    pub fn positive_terms(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| !t.negated())
    }

    fn add(&mut self, token: Token<'_>) -> Result<(), QueryError> {
        if let Some((key, value)) = token.filter
            && self.add_filter(&key.to_lowercase(), value)?
        {
            return Ok(());
        }
        self.add_text(token.text, token.quoted, token.negated);
        Ok(())
    }

    /// Adds a `key:value` filter; `false` when `key` is not a filter.
    fn add_filter(&mut self, key: &str, value: &str) -> Result<bool, QueryError> {
        let bad = |expected: &str| QueryError::BadFilter { key: key.to_owned(), value: value.to_owned(), expected: expected.to_owned() };
        let values = || value.split(',').map(str::trim).filter(|v| !v.is_empty());
        let f = &mut self.filters;
        match key {
            "status" | "is" => {
                for v in values() {
                    let status = v.to_lowercase().parse().map_err(|_| bad(&names(TicketStatus::ALL)))?;
                    if !f.statuses.contains(&status) {
                        f.statuses.push(status);
                    }
                }
            }
            "priority" => {
                for v in values() {
                    let priority = v.to_lowercase().parse().map_err(|_| bad(&names(Priority::ALL)))?;
                    if !f.priorities.contains(&priority) {
                        f.priorities.push(priority);
                    }
                }
            }
            "assignee" => {
                f.assignee = Some(match value.to_lowercase().as_str() {
                    "me" => AssigneeRef::Me,
                    "none" | "nobody" => AssigneeRef::Nobody,
                    v if v.contains('@') => AssigneeRef::Email(v.to_owned()),
                    _ => return Err(bad("`me`, `none` or a user's email address")),
                });
            }
            "tag" => {
                for v in values() {
                    let tag = v.to_lowercase();
                    if !f.tags.contains(&tag) {
                        f.tags.push(tag);
                    }
                }
            }
            "from" => {
                for v in values() {
                    let v = v.trim_start_matches('@').to_lowercase();
                    let valid_domain = |d: &str| d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !d.contains(char::is_whitespace);
                    let item = match v.split_once('@') {
                        Some((local, domain)) if !local.is_empty() && valid_domain(domain) => FromRef::Address(v.clone()),
                        None if valid_domain(&v) => FromRef::Domain(v.clone()),
                        _ => return Err(bad("an email address or a mail domain such as `acme.com`")),
                    };
                    if !f.from.contains(&item) {
                        f.from.push(item);
                    }
                }
            }
            "inbox" | "team" => {
                let v = value.trim();
                if v.is_empty() {
                    return Err(bad("an id or a name"));
                }
                let slot = if key == "inbox" { &mut f.inbox } else { &mut f.team };
                *slot = Some(v.to_owned());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn add_text(&mut self, text: &str, quoted: bool, negated: bool) {
        let found: Vec<(&str, String)> =
            words(text).filter(|w| indexable(w.text)).map(|w| (w.text, fold(w.text))).filter(|(_, f)| !f.is_empty()).collect();
        match found.as_slice() {
            [] => {}
            [(word, folded)] if !quoted => {
                let term = Term::Word { folded: folded.clone(), stems: stems(word), negated };
                if !self.terms.contains(&term) {
                    self.terms.push(term);
                }
            }
            // Quoted, or one typed token that is several words (`e-mail`, `4711/B`): a phrase.
            many => self.terms.push(Term::Phrase { words: many.iter().map(|(_, f)| f.clone()).collect(), negated }),
        }
    }
}

fn names<T: std::fmt::Display>(all: &[T]) -> String {
    let list: Vec<String> = all.iter().map(|v| format!("`{v}`")).collect();
    format!("one of {}", list.join(", "))
}

/// A whitespace-separated piece of the query, quotes respected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    quoted: bool,
    negated: bool,
    /// `key:value` when the token has that shape (the value may be quoted).
    filter: Option<(&'a str, &'a str)>,
}

fn tokens(input: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        let (negated, body) = match rest.strip_prefix('-') {
            Some(after) if after.starts_with(|c: char| !c.is_whitespace()) => (true, after),
            _ => (false, rest),
        };
        let (token, after) = if let Some(inner) = body.strip_prefix('"') {
            // An unterminated quote runs to the end of the input.
            let end = inner.find('"').unwrap_or(inner.len());
            let after = inner.get(end + 1..).unwrap_or("");
            (Token { text: &inner[..end], quoted: true, negated, filter: None }, after)
        } else {
            let colon_quote = body.find(':').filter(|i| body[*i + 1..].starts_with('"') && !body[..*i].contains(char::is_whitespace));
            if let Some(i) = colon_quote {
                let inner = &body[i + 2..];
                let end = inner.find('"').unwrap_or(inner.len());
                let after = inner.get(end + 1..).unwrap_or("");
                (Token { text: &body[..i + 2 + end], quoted: true, negated, filter: Some((&body[..i], &inner[..end])) }, after)
            } else {
                let end = body.find(char::is_whitespace).unwrap_or(body.len());
                let text = &body[..end];
                let filter = text.split_once(':').filter(|(k, v)| !k.is_empty() && !v.is_empty() && !negated);
                (Token { text, quoted: false, negated, filter }, &body[end..])
            }
        };
        out.push(token);
        rest = after.trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn word(w: &str) -> Term {
        Term::Word { folded: fold(w), stems: stems(w), negated: false }
    }

    #[test]
    fn the_example_of_the_issue_parses() {
        let q = SearchQuery::parse(r#"status:open assignee:me tag:billing from:acme.com "exact phrase""#).expect("parse");
        assert_eq!(q.filters.statuses, [TicketStatus::Open]);
        assert_eq!(q.filters.assignee, Some(AssigneeRef::Me));
        assert_eq!(q.filters.tags, ["billing"]);
        assert_eq!(q.filters.from, [FromRef::Domain("acme.com".into())]);
        assert_eq!(q.terms, [Term::Phrase { words: vec!["exact".into(), "phrase".into()], negated: false }]);
    }

    #[test]
    fn words_are_folded_and_stemmed() {
        let q = SearchQuery::parse("Zamówienia СЧЁТ refunds").expect("parse");
        assert_eq!(q.terms, [word("Zamówienia"), word("СЧЁТ"), word("refunds")]);
        let Term::Word { folded, stems, .. } = &q.terms[2] else { panic!("a word") };
        assert_eq!(folded, "refunds");
        assert!(stems.contains(&"refund".to_owned()), "{stems:?}");
    }

    #[test]
    fn several_values_exclusions_and_unknown_keys() {
        let q = SearchQuery::parse("status:open,pending priority:HIGH -spam -\"out of office\" error:502 e-mail").expect("parse");
        assert_eq!(q.filters.statuses, [TicketStatus::Open, TicketStatus::Pending]);
        assert_eq!(q.filters.priorities, [Priority::High]);
        assert_eq!(q.terms.len(), 4, "{:?}", q.terms);
        assert!(q.terms[0].negated() && q.terms[1].negated());
        assert_eq!(q.terms[2], Term::Phrase { words: vec!["error".into(), "502".into()], negated: false });
        assert_eq!(q.terms[3], Term::Phrase { words: vec!["e".into(), "mail".into()], negated: false });
    }

    #[test]
    fn quoted_filter_values_and_unterminated_quotes() {
        let q = SearchQuery::parse(r#"inbox:"Sales EU" "never closed"#).expect("parse");
        assert_eq!(q.filters.inbox.as_deref(), Some("Sales EU"));
        assert_eq!(q.terms, [Term::Phrase { words: vec!["never".into(), "closed".into()], negated: false }]);
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        assert_eq!(SearchQuery::parse("   "), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("\"\" ,.;"), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("-spam"), Err(QueryError::OnlyExclusions));
        assert!(SearchQuery::parse("-spam status:open").is_ok());
        assert!(matches!(SearchQuery::parse("status:maybe"), Err(QueryError::BadFilter { .. })));
        let err = SearchQuery::parse("status:maybe").expect_err("bad").to_string();
        assert!(err.contains("`open`"), "{err}");
        assert!(matches!(SearchQuery::parse("from:nowhere"), Err(QueryError::BadFilter { .. })));
        assert!(matches!(SearchQuery::parse("assignee:bob"), Err(QueryError::BadFilter { .. })));
        assert_eq!(SearchQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1)), Err(QueryError::TooLong));
        let many: Vec<String> = (0..=MAX_TERMS).map(|i| format!("w{i}")).collect();
        assert_eq!(SearchQuery::parse(&many.join(" ")), Err(QueryError::TooManyTerms));
    }

    proptest! {
        #[test]
        fn any_input_parses_or_is_refused_cleanly(input in "\\PC{0,80}") {
            if let Ok(q) = SearchQuery::parse(&input) {
                for term in &q.terms {
                    let parts: Vec<&String> = match term {
                        Term::Word { folded, stems, .. } => std::iter::once(folded).chain(stems).collect(),
                        Term::Phrase { words, .. } => words.iter().collect(),
                    };
                    for part in parts {
                        prop_assert!(!part.is_empty() && part.chars().all(char::is_alphanumeric), "{part:?}");
                    }
                }
            }
        }
    }
}
