//! IMAP intake: one task per inbox. Everything new in each folder is imported by UID (above
//! the highest UID imported so far, per UIDVALIDITY), so nothing depends on `\Seen` flags and
//! mail another client has read is still imported. The `\Seen` flag or a move happens only
//! after the message is committed. IDLE when the server supports it, polling otherwise.

use std::time::{Duration, Instant};

use async_imap::{Client, Session, types::UnsolicitedResponse};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::TryStreamExt;
use tandem_proto::{AfterImport, ExistingMail, TlsMode};
use tandem_store::mail::{ImapAccount, ImapFolderState};

use crate::{
    ChannelError, Intake,
    tls::{self, BoxStream},
};

/// Most messages fetched per round trip.
const FETCH_BATCH: usize = 50;
/// Most bytes of mail fetched per round trip (the sizes the server reports): a batch is held
/// in memory whole while it is parsed and applied, and must arrive within [`COMMAND_TIMEOUT`].
/// A larger message is fetched on its own.
const FETCH_BATCH_BYTES: u64 = 16 << 20;
/// How often a long sync remembers how far it got (the highest imported UID), besides at its
/// end: a sync cut short by a crash fetches at most this much mail again, which the intake
/// finds recorded and does not import twice. Each bookmark is a write transaction.
const BOOKMARK_EVERY: Duration = Duration::from_secs(1);
/// Longest wait for any single IMAP command or response.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// IDLE is re-issued this often (RFC 2177 asks for less than 29 minutes).
const IDLE_RENEW: Duration = Duration::from_secs(20 * 60);

pub type ImapSession = Session<BoxStream>;

async fn timed<T>(what: &'static str, f: impl Future<Output = Result<T, ChannelError>>) -> Result<T, ChannelError> {
    tokio::time::timeout(COMMAND_TIMEOUT, f).await.map_err(|_| ChannelError::Timeout(what))?
}

/// Connects, reads the greeting, secures the connection as configured and logs in. Each step
/// is appended to `transcript` (never the password).
pub async fn connect(account: &ImapAccount, transcript: &mut Vec<String>) -> Result<ImapSession, ChannelError> {
    let tcp = tls::tcp(&account.host, account.port).await?;
    transcript.push(format!("connected to {}:{}", account.host, account.port));
    let stream: BoxStream = match account.tls {
        TlsMode::Implicit => tls::wrap(&account.host, tcp).await?,
        TlsMode::None | TlsMode::Starttls => Box::new(tcp),
    };
    let mut client = Client::new(stream);
    let greeting = timed("the IMAP greeting", async { client.read_response().await.map_err(|e| ChannelError::Imap(e.to_string())) }).await?;
    let greeting = greeting.ok_or_else(|| ChannelError::Imap("the server closed the connection before greeting".into()))?;
    transcript.push(format!("greeting: {}", String::from_utf8_lossy(greeting.borrow_owner()).trim()));
    if account.tls == TlsMode::Starttls {
        timed("STARTTLS", async { client.run_command_and_check_ok("STARTTLS", None).await.map_err(ChannelError::from) }).await?;
        let plain = client.into_inner();
        let secured = tls::wrap(&account.host, plain).await?;
        client = Client::new(secured);
        transcript.push("STARTTLS: TLS established".into());
    }
    let session = timed("LOGIN", async {
        client.login(&account.user, &account.password).await.map_err(|(e, _)| ChannelError::Imap(format!("login as {} refused: {e}", account.user)))
    })
    .await?;
    transcript.push(format!("logged in as {}", account.user));
    Ok(session)
}

