//! Canned responses and the audit trail.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use tandem_proto::{CreateTemplate, Event, Page, PreviewTemplate, RenderedTemplate, Template, UpdateTemplate};
use tandem_store::EventFilter;

use crate::{
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{Json, Path, Query},
    state::AppState,
};

#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", responses((status = 200, body = Vec<Template>)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Template>>> {
    Ok(Json(state.store.list_templates(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = CreateTemplate, responses((status = 201, body = Template)))]
pub async fn create(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateTemplate>) -> ApiResult<(StatusCode, Json<Template>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_template(Some(&auth.actor), input).await?)))
}

#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = i64, Path)), responses((status = 200, body = Template)))]
pub async fn get(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Template>> {
    Ok(Json(state.store.get_template(&auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = i64, Path)), request_body = UpdateTemplate,
    responses((status = 200, body = Template)))]
pub async fn update(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateTemplate>) -> ApiResult<Json<Template>> {
    Ok(Json(state.store.update_template(&auth.actor, id, input).await?))
}

#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.delete_template(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Renders a saved template or a draft against a ticket (or sample data).
#[utoipa::path(post, path = "/api/v1/templates/preview", tag = "templates", request_body = PreviewTemplate,
    responses((status = 200, body = RenderedTemplate)))]
pub async fn preview(State(state): State<AppState>, auth: Auth, Json(input): Json<PreviewTemplate>) -> ApiResult<Json<RenderedTemplate>> {
    Ok(Json(state.store.preview_template(&auth.actor, input).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events of this ticket number.
    pub ticket: Option<i64>,
    /// Only this kind, e.g. `ticket.updated`, `user.created`.
    pub kind: Option<String>,
    /// Only events by this user.
    pub actor: Option<i64>,
    pub cursor: Option<String>,
    /// 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// The global audit trail, newest first (admins).
#[utoipa::path(get, path = "/api/v1/events", tag = "audit", params(EventQuery), responses((status = 200, body = Page<Event>)))]
pub async fn events(State(state): State<AppState>, auth: Auth, Query(query): Query<EventQuery>) -> ApiResult<Json<Page<Event>>> {
    let before_id = query
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<i64>().map_err(|_| ApiError::validation("cursor", "this cursor was not issued by this list")))
        .transpose()?;
    let filter = EventFilter { ticket_number: query.ticket, kind: query.kind, actor_id: query.actor, before_id, limit: query.limit.unwrap_or(100) };
    Ok(Json(state.store.list_events(&auth.actor, filter).await?))
}
