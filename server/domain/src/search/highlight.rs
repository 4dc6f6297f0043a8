//! Highlighting: which words of a text matched a query, and a short excerpt around them.
//!
//! A word of the text matches when it, or one of its stems, is a word or stem of a
//! (not excluded) query term: the same rule the index applies, so what is marked is what
//! made the ticket match. The result is plain text in pieces, never HTML: the UI decides
//! how to show a hit, and nothing from a customer's mail can inject markup.

use std::collections::HashSet;

use super::{
    query::{SearchQuery, Term},
    text::{fold, stems, words},
};

/// A piece of an excerpt; `hit` pieces are the matching words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

/// An excerpt of a text around its first match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    pub pieces: Vec<Piece>,
    /// Text was cut before the first piece / after the last one.
    pub cut_before: bool,
    pub cut_after: bool,
}

/// Decides whether a word of a text matches a query.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    forms: HashSet<String>,
}

impl Matcher {
    pub fn new(query: &SearchQuery) -> Matcher {
        let mut forms = HashSet::new();
        for term in query.positive_terms() {
            match term {
                Term::Word { folded, stems, .. } => {
                    forms.insert(folded.clone());
                    forms.extend(stems.iter().cloned());
                }
                Term::Phrase { words, .. } => forms.extend(words.iter().cloned()),
            }
        }
        Matcher { forms }
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    pub fn matches(&self, word: &str) -> bool {
        let folded = fold(word);
        !folded.is_empty() && (self.forms.contains(&folded) || stems(word).iter().any(|s| self.forms.contains(s)))
    }

    /// Byte ranges of the matching words of `text`.
    pub fn hits(&self, text: &str) -> Vec<(usize, usize)> {
        if self.is_empty() {
            return Vec::new();
        }
        words(text).filter(|w| self.matches(w.text)).map(|w| (w.start, w.end())).collect()
    }

    /// The whole of a short text (a subject, a name) in pieces, or `None` without a match.
    pub fn mark(&self, text: &str) -> Option<Vec<Piece>> {
        let hits = self.hits(text);
        (!hits.is_empty()).then(|| pieces(text, 0, text.len(), &hits))
    }

    /// About `max_chars` of `text` around its first match, or `None` without a match.
    pub fn excerpt(&self, text: &str, max_chars: usize) -> Option<Excerpt> {
        let hits = self.hits(text);
        let &(first, _) = hits.first()?;
        // Start a few words before the first hit, at a word boundary.
        let lead = max_chars / 4;
        let mut start = first;
        for w in words(&text[..first]).collect::<Vec<_>>().into_iter().rev() {
            if text[w.start..first].chars().count() > lead {
                break;
            }
            start = w.start;
        }
        let mut end = start;
        for (i, c) in text[start..].char_indices() {
            if i > 0 && text[start..start + i].chars().count() >= max_chars {
                break;
            }
            end = start + i + c.len_utf8();
        }
        // Do not cut a word in two at the end.
        if let Some(w) = words(text).find(|w| w.start < end && w.end() > end) {
            end = if w.start > start { w.start } else { w.end() };
        }
        let end = text[..end].trim_end().len().max(start);
        Some(Excerpt { pieces: pieces(text, start, end, &hits), cut_before: start > 0, cut_after: end < text.trim_end().len() })
    }
}

/// `text[start..end]` split into plain and hit pieces; runs of white space become one space.
fn pieces(text: &str, start: usize, end: usize, hits: &[(usize, usize)]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut push = |slice: &str, hit: bool| {
        let clean = slice.split_whitespace().collect::<Vec<_>>().join(" ");
        let clean = if slice.starts_with(char::is_whitespace) && !out.is_empty() { format!(" {clean}") } else { clean };
        let clean = if slice.ends_with(char::is_whitespace) && !clean.trim().is_empty() { format!("{clean} ") } else { clean };
        if clean.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.hit == hit => last.text.push_str(&clean),
            _ => out.push(Piece { text: clean, hit }),
        }
    };
    let mut at = start;
    for &(s, e) in hits.iter().filter(|(s, e)| *s >= start && *e <= end) {
        push(&text[at..s], false);
        push(&text[s..e], true);
        at = e;
    }
    push(&text[at..end], false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(q: &str) -> Matcher {
        Matcher::new(&SearchQuery::parse(q).expect("query"))
    }

    fn marked(pieces: &[Piece]) -> String {
        pieces.iter().map(|p| if p.hit { format!("[{}]", p.text) } else { p.text.clone() }).collect()
    }

    #[test]
    fn words_and_their_inflections_are_marked() {
        let m = matcher("invoice заказ");
        assert_eq!(marked(&m.mark("Two invoices for Заказа 7").expect("hit")), "Two [invoices] for [Заказа] 7");
        assert!(m.mark("nothing here").is_none());
        let m = matcher("zamowienie");
        assert_eq!(marked(&m.mark("Opóźnienie: ZAMÓWIENIE 12").expect("hit")), "Opóźnienie: [ZAMÓWIENIE] 12");
    }

    #[test]
    fn excerpts_start_near_the_first_hit_and_keep_whole_words() {
        let text = "Hello team,\n\nwe have a long story here. Since yesterday the dashboard shows a blank page \
                    and nobody can work. Please help us quickly, thanks a lot.";
        let e = matcher("blank").excerpt(text, 60).expect("excerpt");
        let shown = marked(&e.pieces);
        assert!(shown.contains("[blank]"), "{shown}");
        assert!(e.cut_before && e.cut_after, "{e:?}");
        assert!(shown.chars().count() <= 64, "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
        // Each end of the excerpt is a whole word of the text.
        let plain: String = e.pieces.iter().map(|p| p.text.as_str()).collect();
        let first = plain.split_whitespace().next().expect("word");
        let last = plain.split_whitespace().last().expect("word");
        let text_words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).collect();
        assert!(text_words.contains(&first.trim_matches(|c: char| !c.is_alphanumeric())), "{first}");
        assert!(text_words.contains(&last.trim_matches(|c: char| !c.is_alphanumeric())), "{last}");
    }

    #[test]
    fn excluded_terms_are_not_marked_and_short_texts_are_whole() {
        let m = matcher("refund -spam");
        assert_eq!(marked(&m.excerpt("spam refund", 200).expect("hit").pieces), "spam [refund]");
        let e = m.excerpt("refund", 200).expect("hit");
        assert!(!e.cut_before && !e.cut_after);
    }
}
