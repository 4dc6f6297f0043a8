//! How a ticket's conversation reads: a body folded where quoted history begins, and an
//! event's JSON values as short phrases.

use serde_json::Value;

/// Splits a text body where quoted history begins (a byte offset from the server).
pub fn split_folded(text: &str, folded_from: Option<u64>) -> (String, Option<String>) {
    let Some(at) = folded_from.and_then(|at| usize::try_from(at).ok()) else {
        return (text.to_owned(), None);
    };
    if at == 0 || at >= text.len() || !text.is_char_boundary(at) {
        return (text.to_owned(), None);
    }
    let (head, tail) = text.split_at(at);
    (head.trim_end().to_owned(), Some(tail.to_owned()))
}

/// The reason a plugin or rule gave for a change: `reason`, or the `decision`'s.
pub fn reason_of(value: &Value) -> Option<String> {
    value
        .get("reason")
        .or_else(|| value.get("decision").and_then(|d| d.get("reason")))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// A JSON value as a short phrase: strings bare, objects as `key: value` pairs.
pub fn compact(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(compact).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .filter(|(k, v)| !v.is_null() && k.as_str() != "reason")
            .map(|(k, v)| match v {
                Value::Object(_) => format!("{k}: {{{}}}", compact(v)),
                _ => format!("{k}: {}", compact(v)),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folding_splits_at_char_boundaries_only() {
        assert_eq!(split_folded("hi\n> old", Some(3)), ("hi".to_owned(), Some("> old".to_owned())));
        assert_eq!(split_folded("hi", None), ("hi".to_owned(), None));
        assert_eq!(split_folded("hi", Some(99)), ("hi".to_owned(), None));
        // Inside a two-byte character: not split.
        assert_eq!(split_folded("éa", Some(1)), ("éa".to_owned(), None));
    }

    #[test]
    fn json_values_read_as_phrases() {
        assert_eq!(compact(&json!("open")), "open");
        assert_eq!(compact(&json!(null)), "—");
        assert_eq!(compact(&json!({"category": "billing", "reason": "x", "gone": null})), "category: billing");
        assert_eq!(compact(&json!(["a", "b"])), "a, b");
        assert_eq!(reason_of(&json!({"decision": {"reason": "keyword 'invoice'"}})).as_deref(), Some("keyword 'invoice'"));
        assert_eq!(reason_of(&json!({"reason": ""})), None);
    }
}
