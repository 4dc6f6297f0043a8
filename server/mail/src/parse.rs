//! Raw RFC 5322 bytes → [`Inbound`], with mail-parser doing the MIME work (charsets,
//! RFC 2047/2231, nested multiparts, forwarded messages).

use std::borrow::Cow;

use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    ParseError,
    html::{self, SafeHtml},
    nature::{self, Bounce, Nature},
    quote, thread, tnef,
};

/// Size limits for what an inbound message may store besides its raw form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_attachment_bytes: usize,
    pub max_message_attachment_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_attachment_bytes: 25 << 20, max_message_attachment_bytes: 50 << 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailAddress {
    pub email: String,
    pub name: Option<String>,
}

/// An attachment (or inline image) kept with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    /// `Content-ID` without brackets: what `cid:` URLs in the HTML refer to.
    pub content_id: Option<String>,
    pub inline: bool,
    pub size: usize,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A part not stored separately (it is still in the raw message), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    pub reason: String,
}

/// A message forwarded as an attachment (`message/rfc822`), summarised for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forwarded {
    pub subject: String,
    pub from: Option<MailAddress>,
    pub date: Option<i64>,
    pub message_id: Option<String>,
    pub text: String,
}

/// What Tandem takes from an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inbound {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<MailAddress>,
    pub reply_to: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    /// Delivered-To / X-Original-To / Envelope-To: where the mail was actually delivered.
    pub delivered_to: Vec<String>,
    pub subject: String,
    /// The Date header, as Unix seconds.
    pub date: Option<i64>,
    /// The plain-text body: the text part, or text derived from the HTML.
    pub text: String,
    /// Byte offset in `text` where quoted history or a signature starts.
    pub folded_from: Option<usize>,
    #[serde(serialize_with = "ser_html")]
    pub html: Option<SafeHtml>,
    pub attachments: Vec<Attachment>,
    pub skipped: Vec<Skipped>,
    pub forwarded: Vec<Forwarded>,
    /// Header fields (name lowercase, value unfolded) for plugins and loop detection.
    pub headers: Vec<(String, String)>,
    pub nature: Nature,
}

fn ser_html<S: serde::Serializer>(h: &Option<SafeHtml>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct View<'a> {
        blocked: &'a str,
        has_remote: bool,
    }
    h.as_ref().map(|h| View { blocked: &h.blocked, has_remote: h.remote.is_some() }).serialize(s)
}

const MAX_HEADERS: usize = 200;
/// Most bytes of header names and values kept for plugins with each message.
const MAX_PLUGIN_HEADER_BYTES: usize = 16 * 1024;

const MAX_HEADER_CHARS: usize = 2000;
const MAX_IDS: usize = 100;

/// Fields relays add on the way (trace, authentication results, signatures): not kept for
/// plugins.
fn is_trace_header(name: &str) -> bool {
    const TRACE: [&str; 9] = [
        "received", "x-received", "dkim-signature", "domainkey-signature", "authentication-results", "received-spf",
        "arc-seal", "arc-message-signature", "arc-authentication-results",
    ];
    TRACE.contains(&name) || name.starts_with("x-google-") || name.ends_with("-dkim-signature")
}

impl Inbound {
    /// Every Message-ID this message refers to, newest first (In-Reply-To, then References
    /// from the end): the keys threading tries in order.
    pub fn thread_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.in_reply_to.iter().map(String::as_str).collect();
        for r in self.references.iter().rev() {
            if !ids.contains(&r.as_str()) {
                ids.push(r);
            }
        }
        ids
    }

    /// Ticket numbers named by plus addresses among the recipients.
    pub fn plus_tokens(&self) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .to
            .iter()
            .chain(&self.cc)
            .map(|a| a.email.as_str())
            .chain(self.delivered_to.iter().map(String::as_str))
            .filter_map(thread::plus_token)
            .collect();
        out.dedup();
        out
    }

    /// The first value of a header (`name` lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The headers stored with the message for plugins (their rules may name any header: a
    /// `Date`, an `X-Priority`, a provider's spam verdict): all of them in order, except the
    /// relays' trace and signature fields, which are long and say nothing about the mail's
    /// content, and at most [`MAX_PLUGIN_HEADER_BYTES`] of names and values.
    pub fn plugin_headers(&self) -> Vec<(String, String)> {
        let mut bytes = 0;
        self.headers
            .iter()
            .filter(|(name, _)| !is_trace_header(name))
            .take_while(|(name, value)| {
                bytes += name.len() + value.len();
                bytes <= MAX_PLUGIN_HEADER_BYTES
            })
            .cloned()
            .collect()
    }
}

