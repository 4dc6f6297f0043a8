//! Writing one pipeline run: every plugin call's outcome on the ticket's timeline, the
//! classifiers' and the router's field changes, the automatic reply and the plugins' health,
//! all in one transaction (all of the run's decisions are on the ticket, or none; a group of
//! runs, see [`super::follow`], shares one, each run written whole in message order).
//!
//! The plugins ran before, against a [`PipelineView`] snapshot, each seeing the ticket as the
//! previous ones left it ([`PipelineView::preview_classification`] and
//! [`PipelineView::preview_routing`], in memory). Here the same domain rules run again on the
//! ticket as it is now: a decision they refuse (the ticket or the team changed meanwhile) is
//! recorded as that plugin's failure and changes nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::{Value as Json, json};
use tandem_domain::ticket::{self, TicketPatch, TicketState};
use tandem_proto::{self as proto, DeliveryState, MessageKind, PluginFailure, PluginFailureKind, TicketStatus};

use super::{PipelineView, PluginRef};
use crate::{
    Store,
    db::{Batch, WriteTx, marks, query_all, to_micros},
    error::{Result, StoreError},
    events::{NewEvent, change_events, push_events},
    plugins::{count_failure, count_successes},
    rows::{TICKET_SELECT, TicketRow},
    tickets::{
        load_ticket,
        write::{Copies, MailExtras, NewMessage, insert_message, outbound_message_id, save_state, save_state_before_message, write_tags},
    },
};

/// What [`Store::write_pipeline_runs`] reads for its whole group first.
struct GroupRead {
    /// The group's messages whose mark the transaction cleared (each taken by its run).
    cleared: HashSet<i64>,
    /// The group's tickets by number, each taken by the first run on it (a later run on the
    /// same ticket reads it again, as the earlier one left it).
    tickets: HashMap<i64, TicketRow>,
}

/// One plugin call of a run, in the order the pipeline made them.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginStep {
    pub plugin: PluginRef,
    pub usage: proto::PluginUsage,
    pub record: StepRecord,
}

/// What a call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum StepRecord {
    Classified(proto::Classification),
    Routed(proto::Routing),
    Replied { reply: proto::AutoReply, reason: String },
    /// A router that did not decide.
    NoDecision { reason: String },
    /// A responder that sent nothing.
    NoReply { reason: String },
    /// Not called: an earlier plugin of the world already decided.
    NotConsulted { why: String },
    Failed(PluginFailure),
}

/// What writing a run came to besides the ticket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunWritten {
    /// Nothing was written: the run was a claim on a marked message whose mark another run
    /// had already cleared (recovery and the intake racing for the same message).
    pub already_written: bool,
    /// Decisions the rules refused at write time (index into the steps, the failure recorded).
    pub refused: Vec<(usize, PluginFailure)>,
    /// Plugins this run disabled (too many failures in a row), with the reason.
    pub disabled: Vec<(i64, String)>,
}

impl RunWritten {
    /// Whether the run was written as the pipeline computed it: every decision applied and no
    /// plugin disabled, so what later runs of its group were shown still holds.
    pub fn as_computed(&self) -> bool {
        !self.already_written && self.refused.is_empty() && self.disabled.is_empty()
    }
}

/// One pipeline run to write: the calls on message `message_id` of ticket `number`.
#[derive(Debug, Clone, Copy)]
pub struct RunToWrite<'a> {
    pub number: i64,
    pub message_id: i64,
    /// The message was marked for the pipeline: write the run only if the mark is still there.
    pub claim: bool,
    pub steps: &'a [PluginStep],
}

impl Store {
    /// Writes a pipeline run on message `message_id` of ticket `number` in one transaction (see
    /// the module's doc), clearing the message's `pipeline_pending` mark. With `claim`, the
    /// message was marked and the run is written only if the mark is still there: of two runs
    /// on one marked message, one is written.
    pub async fn write_pipeline_run(&self, number: i64, message_id: i64, claim: bool, steps: &[PluginStep]) -> Result<RunWritten> {
        let mut written = self.write_pipeline_runs(&[RunToWrite { number, message_id, claim, steps }]).await?;
        written.pop().ok_or(StoreError::NotFound("pipeline run"))
    }

