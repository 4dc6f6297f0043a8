//! Writing the MIME message for a reply or an automatic reply (lettre's builder does the
//! encoding): our Message-ID, the thread's In-Reply-To/References, the ticket token in the
//! subject, From = the inbox address with the agent's name, a plus-addressed Reply-To, and
//! `Auto-Submitted: auto-replied` on automatic replies.

use std::time::SystemTime;

use lettre::{
    Address, Message,
    message::{
        Attachment, Mailbox, MultiPart, SinglePart,
        header::{ContentType, Header, HeaderName, HeaderValue},
    },
};

use crate::{MailAddress, thread};

/// Everything an outbound message needs.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub ticket_number: i64,
    pub from_name: Option<String>,
    pub from_address: String,
    pub to: Vec<MailAddress>,
    /// Copies, named in the mail's `Cc`.
    pub cc: Vec<MailAddress>,
    /// Blind copies: in the SMTP envelope only, never in the mail's headers.
    pub bcc: Vec<MailAddress>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub automatic: bool,
    /// A notice to the team about the ticket (an SLA alert), not part of the conversation:
    /// the subject is used as given, no Reply-To into the ticket, `Auto-Submitted:
    /// auto-generated`.
    pub notice: bool,
    pub date: SystemTime,
    pub attachments: Vec<OutboundAttachment>,
}

#[derive(Debug, Clone)]
pub struct OutboundAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A written message and its SMTP envelope.
#[derive(Debug, Clone)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub envelope_from: String,
    pub recipients: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("invalid address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("the message has no recipient")]
    NoRecipient,
    #[error("cannot build the message: {0}")]
    Build(String),
}

