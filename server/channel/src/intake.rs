//! The one path of every raw inbound message.

use std::sync::Arc;

use tandem_mail::Limits;
use tandem_plugins::Pipeline;
use tandem_proto::IntakeState;
use tandem_store::{
    Store,
    mail::{IntakeOutcome, Recorded},
};
use tokio::sync::Notify;

use crate::ChannelError;

/// Messages larger than this are parsed on a blocking thread, off the async workers.
const PARSE_INLINE_BYTES: usize = 256 * 1024;
/// Messages of a batch applied in one transaction, and plugin runs made in one: an IMAP
/// fetch's worth. Fewer, larger transactions write fewer pages per message (SQLite's writer
/// is the import's bottleneck: 10,000 mails took ~30 % longer in groups of 10). Such a
/// transaction commits early when an agent's write waits (the store's foreground writes):
/// the agent waits for the message or plugin run in progress, not for the group.
const APPLY_TOGETHER: usize = 50;

/// Intake: record first, then parse and apply, then the plugin pipeline. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Intake {
    store: Store,
    pipeline: Option<Pipeline>,
    limits: Limits,
    signals: Arc<Signals>,
}

/// Wake-ups between the API, intake and the channel's tasks.
#[derive(Debug, Default)]
pub struct Signals {
    /// Something was queued in the outbox.
    pub outbox: Notify,
    /// Mail settings changed: restart the workers whose account changed.
    pub accounts: Notify,
}

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub recorded: Recorded,
    pub outcome: IntakeOutcome,
}