/// Connects, logs in, lists capabilities and selects the folders: what "test connection" shows.
pub async fn test(account: &ImapAccount) -> tandem_proto::ConnectionTest {
    if account.host.trim().is_empty() {
        return crate::no_server("IMAP");
    }
    let started = Instant::now();
    let mut transcript = Vec::new();
    let result: Result<(), ChannelError> = async {
        let mut session = connect(account, &mut transcript).await?;
        let caps = timed("CAPABILITY", async { session.capabilities().await.map_err(ChannelError::from) }).await?;
        let mut names: Vec<String> = caps
            .iter()
            .map(|c| match c {
                async_imap::types::Capability::Imap4rev1 => "IMAP4rev1".to_owned(),
                async_imap::types::Capability::Auth(a) => format!("AUTH={a}"),
                async_imap::types::Capability::Atom(a) => a.clone(),
            })
            .collect();
        names.sort();
        transcript.push(format!("capabilities: {}", names.join(" ")));
        for folder in &account.folders {
            let mb = timed("SELECT", async { session.select(folder).await.map_err(ChannelError::from) }).await?;
            transcript.push(format!("{folder}: {} messages, UIDVALIDITY {}", mb.exists, mb.uid_validity.unwrap_or(0)));
        }
        session.logout().await.ok();
        Ok(())
    }
    .await;
    if let Err(e) = &result {
        transcript.push(format!("error: {e}"));
    }
    tandem_proto::ConnectionTest { ok: result.is_ok(), transcript, duration_ms: started.elapsed().as_millis() as u64 }
}

/// Imports everything new in `folder`. Returns how many messages were received.
pub async fn sync_folder(intake: &Intake, account: &ImapAccount, session: &mut ImapSession, folder: &str) -> Result<usize, ChannelError> {
    let store = intake.store();
    let mailbox = timed("SELECT", async { session.select(folder).await.map_err(ChannelError::from) }).await?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    let state = store.imap_folder_state(account.inbox_id, folder).await?;
    if let Some(old) = state.filter(|s| s.uid_validity != validity) {
        // The folder was recreated: UIDs start over. It is read again (all of it, or what
        // `existing_mail` asks for since the last read) and deduplication (by Message-ID, or
        // content) keeps what was imported before from being imported twice.
        tracing::warn!(inbox = account.inbox_id, folder, old = old.uid_validity, new = validity, "UIDVALIDITY changed; reading the folder again");
    }
    let last_uid = match start(account.existing_mail, account.recent_days, state, validity, store.clock().now()) {
        Start::After(uid) => uid,
        _ if mailbox.exists == 0 => 0,
        start => {
            // Decided once: the folder is remembered above the mail left out before anything
            // is fetched, so a sync that fails later does not take that mail in after all.
            let floor = skip_existing(session, &mailbox, start).await?;
            store.set_imap_folder_state(account.inbox_id, folder, validity, floor).await?;
            tracing::info!(inbox = account.inbox_id, folder, ?start, above_uid = floor, exists = mailbox.exists, "existing mail left on the server");
            floor
        }
    };
    if mailbox.exists == 0 {
        store.set_imap_folder_state(account.inbox_id, folder, validity, last_uid).await?;
        return Ok(0);
    }
    // Every new message's UID and size in one round trip. `n:*` also answers the last message
    // when none is above n: filtered out.
    let mut sizes: Vec<(u32, u64)> = timed("UID FETCH (sizes)", async {
        let stream = session.uid_fetch(format!("{}:*", last_uid.saturating_add(1)), "(UID RFC822.SIZE)").await?;
        stream
            .try_filter_map(|f| futures::future::ok(f.uid.filter(|&uid| uid > last_uid).map(|uid| (uid, f.size.map_or(0, u64::from)))))
            .try_collect::<Vec<_>>()
            .await
            .map_err(ChannelError::from)
    })
    .await?;
    sizes.sort_unstable();
    sizes.dedup_by_key(|(uid, _)| *uid);
    // The plugin runs of one batch are made while the next is fetched and applied; all are
    // made before this returns, also when a batch failed.
    let queue = intake.pipeline_queue();
    let mut highest = last_uid;
    let synced: Result<usize, ChannelError> = async {
        let mut received = 0;
        let mut bookmarked = Instant::now();
        for chunk in batches(&sizes, FETCH_BATCH, FETCH_BATCH_BYTES) {
            // Each response is copied out and dropped as it arrives: the batch is in memory once.
            let mut fetched: Vec<(u32, Vec<u8>)> = timed("UID FETCH", async {
                let stream = session.uid_fetch(&set_of(&chunk), "(UID BODY.PEEK[])").await?;
                stream
                    .try_filter_map(|f| futures::future::ok(f.uid.zip(f.body().map(<[u8]>::to_vec))))
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(ChannelError::from)
            })
            .await?;
            fetched.sort_by_key(|(uid, _)| *uid);
            let refs: Vec<String> = fetched.iter().map(|(uid, _)| format!("{folder} uidvalidity {validity} uid {uid}")).collect();
            let items: Vec<(&[u8], Option<&str>)> = fetched.iter().zip(&refs).map(|((_, raw), r)| (raw.as_slice(), Some(r.as_str()))).collect();
            intake.receive_batch_queued(account.inbox_id, &items, "imap", &queue).await?;
            received += fetched.len();
            // A UID the server listed but returned no body for (expunged meanwhile) is passed over.
            highest = fetched.iter().map(|(uid, _)| *uid).chain(chunk.last().copied()).fold(highest, u32::max);
            if bookmarked.elapsed() >= BOOKMARK_EVERY {
                store.set_imap_folder_state(account.inbox_id, folder, validity, highest).await?;
                bookmarked = Instant::now();
            }
            if !fetched.is_empty() {
                let done: Vec<u32> = fetched.iter().map(|(uid, _)| *uid).collect();
                after_import(account, session, &set_of(&done)).await?;
            }
        }
        Ok(received)
    }
    .await;
    queue.finish().await;
    // Where the next sync starts, also after a failed batch: the batches before it are in.
    let bookmark = store.set_imap_folder_state(account.inbox_id, folder, validity, highest).await;
    match (synced, bookmark) {
        (Ok(received), Ok(())) => Ok(received),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), bookmark) => {
            if let Err(b) = bookmark {
                tracing::warn!(inbox = account.inbox_id, folder, error = %b, "remembering the highest imported UID after a failed batch");
            }
            Err(e)
        }
    }
}

