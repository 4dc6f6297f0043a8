//! Turns the message catalogues (`i18n/{en,ru,pl,fr}.json`) into Rust: an enum `Msg` with
//! one variant per key and one `match` per language. A key missing from any catalogue, an
//! extra key, or a translation whose `{placeholders}` differ from English's fails the build.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const LANGUAGES: [&str; 4] = ["en", "ru", "pl", "fr"];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("i18n");
    let mut catalogues = Vec::new();
    for lang in LANGUAGES {
        let path = dir.join(format!("{lang}.json"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let map: BTreeMap<String, String> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        catalogues.push((lang, map));
    }
    let english = &catalogues[0].1;
    let mut problems = Vec::new();
    for (lang, map) in &catalogues[1..] {
        let keys: BTreeSet<_> = map.keys().collect();
        let wanted: BTreeSet<_> = english.keys().collect();
        for missing in wanted.difference(&keys) {
            problems.push(format!("{lang}.json lacks {missing}"));
        }
        for extra in keys.difference(&wanted) {
            problems.push(format!("{lang}.json has {extra}, which en.json does not"));
        }
        for (key, text) in map {
            if let Some(en) = english.get(key)
                && placeholders(en) != placeholders(text)
            {
                problems.push(format!("{lang}.json {key}: placeholders differ from English ({text:?})"));
            }
        }
    }
    for key in english.keys() {
        if !key.chars().next().is_some_and(|c| c.is_ascii_uppercase()) || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(format!("en.json key {key:?} is not a CamelCase identifier"));
        }
    }
    assert!(problems.is_empty(), "message catalogues:\n{}", problems.join("\n"));

    let mut out = String::new();
    out.push_str("/// Every message of the UI (generated from `web/core/i18n/*.json` by `build.rs`).\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\npub enum Msg {\n");
    for (key, en) in english {
        let _ = writeln!(out, "    /// {}\n    {key},", en.replace('\n', " "));
    }
    out.push_str("}\n\nimpl Msg {\n    /// Every message, for the catalogue tests.\n    #[allow(dead_code)]\n    pub const ALL: &'static [Msg] = &[\n");
    for key in english.keys() {
        let _ = writeln!(out, "        Msg::{key},");
    }
    out.push_str("    ];\n}\n");
    for (lang, map) in &catalogues {
        let _ = writeln!(out, "\nfn text_{lang}(msg: Msg) -> &'static str {{\n    match msg {{");
        for (key, text) in map {
            let _ = writeln!(out, "        Msg::{key} => {text:?},");
        }
        out.push_str("    }\n}\n");
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("messages.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
}

/// `{name}` placeholders of a message, sorted (MiniJinja's `{{ … }}` are not placeholders).
fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        if rest[start..].starts_with("{{") {
            let end = rest[start..].find("}}").map_or(rest.len(), |e| start + e + 2);
            rest = &rest[end..];
            continue;
        }
        let Some(len) = rest[start..].find('}') else { break };
        found.push(rest[start..start + len + 1].to_owned());
        rest = &rest[start + len + 1..];
    }
    found.sort();
    found
}
