//! Tickets: list, counts, read, create, change, reply, note, assign, merge, split, bulk.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use tandem_proto::{
    AssignTicket, BulkFailure, BulkReply, BulkResult, BulkUpdate, CreateTicket, ErrorBody, MergeTicket, MessageKind,
    MessagePosted, Page, PostMessage, Priority, SplitTicket, Ticket, TicketDetail, TicketQuery, TicketStatus, UpdateTicket,
    Upload, ViewCounts,
};
use tandem_store::{AssigneeFilter, BulkOutcome, TicketFilter};

use crate::{
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{Json, Path, Query},
    response_cache::cached_json,
    state::AppState,
};

fn parse_list<T: std::str::FromStr>(field: &str, raw: Option<&str>) -> Result<Vec<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.map(|s| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| p.parse::<T>().map_err(|e| ApiError::validation(field, e.to_string()))).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

fn filter_from(query: TicketQuery, auth: &Auth) -> Result<TicketFilter, ApiError> {
    let assignee = match query.assignee.as_deref() {
        None | Some("") | Some("any") => AssigneeFilter::Any,
        Some("me") => AssigneeFilter::User(auth.actor.user_id),
        Some("none") => AssigneeFilter::Nobody,
        Some(id) => AssigneeFilter::User(id.parse().map_err(|_| ApiError::validation("assignee", "use a user id, `me` or `none`"))?),
    };
    if query.limit.is_some_and(|l| l == 0 || l > 200) {
        return Err(ApiError::validation("limit", "limit is 1 to 200"));
    }
    Ok(TicketFilter {
        statuses: parse_list::<TicketStatus>("status", query.status.as_deref())?,
        priorities: parse_list::<Priority>("priority", query.priority.as_deref())?,
        inbox_id: query.inbox,
        team_id: query.team,
        assignee,
        tag: query.tag.filter(|t| !t.is_empty()),
        contact_id: query.contact,
        snoozed: query.snoozed,
        sla: query.sla,
        sort: query.sort,
        cursor: query.cursor.filter(|c| !c.is_empty()),
        limit: query.limit.unwrap_or(50),
    })
}

/// Tickets the caller can see, filtered and sorted, one page at a time.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(TicketQuery),
    responses((status = 200, body = Page<Ticket>), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth, Query(query): Query<TicketQuery>) -> ApiResult<Response> {
    let filter = filter_from(query, &auth)?;
    let key = (auth.actor.visible_inboxes().cloned(), filter.clone());
    cached_json(&state, &state.reads.tickets, "tickets", key, state.store.list_tickets(&auth.actor, filter)).await
}

/// Sizes of the sidebar views (unassigned, mine, open, pending, snoozed, solved; active
/// tickets per inbox and per team) among the tickets the caller can see.
#[utoipa::path(get, path = "/api/v1/tickets/counts", tag = "tickets",
    responses((status = 200, body = ViewCounts), (status = 401, body = ErrorBody)))]
pub async fn counts(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
    let key = (auth.actor.user_id, auth.actor.visible_inboxes().cloned());
    cached_json(&state, &state.reads.counts, "counts", key, state.store.ticket_counts(&auth.actor)).await
}

/// Opens a ticket: a new inbound message on behalf of a contact.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = CreateTicket,
    responses((status = 201, body = TicketDetail), (status = 422, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateTicket>) -> ApiResult<Response> {
    let detail = match state.plugins.covers(input.inbox_id) {
        true => create_for_plugins(&state, &auth, input).await?,
        // No enabled plugin covers the inbox: nothing to mark, nothing to run.
        false => state.store.create_ticket(&auth.actor, input).await?,
    };
    let location = format!("/api/v1/tickets/{}", detail.ticket.number);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(detail)).into_response())
}

/// Opens a ticket whose message is marked for the plugin pipeline, then runs the pipeline.
async fn create_for_plugins(state: &AppState, auth: &Auth, input: CreateTicket) -> ApiResult<TicketDetail> {
    let detail = state.store.create_ticket_for_plugins(&auth.actor, input).await?;
    // The message is committed (marked for the pipeline); plugins now classify, route and
    // answer it. Their failures are on the ticket's timeline; only a storage error while
    // recording them ends up here: it does not undo the ticket, and the message stays marked
    // for the next start's recovery.
    let run = match detail.messages.first() {
        Some(message) => state.plugins.on_marked(detail.ticket.number, message.id).await,
        None => state.plugins.on_inbound(detail.ticket.number, None).await,
    };
    Ok(match run {
        Ok(report) => {
            // An automatic reply is in the outbox: the sender goes now, not on its next tick.
            if report.queued_reply() {
                state.mail.outbox_changed();
            }
            state.store.get_ticket(&auth.actor, detail.ticket.number).await?
        }
        Err(e) => {
            tracing::error!(ticket = detail.ticket.number, error = %e, "plugin pipeline");
            detail
        }
    })
}

/// A ticket with its conversation and timeline.
#[utoipa::path(get, path = "/api/v1/tickets/{number}", tag = "tickets", params(("number" = i64, Path)),
    responses((status = 200, body = TicketDetail), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>) -> ApiResult<Json<TicketDetail>> {
    Ok(Json(state.store.get_ticket(&auth.actor, number).await?))
}

/// Changes fields; `version` must be the current one (409 otherwise).
#[utoipa::path(patch, path = "/api/v1/tickets/{number}", tag = "tickets", params(("number" = i64, Path)), request_body = UpdateTicket,
    responses((status = 200, body = Ticket), (status = 409, body = ErrorBody)))]
