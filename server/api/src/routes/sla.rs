//! SLA policies and business-hours calendars, the user's notifications and reminders.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use tandem_proto::{Calendar, CreateReminder, Notifications, Reminder, SaveCalendar, SaveSlaPolicy, SlaPolicy};

use crate::{
    auth::Auth,
    error::ApiResult,
    extract::{Json, Path, Query},
    state::AppState,
};

#[utoipa::path(get, path = "/api/v1/sla/calendars", tag = "sla", responses((status = 200, body = Vec<Calendar>)))]
pub async fn list_calendars(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Calendar>>> {
    Ok(Json(state.store.list_calendars(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/sla/calendars", tag = "sla", request_body = SaveCalendar, responses((status = 201, body = Calendar)))]
pub async fn create_calendar(State(state): State<AppState>, auth: Auth, Json(input): Json<SaveCalendar>) -> ApiResult<(StatusCode, Json<Calendar>)> {
    Ok((StatusCode::CREATED, Json(state.store.save_calendar(&auth.actor, None, input).await?)))
}

#[utoipa::path(put, path = "/api/v1/sla/calendars/{id}", tag = "sla", params(("id" = i64, Path)), request_body = SaveCalendar,
    responses((status = 200, body = Calendar)))]
pub async fn update_calendar(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<SaveCalendar>) -> ApiResult<Json<Calendar>> {
    Ok(Json(state.store.save_calendar(&auth.actor, Some(id), input).await?))
}

#[utoipa::path(delete, path = "/api/v1/sla/calendars/{id}", tag = "sla", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_calendar(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.delete_calendar(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/sla/policies", tag = "sla", responses((status = 200, body = Vec<SlaPolicy>)))]
pub async fn list_policies(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<SlaPolicy>>> {
    Ok(Json(state.store.list_sla_policies(&auth.actor).await?))
}

/// Creates a policy; open tickets are re-evaluated at once.
#[utoipa::path(post, path = "/api/v1/sla/policies", tag = "sla", request_body = SaveSlaPolicy, responses((status = 201, body = SlaPolicy)))]
pub async fn create_policy(State(state): State<AppState>, auth: Auth, Json(input): Json<SaveSlaPolicy>) -> ApiResult<(StatusCode, Json<SlaPolicy>)> {
    Ok((StatusCode::CREATED, Json(state.store.save_sla_policy(&auth.actor, None, input).await?)))
}

#[utoipa::path(put, path = "/api/v1/sla/policies/{id}", tag = "sla", params(("id" = i64, Path)), request_body = SaveSlaPolicy,
    responses((status = 200, body = SlaPolicy)))]
pub async fn update_policy(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<SaveSlaPolicy>) -> ApiResult<Json<SlaPolicy>> {
    Ok(Json(state.store.save_sla_policy(&auth.actor, Some(id), input).await?))
}

#[utoipa::path(delete, path = "/api/v1/sla/policies/{id}", tag = "sla", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_policy(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.delete_sla_policy(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The signed-in user's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationQuery), responses((status = 200, body = Notifications)))]
pub async fn notifications(State(state): State<AppState>, auth: Auth, Query(query): Query<NotificationQuery>) -> ApiResult<Json<Notifications>> {
    Ok(Json(state.store.notifications(&auth.actor, query.unread.unwrap_or(false), query.limit.unwrap_or(50)).await?))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn read_notification(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.mark_notifications_read(&auth.actor, Some(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", responses((status = 204)))]
pub async fn read_all_notifications(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    state.store.mark_notifications_read(&auth.actor, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user's pending reminders, soonest first.
#[utoipa::path(get, path = "/api/v1/reminders", tag = "notifications", responses((status = 200, body = Vec<Reminder>)))]
pub async fn my_reminders(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Reminder>>> {
    Ok(Json(state.store.reminders(&auth.actor, None).await?))
}

#[utoipa::path(delete, path = "/api/v1/reminders/{id}", tag = "notifications", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_reminder(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.delete_reminder(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user's reminders on one ticket (fired ones too).
#[utoipa::path(get, path = "/api/v1/tickets/{number}/reminders", tag = "tickets", params(("number" = i64, Path)),
    responses((status = 200, body = Vec<Reminder>)))]
pub async fn ticket_reminders(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>) -> ApiResult<Json<Vec<Reminder>>> {
    Ok(Json(state.store.reminders(&auth.actor, Some(number)).await?))
}

/// Sets a reminder for the signed-in user; it fires as a notification.
#[utoipa::path(post, path = "/api/v1/tickets/{number}/reminders", tag = "tickets", params(("number" = i64, Path)), request_body = CreateReminder,
    responses((status = 201, body = Reminder)))]
pub async fn create_reminder(State(state): State<AppState>, auth: Auth, Path(number): Path<i64>, Json(input): Json<CreateReminder>) -> ApiResult<(StatusCode, Json<Reminder>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_reminder(&auth.actor, number, input).await?)))
}