/// Mail that uses bare CR line endings (old Mac mailers, some test suites) gets CRLF, so that
/// headers and body separate; other mail is returned unchanged.
pub fn normalize_line_endings(raw: &[u8]) -> Cow<'_, [u8]> {
    let lone_cr = raw.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n') || raw.last() == Some(&b'\r');
    if !lone_cr {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, &b) in raw.iter().enumerate() {
        out.push(b);
        if b == b'\r' && raw.get(i + 1) != Some(&b'\n') {
            out.push(b'\n');
        }
    }
    Cow::Owned(out)
}

/// Skips what some stores put before the header: blank or whitespace-only lines, and an mbox
/// `From ` separator line.
fn skip_preamble(raw: &[u8]) -> &[u8] {
    let mut rest = raw;
    loop {
        let end = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        let blank = line.iter().all(u8::is_ascii_whitespace);
        if end == 0 || end == rest.len() || !(blank || line.starts_with(b"From ")) {
            return rest;
        }
        rest = &rest[end..];
    }
}

/// The Message-ID, read from the header block only (for deduplication before the full parse).
pub fn peek_message_id(raw: &[u8]) -> Option<String> {
    let raw = normalize_line_endings(raw);
    let msg = MessageParser::new().parse_headers(skip_preamble(raw.as_ref()))?;
    msg.message_id().and_then(thread::normalize_message_id)
}

/// A file found in a message, before the size limits decide whether it is stored.
struct Found<'a> {
    filename: String,
    content_type: String,
    content_id: Option<String>,
    inline: bool,
    bytes: &'a [u8],
}

