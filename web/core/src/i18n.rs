//! Every string the UI shows goes through [`t`] or [`tf`]: one [`Msg`] per message, one table
//! per language generated from `i18n/{en,ru,pl,fr}.json` by `build.rs`.
//!
//! Each language is a file with one `match` over [`Msg`] and no wildcard arm, so a message
//! missing from any language is a compile error, not an English string slipping through.
//! Dates and numbers are formatted by the browser's `Intl` (`tandem_web::i18n`).

mod messages {
    include!(concat!(env!("OUT_DIR"), "/messages.rs"));

    pub(super) fn table(lang: super::Lang) -> fn(Msg) -> &'static str {
        match lang {
            super::Lang::En => text_en,
            super::Lang::Ru => text_ru,
            super::Lang::Pl => text_pl,
            super::Lang::Fr => text_fr,
        }
    }
}

use std::cell::Cell;
use std::fmt::Display;

pub use messages::Msg;

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
    Pl,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Ru, Lang::Pl, Lang::Fr];

    /// The BCP 47 tag stored on the user (`en`, `ru`, `pl`, `fr`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Pl => "pl",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, for the language picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ru => "Русский",
            Lang::Pl => "Polski",
            Lang::Fr => "Français",
        }
    }

    /// `ru-RU`, `pl`, `fr-CA`… → the matching language; anything else is English.
    pub fn from_tag(tag: &str) -> Lang {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "ru" => Lang::Ru,
            "pl" => Lang::Pl,
            "fr" => Lang::Fr,
            _ => Lang::En,
        }
    }

    fn table(self) -> fn(Msg) -> &'static str {
        messages::table(self)
    }
}

thread_local! {
    static CURRENT: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// The language strings are rendered in. The app re-renders its whole tree when it changes
/// (see `App`), so components read it once instead of subscribing.
pub fn lang() -> Lang {
    CURRENT.with(Cell::get)
}

/// Renders the strings read from now on in `lang` (the browser side also marks the page's
/// language: `tandem_web::i18n::set_lang`).
pub fn set_lang(lang: Lang) {
    CURRENT.with(|current| current.set(lang));
}

/// The message in the current language.
pub fn t(msg: Msg) -> &'static str {
    lang().table()(msg)
}

/// The message with `{name}` placeholders filled in.
pub fn tf(msg: Msg, args: &[(&str, &dyn Display)]) -> String {
    fill(t(msg), args)
}

fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_translated_in_every_language() {
        // Missing keys and mismatched `{placeholders}` already fail the build (build.rs).
        for lang in Lang::ALL {
            for msg in Msg::ALL {
                assert!(!lang.table()(*msg).trim().is_empty(), "{msg:?} is empty in {lang:?}");
            }
        }
    }

    #[test]
    fn non_english_tables_are_translations_not_copies() {
        for lang in [Lang::Ru, Lang::Pl, Lang::Fr] {
            let same = Msg::ALL
                .iter()
                .filter(|msg| lang.table()(**msg) == Lang::En.table()(**msg))
                .count();
            // Names such as "Tandem" or "Email" may stay; most must differ.
            assert!(same * 5 < Msg::ALL.len(), "{lang:?}: {same} of {} messages equal English", Msg::ALL.len());
        }
    }

    #[test]
    fn tags_map_to_languages() {
        assert_eq!(Lang::from_tag("ru-RU"), Lang::Ru);
        assert_eq!(Lang::from_tag("pl"), Lang::Pl);
        assert_eq!(Lang::from_tag("fr_CA"), Lang::Fr);
        assert_eq!(Lang::from_tag("de"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_tag(lang.tag()), lang);
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("{n} of {total}", &[("n", &3), ("total", &"10")]), "3 of 10");
        assert_eq!(fill("no placeholder", &[("n", &1)]), "no placeholder");
    }
}
