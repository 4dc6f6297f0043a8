//! Parse + thread + sanitise on arbitrary bytes: no panic, and what comes out keeps the
//! invariants intake relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_mail::{Limits, html, parse, peek_message_id, thread};

fuzz_target!(|data: &[u8]| {
    let _ = peek_message_id(data);
    if let Ok(m) = parse(data, &Limits { max_attachment_bytes: 4096, max_message_attachment_bytes: 8192 }) {
        let _ = m.thread_ids();
        let _ = m.plus_tokens();
        let _ = thread::subject_token(&m.subject);
        let _ = thread::normalize_subject(&m.subject);
        let _ = thread::outbound_subject(1, &m.subject);
        if let Some(f) = m.folded_from {
            assert!(f <= m.text.len() && m.text.is_char_boundary(f));
        }
        if let Some(h) = &m.html {
            assert!(!h.blocked.contains("<script"));
            assert!(!h.blocked.contains("javascript:"));
        }
        assert!(m.attachments.iter().map(|a| a.size).sum::<usize>() <= 8192);
        for id in m.thread_ids() {
            assert!(!id.is_empty() && !id.contains(char::is_whitespace));
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(h) = html::sanitize(text)
    {
        assert!(!h.blocked.contains("<script") && !h.blocked.contains(" onerror="));
    }
});
