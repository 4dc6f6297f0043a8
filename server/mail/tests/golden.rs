//! Golden files, in the style of mail-parser's own tests: a representative subset of real
//! mail (`tests/fixtures/mail`) → the JSON of what Tandem extracts (`tests/fixtures/golden`).
//! `TANDEM_BLESS=1` rewrites the expected files.

use std::path::{Path, PathBuf};

use tandem_mail::{Limits, parse};

/// (fixture under tests/fixtures/mail, what it exercises)
const CASES: &[(&str, &str)] = &[
    ("postal-mime/bounce.eml", "delivery-status report with the returned message"),
    ("sisimai/bsd/rfc3834-06.eml", "vacation auto-reply"),
    ("spamassassin/nice/mailman_message.eml", "mailing-list mail"),
    ("sisimai/bsd/rhost-gsuite-04.eml", "inline cid images in a bounce"),
    ("mikel-mail/emails/plain_emails/raw_email_bad_time.eml", "windows-1251 HTML, broken date"),
    ("flanker/enclosed.eml", "forwarded message/rfc822"),
    ("mikel-mail/emails/error_emails/content_transfer_encoding_with_8bits.eml", "remote images, 8-bit latin-1"),
    ("mikel-mail/emails/plain_emails/raw_email_with_partially_quoted_subject.eml", "CJK RFC 2047 subject"),
    ("mikel-mail/emails/error_emails/missing_body.eml", "truncated multipart"),
    ("php-mime-mail-parser/issue250.eml", "no From, image attachment"),
    ("sisimai/bsd/lhost-mailru-01.eml", "Cyrillic auto-submitted"),
    ("mikel-mail/emails/attachment_emails/attachment_with_unquoted_name.eml", "attachment name without quotes"),
    ("mimekit/tnef/rich-text.eml", "Outlook TNEF winmail.dat: a picture and two embedded messages inside"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

#[test]
fn parsed_mail_matches_the_golden_files() {
    let bless = std::env::var_os("TANDEM_BLESS").is_some();
    let mut failures = Vec::new();
    for (file, what) in CASES {
        let raw = std::fs::read(root().join("mail").join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed = parse(&raw, &Limits::default()).unwrap_or_else(|e| panic!("{file} ({what}) does not parse: {e}"));
        let actual = serde_json::to_string_pretty(&parsed).expect("serialises") + "\n";
        let golden = root().join("golden").join(file.replace('/', "__").replace(".eml", ".json"));
        if bless {
            std::fs::write(&golden, &actual).expect("write golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_else(|e| panic!("{}: {e} (TANDEM_BLESS=1 writes it)", golden.display()));
        if expected != actual {
            failures.push(format!("{file} ({what}): differs from {}", golden.display()));
        }
    }
    assert!(failures.is_empty(), "{}\n(review, then TANDEM_BLESS=1 to accept)", failures.join("\n"));
}

/// Inputs the fuzzer found (`./x fuzz`), kept as regressions: they must parse or fail cleanly.
#[test]
fn fuzzer_findings_do_not_panic() {
    let dir = root().join("fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/fuzz").flatten() {
        let raw = std::fs::read(entry.path()).expect("input");
        let _ = parse(&raw, &Limits::default());
        let _ = tandem_mail::peek_message_id(&raw);
        n += 1;
    }
    assert!(n >= 1, "no inputs in {}", dir.display());
}
