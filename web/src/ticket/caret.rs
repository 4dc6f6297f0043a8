//! Where the caret of a text area is on screen, so the mention list can open beside it.
//!
//! A text area does not tell: the usual way (as in GitHub's and Slack's composers) is to lay
//! out a hidden copy of its text up to the caret in a `div` styled like it (same box, font,
//! padding, wrapping) and measure a marker placed at the caret.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlTextAreaElement};

/// Style properties that decide where text wraps and where a character lands.
const COPIED: &[&str] = &[
    "box-sizing",
    "width",
    "border-top-width",
    "border-right-width",
    "border-bottom-width",
    "border-left-width",
    "border-style",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "font-style",
    "font-variant",
    "font-weight",
    "font-stretch",
    "font-size",
    "line-height",
    "font-family",
    "text-align",
    "text-transform",
    "text-indent",
    "letter-spacing",
    "word-spacing",
    "tab-size",
];

/// The caret's place below the line it is on, in pixels from the text area's top-left
/// border corner, for a caret at UTF-16 position `units`; the area's scrolling is taken into
/// account. `None` when the page cannot be measured.
pub fn below_caret(area: &HtmlTextAreaElement, units: u32) -> Option<(f64, f64)> {
    let document = area.owner_document()?;
    let window = document.default_view()?;
    let style = window.get_computed_style(area).ok()??;
    let mirror: HtmlElement = document.create_element("div").ok()?.dyn_into().ok()?;
    let mirror_style = mirror.style();
    for property in COPIED {
        let value = style.get_property_value(property).ok()?;
        mirror_style.set_property(property, &value).ok()?;
    }
    for (property, value) in [
        ("position", "absolute"),
        ("visibility", "hidden"),
        ("top", "0"),
        ("left", "-10000px"),
        ("white-space", "pre-wrap"),
        ("overflow-wrap", "break-word"),
        ("overflow", "hidden"),
    ] {
        mirror_style.set_property(property, value).ok()?;
    }
    let value: Vec<u16> = area.value().encode_utf16().collect();
    let at = (units as usize).min(value.len());
    mirror.set_text_content(Some(&String::from_utf16_lossy(&value[..at])));
    let marker: HtmlElement = document.create_element("span").ok()?.dyn_into().ok()?;
    // Something after the caret, so the marker has a height even at a line's end.
    marker.set_text_content(Some("\u{200b}"));
    mirror.append_child(&marker).ok()?;
    document.body()?.append_child(&mirror).ok()?;
    let top = f64::from(marker.offset_top()) + f64::from(marker.offset_height());
    let left = f64::from(marker.offset_left());
    mirror.remove();
    Some((left - f64::from(area.scroll_left()), top - f64::from(area.scroll_top())))
}