/// Where reading a folder starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Above this UID (the folder's bookmark; 0: everything).
    After(u32),
    /// At the first message that arrived in the folder on or after this day (the server's
    /// arrival date); above everything when none did.
    ArrivedSince(NaiveDate),
    /// Above everything in the folder now.
    Top,
}

/// Where a read of a folder whose UIDVALIDITY is `validity` starts, given what is remembered
/// of it (`state`) and which existing mail the inbox wants: a folder read before goes on above
/// its bookmark; one read for the first time, or recreated since, starts as `existing_mail`
/// says (recreated: at the mail that arrived since a day before its last read, unless all).
fn start(existing_mail: ExistingMail, recent_days: u16, state: Option<ImapFolderState>, validity: u32, now: DateTime<Utc>) -> Start {
    match (state, existing_mail) {
        (Some(s), _) if s.uid_validity == validity => Start::After(s.last_uid),
        (_, ExistingMail::All) => Start::After(0),
        (Some(s), _) => Start::ArrivedSince((s.read_at - TimeDelta::days(1)).date_naive()),
        (None, ExistingMail::Recent) => Start::ArrivedSince((now - TimeDelta::days(i64::from(recent_days))).date_naive()),
        (None, ExistingMail::None) => Start::Top,
    }
}

/// The UID above which reading starts, for a start other than [`Start::After`]: the mail below
/// it stays on the server, never imported.
async fn skip_existing(session: &mut ImapSession, mailbox: &async_imap::types::Mailbox, start: Start) -> Result<u32, ChannelError> {
    let top = async |session: &mut ImapSession| match mailbox.uid_next {
        Some(next) => Ok(next.saturating_sub(1)),
        None => timed("UID SEARCH ALL", async { Ok(session.uid_search("ALL").await?.into_iter().max().unwrap_or(0)) }).await,
    };
    match start {
        Start::After(uid) => Ok(uid),
        Start::Top => top(session).await,
        Start::ArrivedSince(day) => {
            // IMAP's date: `7-Dec-2026` (RFC 3501 `date-text`, English month names).
            let query = format!("SINCE {}", day.format("%-d-%b-%Y"));
            let first = timed("UID SEARCH SINCE", async { Ok(session.uid_search(&query).await?.into_iter().min()) }).await?;
            match first {
                Some(uid) => Ok(uid.saturating_sub(1)),
                None => top(session).await,
            }
        }
    }
}

