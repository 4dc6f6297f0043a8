//! The outbox sender: writes each queued message with `tandem_mail::outbound` and delivers it
//! with lettre to the inbox's SMTP server. Temporary failures (connection refused, 4xx) are
//! retried with exponential backoff; permanent ones (5xx, bad address, SMTP not configured)
//! fail the message at once. Either way the result is on the message in the API. The same
//! sender mails notifications (SLA warnings and breaches) to agents through the SMTP server
//! of the ticket's inbox.

use std::time::{Duration, Instant, SystemTime};

use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    address::Envelope,
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use tandem_mail::{
    MailAddress,
    outbound::{self, Outbound, OutboundAttachment},
};
use tandem_proto::{MessageKind, TlsMode};
use tandem_store::{
    Store,
    mail::{NotificationMail, OutboxJob, OutboxResult, SmtpAccount},
};

use crate::ChannelError;

const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

fn transport(account: &SmtpAccount) -> Result<AsyncSmtpTransport<Tokio1Executor>, ChannelError> {
    let params = || TlsParameters::new(account.host.clone()).map_err(|e| ChannelError::Tls(e.to_string()));
    let tls = match account.tls {
        TlsMode::Implicit => Tls::Wrapper(params()?),
        TlsMode::Starttls => Tls::Required(params()?),
        TlsMode::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(account.host.clone())
        .port(account.port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if !account.user.is_empty() {
        builder = builder.credentials(Credentials::new(account.user.clone(), account.password.clone()));
    }
    Ok(builder.build())
}

/// Connects and says hello (and logs in, when configured): what "test connection" shows.
pub async fn test(account: &SmtpAccount) -> tandem_proto::ConnectionTest {
    if account.host.trim().is_empty() {
        return crate::no_server("SMTP");
    }
    let started = Instant::now();
    let mut transcript = vec![format!("connecting to {}:{} ({})", account.host, account.port, account.tls)];
    let ok = match transport(account) {
        Ok(t) => match t.test_connection().await {
            Ok(true) => {
                transcript.push("the server accepted the connection (EHLO, TLS and login as configured)".into());
                true
            }
            Ok(false) => {
                transcript.push("the server did not answer NOOP".into());
                false
            }
            Err(e) => {
                transcript.push(format!("error: {e}"));
                false
            }
        },
        Err(e) => {
            transcript.push(format!("error: {e}"));
            false
        }
    };
    tandem_proto::ConnectionTest { ok, transcript, duration_ms: started.elapsed().as_millis() as u64 }
}

/// The written message for a job.
pub fn compose(store: &Store, job: &OutboxJob) -> Result<outbound::Built, OutboxResult> {
    let from_name = job.from_name_format.replace("{agent}", &job.author_name).replace("{inbox}", &job.inbox_name);
    let mut text = job.body_text.clone();
    if job.kind == MessageKind::Reply && !job.signature.trim().is_empty() {
        text.push_str("\n\n-- \n");
        text.push_str(job.signature.trim_end());
    }
    let mut attachments = Vec::new();
    for (filename, content_type, sha256) in &job.attachments {
        let bytes = store.blobs().get(sha256).map_err(|e| OutboxResult::Retry(format!("attachment {filename}: {e}")))?;
        attachments.push(OutboundAttachment { filename: filename.clone(), content_type: content_type.clone(), bytes });
    }
    let message = Outbound {
        ticket_number: job.ticket_number,
        from_name: Some(from_name.trim().to_owned()).filter(|n| !n.is_empty()),
        from_address: job.inbox_address.clone(),
        to: vec![MailAddress { email: job.to_email.clone(), name: Some(job.to_name.clone()).filter(|n| !n.is_empty()) }],
        cc: job.cc.iter().map(mail_address).collect(),
        bcc: job.bcc.iter().map(mail_address).collect(),
        subject: job.subject.clone().unwrap_or_else(|| job.ticket_subject.clone()),
        message_id: job.message_id.clone(),
        in_reply_to: job.in_reply_to.clone(),
        references: job.references.clone(),
        text,
        html: job.body_html.clone(),
        automatic: job.kind == MessageKind::AutoReply,
        notice: false,
        // The store's clock: tests can fix it, and the Date header agrees with the timeline.
        date: SystemTime::from(store.clock().now()),
        attachments,
    };
    outbound::build(&message).map_err(|e| OutboxResult::Failed(e.to_string()))
}

fn mail_address(a: &tandem_proto::MailAddress) -> MailAddress {
    MailAddress { email: a.email.clone(), name: a.name.clone() }
}

/// Delivers one job and says how it went.
pub async fn deliver(store: &Store, job: &OutboxJob) -> OutboxResult {
    let account = match store.smtp_account(job.inbox_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return OutboxResult::Failed("sending is not configured for this inbox (SMTP disabled)".into()),
        Err(e) => return OutboxResult::Retry(format!("reading the SMTP settings: {e}")),
    };
    // A job with files reads them and encodes them: file work, on a blocking thread.
    let built = if job.attachments.is_empty() {
        compose(store, job)
    } else {
        let (store, job) = (store.clone(), job.clone());
        tokio::task::spawn_blocking(move || compose(&store, &job)).await.unwrap_or_else(|e| Err(OutboxResult::Retry(format!("composing: {e}"))))
    };
    let built = match built {
        Ok(b) => b,
        Err(r) => return r,
    };
    send(&account, &built).await
}

/// The mail telling an agent about a notification: from the inbox, automatic, with a link.
pub fn compose_notification(store: &Store, mail: &NotificationMail) -> Result<outbound::Built, OutboxResult> {
    let domain = mail.inbox_address.rsplit_once('@').map(|(_, d)| d).unwrap_or("tandem.invalid");
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|e| OutboxResult::Retry(e.to_string()))?;
    let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let message = Outbound {
        ticket_number: mail.ticket_number,
        from_name: Some(format!("{} (Tandem)", mail.inbox_name)),
        from_address: mail.inbox_address.clone(),
        to: vec![MailAddress { email: mail.to_email.clone(), name: Some(mail.to_name.clone()).filter(|n| !n.is_empty()) }],
        cc: vec![],
        bcc: vec![],
        subject: format!("[Tandem] {}", mail.text.chars().take(150).collect::<String>()),
        message_id: format!("n{}.{id}@{domain}", mail.id),
        in_reply_to: None,
        references: vec![],
        text: format!("{}\n\n{}\n", mail.text, mail.ticket_url(store.public_url())),
        html: None,
        automatic: true,
        notice: true,
        date: SystemTime::from(store.clock().now()),
        attachments: vec![],
    };
    outbound::build(&message).map_err(|e| OutboxResult::Failed(e.to_string()))
}

/// Mails one notification and says how it went.
pub async fn deliver_notification(store: &Store, mail: &NotificationMail) -> OutboxResult {
    let account = match store.smtp_account(mail.inbox_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return OutboxResult::Failed("sending is not configured for the ticket's inbox (SMTP disabled)".into()),
        Err(e) => return OutboxResult::Retry(format!("reading the SMTP settings: {e}")),
    };
    match compose_notification(store, mail) {
        Ok(built) => send(&account, &built).await,
        Err(r) => r,
    }
}

async fn send(account: &SmtpAccount, built: &outbound::Built) -> OutboxResult {
    let transport = match transport(account) {
        Ok(t) => t,
        Err(e) => return OutboxResult::Failed(e.to_string()),
    };
    match send_to(&transport, built, &built.recipients).await {
        Ok(()) => OutboxResult::Sent,
        Err(OutboxResult::Failed(_)) if built.recipients.len() > 1 => each_alone(&transport, built).await,
        Err(result) => result,
    }
}

/// After the server refused a message with copies: the contact first, then each copy on its
/// own, so that one refused copy (a mistyped address) does not keep the reply from the others.
/// The first refusal ended that SMTP transaction before its data, so nobody got it twice.
async fn each_alone(transport: &AsyncSmtpTransport<Tokio1Executor>, built: &outbound::Built) -> OutboxResult {
    let Some((contact, copies)) = built.recipients.split_first() else { return OutboxResult::Failed("the message has no recipient".into()) };
    if let Err(result) = send_to(transport, built, std::slice::from_ref(contact)).await {
        return result;
    }
    let mut refused = Vec::new();
    for copy in copies {
        match send_to(transport, built, std::slice::from_ref(copy)).await {
            Ok(()) => {}
            // A copy the server could not take just now is not tried again: the contact has
            // the reply, and sending it all again would give them a second one.
            Err(OutboxResult::Failed(e) | OutboxResult::Retry(e) | OutboxResult::SentExcept(e)) => refused.push(format!("{copy}: {e}")),
            Err(OutboxResult::Sent) => {}
        }
    }
    if refused.is_empty() { OutboxResult::Sent } else { OutboxResult::SentExcept(format!("not delivered to {}", refused.join("; "))) }
}

/// One SMTP transaction: the message to `recipients`. The error is the attempt's result.
async fn send_to(transport: &AsyncSmtpTransport<Tokio1Executor>, built: &outbound::Built, recipients: &[String]) -> Result<(), OutboxResult> {
    let addr = |a: &str| a.parse::<Address>().map_err(|e| OutboxResult::Failed(format!("invalid address {a}: {e}")));
    let from = addr(&built.envelope_from)?;
    let to = recipients.iter().map(|r| addr(r)).collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(from), to).map_err(|e| OutboxResult::Failed(e.to_string()))?;
    match transport.send_raw(&envelope, &built.bytes).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(OutboxResult::Failed(e.to_string())),
        Err(e) => Err(OutboxResult::Retry(e.to_string())),
    }
}

