//! Prometheus metrics at `/metrics`: requests, latencies, the database pool and background tasks.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::{Histogram, exponential_buckets}},
    registry::Registry,
};

use crate::state::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    pub task: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<PoolLabels, Gauge>,
    /// Background tasks running, by name (the binary and later the mail channel set these).
    pub background_tasks: Family<TaskLabels, Gauge>,
    /// Live WebSockets connected to this process (set when the metrics are read).
    live_connections: Gauge,
    /// Reads answered from the response cache or not, by cache.
    read_cache: Family<CacheLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tandem");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0002, 2.0, 16)));
        let pool = Family::<PoolLabels, Gauge>::default();
        let background_tasks = Family::<TaskLabels, Gauge>::default();
        let live_connections = Gauge::default();
        let read_cache = Family::<CacheLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register("db_pool_connections", "Database pool connections by state", pool.clone());
        registry.register("background_tasks", "Background tasks running, by task", background_tasks.clone());
        registry.register("live_connections", "Live WebSockets connected to this process", live_connections.clone());
        registry.register("read_cache_lookups", "Cached reads (ticket list, view counts) by cache and result", read_cache.clone());
        Metrics { registry, requests, latency, pool, background_tasks, live_connections, read_cache }
    }

    /// Counts one lookup of the response cache `cache`.
    pub fn read_cache_lookup(&self, cache: &'static str, hit: bool) {
        self.read_cache.get_or_create(&CacheLabels { cache, result: if hit { "hit" } else { "miss" } }).inc();
    }

    fn render(&self, pool: (u32, u32)) -> String {
        self.pool.get_or_create(&PoolLabels { state: "open" }).set(i64::from(pool.0));
        self.pool.get_or_create(&PoolLabels { state: "idle" }).set(i64::from(pool.1));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Middleware counting requests and timing them by matched route (not raw path, which would
/// explode the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| if request.uri().path().starts_with("/api/") { "unmatched".to_owned() } else { "static".to_owned() });
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    state.metrics.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(elapsed);
    state.metrics.requests.get_or_create(&RequestLabels { method, route, status: response.status().as_u16() }).inc();
    response
}

pub async fn metrics_endpoint(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.live_connections.set(i64::try_from(state.live.connection_count()).unwrap_or(i64::MAX));
    let body = state.metrics.render(state.store.pool_state());
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
