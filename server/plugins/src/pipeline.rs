//! The pipeline: what happens to each new customer message.
//!
//! 1. Classifiers, in admin order; each sees the ticket as the previous ones left it.
//! 2. Routers, in admin order; the first decisive one wins, the rest are "not consulted".
//! 3. Responders, in admin order; the first reply wins (at most one automatic reply).
//!
//! The plugins run against a snapshot of the ticket (each sees it as the previous ones leave
//! it, in memory); then the whole run is written in one transaction
//! (`Store::write_pipeline_run`): every call's outcome on the ticket's timeline (plugin,
//! version, duration, reason) and in the plugin's health. A failing plugin changes nothing
//! and the pipeline goes on; too many failures in a row disable it. The raw message is already
//! stored (and committed) before the pipeline runs, so nothing here can lose it; a message
//! marked for the pipeline (`on_marked`) that a crash left without its run is run at the next
//! start, once.
//!
//! The mail intake and the recovery hand over their marked messages a group at a time
//! ([`Pipeline::on_marked_in_order`]): the views are read together, the plugins run on each
//! message in order, each seeing what the runs before it leave
//! (`tandem_store::automation::RunEffects`), and the runs are written in one transaction.

use std::sync::Arc;

use tandem_proto::{self as proto, PluginDecision, PluginFailure, PluginUsage, PluginWorld};
use tandem_store::automation::{PipelineView, PluginRef, PluginStep, RunEffects, RunToWrite, RunWritten, StepRecord};

use crate::convert;
use crate::error::PluginError;
use crate::outcome::CallOutcome;
use crate::registry::{Entry, Registry, Snapshot};
use crate::runtime::CallContext;

/// What one plugin call came to, for logs and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub plugin: String,
    pub version: i64,
    pub world: PluginWorld,
    pub outcome: StepOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    Applied(PluginDecision),
    NoDecision(String),
    Failed(PluginFailure),
    NotConsulted,
}

/// Everything the pipeline did for one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub steps: Vec<Step>,
    /// False when another run on the same marked message was written first (nothing here was).
    pub written: bool,
}

impl Report {
    /// Whether the run queued an automatic reply: the sender has mail to send.
    pub fn queued_reply(&self) -> bool {
        self.written
            && self.steps.iter().any(|s| matches!(&s.outcome, StepOutcome::Applied(PluginDecision::Responder(r)) if r.reply.is_some()))
    }
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    registry: Arc<Registry>,
}