    /// Writes consecutive runs of one group (see [`super::follow`]) in one transaction, in
    /// order, each as [`Store::write_pipeline_run`] would. It stops after the first run not
    /// written as computed ([`RunWritten::as_computed`]): the runs after it were computed on
    /// what it was expected to leave, so the caller computes them again. On SQLite it also
    /// stops after a run when a foreground write waits for the writer (an agent's click does
    /// not wait for the whole group). Answers what became of the runs written, a prefix of
    /// `runs` (all of them, usually).
    pub async fn write_pipeline_runs(&self, runs: &[RunToWrite<'_>]) -> Result<Vec<RunWritten>> {
        self.db.on_writer_cpu(async {
            let now = self.clock().now();
            let tx = self.db.write_background().await?;
            let mut group = self.read_group(&tx, runs).await?;
            let mut out = Vec::with_capacity(runs.len());
            for run in runs {
                let written = self.write_run(&tx, now, run, &mut group).await?;
                let go_on = written.as_computed();
                out.push(written);
                // An agent's write waiting for SQLite's writer goes first; the caller makes the
                // rest again after it (it may change what they decide).
                if !go_on || self.db.foreground_waiting() {
                    break;
                }
            }
            // The runs not written keep their marks: the marks cleared for them are put back.
            let unwritten: Vec<sea_orm::Value> = runs[out.len()..].iter().filter(|r| group.cleared.remove(&r.message_id)).map(|r| r.message_id.into()).collect();
            if !unwritten.is_empty() {
                let sql = format!("UPDATE messages SET pipeline_pending = ? WHERE id IN ({})", marks(unwritten.len()));
                tx.tx.execute_raw(self.db.stmt(&sql, [vec![true.into()], unwritten].concat())).await?;
            }
            tx.commit().await?;
            Ok(out)
        })
        .await
    }

    /// What the runs of a group read before writing, for the whole group at once: their
    /// messages' marks, cleared (which of them were marked), and their tickets.
    async fn read_group(&self, tx: &WriteTx, runs: &[RunToWrite<'_>]) -> Result<GroupRead> {
        #[derive(FromQueryResult)]
        struct Cleared {
            id: i64,
        }
        let messages: Vec<sea_orm::Value> = runs.iter().map(|r| r.message_id.into()).collect();
        let cleared: Vec<Cleared> = query_all(&tx.tx, self.db.stmt(
            &format!("UPDATE messages SET pipeline_pending = ? WHERE id IN ({}) AND pipeline_pending = ? RETURNING id", marks(messages.len())),
            [vec![false.into()], messages, vec![true.into()]].concat(),
        ))
        .await?;
        let mut numbers: Vec<i64> = runs.iter().map(|r| r.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        // In number order: on PostgreSQL the rows are locked in the order merges lock them.
        let sql = format!("{TICKET_SELECT} WHERE t.number IN ({}) ORDER BY t.number{}", marks(numbers.len()), self.db.for_update_of("t"));
        let tickets: Vec<TicketRow> = query_all(&tx.tx, self.db.stmt(&sql, numbers.into_iter().map(Into::into).collect())).await?;
        Ok(GroupRead { cleared: cleared.into_iter().map(|c| c.id).collect(), tickets: tickets.into_iter().map(|t| (t.number, t)).collect() })
    }

    async fn write_run(&self, tx: &WriteTx, now: DateTime<Utc>, run: &RunToWrite<'_>, group: &mut GroupRead) -> Result<RunWritten> {
        let &RunToWrite { number, message_id, claim, steps } = run;
        let at = to_micros(now);
        if !group.cleared.remove(&message_id) && claim {
            return Ok(RunWritten { already_written: true, ..RunWritten::default() });
        }
        // The ticket as the group read it, or again when an earlier run of the group wrote it.
        let row = match group.tickets.remove(&number) {
            Some(row) => row,
            None => load_ticket(&self.db, &tx.tx, number, true).await?,
        };
        let mut state = row.state()?;
        // The ticket as last saved in this transaction, and its version.
        let mut saved = (state.clone(), row.version);
        let mut written = RunWritten::default();
        let mut succeeded = Vec::new();
        let mut failed: Vec<(i64, PluginFailure)> = Vec::new();
        // The run's events and success counts: writes nothing here reads, sent in batches (one
        // round trip on SQLite instead of one per step), each before the next write that may
        // record events of its own (saving the ticket can apply an SLA policy), so the events'
        // order stays that of the decisions.
        let mut batch = Batch::new(&self.db);

        for (i, step) in steps.iter().enumerate() {
            let decided = match &step.record {
                StepRecord::Classified(c) => {
                    let patch = classification_patch(&state, c);
                    change(&mut state, patch, now).map(|changes| {
                        let fields: Vec<&str> = changes.iter().map(|ch| ch.field).collect();
                        (changes, "plugin.classified", json!({ "decision": c, "changed": fields }))
                    })
                }
                StepRecord::Routed(r) => {
                    let mut checked = Ok(());
                    if let Some(team) = r.team_id {
                        checked = self.team_exists(&tx.tx, team).await;
                    }
                    if let (Ok(()), Some(user)) = (&checked, r.assignee_id) {
                        checked = self.assignee_check(&tx.tx, row.inbox_id, user).await;
                    }
                    match checked {
                        Ok(()) => change(&mut state, routing_patch(r), now).map(|changes| (changes, "plugin.routed", json!({ "decision": r }))),
                        Err(StoreError::Domain(e)) => Err(Refusal::Rules(e)),
                        Err(e) => return Err(e),
                    }
                }
                StepRecord::Replied { reply, reason } => match tandem_domain::validate::body("reply.text", &reply.text) {
                    Ok(text) => {
                        batch.run(&tx.tx).await?;
                        // A message moves the ticket's version: the fields so far are saved with it.
                        let version = save_state_before_message(&self.db, tx, row.id, saved.1, &state, at).await?;
                        if state.tags != saved.0.tags {
                            write_tags(&self.db, &tx.tx, row.id, &state.tags).await?;
                        }
                        saved = (state.clone(), version);
                        let id = self.queue_auto_reply(tx, &row, step, reply, text, version, at).await?;
                        Ok((Vec::new(), "plugin.responded", json!({ "message_id": id, "subject": reply.subject, "template": reply.template, "reason": reason })))
                    }
                    Err(e) => Err(Refusal::Rules(e)),
                },
                StepRecord::NoDecision { reason } => Ok((Vec::new(), "plugin.no_decision", json!({ "reason": reason }))),
                StepRecord::NoReply { reason } => Ok((Vec::new(), "plugin.no_reply", json!({ "reason": reason }))),
                StepRecord::NotConsulted { why } => {
                    let event = outcome_event(row.id, "plugin.not_consulted", step, json!({ "reason": why }));
                    push_events(&mut batch, &step.plugin.who(), at, &[event]);
                    continue;
                }
                StepRecord::Failed(f) => Err(Refusal::Failed(f.clone())),
            };
            match decided {
                Ok((changes, kind, details)) => {
                    let mut events = change_events(row.id, &changes);
                    events.push(outcome_event(row.id, kind, step, details));
                    push_events(&mut batch, &step.plugin.who(), at, &events);
                    succeeded.push(step.plugin.id);
                }
                Err(refusal) => {
                    let f = match refusal {
                        Refusal::Failed(f) => f,
                        Refusal::Rules(e) => {
                            let f = refused(step.record.what(), &e);
                            written.refused.push((i, f.clone()));
                            f
                        }
                    };
                    let event = outcome_event(row.id, "plugin.failed", step, json!({ "failure": f }));
                    push_events(&mut batch, &step.plugin.who(), at, &[event]);
                    failed.push((step.plugin.id, f));
                }
            }
        }

        count_successes(&mut batch, &succeeded);
        batch.run(&tx.tx).await?;
        if state != saved.0 {
            save_state(&self.db, tx, row.id, saved.1, &state, at, state.tags != saved.0.tags).await?;
        }
        for (plugin_id, f) in &failed {
            if let Some(reason) = count_failure(&self.db, &tx.tx, *plugin_id, f, at).await? {
                written.disabled.push((*plugin_id, reason));
            }
        }
        Ok(written)
    }

    /// Marked messages (`pipeline_pending`) with an id above `after_id`, oldest first, with
    /// their ticket's number: runs a crash interrupted.
    pub async fn pending_pipeline_runs(&self, after_id: i64, limit: u32) -> Result<Vec<(i64, i64)>> {
        #[derive(sea_orm::FromQueryResult)]
        struct Row {
            id: i64,
            number: i64,
        }
        let rows: Vec<Row> = query_all(
            self.db.connection(),
            self.db.stmt(
                "SELECT m.id, t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.pipeline_pending AND m.id > ? ORDER BY m.id LIMIT ?",
                vec![after_id.into(), i64::from(limit).into()],
            ),
        )
        .await?;
        Ok(rows.into_iter().map(|r| (r.number, r.id)).collect())
    }

    /// Queues a responder's reply (the mail channel sends it) and remembers when the contact
    /// last got one. Returns the message's id.
    #[allow(clippy::too_many_arguments)]
    async fn queue_auto_reply(
        &self,
        tx: &WriteTx,
        row: &TicketRow,
        step: &PluginStep,
        reply: &proto::AutoReply,
        body_text: String,
        ticket_version: i64,
        at: i64,
    ) -> Result<i64> {
        let conn = &tx.tx;
        let (in_reply_to, references) = self.thread_headers(conn, row.id).await?;
        let inbox = self.inbox_view(row.inbox_id).await?;
        let id = insert_message(&self.db, tx, at, NewMessage {
            ticket_id: row.id,
            kind: MessageKind::AutoReply,
            author: &step.plugin.who(),
            body_text,
            body_html: reply.html.as_deref().and_then(tandem_domain::html::sanitize),
            message_id: Some(outbound_message_id(row.number, &inbox.address)?),
            in_reply_to,
            references,
            delivery_state: Some(DeliveryState::Queued),
            ticket_version,
            mail: Some(MailExtras { subject: Some(reply.subject.clone()), ..MailExtras::default() }),
            pipeline_pending: false,
            copies: Copies::default(),
        })
        .await?;
        conn.execute_raw(self.db.stmt("UPDATE contacts SET last_auto_reply_at = ? WHERE id = ?", vec![at.into(), row.contact_id.into()])).await?;
        Ok(id)
    }
}

/// Applies `patch` to `state` through the domain rules; on a refusal `state` is untouched.
fn change(state: &mut TicketState, patch: TicketPatch, now: DateTime<Utc>) -> Result<Vec<ticket::Change>, Refusal> {
    let mut next = state.clone();
    let changes = if patch.is_empty() { Vec::new() } else { ticket::apply_patch(&mut next, patch, now).map_err(Refusal::Rules)? };
    *state = next;
    Ok(changes)
}

impl StepRecord {
    fn what(&self) -> &'static str {
        match self {
            StepRecord::Classified(_) => "classification",
            StepRecord::Routed(_) => "routing",
            StepRecord::Replied { .. } => "automatic reply",
            _ => "outcome",
        }
    }
}

/// Why a step changes nothing.
enum Refusal {
    /// The plugin call itself failed.
    Failed(PluginFailure),
    /// The rules refused its decision.
    Rules(tandem_domain::DomainError),
}

impl PipelineView {
    /// Shows the plugins after a classifier the ticket as its verdict leaves it (nothing is
    /// written: [`Store::write_pipeline_run`] applies it again with the same rules). An error
    /// is the rules refusing the verdict, as the plugin's failure.
    pub fn preview_classification(&mut self, c: &proto::Classification, now: DateTime<Utc>) -> std::result::Result<(), PluginFailure> {
        let state = state_of(&self.ticket);
        let patch = classification_patch(&state, c);
        self.preview(state, patch, "classification", now)
    }

    /// Shows the responders the ticket as the router's decision leaves it.
    pub fn preview_routing(&mut self, r: &proto::Routing, now: DateTime<Utc>) -> std::result::Result<(), PluginFailure> {
        self.preview(state_of(&self.ticket), routing_patch(r), "routing", now)
    }

    fn preview(&mut self, mut state: TicketState, patch: TicketPatch, what: &str, now: DateTime<Utc>) -> std::result::Result<(), PluginFailure> {
        ticket::apply_patch(&mut state, patch, now).map_err(|e| refused(what, &e))?;
        self.show(&state);
        Ok(())
    }

    fn show(&mut self, s: &TicketState) {
        let t = &mut self.ticket;
        if t.assignee.as_ref().map(|a| a.id) != s.assignee_id {
            t.assignee = s.assignee_id.map(|id| {
                let agent = self.agents.iter().find(|a| a.id == id);
                proto::UserRef {
                    id,
                    display_name: agent.map(|a| a.name.clone()).unwrap_or_default(),
                    email: agent.map(|a| a.email.clone()).unwrap_or_default(),
                }
            });
        }
        t.status = s.status;
        t.priority = s.priority;
        t.team_id = s.team_id;
        t.tags.clone_from(&s.tags);
        t.category.clone_from(&s.category);
        t.language.clone_from(&s.language);
        t.solved_at = s.solved_at;
        t.closed_at = s.closed_at;
        t.snoozed_until = s.snoozed_until;
    }
}

/// A plugin's decision the domain rules refuse (`what`: "classification", "routing", …), as
/// the plugin's failure: in the preview and at write time alike.
fn refused(what: &str, e: &tandem_domain::DomainError) -> PluginFailure {
    PluginFailure { kind: PluginFailureKind::InvalidOutput, message: format!("{what} refused: {e}") }
}

/// The ticket's state as the rules see it, from the snapshot shown to the plugins.
fn state_of(t: &proto::Ticket) -> TicketState {
    TicketState {
        number: t.number,
        subject: t.subject.clone(),
        status: t.status,
        priority: t.priority,
        inbox_id: t.inbox_id,
        team_id: t.team_id,
        assignee_id: t.assignee.as_ref().map(|a| a.id),
        tags: t.tags.clone(),
        category: t.category.clone(),
        language: t.language.clone(),
        snoozed_until: t.snoozed_until,
        merged_into: t.merged_into,
        first_response_at: t.first_response_at,
        last_customer_message_at: t.last_customer_message_at,
        last_agent_message_at: t.last_agent_message_at,
        solved_at: t.solved_at,
        closed_at: t.closed_at,
        version: t.version,
    }
}

/// A classifier's verdict as a change: tags added to the ticket's, priority, category,
/// language; spam moves the ticket to `spam`.
fn classification_patch(state: &TicketState, c: &proto::Classification) -> TicketPatch {
    let mut patch = TicketPatch::default();
    let mut tags = state.tags.clone();
    for tag in &c.add_tags {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    if tags != state.tags {
        patch.tags = Some(tags);
    }
    patch.priority = c.priority;
    patch.category = c.category.clone().map(Some);
    patch.language = c.language.clone().map(Some);
    if c.spam == Some(true) && state.status != TicketStatus::Spam {
        patch.status = Some(TicketStatus::Spam);
    }
    patch
}

/// A router's decision as a change.
fn routing_patch(r: &proto::Routing) -> TicketPatch {
    TicketPatch { team_id: r.team_id.map(Some), assignee_id: r.assignee_id.map(Some), ..TicketPatch::default() }
}

/// The timeline event of a plugin call: who ran, how long, how much fuel, and `details`.
fn outcome_event(ticket_id: i64, kind: &'static str, step: &PluginStep, details: Json) -> NewEvent<'static> {
    let (plugin, usage) = (&step.plugin, &step.usage);
    let mut after = json!({
        "plugin_id": plugin.id,
        "plugin": plugin.name,
        "version": plugin.version,
        "duration_us": usage.duration_us,
        "fuel": usage.fuel,
    });
    if let (Some(map), Json::Object(extra)) = (after.as_object_mut(), details) {
        map.extend(extra);
    }
    NewEvent { ticket_id: Some(ticket_id), kind, field: None, before: Json::Null, after }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TicketState {
        TicketState {
            number: 1001,
            subject: "Printer".into(),
            status: TicketStatus::New,
            priority: proto::Priority::Normal,
            inbox_id: 1,
            team_id: None,
            assignee_id: None,
            tags: vec!["vip".into()],
            category: None,
            language: None,
            snoozed_until: None,
            merged_into: None,
            first_response_at: None,
            last_customer_message_at: None,
            last_agent_message_at: None,
            solved_at: None,
            closed_at: None,
            version: 1,
        }
    }

    fn verdict() -> proto::Classification {
        proto::Classification {
            add_tags: vec!["vip".into(), "urgent".into()],
            priority: Some(proto::Priority::High),
            category: Some("bug".into()),
            language: None,
            spam: Some(false),
            confidence: 0.9,
            reason: "keywords".into(),
        }
    }

    #[test]
    fn a_verdict_adds_tags_and_sets_only_what_it_has_an_opinion_on() {
        let patch = classification_patch(&state(), &verdict());
        assert_eq!(patch.tags, Some(vec!["vip".to_owned(), "urgent".to_owned()]));
        assert_eq!(patch.priority, Some(proto::Priority::High));
        assert_eq!(patch.category, Some(Some("bug".to_owned())));
        assert_eq!(patch.language, None);
        assert_eq!(patch.status, None);
        let nothing_new = proto::Classification { add_tags: vec!["vip".into()], priority: None, category: None, spam: None, ..verdict() };
        assert!(classification_patch(&state(), &nothing_new).is_empty());
        let spam = proto::Classification { spam: Some(true), ..verdict() };
        assert_eq!(classification_patch(&state(), &spam).status, Some(TicketStatus::Spam));
        let already = TicketState { status: TicketStatus::Spam, ..state() };
        assert_eq!(classification_patch(&already, &spam).status, None);
    }
}