/// Parses a raw message.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<Inbound, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let raw = normalize_line_endings(raw);
    let raw = skip_preamble(raw.as_ref());
    let msg = MessageParser::default().parse(raw).ok_or(ParseError::NoHeaders)?;
    // Bytes that are not mail (a JSON body posted by mistake, random binary) still look like a
    // header block to a lenient parser (`{"a": 1}` is a header named `{"a"`): mail has at least
    // one header that mail has (From, Subject, Date, Received, Content-Type…).
    if !msg.headers().iter().any(|h| !matches!(h.name, HeaderName::Other(_))) {
        return Err(ParseError::NoHeaders);
    }
    let headers = header_pairs(&msg);
    let from = first_address(msg.from())
        .or_else(|| first_address(msg.sender()))
        .or_else(|| first_address(msg.reply_to()))
        .or_else(|| {
            msg.return_address()
                .filter(|a| a.contains('@'))
                .map(|a| MailAddress { email: a.trim().to_lowercase(), name: None })
        });
    let subject = msg.subject().map(clean_line).unwrap_or_default();

    let mut text = body_text(&msg);
    let html = body_html(&msg).and_then(|h| html::sanitize(&h));
    let mut attachments = Vec::new();
    let mut skipped = Vec::new();
    let mut forwarded = Vec::new();
    let mut stored = 0usize;
    // A message whose whole body is one binary part (a bare image or PDF) has it as its root.
    let root = msg.root_part();
    let root_is_file = msg.attachment_count() == 0 && matches!(root.body, PartType::Binary(_) | PartType::InlineBinary(_));
    let parts: Vec<&MessagePart<'_>> = if root_is_file { vec![root] } else { msg.attachments().collect() };
    // Each file with its name, type, Content-ID and whether it is shown inline; a TNEF part
    // (`winmail.dat`) stands for the files inside it.
    let mut files: Vec<Found<'_>> = Vec::new();
    for (n, part) in parts.into_iter().enumerate() {
        let content_type = content_type_of(part);
        if let Some(inner) = part.message() {
            forwarded.push(forwarded_summary(inner));
        }
        let bytes = part.contents();
        let name = part.attachment_name().and_then(clean_filename);
        if tnef::is_tnef(&content_type, name.as_deref())
            && let Ok(inside) = tnef::unpack(bytes)
            && (!inside.files.is_empty() || inside.body.is_some())
        {
            // Outlook's own body, when the mail carries no other (a read receipt, say).
            if let Some(body) = inside.body
                && (text.trim().is_empty() || text == NO_TEXT)
            {
                text = body;
            }
            for (m, file) in inside.files.into_iter().enumerate() {
                let content_type = match file.content_type {
                    Some(t) => sane_type(t),
                    None => guess_type(&file.name),
                };
                let filename = clean_filename(&file.name).unwrap_or_else(|| default_name(n + m, &content_type, None));
                if file.embedded {
                    let reason = "an Outlook embedded message or object inside winmail.dat, which cannot be shown; kept in the raw message";
                    skipped.push(Skipped { filename, content_type, size: file.bytes.len(), reason: reason.into() });
                } else {
                    let content_id = file.content_id.as_deref().and_then(thread::normalize_message_id);
                    let inline = content_id.is_some();
                    files.push(Found { filename, content_type, content_id, inline, bytes: file.bytes });
                }
            }
            continue;
        }
        let filename = name.unwrap_or_else(|| default_name(n, &content_type, part.message()));
        let inline = part.content_disposition().is_some_and(|d| d.is_inline()) || part.content_id().is_some();
        files.push(Found { filename, content_type, content_id: part.content_id().and_then(thread::normalize_message_id), inline, bytes });
    }
    for Found { filename, content_type, content_id, inline, bytes } in files {
        let size = bytes.len();
        let reason = if size > limits.max_attachment_bytes {
            Some(format!("larger than the limit of {} bytes per attachment; kept in the raw message", limits.max_attachment_bytes))
        } else if stored + size > limits.max_message_attachment_bytes {
            Some(format!("over the limit of {} bytes of attachments per message; kept in the raw message", limits.max_message_attachment_bytes))
        } else {
            None
        };
        if let Some(reason) = reason {
            skipped.push(Skipped { filename, content_type, size, reason });
            continue;
        }
        stored += size;
        attachments.push(Attachment { filename, content_type, content_id, inline, size, bytes: bytes.to_vec() });
    }

    let report = delivery_report(&msg);
    let from_email = from.as_ref().map(|a| a.email.as_str());
    let mut nature = nature::classify(&headers, report, from_email, &subject);
    if let Nature::Bounce(b) = &mut nature
        && b.original_message_id.is_none()
    {
        b.original_message_id = quoted_message_id(&text);
    }
    let ids = |v: &HeaderValue<'_>| -> Vec<String> {
        let mut out: Vec<String> = match v {
            HeaderValue::Text(t) => message_ids_in(t),
            HeaderValue::TextList(l) => l.iter().flat_map(|t| message_ids_in(t)).collect(),
            _ => Vec::new(),
        };
        out.dedup();
        out.truncate(MAX_IDS);
        out
    };
    let mut delivered_to = Vec::new();
    for name in ["delivered-to", "x-original-to", "envelope-to"] {
        for (n, v) in &headers {
            if n == name {
                delivered_to.extend(v.split(',').map(|a| a.trim().trim_matches(['<', '>']).to_lowercase()).filter(|a| a.contains('@')));
            }
        }
    }
    Ok(Inbound {
        message_id: msg.message_id().and_then(thread::normalize_message_id),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        from,
        reply_to: first_address(msg.reply_to()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        delivered_to,
        subject,
        date: msg.date().map(|d| d.to_timestamp()),
        folded_from: quote::folded_from(&text),
        text,
        html,
        attachments,
        skipped,
        forwarded,
        headers,
        nature,
    })
}

