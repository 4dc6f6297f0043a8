//! The pipeline: what happens to each new customer message.
//!
//! 1. Classifiers, in admin order; each sees the ticket as the previous ones left it.
//! 2. Routers, in admin order; the first decisive one wins, the rest are "not consulted".
//! 3. Responders, in admin order; the first reply wins (at most one automatic reply).
//!
//! Every call's outcome lands on the ticket's timeline (plugin, version, duration, reason)
//! and in the plugin's health. A failing plugin changes nothing and the pipeline goes on;
//! too many failures in a row disable it. The raw message is already stored (and committed)
//! before the pipeline runs, so nothing here can lose it.

use std::sync::Arc;

use serde_json::json;
use tandem_proto::{self as proto, PluginDecision, PluginFailure, PluginUsage, PluginWorld};
use tandem_store::automation::{PipelineView, PluginRef};

use crate::convert;
use crate::error::PluginError;
use crate::outcome::{CallOutcome, failure};
use crate::registry::{Entry, Registry};
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

    /// Runs the enabled plugins on a new customer message of ticket `number` (its latest one
    /// when `message_id` is `None`). Store errors end the run (and are returned); plugin
    /// failures never do.
    pub async fn on_inbound(&self, number: i64, message_id: Option<i64>) -> Result<Report, PluginError> {
        let snapshot = self.registry.snapshot();
        let store = self.registry.store();
        let mut view = store.pipeline_view(number, message_id).await?;
        let inbox_id = view.ticket.inbox_id;
        let mut report = Report::default();
        // Successful calls are counted in the plugins' health at the end, in one statement.
        let mut succeeded = Vec::new();

        for entry in snapshot.enabled(PluginWorld::Classifier, inbox_id) {
            let input = convert::classify_input(&view);
            let outcome = match &entry.component {
                Some(c) => self.registry.runtime().classify(c, &input, &self.context(entry)).await.map(convert::classification),
                None => CallOutcome::unavailable(entry.load_error.clone().unwrap_or_default()),
            };
            match outcome.result {
                Ok(decision) => {
                    view.ticket = store.apply_classification(number, &plugin_ref(entry), &decision, &outcome.usage).await?;
                    succeeded.push(entry.plugin.id);
                    report.push(entry, StepOutcome::Applied(PluginDecision::Classifier(decision)));
                }
                Err(f) => self.failed(number, entry, f, &outcome.usage, &mut report).await?,
            }
        }

        let mut routed = false;
        for entry in snapshot.enabled(PluginWorld::Router, inbox_id) {
            if routed {
                self.not_consulted(number, entry, "an earlier router decided", &mut report).await?;
                continue;
            }
            let input = convert::route_input(&view);
            let outcome = match &entry.component {
                Some(c) => self.registry.runtime().route(c, &input, &self.context(entry)).await.map(|d| convert::routing(d, &input)),
                None => CallOutcome::unavailable(entry.load_error.clone().unwrap_or_default()),
            };
            match outcome.result {
                Ok(decision) if decision.decided => match store.apply_routing(number, &plugin_ref(entry), &decision, &outcome.usage).await {
                    Ok(ticket) => {
                        view.ticket = ticket;
                        routed = true;
                        succeeded.push(entry.plugin.id);
                        report.push(entry, StepOutcome::Applied(PluginDecision::Router(decision)));
                    }
                    // The store's own checks (an assignee who may not hold the ticket) make it an
                    // invalid decision of this plugin, not an error of the pipeline.
                    Err(tandem_store::StoreError::Domain(e)) => {
                        let f = failure(proto::PluginFailureKind::InvalidOutput, format!("routing refused: {e}"));
                        self.failed(number, entry, f, &outcome.usage, &mut report).await?;
                    }
                    Err(e) => return Err(e.into()),
                },
                Ok(decision) => {
                    store.record_plugin_outcome(number, &plugin_ref(entry), "plugin.no_decision", &outcome.usage, json!({ "reason": decision.reason })).await?;
                    succeeded.push(entry.plugin.id);
                    report.push(entry, StepOutcome::NoDecision(decision.reason));
                }
                Err(f) => self.failed(number, entry, f, &outcome.usage, &mut report).await?,
            }
        }

        let mut replied = false;
        for entry in snapshot.enabled(PluginWorld::Responder, inbox_id) {
            if replied {
                self.not_consulted(number, entry, "an automatic reply was already queued", &mut report).await?;
                continue;
            }
            let input = convert::respond_input(&view);
            let outcome = match &entry.component {
                Some(c) => self.registry.runtime().respond(c, &input, &self.context(entry)).await.map(convert::response),
                None => CallOutcome::unavailable(entry.load_error.clone().unwrap_or_default()),
            };
            match outcome.result {
                Ok(decision) => match &decision.reply {
                    Some(reply) => {
                        store.add_auto_reply(number, &plugin_ref(entry), reply, &decision.reason, &outcome.usage).await?;
                        replied = true;
                        succeeded.push(entry.plugin.id);
                        report.push(entry, StepOutcome::Applied(PluginDecision::Responder(decision)));
                    }
                    None => {
                        store.record_plugin_outcome(number, &plugin_ref(entry), "plugin.no_reply", &outcome.usage, json!({ "reason": decision.reason })).await?;
                        succeeded.push(entry.plugin.id);
                        report.push(entry, StepOutcome::NoDecision(decision.reason));
                    }
                },
                Err(f) => self.failed(number, entry, f, &outcome.usage, &mut report).await?,
            }
        }
        store.record_plugin_successes(&succeeded).await?;
        Ok(report)
    }

    fn context(&self, entry: &Entry) -> CallContext {
        CallContext { config: entry.plugin.config.clone(), now_micros: self.registry.store().clock().now().timestamp_micros(), limits: entry.plugin.limits }
    }

    async fn failed(&self, number: i64, entry: &Entry, f: PluginFailure, usage: &PluginUsage, report: &mut Report) -> Result<(), PluginError> {
        tracing::warn!(plugin = %entry.plugin.name, version = entry.plugin.version_number, ticket = number, kind = %f.kind, message = %f.message, "plugin call failed");
        self.registry
            .store()
            .record_plugin_outcome(number, &plugin_ref(entry), "plugin.failed", usage, json!({ "failure": f }))
            .await?;
        self.health(entry, &f).await?;
        report.push(entry, StepOutcome::Failed(f));
        Ok(())
    }

    async fn not_consulted(&self, number: i64, entry: &Entry, why: &str, report: &mut Report) -> Result<(), PluginError> {
        let usage = PluginUsage { duration_us: 0, fuel: 0, memory_bytes: 0 };
        self.registry.store().record_plugin_outcome(number, &plugin_ref(entry), "plugin.not_consulted", &usage, json!({ "reason": why })).await?;
        report.push(entry, StepOutcome::NotConsulted);
        Ok(())
    }

    /// Counts the failed call; publishes a new snapshot when the plugin just got disabled.
    async fn health(&self, entry: &Entry, failure: &PluginFailure) -> Result<(), PluginError> {
        if let Some(reason) = self.registry.store().record_plugin_failure(entry.plugin.id, failure).await? {
            tracing::error!(plugin = %entry.plugin.name, %reason, "plugin disabled");
            self.registry.reload().await?;
        }
        Ok(())
    }
}

impl Report {
    fn push(&mut self, entry: &Entry, outcome: StepOutcome) {
        self.steps.push(Step { plugin: entry.plugin.name.clone(), version: entry.plugin.version_number, world: entry.plugin.world, outcome });
    }
}

fn plugin_ref(entry: &Entry) -> PluginRef {
    PluginRef { id: entry.plugin.id, name: entry.plugin.name.clone(), version: entry.plugin.version_number }
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
