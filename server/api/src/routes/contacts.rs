//! Contacts, their ticket history, and tags.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use tandem_proto::{Contact, CreateContact, Page, Tag, Ticket, UpdateContact};
use tandem_store::TicketFilter;

use crate::{
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{Json, Path, Query},
    state::AppState,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// Matches name, email or company.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ContactQuery), responses((status = 200, body = Page<Contact>)))]
pub async fn list(State(state): State<AppState>, auth: Auth, Query(query): Query<ContactQuery>) -> ApiResult<Json<Page<Contact>>> {
    let after = query
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<i64>().map_err(|_| ApiError::validation("cursor", "this cursor was not issued by this list")))
        .transpose()?;
    Ok(Json(state.store.list_contacts(&auth.actor, query.q.as_deref(), after, query.limit.unwrap_or(50)).await?))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = CreateContact, responses((status = 201, body = Contact)))]
pub async fn create(State(state): State<AppState>, auth: Auth, Json(input): Json<CreateContact>) -> ApiResult<(StatusCode, Json<Contact>)> {
    Ok((StatusCode::CREATED, Json(state.store.create_contact(&auth.actor, input).await?)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)), responses((status = 200, body = Contact)))]
pub async fn get(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Contact>> {
    Ok(Json(state.store.get_contact(&auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)), request_body = UpdateContact,
    responses((status = 200, body = Contact)))]
pub async fn update(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdateContact>) -> ApiResult<Json<Contact>> {
    Ok(Json(state.store.update_contact(&auth.actor, id, input).await?))
}

/// The contact's tickets that the caller can see, newest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/tickets", tag = "contacts", params(("id" = i64, Path)), responses((status = 200, body = Page<Ticket>)))]
pub async fn tickets(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Page<Ticket>>> {
    state.store.get_contact(&auth.actor, id).await?;
    let filter = TicketFilter { contact_id: Some(id), limit: 200, ..Default::default() };
    Ok(Json(state.store.list_tickets(&auth.actor, filter).await?))
}

/// Tags in use on tickets the caller can see, with counts.
#[utoipa::path(get, path = "/api/v1/tags", tag = "contacts", responses((status = 200, body = Vec<Tag>)))]
pub async fn tags(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Tag>>> {
    Ok(Json(state.store.list_tags(&auth.actor).await?))
}
