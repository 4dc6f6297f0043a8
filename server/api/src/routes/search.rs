//! Full-text search over the tickets the caller can see.

use axum::extract::State;
use tandem_proto::{ErrorBody, SearchParams, SearchResults};

use crate::{
    auth::Auth,
    error::ApiResult,
    extract::{Json, Query},
    state::AppState,
};

/// Tickets matching words, `"phrases"`, `-exclusions` and filters (`status:`, `priority:`,
/// `assignee:`, `tag:`, `from:`, `inbox:`, `team:`), best match first, with the matching
/// words of the subject and of one message marked. Case, accents and word forms (English,
/// French, Polish, Russian) do not matter. A query the language cannot read is a 422 that
/// says why.
#[utoipa::path(get, path = "/api/v1/search", tag = "tickets", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(State(state): State<AppState>, auth: Auth, Query(params): Query<SearchParams>) -> ApiResult<Json<SearchResults>> {
    Ok(Json(state.store.search(&auth.actor, &params).await?))
}
