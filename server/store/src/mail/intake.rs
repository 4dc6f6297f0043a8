//! Raw inbound mail → tickets. See the module docs of `mail` for the two steps.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use tandem_domain::{policy::Action, ticket, validate};
use tandem_mail::{Inbound, Nature, ParseError, thread};
use tandem_proto::{self as proto, ActorKind, IntakeState, MessageKind, Priority};

use crate::{
    Store,
    attachments::{insert_blob_row, insert_blob_rows},
    db::{Batch, Db, WriteTx, from_micros, marks, opt_from_micros, query_all, query_one, to_micros, value_rows},
    error::{Result, StoreError},
    events::{NewEvent, Who, change_events, push_events, record},
    rows::{IdRow, parse, parse_json},
    tickets::{authorize_ticket, load_ticket, write::{Copies, MailExtras, NewMessage, NewTicket, insert_message, insert_ticket, next_number, save_state_before_message}},
};

/// The outcome of recording a raw message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    /// The same message had been recorded before (same Message-ID in this inbox, or the same bytes).
    pub duplicate: bool,
}

/// What applying a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub inbound_id: i64,
    pub state: IntakeState,
    pub ticket_number: Option<i64>,
    /// The message row created on the ticket.
    pub message_row_id: Option<i64>,
    /// A new customer message, and the server runs plugins: the message is marked for the
    /// plugin pipeline, which should run on it now.
    pub run_pipeline: bool,
}

/// What [`Store::apply_inbound_many`] did with a group of messages.
#[derive(Debug)]
pub struct GroupApplied {
    /// The outcomes of the messages applied, in the group's order: all of them, unless
    /// `error` stopped the rest.
    pub outcomes: Vec<IntakeOutcome>,
    /// Why the messages after `outcomes` were not applied (nothing of them is written).
    pub error: Option<StoreError>,
}

impl GroupApplied {
    /// All the outcomes, or the error if one stopped the group.
    pub fn into_result(self) -> Result<Vec<IntakeOutcome>> {
        match self.error {
            None => Ok(self.outcomes),
            Some(error) => Err(error),
        }
    }
}

/// The address used when a message names no sender at all.
const UNKNOWN_SENDER: &str = "unknown-sender@sender.invalid";
const MAX_SUBJECT: usize = validate::MAX_SUBJECT_CHARS;
/// Intake entries recorded by one statement (nine values each, well under either backend's
/// limit on a statement's values).
const RECORD_ROWS: usize = 100;

#[derive(Debug, Clone, FromQueryResult)]
struct InboundRow {
    id: i64,
    inbox_id: i64,
    state: String,
    detail: Option<String>,
    message_id_header: Option<String>,
    sha256: String,
    size: i64,
    source: String,
    source_ref: Option<String>,
    ticket_number: Option<i64>,
    message_row_id: Option<i64>,
    received_at: i64,
    processed_at: Option<i64>,
}

/// What [`Store::apply_inbound_many`] reads for a whole group before applying it.
struct GroupLookups {
    /// Intake entries by id, each taken by the first message that applies it.
    entries: HashMap<i64, InboundRow>,
    /// The group's Message-IDs that are our own replies or auto-replies.
    outbound: HashSet<String>,
}

const INBOUND_SELECT: &str = "SELECT im.id, im.inbox_id, im.state, im.detail, im.message_id_header, im.sha256, im.size, im.source, \
    im.source_ref, t.number AS ticket_number, im.message_row_id, im.received_at, im.processed_at \
    FROM inbound_mail im LEFT JOIN tickets t ON t.id = im.ticket_id";

impl IntakeOutcome {
    /// An outcome that added no message (unparseable, loop, bounce, auto-reply without ticket).
    fn without_message(inbound_id: i64, state: IntakeState, ticket_number: Option<i64>) -> IntakeOutcome {
        IntakeOutcome { inbound_id, state, ticket_number, message_row_id: None, run_pipeline: false }
    }
}

