use super::*;

/// A TNEF stream written attribute by attribute, as Outlook lays it out.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn new() -> Self {
        let mut w = Writer(Vec::new());
        w.0.extend(SIGNATURE.to_le_bytes());
        w.0.extend(0x1234u16.to_le_bytes());
        w.attr(LEVEL_MESSAGE, 0x0008_9006, &[0, 0, 1, 0]); // version
        w
    }

    pub(crate) fn attr(&mut self, level: u8, id: u32, data: &[u8]) -> &mut Self {
        self.0.push(level);
        self.0.extend(id.to_le_bytes());
        self.0.extend((data.len() as u32).to_le_bytes());
        self.0.extend(data);
        self.0.extend(data.iter().fold(0u16, |s, b| s.wrapping_add(u16::from(*b))).to_le_bytes());
        self
    }

    /// `attBody`: the message's plain text, NUL-terminated.
    pub(crate) fn body(&mut self, text: &str) -> &mut Self {
        self.attr(LEVEL_MESSAGE, ATT_BODY, format!("{text}\0").as_bytes())
    }

    pub(crate) fn file(&mut self, title: &[u8], data: &[u8], props: Option<Vec<u8>>) -> &mut Self {
        self.attr(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, &[1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let mut title = title.to_vec();
        title.push(0);
        self.attr(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, &title);
        self.attr(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data);
        if let Some(props) = props {
            self.attr(LEVEL_ATTACHMENT, ATT_ATTACHMENT, &props);
        }
        self
    }
}

/// A MAPI property list: a named property of no interest, the attach method, then the strings.
fn props(long_name: &str, mime: &str, content_id: &str) -> Vec<u8> {
    props_with_method(1, long_name, mime, content_id)
}

fn props_with_method(method: u32, long_name: &str, mime: &str, content_id: &str) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(5u32.to_le_bytes());
    // A named property (by name, "Keywords" padded) holding a multi-valued string: skipped.
    p.extend((PT_UNICODE | MV_FLAG).to_le_bytes());
    p.extend(0x8005u16.to_le_bytes());
    p.extend([7u8; 16]);
    p.extend(1u32.to_le_bytes());
    let name: Vec<u8> = "Keywords\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    p.extend((name.len() as u32).to_le_bytes());
    p.extend(&name);
    p.resize(p.len().next_multiple_of(4), 0);
    p.extend(2u32.to_le_bytes());
    for v in ["a", "bc"] {
        let v: Vec<u8> = format!("{v}\0").encode_utf16().flat_map(u16::to_le_bytes).collect();
        p.extend((v.len() as u32).to_le_bytes());
        p.extend(&v);
        p.resize(p.len().next_multiple_of(4), 0);
    }
    p.extend(PT_LONG.to_le_bytes());
    p.extend(PR_ATTACH_METHOD.to_le_bytes());
    p.extend(method.to_le_bytes());
    for (id, text) in [(PR_ATTACH_LONG_FILENAME, long_name), (PR_ATTACH_MIME_TAG, mime), (PR_ATTACH_CONTENT_ID, content_id)] {
        p.extend(PT_UNICODE.to_le_bytes());
        p.extend(id.to_le_bytes());
        p.extend(1u32.to_le_bytes());
        let v: Vec<u8> = format!("{text}\0").encode_utf16().flat_map(u16::to_le_bytes).collect();
        p.extend((v.len() as u32).to_le_bytes());
        p.extend(&v);
        p.resize(p.len().next_multiple_of(4), 0);
    }
    p
}

#[test]
fn files_come_out_with_their_long_names_types_and_bytes() {
    let mut w = Writer::new();
    w.attr(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, &[0xe4, 0x04, 0, 0, 0, 0, 0, 0]);
    w.attr(LEVEL_MESSAGE, 0x0001_8004, b"Subject\0"); // attSubject: ignored
    w.file(b"QUARTE~1.PDF", b"%PDF-1.4 report", Some(props("Quarterly report €.pdf", "Application/PDF", "<img1@desk.test>")));
    w.file(b"notes.txt", b"plain notes", None);
    let files = unpack(&w.0).expect("unpacked").files;
    assert_eq!(files, vec![
        TnefFile {
            name: "Quarterly report €.pdf".into(),
            content_type: Some("application/pdf".into()),
            content_id: Some("img1@desk.test".into()),
            embedded: false,
            bytes: b"%PDF-1.4 report",
        },
        TnefFile { name: "notes.txt".into(), content_type: None, content_id: None, embedded: false, bytes: b"plain notes" },
    ]);
}

