//! Language detection with `whatlang` (trigram models of ~70 languages), narrowed to the
//! languages the desk expects.

use whatlang::Lang;

/// The ISO 639-1 code of the message's language and the detector's confidence, when it is
/// one of `allowed` and the text is long enough to tell.
pub fn detect(text: &str, allowed: &[String]) -> Option<(String, f64)> {
    let sample: String = text.chars().take(2_000).collect();
    if sample.split_whitespace().count() < 2 {
        return None;
    }
    // Only the allowed languages compete: otherwise short Russian text is often taken for
    // Bulgarian or Ukrainian, and Polish for Slovak.
    let candidates: Vec<Lang> = LANGS.iter().filter(|(_, code)| allowed.iter().any(|a| a.eq_ignore_ascii_case(code))).map(|(l, _)| *l).collect();
    if candidates.is_empty() {
        return None;
    }
    let allows = |code: &str| allowed.iter().any(|a| a.eq_ignore_ascii_case(code));
    // Among Cyrillic languages the trigram models of Russian and Ukrainian are close; the
    // letters і ї є ґ exist only in Ukrainian.
    if whatlang::detect_script(&sample) == Some(whatlang::Script::Cyrillic) {
        let ukrainian = sample.chars().any(|c| matches!(c, 'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ'));
        let code = if ukrainian { "uk" } else { "ru" };
        if allows(code) {
            return Some((code.to_owned(), 0.9));
        }
    }
    let info = whatlang::Detector::with_allowlist(candidates).detect(&sample)?;
    if info.confidence() < MIN_CONFIDENCE {
        return None;
    }
    let code = iso639_1(info.lang())?;
    Some((code.to_owned(), info.confidence()))
}

/// Below this the detector is guessing (two-word greetings score a few percent).
const MIN_CONFIDENCE: f64 = 0.2;

const LANGS: &[(Lang, &str)] = &[
    (Lang::Eng, "en"),
    (Lang::Rus, "ru"),
    (Lang::Pol, "pl"),
    (Lang::Fra, "fr"),
    (Lang::Deu, "de"),
    (Lang::Spa, "es"),
    (Lang::Ita, "it"),
    (Lang::Por, "pt"),
    (Lang::Nld, "nl"),
    (Lang::Ukr, "uk"),
    (Lang::Ces, "cs"),
    (Lang::Swe, "sv"),
    (Lang::Tur, "tr"),
    (Lang::Jpn, "ja"),
    (Lang::Cmn, "zh"),
];

fn iso639_1(lang: Lang) -> Option<&'static str> {
    LANGS.iter().find(|(l, _)| *l == lang).map(|(_, code)| *code)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        ["en", "ru", "pl", "fr"].iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tells_the_desks_languages_apart() {
        let cases = [
            ("Hello, I cannot log in to my account since yesterday, could you help me please?", "en"),
            ("Здравствуйте, я не могу войти в свой аккаунт со вчерашнего дня, помогите пожалуйста.", "ru"),
            ("Dzień dobry, od wczoraj nie mogę zalogować się do swojego konta, proszę o pomoc.", "pl"),
            ("Bonjour, je n'arrive plus à me connecter à mon compte depuis hier, pouvez-vous m'aider ?", "fr"),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text, &all()).map(|(l, _)| l), Some(want.to_owned()), "{text}");
        }
    }

    #[test]
    fn too_short_or_no_languages_allowed_is_unknown() {
        assert_eq!(detect("ok", &all()), None);
        assert_eq!(detect("hello there friend", &[]), None);
    }
}