impl InboundRow {
    fn into_proto(self) -> Result<proto::InboundMail> {
        Ok(proto::InboundMail {
            id: self.id,
            inbox_id: self.inbox_id,
            state: parse("inbound_mail", "state", &self.state)?,
            detail: self.detail,
            message_id: self.message_id_header,
            sha256: self.sha256,
            size: self.size,
            source: self.source,
            source_ref: self.source_ref,
            ticket_number: self.ticket_number,
            received_at: from_micros(self.received_at),
            processed_at: opt_from_micros(self.processed_at),
        })
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A body the ticket can hold: never empty, at most the domain's body limit.
fn body_of(text: &str) -> (String, bool) {
    let text = text.trim_end();
    if text.trim().is_empty() {
        return ("(no text)".to_owned(), false);
    }
    if text.len() <= validate::MAX_BODY_BYTES {
        return (text.to_owned(), false);
    }
    let mut cut = validate::MAX_BODY_BYTES - 200;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (format!("{}\n\n[… the text was cut at {cut} bytes; the whole message is kept in its raw form]", &text[..cut]), true)
}

fn mail_address(a: &tandem_mail::MailAddress) -> proto::MailAddress {
    proto::MailAddress { email: a.email.clone(), name: a.name.clone() }
}

fn mail_info(m: &Inbound, inbound_id: i64) -> proto::MailInfo {
    proto::MailInfo {
        subject: m.subject.clone(),
        from: m.from.as_ref().map(mail_address),
        to: m.to.iter().map(mail_address).collect(),
        cc: m.cc.iter().map(mail_address).collect(),
        nature: m.nature.label().to_owned(),
        has_remote_content: m.html.as_ref().is_some_and(|h| h.remote.is_some()),
        folded_from: m.folded_from.map(|f| f as u64),
        skipped_parts: m
            .skipped
            .iter()
            .map(|s| proto::SkippedPart { filename: s.filename.clone(), content_type: s.content_type.clone(), size: s.size as i64, reason: s.reason.clone() })
            .collect(),
        forwarded: m
            .forwarded
            .iter()
            .map(|f| proto::ForwardedMessage { subject: f.subject.clone(), from: f.from.as_ref().map(mail_address), message_id: f.message_id.clone(), text: f.text.clone() })
            .collect(),
        inbound_id: Some(inbound_id),
    }
}

impl Store {
    /// Step one: writes the raw message to the blob store and records it, committed before
    /// anything parses it. A message seen before in this inbox (same Message-ID, or the same
    /// bytes when it has none) is not recorded twice.
    pub async fn record_inbound(&self, inbox_id: i64, raw: &[u8], source: &str, source_ref: Option<&str>) -> Result<Recorded> {
        let sha256 = self.blobs.put_off_thread(raw).await?;
        let mut recorded = self.record_rows(inbox_id, &[(raw, source_ref)], &[sha256], source).await?;
        recorded.pop().ok_or(StoreError::NotFound("inbound mail"))
    }

    /// Step one for several messages at once (an IMAP fetch batch): the blobs share one
    /// durability barrier and the rows one transaction.
    pub async fn record_inbound_batch(&self, inbox_id: i64, items: &[(&[u8], Option<&str>)], source: &str) -> Result<Vec<Recorded>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let raws: Vec<Vec<u8>> = items.iter().map(|(raw, _)| raw.to_vec()).collect();
        let shas = self.blobs.put_many_off_thread(raws).await?;
        self.record_rows(inbox_id, items, &shas, source).await
    }

    /// Records the rows of messages whose blobs are written: a few statements for a whole
    /// batch (blob rows, then intake entries, up to [`RECORD_ROWS`] to a statement), not two
    /// a message. A message whose dedupe key is taken (recorded before, or earlier in the same
    /// batch) answers the entry that holds it, as a duplicate.
    async fn record_rows(&self, inbox_id: i64, items: &[(&[u8], Option<&str>)], shas: &[String], source: &str) -> Result<Vec<Recorded>> {
        self.db.on_writer_cpu(async {
            let now = self.now_micros();
            let tx = self.db.write_background().await?;
            self.inbox_exists(&tx.tx, inbox_id).await?;
            let mut out = Vec::with_capacity(items.len());
            for (items, shas) in items.chunks(RECORD_ROWS).zip(shas.chunks(RECORD_ROWS)) {
                let blobs: Vec<(&str, usize)> = items.iter().zip(shas).map(|((raw, _), sha)| (sha.as_str(), raw.len())).collect();
                insert_blob_rows(&self.db, &tx.tx, &blobs, now).await?;
                let keyed: Vec<(Option<String>, String)> = items
                    .iter()
                    .zip(shas)
                    .map(|((raw, _), sha256)| {
                        let message_id = tandem_mail::peek_message_id(raw);
                        let dedupe_key = match &message_id {
                            Some(id) => format!("mid:{id}"),
                            None => format!("sha:{sha256}"),
                        };
                        (message_id, dedupe_key)
                    })
                    .collect();
                let mut values = Vec::with_capacity(items.len() * 9);
                for (((raw, source_ref), sha256), (message_id, dedupe_key)) in items.iter().zip(shas).zip(&keyed) {
                    values.extend([
                        inbox_id.into(),
                        dedupe_key.clone().into(),
                        message_id.clone().into(),
                        sha256.clone().into(),
                        (raw.len() as i64).into(),
                        source.to_owned().into(),
                        source_ref.map(str::to_owned).into(),
                        IntakeState::Received.as_str().into(),
                        now.into(),
                    ]);
                }
                #[derive(FromQueryResult)]
                struct KeyRow {
                    id: i64,
                    dedupe_key: String,
                }
                let inserted: Vec<KeyRow> = query_all(
                    &tx.tx,
                    self.db.stmt(
                        &format!(
                            "INSERT INTO inbound_mail (inbox_id, dedupe_key, message_id_header, sha256, size, source, source_ref, state, received_at) \
                             VALUES {} ON CONFLICT (inbox_id, dedupe_key) DO NOTHING RETURNING id, dedupe_key",
                            value_rows(9, items.len())
                        ),
                        values,
                    ),
                )
                .await?;
                // Each key inserted now goes to the first message that has it; the others (and the
                // keys recorded before) are duplicates of the entry holding it.
                let mut fresh: HashMap<String, i64> = inserted.into_iter().map(|r| (r.dedupe_key, r.id)).collect();
                let mut held: HashMap<String, i64> = HashMap::new();
                let taken: Vec<&str> = keyed.iter().map(|(_, k)| k.as_str()).filter(|k| !fresh.contains_key(*k)).collect();
                if !taken.is_empty() {
                    let mut values = vec![inbox_id.into()];
                    values.extend(taken.iter().map(|k| (*k).to_owned().into()));
                    let rows: Vec<KeyRow> = query_all(
                        &tx.tx,
                        self.db.stmt(&format!("SELECT id, dedupe_key FROM inbound_mail WHERE inbox_id = ? AND dedupe_key IN ({})", marks(taken.len())), values),
                    )
                    .await?;
                    held.extend(rows.into_iter().map(|r| (r.dedupe_key, r.id)));
                }
                for (_, key) in keyed {
                    out.push(match fresh.remove(&key) {
                        Some(id) => {
                            held.insert(key, id);
                            Recorded { id, duplicate: false }
                        }
                        None => Recorded { id: *held.get(&key).ok_or(StoreError::NotFound("inbound mail"))?, duplicate: true },
                    });
                }
            }
            tx.commit().await?;
            Ok(out)
        })
        .await
    }

    /// Raw messages recorded but not processed yet (after a crash), oldest first.
    pub async fn pending_inbound(&self, limit: u64) -> Result<Vec<proto::InboundMail>> {
        let rows: Vec<InboundRow> = query_all(
            self.db.connection(),
            self.db.stmt(&format!("{INBOUND_SELECT} WHERE im.state = 'received' ORDER BY im.id LIMIT ?"), vec![(limit as i64).into()]),
        )
        .await?;
        rows.into_iter().map(InboundRow::into_proto).collect()
    }

    /// One intake log entry (trusted callers).
    pub async fn inbound(&self, id: i64) -> Result<proto::InboundMail> {
        let row: Option<InboundRow> = query_one(self.db.connection(), self.db.stmt(&format!("{INBOUND_SELECT} WHERE im.id = ?"), vec![id.into()])).await?;
        row.ok_or(StoreError::NotFound("inbound mail"))?.into_proto()
    }

    /// The intake log of an inbox, newest first (admins): every raw message and what became of it.
    pub async fn list_inbound(&self, actor: &tandem_domain::Actor, inbox_id: i64, state: Option<IntakeState>, before_id: Option<i64>, limit: u32) -> Result<proto::Page<proto::InboundMail>> {
        tandem_domain::policy::authorize(actor, tandem_domain::policy::Action::ManageInboxes)?;
        let limit = limit.clamp(1, 200);
        let mut sql = format!("{INBOUND_SELECT} WHERE im.inbox_id = ?");
        let mut values: Vec<sea_orm::Value> = vec![inbox_id.into()];
        if let Some(s) = state {
            sql.push_str(" AND im.state = ?");
            values.push(s.as_str().into());
        }
        if let Some(b) = before_id {
            sql.push_str(" AND im.id < ?");
            values.push(b.into());
        }
        sql.push_str(" ORDER BY im.id DESC LIMIT ?");
        values.push(i64::from(limit + 1).into());
        let mut rows: Vec<InboundRow> = query_all(self.db.connection(), self.db.stmt(&sql, values)).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| r.id.to_string()) } else { None };
        Ok(proto::Page { items: rows.into_iter().map(InboundRow::into_proto).collect::<Result<_>>()?, next_cursor })
    }

    /// The raw bytes of an intake entry (admins; trusted callers pass `None`).
    pub async fn inbound_raw(&self, actor: Option<&tandem_domain::Actor>, id: i64) -> Result<Vec<u8>> {
        if let Some(actor) = actor {
            tandem_domain::policy::authorize(actor, tandem_domain::policy::Action::ManageInboxes)?;
        }
        let entry = self.inbound(id).await?;
        self.blobs.get_off_thread(&entry.sha256).await
    }

    /// Step two: applies a parsed message (or records why it could not be parsed) in one
    /// transaction. Applying an entry that is no longer `received` changes nothing.
    ///
    /// `pipeline`: whether the plugin pipeline runs on new customer messages afterwards (the
    /// server: yes; an import with `--no-plugins`: no). Such a message is marked
    /// `pipeline_pending` in this transaction, and the pipeline's write clears the mark.
    pub async fn apply_inbound(&self, id: i64, parsed: std::result::Result<&Inbound, &ParseError>, pipeline: bool) -> Result<IntakeOutcome> {
        let mut outcomes = self.apply_inbound_many(&[(id, parsed)], &move |_| pipeline).await.into_result()?;
        outcomes.pop().ok_or(StoreError::NotFound("inbound mail"))
    }

    /// [`Store::apply_inbound`] for several recorded messages, in order, in as few transactions
    /// as an agent's click allows (an IMAP batch: one `BEGIN` and `COMMIT` for them all, and
    /// pages several of them change written once). When an agent's write waits for SQLite's
    /// writer, the transaction commits after the message in progress and the rest go on in a
    /// new one after that write (an agent waits for one message, not for a group of fifty).
    /// If one fails, nothing of its transaction is written: the answer then holds the
    /// outcomes of the messages committed before it and the error, and the caller applies the
    /// rest one at a time. `pipeline` answers, for the inbox of the ticket a new customer
    /// message lands on, whether the plugin pipeline runs on it (some enabled plugin covers
    /// that inbox): only then is the message marked.
    pub async fn apply_inbound_many(&self, items: &[(i64, std::result::Result<&Inbound, &ParseError>)], pipeline: &(dyn Fn(i64) -> bool + Sync)) -> GroupApplied {
        self.apply_group(items, pipeline, &|| self.db.foreground_waiting()).await
    }

    /// [`Store::apply_inbound_many`], its transaction ending after any message for which
    /// `yield_now` answers true (and more messages are left).
    async fn apply_group(
        &self,
        items: &[(i64, std::result::Result<&Inbound, &ParseError>)],
        pipeline: &(dyn Fn(i64) -> bool + Sync),
        yield_now: &(dyn Fn() -> bool + Sync),
    ) -> GroupApplied {
        // Attachment blobs are written before the transactions that point to them, the group's
        // together (one durability barrier).
        let attached: Vec<Vec<u8>> = items.iter().filter_map(|(_, parsed)| parsed.ok()).flat_map(|m| m.attachments.iter().map(|a| a.bytes.clone())).collect();
        let shas = match attached.is_empty() {
            true => Ok(Vec::new()),
            false => self.blobs.put_many_off_thread(attached).await,
        };
        let mut shas = match shas {
            Ok(shas) => shas.into_iter(),
            Err(error) => return GroupApplied { outcomes: Vec::new(), error: Some(error) },
        };
        let blobs: Vec<Vec<String>> = items.iter().map(|(_, parsed)| parsed.map_or(0, |m| m.attachments.len())).map(|n| shas.by_ref().take(n).collect()).collect();
        let mut outcomes = Vec::with_capacity(items.len());
        while outcomes.len() < items.len() {
            let (rest, rest_blobs) = (&items[outcomes.len()..], &blobs[outcomes.len()..]);
            let part = self
                .db
                .on_writer_cpu(async {
                    let tx = self.db.write_background().await?;
                    let mut looked_up = self.look_up_group(&tx, rest).await?;
                    let mut part = Vec::with_capacity(rest.len());
                    for ((id, parsed), blobs) in rest.iter().zip(rest_blobs) {
                        part.push(self.apply_in(&tx, *id, *parsed, blobs, pipeline, &mut looked_up).await?);
                        if part.len() < rest.len() && yield_now() {
                            break;
                        }
                    }
                    tx.commit().await?;
                    Ok(part)
                })
                .await;
            match part {
                Ok(part) => outcomes.extend(part),
                Err(error) => return GroupApplied { outcomes, error: Some(error) },
            }
        }
        GroupApplied { outcomes, error: None }
    }

    /// What every message of a group needs read first, read for the group at once: its intake
    /// entry, and which of the group's Message-IDs are our own outbound mail (applying inbound
    /// mail writes no outbound, so this holds for the whole transaction).
    async fn look_up_group(&self, tx: &WriteTx, items: &[(i64, std::result::Result<&Inbound, &ParseError>)]) -> Result<GroupLookups> {
        let ids: Vec<sea_orm::Value> = items.iter().map(|(id, _)| (*id).into()).collect();
        let rows: Vec<InboundRow> = query_all(
            &tx.tx,
            self.db.stmt(&format!("{INBOUND_SELECT} WHERE im.id IN ({}){}", marks(ids.len()), self.db.for_update_of("im")), ids),
        )
        .await?;
        let message_ids: Vec<sea_orm::Value> = items.iter().filter_map(|(_, p)| p.ok()?.message_id.clone()).map(Into::into).collect();
        let mut outbound = HashSet::new();
        if !message_ids.is_empty() {
            #[derive(FromQueryResult)]
            struct Row {
                message_id: String,
            }
            let rows: Vec<Row> = query_all(
                &tx.tx,
                self.db.stmt(&format!("SELECT message_id FROM messages WHERE message_id IN ({}) AND kind IN ('reply', 'auto_reply')", marks(message_ids.len())), message_ids),
            )
            .await?;
            outbound.extend(rows.into_iter().map(|r| r.message_id));
        }
        Ok(GroupLookups { entries: rows.into_iter().map(|r| (r.id, r)).collect(), outbound })
    }

    /// Applies one recorded message inside `tx`.
    async fn apply_in(
        &self,
        tx: &WriteTx,
        id: i64,
        parsed: std::result::Result<&Inbound, &ParseError>,
        blobs: &[String],
        pipeline: &(dyn Fn(i64) -> bool + Sync),
        looked_up: &mut GroupLookups,
    ) -> Result<IntakeOutcome> {
        let now = self.clock.now();
        let at = to_micros(now);
        // The entry as the group read it; read again when the group has the message twice (a
        // second delivery in the same batch: the first may have processed it meanwhile).
        let entry = match looked_up.entries.remove(&id) {
            Some(entry) => Some(entry),
            None => query_one(&tx.tx, self.db.stmt(&format!("{INBOUND_SELECT} WHERE im.id = ?{}", self.db.for_update_of("im")), vec![id.into()])).await?,
        };
        let entry = entry.ok_or(StoreError::NotFound("inbound mail"))?;
        if entry.state != IntakeState::Received.as_str() {
            return Ok(IntakeOutcome {
                inbound_id: id,
                state: parse("inbound_mail", "state", &entry.state)?,
                ticket_number: entry.ticket_number,
                message_row_id: entry.message_row_id,
                run_pipeline: false,
            });
        }
        let m = match parsed {
            Ok(m) => m,
            Err(e) => {
                let outcome = IntakeOutcome::without_message(id, IntakeState::Unparseable, None);
                finish(&self.db, &tx.tx, id, &outcome, None, Some(format!("cannot be parsed: {e}")), at).await?;
                return Ok(outcome);
            }
        };
        let system = Who::system();

        // Our own mail coming back (a forward loop, a misconfigured alias).
        let ours = self.our_addresses(tx).await?;
        let from_ours = m.from.as_ref().is_some_and(|f| ours.contains(&thread::base_address(&f.email)));
        let known_outbound = m.message_id.as_ref().is_some_and(|mid| looked_up.outbound.contains(mid));
        if known_outbound || (from_ours && m.header("x-tandem-ticket").is_some()) {
            let outcome = IntakeOutcome::without_message(id, IntakeState::Loop, None);
            finish(&self.db, &tx.tx, id, &outcome, None, Some("our own outbound mail came back; ignored".into()), at).await?;
            return Ok(outcome);
        }

        // Bounces mark the failed outbound message and never open a ticket.
        if let Nature::Bounce(b) = &m.nature {
            #[derive(FromQueryResult)]
            struct Target {
                id: i64,
                ticket_id: i64,
                number: i64,
                cc_json: String,
                bcc_json: String,
                delivery_error: Option<String>,
            }
            let target: Option<Target> = match &b.original_message_id {
                Some(orig) => query_one(&tx.tx, self.db.stmt(
                    "SELECT m.id, m.ticket_id, t.number, m.cc_json, m.bcc_json, m.delivery_error FROM messages m JOIN tickets t ON t.id = m.ticket_id \
                     WHERE m.message_id = ? AND m.kind IN ('reply', 'auto_reply') ORDER BY m.id DESC LIMIT 1",
                    vec![orig.clone().into()],
                )).await?,
                None => None,
            };
            let summary = format!(
                "{}{}: {}",
                b.status.as_deref().map(|s| format!("{s} ")).unwrap_or_default(),
                b.recipient.as_deref().unwrap_or("recipient unknown"),
                b.diagnostic
            );
            let (ticket_id, number) = match &target {
                Some(t) => {
                    // A copy's bounce: the contact has the reply, which stays sent (a "send
                    // again" would give them a second one); the copy's failure is said on it.
                    let cc: Vec<proto::MailAddress> = parse_json("messages", "cc_json", &t.cc_json)?;
                    let bcc: Vec<proto::MailAddress> = parse_json("messages", "bcc_json", &t.bcc_json)?;
                    let copy = b.recipient.as_deref().map(thread::base_address).is_some_and(|r| cc.iter().chain(&bcc).any(|a| thread::base_address(&a.email) == r));
                    if b.is_failure() && copy {
                        let error = match &t.delivery_error {
                            Some(before) => format!("{before}; not delivered to {summary}"),
                            None => format!("not delivered to {summary}"),
                        };
                        tx.tx.execute_raw(self.db.stmt("UPDATE messages SET delivery_error = ? WHERE id = ?", vec![error.into(), t.id.into()])).await?;
                    } else if b.is_failure() {
                        tx.tx.execute_raw(self.db.stmt("UPDATE messages SET delivery_state = 'failed', delivery_error = ? WHERE id = ?", vec![summary.clone().into(), t.id.into()])).await?;
                        tx.tx.execute_raw(self.db.stmt("UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ? WHERE message_row_id = ?", vec![summary.clone().into(), at.into(), t.id.into()])).await?;
                    }
                    record(&self.db, &tx.tx, &system, at, NewEvent {
                        ticket_id: Some(t.ticket_id),
                        kind: "message.bounced",
                        field: None,
                        before: serde_json::Value::Null,
                        after: json!({ "message_id": t.id, "inbound_id": id, "recipient": b.recipient, "action": b.action, "status": b.status, "diagnostic": b.diagnostic, "failed": b.is_failure(), "copy": copy }),
                    })
                    .await?;
                    (Some(t.ticket_id), Some(t.number))
                }
                None => (None, None),
            };
            let detail = match &target {
                Some(_) => summary,
                None => format!("{summary} (for a message Tandem did not send, or that it cannot identify)"),
            };
            let outcome = IntakeOutcome::without_message(id, IntakeState::Bounce, number);
            finish(&self.db, &tx.tx, id, &outcome, ticket_id, Some(detail), at).await?;
            return Ok(outcome);
        }

        // The sender becomes (or is) a contact.
        let (email, name) = match &m.from {
            Some(f) if validate::email("from", &f.email).is_ok() => (f.email.clone(), f.name.clone()),
            Some(f) => (UNKNOWN_SENDER.to_owned(), Some(truncate_chars(&f.email, 200))),
            None => (UNKNOWN_SENDER.to_owned(), Some("Unknown sender".to_owned())),
        };
        let (contact_id, contact_name) = self
            .find_or_create_contact(&tx.tx, &system, &proto::ContactInput { email, name: name.map(|n| truncate_chars(&n, validate::MAX_NAME_CHARS)) })
            .await?;
        let contact = Who { kind: ActorKind::Contact, id: Some(contact_id), name: contact_name };

        let threaded = self.find_thread(&tx.tx, entry.inbox_id, m, contact_id).await?;
        let (body_text, _cut) = body_of(&m.text);
        let extras = MailExtras {
            subject: Some(truncate_chars(&m.subject, MAX_SUBJECT)),
            body_html_remote: m.html.as_ref().and_then(|h| h.remote.clone()),
            folded_from: m.folded_from.filter(|&f| f < body_text.len()).map(|f| f as i64),
            info: Some(mail_info(m, id)),
            headers: Some(m.plugin_headers()),
        };
        let new_message = |ticket_id: i64, version: i64, pipeline_pending: bool| NewMessage {
            ticket_id,
            kind: MessageKind::Inbound,
            author: &contact,
            body_text: body_text.clone(),
            body_html: m.html.as_ref().map(|h| h.blocked.clone()),
            message_id: m.message_id.clone(),
            in_reply_to: m.in_reply_to.first().cloned(),
            references: m.references.iter().rev().take(50).rev().cloned().collect(),
            delivery_state: None,
            ticket_version: version,
            mail: Some(extras.clone()),
            pipeline_pending,
            copies: Copies::default(),
        };

        let mut follow_up_of = None;
        if let Some(number) = threaded {
            let row = load_ticket(&self.db, &tx.tx, number, true).await?;
            let mut state = row.state()?;
            if state.status == proto::TicketStatus::Closed {
                follow_up_of = Some(row);
            } else {
                let automatic = !matches!(m.nature, Nature::Person | Nature::Bulk { .. });
                let changes = if automatic { Vec::new() } else { ticket::on_customer_message(&mut state, now)? };
                let version = save_state_before_message(&self.db, tx, row.id, row.version, &state, at).await?;
                // The ticket's inbox: a reply may follow a merge into another inbox's ticket.
                let run_pipeline = !automatic && pipeline(row.inbox_id);
                // The last writes (events and the intake entry) go in one batch.
                let mut tail = Batch::new(&self.db);
                let (message_row_id, added) = self.add_mail_message(tx, at, id, m, blobs, new_message(row.id, version, run_pipeline)).await?;
                let mut events = vec![added];
                events.extend(change_events(row.id, &changes));
                push_events(&mut tail, &contact, at, &events);
                let outcome = IntakeOutcome { inbound_id: id, state: IntakeState::Reply, ticket_number: Some(number), message_row_id: Some(message_row_id), run_pipeline };
                push_finish(&mut tail, id, &outcome, Some(row.id), None, at);
                tail.run(&tx.tx).await?;
                return Ok(outcome);
            }
        }

        if let Nature::AutoReply { reason } = &m.nature {
            let outcome = IntakeOutcome::without_message(id, IntakeState::AutoReply, None);
            finish(&self.db, &tx.tx, id, &outcome, None, Some(format!("automatic reply ({reason}) matching no open ticket: no ticket opened")), at).await?;
            return Ok(outcome);
        }

        // A new ticket.
        let number = next_number(&self.db, &tx.tx).await?;
        let subject = {
            let s = truncate_chars(m.subject.trim(), MAX_SUBJECT);
            if s.is_empty() { "(no subject)".to_owned() } else { s }
        };
        let tags: Vec<String> = if matches!(m.nature, Nature::Bulk { .. }) { vec!["bulk".to_owned()] } else { Vec::new() };
        let ticket_id = insert_ticket(&self.db, tx, at, NewTicket {
            number,
            subject: &subject,
            priority: Priority::Normal,
            inbox_id: entry.inbox_id,
            contact_id,
            tags: &tags,
            category: None,
            language: None,
        })
        .await?;
        // Events go in batches, each sent before the next write that may record one of its own
        // (the SLA refresh can apply a policy), so they stay in order.
        let mut batch = Batch::new(&self.db);
        push_events(&mut batch, &contact, at, &[NewEvent {
            ticket_id: Some(ticket_id),
            kind: "ticket.created",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "number": number, "subject": subject, "inbox_id": entry.inbox_id, "contact_id": contact_id, "via": "email",
                           "inbound_id": id, "follow_up_of": follow_up_of.as_ref().map(|r| r.number) }),
        }]);
        let run_pipeline = pipeline(entry.inbox_id);
        let (message_row_id, added) = self.add_mail_message(tx, at, id, m, blobs, new_message(ticket_id, 1, run_pipeline)).await?;
        push_events(&mut batch, &contact, at, &[added]);
        batch.run(&tx.tx).await?;
        crate::sla::refresh_ticket(&self.db, tx, ticket_id, at).await?;
        if let Some(old) = &follow_up_of {
            push_events(&mut batch, &system, at, &[NewEvent {
                ticket_id: Some(old.id),
                kind: "ticket.follow_up",
                field: None,
                before: serde_json::Value::Null,
                after: json!({ "number": number, "reason": "the customer wrote after the ticket was closed" }),
            }]);
        }
        let outcome = IntakeOutcome { inbound_id: id, state: IntakeState::Ticket, ticket_number: Some(number), message_row_id: Some(message_row_id), run_pipeline };
        let detail = follow_up_of.as_ref().map(|r| format!("follow-up of closed ticket #{}", r.number));
        push_finish(&mut batch, id, &outcome, Some(ticket_id), detail, at);
        batch.run(&tx.tx).await?;
        Ok(outcome)
    }

    /// The ticket a message belongs to, in this order: a Message-ID it refers to (In-Reply-To,
    /// then References) on a ticket of this inbox; our plus-addressed Reply-To; the subject
    /// token, only when the sender already takes part in that ticket; and for a "Re:" without
    /// any threading header, the sender's own open ticket with the same subject. Strangers
    /// never join a ticket by its subject. Merges are followed.
    async fn find_thread<C: ConnectionTrait>(&self, conn: &C, inbox_id: i64, m: &Inbound, contact_id: i64) -> Result<Option<i64>> {
        #[derive(FromQueryResult)]
        struct Found {
            number: i64,
        }
        let mut found: Option<i64> = None;
        for mid in m.thread_ids().into_iter().take(60) {
            let row: Option<Found> = query_one(conn, self.db.stmt(
                "SELECT t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.message_id = ? AND t.inbox_id = ? ORDER BY m.id DESC LIMIT 1",
                vec![mid.to_owned().into(), inbox_id.into()],
            )).await?;
            if let Some(r) = row {
                found = Some(r.number);
                break;
            }
        }
        if found.is_none() {
            for n in m.plus_tokens() {
                let row: Option<Found> = query_one(conn, self.db.stmt("SELECT number FROM tickets WHERE number = ? AND inbox_id = ?", vec![n.into(), inbox_id.into()])).await?;
                if let Some(r) = row {
                    found = Some(r.number);
                    break;
                }
            }
        }
        if found.is_none()
            && let Some(n) = thread::subject_token(&m.subject)
        {
            // Participants: the contact, whoever wrote on the ticket, whoever a reply copied.
            let copied = copy_pattern(m.from.as_ref().map_or("", |f| f.email.as_str()));
            let row: Option<Found> = query_one(conn, self.db.stmt(
                "SELECT t.number FROM tickets t WHERE t.number = ? AND t.inbox_id = ? AND (t.contact_id = ? OR EXISTS \
                 (SELECT 1 FROM messages x WHERE x.ticket_id = t.id AND x.author_kind = 'contact' AND x.author_id = ?) OR EXISTS \
                 (SELECT 1 FROM messages y WHERE y.ticket_id = t.id AND y.kind = 'reply' AND (y.cc_json LIKE ? ESCAPE '\\' OR y.bcc_json LIKE ? ESCAPE '\\')))",
                vec![n.into(), inbox_id.into(), contact_id.into(), contact_id.into(), copied.clone().into(), copied.into()],
            )).await?;
            found = row.map(|r| r.number);
        }
        // A reply without any threading header (some clients send none): the sender's own
        // open ticket in this inbox with the same subject, if they take part in it.
        if found.is_none()
            && m.in_reply_to.is_empty()
            && m.references.is_empty()
            && thread::is_reply_subject(&m.subject)
            && let Some(wanted) = thread::normalize_subject(&m.subject)
        {
            #[derive(FromQueryResult)]
            struct Candidate {
                number: i64,
                subject: String,
            }
            // Starts from the sender's tickets (both lookups indexed), not from the inbox's.
            let candidates: Vec<Candidate> = query_all(conn, self.db.stmt(
                "SELECT t.number, t.subject FROM (SELECT id FROM tickets WHERE contact_id = ? \
                 UNION SELECT ticket_id FROM messages WHERE author_kind = 'contact' AND author_id = ?) p \
                 JOIN tickets t ON t.id = p.id \
                 WHERE t.inbox_id = ? AND t.status NOT IN ('closed', 'spam') AND t.merged_into IS NULL \
                 ORDER BY t.updated_at DESC LIMIT 20",
                vec![contact_id.into(), contact_id.into(), inbox_id.into()],
            )).await?;
            found = candidates.into_iter().find(|c| thread::normalize_subject(&c.subject).as_deref() == Some(wanted.as_str())).map(|c| c.number);
        }
        // Follow merges (bounded: merge chains are short and must not loop).
        let mut number = match found {
            Some(n) => n,
            None => return Ok(None),
        };
        for _ in 0..10 {
            let row = load_ticket(&self.db, conn, number, false).await?;
            match row.merged_into {
                Some(into) if into != number => number = into,
                _ => break,
            }
        }
        Ok(Some(number))
    }

    /// Inserts an inbound mail's message with its attachments. Answers its row id and its
    /// `message.added` event, which the caller records (in a batch with its other writes).
    async fn add_mail_message(&self, tx: &WriteTx, at: i64, inbound_id: i64, m: &Inbound, blobs: &[String], message: NewMessage<'_>) -> Result<(i64, NewEvent<'static>)> {
        let ticket_id = message.ticket_id;
        let message_row_id = insert_message(&self.db, tx, at, message).await?;
        self.store_attachments(&tx.tx, message_row_id, m, blobs, at).await?;
        let event = NewEvent {
            ticket_id: Some(ticket_id),
            kind: "message.added",
            field: None,
            before: serde_json::Value::Null,
            after: json!({ "message_id": message_row_id, "kind": MessageKind::Inbound, "via": "email", "inbound_id": inbound_id, "nature": m.nature.label() }),
        };
        Ok((message_row_id, event))
    }

    /// Attachment rows of an inbound message, and `cid:` references in its HTML pointed at them.
    async fn store_attachments<C: ConnectionTrait>(&self, conn: &C, message_row_id: i64, m: &Inbound, blobs: &[String], at: i64) -> Result<()> {
        let mut cids: Vec<(String, i64)> = Vec::new();
        for (a, sha256) in m.attachments.iter().zip(blobs) {
            insert_blob_row(&self.db, conn, sha256, a.size, at).await?;
            let row: Option<IdRow> = query_one(conn, self.db.stmt(
                "INSERT INTO attachments (message_id, filename, content_type, size, sha256, created_at, content_id, inline) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                vec![
                    message_row_id.into(),
                    crate::safe_filename(&a.filename).into(),
                    a.content_type.clone().into(),
                    (a.size as i64).into(),
                    sha256.clone().into(),
                    at.into(),
                    a.content_id.clone().into(),
                    a.inline.into(),
                ],
            )).await?;
            let attachment_id = row.ok_or(StoreError::NotFound("attachment"))?.id;
            if let Some(cid) = &a.content_id {
                cids.push((cid.clone(), attachment_id));
            }
        }
        if cids.is_empty() || m.html.is_none() {
            return Ok(());
        }
        let rewrite = |html: &str| {
            let mut out = html.to_owned();
            for (cid, id) in &cids {
                out = out.replace(&format!("\"cid:{cid}\""), &format!("\"/api/v1/attachments/{id}\""));
            }
            out
        };
        let html = m.html.as_ref().map(|h| (rewrite(&h.blocked), h.remote.as_deref().map(rewrite)));
        if let Some((blocked, remote)) = html {
            conn.execute_raw(self.db.stmt("UPDATE messages SET body_html = ?, body_html_remote = ? WHERE id = ?", vec![blocked.into(), remote.into(), message_row_id.into()])).await?;
        }
        Ok(())
    }

    /// The sanitised HTML of a message with remote content allowed (an explicit reader's choice).
    pub async fn message_html(&self, actor: &tandem_domain::Actor, message_row_id: i64, remote: bool) -> Result<Option<String>> {
        #[derive(FromQueryResult)]
        struct Row {
            number: i64,
            body_html: Option<String>,
            body_html_remote: Option<String>,
        }
        let conn = self.db.connection();
        let row: Option<Row> = query_one(conn, self.db.stmt(
            "SELECT t.number, m.body_html, m.body_html_remote FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.id = ?",
            vec![message_row_id.into()],
        )).await?;
        let row = row.ok_or(StoreError::NotFound("message"))?;
        // Visibility: the same rule as the ticket (not found when the actor may not see it).
        let ticket = load_ticket(&self.db, conn, row.number, false).await?;
        authorize_ticket(actor, &ticket, Action::ViewTicket { inbox_id: ticket.inbox_id })?;
        Ok(if remote { row.body_html_remote.or(row.body_html) } else { row.body_html })
    }
}

