//! Relevance of a matching ticket, computed from the short fields of its index document.
//!
//! Every ticket that reaches ranking already matches the whole query (the index said so);
//! what tells them apart is *where*: a word in the subject says more than the same word deep
//! in a thread. So a term scores by the best field it appears in (subject 10, tags 6, people
//! 4; message text only 1), and ties go to the newest ticket. Engine statistics (bm25's and
//! ts_rank's document frequencies) are left out on purpose: computing them means walking the
//! full posting list of every term, which for a common word among a million messages costs
//! more than the whole rest of a search, and the result is the same on SQLite and PostgreSQL.

use super::query::{SearchQuery, Term};

const SUBJECT: u32 = 10;
const TAGS: u32 = 6;
const PEOPLE: u32 = 4;
const ELSEWHERE: u32 = 1;

/// Whether folded `words` (space-separated, in order) contain the term: a word equal to the
/// term or one of its stems, or starting with a stem (`invoic` → `invoices`); a phrase as
/// consecutive words.
fn contains(words: &[&str], term: &Term) -> bool {
    match term {
        Term::Word { folded, stems, .. } => {
            words.iter().any(|w| w == folded || stems.iter().any(|s| w.starts_with(s.as_str())))
        }
        Term::Phrase { words: phrase, .. } => {
            !phrase.is_empty() && words.windows(phrase.len()).any(|window| window.iter().zip(phrase).all(|(a, b)| a == b))
        }
    }
}

/// The score of a ticket whose document has these (folded) subject, tags and people.
pub fn score(query: &SearchQuery, subject: &str, tags: &str, people: &str) -> u32 {
    let subject: Vec<&str> = subject.split(' ').collect();
    let tags: Vec<&str> = tags.split(' ').collect();
    let people: Vec<&str> = people.split(' ').collect();
    query
        .positive_terms()
        .map(|term| {
            if contains(&subject, term) {
                SUBJECT
            } else if contains(&tags, term) {
                TAGS
            } else if contains(&people, term) {
                PEOPLE
            } else {
                ELSEWHERE
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score_of(q: &str, subject: &str, tags: &str, people: &str) -> u32 {
        score(&SearchQuery::parse(q).expect("query"), subject, tags, people)
    }

    #[test]
    fn the_best_field_of_each_term_counts() {
        assert_eq!(score_of("invoice", "invoices for march", "", ""), SUBJECT);
        assert_eq!(score_of("invoice", "refund", "invoice", ""), TAGS);
        assert_eq!(score_of("anna invoice", "refund", "", "anna smith"), PEOPLE + ELSEWHERE);
        assert_eq!(score_of("\"blank page\"", "a blank page again", "", ""), SUBJECT);
        assert_eq!(score_of("\"page blank\"", "a blank page again", "", ""), ELSEWHERE);
        // Excluded terms and filters do not score.
        assert_eq!(score_of("invoice -spam status:open", "invoice spam", "", ""), SUBJECT);
        assert_eq!(score_of("status:open", "anything", "", ""), 0);
    }
}