/// Message-IDs in a header value, leniently: `<id>` tokens when there are brackets (ignoring
/// comments such as `(Timo's message of …)`), else the whitespace-separated tokens with an `@`.
fn message_ids_in(value: &str) -> Vec<String> {
    if value.contains('<') {
        value.split('<').skip(1).filter_map(|rest| rest.split_once('>')).filter_map(|(id, _)| thread::normalize_message_id(id)).collect()
    } else {
        value.split_whitespace().filter(|t| t.contains('@') && !t.starts_with('(')).filter_map(thread::normalize_message_id).collect()
    }
}

fn clean_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn header_pairs(msg: &Message<'_>) -> Vec<(String, String)> {
    msg.headers_raw()
        .take(MAX_HEADERS)
        .map(|(name, value)| {
            let mut v = clean_line(value);
            if v.len() > MAX_HEADER_CHARS {
                let mut cut = MAX_HEADER_CHARS;
                while !v.is_char_boundary(cut) {
                    cut -= 1;
                }
                v.truncate(cut);
            }
            (name.trim().to_ascii_lowercase(), v)
        })
        .collect()
}

fn to_mail_address(a: &mail_parser::Addr<'_>) -> Option<MailAddress> {
    let email = a.address()?.trim().trim_matches(['<', '>']).to_lowercase();
    if !email.contains('@') || email.len() > 320 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let name = a.name().map(clean_line).filter(|n| !n.is_empty() && *n != email);
    Some(MailAddress { email, name })
}

fn first_address(a: Option<&Address<'_>>) -> Option<MailAddress> {
    a?.iter().find_map(to_mail_address)
}

fn addresses(a: Option<&Address<'_>>) -> Vec<MailAddress> {
    a.map(|a| a.iter().filter_map(to_mail_address).take(MAX_IDS).collect()).unwrap_or_default()
}

/// The text of a message whose only content is its attachments.
const NO_TEXT: &str = "(no text; see the attachments)";

/// All text bodies, joined; mail-parser derives text from HTML when there is no text part.
fn body_text(msg: &Message<'_>) -> String {
    let mut out = String::new();
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(t.trim_end());
        }
    }
    let out = out.replace("\r\n", "\n").replace('\0', "");
    let binary_root = matches!(msg.root_part().body, PartType::Binary(_) | PartType::InlineBinary(_));
    if out.trim().is_empty() && msg.html_body_count() == 0 && (msg.attachment_count() > 0 || binary_root) {
        return NO_TEXT.to_owned();
    }
    out
}

fn body_html(msg: &Message<'_>) -> Option<String> {
    // Only a real text/html part: mail-parser would otherwise make HTML out of the text.
    let has_html = msg.html_bodies().any(|p| matches!(p.body, PartType::Html(_)));
    if !has_html {
        return None;
    }
    let mut out = String::new();
    for i in 0..msg.html_body_count() {
        if let Some(h) = msg.body_html(i) {
            out.push_str(&h);
        }
    }
    Some(out)
}

/// The type of a file that came without one (inside a TNEF stream), from its name's extension.
fn guess_type(name: &str) -> String {
    mime_guess::from_path(name).first_raw().unwrap_or("application/octet-stream").to_owned()
}

/// A content type as stored: lower case, or `application/octet-stream` when it is too long or
/// holds spaces or control characters.
fn sane_type(t: String) -> String {
    let t = t.to_ascii_lowercase();
    if t.len() > 200 || t.chars().any(|c| c.is_whitespace() || c.is_control()) { "application/octet-stream".into() } else { t }
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => sane_type(format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream"))),
        None if part.message().is_some() => "message/rfc822".into(),
        None => "application/octet-stream".into(),
    }
}

/// A file name from mail or a client, made safe to offer for download: no directories, no
/// control characters, no leading dots, at most 200 characters; `None` when nothing is left.
pub fn clean_filename(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned: String = cleaned.trim().trim_start_matches('.').trim().chars().take(200).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

fn default_name(n: usize, content_type: &str, inner: Option<&Message<'_>>) -> String {
    if let Some(m) = inner {
        let subject = m.subject().and_then(clean_filename).unwrap_or_else(|| "forwarded message".into());
        return format!("{}.eml", subject.chars().take(80).collect::<String>());
    }
    let ext = match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "message/delivery-status" => "txt",
        _ => "bin",
    };
    format!("attachment-{}.{ext}", n + 1)
}

