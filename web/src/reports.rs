//! Reports (supervisors, observers, admins): KPI cards, the volume and backlog chart, and a
//! breakdown table, for a period and filters; every table downloads as CSV. Charts are SVG
//! written by this module (no chart library, nothing from a CDN).
//!
//! Ids: `#report-period`, `#report-interval`, `#report-inbox`, `#report-team`, `#report-kpis`
//! (`.kpi`), `#volume-chart`, `#report-by`, `#breakdown` (`.breakdown-row`), `.csv-link`,
//! `#report-error`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Breakdown, Dashboard, ReportDimension, ReportInterval, SeriesPoint};
use tandem_web_core::reports::{duration, percent};

use crate::api;
use crate::directory::use_directory;
use crate::i18n::{self, Msg, t};
use crate::shell::use_current;

/// Query pairs shared by every report call.
#[derive(Debug, Clone, PartialEq)]
struct Filters {
    days: i64,
    interval: ReportInterval,
    inbox: Option<i64>,
    team: Option<i64>,
}

impl Filters {
    fn query(&self) -> Vec<(&'static str, String)> {
        // The server counts the days back from its own today.
        let mut q = vec![("days", self.days.to_string()), ("interval", self.interval.as_str().to_owned())];
        if let Some(i) = self.inbox {
            q.push(("inbox", i.to_string()));
        }
        if let Some(t) = self.team {
            q.push(("team", t.to_string()));
        }
        q
    }

    fn csv_href(&self, table: &str) -> String {
        let mut q = self.query();
        q.push(("table", table.to_owned()));
        let pairs: Vec<String> = q.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("/api/v1/reports/export?{}", pairs.join("&"))
    }
}

/// Created and solved as bars, the backlog as a line, on one SVG.
fn volume_chart(series: &[SeriesPoint]) -> impl IntoView + use<> {
    const W: f64 = 760.0;
    const H: f64 = 220.0;
    const PAD: f64 = 28.0;
    let max = series.iter().map(|p| p.created.max(p.solved).max(p.backlog)).max().unwrap_or(0).max(1) as f64;
    let n = series.len().max(1) as f64;
    let slot = (W - 2.0 * PAD) / n;
    let bar = (slot / 2.0 - 1.0).max(1.0);
    let y = |v: i64| H - PAD - (v as f64 / max) * (H - 2.0 * PAD);
    let every = (series.len() / 8).max(1);
    let line: Vec<String> = series.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", PAD + slot * (i as f64 + 0.5), y(p.backlog))).collect();
    let bars = series
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = PAD + slot * i as f64;
            let title = format!("{}: {} {}, {} {}, {} {}", p.period, t(Msg::Created), p.created, t(Msg::SolvedCount), p.solved, t(Msg::Backlog), p.backlog);
            let label = (i % every == 0).then(|| view! {
                <text x=format!("{:.1}", x + slot / 2.0) y=format!("{:.1}", H - 8.0) text-anchor="middle" class="axis">{p.period.format("%m-%d").to_string()}</text>
            });
            view! {
                <g class="period">
                    <title>{title}</title>
                    <rect class="created" x=format!("{:.1}", x + 1.0) y=format!("{:.1}", y(p.created)) width=format!("{bar:.1}") height=format!("{:.1}", H - PAD - y(p.created)) />
                    <rect class="solved" x=format!("{:.1}", x + 1.0 + bar) y=format!("{:.1}", y(p.solved)) width=format!("{bar:.1}") height=format!("{:.1}", H - PAD - y(p.solved)) />
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg id="volume-chart" class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=t(Msg::VolumeChart)>
            <line class="axis-line" x1=PAD y1=H - PAD x2=W - PAD y2=H - PAD />
            <text x="2" y=format!("{:.1}", PAD) class="axis">{(max as i64).to_string()}</text>
            {bars}
            <polyline class="backlog" points=line.join(" ") fill="none" />
        </svg>
        <p class="legend">
            <span class="swatch created"></span>{t(Msg::Created)}" "
            <span class="swatch solved"></span>{t(Msg::SolvedCount)}" "
            <span class="swatch backlog"></span>{t(Msg::Backlog)}
        </p>
    }
}

fn kpi(label: Msg, value: String, detail: Option<String>) -> impl IntoView {
    view! {
        <div class="kpi card">
            <div class="kpi-label">{t(label)}</div>
            <div class="kpi-value">{value}</div>
            {detail.map(|d| view! { <div class="kpi-detail muted">{d}</div> })}
        </div>
    }
}

