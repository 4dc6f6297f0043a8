//! Runs the channel: recovery of unprocessed intake, one IMAP worker per enabled inbox
//! (restarted when its settings change, so a dead or slow inbox never stalls the others), and
//! the outbox sender.

use std::{collections::HashMap, time::Duration};

use tandem_store::mail::ImapAccount;
use tokio::task::JoinHandle;

use crate::{Intake, imap, smtp};

/// Timing of the channel's tasks.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    /// How often a server without IDLE (or extra folders) is polled.
    pub imap_poll: Duration,
    /// The sender looks for due retries at least this often.
    pub outbox_tick: Duration,
    /// First retry delay of a temporarily failed delivery (doubles each attempt).
    pub retry_base_secs: i64,
    /// Whether to run IMAP workers and the sender at all (off for one-shot commands).
    pub workers: bool,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        ChannelSettings { imap_poll: Duration::from_secs(30), outbox_tick: Duration::from_secs(1), retry_base_secs: 30, workers: true }
    }
}

/// The running channel.
#[derive(Debug)]
pub struct Channel {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Channel {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Channel {
    /// Starts recovery, the IMAP supervisor and the sender.
    pub fn start(intake: Intake, settings: ChannelSettings) -> Channel {
        let mut tasks = Vec::new();
        let recovering = intake.clone();
        tasks.push(tokio::spawn(async move {
            match recovering.store().requeue_interrupted_outbox().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "outbox: interrupted sends queued again"),
                Err(e) => tracing::error!(error = %e, "outbox recovery"),
            }
            match recovering.store().requeue_interrupted_notification_mail().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notifications = n, "notification mail: interrupted sends queued again"),
                Err(e) => tracing::error!(error = %e, "notification mail recovery"),
            }
            match recovering.recover().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "intake: processed messages recorded before a restart"),
                Err(e) => tracing::error!(error = %e, "intake recovery"),
            }
            match recovering.recover_pipeline_runs().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "plugin pipeline: runs interrupted by a restart done"),
                Err(e) => tracing::error!(error = %e, "plugin pipeline recovery"),
            }
        }));
        if settings.workers {
            let s = settings.clone();
            let sup = intake.clone();
            tasks.push(tokio::spawn(async move { supervise(sup, s).await }));
            let store = intake.store().clone();
            let signals = intake.signals().clone();
            tasks.push(tokio::spawn(async move { smtp::run(store, signals, settings.outbox_tick, settings.retry_base_secs).await }));
        }
        Channel { tasks }
    }
}

async fn supervise(intake: Intake, settings: ChannelSettings) {
    let mut running: HashMap<i64, (ImapAccount, JoinHandle<()>)> = HashMap::new();
    loop {
        match intake.store().imap_accounts().await {
            Ok(accounts) => {
                let wanted: HashMap<i64, ImapAccount> = accounts.into_iter().map(|a| (a.inbox_id, a)).collect();
                running.retain(|id, (account, handle)| {
                    let keep = wanted.get(id) == Some(account) && !handle.is_finished();
                    if !keep {
                        handle.abort();
                        tracing::info!(inbox = id, "IMAP worker stopped");
                    }
                    keep
                });
                for (id, account) in wanted {
                    if running.contains_key(&id) {
                        continue;
                    }
                    tracing::info!(inbox = id, host = %account.host, "IMAP worker started");
                    let handle = tokio::spawn(imap::run(intake.clone(), account.clone(), settings.imap_poll));
                    running.insert(id, (account, handle));
                }
            }
            Err(e) => tracing::error!(error = %e, "reading IMAP accounts"),
        }
        tokio::select! {
            () = intake.signals().accounts.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}
