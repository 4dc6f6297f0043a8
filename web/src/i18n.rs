//! The browser half of the i18n layer: the strings themselves are `tandem_web_core::i18n`
//! (re-exported here, so pages write `i18n::t`); dates and numbers go through the browser's
//! `Intl` formatters in the user's language.

use chrono::{DateTime, Utc};
use wasm_bindgen::JsValue;

pub use tandem_web_core::i18n::{Lang, Msg, lang, t, tf};

/// Renders the UI in `lang` from now on and marks the page's language (`<html lang>`).
pub fn set_lang(lang: Lang) {
    tandem_web_core::i18n::set_lang(lang);
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
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
