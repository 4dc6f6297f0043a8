//! `tandem import mbox FILE --inbox X`: every message of an mbox file through the same intake
//! path as mail from IMAP (raw stored first, deduplicated, threaded, plugins). Running it again
//! after an interruption skips what was imported (deduplication), so an import can resume.

use std::{io::BufReader, path::Path};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tandem_proto::IntakeState;
use tandem_store::Store;

use crate::config::Config;

/// Counts of what the import did.
#[derive(Debug, Default)]
struct Tally {
    imported: u64,
    duplicates: u64,
    unparseable: u64,
    no_ticket: u64,
}

async fn inbox_id(store: &Store, inbox: &str) -> anyhow::Result<i64> {
    if let Ok(id) = inbox.parse::<i64>() {
        return Ok(id);
    }
    match store.inbox_for_address(inbox).await? {
        Some(id) => Ok(id),
        None => bail!("no inbox with the address {inbox}"),
    }
}

pub async fn mbox(config: &Config, store: Store, file: &Path, inbox: &str, plugins: bool) -> anyhow::Result<()> {
    let inbox_id = inbox_id(&store, inbox).await?;
    let pipeline = if plugins { Some(crate::serve::open_plugins(config, &store).await?) } else { None };
    let intake = tandem_channel::Intake::new(store, pipeline, config.mail_limits());
    let handle = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let total = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta} left)").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let name = file.display().to_string();
    let mut tally = Tally::default();
    let mut read = 0u64;
    for (n, message) in mail_parser::mailbox::mbox::MessageIterator::new(BufReader::new(handle)).enumerate() {
        let message = message.with_context(|| format!("reading message {} of {name}", n + 1))?;
        let raw = message.contents();
        read += raw.len() as u64 + message.from().len() as u64 + 7;
        let source_ref = format!("{name} message {}", n + 1);
        let received = intake.receive(inbox_id, raw, "mbox", Some(&source_ref)).await.with_context(|| format!("importing message {} of {name}", n + 1))?;
        if received.recorded.duplicate {
            tally.duplicates += 1;
        } else {
            tally.imported += 1;
            match received.outcome.state {
                IntakeState::Unparseable => tally.unparseable += 1,
                IntakeState::AutoReply | IntakeState::Bounce | IntakeState::Loop => tally.no_ticket += 1,
                _ => {}
            }
        }
        progress.set_position(read.min(total));
        progress.set_message(format!("{} imported, {} already there", tally.imported, tally.duplicates));
    }
    progress.finish_and_clear();
    println!(
        "{name}: {} imported ({} without a ticket: bounces, auto-replies, loops; {} unparseable, kept raw), {} already imported before",
        tally.imported, tally.no_ticket, tally.unparseable, tally.duplicates
    );
    Ok(())
}
