//! Service levels: business-hours calendars and SLA policies (admins write, the server checks).
//!
//! Ids: `#calendar-list` (`.calendar-row`), `#calendar-form` (`#calendar-name`, `#calendar-tz`,
//! `#calendar-hours`, `#calendar-holidays`, `#calendar-submit`), `#policy-list` (`.policy-row`),
//! `#policy-form` (`#policy-name`, `#policy-position`, `#policy-inbox`, `#policy-priority`,
//! `#policy-tag`, `#policy-first`, `#policy-next`, `#policy-resolution`, `#policy-calendar`,
//! `#policy-warn`, `#policy-notify`, `#policy-raise`, `#policy-team`, `#policy-submit`),
//! `#sla-result`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{Calendar, Priority, SaveCalendar, SaveSlaPolicy, SlaEscalation, SlaPolicy};
use tandem_web_core::hours;

use crate::admin::outcome;
use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t};
use crate::labels;
use crate::shell::use_current;

fn minutes(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

#[component]
pub fn Sla() -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let result = RwSignal::new(None::<(bool, String)>);
    let calendars = RwSignal::new(Vec::<Calendar>::new());
    let policies = RwSignal::new(Vec::<SlaPolicy>::new());
    let reload = move || {
        spawn_local(async move {
            if let Ok(list) = api::get::<Vec<Calendar>>("/api/v1/sla/calendars", &[]).await {
                calendars.set(list);
            }
            if let Ok(list) = api::get::<Vec<SlaPolicy>>("/api/v1/sla/policies", &[]).await {
                policies.set(list);
            }
        });
    };
    reload();
    directory.reload();
    let failed = move |error: api::ApiError| result.set(Some((false, current.explain(Msg::SaveFailed, &error))));

    // Calendar form (editing one when `calendar_id` is set).
    let calendar_id = RwSignal::new(None::<i64>);
    let c_name = RwSignal::new(String::new());
    let c_tz = RwSignal::new("Europe/Warsaw".to_owned());
    let c_hours = RwSignal::new("mon-fri 09:00-17:00".to_owned());
    let c_holidays = RwSignal::new(String::new());
    let save_calendar = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let hours = match hours::parse_hours(&c_hours.get_untracked()) {
            Ok(h) => h,
            Err(message) => return result.set(Some((false, message))),
        };
        let holidays = match hours::parse_holidays(&c_holidays.get_untracked()) {
            Ok(h) => h,
            Err(message) => return result.set(Some((false, message))),
        };
        let request = SaveCalendar { name: c_name.get_untracked().trim().into(), time_zone: c_tz.get_untracked().trim().into(), hours, holidays };
        let id = calendar_id.get_untracked();
        spawn_local(async move {
            let saved = match id {
                Some(id) => api::send_json::<_, Calendar>(Method::Put, &format!("/api/v1/sla/calendars/{id}"), &request).await,
                None => api::send_json::<_, Calendar>(Method::Post, "/api/v1/sla/calendars", &request).await,
            };
            match saved {
                Ok(c) => {
                    result.set(Some((true, format!("{} ✓", c.name))));
                    calendar_id.set(None);
                    c_name.set(String::new());
                    reload();
                }
                Err(e) => failed(e),
            }
        });
    };
    let delete_calendar = move |id: i64| {
        spawn_local(async move {
            match api::send_empty(Method::Delete, &format!("/api/v1/sla/calendars/{id}")).await {
                Ok(()) => reload(),
                Err(e) => failed(e),
            }
        });
    };

    // Policy form.
    let policy_id = RwSignal::new(None::<i64>);
    let p_name = RwSignal::new(String::new());
    let p_position = RwSignal::new("0".to_owned());
    let p_inbox = RwSignal::new(String::new());
    let p_priority = RwSignal::new(String::new());
    let p_tag = RwSignal::new(String::new());
    let p_first = RwSignal::new("240".to_owned());
    let p_next = RwSignal::new(String::new());
    let p_resolution = RwSignal::new(String::new());
    let p_calendar = RwSignal::new(String::new());
    let p_warn = RwSignal::new("30".to_owned());
    let p_notify = RwSignal::new(true);
    let p_raise = RwSignal::new(false);
    let p_team = RwSignal::new(String::new());
    let edit_policy = move |p: SlaPolicy| {
        policy_id.set(Some(p.id));
        p_name.set(p.name);
        p_position.set(p.position.to_string());
        p_inbox.set(p.inbox_id.map(|i| i.to_string()).unwrap_or_default());
        p_priority.set(p.priority.map(|x| x.as_str().to_owned()).unwrap_or_default());
        p_tag.set(p.tag.unwrap_or_default());
        let text = |m: Option<i64>| m.map(|m| m.to_string()).unwrap_or_default();
        p_first.set(text(p.first_response_minutes));
        p_next.set(text(p.next_response_minutes));
        p_resolution.set(text(p.resolution_minutes));
        p_calendar.set(p.calendar_id.map(|i| i.to_string()).unwrap_or_default());
        p_warn.set(p.warn_before_minutes.to_string());
        p_notify.set(p.escalation.notify);
        p_raise.set(p.escalation.raise_priority);
        p_team.set(p.escalation.team_id.map(|i| i.to_string()).unwrap_or_default());
    };
    let save_policy = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = SaveSlaPolicy {
            name: p_name.get_untracked().trim().into(),
            position: minutes(&p_position.get_untracked()).unwrap_or(0),
            enabled: true,
            inbox_id: p_inbox.get_untracked().parse().ok(),
            priority: p_priority.get_untracked().parse::<Priority>().ok(),
            tag: Some(p_tag.get_untracked().trim().to_owned()).filter(|t| !t.is_empty()),
            company: None,
            first_response_minutes: minutes(&p_first.get_untracked()),
            next_response_minutes: minutes(&p_next.get_untracked()),
            resolution_minutes: minutes(&p_resolution.get_untracked()),
            calendar_id: p_calendar.get_untracked().parse().ok(),
            warn_before_minutes: minutes(&p_warn.get_untracked()).unwrap_or(0),
            escalation: SlaEscalation { notify: p_notify.get_untracked(), raise_priority: p_raise.get_untracked(), team_id: p_team.get_untracked().parse().ok() },
        };
        let id = policy_id.get_untracked();
        spawn_local(async move {
            let saved = match id {
                Some(id) => api::send_json::<_, SlaPolicy>(Method::Put, &format!("/api/v1/sla/policies/{id}"), &request).await,
                None => api::send_json::<_, SlaPolicy>(Method::Post, "/api/v1/sla/policies", &request).await,
            };
            match saved {
                Ok(p) => {
                    result.set(Some((true, format!("{} ✓", p.name))));
                    policy_id.set(None);
                    p_name.set(String::new());
                    reload();
                }
                Err(e) => failed(e),
            }
        });
    };
    let delete_policy = move |id: i64| {
        spawn_local(async move {
            match api::send_empty(Method::Delete, &format!("/api/v1/sla/policies/{id}")).await {
                Ok(()) => reload(),
                Err(e) => failed(e),
            }
        });
    };
    let hours_text = |m: Option<i64>| m.map(|m| if m % 60 == 0 { format!("{} h", m / 60) } else { format!("{m} min") }).unwrap_or_else(|| "—".into());

    view! {
        <h1>{t(Msg::ServiceLevels)}</h1>
        {outcome(result, "sla-result")}
        <h2>{t(Msg::SlaPolicies)}</h2>
        <table id="policy-list" class="list">
            <thead><tr>
                <th>"#"</th><th>{t(Msg::Name)}</th><th>{t(Msg::AppliesTo)}</th><th>{t(Msg::FirstResponseDue)}</th>
                <th>{t(Msg::NextResponseDue)}</th><th>{t(Msg::ResolutionDue)}</th><th>{t(Msg::BusinessHours)}</th><th></th>
            </tr></thead>
            <tbody>
                {move || policies.get().into_iter().map(|p| {
                    let id = p.id;
                    let inbox = p.inbox_id.and_then(|i| directory.inboxes.with(|list| list.iter().find(|x| x.id == i).map(|x| x.name.clone())));
                    let applies = [inbox, p.priority.map(|x| labels::priority(x).to_owned()), p.tag.clone().map(|t| format!("#{t}"))]
                        .into_iter().flatten().collect::<Vec<_>>().join(" · ");
                    let calendar = p.calendar_id.and_then(|c| calendars.with(|list| list.iter().find(|x| x.id == c).map(|x| x.name.clone())));
                    let edit = p.clone();
                    view! {
                        <tr class="policy-row" data-id=id>
                            <td>{p.position}</td>
                            <td>{p.name.clone()}</td>
                            <td>{if applies.is_empty() { t(Msg::AllTickets).to_owned() } else { applies }}</td>
                            <td>{hours_text(p.first_response_minutes)}</td>
                            <td>{hours_text(p.next_response_minutes)}</td>
                            <td>{hours_text(p.resolution_minutes)}</td>
                            <td>{calendar.unwrap_or_else(|| t(Msg::AroundTheClock).to_owned())}</td>
                            <td>
                                <button type="button" class="secondary small policy-edit" on:click=move |_| edit_policy(edit.clone())>{t(Msg::Edit)}</button>
                                " "<button type="button" class="secondary small policy-delete" on:click=move |_| delete_policy(id)>{t(Msg::Delete)}</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <form id="policy-form" class="card form-grid" on:submit=save_policy>
            <h3>{move || t(if policy_id.get().is_some() { Msg::Edit } else { Msg::NewSlaPolicy })}</h3>
            <label for="policy-name">{t(Msg::Name)}</label>
            <input id="policy-name" required bind:value=p_name />
            <label for="policy-position">{t(Msg::Order)}</label>
            <input id="policy-position" type="number" min="0" bind:value=p_position />
            <label for="policy-inbox">{t(Msg::Inbox)}</label>
            <select id="policy-inbox" on:change=move |ev| p_inbox.set(event_target_value(&ev)) prop:value=move || p_inbox.get()>
                <option value="">{t(Msg::AllTickets)}</option>
                {move || directory.inboxes.get().into_iter().map(|i| view! { <option value=i.id.to_string()>{i.name}</option> }).collect_view()}
            </select>
            <label for="policy-priority">{t(Msg::Priority)}</label>
            <select id="policy-priority" on:change=move |ev| p_priority.set(event_target_value(&ev)) prop:value=move || p_priority.get()>
                <option value="">{t(Msg::AllTickets)}</option>
                {Priority::ALL.iter().map(|p| view! { <option value=p.as_str()>{labels::priority(*p)}</option> }).collect_view()}
            </select>
            <label for="policy-tag">{t(Msg::Tags)}</label>
            <input id="policy-tag" bind:value=p_tag />
            <label for="policy-first">{t(Msg::FirstResponseDue)}" (min)"</label>
            <input id="policy-first" type="number" min="1" bind:value=p_first />
            <label for="policy-next">{t(Msg::NextResponseDue)}" (min)"</label>
            <input id="policy-next" type="number" min="1" bind:value=p_next />
            <label for="policy-resolution">{t(Msg::ResolutionDue)}" (min)"</label>
            <input id="policy-resolution" type="number" min="1" bind:value=p_resolution />
            <label for="policy-calendar">{t(Msg::BusinessHours)}</label>
            <select id="policy-calendar" on:change=move |ev| p_calendar.set(event_target_value(&ev)) prop:value=move || p_calendar.get()>
                <option value="">{t(Msg::AroundTheClock)}</option>
                {move || calendars.get().into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
            </select>
            <label for="policy-warn">{t(Msg::WarnBefore)}" (min)"</label>
            <input id="policy-warn" type="number" min="0" bind:value=p_warn />
            <label class="check"><input id="policy-notify" type="checkbox" bind:checked=p_notify />{t(Msg::EscalateNotify)}</label>
            <label class="check"><input id="policy-raise" type="checkbox" bind:checked=p_raise />{t(Msg::EscalateRaise)}</label>
            <label for="policy-team">{t(Msg::EscalateTeam)}</label>
            <select id="policy-team" on:change=move |ev| p_team.set(event_target_value(&ev)) prop:value=move || p_team.get()>
                <option value="">{t(Msg::NoTeam)}</option>
                {move || directory.teams.get().into_iter().map(|team| view! { <option value=team.id.to_string()>{team.name}</option> }).collect_view()}
            </select>
            <button id="policy-submit" type="submit">{t(Msg::Save)}</button>
        </form>

        <h2>{t(Msg::BusinessHours)}</h2>
        <div id="calendar-list">
            {move || calendars.get().into_iter().map(|c| {
                let id = c.id;
                let edit = c.clone();
                view! {
                    <section class="card calendar-row" data-id=id>
                        <h3>{c.name.clone()}" "<span class="muted">{c.time_zone.clone()}</span></h3>
                        <pre class="hours">{hours::format_hours(&c.hours)}</pre>
                        {(!c.holidays.is_empty()).then(|| view! {
                            <p class="muted">{c.holidays.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")}</p>
                        })}
                        <button type="button" class="secondary small calendar-edit" on:click=move |_| {
                            calendar_id.set(Some(edit.id));
                            c_name.set(edit.name.clone());
                            c_tz.set(edit.time_zone.clone());
                            c_hours.set(hours::format_hours(&edit.hours));
                            c_holidays.set(edit.holidays.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"));
                        }>{t(Msg::Edit)}</button>
                        " "<button type="button" class="secondary small calendar-delete" on:click=move |_| delete_calendar(id)>{t(Msg::Delete)}</button>
                    </section>
                }
            }).collect_view()}
        </div>
        <form id="calendar-form" class="card form-grid" on:submit=save_calendar>
            <h3>{move || t(if calendar_id.get().is_some() { Msg::Edit } else { Msg::NewCalendar })}</h3>
            <label for="calendar-name">{t(Msg::Name)}</label>
            <input id="calendar-name" required bind:value=c_name />
            <label for="calendar-tz">{t(Msg::TimeZone)}</label>
            <input id="calendar-tz" required bind:value=c_tz />
            <label for="calendar-hours">{t(Msg::WorkingHoursHint)}</label>
            <textarea id="calendar-hours" rows="4" bind:value=c_hours></textarea>
            <label for="calendar-holidays">{t(Msg::HolidaysHint)}</label>
            <textarea id="calendar-holidays" rows="3" bind:value=c_holidays></textarea>
            <button id="calendar-submit" type="submit">{t(Msg::Save)}</button>
        </form>
    }
}