fn forwarded_summary(m: &Message<'_>) -> Forwarded {
    let text = body_text(m);
    Forwarded {
        subject: m.subject().map(clean_line).unwrap_or_default(),
        from: first_address(m.from()),
        date: m.date().map(|d| d.to_timestamp()),
        message_id: m.message_id().and_then(thread::normalize_message_id),
        text: text.chars().take(20_000).collect(),
    }
}

/// A multipart/report delivery-status report, with the Message-ID of the returned message.
fn delivery_report(msg: &Message<'_>) -> Option<Bounce> {
    let root = msg.root_part();
    let is_report = root
        .content_type()
        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")));
    let report_type = root.content_type().and_then(|ct| ct.attribute("report-type")).map(str::to_ascii_lowercase);
    if !is_report || !report_type.as_deref().is_some_and(|t| t.contains("delivery-status")) {
        return None;
    }
    let mut bounce: Option<Bounce> = None;
    let mut original = None;
    for part in &msg.parts {
        let Some(ct) = part.content_type() else { continue };
        let full = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase();
        match full.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                bounce = Some(nature::parse_delivery_status(&String::from_utf8_lossy(part.contents())));
            }
            "message/rfc822" | "message/global" | "text/rfc822-headers" | "message/global-headers" => {
                original = match part.message() {
                    Some(m) => m.message_id().and_then(thread::normalize_message_id),
                    None => MessageParser::new().parse_headers(part.contents()).and_then(|m| m.message_id().and_then(thread::normalize_message_id)),
                };
            }
            _ => {}
        }
    }
    let mut bounce = bounce.unwrap_or_else(|| Bounce { diagnostic: "delivery report without a delivery-status part".into(), ..Bounce::default() });
    bounce.original_message_id = original;
    Some(bounce)
}

/// A `Message-ID:` line quoted in the body of a non-standard bounce.
fn quoted_message_id(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim_start_matches(['>', ' ']);
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("message-id").then(|| thread::normalize_message_id(value)).flatten()
    })
}

