//! The one i18n layer: every string the UI shows goes through [`t`] or [`tf`], and dates and
//! numbers through the browser's `Intl` formatters in the user's language.
//!
//! Each language is a file with one `match` over [`Msg`] and no wildcard arm, so a message
//! missing from any language is a compile error, not an English string slipping through.

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

use chrono::{DateTime, Utc};
use wasm_bindgen::JsValue;

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

pub fn set_lang(lang: Lang) {
    CURRENT.with(|current| current.set(lang));
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
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

/// A number with the language's digit grouping (`12,345`, `12 345`).
pub fn number(n: i64) -> String {
    js_sys::Number::from(n as f64)
        .to_locale_string(lang().tag())
        .as_string()
        .unwrap_or_else(|| n.to_string())
}

/// Date and time, medium date and short time in the user's language and time zone.
pub fn datetime(at: DateTime<Utc>) -> String {
    intl_date(at, &[("dateStyle", "medium"), ("timeStyle", "short")])
}

fn intl_date(at: DateTime<Utc>, options: &[(&str, &str)]) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
    let opts = js_sys::Object::new();
    for (key, value) in options {
        let _ = js_sys::Reflect::set(&opts, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    date.to_locale_string(lang().tag(), &opts)
        .as_string()
        .unwrap_or_else(|| at.to_rfc3339())
}

/// A short duration such as waiting time: `45 min`, `3 h`, `2 d`, in the user's language.
pub fn duration_since(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - from).num_minutes().max(0);
    let (value, unit) = if minutes < 60 {
        (minutes, "minute")
    } else if minutes < 48 * 60 {
        (minutes / 60, "hour")
    } else {
        (minutes / (24 * 60), "day")
    };
    let opts = js_sys::Object::new();
    for (key, val) in [("style", "unit"), ("unit", unit), ("unitDisplay", "short")] {
        let _ = js_sys::Reflect::set(&opts, &JsValue::from_str(key), &JsValue::from_str(val));
    }
    let locales = js_sys::Array::of1(&JsValue::from_str(lang().tag()));
    let format = js_sys::Intl::NumberFormat::new(&locales, &opts).format();
    format
        .call1(&JsValue::NULL, &JsValue::from_f64(value as f64))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{value} {unit}"))
}

/// Now, by the browser's clock.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
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
