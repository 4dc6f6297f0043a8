//! The plugin registry (admins): upload, list, configure, enable, reorder, scope, roll back,
//! dry-run.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use serde::Deserialize;
use tandem_plugins::{PluginError, pipeline};
use tandem_proto::{DryRun, DryRunResult, Plugin, PluginWorld, UpdatePlugin};

use crate::{
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{Json, Path, Query},
    state::AppState,
};

impl From<PluginError> for ApiError {
    fn from(err: PluginError) -> Self {
        match err {
            PluginError::Invalid(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_component", message).with_field("body"),
            PluginError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "plugin host error");
                ApiError::internal()
            }
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The plugin's name (`[a-z0-9-]`): a new plugin, or a new version of an existing one.
    pub name: String,
    /// The world the component must implement (checked); detected when left out.
    pub world: Option<PluginWorld>,
}

#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", responses((status = 200, body = Vec<Plugin>), (status = 403, body = tandem_proto::ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Plugin>>> {
    Ok(Json(state.store.list_plugins(&auth.actor).await?))
}

/// Uploads a component (the raw bytes, `content-type: application/wasm`). A new name creates
/// a disabled plugin; an existing name gets a new active version (the old ones stay for
/// roll-back). The component is checked and compiled before anything is stored.
#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = Plugin), (status = 415, body = tandem_proto::ErrorBody), (status = 422, body = tandem_proto::ErrorBody)))]
pub async fn upload(State(state): State<AppState>, auth: Auth, Query(query): Query<UploadQuery>, headers: HeaderMap, body: Body) -> ApiResult<(StatusCode, Json<Plugin>)> {
    tandem_domain::policy::authorize(&auth.actor, tandem_domain::policy::Action::ManagePlugins).map_err(tandem_store::StoreError::from)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.trim().eq_ignore_ascii_case("application/wasm") {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the component's bytes with `content-type: application/wasm`"));
    }
    // Components are larger than other bodies (tens of MB for Python or JavaScript plugins):
    // this route reads its body with the component limit instead of the general one.
    let limit = tandem_plugins::runtime::MAX_COMPONENT_BYTES;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, tandem_proto::codes::PAYLOAD_TOO_LARGE, format!("components are limited to {limit} bytes (or the upload broke off)"))
    })?;
    let plugin = state.plugins.registry().upload(&auth.actor, &query.name, query.world, bytes.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(plugin)))
}

#[utoipa::path(get, path = "/api/v1/plugins/{id}", tag = "plugins", params(("id" = i64, Path)), responses((status = 200, body = Plugin)))]
pub async fn get(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Plugin>> {
    Ok(Json(state.store.get_plugin(&auth.actor, id).await?))
}

/// Enable or disable, reorder, scope to inboxes, configure, set limits, or switch the active
/// version (roll back). Takes effect for the next message, without a restart. A new
/// configuration is first tried on the plugin (once, on a sample message, applying nothing):
/// if the plugin answers `invalid-config`, the change is refused (422, field `config`) with
/// its message.
#[utoipa::path(patch, path = "/api/v1/plugins/{id}", tag = "plugins", params(("id" = i64, Path)), request_body = UpdatePlugin,
    responses((status = 200, body = Plugin), (status = 422, body = tandem_proto::ErrorBody)))]
pub async fn update(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<UpdatePlugin>) -> ApiResult<Json<Plugin>> {
    Ok(Json(state.plugins.registry().update(&auth.actor, id, input).await?))
}

/// Runs the plugin (enabled or not, any version) against a ticket's latest customer message
/// or a sample message, and returns its decision, resource use and logs. Applies nothing.
#[utoipa::path(post, path = "/api/v1/plugins/{id}/dry-run", tag = "plugins", params(("id" = i64, Path)), request_body = DryRun,
    responses((status = 200, body = DryRunResult), (status = 422, body = tandem_proto::ErrorBody)))]
pub async fn dry_run(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>, Json(input): Json<DryRun>) -> ApiResult<Json<DryRunResult>> {
    // Admins only, and the plugin must exist (404), before any ticket is read.
    state.store.get_plugin(&auth.actor, id).await?;
    let view = match (&input.ticket_number, &input.sample) {
        (Some(number), None) => state.store.pipeline_view(*number, None).await?,
        (None, Some(sample)) => state.store.sample_view(sample).await?,
        _ => return Err(ApiError::validation("ticket_number", "give either `ticket_number` or `sample`")),
    };
    let config = match &input.config {
        Some(c) if !c.is_object() => return Err(ApiError::validation("config", "the configuration must be a JSON object")),
        Some(c) => Some(c.to_string()),
        None => None,
    };
    let now = input.now.unwrap_or_else(|| state.store.clock().now()).timestamp_micros();
    Ok(Json(pipeline::dry_run(state.plugins.registry(), id, input.version_id, &view, config, now).await?))
}
