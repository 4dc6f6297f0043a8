//! Where quoted history or a signature begins in a plain-text body, so the UI can fold it.

/// Lines that introduce a quoted previous message, in the languages our users write.
fn is_attribution(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    if l.is_empty() {
        return false;
    }
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| l.ends_with(s));
    (l.starts_with("on ") && ends(&["wrote:", "writes:"]))
        || (l.starts_with("le ") && ends(&["a écrit :", "a écrit:"]))
        || (l.starts_with("am ") && ends(&["schrieb:"]) || l.contains(" schrieb ") && l.ends_with(':'))
        || (l.starts_with("el ") && ends(&["escribió:"]))
        || (l.starts_with("w dniu ") && ends(&["pisze:", "napisał:", "napisała:"]))
        || ends(&["написал:", "написала:", "написал(а):", "пишет:"])
        || l.starts_with("-----original message-----")
        || l.starts_with("-------- original message --------")
        || l.starts_with("-----ursprüngliche nachricht-----")
        || l.starts_with("-------- message d'origine --------")
        || l.starts_with("---------- forwarded message ---------")
}

/// Byte offset in `text` where the quoted history or signature starts, if any.
pub fn folded_from(text: &str) -> Option<usize> {
    let mut offsets = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        offsets.push((at, line.trim_end_matches(['\r', '\n'])));
        at += line.len();
    }
    let mut cut: Option<usize> = None;
    // Attribution lines and the signature delimiter ("-- ") cut the body.
    for (i, (offset, line)) in offsets.iter().enumerate() {
        if i == 0 {
            continue;
        }
        if is_attribution(line) || *line == "-- " || *line == "--" {
            cut = Some(*offset);
            break;
        }
    }
    // A trailing block of `>` lines (blank lines allowed) is quoted history.
    let mut start = None;
    for (offset, line) in offsets.iter().rev() {
        let t = line.trim_start();
        if t.starts_with('>') {
            start = Some(*offset);
        } else if !t.is_empty() {
            break;
        }
    }
    if let Some(s) = start
        && s > 0
    {
        cut = Some(cut.map_or(s, |c| c.min(s)));
    }
    cut.filter(|&c| c > 0 && !text[..c].trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quotes_and_signatures() {
        let t = "Thanks, that fixed it.\n\nOn Mon, 1 Jan 2024, Ana <a@x> wrote:\n> Try again\n";
        assert_eq!(&t[folded_from(t).expect("quote")..], "On Mon, 1 Jan 2024, Ana <a@x> wrote:\n> Try again\n");
        let s = "Hello\n-- \nAna\nACME\n";
        assert_eq!(&s[folded_from(s).expect("sig")..], "-- \nAna\nACME\n");
        let q = "Yes\n> quoted\n>\n> more\n";
        assert_eq!(&q[folded_from(q).expect("quote")..], "> quoted\n>\n> more\n");
        assert_eq!(folded_from("> only a quote\n"), None);
        assert_eq!(folded_from("plain\ntext"), None);
        let fr = "Merci\nLe lun. 1 janv. 2024, Ana a écrit :\n> x\n";
        assert!(folded_from(fr).is_some());
    }
}