impl Pipeline {
    pub fn new(registry: Arc<Registry>) -> Pipeline {
        Pipeline { registry }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Whether a new message of `inbox_id` has plugins to run now. When none is enabled for
    /// the inbox, callers neither mark the message nor run the pipeline: a run would read the
    /// ticket and write nothing. A plugin enabled later sees the messages received after it.
    pub fn covers(&self, inbox_id: i64) -> bool {
        self.registry.snapshot().covers(inbox_id)
    }

    /// Runs the enabled plugins on a new customer message of ticket `number` (its latest one
    /// when `message_id` is `None`), then writes the whole run in one transaction. Store
    /// errors end the run (and are returned, nothing written); plugin failures never do.
    pub async fn on_inbound(&self, number: i64, message_id: Option<i64>) -> Result<Report, PluginError> {
        self.run(number, message_id, false).await
    }

    /// [`Pipeline::on_inbound`] for a message the mail intake marked `pipeline_pending`: the
    /// run is written only if the mark is still there (see `Store::write_pipeline_run`), so
    /// the intake and its recovery after a crash never both write one.
    pub async fn on_marked(&self, number: i64, message_id: i64) -> Result<Report, PluginError> {
        self.run(number, Some(message_id), true).await
    }

    /// [`Pipeline::on_marked`] for consecutive marked messages `(ticket number, message id)`,
    /// in order, as if each run were written before the next one's view is read (each sees
    /// the ticket, the contact's last automatic reply and the agents' load as the runs before
    /// it leave them), but with the views read together and the runs written in one
    /// transaction (see `tandem_store::automation::RunEffects`). If that transaction fails,
    /// each run is made on its own, so a message the database refuses holds back no other.
    /// A single message is simply [`Pipeline::on_marked`]. Answers each message's result, in
    /// order.
    pub async fn on_marked_in_order(&self, runs: &[(i64, i64)]) -> Vec<Result<Report, PluginError>> {
        if let &[(number, message)] = runs {
            return vec![self.on_marked(number, message).await];
        }
        let mut reports = Vec::with_capacity(runs.len());
        let mut rest = runs;
        while !rest.is_empty() {
            match self.try_group(rest).await {
                Ok(done) if !done.is_empty() => {
                    rest = rest.get(done.len()..).unwrap_or_default();
                    reports.extend(done.into_iter().map(Ok));
                }
                failed => {
                    if let Err(e) = failed {
                        tracing::warn!(error = %e, runs = rest.len(), "plugin runs together failed; making them one at a time");
                    }
                    for &(number, message) in rest {
                        reports.push(self.on_marked(number, message).await);
                    }
                    break;
                }
            }
        }
        reports
    }

    /// Computes the runs of `runs` and writes them in one transaction; answers the reports of
    /// those written, a prefix of `runs`: the write stops after a run that was not written as
    /// computed (a plugin disabled, a decision refused), or when an agent's write waits for
    /// SQLite's writer; the followers are computed again.
    async fn try_group(&self, runs: &[(i64, i64)]) -> Result<Vec<Report>, PluginError> {
        let snapshot = self.registry.snapshot();
        let store = self.registry.store();
        let views = store.pipeline_views(runs).await?;
        let mut computed: Vec<(i64, i64, Run)> = Vec::with_capacity(views.len());
        let mut effects: Vec<RunEffects> = Vec::with_capacity(views.len());
        for mut view in views {
            for earlier in &effects {
                view.follow(earlier);
            }
            let before = view.ticket.clone();
            let run = self.compute(&snapshot, &mut view).await;
            let replied_at = run.replied().then(|| store.clock().now().timestamp_micros());
            effects.push(RunEffects::new(&before, &view, replied_at));
            computed.push((view.ticket.number, view.message.id, run));
        }
        let to_write: Vec<RunToWrite<'_>> =
            computed.iter().map(|(number, message_id, run)| RunToWrite { number: *number, message_id: *message_id, claim: true, steps: &run.steps }).collect();
        let written = store.write_pipeline_runs(&to_write).await?;
        let mut reports = Vec::with_capacity(written.len());
        let mut disabled = false;
        for ((number, _, run), written) in computed.into_iter().zip(written) {
            disabled |= !written.disabled.is_empty();
            reports.push(run.finish(number, written));
        }
        if disabled {
            // The runs are written; the plugin stays disabled in the database and the next
            // reload (or the next run's) picks it up.
            if let Err(e) = self.registry.reload().await {
                tracing::error!(error = %e, "reloading the plugins after disabling one");
            }
        }
        Ok(reports)
    }

    async fn run(&self, number: i64, message_id: Option<i64>, claim: bool) -> Result<Report, PluginError> {
        let snapshot = self.registry.snapshot();
        let store = self.registry.store();
        let mut view = store.pipeline_view(number, message_id).await?;
        let run = self.compute(&snapshot, &mut view).await;
        let written = store.write_pipeline_run(number, view.message.id, claim, &run.steps).await?;
        let disabled = !written.disabled.is_empty();
        let report = run.finish(number, written);
        if disabled {
            self.registry.reload().await?;
        }
        Ok(report)
    }

    /// Calls the enabled plugins of `snapshot` on `view`, which is left showing the ticket as
    /// their decisions leave it. Nothing is written.
    async fn compute(&self, snapshot: &Snapshot, view: &mut PipelineView) -> Run {
        let store = self.registry.store();
        let inbox_id = view.ticket.inbox_id;
        let mut run = Run::default();

        for entry in snapshot.enabled(PluginWorld::Classifier, inbox_id) {
            let input = convert::classify_input(view);
            let outcome = match &entry.component {
                Some(c) => self.registry.runtime().classify(c, &input, &self.context(entry)).await.map(convert::classification),
                None => CallOutcome::unavailable(entry.load_error.clone().unwrap_or_default()),
            };
            let record = match outcome.result {
                // Later classifiers (and the routers, responders) see the ticket as it leaves it.
                Ok(decision) => match view.preview_classification(&decision, store.clock().now()) {
                    Ok(()) => StepRecord::Classified(decision),
                    Err(f) => StepRecord::Failed(f),
                },
                Err(f) => StepRecord::Failed(f),
            };
            run.push(entry, outcome.usage, record);
        }

        let mut routed = false;
        for entry in snapshot.enabled(PluginWorld::Router, inbox_id) {
            if routed {
                run.push(entry, PluginUsage::default(), StepRecord::NotConsulted { why: "an earlier router decided".into() });
                continue;
            }
            let input = convert::route_input(view);
            let outcome = match &entry.component {
                Some(c) => self.registry.runtime().route(c, &input, &self.context(entry)).await.map(|d| convert::routing(d, &input)),
                None => CallOutcome::unavailable(entry.load_error.clone().unwrap_or_default()),
            };
            let record = match outcome.result {
                Ok(decision) if decision.decided => match view.preview_routing(&decision, store.clock().now()) {
                    Ok(()) => {
                        routed = true;
                        StepRecord::Routed(decision)
                    }
                    Err(f) => StepRecord::Failed(f),
                },
                Ok(decision) => StepRecord::NoDecision { reason: decision.reason },
                Err(f) => StepRecord::Failed(f),
            };
            run.push(entry, outcome.usage, record);
        }

        let mut replied = false;
        for entry in snapshot.enabled(PluginWorld::Responder, inbox_id) {
            if replied {
                run.push(entry, PluginUsage::default(), StepRecord::NotConsulted { why: "an automatic reply was already queued".into() });
                continue;
            }
            let input = convert::respond_input(view);
            let outcome = match &entry.component {
                Some(c) => self.registry.runtime().respond(c, &input, &self.context(entry)).await.map(convert::response),
                None => CallOutcome::unavailable(entry.load_error.clone().unwrap_or_default()),
            };
            let record = match outcome.result {
                Ok(proto::Response { reply: Some(reply), reason }) => {
                    replied = true;
                    StepRecord::Replied { reply, reason }
                }
                Ok(proto::Response { reply: None, reason }) => StepRecord::NoReply { reason },
                Err(f) => StepRecord::Failed(f),
            };
            run.push(entry, outcome.usage, record);
        }
        run
    }

    fn context(&self, entry: &Entry) -> CallContext {
        CallContext { config: entry.plugin.config.clone(), now_micros: self.registry.store().clock().now().timestamp_micros(), limits: entry.plugin.limits }
    }
}

/// The calls of one run, in order, with who made them.
#[derive(Default)]
struct Run {
    steps: Vec<PluginStep>,
    worlds: Vec<PluginWorld>,
}

impl Run {
    /// Whether a responder's reply is among the calls.
    fn replied(&self) -> bool {
        self.steps.iter().any(|s| matches!(s.record, StepRecord::Replied { .. }))
    }