fn kpis(d: &Dashboard) -> impl IntoView + use<> {
    let spread = |x: &tandem_proto::Durations| Some(format!("p90 {} · ⌀ {} · n {}", duration(x.p90_secs), duration(x.average_secs), x.count));
    view! {
        <div id="report-kpis" class="kpis">
            {kpi(Msg::Created, i18n::number(d.created), None)}
            {kpi(Msg::SolvedCount, i18n::number(d.solved), None)}
            {kpi(Msg::Backlog, i18n::number(d.backlog), None)}
            {kpi(Msg::FirstResponseTime, duration(d.first_response.median_secs), spread(&d.first_response))}
            {kpi(Msg::ResolutionTime, duration(d.resolution.median_secs), spread(&d.resolution))}
            {kpi(Msg::SlaFirstResponse, percent(d.sla_first_response.percent), Some(format!("{} / {}", d.sla_first_response.met, d.sla_first_response.met + d.sla_first_response.breached)))}
            {kpi(Msg::SlaResolution, percent(d.sla_resolution.percent), Some(format!("{} / {}", d.sla_resolution.met, d.sla_resolution.met + d.sla_resolution.breached)))}
            {kpi(Msg::SlaNextResponse, percent(d.sla_next_response.percent), Some(format!("{} / {}", d.sla_next_response.met, d.sla_next_response.met + d.sla_next_response.breached)))}
            {kpi(Msg::RepliesPerTicket, d.replies_per_ticket.map(|r| r.to_string()).unwrap_or_else(|| "—".into()), None)}
            {kpi(Msg::Satisfaction, percent(d.csat.percent), Some(format!("{} / {} / {}", d.csat.good, d.csat.okay, d.csat.bad)))}
        </div>
    }
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let filters = RwSignal::new(Filters { days: 30, interval: ReportInterval::Day, inbox: None, team: None });
    let by = RwSignal::new(ReportDimension::Agent);
    let dashboard = RwSignal::new(None::<Dashboard>);
    let breakdown = RwSignal::new(None::<Breakdown>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let f = filters.get();
        let dimension = by.get();
        spawn_local(async move {
            match api::get::<Dashboard>("/api/v1/reports/dashboard", &f.query()).await {
                Ok(d) => dashboard.set(Some(d)),
                Err(e) => error.set(Some(current.explain(Msg::LoadFailed, &e))),
            }
            let mut q = f.query();
            q.push(("by", dimension.as_str().to_owned()));
            match api::get::<Breakdown>("/api/v1/reports/breakdown", &q).await {
                Ok(b) => breakdown.set(Some(b)),
                Err(e) => error.set(Some(current.explain(Msg::LoadFailed, &e))),
            }
        });
    });
    let dimensions = [
        (ReportDimension::Agent, Msg::Assignee),
        (ReportDimension::Team, Msg::Team),
        (ReportDimension::Inbox, Msg::Inbox),
        (ReportDimension::Tag, Msg::Tags),
        (ReportDimension::Channel, Msg::Channel),
    ];
    view! {
        <section class="reports">
            <h1>{t(Msg::Reports)}</h1>
            {move || error.get().map(|m| view! { <p id="report-error" class="error" role="alert">{m}</p> })}
            <div class="toolbar">
                <label for="report-period">{t(Msg::Period)}</label>
                <select id="report-period" on:change=move |ev| {
                    if let Ok(days) = event_target_value(&ev).parse() { filters.update(|f| f.days = days); }
                }>
                    {[7, 30, 90, 365].into_iter().map(|d| view! { <option value=d.to_string() selected=d == 30>{format!("{d} d")}</option> }).collect_view()}
                </select>
                <label for="report-interval">{t(Msg::Interval)}</label>
                <select id="report-interval" on:change=move |ev| {
                    if let Ok(interval) = event_target_value(&ev).parse() { filters.update(|f| f.interval = interval); }
                }>
                    <option value="day">{t(Msg::PerDay)}</option>
                    <option value="week">{t(Msg::PerWeek)}</option>
                </select>
                <label for="report-inbox">{t(Msg::Inbox)}</label>
                <select id="report-inbox" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); filters.update(|f| f.inbox = v); }>
                    <option value="">{t(Msg::AllTickets)}</option>
                    {move || directory.inboxes.get().into_iter().map(|i| view! { <option value=i.id.to_string()>{i.name}</option> }).collect_view()}
                </select>
                <label for="report-team">{t(Msg::Team)}</label>
                <select id="report-team" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); filters.update(|f| f.team = v); }>
                    <option value="">{t(Msg::AllTickets)}</option>
                    {move || directory.teams.get().into_iter().map(|team| view! { <option value=team.id.to_string()>{team.name}</option> }).collect_view()}
                </select>
            </div>
            {move || dashboard.get().map(|d| view! {
                {kpis(&d)}
                <h2>{t(Msg::VolumeChart)}" "<a class="csv-link" href=filters.get().csv_href("series")>"CSV"</a></h2>
                {volume_chart(&d.series)}
            })}
            <h2>
                <label for="report-by">{t(Msg::Breakdown)}</label>" "
                <select id="report-by" on:change=move |ev| { if let Ok(d) = event_target_value(&ev).parse() { by.set(d); } }>
                    {dimensions.into_iter().map(|(d, msg)| view! { <option value=d.as_str()>{t(msg)}</option> }).collect_view()}
                </select>
                " "<a class="csv-link" href=move || filters.get().csv_href(by.get().as_str())>"CSV"</a>
            </h2>
            <table id="breakdown" class="list">
                <thead><tr>
                    <th>{t(Msg::Name)}</th><th>{t(Msg::Created)}</th><th>{t(Msg::SolvedCount)}</th>
                    <th>{t(Msg::FirstResponseTime)}</th><th>{t(Msg::ResolutionTime)}</th><th>"SLA"</th>
                    <th>{t(Msg::Satisfaction)}</th><th>{t(Msg::RepliesPerTicket)}</th>
                </tr></thead>
                <tbody>
                    {move || breakdown.get().map(|b| b.rows.into_iter().map(|r| view! {
                        <tr class="breakdown-row">
                            <td>{if r.key.is_empty() { t(Msg::NoneLabel).to_owned() } else { r.label }}</td>
                            <td>{r.created}</td>
                            <td>{r.solved}</td>
                            <td>{duration(r.first_response_median_secs)}</td>
                            <td>{duration(r.resolution_median_secs)}</td>
                            <td>{percent(r.sla_percent)}</td>
                            <td>{percent(r.csat_percent)}</td>
                            <td>{r.replies_per_ticket.map(|x| x.to_string()).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
        </section>
    }
}
