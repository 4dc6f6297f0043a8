//! The email channel (admins): inbox mail settings with write-only secrets, "test connection",
//! the raw-message intake endpoint (for an MTA pipe or a provider's webhook), the intake log
//! with each raw message, a message's HTML with remote content, and sending a failed reply
//! again.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use tandem_proto::{ConnectionTest, ErrorBody, InboundMail, IngestResult, IntakeState, MailSettings, Message, Page, UpdateMailSettings};

use crate::{
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{Json, Path, Query},
    state::AppState,
};

impl From<tandem_channel::ChannelError> for ApiError {
    fn from(err: tandem_channel::ChannelError) -> Self {
        match err {
            tandem_channel::ChannelError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "mail channel error");
                ApiError::internal()
            }
        }
    }
}

#[utoipa::path(get, path = "/api/v1/inboxes/{id}/mail", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = MailSettings), (status = 403, body = tandem_proto::ErrorBody)))]
pub async fn get_settings(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<MailSettings>> {
    Ok(Json(state.store.mail_settings(&auth.actor, id).await?))
}

/// Changes addresses, IMAP and SMTP settings. Passwords are write-only (`password_set` tells
/// whether one is stored); an empty password removes it. IMAP workers restart on change.
#[utoipa::path(patch, path = "/api/v1/inboxes/{id}/mail", tag = "mail", params(("id" = i64, Path)), request_body = UpdateMailSettings,
    responses((status = 200, body = MailSettings), (status = 422, body = tandem_proto::ErrorBody)))]
pub async fn update_settings(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateMailSettings>) -> ApiResult<Json<MailSettings>> {
    let settings = state.store.update_mail_settings(&auth.actor, id, input).await?;
    state.mail.accounts_changed();
    Ok(Json(settings))
}

/// Connects to the IMAP server as configured, logs in and selects the folders; returns what
/// the server answered.
#[utoipa::path(post, path = "/api/v1/inboxes/{id}/mail/test-imap", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionTest)))]
pub async fn test_imap(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<ConnectionTest>> {
    let account = state.store.imap_account(&auth.actor, id).await?;
    Ok(Json(tandem_channel::imap::test(&account).await))
}

/// Connects to the SMTP server as configured (TLS and login included); returns the answer.
#[utoipa::path(post, path = "/api/v1/inboxes/{id}/mail/test-smtp", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = ConnectionTest)))]
pub async fn test_smtp(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<ConnectionTest>> {
    let account = state.store.smtp_account_for_test(&auth.actor, id).await?;
    Ok(Json(tandem_channel::smtp::test(&account).await))
}

/// Delivers one raw RFC 5322 message into the inbox (admins' tokens: an MTA pipe or a
/// provider webhook). The raw message is stored before it is parsed; the same message twice
/// is a duplicate (200), never a second message. Unparseable mail is kept and logged (201).
#[utoipa::path(post, path = "/api/v1/inboxes/{id}/messages/raw", tag = "mail", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "message/rfc822"),
    responses((status = 201, body = IngestResult), (status = 200, body = IngestResult), (status = 413, body = tandem_proto::ErrorBody)))]
pub async fn ingest_raw(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, headers: HeaderMap, body: Body) -> ApiResult<(StatusCode, Json<IngestResult>)> {
    // Admins only (403), and the inbox must exist (404), before the body is read.
    state.store.mail_settings(&auth.actor, id).await?;
    let limit = state.settings.max_raw_message_bytes;
    let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, tandem_proto::codes::PAYLOAD_TOO_LARGE, format!("raw messages are limited to {limit} bytes (or the upload broke off)"));
    // A declared length over the limit is refused before any of the body is read.
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    if bytes.is_empty() {
        return Err(ApiError::validation("body", "send the raw message (RFC 5322) as the request body"));
    }
    let received = state.mail.receive(id, &bytes, "api", None).await?;
    let inbound = state.store.inbound(received.recorded.id).await?;
    let status = if received.recorded.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(IngestResult { inbound, duplicate: received.recorded.duplicate })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IntakeQuery {
    pub state: Option<IntakeState>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The intake log: every raw message received for the inbox and what became of it, newest first.
#[utoipa::path(get, path = "/api/v1/inboxes/{id}/intake", tag = "mail", params(("id" = i64, Path), IntakeQuery),
    responses((status = 200, body = Page<InboundMail>)))]
pub async fn intake_log(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Query(q): Query<IntakeQuery>) -> ApiResult<Json<Page<InboundMail>>> {
    let before = q.cursor.as_deref().map(|c| c.parse::<i64>().map_err(|_| ApiError::validation("cursor", "not a cursor from this list"))).transpose()?;
    Ok(Json(state.store.list_inbound(&auth.actor, id, q.state, before, q.limit.unwrap_or(50)).await?))
}

/// The raw message of an intake entry, exactly as received.
#[utoipa::path(get, path = "/api/v1/intake/{id}/raw", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822", body = Vec<u8>)))]
pub async fn intake_raw(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = state.store.inbound_raw(Some(&auth.actor), id).await?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822"), (header::CONTENT_DISPOSITION, "attachment; filename=\"message.eml\"")], bytes).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HtmlQuery {
    /// Include remote images (blocked by default).
    #[serde(default)]
    pub remote: bool,
    /// `json` (default) or `document`: the HTML as a page of its own, for a sandboxed
    /// `<iframe>`, with a Content-Security-Policy that allows images from anywhere and
    /// nothing else (no scripts, no forms, no styles from elsewhere).
    #[serde(default)]
    pub view: HtmlView,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HtmlView {
    #[default]
    Json,
    Document,
}

/// The policy of a message shown as its own document: remote images may load (the reader
/// asked), everything else is off, and `sandbox` gives the page a unique origin with no
/// scripts even if the frame around it forgot its own `sandbox` attribute.
const MESSAGE_DOCUMENT_CSP: &str =
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageHtml {
    /// Sanitised HTML; `null` when the message has none.
    pub html: Option<String>,
    pub remote: bool,
}

/// A message's sanitised HTML, with remote content only when asked for (`remote=true`).
#[utoipa::path(get, path = "/api/v1/messages/{id}/html", tag = "mail", params(("id" = i64, Path), HtmlQuery),
    responses((status = 200, body = MessageHtml), (status = 200, description = "`view=document`: the HTML page", content_type = "text/html")))]
pub async fn message_html(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Query(q): Query<HtmlQuery>) -> ApiResult<Response> {
    let html = state.store.message_html(&auth.actor, id, q.remote).await?;
    Ok(match q.view {
        HtmlView::Json => Json(MessageHtml { html, remote: q.remote }).into_response(),
        HtmlView::Document => {
            let page = format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><base target=\"_blank\"></head><body>{}</body></html>",
                html.unwrap_or_default()
            );
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, MESSAGE_DOCUMENT_CSP),
                    (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
                    (header::REFERRER_POLICY, "no-referrer"),
                ],
                page,
            )
                .into_response()
        }
    })
}

/// Sends a reply or auto-reply whose delivery failed once more (agents, supervisors and
/// admins of its inbox): queued at once, its attempts counted afresh, recorded on the ticket.
/// 409 when the message is not a failed delivery, its ticket is closed, or the inbox has no
/// SMTP set up.
#[utoipa::path(post, path = "/api/v1/messages/{id}/resend", tag = "mail", params(("id" = i64, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resend(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Message>> {
    let message = state.store.resend_message(&auth.actor, id).await?;
    state.mail.outbox_changed();
    Ok(Json(message))
}
