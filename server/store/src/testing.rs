//! Test support shared by the storage tests and the end-to-end tests (feature `testing`):
//! a fresh database on either backend, and a small desk covering every role.
//!
//! PostgreSQL tests need `TANDEM_TEST_PG_URL` (an admin URL of a throwaway cluster; `./x test`
//! starts one). They fail, rather than skip, when it is missing: a suite that silently skips
//! half its backends proves nothing.

use std::{path::PathBuf, sync::Arc};

use sea_orm::{ConnectionTrait, Database};
use tandem_domain::{Actor, Clock, FixedClock};
use tandem_proto::{self as proto, Role};

use crate::{Group, Store, mail::Recorded};

pub const PG_ENV: &str = "TANDEM_TEST_PG_URL";
pub const PASSWORD: &str = "tandem-test-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database and a data directory; removed when dropped (PostgreSQL databases
/// live in the throwaway cluster, which the test runner deletes).
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn fresh_database(backend: Backend) -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("tandem.db").display()),
        Backend::Postgres => {
            let admin = std::env::var(PG_ENV).unwrap_or_else(|_| {
                panic!("{PG_ENV} is not set: run the suite with `./x test`, which starts a throwaway PostgreSQL")
            });
            let mut random = [0u8; 8];
            getrandom::fill(&mut random).expect("random");
            let name = format!("tandem_test_{}", hex::encode(random));
            let conn = Database::connect(&admin).await.expect("connect to the test cluster");
            conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
            conn.close().await.expect("close");
            match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("{PG_ENV} must end in /DATABASE"),
            }
        }
    };
    TestDb { url, data_dir: dir.path().join("data"), _dir: dir }
}

/// Makes PostgreSQL search read its window in slices of `width` ticket ids and up (instead of
/// 20,000), so a test with a few dozen tickets walks several slices.
pub fn narrow_search_slices(width: i64) {
    crate::search::FIRST_SLICE_FOR_TESTS.store(width, std::sync::atomic::Ordering::Relaxed);
}