    fn push(&mut self, entry: &Entry, usage: PluginUsage, record: StepRecord) {
        let plugin = PluginRef { id: entry.plugin.id, name: entry.plugin.name.clone(), version: entry.plugin.version_number };
        self.steps.push(PluginStep { plugin, usage, record });
        self.worlds.push(entry.plugin.world);
    }

    /// The report of this run once written (nothing when another run was written first).
    fn finish(self, number: i64, written: RunWritten) -> Report {
        if written.already_written {
            return Report { steps: Vec::new(), written: false };
        }
        for (plugin_id, reason) in &written.disabled {
            tracing::error!(plugin = plugin_id, %reason, "plugin disabled");
        }
        self.report(number, written.refused)
    }

    /// What the run did, with the decisions the store refused at write time as failures.
    fn report(self, number: i64, refused: Vec<(usize, PluginFailure)>) -> Report {
        let mut steps: Vec<Step> = self
            .steps
            .into_iter()
            .zip(self.worlds)
            .map(|(step, world)| Step {
                outcome: match step.record {
                    StepRecord::Classified(d) => StepOutcome::Applied(PluginDecision::Classifier(d)),
                    StepRecord::Routed(d) => StepOutcome::Applied(PluginDecision::Router(d)),
                    StepRecord::Replied { reply, reason } => StepOutcome::Applied(PluginDecision::Responder(proto::Response { reply: Some(reply), reason })),
                    StepRecord::NoDecision { reason } | StepRecord::NoReply { reason } => StepOutcome::NoDecision(reason),
                    StepRecord::NotConsulted { .. } => StepOutcome::NotConsulted,
                    StepRecord::Failed(f) => StepOutcome::Failed(f),
                },
                plugin: step.plugin.name,
                version: step.plugin.version,
                world,
            })
            .collect();
        for (i, f) in refused {
            if let Some(step) = steps.get_mut(i) {
                step.outcome = StepOutcome::Failed(f);
            }
        }
        for step in &steps {
            if let StepOutcome::Failed(f) = &step.outcome {
                tracing::warn!(plugin = %step.plugin, version = step.version, ticket = number, kind = %f.kind, message = %f.message, "plugin call failed");
            }
        }
        Report { steps, written: true }
    }
}

/// Runs one plugin against a view without applying anything (the admin's dry run).
pub async fn dry_run(registry: &Registry, plugin_id: i64, version_id: Option<i64>, view: &PipelineView, config: Option<String>, now_micros: i64) -> Result<proto::DryRunResult, PluginError> {
    let snapshot = registry.snapshot();
    let entry = snapshot.get(plugin_id).ok_or(tandem_store::StoreError::NotFound("plugin"))?;
    let (component, version) = match version_id {
        Some(id) if id != entry.plugin.version_id => {
            let (version, bytes) = registry.store().plugin_version(plugin_id, id).await?;
            (registry.runtime().load(Arc::from(bytes)).await?, version.number)
        }
        _ => match &entry.component {
            Some(c) => (c.clone(), entry.plugin.version_number),
            None => return Err(PluginError::Invalid(format!("the active version cannot be loaded: {}", entry.load_error.clone().unwrap_or_default()))),
        },
    };
    let ctx = CallContext { config: config.unwrap_or_else(|| entry.plugin.config.clone()), now_micros, limits: entry.plugin.limits };
    let runtime = registry.runtime();
    let outcome: CallOutcome<PluginDecision> = match component.world {
        PluginWorld::Classifier => runtime
            .classify(&component, &convert::classify_input(view), &ctx)
            .await
            .map(|c| convert::classification(c).map(PluginDecision::Classifier)),
        PluginWorld::Router => {
            let input = convert::route_input(view);
            runtime.route(&component, &input, &ctx).await.map(|d| convert::routing(d, &input).map(PluginDecision::Router))
        }
        PluginWorld::Responder => {
            runtime.respond(&component, &convert::respond_input(view), &ctx).await.map(|d| convert::response(d).map(PluginDecision::Responder))
        }
    };
    let (decision, failure) = match outcome.result {
        Ok(d) => (Some(d), None),
        Err(f) => (None, Some(f)),
    };
    Ok(proto::DryRunResult { plugin_id, version, decision, failure, usage: outcome.usage, logs: outcome.logs, dropped_log_lines: outcome.dropped_logs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn responder(reply: Option<proto::AutoReply>) -> Step {
        Step {
            plugin: "template-responder".into(),
            version: 1,
            world: PluginWorld::Responder,
            outcome: StepOutcome::Applied(PluginDecision::Responder(proto::Response { reply, reason: "test".into() })),
        }
    }

    #[test]
    fn only_a_written_run_with_a_reply_has_mail_for_the_sender() {
        let reply = proto::AutoReply { subject: "Re: help".into(), text: "We got it".into(), html: None, template: None };
        assert!(Report { steps: vec![responder(Some(reply.clone()))], written: true }.queued_reply());
        assert!(!Report { steps: vec![responder(None)], written: true }.queued_reply(), "a responder that sent nothing");
        assert!(!Report { steps: vec![responder(Some(reply))], written: false }.queued_reply(), "another run was written instead");
        let failed = Step { outcome: StepOutcome::Failed(PluginFailure { kind: proto::PluginFailureKind::Trap, message: "boom".into() }), ..responder(None) };
        assert!(!Report { steps: vec![failed], written: true }.queued_reply());
    }
}
