//! @mentions in internal notes: `@bea` (the part of a user's address before the `@`) or
//! `@bea@example.com` (the whole address) asks the desk to notify that colleague.
//!
//! A mention starts at an `@` that does not continue a word (so `bea@example.com` in a note
//! is an address, not a mention) and runs over the characters an address may hold; sentence
//! punctuation at its end (`@bea.` or `@bea,`) is not part of it.

/// The handles a note mentions, lower-cased, each once, in the order they appear.
pub fn handles(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let continues_word = i > 0 && is_handle_char(chars[i - 1].1);
        if c != '@' || continues_word {
            i += 1;
            continue;
        }
        // The local part, then at most one `@domain`.
        let mut end = i + 1;
        let mut ats = 0;
        while end < chars.len() && (is_handle_char(chars[end].1) || (chars[end].1 == '@' && ats == 0)) {
            if chars[end].1 == '@' {
                ats += 1;
            }
            end += 1;
        }
        let stop = chars.get(end).map_or(text.len(), |(at, _)| *at);
        let raw = &text[start + c.len_utf8()..stop];
        let handle = raw.trim_end_matches(['.', '-', '@']).to_lowercase();
        let valid = !handle.is_empty() && !handle.starts_with(['.', '-', '+']) && handle.split('@').all(|part| !part.is_empty());
        if valid && !found.contains(&handle) {
            found.push(handle);
        }
        i = end.max(i + 1);
    }
    found
}

/// Whether `handle` (from [`handles`]) names the user with this address.
pub fn names(handle: &str, email: &str) -> bool {
    let email = email.to_lowercase();
    let local = email.split_once('@').map_or(email.as_str(), |(local, _)| local);
    handle == email || handle == local
}

fn is_handle_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_parts_and_whole_addresses() {
        assert_eq!(handles("@bea can you check? cc @Agent1@Demo.test"), ["bea", "agent1@demo.test"]);
        assert_eq!(handles("Thanks @bea."), ["bea"]);
        assert_eq!(handles("(@bea, @carl-o)"), ["bea", "carl-o"]);
        assert_eq!(handles("@bea @BEA @bea"), ["bea"], "each handle once");
        assert_eq!(handles("@ага, посмотри"), ["ага"], "any script");
    }

    #[test]
    fn addresses_and_lone_signs_are_not_mentions() {
        assert!(handles("write to bea@example.com").is_empty());
        assert!(handles("a @ b, @@, @., @-x").is_empty());
        assert!(handles("").is_empty());
    }

    #[test]
    fn a_handle_names_a_user_by_local_part_or_address() {
        assert!(names("agent1", "Agent1@demo.test"));
        assert!(names("agent1@demo.test", "agent1@demo.test"));
        assert!(!names("agent", "agent1@demo.test"));
        assert!(!names("agent1@other.test", "agent1@demo.test"));
    }

    proptest! {
        #[test]
        fn any_text_gives_well_formed_handles(text in "\\PC{0,80}") {
            let found = handles(&text);
            prop_assert!(found.len() <= text.matches('@').count());
            for handle in found {
                prop_assert!(!handle.is_empty() && !handle.contains(char::is_whitespace), "{handle:?} from {text:?}");
                prop_assert!(handle.matches('@').count() <= 1, "{handle:?} from {text:?}");
            }
        }
    }
}
