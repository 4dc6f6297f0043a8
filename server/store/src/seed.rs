//! Bulk seeding for benchmarks: many realistic tickets written straight into the schema.
//!
//! The normal write path (one transaction per ticket, audit events, contact lookup) makes
//! about a hundred tickets a second; a benchmark wants a hundred thousand. This writes the
//! same rows the store would (contacts, tickets with their denormalised `tags`, `ticket_tags`,
//! messages with increasing `ticket_version`, a `ticket.created` event) with multi-row
//! INSERTs in large transactions, on SQLite and PostgreSQL alike.
//!
//! It needs inboxes and users created the normal way first (e.g. the demo data), so that the
//! benchmark authenticates and authorises for real. Ticket numbers continue from the
//! `ticket_number` counter, which is moved once, in the last transaction; run it on a
//! database nothing else is writing to.

use std::{collections::HashMap, time::{Duration, Instant}};

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use tandem_proto::{MessageKind, Priority, TicketStatus};

use crate::{
    Store,
    db::{query_all, query_one},
    error::{Result, StoreError},
    rows::json,
};

/// PostgreSQL accepts at most this many bind parameters in one statement.
const PG_MAX_PARAMS: usize = 65_535;
/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER` (since 3.32).
const SQLITE_MAX_PARAMS: usize = 32_766;

/// What to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkSpec {
    pub tickets: u64,
    pub messages_per_ticket: u32,
    /// Rows per INSERT statement (capped so that no statement exceeds the bind limit).
    pub rows_per_statement: usize,
    /// Tickets per transaction.
    pub tickets_per_transaction: usize,
    /// The tickets' creation times spread over this many days before now.
    pub spread_days: u32,
    /// PostgreSQL: `VACUUM ANALYZE` at the end, as autovacuum would do soon after such a load,
    /// so that the planner knows the new data. Nothing on SQLite: Tandem never runs `ANALYZE`
    /// there, and with the STAT4 statistics of the bundled SQLite every statement whose
    /// parameters touch an indexed column would be re-prepared on each execution.
    pub analyze: bool,
}

impl Default for BulkSpec {
    fn default() -> Self {
        BulkSpec { tickets: 100_000, messages_per_ticket: 3, rows_per_statement: 500, tickets_per_transaction: 5_000, spread_days: 365, analyze: true }
    }
}

/// What was written, and how fast.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BulkReport {
    pub contacts: u64,
    pub tickets: u64,
    pub tags: u64,
    pub messages: u64,
    pub events: u64,
    pub transactions: u64,
    pub statements: u64,
    /// Time spent writing (without `VACUUM ANALYZE`).
    pub elapsed: Duration,
    pub analyze: Duration,
}

impl BulkReport {
    pub fn rows(&self) -> u64 {
        self.contacts + self.tickets + self.tags + self.messages + self.events
    }

    pub fn rows_per_second(&self) -> f64 {
        self.rows() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn tickets_per_second(&self) -> f64 {
        self.tickets as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Size of one table or index, for the benchmark report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSize {
    pub name: String,
    /// `table` or `index`.
    pub kind: String,
    pub bytes: i64,
}

#[derive(Debug, Clone)]
struct Agent {
    id: i64,
    name: String,
}

#[derive(Debug, Clone)]
struct InboxInfo {
    id: i64,
    domain: String,
    /// Members who may work tickets (agents and supervisors), else every member.
    workers: Vec<Agent>,
}

/// A set of rows to insert with one statement per `chunk` rows.
struct Insert {
    head: &'static str,
    columns: usize,
    returning: Option<&'static str>,
}

const STATUS_CYCLE: [TicketStatus; 20] = {
    use TicketStatus::*;
    [New, Open, Pending, Open, Solved, Closed, Open, New, OnHold, Solved, Open, Pending, Closed, Solved, Open, New, Pending, Solved, Closed, Spam]
};

const PRIORITY_CYCLE: [Priority; 8] =
    [Priority::Normal, Priority::Normal, Priority::High, Priority::Low, Priority::Normal, Priority::Urgent, Priority::Normal, Priority::High];

const SUBJECTS: &[&str] = &[
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Webhook stopped firing",
    "Quote for 40 seats, annual billing",
    "Export to CSV times out",
    "Two-factor codes are rejected",
    "Please cancel my subscription",
    "Calendar sync lost our appointments",
    "Refund for a duplicate charge",
    "API returns 429 although we are under the limit",
    "How do I add a second admin?",
    "Attachment upload fails over 5 MB",
    "Wrong time zone in notification emails",
    "Request for a data processing agreement",
    "Search does not find older tickets",
    "Mobile app crashes on start",
];

const TAGS: &[&str] = &["billing", "login", "integration", "webhook", "sales", "bug", "vip", "refund", "mobile", "api", "gdpr", "feature-request"];

const FIRST_NAMES: &[&str] = &["Emma", "James", "Olga", "Piotr", "Camille", "Lucas", "Anna", "Ivan", "Sofia", "Noah", "Mia", "Liam", "Zoe", "Omar", "Lena", "Yuki"];
const LAST_NAMES: &[&str] = &["Clarke", "Porter", "Smirnova", "Nowak", "Dubois", "Martin", "Kowalska", "Petrov", "Rossi", "Fischer", "Silva", "Tanaka", "Novak", "Haddad"];
const COMPANIES: &[&str] = &["Northwind", "Contoso", "Fabrikam", "Initech", "Globex", "Umbrella", "Stark Logistics", "Wayne Foods"];

const INBOUND_BODIES: &[&str] = &[
    "Hi,\n\nsince this morning we cannot get past the login page: it says our credentials are wrong, although we reset the password twice. We tried two browsers and a private window.\n\nCould you have a look? Our whole team is blocked.\n\nThanks,",
    "Hello,\n\nthe invoice we received for last month lists the wrong VAT number and an old address. Our accountant needs a corrected invoice before the end of the week.\n\nBest regards,",
    "Hi there,\n\nour endpoint stopped receiving webhook calls yesterday afternoon. Nothing changed on our side and the delivery log in the dashboard is empty. Is there an outage?\n\nCheers,",
    "Good morning,\n\nwe are evaluating your product for a team of about 40 people. Could you send us a quote for annual billing, and tell us whether SSO is included?\n\nKind regards,",
];

const REPLY_BODIES: &[&str] = &[
    "Hi,\n\nthanks for reaching out. We have looked into your account and fixed the problem on our side. Could you try again and let us know whether it works now?\n\nBest regards,",
    "Hello,\n\nthank you for the details. I have reissued the document and attached the corrected version to this message. Sorry for the trouble.\n\nKind regards,",
    "Hi,\n\nwe found the cause: a configuration change on our side affected a small number of accounts. It is rolled back now and everything queued has been delivered.\n\nCheers,",
];

const FOLLOW_UPS: &[&str] = &[
    "Thanks, it works now!",
    "Perfect, that solved it. Have a nice day.",
    "Thank you, but we still see the problem on one of our accounts. Could you check again?",
    "Great, thanks for the quick answer.",
];

const NOTE_BODY: &str = "Customer is on the Business plan; checked their limits, nothing unusual.";

impl Store {
    /// Writes `spec.tickets` tickets (and their contacts, tags, messages and creation events)
    /// in batched transactions. Needs at least one inbox and one active user.
    pub async fn bulk_seed(&self, spec: BulkSpec) -> Result<BulkReport> {
        bulk_seed(self, spec).await
    }

    /// Sizes of the tables and indexes (SQLite: `dbstat`; PostgreSQL: the relation sizes),
    /// plus the whole database as `(database)`.
    pub async fn storage_sizes(&self) -> Result<Vec<RelationSize>> {
        #[derive(FromQueryResult)]
        struct Row {
            name: String,
            kind: String,
            bytes: i64,
        }
        let conn = self.db.connection();
        let sql = if self.db.is_postgres() {
            "SELECT c.relname AS name, CASE c.relkind WHEN 'i' THEN 'index' ELSE 'table' END AS kind, \
             pg_relation_size(c.oid)::BIGINT AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') \
             UNION ALL SELECT '(database)', 'database', pg_database_size(current_database())::BIGINT ORDER BY 3 DESC"
        } else {
            "SELECT d.name AS name, COALESCE(m.type, 'table') AS kind, CAST(SUM(d.pgsize) AS BIGINT) AS bytes \
             FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name \
             UNION ALL SELECT '(database)', 'database', (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()) \
             ORDER BY 3 DESC"
        };
        let rows: Vec<Row> = query_all(conn, self.db.stmt(sql, vec![])).await?;
        Ok(rows.into_iter().map(|r| RelationSize { name: r.name, kind: r.kind, bytes: r.bytes }).collect())
    }
}

/// See [`Store::bulk_seed`].
pub async fn bulk_seed(store: &Store, spec: BulkSpec) -> Result<BulkReport> {
    let started = Instant::now();
    let db = &store.db;
    let conn = db.connection();
    let bad = |what: &str| StoreError::validation("bulk_seed", what.to_owned());

    #[derive(FromQueryResult)]
    struct InboxRow {
        id: i64,
        address: String,
    }
    #[derive(FromQueryResult)]
    struct MemberRow {
        inbox_id: i64,
        user_id: i64,
        display_name: String,
        role: String,
    }
    #[derive(FromQueryResult)]
    struct ValueRow {
        value: i64,
    }
    #[derive(FromQueryResult)]
    struct IdKeyRow {
        id: i64,
        key: String,
    }
    #[derive(FromQueryResult)]
    struct IdNumberRow {
        id: i64,
        number: i64,
    }

    let inbox_rows: Vec<InboxRow> = query_all(conn, db.stmt("SELECT id, address FROM inboxes ORDER BY id", vec![])).await?;
    if inbox_rows.is_empty() {
        return Err(bad("create an inbox first (e.g. with the demo data)"));
    }
    let members: Vec<MemberRow> = query_all(
        conn,
        db.stmt(
            "SELECT m.inbox_id, u.id AS user_id, u.display_name, u.role FROM inbox_members m JOIN users u ON u.id = m.user_id \
             WHERE u.disabled = ? ORDER BY m.inbox_id, u.id",
            vec![false.into()],
        ),
    )
    .await?;
    let inboxes: Vec<InboxInfo> = inbox_rows
        .into_iter()
        .map(|inbox| {
            let of_inbox: Vec<&MemberRow> = members.iter().filter(|m| m.inbox_id == inbox.id).collect();
            let mut workers: Vec<Agent> = of_inbox
                .iter()
                .filter(|m| m.role == "agent" || m.role == "supervisor")
                .map(|m| Agent { id: m.user_id, name: m.display_name.clone() })
                .collect();
            if workers.is_empty() {
                workers = of_inbox.iter().map(|m| Agent { id: m.user_id, name: m.display_name.clone() }).collect();
            }
            let domain = inbox.address.rsplit_once('@').map(|(_, d)| d.to_owned()).unwrap_or_else(|| "tandem.invalid".to_owned());
            InboxInfo { id: inbox.id, domain, workers }
        })
        .collect();
    if inboxes.iter().all(|i| i.workers.is_empty()) {
        return Err(bad("add users to the inboxes first (e.g. with the demo data)"));
    }
    let teams: Vec<crate::rows::IdRow> = query_all(conn, db.stmt("SELECT id FROM teams ORDER BY id", vec![])).await?;
    let first_number = query_one::<ValueRow, _>(conn, db.stmt("SELECT value FROM counters WHERE name = 'ticket_number'", vec![]))
        .await?
        .ok_or(StoreError::NotFound("ticket number counter"))?
        .value;
    // Contact emails must be unique: a run-specific prefix keeps repeated runs apart.
    let run = query_one::<ValueRow, _>(conn, db.stmt("SELECT COALESCE(MAX(id), 0) AS value FROM contacts", vec![]))
        .await?
        .map_or(0, |r| r.value);

    let max_params = if db.is_postgres() { PG_MAX_PARAMS } else { SQLITE_MAX_PARAMS };
    let per_statement = spec.rows_per_statement.max(1);
    let per_tx = spec.tickets_per_transaction.max(1) as u64;
    let m = spec.messages_per_ticket as i64;
    let now = store.now_micros();
    let span = i64::from(spec.spread_days.max(1)) * 86_400_000_000;
    let step = span / (spec.tickets.max(1) as i64);
    let begin = now - span;

    let contacts_insert = Insert { head: "INSERT INTO contacts (email, name, company, created_at, updated_at) VALUES ", columns: 5, returning: Some(" RETURNING id, email AS key") };
    let tickets_insert = Insert {
        head: "INSERT INTO tickets (number, subject, status, priority, inbox_id, team_id, assignee_id, contact_id, tags, category, language, \
               created_at, updated_at, first_response_at, last_customer_message_at, last_agent_message_at, solved_at, closed_at, \
               snoozed_until, merged_into, version) VALUES ",
        columns: 21,
        returning: Some(" RETURNING id, number"),
    };
    let tags_insert = Insert { head: "INSERT INTO ticket_tags (ticket_id, tag) VALUES ", columns: 2, returning: None };
    let messages_insert = Insert {
        head: "INSERT INTO messages (ticket_id, kind, author_kind, author_id, author_name, body_text, body_html, message_id, \
               in_reply_to, references_json, delivery_state, ticket_version, created_at) VALUES ",
        columns: 13,
        returning: None,
    };
    let events_insert = Insert {
        head: "INSERT INTO events (ticket_id, actor_kind, actor_id, actor_name, kind, field, before_json, after_json, created_at) VALUES ",
        columns: 9,
        returning: None,
    };

    let mut report = BulkReport::default();
    let mut done: u64 = 0;
    while done < spec.tickets {
        let batch = per_tx.min(spec.tickets - done);
        let tx = db.write().await?;
        let conn = &tx.tx;

        // Contacts: three for every ten tickets; each writes to us a few times.
        let n_contacts = (batch * 3).div_ceil(10).max(1);
        let contact_base = done * 3 / 10;
        let mut rows = Vec::with_capacity(n_contacts as usize);
        let mut contact_emails = Vec::with_capacity(n_contacts as usize);
        let mut contact_names = Vec::with_capacity(n_contacts as usize);
        for k in 0..n_contacts {
            let c = (contact_base + k) as usize;
            let first = FIRST_NAMES[c % FIRST_NAMES.len()];
            let last = LAST_NAMES[(c / FIRST_NAMES.len()) % LAST_NAMES.len()];
            let company = COMPANIES[c % COMPANIES.len()];
            let email = format!("{}.{}.{c}.r{run}@{}.example", first.to_lowercase(), last.to_lowercase(), company.to_lowercase().replace(' ', "-"));
            let name = format!("{first} {last}");
            let at = begin + (done as i64 + k as i64 * 10 / 3) * step - 3_600_000_000;
            rows.push(vec![
                email.clone().into(),
                name.clone().into(),
                if c.is_multiple_of(3) { Value::from(None::<String>) } else { company.into() },
                at.into(),
                at.into(),
            ]);
            contact_emails.push(email);
            contact_names.push(name);
        }
        let returned: Vec<IdKeyRow> = insert_returning(store, conn, &contacts_insert, rows, per_statement, max_params, &mut report.statements).await?;
        let by_email: HashMap<String, i64> = returned.into_iter().map(|r| (r.key, r.id)).collect();
        let contact_ids: Vec<i64> = contact_emails
            .iter()
            .map(|e| by_email.get(e).copied().ok_or(StoreError::NotFound("contact")))
            .collect::<Result<_>>()?;
        report.contacts += n_contacts;

        // Tickets.
        let mut plans = Vec::with_capacity(batch as usize);
        let mut rows = Vec::with_capacity(batch as usize);
        for k in 0..batch {
            let i = done + k;
            let number = first_number + 1 + i as i64;
            let inbox = &inboxes[(i as usize) % inboxes.len()];
            let status = STATUS_CYCLE[(((i as usize).wrapping_mul(2_654_435_761) >> 7) + i as usize) % STATUS_CYCLE.len()];
            let priority = PRIORITY_CYCLE[(i as usize / 3) % PRIORITY_CYCLE.len()];
            let subject = SUBJECTS[(i as usize * 5) % SUBJECTS.len()];
            let contact = (k * 7 % n_contacts) as usize;
            let worker = if inbox.workers.is_empty() { None } else { Some(&inbox.workers[(i as usize / 2) % inbox.workers.len()]) };
            let assignee = if status == TicketStatus::New { None } else { worker };
            let team = if status == TicketStatus::New || teams.is_empty() { None } else { Some(teams[(i as usize) % teams.len()].id) };
            let n_tags = (i % 4) as usize;
            let tags: Vec<String> = {
                let mut t: Vec<String> = (0..n_tags).map(|j| TAGS[(i as usize * 3 + j * 5) % TAGS.len()].to_owned()).collect();
                t.sort();
                t.dedup();
                t
            };
            let created = begin + i as i64 * step + (i as i64 * 7_919 % 600) * 1_000_000;
            // Messages, each a minute to a few hours after the previous one.
            let mut at = created;
            let mut times = Vec::with_capacity(m as usize);
            for j in 0..m {
                if j > 0 {
                    at += (5 + (i as i64 * 31 + j * 17) % 240) * 60_000_000;
                }
                times.push(at);
            }
            let kinds: Vec<MessageKind> = (0..m)
                .map(|j| match (j % 2, status) {
                    (0, _) => MessageKind::Inbound,
                    (_, TicketStatus::New | TicketStatus::Spam) => MessageKind::Note,
                    _ => MessageKind::Reply,
                })
                .collect();
            let last_customer = kinds.iter().zip(&times).filter(|(k, _)| **k == MessageKind::Inbound).map(|(_, t)| *t).next_back();
            let agent_times: Vec<i64> = kinds.iter().zip(&times).filter(|(k, _)| **k == MessageKind::Reply).map(|(_, t)| *t).collect();
            let last = *times.last().unwrap_or(&created);
            let updated = last + 60_000_000 * (1 + i as i64 % 30);
            let solved_at = matches!(status, TicketStatus::Solved | TicketStatus::Closed).then_some(updated);
            let closed_at = (status == TicketStatus::Closed).then_some(updated);
            // On hold for three days after the last change; one still on hold today is snoozed
            // into the future (1–14 days), as a running server would have woken it otherwise.
            let snoozed = (status == TicketStatus::OnHold).then(|| (updated + 3 * 86_400_000_000).max(now + (1 + i as i64 % 14) * 86_400_000_000));
            // One version per message, plus the status change for anything past `new`.
            let version = m.max(1) + i64::from(status != TicketStatus::New);
            let language = ["en", "en", "fr", "pl", "ru", "en", "de"][(i as usize) % 7];
            let category = if inbox.id == inboxes[0].id { "support" } else { "sales" };
            rows.push(vec![
                number.into(),
                subject.into(),
                status.as_str().into(),
                priority.as_str().into(),
                inbox.id.into(),
                team.into(),
                assignee.map(|a| a.id).into(),
                contact_ids[contact].into(),
                json(&tags).into(),
                category.into(),
                language.into(),
                created.into(),
                updated.into(),
                agent_times.first().copied().into(),
                last_customer.into(),
                agent_times.last().copied().into(),
                solved_at.into(),
                closed_at.into(),
                snoozed.into(),
                None::<i64>.into(),
                version.into(),
            ]);
            plans.push((number, inbox, worker, contact, tags, kinds, times, subject));
        }
        let returned: Vec<IdNumberRow> = insert_returning(store, conn, &tickets_insert, rows, per_statement, max_params, &mut report.statements).await?;
        let ids: HashMap<i64, i64> = returned.into_iter().map(|r| (r.number, r.id)).collect();
        report.tickets += batch;

        // Tags, messages and the creation events.
        let mut tag_rows = Vec::new();
        let mut message_rows = Vec::with_capacity((batch as usize) * m as usize);
        let mut event_rows = Vec::with_capacity(batch as usize);
        for (number, inbox, worker, contact, tags, kinds, times, subject) in &plans {
            let id = *ids.get(number).ok_or(StoreError::NotFound("ticket"))?;
            for tag in tags {
                tag_rows.push(vec![id.into(), tag.clone().into()]);
            }
            let contact_id = contact_ids[*contact];
            let contact_name = &contact_names[*contact];
            let mut references: Vec<String> = Vec::new();
            for (j, (kind, at)) in kinds.iter().zip(times).enumerate() {
                let (author_kind, author_id, author_name, body, message_id, delivery) = match kind {
                    MessageKind::Inbound => {
                        let body = if j == 0 { INBOUND_BODIES[(*number as usize) % INBOUND_BODIES.len()] } else { FOLLOW_UPS[(*number as usize + j) % FOLLOW_UPS.len()] };
                        let mid = format!("<m{number}.{j}@mail.{}>", contact_emails[*contact].rsplit_once('@').map_or("example.com", |(_, d)| d));
                        ("contact", Some(contact_id), contact_name.clone(), format!("{body}\n{contact_name}"), mid, None)
                    }
                    MessageKind::Reply => {
                        let agent = worker.ok_or(StoreError::NotFound("agent"))?;
                        let body = REPLY_BODIES[(*number as usize) % REPLY_BODIES.len()];
                        let mid = format!("<t{number}.{:016x}@{}>", (*number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ j as u64, inbox.domain);
                        ("user", Some(agent.id), agent.name.clone(), format!("{body}\n{}", agent.name), mid, Some("sent"))
                    }
                    _ => {
                        let (id, name) = worker.map_or((None, "Tandem".to_owned()), |a| (Some(a.id), a.name.clone()));
                        ("user", id, name, NOTE_BODY.to_owned(), String::new(), None)
                    }
                };
                let is_note = message_id.is_empty();
                message_rows.push(vec![
                    id.into(),
                    kind.as_str().into(),
                    author_kind.into(),
                    author_id.into(),
                    author_name.into(),
                    body.into(),
                    None::<String>.into(),
                    if is_note { None } else { Some(message_id.clone()) }.into(),
                    if is_note { None } else { references.last().cloned() }.into(),
                    json(&if is_note { Vec::new() } else { references.clone() }).into(),
                    delivery.into(),
                    (j as i64 + 1).into(),
                    (*at).into(),
                ]);
                if !is_note {
                    references.push(message_id);
                }
            }
            let after = serde_json::json!({ "number": number, "subject": subject, "inbox_id": inbox.id, "contact_id": contact_id, "via": "bulk" });
            event_rows.push(vec![
                id.into(),
                "system".into(),
                None::<i64>.into(),
                "Tandem".into(),
                "ticket.created".into(),
                None::<String>.into(),
                "null".into(),
                after.to_string().into(),
                times[0].into(),
            ]);
        }
        report.tags += tag_rows.len() as u64;
        report.messages += message_rows.len() as u64;
        report.events += event_rows.len() as u64;
        insert_rows(store, conn, &tags_insert, tag_rows, per_statement, max_params, &mut report.statements).await?;
        insert_rows(store, conn, &messages_insert, message_rows, per_statement, max_params, &mut report.statements).await?;
        insert_rows(store, conn, &events_insert, event_rows, per_statement, max_params, &mut report.statements).await?;
        // The search index follows in the same transaction, like every other ticket write.
        let mut written: Vec<i64> = ids.values().copied().collect();
        written.sort_unstable();
        for chunk in written.chunks(500) {
            crate::search::index::index_tickets(db, conn, chunk).await?;
        }

        done += batch;
        if done == spec.tickets {
            // The counter moves once, with the last batch: numbering stays sequential.
            conn.execute_raw(db.stmt(
                "UPDATE counters SET value = ? WHERE name = 'ticket_number'",
                vec![(first_number + spec.tickets as i64).into()],
            ))
            .await?;
            report.statements += 1;
        }
        tx.commit().await?;
        report.transactions += 1;
    }
    report.elapsed = started.elapsed();
    if spec.analyze && db.is_postgres() {
        let analyzing = Instant::now();
        conn.execute_unprepared("VACUUM ANALYZE").await?;
        report.analyze = analyzing.elapsed();
    }
    Ok(report)
}

/// Splits `rows` into multi-row INSERT statements, as large as the chunk size and the bind
/// limit allow: `(sql, values)` for each.
fn statements(insert: &Insert, rows: Vec<Vec<Value>>, per_statement: usize, max_params: usize) -> Vec<(String, Vec<Value>)> {
    let chunk = per_statement.min(max_params / insert.columns).max(1);
    let tuple = crate::db::value_rows(insert.columns, 1);
    let mut out = Vec::with_capacity(rows.len().div_ceil(chunk));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut values = Vec::with_capacity(chunk * insert.columns);
        let mut sql = String::with_capacity(insert.head.len() + chunk * (tuple.len() + 2) + 32);
        sql.push_str(insert.head);
        for (k, row) in rows.by_ref().take(chunk).enumerate() {
            debug_assert_eq!(row.len(), insert.columns);
            if k > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&tuple);
            values.extend(row);
        }
        if let Some(returning) = insert.returning {
            sql.push_str(returning);
        }
        out.push((sql, values));
    }
    out
}

async fn insert_rows(store: &Store, conn: &impl ConnectionTrait, insert: &Insert, rows: Vec<Vec<Value>>, per_statement: usize, max_params: usize, count: &mut u64) -> Result<()> {
    for (sql, values) in statements(insert, rows, per_statement, max_params) {
        conn.execute_raw(store.db.stmt(&sql, values)).await?;
        *count += 1;
    }
    Ok(())
}

async fn insert_returning<T: FromQueryResult>(
    store: &Store,
    conn: &impl ConnectionTrait,
    insert: &Insert,
    rows: Vec<Vec<Value>>,
    per_statement: usize,
    max_params: usize,
    count: &mut u64,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(rows.len());
    for (sql, values) in statements(insert, rows, per_statement, max_params) {
        out.extend(query_all::<T, _>(conn, store.db.stmt(&sql, values)).await?);
        *count += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_respect_the_bind_limit() {
        let insert = Insert { head: "INSERT INTO t (a, b, c) VALUES ", columns: 3, returning: Some(" RETURNING id") };
        let rows: Vec<Vec<Value>> = (0..10).map(|i: i64| vec![i.into(), i.into(), i.into()]).collect();
        let out = statements(&insert, rows, 4, 9);
        assert_eq!(out.iter().map(|(_, v)| v.len()).collect::<Vec<_>>(), vec![9, 9, 9, 3]);
        assert_eq!(out[3].0, "INSERT INTO t (a, b, c) VALUES (?, ?, ?) RETURNING id");
        assert!(out[0].0.starts_with("INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?) RETURNING"));
    }

    #[test]
    fn statuses_cover_the_lifecycle() {
        for status in [TicketStatus::New, TicketStatus::Open, TicketStatus::Pending, TicketStatus::OnHold, TicketStatus::Solved, TicketStatus::Closed, TicketStatus::Spam] {
            assert!(STATUS_CYCLE.contains(&status), "{status}");
        }
        const { assert!(PG_MAX_PARAMS / 21 >= 500 && SQLITE_MAX_PARAMS / 21 >= 500) };
    }
}
