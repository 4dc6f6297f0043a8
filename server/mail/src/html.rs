//! Safe HTML for mail: sanitised with ammonia's allow-list (no scripts, event handlers, forms,
//! iframes, styles, `javascript:` or `data:` URLs). Images may only come from the message's own
//! attachments (`cid:`) unless the reader asks for remote content: the default variant drops
//! remote image sources, the `remote` variant (kept only when there is remote content) keeps them.

use std::{borrow::Cow, sync::OnceLock};

use ammonia::Builder;

/// The two sanitised variants of a message's HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHtml {
    /// Remote images removed: what is shown by default.
    pub blocked: String,
    /// Remote images kept, for an explicit "load remote content"; `None` when there are none.
    pub remote: Option<String>,
}

fn is_remote(url: &str) -> bool {
    let u = url.trim_start().to_ascii_lowercase();
    u.starts_with("http://") || u.starts_with("https://") || u.starts_with("//")
}

fn builder(allow_remote: bool) -> Builder<'static> {
    let mut b = Builder::default();
    b.url_schemes(["http", "https", "mailto", "cid", "tel"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .add_tag_attributes("img", ["width", "height"])
        .add_tag_attributes("td", ["align", "valign", "colspan", "rowspan"])
        .add_tag_attributes("table", ["width", "border", "cellpadding", "cellspacing"]);
    if !allow_remote {
        b.attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && is_remote(value) { None } else { Some(Cow::Borrowed(value)) }
        });
    }
    b
}

fn cleaners() -> &'static (Builder<'static>, Builder<'static>) {
    static CLEANERS: OnceLock<(Builder<'static>, Builder<'static>)> = OnceLock::new();
    CLEANERS.get_or_init(|| (builder(false), builder(true)))
}

/// Sanitises mail HTML; `None` when nothing visible remains.
pub fn sanitize(html: &str) -> Option<SafeHtml> {
    let (blocking, allowing) = cleaners();
    let blocked = blocking.clean(html).to_string();
    let remote = allowing.clean(html).to_string();
    let visible = |s: &str| !s.trim().is_empty();
    if !visible(&blocked) && !visible(&remote) {
        return None;
    }
    let has_remote = remote != blocked;
    Some(SafeHtml { blocked, remote: has_remote.then_some(remote) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_defused() {
        let dirty = r#"<p onclick="x()">Hi</p><script>alert(1)</script><iframe src="https://e.test"></iframe>
            <a href="javascript:alert(1)">a</a><img src="data:image/png;base64,AAAA"><form><input></form>
            <style>body{background:url(https://track.test/p.gif)}</style><div style="background:url(https://t.test)">d</div>
            <svg onload="x()"><use href="https://e.test/s.svg#a"/></svg><object data="x.swf"></object>"#;
        let safe = sanitize(dirty).expect("text remains");
        for out in [&safe.blocked, safe.remote.as_ref().unwrap_or(&safe.blocked)] {
            for banned in ["onclick", "<script", "alert(1)", "<iframe", "javascript:", "data:", "<form", "<input", "<style", "style=", "url(", "<svg", "onload", "<object"] {
                assert!(!out.contains(banned), "{banned} survived in {out}");
            }
        }
        assert!(safe.remote.is_none(), "no remote images here");
    }

    #[test]
    fn remote_images_are_blocked_by_default_and_cid_images_kept() {
        let html = r#"<p>Look</p><img src="https://track.test/pixel.gif"><img src="cid:logo@x">"#;
        let safe = sanitize(html).expect("html");
        assert!(!safe.blocked.contains("track.test"), "{}", safe.blocked);
        assert!(safe.blocked.contains(r#"src="cid:logo@x""#), "{}", safe.blocked);
        let remote = safe.remote.expect("remote variant");
        assert!(remote.contains("https://track.test/pixel.gif"), "{remote}");
    }
}