pub async fn update(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<UpdateTicket>) -> ApiResult<Json<Ticket>> {
    Ok(Json(state.store.update_ticket(&auth.actor, number, input).await?))
}

/// Replies to the customer. 409 with the unseen messages if the conversation moved on.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/replies", tag = "tickets", params(("number" = i64, Path)), request_body = PostMessage,
    responses((status = 201, body = MessagePosted), (status = 409, body = ErrorBody)))]
pub async fn reply(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<PostMessage>) -> ApiResult<(StatusCode, Json<MessagePosted>)> {
    let posted = state.store.post_message(&auth.actor, number, MessageKind::Reply, input).await?;
    state.mail.outbox_changed();
    Ok((StatusCode::CREATED, Json(posted)))
}

/// Adds an internal note. Guarded like replies.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/notes", tag = "tickets", params(("number" = i64, Path)), request_body = PostMessage,
    responses((status = 201, body = MessagePosted), (status = 409, body = ErrorBody)))]
pub async fn note(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<PostMessage>) -> ApiResult<(StatusCode, Json<MessagePosted>)> {
    Ok((StatusCode::CREATED, Json(state.store.post_message(&auth.actor, number, MessageKind::Note, input).await?)))
}

/// Assigns or unassigns, optionally routing to a team.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/assign", tag = "tickets", params(("number" = i64, Path)), request_body = AssignTicket,
    responses((status = 200, body = Ticket)))]
pub async fn assign(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<AssignTicket>) -> ApiResult<Json<Ticket>> {
    Ok(Json(state.store.assign_ticket(&auth.actor, number, input).await?))
}

/// Merges this ticket into another; answers the survivor.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/merge", tag = "tickets", params(("number" = i64, Path)), request_body = MergeTicket,
    responses((status = 200, body = Ticket)))]
pub async fn merge(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<MergeTicket>) -> ApiResult<Json<Ticket>> {
    Ok(Json(state.store.merge_tickets(&auth.actor, number, input.into).await?))
}

/// Moves one customer message into a new ticket; answers the new ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/split", tag = "tickets", params(("number" = i64, Path)), request_body = SplitTicket,
    responses((status = 201, body = Ticket)))]
pub async fn split(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<SplitTicket>) -> ApiResult<(StatusCode, Json<Ticket>)> {
    Ok((StatusCode::CREATED, Json(state.store.split_ticket(&auth.actor, number, input).await?)))
}

fn bulk_result(outcome: BulkOutcome) -> BulkResult {
    BulkResult {
        succeeded: outcome.succeeded,
        failed: outcome.failed.into_iter().map(|(number, e)| BulkFailure { number, error: *ApiError::from(e).detail }).collect(),
    }
}

/// Applies one change to many tickets; reports each ticket's outcome.
#[utoipa::path(post, path = "/api/v1/tickets/bulk", tag = "tickets", request_body = BulkUpdate, responses((status = 200, body = BulkResult)))]
pub async fn bulk_update(State(state): State<AppState>, auth: Auth, Json(input): Json<BulkUpdate>) -> ApiResult<Json<BulkResult>> {
    Ok(Json(bulk_result(state.store.bulk_update(&auth.actor, input).await?)))
}

/// Sends one reply to many tickets (an incident notice).
#[utoipa::path(post, path = "/api/v1/tickets/bulk-reply", tag = "tickets", request_body = BulkReply, responses((status = 200, body = BulkResult)))]
pub async fn bulk_reply(State(state): State<AppState>, auth: Auth, Json(input): Json<BulkReply>) -> ApiResult<Json<BulkResult>> {
    Ok(Json(bulk_result(state.store.bulk_reply(&auth.actor, input).await?)))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadFileQuery {
    /// The file's name (paths and control characters are removed).
    pub filename: String,
}

/// Attaches a file in the composer before sending (the raw bytes; `content-type` is the
/// file's type). A reply or note of the same caller on this ticket takes it with
/// `attachment_ids`; unsent uploads are dropped after a day.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/uploads", tag = "tickets", params(("number" = i64, Path), UploadFileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Upload), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    Path(number): Path<i64>,
    Query(query): Query<UploadFileQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<Upload>)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    // Files may be larger than other bodies: this route reads its body with the attachment limit.
    let limit = tandem_store::MAX_ATTACHMENT_BYTES;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, tandem_proto::codes::PAYLOAD_TOO_LARGE, format!("attachments are limited to {limit} bytes (or the upload broke off)"))
    })?;
    let upload = state.store.upload_attachment(&auth.actor, number, &query.filename, content_type, &bytes).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// The caller's files attached on this ticket and not sent yet.
#[utoipa::path(get, path = "/api/v1/tickets/{number}/uploads", tag = "tickets", params(("number" = i64, Path)),
    responses((status = 200, body = Vec<Upload>), (status = 404, body = ErrorBody)))]
pub async fn pending_uploads(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>) -> ApiResult<Json<Vec<Upload>>> {
    Ok(Json(state.store.pending_uploads(&auth.actor, number).await?))
}

/// Drops one of the caller's unsent uploads.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn discard_upload(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.discard_upload(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Downloads an attachment (always as a download, never rendered inline).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn attachment(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Response> {
    let (meta, bytes) = state.store.attachment(&auth.actor, id).await?;
    let filename = meta.filename.replace(['"', '\\', '\r', '\n'], "_");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