impl Intake {
    pub fn new(store: Store, pipeline: Option<Pipeline>, limits: Limits) -> Intake {
        Intake { store, pipeline, limits, signals: Arc::new(Signals::default()) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn signals(&self) -> &Arc<Signals> {
        &self.signals
    }

    /// Tells the sender that the outbox has new mail (replies posted through the API).
    pub fn outbox_changed(&self) {
        self.signals.outbox.notify_one();
    }

    /// Tells the IMAP supervisor that mail settings changed.
    pub fn accounts_changed(&self) {
        self.signals.accounts.notify_one();
    }

    /// Receives one raw message for an inbox. A message received before is not applied twice;
    /// one recorded but never processed (a crash in between) is processed now.
    pub async fn receive(&self, inbox_id: i64, raw: &[u8], source: &str, source_ref: Option<&str>) -> Result<Received, ChannelError> {
        let recorded = self.store.record_inbound(inbox_id, raw, source, source_ref).await?;
        let outcome = self.process(recorded, raw).await?;
        Ok(Received { recorded, outcome })
    }

    /// Receives a batch of raw messages (an IMAP fetch): [`Intake::receive_batch_queued`] with
    /// a [`PipelineQueue`] of its own, which it finishes before it returns, so the batch
    /// returns once all of its plugin runs are written.
    pub async fn receive_batch(&self, inbox_id: i64, items: &[(&[u8], Option<&str>)], source: &str) -> Result<Vec<Received>, ChannelError> {
        let queue = self.pipeline_queue();
        let received = self.receive_batch_queued(inbox_id, items, source, &queue).await;
        queue.finish().await;
        received
    }

    /// A queue for the plugin runs of consecutive batches (see [`PipelineQueue`]).
    pub fn pipeline_queue(&self) -> PipelineQueue {
        PipelineQueue::start(self.clone())
    }

    /// Receives a batch of raw messages: recorded together (one durability barrier, one
    /// transaction), then parsed and applied in order, [`APPLY_TOGETHER`] to a transaction (see
    /// [`Intake::apply_together`]). The plugin runs of the messages applied go to `queue`, whose
    /// task makes them while the next messages (of this batch, or of the next one given the
    /// same queue) are parsed and applied, so the two use both cores and their waits on the
    /// database overlap. Returns once every message is applied; its runs may still be queued.
    pub async fn receive_batch_queued(&self, inbox_id: i64, items: &[(&[u8], Option<&str>)], source: &str, queue: &PipelineQueue) -> Result<Vec<Received>, ChannelError> {
        let recorded = self.store.record_inbound_batch(inbox_id, items, source).await?;
        let mut out = Vec::with_capacity(items.len());
        for (recorded, items) in recorded.chunks(APPLY_TOGETHER).zip(items.chunks(APPLY_TOGETHER)) {
            let (outcomes, failed) = self.apply_together(recorded, items).await;
            for (recorded, outcome) in recorded.iter().zip(outcomes) {
                if let Some(run) = pipeline_due(&outcome) {
                    queue.push(run).await;
                }
                out.push(Received { recorded: *recorded, outcome });
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(out)
    }

    /// Parses and applies a recorded message, then runs the plugin pipeline on it.
    async fn process(&self, recorded: Recorded, raw: &[u8]) -> Result<IntakeOutcome, ChannelError> {
        let outcome = self.apply(recorded, raw).await?;
        if let Some((number, message)) = pipeline_due(&outcome) {
            self.run_pipeline(number, message).await;
        }
        Ok(outcome)
    }

    /// Parses and applies a recorded message. A duplicate is looked up first: only one that
    /// was recorded but never processed (a crash in between) is parsed.
    async fn apply(&self, recorded: Recorded, raw: &[u8]) -> Result<IntakeOutcome, ChannelError> {
        let (mut outcomes, error) = self.try_apply_together(&[recorded], &[(raw, None)]).await;
        match (outcomes.pop(), error) {
            (_, Some(error)) => Err(error),
            (Some(outcome), None) => Ok(outcome),
            (None, None) => Err(tandem_store::StoreError::NotFound("inbound mail").into()),
        }
    }

    /// [`Intake::apply`] for consecutive messages of a batch, in one transaction (or a few,
    /// when an agent's write cuts in: [`Store::apply_inbound_many`]). If one fails, the
    /// messages after those committed are applied one at a time, so a message the database
    /// refuses holds back only the ones after it. Answers the outcomes of the messages
    /// applied, in order, and the error that stopped the rest, if any.
    async fn apply_together(&self, recorded: &[Recorded], items: &[(&[u8], Option<&str>)]) -> (Vec<IntakeOutcome>, Option<ChannelError>) {
        let (mut outcomes, error) = self.try_apply_together(recorded, items).await;
        if let Some(e) = error {
            let rest = recorded.len() - outcomes.len();
            tracing::warn!(error = %e, messages = rest, "applying messages together failed; applying the rest one at a time");
            for (r, (raw, _)) in recorded.iter().zip(items).skip(outcomes.len()) {
                match self.apply(*r, raw).await {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(e) => return (outcomes, Some(e)),
                }
            }
        }
        (outcomes, None)
    }

    /// Applies consecutive recorded messages together (those processed before are only
    /// looked up); the first error stops the rest. Answers the outcomes of the messages
    /// applied or looked up before that error, in order, and the error. A new customer
    /// message is marked for the plugin pipeline only if some enabled plugin covers its
    /// ticket's inbox.
    async fn try_apply_together(&self, recorded: &[Recorded], items: &[(&[u8], Option<&str>)]) -> (Vec<IntakeOutcome>, Option<ChannelError>) {
        // Per message: its outcome when it was processed before, else its parse for the store.
        let mut done = Vec::with_capacity(recorded.len());
        let mut parsed = Vec::new();
        let mut error = None;
        for (r, (raw, _)) in recorded.iter().zip(items) {
            let before = match self.processed_before(*r).await {
                Ok(before) => before,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            if before.is_none() {
                match self.parse(raw).await {
                    Ok(p) => parsed.push((r.id, p)),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            done.push(before);
        }
        let apply: Vec<_> = parsed.iter().map(|(id, p)| (*id, p.as_ref())).collect();
        let applied = match apply.is_empty() {
            true => Vec::new(),
            false => {
                let group = self.store.apply_inbound_many(&apply, &|inbox| self.pipeline.as_ref().is_some_and(|p| p.covers(inbox))).await;
                // The group's error, if any, is of an earlier message than the one that broke the loop.
                error = group.error.map(ChannelError::from).or(error);
                group.outcomes
            }
        };
        applied.iter().for_each(log_received);
        (in_order(done, applied), error)
    }

    /// The outcome of a message recorded before (a second delivery) that was processed then;
    /// `None` for one to process now (new, or recorded but never processed: a crash in between).
    async fn processed_before(&self, recorded: Recorded) -> Result<Option<IntakeOutcome>, ChannelError> {
        if !recorded.duplicate {
            return Ok(None);
        }
        let entry = self.store.inbound(recorded.id).await?;
        Ok((entry.state != IntakeState::Received).then_some(IntakeOutcome {
            inbound_id: recorded.id,
            state: entry.state,
            ticket_number: entry.ticket_number,
            message_row_id: None,
            run_pipeline: false,
        }))
    }

    /// Parses a raw message; a large one on a blocking thread, off the async workers.
    async fn parse(&self, raw: &[u8]) -> Result<Result<tandem_mail::Inbound, tandem_mail::ParseError>, ChannelError> {
        let limits = self.limits;
        if raw.len() <= PARSE_INLINE_BYTES {
            return Ok(tandem_mail::parse(raw, &limits));
        }
        let owned = raw.to_vec();
        tokio::task::spawn_blocking(move || tandem_mail::parse(&owned, &limits))
            .await
            .map_err(|e| ChannelError::Imap(format!("parser task failed: {e}")))
    }

    /// Runs the plugin pipeline on a message the intake marked for it.
    async fn run_pipeline(&self, number: i64, message: i64) {
        self.run_pipelines(&[(number, message)]).await;
    }

    /// Runs the plugin pipeline on messages `(ticket number, message id)` the intake marked
    /// for it, in order.
    async fn run_pipelines(&self, runs: &[(i64, i64)]) {
        let Some(pipeline) = &self.pipeline else {
            return;
        };
        let mut queued = false;
        for (&(number, _), report) in runs.iter().zip(pipeline.on_marked_in_order(runs).await) {
            match report {
                Ok(report) => queued |= report.queued_reply(),
                // Plugin failures are recorded on the ticket by the pipeline; this is the
                // pipeline itself failing (e.g. the database): logged, and the message stays
                // marked, so the next start's recovery runs it again.
                Err(e) => tracing::error!(ticket = number, error = %e, "plugin pipeline"),
            }
        }
        // Only a queued reply wakes the sender (each wake is two write transactions claiming
        // mail); anything else it finds on its next tick.
        if queued {
            self.signals.outbox.notify_one();
        }
    }

    /// Runs the plugin pipeline on messages still marked for it: a crash came between their
    /// intake and the pipeline's write (or the pipeline failed on the database). Each is tried
    /// once per call; returns how many were written.
    pub async fn recover_pipeline_runs(&self) -> Result<usize, ChannelError> {
        let Some(pipeline) = &self.pipeline else {
            return Ok(0);
        };
        let (mut after, mut done) = (0, 0);
        loop {
            let pending = self.store.pending_pipeline_runs(after, 100).await?;
            let Some(&(_, last)) = pending.last() else {
                return Ok(done);
            };
            after = last;
            let mut queued = false;
            for group in pending.chunks(APPLY_TOGETHER) {
                for (&(number, message), report) in group.iter().zip(pipeline.on_marked_in_order(group).await) {
                    match report {
                        Ok(report) => {
                            done += usize::from(report.written);
                            queued |= report.queued_reply();
                        }
                        Err(e) => tracing::error!(ticket = number, message, error = %e, "plugin pipeline (recovery)"),
                    }
                }
            }
            if queued {
                self.signals.outbox.notify_one();
            }
        }
    }

    /// Processes messages recorded but never processed (after a crash). Returns how many.
    pub async fn recover(&self) -> Result<usize, ChannelError> {
        let mut done = 0;
        loop {
            let pending = self.store.pending_inbound(100).await?;
            if pending.is_empty() {
                return Ok(done);
            }
            for entry in pending {
                let raw = self.store.inbound_raw(None, entry.id).await?;
                // Pending entries are `received` by definition: no second look-up.
                self.process(Recorded { id: entry.id, duplicate: false }, &raw).await?;
                done += 1;
            }
        }
    }
}

/// Plugin runs waiting to be made, in the order their messages were applied, and the task
/// that makes them, [`APPLY_TOGETHER`] at a time (see `Pipeline::on_marked_in_order`): the
/// runs queued when the task gets to them are made as one group. The runs keep the messages'
/// order (a responder's once-per-contact window and a router's round-robin see the runs before
/// them). One queue serves the batches of one folder sync, so a batch's last runs are made
/// while the next batch is fetched, recorded and applied instead of holding it back. At most
/// [`QUEUED_RUNS`] wait: applying then waits for the plugins. A run queued here is also
/// marked in the database, so one lost to a crash is made by the next start's recovery; a
/// queue dropped without [`PipelineQueue::finish`] (its sync aborted) still makes the runs
/// it holds.
#[derive(Debug)]
pub struct PipelineQueue {
    runs: tokio::sync::mpsc::Sender<(i64, i64)>,
    task: tokio::task::JoinHandle<()>,
}

/// Plugin runs a [`PipelineQueue`] holds before applying waits: about one IMAP fetch's worth.
const QUEUED_RUNS: usize = 64;

impl PipelineQueue {
    fn start(intake: Intake) -> PipelineQueue {
        let (runs, mut marked) = tokio::sync::mpsc::channel::<(i64, i64)>(QUEUED_RUNS);
        let task = tokio::spawn(async move {
            let mut group = Vec::with_capacity(APPLY_TOGETHER);
            while marked.recv_many(&mut group, APPLY_TOGETHER).await > 0 {
                intake.run_pipelines(&group).await;
                group.clear();
            }
        });
        PipelineQueue { runs, task }
    }

    async fn push(&self, run: (i64, i64)) {
        // The receiver lives until `finish` drops this sender; the task ends only then (or by
        // a panic, reported there).
        let _ = self.runs.send(run).await;
    }

    /// Waits until every run queued is made (each is written, or stays marked for the
    /// recovery); a panic in one is a bug, reported like the others.
    pub async fn finish(self) {
        drop(self.runs);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "plugin pipeline task");
        }
    }
}

/// The outcomes of consecutive messages in their order: each looked up before (`done[i]` is
/// `Some`) or else the next of those applied; it stops at the first message that has neither
/// (the rest were not applied).
fn in_order(done: Vec<Option<IntakeOutcome>>, applied: Vec<IntakeOutcome>) -> Vec<IntakeOutcome> {
    let mut applied = applied.into_iter();
    done.into_iter().map_while(|before| before.or_else(|| applied.next())).collect()
}

/// The ticket and message a plugin pipeline run is due for, if the intake marked one.
fn pipeline_due(outcome: &IntakeOutcome) -> Option<(i64, i64)> {
    match (outcome.run_pipeline, outcome.ticket_number, outcome.message_row_id) {
        (true, Some(number), Some(message)) => Some((number, message)),
        _ => None,
    }
}

fn log_received(outcome: &IntakeOutcome) {
    match outcome.ticket_number {
        Some(number) => tracing::info!(inbound = outcome.inbound_id, ticket = number, state = %outcome.state, "mail received"),
        None => tracing::info!(inbound = outcome.inbound_id, state = %outcome.state, "mail received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(inbound_id: i64) -> IntakeOutcome {
        IntakeOutcome { inbound_id, state: IntakeState::Ticket, ticket_number: Some(inbound_id), message_row_id: None, run_pipeline: false }
    }

    /// Looked-up and applied outcomes interleave in the batch's order, and the answer stops
    /// at the first message that has neither (the store stopped before it), even when
    /// messages looked up before follow it: those are applied one at a time after it.
    #[test]
    fn outcomes_keep_the_batchs_order_and_stop_at_the_first_missing() {
        let ids = |outcomes: Vec<IntakeOutcome>| outcomes.iter().map(|o| o.inbound_id).collect::<Vec<_>>();
        let done = || vec![None, Some(outcome(2)), None, None, Some(outcome(5))];
        assert_eq!(ids(in_order(done(), vec![outcome(1), outcome(3), outcome(4)])), [1, 2, 3, 4, 5], "all applied");
        assert_eq!(ids(in_order(done(), vec![outcome(1), outcome(3)])), [1, 2, 3], "the store stopped before the fourth");
        assert_eq!(ids(in_order(done(), vec![outcome(1)])), [1, 2]);
        assert_eq!(ids(in_order(done(), vec![])), Vec::<i64>::new(), "nothing applied: nothing answered");
        assert_eq!(ids(in_order(vec![Some(outcome(1)), Some(outcome(2))], vec![])), [1, 2], "only looked up");
    }
}
