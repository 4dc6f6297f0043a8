//! Users, inboxes, teams and memberships.

use axum::{extract::State, http::StatusCode};
use tandem_proto::{AddMember, CreateInbox, CreateTeam, CreateUser, ErrorBody, Inbox, Team, UpdateInbox, UpdateTeam, UpdateUser, User, UserRef};
use tandem_store::Group;

use crate::{auth::Auth, error::ApiResult, extract::{Json, Path}, state::AppState};

#[utoipa::path(get, path = "/api/v1/users", tag = "directory", responses((status = 200, body = Vec<User>)))]
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_users(&auth.actor).await?))
}

/// Creates a user (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "directory", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateUser>) -> ApiResult<(StatusCode, Json<User>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_user(Some(&auth.actor), input).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = User)))]
pub async fn get_user(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_user(&auth.actor, id).await?))
}

/// Changes a user: role, name, language, skills, availability, disabled, password (admins).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "directory", params(("id" = i64, Path)), request_body = UpdateUser,
    responses((status = 200, body = User)))]
pub async fn update_user(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateUser>) -> ApiResult<Json<User>> {
    Ok(Json(state.store.update_user(&auth.actor, id, input).await?))
}

/// Inboxes the caller belongs to (all of them for admins).
#[utoipa::path(get, path = "/api/v1/inboxes", tag = "directory", responses((status = 200, body = Vec<Inbox>)))]
pub async fn list_inboxes(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Inbox>>> {
    Ok(Json(state.store.list_inboxes(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/inboxes", tag = "directory", request_body = CreateInbox, responses((status = 201, body = Inbox)))]
pub async fn create_inbox(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateInbox>) -> ApiResult<(StatusCode, Json<Inbox>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_inbox(Some(&auth.actor), input).await?)))
}

#[utoipa::path(get, path = "/api/v1/inboxes/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = Inbox)))]
pub async fn get_inbox(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Inbox>> {
    Ok(Json(state.store.get_inbox(&auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/inboxes/{id}", tag = "directory", params(("id" = i64, Path)), request_body = UpdateInbox,
    responses((status = 200, body = Inbox)))]
pub async fn update_inbox(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateInbox>) -> ApiResult<Json<Inbox>> {
    Ok(Json(state.store.update_inbox(&auth.actor, id, input).await?))
}

#[utoipa::path(get, path = "/api/v1/inboxes/{id}/members", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = Vec<UserRef>)))]
pub async fn list_inbox_members(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Vec<UserRef>>> {
    Ok(Json(state.store.list_inbox_members(&auth.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/inboxes/{id}/members", tag = "directory", params(("id" = i64, Path)), request_body = AddMember,
    responses((status = 204)))]
pub async fn add_inbox_member(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<AddMember>) -> ApiResult<StatusCode> {
    state.store.set_membership(Some(&auth.actor), Group::Inbox, id, input.user_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/inboxes/{id}/members/{user_id}", tag = "directory",
    params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 204)))]
pub async fn remove_inbox_member(State(state): State<AppState>, auth: Auth, Path((id, user_id)): Path<(i64, i64)>) -> ApiResult<StatusCode> {
    state.store.set_membership(Some(&auth.actor), Group::Inbox, id, user_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "directory", responses((status = 200, body = Vec<Team>)))]
pub async fn list_teams(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.store.list_teams(&auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "directory", request_body = CreateTeam, responses((status = 201, body = Team)))]
pub async fn create_team(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateTeam>) -> ApiResult<(StatusCode, Json<Team>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_team(Some(&auth.actor), input).await?)))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "directory", params(("id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn get_team(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Team>> {
    Ok(Json(state.store.get_team(&auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "directory", params(("id" = i64, Path)), request_body = UpdateTeam,
    responses((status = 200, body = Team)))]
pub async fn update_team(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateTeam>) -> ApiResult<Json<Team>> {
    Ok(Json(state.store.update_team(&auth.actor, id, input).await?))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "directory", params(("id" = i64, Path)), request_body = AddMember,
    responses((status = 204)))]
pub async fn add_team_member(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<AddMember>) -> ApiResult<StatusCode> {
    state.store.set_membership(Some(&auth.actor), Group::Team, id, input.user_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "directory",
    params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 204)))]
pub async fn remove_team_member(State(state): State<AppState>, auth: Auth, Path((id, user_id)): Path<(i64, i64)>) -> ApiResult<StatusCode> {
    state.store.set_membership(Some(&auth.actor), Group::Team, id, user_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
