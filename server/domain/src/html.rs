//! HTML bodies are sanitised once, when they enter Tandem, with ammonia's allow-list:
//! no scripts, no event handlers, no forms or iframes, no `javascript:` or `data:` URLs.
//! Links open in a new tab without an opener and without a referrer.

use std::sync::OnceLock;

use ammonia::Builder;

fn cleaner() -> &'static Builder<'static> {
    static CLEANER: OnceLock<Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = Builder::default();
        builder
            .url_schemes(["http", "https", "mailto", "cid"].into_iter().collect())
            .link_rel(Some("noopener noreferrer nofollow"))
            .set_tag_attribute_value("a", "target", "_blank");
        builder
    })
}

/// Returns safe HTML, or `None` when nothing visible remains.
/// `text` escaped for HTML text and attribute values (ammonia's `clean_text`).
pub fn escape(text: &str) -> String {
    ammonia::clean_text(text)
}

pub fn sanitize(html: &str) -> Option<String> {
    let clean = cleaner().clean(html).to_string();
    if clean.trim().is_empty() { None } else { Some(clean) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_dangerous_urls_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi <b>there</b></p><script>alert(1)</script><iframe src="https://evil.test"></iframe>
            <a href="javascript:alert(1)">x</a><img src="data:image/png;base64,AAAA"><form><input name=a></form>"#;
        let clean = sanitize(dirty).expect("something remains");
        for banned in ["onclick", "<script", "alert(1)", "<iframe", "javascript:", "data:", "<form", "<input"] {
            assert!(!clean.contains(banned), "{banned} survived in {clean}");
        }
        assert!(clean.contains("<p>Hi <b>there</b></p>"), "{clean}");
    }

    #[test]
    fn links_are_safe_and_empty_html_is_none() {
        let clean = sanitize(r#"<a href="https://tandem.test/x">doc</a>"#).expect("link");
        assert!(clean.contains(r#"rel="noopener noreferrer nofollow""#), "{clean}");
        assert!(clean.contains(r#"target="_blank""#), "{clean}");
        assert_eq!(sanitize("<script>x</script>"), None);
    }
}