/// Marks the intake entry done.
async fn finish<C: ConnectionTrait>(db: &Db, conn: &C, id: i64, outcome: &IntakeOutcome, ticket_id: Option<i64>, detail: Option<String>, at: i64) -> Result<()> {
    let mut batch = Batch::new(db);
    push_finish(&mut batch, id, outcome, ticket_id, detail, at);
    batch.run(conn).await
}

/// Marks the intake entry done, as one statement of a batch.
fn push_finish(batch: &mut Batch, id: i64, outcome: &IntakeOutcome, ticket_id: Option<i64>, detail: Option<String>, at: i64) {
    batch.push(
        "UPDATE inbound_mail SET state = ?, detail = ?, ticket_id = ?, message_row_id = ?, processed_at = ? WHERE id = ?",
        vec![outcome.state.as_str().into(), detail.into(), ticket_id.into(), outcome.message_row_id.into(), at.into(), id.into()],
    );
}

/// A `LIKE` pattern finding `email` in a stored list of addresses (`messages.cc_json`,
/// `bcc_json`: `[{"email":"…","name":…}]`, addresses lower-case); matches nothing for no
/// address.
fn copy_pattern(email: &str) -> String {
    if email.is_empty() {
        return String::new();
    }
    let quoted = serde_json::Value::String(email.to_lowercase()).to_string();
    let escaped = quoted.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%\"email\":{escaped}%")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tandem_proto::IntakeState;

    use crate::testing::{Backend, clock, desk, fresh_database, open_store, record_and_parse};

    #[test]
    fn a_copy_is_found_in_the_stored_list_and_wildcards_are_plain() {
        let stored = crate::rows::json(&vec![tandem_proto::MailAddress { email: "dana_lee@client.test".into(), name: Some("Dana".into()) }]);
        assert_eq!(super::copy_pattern("Dana_Lee@client.test"), "%\"email\":\"dana\\_lee@client.test\"%");
        assert!(stored.contains("\"email\":\"dana_lee@client.test\""), "{stored}");
        assert_eq!(super::copy_pattern(""), "");
    }

    crate::backend_tests! {
        a_group_cut_short_goes_on_in_new_transactions,
        a_failure_after_a_cut_keeps_what_was_committed,
    }

    fn mail(id: &str, in_reply_to: Option<&str>) -> Vec<u8> {
        let reply = in_reply_to.map(|r| format!("In-Reply-To: <{r}>\r\n")).unwrap_or_default();
        format!("From: Carla <carla@customer.test>\r\nTo: support@desk.test\r\nSubject: Invoice {id}\r\nMessage-ID: <{id}>\r\n{reply}\r\nBody of {id}\r\n")
            .into_bytes()
    }

    /// A group whose transaction ends after every message (as when an agent's write waits
    /// each time) applies every message, in order, as one transaction would: a reply finds
    /// the ticket its first mail opened in an earlier transaction, and each new customer
    /// message is marked for the plugin pipeline. The check comes after each message but the
    /// last.
    async fn a_group_cut_short_goes_on_in_new_transactions(backend: Backend) {
        let db = fresh_database(backend).await;
        let store = open_store(&db, clock()).await;
        let desk = desk(&store).await;
        let raws = [mail("cut-1@customer.test", None), mail("cut-2@customer.test", Some("cut-1@customer.test")), mail("cut-3@customer.test", None)];
        let (recorded, parsed) = record_and_parse(&store, desk.inbox_a.id, &raws).await;
        let group: Vec<_> = recorded.iter().zip(&parsed).map(|(r, p)| (r.id, p.as_ref())).collect();
        let checks = AtomicUsize::new(0);
        let applied = store
            .apply_group(&group, &|_| true, &|| {
                checks.fetch_add(1, Ordering::Relaxed);
                true
            })
            .await;
        let outcomes = applied.into_result().expect("apply");
        assert_eq!(checks.load(Ordering::Relaxed), 2, "asked after the first and the second message");
        let states: Vec<IntakeState> = outcomes.iter().map(|o| o.state).collect();
        assert_eq!(states, [IntakeState::Ticket, IntakeState::Reply, IntakeState::Ticket]);
        assert_eq!(outcomes[1].ticket_number, outcomes[0].ticket_number, "the reply found the ticket of the first transaction");
        assert_ne!(outcomes[2].ticket_number, outcomes[0].ticket_number);
        let ids: Vec<i64> = outcomes.iter().map(|o| o.inbound_id).collect();
        assert_eq!(ids, recorded.iter().map(|r| r.id).collect::<Vec<_>>(), "in the group's order");
        assert!(outcomes.iter().all(|o| o.run_pipeline));
        assert_eq!(store.pending_pipeline_runs(0, 10).await.expect("marks").len(), 3);
        assert!(store.pending_inbound(10).await.expect("pending").is_empty());
    }

    /// When a message fails in a transaction after the group was cut, the messages committed
    /// before the cut stay applied and are answered with the error; nothing of the failed
    /// transaction is written. Without the cut the same group writes nothing at all.
    async fn a_failure_after_a_cut_keeps_what_was_committed(backend: Backend) {
        let db = fresh_database(backend).await;
        let store = open_store(&db, clock()).await;
        let desk = desk(&store).await;
        let raws = [mail("kept-1@customer.test", None), mail("kept-2@customer.test", None)];
        let (recorded, parsed) = record_and_parse(&store, desk.inbox_a.id, &raws).await;
        let mut group: Vec<_> = recorded.iter().zip(&parsed).map(|(r, p)| (r.id, p.as_ref())).collect();
        // An entry that does not exist fails its transaction.
        group.push((i64::MAX, parsed[0].as_ref()));

        let whole = store.apply_group(&group, &|_| true, &|| false).await;
        assert!(whole.error.is_some() && whole.outcomes.is_empty(), "{whole:?}");
        assert_eq!(store.pending_inbound(10).await.expect("pending").len(), 2, "nothing written");

        let first_only = AtomicUsize::new(0);
        let cut = store.apply_group(&group, &|_| true, &|| first_only.fetch_add(1, Ordering::Relaxed) == 0).await;
        assert!(matches!(cut.error, Some(crate::StoreError::NotFound(_))), "{cut:?}");
        let states: Vec<(i64, IntakeState)> = cut.outcomes.iter().map(|o| (o.inbound_id, o.state)).collect();
        assert_eq!(states, [(recorded[0].id, IntakeState::Ticket)], "the message committed before the cut");
        let pending: Vec<i64> = store.pending_inbound(10).await.expect("pending").iter().map(|e| e.id).collect();
        assert_eq!(pending, [recorded[1].id], "the second message's transaction failed whole");
        assert_eq!(store.pending_pipeline_runs(0, 10).await.expect("marks"), [(cut.outcomes[0].ticket_number.expect("ticket"), cut.outcomes[0].message_row_id.expect("message"))]);
    }
}
