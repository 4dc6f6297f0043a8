//! Fixtures for tests of the host and of the crates above it (feature `testing`): the built
//! plugin components, and sample inputs in the host's (latest) WIT types.
//!
//! Components are built by `./x test` (and `./x plugins`) into
//! `target/wasm32-wasip2/plugin/`; a test that needs one fails with instructions when it is
//! missing, rather than skipping.

use std::path::PathBuf;

use crate::bindings::latest::{
    classify, respond, route,
    types::{Agent, Availability, Contact, Header, Inbox, Message, MessageKind, Priority, Team, Ticket, TicketStatus},
};

/// 2026-03-02 09:00:00 UTC (a Monday), microseconds.
pub const MONDAY_9AM: i64 = 1_772_442_000_000_000;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real-mail corpus: `TANDEM_CORPUS_DIR`, else `../shared/corpus` next to the workspace,
/// else the 54-message subset vendored in `tests/fixtures/mail`; and whether it is a whole
/// corpus (not the subset). Shared by the plugin and the email tests.
pub fn corpus_dir() -> (PathBuf, bool) {
    let subset = workspace_root().join("tests/fixtures/mail");
    let shared = workspace_root().join("../shared/corpus");
    let dir = match std::env::var_os("TANDEM_CORPUS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None if shared.join("MANIFEST.tsv").is_file() => shared,
        None => subset.clone(),
    };
    let whole = dir.canonicalize().ok() != subset.canonicalize().ok();
    (dir, whole)
}

/// (file, tags) of every message in a corpus directory's `MANIFEST.tsv`.
pub fn corpus_manifest(dir: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let path = dir.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (set TANDEM_CORPUS_DIR)", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let file = cols.first().filter(|f| !f.is_empty())?.to_string();
            Some((file, cols.get(6).map(|t| t.split(',').map(str::to_owned).collect()).unwrap_or_default()))
        })
        .collect()
}

/// Where `./x` puts plugin components.
pub fn component_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
    target.join("wasm32-wasip2").join("plugin")
}

/// The bytes of a built component, by crate name (`keyword-classifier`, `hostile-plugin`, …).
pub fn component(crate_name: &str) -> Vec<u8> {
    let path = component_dir().join(format!("{}.wasm", crate_name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}. Build the plugins first: `./x plugins` (or run the suite with `./x test`)", path.display())
    })
}

/// Installs every bundled plugin from [`component_dir`] into `registry`, enabled, and answers
/// their names; panics with instructions when one is not built. (The registry itself only warns
/// and goes on, as a server should; a test or benchmark that meant to run with the plugins
/// must not quietly run without them.)
pub async fn install_bundled(registry: &crate::Registry) -> Vec<String> {
    let dir = component_dir();
    let installed = registry.install_bundled(&dir).await.unwrap_or_else(|e| panic!("installing the bundled plugins: {e}"));
    let expected: Vec<&str> = crate::registry::bundled().iter().map(|b| b.name).collect();
    assert_eq!(
        installed,
        expected,
        "bundled plugins missing from {}: build them first with `./x plugins` (or run the suite with `./x test`)",
        dir.display()
    );
    installed
}

pub fn message(from: &str, subject: &str, text: &str) -> Message {
    Message {
        kind: MessageKind::Inbound,
        from_address: from.to_lowercase(),
        from_name: None,
        subject: subject.to_owned(),
        text: text.to_owned(),
        headers: vec![Header { name: "From".to_owned(), value: from.to_owned() }, Header { name: "Subject".to_owned(), value: subject.to_owned() }],
        attachment_types: Vec::new(),
        received_at: MONDAY_9AM,
    }
}

pub fn ticket(subject: &str) -> Ticket {
    Ticket {
        number: 1001,
        subject: subject.to_owned(),
        status: TicketStatus::New,
        priority: Priority::Normal,
        tags: Vec::new(),
        category: None,
        language: None,
        inbox_id: 1,
        team_id: None,
        assignee_id: None,
        created_at: MONDAY_9AM,
        message_count: 1,
    }
}

pub fn contact(email: &str) -> Contact {
    Contact {
        email: email.to_lowercase(),
        name: None,
        company: email.rsplit_once('@').map(|(_, d)| d.to_lowercase()),
        previous_tickets: 0,
        open_tickets: 0,
        last_auto_reply_at: None,
    }
}

pub fn inbox() -> Inbox {
    Inbox { id: 1, name: "Support".to_owned(), address: "support@example.test".to_owned(), business_hours: None }
}

pub fn classify_input(from: &str, subject: &str, text: &str) -> classify::Input {
    classify::Input { message: message(from, subject, text), ticket: ticket(subject), contact: contact(from), inbox: inbox() }
}

pub fn respond_input(from: &str, subject: &str, text: &str) -> respond::Input {
    respond::Input { message: message(from, subject, text), ticket: ticket(subject), contact: contact(from), inbox: inbox() }
}

pub fn route_input(from: &str, subject: &str, text: &str, agents: Vec<Agent>, teams: Vec<Team>) -> route::Input {
    route::Input { message: message(from, subject, text), ticket: ticket(subject), contact: contact(from), inbox: inbox(), agents, teams }
}

pub fn agent(id: i64, name: &str, skills: &[&str], availability: Availability, open_tickets: u32, teams: &[i64]) -> Agent {
    Agent {
        id,
        name: name.to_owned(),
        email: format!("{}@example.test", name.to_lowercase()),
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        availability,
        language: "en".to_owned(),
        open_tickets,
        teams: teams.to_vec(),
    }
}

pub fn team(id: i64, name: &str, members: &[i64]) -> Team {
    Team { id, name: name.to_owned(), members: members.to_vec() }
}