/// The test clock starts at a fixed, known time.
pub fn clock() -> Arc<FixedClock> {
    use chrono::TimeZone;
    Arc::new(FixedClock::new(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid")))
}

pub async fn open_store(db: &TestDb, clock: Arc<dyn Clock>) -> Store {
    Store::open(&db.url, &db.data_dir, clock).await.expect("open store")
}

/// A small desk: inbox A (everyone but `agent_b`) and inbox B (admin, `agent_b`), one user per
/// role, and one ticket in each inbox.
#[derive(Debug, Clone)]
pub struct Desk {
    pub inbox_a: proto::Inbox,
    pub inbox_b: proto::Inbox,
    pub team: proto::Team,
    pub admin: proto::User,
    pub supervisor: proto::User,
    /// Agent, member of inbox A.
    pub agent: proto::User,
    /// Agent, member of inbox B only.
    pub agent_b: proto::User,
    pub observer: proto::User,
    pub ticket_a: i64,
    pub ticket_b: i64,
    pub template: proto::Template,
    /// An attachment on ticket A's first message.
    pub attachment: proto::Attachment,
}

impl Desk {
    pub fn users(&self) -> [(&'static str, &proto::User); 5] {
        [
            ("admin", &self.admin),
            ("supervisor", &self.supervisor),
            ("agent", &self.agent),
            ("agent_b", &self.agent_b),
            ("observer", &self.observer),
        ]
    }
}

pub async fn actor(store: &Store, user: &proto::User) -> Actor {
    store.actor_by_id(user.id).await.expect("load actor").expect("active user")
}

pub async fn desk(store: &Store) -> Desk {
    let inbox_a = store
        .create_inbox(None, proto::CreateInbox { name: "Support".into(), address: "support@desk.test".into() })
        .await
        .expect("inbox a");
    let inbox_b = store
        .create_inbox(None, proto::CreateInbox { name: "Sales".into(), address: "sales@desk.test".into() })
        .await
        .expect("inbox b");
    let team = store.create_team(None, proto::CreateTeam { name: "Tier 2".into(), description: String::new() }).await.expect("team");
    let mut users = Vec::new();
    for (name, role) in [
        ("admin", Role::Admin),
        ("supervisor", Role::Supervisor),
        ("agent", Role::Agent),
        ("agent_b", Role::Agent),
        ("observer", Role::Observer),
    ] {
        let user = store
            .create_user(None, proto::CreateUser {
                email: format!("{name}@desk.test"),
                display_name: name.replace('_', " "),
                password: PASSWORD.into(),
                role,
                language: None,
                skills: vec![],
            })
            .await
            .expect("user");
        let inbox = if name == "agent_b" { inbox_b.id } else { inbox_a.id };
        store.set_membership(None, Group::Inbox, inbox, user.id, true).await.expect("membership");
        users.push(user);
    }
    let [admin, supervisor, agent, agent_b, observer]: [proto::User; 5] = users.try_into().expect("five users");
    store.set_membership(None, Group::Inbox, inbox_b.id, admin.id, true).await.expect("membership");
    store.set_membership(None, Group::Team, team.id, agent.id, true).await.expect("team membership");
    let sup = actor(store, &supervisor).await;
    let ticket_a = store
        .create_ticket(&sup, new_ticket(inbox_a.id, "Cannot log in", "anna@customer.test"))
        .await
        .expect("ticket a")
        .ticket
        .number;
    let adm = actor(store, &admin).await;
    let ticket_b = store
        .create_ticket(&adm, new_ticket(inbox_b.id, "Quote for 40 seats", "boris@buyer.test"))
        .await
        .expect("ticket b")
        .ticket
        .number;
    let template = store
        .create_template(None, proto::CreateTemplate {
            name: "Greeting".into(),
            subject: "Re: {{ ticket.subject }}".into(),
            body: "Hello {{ contact.first_name }},\n\n{{ agent.name }}".into(),
        })
        .await
        .expect("template");
    let first_message = store.get_ticket(&sup, ticket_a).await.expect("ticket a").messages[0].id;
    let attachment = store.add_attachment(first_message, "screenshot.png", "image/png", b"\x89PNG fake").await.expect("attachment");
    Desk { inbox_a, inbox_b, team, admin, supervisor, agent, agent_b, observer, ticket_a, ticket_b, template, attachment }
}

/// Records raw messages in an inbox as one IMAP batch and parses each as the intake does: what
/// a test of [`Store::apply_inbound_many`] starts from (its group is
/// `recorded.iter().zip(&parsed).map(|(r, p)| (r.id, p.as_ref()))`).
pub async fn record_and_parse(store: &Store, inbox_id: i64, raws: &[Vec<u8>]) -> (Vec<Recorded>, Vec<Result<tandem_mail::Inbound, tandem_mail::ParseError>>) {
    let items: Vec<(&[u8], Option<&str>)> = raws.iter().map(|raw| (raw.as_slice(), None)).collect();
    let recorded = store.record_inbound_batch(inbox_id, &items, "imap").await.expect("record the batch");
    let parsed = raws.iter().map(|raw| tandem_mail::parse(raw, &tandem_mail::Limits::default())).collect();
    (recorded, parsed)
}

pub fn new_ticket(inbox_id: i64, subject: &str, email: &str) -> proto::CreateTicket {
    proto::CreateTicket {
        inbox_id,
        subject: subject.into(),
        body_text: format!("{subject}: please help."),
        body_html: None,
        contact: proto::ContactInput { email: email.into(), name: None },
        priority: None,
        tags: vec![],
        category: None,
        language: None,
    }
}

/// Declares, for each async `fn name(backend: Backend)` in scope, the tests `name::sqlite`
/// and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::testing::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::testing::Backend::Postgres).await
                }
            }
        )+
    };
}