/// Hex SHA-256 of a raw message: the deduplication key of mail without a Message-ID.
pub fn content_hash(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> Inbound {
        parse(raw.as_bytes(), &Limits::default()).expect("parses")
    }

    #[test]
    fn plugins_get_the_headers_but_the_relays_trace_and_signatures() {
        let m = p("Received: from mx.client.test by mx.desk.test; Mon, 2 Mar 2026 09:00:05 +0000\r\n\
                   DKIM-Signature: v=1; a=rsa-sha256; d=client.test; b=abc\r\n\
                   X-Google-Smtp-Source: AGHT+xyz\r\nARC-Seal: i=1; cv=none\r\n\
                   From: Ana <ana@client.test>\r\nTo: support@desk.test\r\nSubject: Hello\r\n\
                   Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nX-Priority: 1 (Highest)\r\nX-Spam-Flag: NO\r\n\r\nBody\r\n");
        let kept = m.plugin_headers();
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["from", "to", "subject", "date", "x-priority", "x-spam-flag"]);
        // A flood of headers is cut at the budget, in order.
        let many: String = (0..400).map(|i| format!("X-Note-{i}: {}\r\n", "v".repeat(100))).collect();
        let m = p(&format!("From: a@client.test\r\n{many}\r\nBody\r\n"));
        let kept = m.plugin_headers();
        let bytes: usize = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(bytes <= MAX_PLUGIN_HEADER_BYTES && bytes > MAX_PLUGIN_HEADER_BYTES - 200, "{bytes}");
        assert_eq!(kept[0].0, "from");
    }

    /// A mail whose only part is a `winmail.dat` holding the body and a file, as lettre writes
    /// it (base64).
    #[test]
    fn a_winmail_dat_gives_its_body_and_files_in_its_place() {
        use lettre::message::{Attachment as Part, Message as Mail, MultiPart, header::ContentType};
        let mut tnef = crate::tnef::tests::Writer::new();
        tnef.body("Sent from Outlook in rich text.\r\n");
        tnef.file(b"report.pdf", b"%PDF-1.4 figures", None);
        // A mail whose only part is `bytes` as a winmail.dat, parsed.
        let mail_with = |bytes: Vec<u8>| {
            let part = Part::new("winmail.dat".into()).body(bytes, ContentType::parse("application/ms-tnef").expect("type"));
            let mail = Mail::builder()
                .from("Olga <olga@client.test>".parse().expect("from"))
                .to("support@desk.test".parse().expect("to"))
                .subject("Figures")
                .multipart(MultiPart::mixed().singlepart(part))
                .expect("mail");
            parse(&mail.formatted(), &Limits::default()).expect("parses")
        };
        let m = mail_with(tnef.0.clone());
        assert_eq!(m.text, "Sent from Outlook in rich text.");
        let files: Vec<_> = m.attachments.iter().map(|a| (a.filename.as_str(), a.content_type.as_str(), a.bytes.as_slice())).collect();
        assert_eq!(files, [("report.pdf", "application/pdf", &b"%PDF-1.4 figures"[..])]);
        // A winmail.dat that cannot be read stays as it came.
        let m = mail_with(tnef.0[..20].to_vec());
        assert_eq!(m.text, NO_TEXT);
        assert_eq!(m.attachments.iter().map(|a| a.filename.as_str()).collect::<Vec<_>>(), ["winmail.dat"]);
    }

    #[test]
    fn a_simple_message() {
        let m = p("From: =?UTF-8?B?w4FuYQ==?= <Ana@Example.test>\r\nTo: support+t12@help.test\r\nSubject: =?ISO-8859-1?Q?Caf=E9?= down\r\n\
                   Message-ID: <abc@x>\r\nIn-Reply-To: <p1@y>\r\nReferences: <p0@y> <p1@y>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello\r\n\r\nOn Mon, Bob wrote:\r\n> hi\r\n");
        assert_eq!(m.from, Some(MailAddress { email: "ana@example.test".into(), name: Some("Ána".into()) }));
        assert_eq!(m.subject, "Café down");
        assert_eq!(m.message_id.as_deref(), Some("abc@x"));
        assert_eq!(m.thread_ids(), vec!["p1@y", "p0@y"]);
        assert_eq!(m.plus_tokens(), vec![12]);
        assert_eq!(m.date, Some(1_704_103_200));
        assert_eq!(&m.text[..m.folded_from.expect("quote")], "Hello\n\n");
        assert_eq!(m.nature, Nature::Person);
    }

    #[test]
    fn in_reply_to_with_comments_is_read_leniently() {
        let m = p("From: a@b.test\r\nIn-Reply-To: <m3isq@merlin.x> (Timo Sirainen's message of \"Sat, 12 Jul 2003\")\r\nReferences: <r1@x>\r\n <r2@x>\r\n\r\nbody\r\n");
        assert_eq!(m.in_reply_to, vec!["m3isq@merlin.x".to_owned()]);
        assert_eq!(m.references, vec!["r1@x".to_owned(), "r2@x".to_owned()]);
        assert_eq!(message_ids_in("<a@b> from Timo at \"Jun 10\""), vec!["a@b".to_owned()]);
        assert_eq!(message_ids_in("a@b (comment@x)"), vec!["a@b".to_owned()]);
    }

    #[test]
    fn leading_blank_lines_and_mbox_separators_are_skipped() {
        let m = p("   \r\nFrom someone@x Sat Jun 30 06:06:01 2012\r\nFrom: a@b.test\r\nSubject: late start\r\nMessage-ID: <late@x>\r\n\r\nbody\r\n");
        assert_eq!(m.subject, "late start");
        assert_eq!(peek_message_id(b"\r\n\r\nMessage-ID: <late@x>\r\n\r\nbody").as_deref(), Some("late@x"));
    }

    #[test]
    fn bare_cr_mail_is_readable() {
        let m = p("From: a@b.test\rSubject: cr only\r\rbody line\r");
        assert_eq!(m.subject, "cr only");
        assert!(m.text.contains("body line"), "{:?}", m.text);
    }

    #[test]
    fn empty_input_and_bytes_that_are_not_mail_are_errors() {
        assert_eq!(parse(b"  \r\n", &Limits::default()), Err(ParseError::Empty));
        for junk in [
            &b"\x00\x01\x02 binary junk without any header"[..],
            b"{\"event\": \"inbound\", \"from\": \"a@b.test\"}",
            b"X-Only: a header no mail is made of\r\n\r\nbody\r\n",
            b"GET / HTTP/1.1\r\nHost: desk.test\r\n\r\n",
        ] {
            assert_eq!(parse(junk, &Limits::default()), Err(ParseError::NoHeaders), "{}", String::from_utf8_lossy(junk));
        }
        // One header of mail is enough: a bare note with a subject is still mail.
        assert_eq!(p("Subject: just this\r\n\r\nhello\r\n").subject, "just this");
    }

    #[test]
    fn attachments_inline_images_and_limits() {
        let raw = "From: a@b.test\r\nSubject: pics\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>see <img src=\"cid:logo@x\"></p>\r\n\
                   --XX\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline; filename=\"../../etc/logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
                   --XX\r\nContent-Type: application/pdf; name=big.pdf\r\nContent-Disposition: attachment; filename=big.pdf\r\n\r\n0123456789012345678901234567890123456789\r\n--XX--\r\n";
        let m = parse(raw.as_bytes(), &Limits { max_attachment_bytes: 20, max_message_attachment_bytes: 100 }).expect("parses");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].filename, "logo.png");
        assert_eq!(m.attachments[0].content_id.as_deref(), Some("logo@x"));
        assert!(m.attachments[0].inline);
        assert_eq!(m.skipped.len(), 1);
        assert_eq!(m.skipped[0].filename, "big.pdf");
        assert!(m.html.expect("html").blocked.contains("cid:logo@x"));
        assert!(m.text.contains("see"), "{:?}", m.text);
    }

    #[test]
    fn a_delivery_status_report_is_a_bounce() {
        let raw = "From: MAILER-DAEMON@mx.test\r\nTo: support@help.test\r\nSubject: Undelivered Mail\r\n\
                   Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n\
                   --B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\
                   --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\nFinal-Recipient: rfc822; gone@x.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 no such user\r\n\r\n\
                   --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <t1001.ab@help.test>\r\nSubject: [#1001] Re: hi\r\n\r\n--B--\r\n";
        let m = p(raw);
        let Nature::Bounce(b) = m.nature else { panic!("not a bounce: {:?}", m.nature) };
        assert_eq!(b.original_message_id.as_deref(), Some("t1001.ab@help.test"));
        assert_eq!(b.recipient.as_deref(), Some("gone@x.test"));
        assert_eq!(b.diagnostic, "550 no such user");
        assert!(b.is_failure());
    }

    #[test]
    fn forwarded_messages_are_summarised() {
        let raw = "From: a@b.test\r\nSubject: Fwd: invoice\r\nContent-Type: multipart/mixed; boundary=F\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\nsee below\r\n\
                   --F\r\nContent-Type: message/rfc822\r\n\r\nFrom: Boss <boss@c.test>\r\nSubject: Invoice 7\r\nMessage-ID: <inv7@c>\r\n\r\nPay it.\r\n--F--\r\n";
        let m = p(raw);
        assert_eq!(m.forwarded.len(), 1);
        assert_eq!(m.forwarded[0].subject, "Invoice 7");
        assert_eq!(m.forwarded[0].message_id.as_deref(), Some("inv7@c"));
        assert!(m.forwarded[0].text.contains("Pay it."));
        assert_eq!(m.attachments[0].filename, "Invoice 7.eml");
    }

    #[test]
    fn peek_reads_the_message_id_only() {
        assert_eq!(peek_message_id(b"Message-ID: <x@y>\r\nFrom: a@b\r\n\r\nbody").as_deref(), Some("x@y"));
        assert_eq!(peek_message_id(b"From: a@b\r\n\r\nbody"), None);
    }
}