#[test]
fn an_embedded_outlook_message_is_marked_as_such() {
    let mut w = Writer::new();
    let placeholder = b"This attachment is a MAPI 1.0 embedded message and is not supported by this mail system.\0";
    w.file(b"Untitled Attachment", placeholder, Some(props_with_method(ATTACH_EMBEDDED_MSG, "", "", "")));
    // One more whose message is only in its properties (no attAttachData): listed, no bytes.
    w.attr(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, &[1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    w.attr(LEVEL_ATTACHMENT, ATT_ATTACHMENT, &props_with_method(ATTACH_EMBEDDED_MSG, "Re: order", "", ""));
    let files = unpack(&w.0).expect("unpacked").files;
    assert!(files[0].embedded);
    assert_eq!(files[0].name, "Untitled Attachment");
    assert_eq!((files[1].name.as_str(), files[1].embedded, files[1].bytes), ("Re: order", true, &b""[..]));
}

#[test]
fn the_plain_text_body_comes_from_att_body_or_the_message_properties() {
    let mut w = Writer::new();
    w.body("Hello from Outlook.\r\nSecond line.");
    assert_eq!(unpack(&w.0).expect("unpacked").body.as_deref(), Some("Hello from Outlook.\nSecond line."));
    let mut props = Vec::new();
    props.extend(1u32.to_le_bytes());
    props.extend(PT_UNICODE.to_le_bytes());
    props.extend(PR_BODY.to_le_bytes());
    props.extend(1u32.to_le_bytes());
    let text: Vec<u8> = "Привет\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    props.extend((text.len() as u32).to_le_bytes());
    props.extend(&text);
    props.resize(props.len().next_multiple_of(4), 0);
    let mut w = Writer::new();
    w.attr(LEVEL_MESSAGE, ATT_MSG_PROPS, &props);
    let tnef = unpack(&w.0).expect("unpacked");
    assert_eq!(tnef.body.as_deref(), Some("Привет"));
    assert!(tnef.files.is_empty());
    let mut w = Writer::new();
    w.body(" \r\n");
    assert_eq!(unpack(&w.0).expect("unpacked").body, None, "a blank body is none");
}

#[test]
fn an_8bit_title_is_read_in_the_streams_code_page() {
    let mut w = Writer::new();
    w.attr(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, &1251u32.to_le_bytes().into_iter().chain([0; 4]).collect::<Vec<_>>());
    w.file(b"\xf1\xf7\xe5\xf2.txt", b"x", None); // "счет.txt" in windows-1251
    assert_eq!(unpack(&w.0).expect("unpacked").files[0].name, "счет.txt");
}

#[test]
fn broken_streams_are_errors_not_panics() {
    assert_eq!(unpack(b"PK\x03\x04 a zip"), Err(TnefError::NoSignature));
    assert_eq!(unpack(b""), Err(TnefError::NoSignature));
    let mut w = Writer::new();
    w.file(b"a.txt", b"hello", None);
    let whole = w.0.clone();
    for cut in 6..whole.len() {
        // Every truncation is an error or (cut between attributes) fewer files; never a panic.
        if let Ok(tnef) = unpack(&whole[..cut]) {
            assert!(tnef.files.iter().all(|f| f.bytes.len() <= 5));
        }
    }
    let mut bad = whole.clone();
    let last = bad.len() - 3;
    bad[last] ^= 0xff; // a data byte of the last attribute
    assert!(matches!(unpack(&bad), Err(TnefError::Checksum(_))));
    let mut level = Writer::new();
    level.attr(7, ATT_ATTACH_DATA, b"x");
    assert_eq!(unpack(&level.0), Err(TnefError::Level(7)));
}

#[test]
fn unreadable_properties_keep_the_title_and_data() {
    let mut w = Writer::new();
    let mut p = props("long name.docx", "application/msword", "");
    p[4] = 0x99; // the first property's type: unknown, so the walk stops
    w.file(b"LONGNA~1.DOC", b"doc", Some(p));
    let files = unpack(&w.0).expect("unpacked").files;
    assert_eq!(files[0].name, "LONGNA~1.DOC");
    assert_eq!(files[0].content_type, None);
}

#[test]
fn a_stream_of_more_files_than_the_limit_is_refused() {
    let mut w = Writer::new();
    for _ in 0..=MAX_FILES {
        w.file(b"a", b"", None);
    }
    assert_eq!(unpack(&w.0), Err(TnefError::TooManyFiles));
}

#[test]
fn tnef_parts_are_known_by_type_or_name() {
    assert!(is_tnef("application/ms-tnef", None));
    assert!(is_tnef("Application/VND.MS-TNEF", Some("x")));
    assert!(is_tnef("application/octet-stream", Some("WINMAIL.DAT")));
    assert!(!is_tnef("application/octet-stream", Some("winmail.zip")));
}

proptest::proptest! {
    #[test]
    fn any_bytes_after_the_signature_unpack_or_fail_cleanly(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let mut data = SIGNATURE.to_le_bytes().to_vec();
        data.extend(tail);
        let _ = unpack(&data);
    }
}
