//! Sign-in, sign-out, and what the signed-in user may change about themselves: profile,
//! password, API tokens, saved views.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use tandem_proto::{
    ApiToken, ChangePassword, CreateApiToken, CreateSavedView, CreatedApiToken, ErrorBody, LoginRequest, Me, SavedView, UpdateProfile,
    UpdateSavedView, User,
};

use crate::{
    auth::{Auth, session_cookie, session_secret},
    error::ApiResult,
    extract::{Json, Path},
    state::AppState,
};

/// Signs in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn login(State(state): State<AppState>, Json(input): Json<LoginRequest>) -> ApiResult<Response> {
    let session = state.store.login(&input.email, &input.password).await?;
    let max_age = (session.expires_at - state.store.clock().now()).num_seconds();
    let cookie = session_cookie(Some(&session.secret), max_age, state.settings.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(session.me)).into_response())
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(secret) = session_secret(&headers) {
        state.store.logout(&secret).await?;
    }
    let cookie = session_cookie(None, 0, state.settings.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The signed-in user with their inboxes and teams.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Me>> {
    Ok(Json(state.store.me(&auth.actor).await?))
}

/// Changes one's display name, language or availability.
#[utoipa::path(patch, path = "/api/v1/me", tag = "session", request_body = UpdateProfile, responses((status = 200, body = User)))]
pub async fn update_me(State(state): State<AppState>, auth: Auth, Json(input): Json<UpdateProfile>) -> ApiResult<Json<User>> {
    Ok(Json(state.store.update_profile(&auth.actor, input).await?))
}

/// Changes one's password (the current one is required); other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session", request_body = ChangePassword, responses((status = 204)))]
pub async fn change_password(State(state): State<AppState>, auth: Auth, Json(input): Json<ChangePassword>) -> ApiResult<StatusCode> {
    state.store.change_password(&auth.actor, &input.current_password, &input.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Personal API tokens.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "session", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.store.list_api_tokens(&auth.actor).await?))
}

/// Creates a personal API token; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "session", request_body = CreateApiToken, responses((status = 201, body = CreatedApiToken)))]
pub async fn create_token(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateApiToken>) -> ApiResult<(StatusCode, Json<CreatedApiToken>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_api_token(&auth.actor, input).await?)))
}

/// Revokes one of one's tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "session", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn revoke_token(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.revoke_api_token(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One's saved views (named ticket-list filters), in sidebar order, then the views others
/// shared with everyone (`shared`, `owner_name`), by name.
#[utoipa::path(get, path = "/api/v1/me/views", tag = "session", responses((status = 200, body = Vec<SavedView>)))]
pub async fn list_views(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<SavedView>>> {
    Ok(Json(state.store.list_saved_views(&auth.actor).await?))
}

/// Saves a view, last in the sidebar; `shared: true` shows it to everyone (supervisors and
/// admins only: 403 otherwise). 409 if one of one's views has the name; 422 for a filter
/// value that could never match.
#[utoipa::path(post, path = "/api/v1/me/views", tag = "session", request_body = CreateSavedView,
    responses((status = 201, body = SavedView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_view(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateSavedView>) -> ApiResult<(StatusCode, Json<SavedView>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_saved_view(&auth.actor, input).await?)))
}

/// Renames one of one's saved views, changes its filter, moves it in the sidebar, or shares
/// it with everyone (supervisors and admins) or stops sharing it.
#[utoipa::path(patch, path = "/api/v1/me/views/{id}", tag = "session", params(("id" = i64, Path)), request_body = UpdateSavedView,
    responses((status = 200, body = SavedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_view(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateSavedView>) -> ApiResult<Json<SavedView>> {
    Ok(Json(state.store.update_saved_view(&auth.actor, id, input).await?))
}

/// Deletes one of one's saved views (admins: also a view someone shared).
#[utoipa::path(delete, path = "/api/v1/me/views/{id}", tag = "session", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_view(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    state.store.delete_saved_view(&auth.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
