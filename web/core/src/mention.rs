//! `@mentions` in the composer: the mention being typed at the caret, the colleagues it may
//! name, and the text once one is picked (the server reads the mentions of a note:
//! `tandem_domain::mention`).

use tandem_proto::UserRef;

/// How many colleagues the mention list offers at once.
pub const CHOICES: usize = 6;

/// The `@mention` being typed just before byte `cursor` of `text`: where its `@` is and what
/// follows it. `None` when the cursor is not in one (or the `@` continues a word, as in an
/// address).
pub fn typed_at(text: &str, cursor: usize) -> Option<(usize, &str)> {
    let before = text.get(..cursor)?;
    let start = before.rfind('@')?;
    let typed = &before[start + 1..];
    let continues_word = before[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    let in_handle = typed.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    (!continues_word && in_handle).then_some((start, typed))
}

/// The part of an address a mention uses (`bea` of `bea@example.com`).
pub fn handle(email: &str) -> &str {
    email.split_once('@').map_or(email, |(local, _)| local)
}

/// Colleagues whose name or address starts with (or, for names, has a word starting with)
/// `typed`.
pub fn matching<'a>(people: &'a [UserRef], typed: &str) -> Vec<&'a UserRef> {
    let typed = typed.to_lowercase();
    people
        .iter()
        .filter(|u| {
            u.email.to_lowercase().starts_with(&typed) || u.display_name.to_lowercase().split_whitespace().any(|w| w.starts_with(&typed))
        })
        .take(CHOICES)
        .collect()
}

/// `text` with the mention typed at `start` (`@` and `typed`) replaced by `@handle `; and the
/// byte where the cursor goes.
pub fn complete(text: &str, start: usize, typed: &str, handle: &str) -> (String, usize) {
    let rest = &text[start + 1 + typed.len()..];
    let inserted = format!("@{handle} ");
    (format!("{}{inserted}{}", &text[..start], rest.strip_prefix(' ').unwrap_or(rest)), start + inserted.len())
}

/// Byte offset of the UTF-16 position `units` (what the browser's `selectionStart` counts) in `text`.
pub fn byte_offset(text: &str, units: u32) -> usize {
    let mut seen = 0u32;
    for (at, c) in text.char_indices() {
        if seen >= units {
            return at;
        }
        seen += c.len_utf16() as u32;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, name: &str, email: &str) -> UserRef {
        UserRef { id, display_name: name.into(), email: email.into() }
    }

    #[test]
    fn the_mention_before_the_cursor_is_found() {
        assert_eq!(typed_at("ask @be", 7), Some((4, "be")));
        assert_eq!(typed_at("ask @", 5), Some((4, "")));
        assert_eq!(typed_at("ask @be now", 11), None, "the cursor left it");
        assert_eq!(typed_at("mail bea@ex", 11), None, "an address, not a mention");
        assert_eq!(typed_at("@агата", "@агата".len()), Some((0, "агата")));
        assert_eq!(typed_at("ask", 10), None);
    }

    #[test]
    fn colleagues_match_by_address_or_any_word_of_their_name() {
        let people = [person(1, "Bea Supervisor", "supervisor@demo.test"), person(2, "Artem Agent", "agent1@demo.test")];
        let ids = |typed: &str| matching(&people, typed).iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids("ag"), [2]);
        assert_eq!(ids("SUP"), [1]);
        assert_eq!(ids("bea"), [1]);
        assert_eq!(ids(""), [1, 2]);
        assert!(ids("zed").is_empty());
    }

    #[test]
    fn a_picked_colleague_replaces_what_was_typed() {
        assert_eq!(complete("ask @ag please", 4, "ag", "agent1"), ("ask @agent1 please".to_owned(), 12));
        assert_eq!(complete("@", 0, "", "bea"), ("@bea ".to_owned(), 5));
        assert_eq!(byte_offset("ёж @a", 4), "ёж @".len());
        assert_eq!(byte_offset("ab", 9), 2);
    }
}
