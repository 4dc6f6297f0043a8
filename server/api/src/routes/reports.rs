//! Reports for supervisors, observers and admins: the dashboard, breakdowns and CSV export.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use tandem_proto::{Breakdown, Dashboard, ErrorBody, ReportQuery};

use crate::{
    auth::Auth,
    error::ApiResult,
    extract::{Json, Query},
    state::AppState,
};

/// Volume (created, solved, backlog per day or week), first response and resolution times
/// (median, 90th percentile, average; business hours where an SLA calendar applies), SLA
/// compliance, replies per ticket and satisfaction, for the period and filters given.
#[utoipa::path(get, path = "/api/v1/reports/dashboard", tag = "reports", params(ReportQuery),
    responses((status = 200, body = Dashboard), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dashboard(State(state): State<AppState>, auth: Auth, Query(query): Query<ReportQuery>) -> ApiResult<Json<Dashboard>> {
    Ok(Json(state.store.report_dashboard(&auth.actor, &query).await?))
}

/// The period's figures per agent, team, inbox, tag or channel (`by`).
#[utoipa::path(get, path = "/api/v1/reports/breakdown", tag = "reports", params(ReportQuery),
    responses((status = 200, body = Breakdown), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn breakdown(State(state): State<AppState>, auth: Auth, Query(query): Query<ReportQuery>) -> ApiResult<Json<Breakdown>> {
    Ok(Json(state.store.report_breakdown(&auth.actor, &query).await?))
}

/// One report table (`table`: `series`, `agent`, `team`, `inbox`, `tag`, `channel`) as CSV.
#[utoipa::path(get, path = "/api/v1/reports/export", tag = "reports", params(ReportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody)))]
pub async fn export(State(state): State<AppState>, auth: Auth, Query(query): Query<ReportQuery>) -> ApiResult<Response> {
    let table = query.table.unwrap_or(tandem_proto::ReportTable::Series);
    let csv = state.store.report_csv(&auth.actor, &query).await?;
    let disposition = format!("attachment; filename=\"tandem-{}.csv\"", table.as_str());
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], csv).into_response())
}