macro_rules! text_header {
    ($ty:ident, $name:literal) => {
        #[derive(Debug, Clone)]
        struct $ty(String);
        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($ty(s.to_owned()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}
text_header!(AutoSubmitted, "Auto-Submitted");
text_header!(AutoResponseSuppress, "X-Auto-Response-Suppress");
text_header!(TandemTicket, "X-Tandem-Ticket");

fn address(a: &str) -> Result<Address, OutboundError> {
    a.parse::<Address>().map_err(|e| OutboundError::Address { address: a.to_owned(), reason: e.to_string() })
}

fn mailbox(name: Option<&str>, email: &str) -> Result<Mailbox, OutboundError> {
    Ok(Mailbox::new(name.map(|n| n.replace(['\r', '\n'], " ")), address(email)?))
}

/// Builds the message.
pub fn build(o: &Outbound) -> Result<Built, OutboundError> {
    if o.to.is_empty() {
        return Err(OutboundError::NoRecipient);
    }
    let subject = if o.notice { o.subject.clone() } else { thread::outbound_subject(o.ticket_number, &o.subject) };
    let mut b = Message::builder().from(mailbox(o.from_name.as_deref(), &o.from_address)?);
    if !o.notice {
        b = b.reply_to(mailbox(o.from_name.as_deref(), &thread::reply_address(&o.from_address, o.ticket_number))?);
    }
    let mut b = b
        .subject(subject.replace(['\r', '\n'], " "))
        .message_id(Some(format!("<{}>", o.message_id)))
        .date(o.date)
        .header(TandemTicket(o.ticket_number.to_string()));
    for to in &o.to {
        b = b.to(mailbox(to.name.as_deref(), &to.email)?);
    }
    for cc in &o.cc {
        b = b.cc(mailbox(cc.name.as_deref(), &cc.email)?);
    }
    // Checked like the others, but not given to the builder: the envelope below carries them.
    for bcc in &o.bcc {
        address(&bcc.email)?;
    }
    if let Some(parent) = &o.in_reply_to {
        b = b.in_reply_to(format!("<{parent}>"));
    }
    if !o.references.is_empty() {
        let refs: Vec<String> = o.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    if o.notice {
        b = b.header(AutoSubmitted("auto-generated".into())).header(AutoResponseSuppress("All".into()));
    } else if o.automatic {
        b = b.header(AutoSubmitted("auto-replied".into())).header(AutoResponseSuppress("All".into()));
    }
    let body = match &o.html {
        Some(html) => MultiPart::alternative_plain_html(o.text.clone(), html.clone()),
        None => MultiPart::mixed().singlepart(SinglePart::plain(o.text.clone())),
    };
    let message = if o.attachments.is_empty() {
        match &o.html {
            Some(_) => b.multipart(body),
            None => b.singlepart(SinglePart::plain(o.text.clone())),
        }
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &o.attachments {
            let ct = ContentType::parse(&a.content_type).unwrap_or(ContentType::parse("application/octet-stream").map_err(|e| OutboundError::Build(e.to_string()))?);
            mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(a.bytes.clone(), ct));
        }
        b.multipart(mixed)
    }
    .map_err(|e| OutboundError::Build(e.to_string()))?;
    Ok(Built {
        bytes: message.formatted(),
        envelope_from: o.from_address.clone(),
        recipients: o.to.iter().chain(&o.cc).chain(&o.bcc).map(|t| t.email.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Nature, parse};

    fn sample() -> Outbound {
        Outbound {
            ticket_number: 1042,
            from_name: Some("Ana via Support".into()),
            from_address: "support@help.test".into(),
            to: vec![MailAddress { email: "carl@customer.test".into(), name: Some("Carl".into()) }],
            cc: vec![],
            bcc: vec![],
            subject: "Re: Printer on fire".into(),
            message_id: "t1042.abc@help.test".into(),
            in_reply_to: Some("orig@customer.test".into()),
            references: vec!["orig@customer.test".into()],
            text: "Hello Carl,\nplease unplug it.".into(),
            html: None,
            automatic: false,
            notice: false,
            date: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            attachments: vec![],
        }
    }

    #[test]
    fn a_reply_carries_threading_headers_and_reads_back() {
        let built = build(&sample()).expect("builds");
        let m = parse(&built.bytes, &Limits::default()).expect("parses");
        assert_eq!(m.message_id.as_deref(), Some("t1042.abc@help.test"));
        assert_eq!(m.in_reply_to, vec!["orig@customer.test".to_owned()]);
        assert_eq!(m.references, vec!["orig@customer.test".to_owned()]);
        assert_eq!(m.subject, "[#1042] Re: Printer on fire");
        assert_eq!(m.reply_to.expect("reply-to").email, "support+t1042@help.test");
        assert_eq!(m.from.expect("from").name.as_deref(), Some("Ana via Support"));
        assert!(m.text.contains("please unplug it."));
        assert_eq!(m.nature, Nature::Person);
        assert_eq!(built.recipients, vec!["carl@customer.test".to_owned()]);
    }

    #[test]
    fn an_auto_reply_is_marked_and_attachments_travel() {
        let mut o = sample();
        o.automatic = true;
        o.html = Some("<p>We got it</p>".into());
        o.attachments.push(OutboundAttachment { filename: "guide.pdf".into(), content_type: "application/pdf".into(), bytes: b"%PDF-1.4".to_vec() });
        let built = build(&o).expect("builds");
        let m = parse(&built.bytes, &Limits::default()).expect("parses");
        assert_eq!(m.nature.label(), "auto_reply");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].filename, "guide.pdf");
        assert_eq!(m.attachments[0].bytes, b"%PDF-1.4");
    }

    #[test]
    fn copies_are_named_and_blind_copies_are_not() {
        let mut o = sample();
        o.cc = vec![MailAddress { email: "dana@customer.test".into(), name: Some("Dana, Ops".into()) }];
        o.bcc = vec![MailAddress { email: "audit@partner.test".into(), name: None }];
        let built = build(&o).expect("builds");
        assert_eq!(built.recipients, ["carl@customer.test", "dana@customer.test", "audit@partner.test"]);
        let m = parse(&built.bytes, &Limits::default()).expect("parses");
        assert_eq!(m.cc, vec![MailAddress { email: "dana@customer.test".into(), name: Some("Dana, Ops".into()) }]);
        assert!(m.header("bcc").is_none(), "{:?}", m.headers);
        assert!(!String::from_utf8_lossy(&built.bytes).contains("audit@partner.test"));
        o.bcc = vec![MailAddress { email: "not an address".into(), name: None }];
        assert!(matches!(build(&o), Err(OutboundError::Address { .. })));
    }

    #[test]
    fn header_injection_is_impossible() {
        let mut o = sample();
        o.subject = "hi\r\nBcc: victim@x.test".into();
        o.from_name = Some("Ana\r\nBcc: victim@x.test".into());
        let built = build(&o).expect("builds");
        let m = parse(&built.bytes, &Limits::default()).expect("parses");
        assert!(m.header("bcc").is_none(), "{:?}", m.headers);
        assert!(build(&Outbound { to: vec![MailAddress { email: "not an address".into(), name: None }], ..sample() }).is_err());
        let notice = build(&Outbound { notice: true, subject: "[Tandem] #1001 breached".into(), ..sample() }).expect("notice");
        let text = String::from_utf8_lossy(&notice.bytes);
        assert!(text.contains("Subject: [Tandem] #1001 breached\r\n"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-generated") && !text.contains("\nReply-To:"), "{text}");
    }
}
