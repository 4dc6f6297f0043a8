//! The bundled plugins through the real host on real mail: every message of
//! `../shared/corpus` (other projects' test suites: mailing lists, bounces, auto-replies, spam,
//! broken MIME, many charsets) goes through classify → route → respond. No call may fail, and
//! the responder must stay silent on what the corpus marks as machine mail.
//!
//! The corpus sits next to the workspace (`../shared/corpus`, or `TANDEM_CORPUS_DIR`); without
//! it, the 53-message subset in `tests/fixtures/mail` is used.

use tandem_plugins::{
    CallContext, Runtime, convert,
    bindings::latest::types::{Availability, Header},
    testing,
};
use tandem_proto::PluginLimits;

fn normalise_line_endings(raw: Vec<u8>) -> Vec<u8> {
    if raw.contains(&b'\n') {
        return raw;
    }
    raw.iter().flat_map(|&b| if b == b'\r' { vec![b'\r', b'\n'] } else { vec![b] }).collect()
}

const MACHINE_MAIL: &[&str] = &["mailing-list/bulk", "dsn/multipart-report", "auto-submitted-header", "arf-feedback-report"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_plugins_handle_the_whole_corpus() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = Runtime::new(dir.path().join("cache")).expect("runtime");
    let classifier = runtime.load(testing::component("keyword-classifier").into()).await.expect("classifier");
    let router = runtime.load(testing::component("skills-router").into()).await.expect("router");
    let responder = runtime.load(testing::component("template-responder").into()).await.expect("responder");
    // Generous limits: the suite runs in parallel on two cores and this test checks behaviour.
    let ctx = CallContext { config: "{}".to_owned(), now_micros: testing::MONDAY_9AM, limits: PluginLimits { timeout_ms: 2_000, ..PluginLimits::default() } };
    // The corpus's mail is years old: the responder's age limit would answer none of it, and
    // this test is about which mail it must never answer.
    let respond_ctx = CallContext { config: r#"{ "max_age_hours": 0 }"#.to_owned(), ..ctx.clone() };
    let agents = vec![
        testing::agent(1, "Ann", &["ru", "billing"], Availability::Online, 2, &[10]),
        testing::agent(2, "Bob", &["pl", "fr"], Availability::Online, 1, &[10]),
    ];
    let teams = vec![testing::team(10, "Tech support", &[1, 2]), testing::team(11, "Sales", &[])];

    let (dir, whole) = testing::corpus_dir();
    let entries = testing::corpus_manifest(&dir);
    eprintln!("{} messages from {}", entries.len(), dir.display());
    assert!(entries.len() > if whole { 1_000 } else { 40 }, "{} has {} messages", dir.display(), entries.len());
    let mut failures = Vec::new();
    let (mut replies, mut machine, mut spam) = (0, 0, 0);
    for (file, tags) in &entries {
        let raw = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Old Mac mail ends lines with a bare CR, which mail-parser does not split on: intake
        // normalises line endings first, and so does this test.
        let raw = normalise_line_endings(raw);
        // What intake will hand to plugins; a message mail-parser cannot make sense of still
        // reaches them, with its raw bytes as text.
        let parsed = mail_parser::MessageParser::default().parse(&raw);
        let (from, subject, text, headers) = match &parsed {
            Some(m) => (
                m.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("").to_owned(),
                m.subject().unwrap_or("").to_owned(),
                m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                m.headers_raw()
                    .map(|(name, value)| Header { name: name.to_owned(), value: value.split_whitespace().collect::<Vec<_>>().join(" ") })
                    .collect::<Vec<_>>(),
            ),
            None => (String::new(), String::new(), String::from_utf8_lossy(&raw).into_owned(), Vec::new()),
        };
        let text: String = text.chars().take(64 * 1024).collect();
        let mut input = testing::classify_input(&from, &subject, &text);
        input.message.headers = headers;
        let c = runtime.classify(&classifier, &input, &ctx).await;
        let verdict = match c.result.map_err(|f| format!("{f:?}")).and_then(|v| convert::classification(v).map_err(|f| format!("{f:?}"))) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{file}: classify: {e}"));
                continue;
            }
        };
        spam += usize::from(verdict.spam == Some(true));
        let mut route_input = testing::route_input(&from, &subject, &text, agents.clone(), teams.clone());
        route_input.message = input.message.clone();
        route_input.ticket.language = verdict.language.clone();
        route_input.ticket.category = verdict.category.clone();
        let r = runtime.route(&router, &route_input, &ctx).await;
        if let Err(e) = r.result.map_err(|f| format!("{f:?}")).and_then(|d| convert::routing(d, &route_input).map_err(|f| format!("{f:?}"))) {
            failures.push(format!("{file}: route: {e}"));
        }
        let mut respond_input = testing::respond_input(&from, &subject, &text);
        respond_input.message = input.message.clone();
        respond_input.ticket.language = verdict.language;
        let a = runtime.respond(&responder, &respond_input, &respond_ctx).await;
        match a.result.map_err(|f| format!("{f:?}")).and_then(|d| convert::response(d).map_err(|f| format!("{f:?}"))) {
            Ok(response) => {
                let is_machine = tags.iter().any(|t| MACHINE_MAIL.contains(&t.as_str()));
                machine += usize::from(is_machine);
                if let Some(reply) = response.reply {
                    replies += 1;
                    if is_machine {
                        failures.push(format!("{file} ({}): auto-reply to machine mail: {}", tags.join(","), reply.subject));
                    }
                }
            }
            Err(e) => failures.push(format!("{file}: respond: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} messages:\n{}", failures.len(), entries.len(), failures.join("\n"));
    let (min_machine, min_replies) = if whole { (500, 100) } else { (15, 5) };
    assert!(machine > min_machine && replies > min_replies, "{machine} machine messages, {replies} replies: the corpus has plenty of both");
    assert!(spam > 0, "some corpus messages are flagged spam");
}
