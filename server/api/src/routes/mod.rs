//! The route table. Every `/api/v1` route is declared through utoipa-axum, so the OpenAPI
//! document at `/api/v1/openapi.json` is generated from the same list the router serves.

pub mod contacts;
pub mod csat;
pub mod directory;
pub mod live;
pub mod mail;
pub mod plugins;
pub mod reports;
pub mod search;
pub mod session;
pub mod sla;
pub mod templates;
pub mod tickets;

use axum::{Router, extract::State, http::StatusCode, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::ApiError, extract::Json, metrics, state::AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tandem API", description = "Shared inbox and helpdesk. Authenticate with the session cookie from `POST /api/v1/session`, or with a personal token as `Authorization: Bearer <token>`. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    modifiers(&Security),
    security(("session" = []), ("bearer" = [])),
    // The frames of the live WebSocket (`GET /api/v1/live`), which no handler body names.
    components(schemas(tandem_proto::LiveEvent, tandem_proto::LiveCommand, tandem_proto::Viewer))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))));
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login, session::logout))
        .routes(routes!(session::me, session::update_me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::list_tokens, session::create_token))
        .routes(routes!(session::revoke_token))
        .routes(routes!(session::list_views, session::create_view))
        .routes(routes!(session::update_view, session::delete_view))
        .routes(routes!(tickets::list, tickets::create))
        .routes(routes!(tickets::counts))
        .routes(routes!(search::search))
        .routes(routes!(tickets::get, tickets::update))
        .routes(routes!(tickets::reply))
        .routes(routes!(tickets::note))
        .routes(routes!(tickets::assign))
        .routes(routes!(tickets::merge))
        .routes(routes!(tickets::split))
        .routes(routes!(tickets::bulk_update))
        .routes(routes!(tickets::bulk_reply))
        .routes(routes!(tickets::attachment))
        .routes(routes!(tickets::upload, tickets::pending_uploads))
        .routes(routes!(tickets::discard_upload))
        .routes(routes!(directory::list_users, directory::create_user))
        .routes(routes!(directory::get_user, directory::update_user))
        .routes(routes!(directory::list_inboxes, directory::create_inbox))
        .routes(routes!(directory::get_inbox, directory::update_inbox))
        .routes(routes!(directory::list_inbox_members, directory::add_inbox_member))
        .routes(routes!(directory::remove_inbox_member))
        .routes(routes!(directory::list_teams, directory::create_team))
        .routes(routes!(directory::get_team, directory::update_team))
        .routes(routes!(directory::add_team_member))
        .routes(routes!(directory::remove_team_member))
        .routes(routes!(contacts::list, contacts::create))
        .routes(routes!(contacts::get, contacts::update))
        .routes(routes!(contacts::tickets))
        .routes(routes!(contacts::tags))
        .routes(routes!(templates::list, templates::create))
        .routes(routes!(templates::get, templates::update, templates::delete))
        .routes(routes!(templates::preview))
        .routes(routes!(reports::dashboard))
        .routes(routes!(reports::breakdown))
        .routes(routes!(reports::export))
        .routes(routes!(sla::list_calendars, sla::create_calendar))
        .routes(routes!(sla::update_calendar, sla::delete_calendar))
        .routes(routes!(sla::list_policies, sla::create_policy))
        .routes(routes!(sla::update_policy, sla::delete_policy))
        .routes(routes!(sla::notifications))
        .routes(routes!(sla::read_notification))
        .routes(routes!(sla::read_all_notifications))
        .routes(routes!(sla::my_reminders))
        .routes(routes!(sla::delete_reminder))
        .routes(routes!(sla::ticket_reminders, sla::create_reminder))
        .routes(routes!(templates::events))
        .routes(routes!(plugins::list, plugins::upload))
        .routes(routes!(plugins::get, plugins::update))
        .routes(routes!(plugins::dry_run))
        .routes(routes!(mail::get_settings, mail::update_settings))
        .routes(routes!(mail::test_imap))
        .routes(routes!(mail::test_smtp))
        .routes(routes!(mail::ingest_raw))
        .routes(routes!(mail::intake_log))
        .routes(routes!(mail::intake_raw))
        .routes(routes!(mail::message_html))
        .routes(routes!(mail::resend))
        .routes(routes!(live::live))
        .routes(routes!(csat::get, csat::rate))
        .split_for_parts()
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, tandem_proto::codes::UNAVAILABLE, "the database does not answer")
    })?;
    Ok("ready")
}

/// Operational routes outside the versioned API.
pub fn operational() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics_endpoint))
        // The customer's satisfaction page: public, the signed token is the credential.
        .route("/csat/{token}", get(csat::page_get).post(csat::page_post))
}

/// Serves the OpenAPI document.
pub fn openapi_route(doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    let doc = std::sync::Arc::new(doc);
    Router::new().route("/api/v1/openapi.json", get(move || {
        let doc = doc.clone();
        async move { Json(doc.as_ref().clone()) }
    }))
}