/// The UIDs of `sizes` (ascending UIDs with their sizes) in fetch batches, in order: each of
/// at most `max_count` messages and `max_bytes` bytes, except a message larger than
/// `max_bytes`, which makes a batch of its own.
fn batches(sizes: &[(u32, u64)], max_count: usize, max_bytes: u64) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in sizes {
        match out.last_mut() {
            Some(batch) if batch.len() < max_count && bytes.saturating_add(size) <= max_bytes => {
                batch.push(uid);
                bytes += size;
            }
            _ => {
                out.push(vec![uid]);
                bytes = size;
            }
        }
    }
    out
}

/// An IMAP sequence set of `uids`: `3,5,9`.
fn set_of(uids: &[u32]) -> String {
    uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

async fn after_import(account: &ImapAccount, session: &mut ImapSession, set: &str) -> Result<(), ChannelError> {
    match (account.after_import, &account.move_to) {
        (AfterImport::Seen, _) => {
            timed("UID STORE", async {
                let stream = session.uid_store(set, "+FLAGS.SILENT (\\Seen)").await?;
                stream.try_collect::<Vec<_>>().await.map_err(ChannelError::from)
            })
            .await?;
        }
        (AfterImport::Move, Some(to)) => {
            timed("UID MOVE", async { session.uid_mv(set, to).await.map_err(ChannelError::from) }).await?;
        }
        _ => {}
    }
    Ok(())
}

/// One connection's life: sync every folder, then wait for news (IDLE or a poll interval).
/// Returns only on error.
async fn session_loop(intake: &Intake, account: &ImapAccount, poll: Duration, connected: &mut bool) -> Result<(), ChannelError> {
    let mut transcript = Vec::new();
    let mut session = connect(account, &mut transcript).await?;
    let caps = timed("CAPABILITY", async { session.capabilities().await.map_err(ChannelError::from) }).await?;
    let idle = caps.has_str("IDLE");
    *connected = true;
    tracing::info!(inbox = account.inbox_id, host = %account.host, idle, "IMAP connected");
    loop {
        for folder in &account.folders {
            sync_folder(intake, account, &mut session, folder).await?;
        }
        // What the server announced unasked during the sync: new mail means sync again now.
        let unsolicited = session.unsolicited_responses.clone();
        if news_in(&unsolicited) {
            continue;
        }
        if idle {
            // The last folder synced is still selected: wait on it. With more than one
            // folder the wait is bounded by the poll interval so the others are checked.
            let wait = if account.folders.len() > 1 { poll } else { IDLE_RENEW };
            let mut handle = session.idle();
            timed("IDLE", async { handle.init().await.map_err(ChannelError::from) }).await?;
            // Mail that arrived between the last search and IDLE is announced before IDLE's
            // continuation, and async-imap files that under unsolicited responses: look there
            // before waiting, or that message would wait for the next one.
            if !news_in(&unsolicited) {
                let (fut, _stop) = handle.wait_with_timeout(wait);
                fut.await?;
            }
            session = timed("DONE", async { handle.done().await.map_err(ChannelError::from) }).await?;
        } else {
            tokio::time::sleep(poll).await;
            timed("NOOP", async { session.noop().await.map_err(ChannelError::from) }).await?;
        }
    }
}

/// Drains the unsolicited responses; whether one announced new mail.
fn news_in(unsolicited: &async_channel::Receiver<UnsolicitedResponse>) -> bool {
    let mut news = false;
    while let Ok(r) = unsolicited.try_recv() {
        news |= matches!(r, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_));
    }
    news
}

