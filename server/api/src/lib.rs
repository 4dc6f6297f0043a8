//! Tandem's HTTP layer (axum): JSON REST under `/api/v1`, the web UI's files at `/`,
//! health, readiness and metrics.
//!
//! Handlers are thin: extract, call [`tandem_store::Store`], map the error. Permissions are
//! decided by `tandem_domain::policy` inside the store, never here.

pub mod auth;
pub mod error;
pub mod extract;
pub mod live;
pub mod metrics;
pub mod response_cache;
pub mod routes;
pub mod state;

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use tandem_proto::codes;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

pub use error::{ApiError, ApiResult};
pub use state::{ApiSettings, AppState};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, doc) = routes::api();
    let mut router = Router::new()
        .merge(api)
        .merge(routes::openapi_route(doc))
        .merge(routes::operational());
    router = match state.settings.web_dir.clone() {
        Some(dir) if dir.join("index.html").is_file() => {
            // Client-side routes (e.g. /tickets/1001) fall back to index.html.
            let index = ServeFile::new(dir.join("index.html"));
            router.fallback_service(ServeDir::new(dir).precompressed_gzip().fallback(index))
        }
        _ => router.fallback(no_web_ui),
    };
    let max_body = state.settings.max_body_bytes;
    router
        .layer(middleware::from_fn_with_state(state.clone(), live::wake_after_writes))
        .layer(middleware::from_fn(uniform_errors))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
                })
                .on_response(|response: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::debug!(status = response.status().as_u16(), latency_us = latency.as_micros() as u64, "response");
                }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn no_web_ui(request: Request) -> ApiError {
    if request.uri().path().starts_with("/api/") {
        ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, format!("no API route {} {}", request.method(), request.uri().path()))
    } else {
        ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "the web UI is not built: run `./x build-web` (or `./x run`)")
    }
}

/// Gives error answers that did not come from our handlers (unknown API routes, wrong
/// methods, bodies over the limit) the same JSON shape as the rest.
async fn uniform_errors(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (codes::NOT_FOUND, format!("no API route {method} {path}")),
        StatusCode::METHOD_NOT_ALLOWED => (codes::METHOD_NOT_ALLOWED, format!("{method} is not allowed on {path}")),
        StatusCode::PAYLOAD_TOO_LARGE => (codes::PAYLOAD_TOO_LARGE, "the request body is too large".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (codes::UNSUPPORTED_MEDIA_TYPE, "send the body as `content-type: application/json`".to_owned()),
        _ => {
            let (parts, body) = response.into_parts();
            let text = body.collect().await.map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned()).unwrap_or_default();
            let code = if parts.status.is_server_error() { codes::INTERNAL } else { codes::BAD_REQUEST };
            let mut out = ApiError::new(parts.status, code, if text.is_empty() { parts.status.to_string() } else { text }).into_response();
            copy_request_id(&parts.headers, &mut out);
            return out;
        }
    };
    let request_id = response.headers().get(&REQUEST_ID).cloned();
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(id) = request_id {
        out.headers_mut().insert(REQUEST_ID, id);
    }
    out
}

fn copy_request_id(from: &axum::http::HeaderMap, to: &mut Response) {
    if let Some(id) = from.get(&REQUEST_ID) {
        to.headers_mut().insert(REQUEST_ID, id.clone());
    }
}

/// Serves the application on `listener` until `shutdown` completes, then lets requests in
/// flight finish. Live WebSockets are closed (1001) at once: they would never finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let live = state.live.clone();
    let stopping = live.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.shutdown();
    };
    let served = axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await;
    // The other processes should stop showing this one's viewers now, not 30 s from now.
    live.stopped(std::time::Duration::from_secs(2)).await;
    served
}
