//! The live channel's handshake (`GET /api/v1/live`); the connection itself is `crate::live`.

use axum::{
    extract::{
        State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::HeaderMap,
    response::Response,
};
use tandem_proto::{ErrorBody, codes};

use crate::{
    auth::{Auth, Credential, refuse_cross_site},
    error::{ApiError, ApiResult},
    live::socket,
    state::AppState,
};

/// Opens the live WebSocket: ticket changes and presence. Server frames are `LiveEvent` JSON
/// (the first is `hello`), client frames `LiveCommand` JSON; malformed client frames are
/// ignored. Authenticated like every route; a browser handshake from another site (its
/// `Origin` is not this server) is refused.
#[utoipa::path(get, path = "/api/v1/live", tag = "live",
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, body = ErrorBody, description = "Not a WebSocket handshake"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The handshake comes from another site"),
    ))]
pub async fn live(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    refuse_cross_site(&headers)?;
    let credential = Credential::from_headers(&headers)?.ok_or_else(ApiError::unauthenticated)?;
    let upgrade = upgrade.map_err(|rejection| {
        let message = format!("{}: connect with a WebSocket client", rejection.body_text());
        ApiError::new(rejection.status(), codes::BAD_REQUEST, message)
    })?;
    Ok(socket::accept(upgrade, state.live.clone(), state.store.clone(), auth.actor, credential))
}