/// Sends due mail until aborted: wakes on `wake`, or every `tick` to catch retries.
pub async fn run(store: Store, wake: std::sync::Arc<crate::intake::Signals>, tick: Duration, retry_base_secs: i64) {
    loop {
        match store.claim_outbox(20).await {
            Ok(jobs) if !jobs.is_empty() => {
                for job in jobs {
                    let result = deliver(&store, &job).await;
                    match &result {
                        OutboxResult::Sent => tracing::info!(message = job.message_row_id, ticket = job.ticket_number, "mail sent"),
                        OutboxResult::SentExcept(e) => tracing::warn!(message = job.message_row_id, ticket = job.ticket_number, error = %e, "mail sent, some copies refused"),
                        OutboxResult::Retry(e) => tracing::warn!(message = job.message_row_id, attempts = job.attempts + 1, error = %e, "mail not sent; will retry"),
                        OutboxResult::Failed(e) => tracing::warn!(message = job.message_row_id, error = %e, "mail failed"),
                    }
                    if let Err(e) = store.finish_outbox(&job, result, retry_base_secs).await {
                        tracing::error!(message = job.message_row_id, error = %e, "recording a delivery result");
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reading the outbox"),
        }
        match store.claim_notification_mail(20).await {
            Ok(mails) if !mails.is_empty() => {
                for mail in mails {
                    let result = deliver_notification(&store, &mail).await;
                    if !matches!(result, OutboxResult::Sent) {
                        tracing::warn!(notification = mail.id, result = ?result, "notification mail not sent");
                    }
                    if let Err(e) = store.finish_notification_mail(&mail, result, retry_base_secs).await {
                        tracing::error!(notification = mail.id, error = %e, "recording a notification mail result");
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reading the notification mail queue"),
        }
        tokio::select! {
            () = wake.outbox.notified() => {}
            () = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_test_without_a_host_says_so_without_connecting() {
        let account = SmtpAccount { inbox_id: 1, host: String::new(), port: 465, tls: tandem_proto::TlsMode::Implicit, user: String::new(), password: String::new() };
        let answer = test(&account).await;
        assert!(!answer.ok);
        assert_eq!(answer.transcript.len(), 1, "{:?}", answer.transcript);
        assert!(answer.transcript[0].starts_with("no SMTP server is set"), "{:?}", answer.transcript);
    }
}
