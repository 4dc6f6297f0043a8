//! A parsed query in each engine's own language: an FTS5 `MATCH` expression for SQLite, a
//! `tsquery` for PostgreSQL. Every term is one already-folded word of letters and digits,
//! quoted anyway, so nothing a user types can become operator syntax.

use tandem_domain::search::{SearchQuery, Term};

/// Index columns a word may match in (FTS5 column names; PostgreSQL's `document` holds the same).
const TEXT_COLUMNS: &str = "{subject body people tags stems}";
const PHRASE_COLUMNS: &str = "{subject body}";

/// A condition on filter tokens: any one of them (OR).
pub(crate) type FacetClause = Vec<String>;

/// The index-side conditions of a search: text terms and facet clauses, combined with AND.
#[derive(Debug, Clone)]
pub(crate) struct IndexQuery<'a> {
    pub query: &'a SearchQuery,
    pub facets: Vec<FacetClause>,
}

fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

fn fts_term(term: &Term) -> String {
    match term {
        Term::Word { folded, stems, .. } => {
            let forms: Vec<String> = std::iter::once(folded).chain(stems).map(|w| quoted(w)).collect();
            format!("{TEXT_COLUMNS} : ({})", forms.join(" OR "))
        }
        Term::Phrase { words, .. } => format!("{PHRASE_COLUMNS} : {}", quoted(&words.join(" "))),
    }
}

fn pg_lexeme(word: &str) -> String {
    format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"))
}

fn pg_term(term: &Term) -> String {
    match term {
        Term::Word { folded, stems, .. } => {
            let forms: Vec<String> = std::iter::once(folded).chain(stems).map(|w| pg_lexeme(w)).collect();
            format!("({})", forms.join(" | "))
        }
        Term::Phrase { words, .. } => format!("({})", words.iter().map(|w| pg_lexeme(w)).collect::<Vec<_>>().join(" <-> ")),
    }
}

impl IndexQuery<'_> {
    /// The FTS5 `MATCH` expression.
    pub(crate) fn fts5(&self) -> String {
        let mut positive: Vec<String> = self.query.positive_terms().map(|t| format!("({})", fts_term(t))).collect();
        for clause in &self.facets {
            let any: Vec<String> = clause.iter().map(|f| quoted(f)).collect();
            positive.push(format!("(facets : ({}))", any.join(" OR ")));
        }
        if positive.is_empty() {
            positive.push(format!("(facets : {})", quoted(super::document::facet::ALL)));
        }
        let mut expr = format!("({})", positive.join(" AND "));
        for term in self.query.terms.iter().filter(|t| t.negated()) {
            expr.push_str(&format!(" NOT ({})", fts_term(term)));
        }
        expr
    }

    /// The PostgreSQL `tsquery`s (for `to_tsquery('simple', …)`): one over the text
    /// (`document`; `None` without text terms) and one over the facets (`facet_terms`).
    /// Two vectors with a GIN index each, so a word can never match a facet and no weight
    /// restriction forces PostgreSQL to re-read documents.
    pub(crate) fn tsqueries(&self) -> (Option<String>, String) {
        let mut text: Vec<String> = self.query.positive_terms().map(pg_term).collect();
        text.extend(self.query.terms.iter().filter(|t| t.negated()).map(|t| format!("!{}", pg_term(t))));
        let mut facets: Vec<String> = Vec::new();
        for clause in &self.facets {
            let any: Vec<String> = clause.iter().map(|f| pg_lexeme(f)).collect();
            facets.push(format!("({})", any.join(" | ")));
        }
        if facets.is_empty() {
            facets.push(pg_lexeme(super::document::facet::ALL));
        }
        ((!text.is_empty()).then(|| text.join(" & ")), facets.join(" & "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_get_the_same_terms() {
        let query = SearchQuery::parse(r#"refunds "blank page" -spam"#).expect("parse");
        let iq = IndexQuery { query: &query, facets: vec![vec!["zzinbox1".into(), "zzinbox2".into()]] };
        assert_eq!(
            iq.fts5(),
            r#"(({subject body people tags stems} : ("refunds" OR "refund")) AND ({subject body} : "blank page") AND (facets : ("zzinbox1" OR "zzinbox2"))) NOT ({subject body people tags stems} : ("spam"))"#
        );
        assert_eq!(
            iq.tsqueries(),
            (Some("('refunds' | 'refund') & ('blank' <-> 'page') & !('spam')".to_owned()), "('zzinbox1' | 'zzinbox2')".to_owned())
        );
    }

    #[test]
    fn filters_alone_match_every_document() {
        let query = SearchQuery::parse("status:open").expect("parse");
        let iq = IndexQuery { query: &query, facets: vec![] };
        assert_eq!(iq.fts5(), r#"((facets : "zzall"))"#);
        assert_eq!(iq.tsqueries(), (None, "'zzall'".to_owned()));
    }
}