/// The supervised worker of one inbox: reconnects with exponential backoff (1 s … 5 min) and
/// never returns; the supervisor aborts it when the account changes.
pub async fn run(intake: Intake, account: ImapAccount, poll: Duration) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut connected = false;
        if let Err(e) = session_loop(&intake, &account, poll, &mut connected).await {
            if connected {
                backoff = Duration::from_secs(1);
            }
            tracing::warn!(inbox = account.inbox_id, host = %account.host, error = %e, retry_in = ?backoff, "IMAP intake interrupted");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[tokio::test]
    async fn a_test_without_a_host_says_so_without_connecting() {
        let account = ImapAccount {
            inbox_id: 1,
            host: " ".into(),
            port: 993,
            tls: TlsMode::Implicit,
            user: String::new(),
            password: String::new(),
            folders: vec!["INBOX".into()],
            after_import: AfterImport::Seen,
            move_to: None,
            existing_mail: ExistingMail::All,
            recent_days: 14,
        };
        let answer = test(&account).await;
        assert!(!answer.ok);
        assert_eq!(answer.transcript.len(), 1, "{:?}", answer.transcript);
        assert!(answer.transcript[0].starts_with("no IMAP server is set"), "{:?}", answer.transcript);
    }

    #[test]
    fn a_folder_starts_at_its_bookmark_or_where_existing_mail_says() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:30:00Z").expect("time").to_utc();
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("day");
        let read = ImapFolderState { uid_validity: 7, last_uid: 420, read_at: DateTime::parse_from_rfc3339("2026-11-30T00:30:00Z").expect("time").to_utc() };
        for existing in ExistingMail::ALL {
            // Read before: on from the bookmark, whatever the setting says now.
            assert_eq!(start(*existing, 14, Some(read), 7, now), Start::After(420), "{existing}");
        }
        // Read for the first time.
        assert_eq!(start(ExistingMail::All, 14, None, 7, now), Start::After(0));
        assert_eq!(start(ExistingMail::Recent, 14, None, 7, now), Start::ArrivedSince(day("2026-11-23")));
        assert_eq!(start(ExistingMail::Recent, 1, None, 7, now), Start::ArrivedSince(day("2026-12-06")));
        assert_eq!(start(ExistingMail::None, 14, None, 7, now), Start::Top);
        // Recreated (another UIDVALIDITY): all again, or what arrived since a day before the last read.
        assert_eq!(start(ExistingMail::All, 14, Some(read), 8, now), Start::After(0));
        assert_eq!(start(ExistingMail::Recent, 14, Some(read), 8, now), Start::ArrivedSince(day("2026-11-29")));
        assert_eq!(start(ExistingMail::None, 14, Some(read), 8, now), Start::ArrivedSince(day("2026-11-29")));
    }

    #[test]
    fn batches_end_at_the_count_or_the_bytes_and_a_large_message_goes_alone() {
        let mb = 1 << 20;
        let sizes = [(1, 3 * mb), (2, 6 * mb), (3, 6 * mb), (4, 40 * mb), (5, mb), (7, 0), (9, 15 * mb), (10, mb)];
        assert_eq!(batches(&sizes, 50, 16 * mb), vec![vec![1, 2, 3], vec![4], vec![5, 7, 9], vec![10]]);
        let small: Vec<(u32, u64)> = (1..=120).map(|uid| (uid, 2_000)).collect();
        let counts: Vec<usize> = batches(&small, 50, 16 * mb).iter().map(Vec::len).collect();
        assert_eq!(counts, [50, 50, 20]);
        assert!(batches(&[], 50, 16 * mb).is_empty());
    }

    proptest! {
        /// Every UID once, in order; no batch over either limit unless it is one message; and
        /// a batch ends only where the next message would not have fitted.
        #[test]
        fn batches_cover_every_uid_within_the_limits(
            sizes in proptest::collection::vec(0u64..40, 0..200),
            max_count in 1usize..8,
            max_bytes in 1u64..100,
        ) {
            let sizes: Vec<(u32, u64)> = sizes.into_iter().enumerate().map(|(i, s)| (i as u32 * 2 + 1, s)).collect();
            let out = batches(&sizes, max_count, max_bytes);
            let uids: Vec<u32> = out.iter().flatten().copied().collect();
            prop_assert_eq!(uids, sizes.iter().map(|(uid, _)| *uid).collect::<Vec<_>>());
            let size_of = |uid: u32| sizes.iter().find(|(u, _)| *u == uid).map_or(0, |(_, s)| *s);
            for (i, batch) in out.iter().enumerate() {
                prop_assert!(!batch.is_empty());
                let bytes: u64 = batch.iter().map(|&uid| size_of(uid)).sum();
                prop_assert!(batch.len() <= max_count);
                prop_assert!(bytes <= max_bytes || batch.len() == 1, "{:?} holds {} bytes", batch, bytes);
                if let Some(next) = out.get(i + 1) {
                    prop_assert!(batch.len() == max_count || bytes + size_of(next[0]) > max_bytes, "{:?} could have taken {}", batch, next[0]);
                }
            }
        }
    }
}
