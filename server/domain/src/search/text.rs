//! Turning text into search terms: words folded for case and accents, and their stems.
//!
//! Both sides of a search go through these functions: the index (what a ticket contains)
//! and the query (what the user typed). The storage engines then only compare plain,
//! space-separated ASCII/Unicode alphanumerics, so SQLite FTS5 and PostgreSQL find exactly
//! the same tickets.

use std::borrow::Cow;

use snowball_stemmers_rs::{Algorithm, Stemmer};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// Words longer than this (base64 runs, hashes) are not indexed.
pub const MAX_WORD_CHARS: usize = 48;

/// Lower-cases `word` and removes accents: `Zamówienie` → `zamowienie`, `СЧЁТ` → `счет`,
/// `Łódź` → `lodz`, `Straße` → `strasse`. Only letters and digits remain (`½` → `12`), so a
/// folded word is one token for every engine.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ł' => out.push('l'),
            'ß' => out.push_str("ss"),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'đ' => out.push('d'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c if c.is_ascii() => {}
            c => out.extend(std::iter::once(c).nfkd().filter(|d| d.is_alphanumeric())),
        }
    }
    out
}

/// A word of a text, with its byte range in that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    pub start: usize,
}

impl Word<'_> {
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// The words of `text`: maximal runs of letters and digits. Apostrophes and hyphens split
/// words (`l'application` → `l`, `application`; `e-mail` → `e`, `mail`) on both sides of a
/// search, so they match consistently.
pub fn words(text: &str) -> impl Iterator<Item = Word<'_>> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = rest.peek() {
            if is_word_char(c) {
                break;
            }
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = rest.peek() {
            if !is_word_char(c) {
                break;
            }
            end = i + c.len_utf8();
            rest.next();
        }
        Some(Word { text: &text[start..end], start })
    })
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The languages whose stemmers apply to a word, from its script.
fn stemmers_for(word: &str) -> &'static [Algorithm] {
    if word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}')) {
        &[Algorithm::Russian]
    } else if word.chars().any(|c| c.is_alphabetic()) {
        &[Algorithm::English, Algorithm::French, Algorithm::Polish]
    } else {
        &[]
    }
}

/// Folded stems of `word` in every language its script may be written in (Cyrillic:
/// Russian; Latin: English, French, Polish), without the folded word itself and without
/// duplicates, and without stems shorter than three letters (Polish `spam` → `sp` would
/// match far too much). A ticket's language is not always known (and customers mix them), so the
/// index holds every candidate stem; a stem that means something else in another language
/// only adds a weak match that ranks below exact words.
pub fn stems(word: &str) -> Vec<String> {
    let lower: String = word.chars().flat_map(char::to_lowercase).collect();
    // Words repeat (Zipf): a small per-thread memo makes indexing and highlighting several
    // times faster than running three Snowball stemmers on every word.
    STEMS.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(found) = memo.get(&lower) {
            return found.clone();
        }
        let found = compute_stems(&lower);
        if memo.len() >= STEM_MEMO_WORDS {
            memo.clear();
        }
        memo.insert(lower, found.clone());
        found
    })
}

const STEM_MEMO_WORDS: usize = 50_000;

thread_local! {
    static STEMS: std::cell::RefCell<std::collections::HashMap<String, Vec<String>>> = std::cell::RefCell::new(std::collections::HashMap::new());
}

fn compute_stems(lower: &str) -> Vec<String> {
    let folded = fold(lower);
    let mut out: Vec<String> = Vec::new();
    for algorithm in stemmers_for(lower) {
        let stem: Cow<'_, str> = Stemmer::create(*algorithm).stem(lower);
        let stem = fold(&stem);
        if stem.chars().count() >= 3 && stem != folded && !out.contains(&stem) {
            out.push(stem);
        }
    }
    out
}

/// Whether a word is worth indexing (not empty, not absurdly long).
pub fn indexable(word: &str) -> bool {
    let n = word.chars().count();
    n > 0 && n <= MAX_WORD_CHARS
}

/// The index form of a text: its folded words, space-separated, in order (so phrases match),
/// and the stems of those words. At most `max_bytes` of folded words are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indexed {
    pub words: String,
    pub stems: String,
}

impl Indexed {
    pub fn push_text(&mut self, text: &str, max_bytes: usize) {
        for word in words(text) {
            if self.words.len() >= max_bytes {
                return;
            }
            let folded = fold(word.text);
            if !indexable(word.text) || folded.is_empty() {
                continue;
            }
            push_spaced(&mut self.words, &folded);
            for stem in stems(word.text) {
                push_spaced(&mut self.stems, &stem);
            }
        }
    }

    pub fn of(text: &str, max_bytes: usize) -> Indexed {
        let mut out = Indexed::default();
        out.push_text(text, max_bytes);
        out
    }
}

fn push_spaced(out: &mut String, word: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(word);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_removes_case_and_accents_in_the_four_languages() {
        assert_eq!(fold("Zamówienie"), "zamowienie");
        assert_eq!(fold("ŁÓDŹ"), "lodz");
        assert_eq!(fold("СЧЁТ"), "счет");
        assert_eq!(fold("Réinitialisation"), "reinitialisation");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Œuvre"), "oeuvre");
        assert_eq!(fold("Invoice"), "invoice");
    }

    #[test]
    fn words_split_on_punctuation_and_keep_offsets() {
        let text = "L'application, e-mail: №502 «счёт»";
        let found: Vec<_> = words(text).map(|w| (w.text, &text[w.start..w.end()])).collect();
        assert_eq!(found.iter().map(|(w, _)| *w).collect::<Vec<_>>(), ["L", "application", "e", "mail", "502", "счёт"]);
        assert!(found.iter().all(|(w, slice)| w == slice));
    }

    #[test]
    fn stems_cover_each_language() {
        assert!(stems("invoices").contains(&"invoic".to_owned()), "{:?}", stems("invoices"));
        assert!(stems("заказа").contains(&"заказ".to_owned()), "{:?}", stems("заказа"));
        assert!(stems("commandes").contains(&"command".to_owned()), "{:?}", stems("commandes"));
        // Polish: "fakturami" and "faktury" (cases of "faktura") share a stem.
        let a = stems("fakturami");
        let b = stems("faktury");
        assert!(a.iter().any(|s| b.contains(s)), "{a:?} vs {b:?}");
        assert!(stems("502").is_empty());
    }

    #[test]
    fn indexed_text_keeps_word_order_and_limit() {
        let indexed = Indexed::of("Refund for order 4711, please!", 1000);
        assert_eq!(indexed.words, "refund for order 4711 please");
        assert!(indexed.stems.split(' ').any(|s| s == "pleas"), "{}", indexed.stems);
        let short = Indexed::of("one two three four", 7);
        assert_eq!(short.words, "one two");
    }

    proptest! {
        #[test]
        fn folded_words_are_single_words(text in "\\PC{0,64}") {
            for word in words(&text) {
                let folded = fold(word.text);
                // A folded word never splits into several words, never gains spaces.
                prop_assert!(!folded.contains(char::is_whitespace), "{folded:?}");
                for stem in stems(word.text) {
                    prop_assert!(!stem.contains(char::is_whitespace));
                }
            }
        }
    }
}
